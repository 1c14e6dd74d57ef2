// Package database is the GORM implementation of package store on MySQL/MariaDB and SQLite.
//
// Open a database with Open, bring its schema up to date with Migrate, and hand the entity stores
// from Store to the services. Only cmd/ and tests import this package; everything else depends on
// the interfaces in package store.
//
// Invariants the stores keep on both engines:
//   - times are stored and returned in UTC, truncated to microseconds (the MySQL column precision),
//     so a record read back equals the record written;
//   - driver errors are translated once, here: a missing row is errs.NotFound, a unique-key
//     violation errs.Conflict, a bad list option errs.Invalid; anything else is wrapped with
//     the operation and entity;
//   - text comparison and sorting are binary on both engines (MySQL tables use utf8mb4_bin), so
//     equality, uniqueness and sort order do not depend on the engine; list search is
//     case-insensitive on both.
package database

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/go-sql-driver/mysql"
	"gorm.io/gorm"

	"github.com/kubespace/kubespace/pkg/store"
)

// Default tuning; Config fields override them.
const (
	defaultSlowThreshold = 200 * time.Millisecond
	defaultLockTimeout   = 2 * time.Minute
)

// Config selects and tunes the database. Exactly one of MySQL and SQLitePath must be set.
type Config struct {
	// MySQL connects to MySQL or MariaDB; build it with MySQLConfig. The database must exist.
	MySQL *mysql.Config
	// SQLitePath is the SQLite database file (created when missing), used when MySQL is nil.
	SQLitePath string
	// Logger receives slow queries (warn), failed queries (debug, without arguments) and
	// migration progress (info). Nil discards everything.
	Logger *slog.Logger
	// SlowThreshold is the duration from which a query is logged as slow (default 200ms).
	SlowThreshold time.Duration
	// MigrateLockTimeout bounds how long Migrate waits for another process's migration
	// (default 2 minutes); the caller's context can end the wait sooner.
	MigrateLockTimeout time.Duration
}

// DB is an open database. It is safe for concurrent use; Close it when done.
type DB struct {
	gorm        *gorm.DB
	engine      engine
	log         *slog.Logger
	dbName      string // MySQL database name, for lock names and error messages
	sqlitePath  string
	lockTimeout time.Duration
	// testHookBeforeApply, when set by tests, runs under the migration lock before each
	// migration is applied.
	testHookBeforeApply func(version int)
}

// engine names the SQL dialect behind a DB.
type engine string

const (
	engineMySQL  engine = "mysql"
	engineSQLite engine = "sqlite"
)

// Open connects to the database described by cfg and checks that it answers. It does not
// migrate; call Migrate before using the stores.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	slow := cfg.SlowThreshold
	if slow <= 0 {
		slow = defaultSlowThreshold
	}
	d := &DB{log: log, lockTimeout: cfg.MigrateLockTimeout}
	if d.lockTimeout <= 0 {
		d.lockTimeout = defaultLockTimeout
	}
	gcfg := &gorm.Config{
		Logger:  newGormLogger(log, slow),
		NowFunc: func() time.Time { return normTime(time.Now()) },
		// Every store call is one statement or runs inside WithTx; GORM's implicit
		// per-write transaction would only add round trips.
		SkipDefaultTransaction: true,
	}
	var err error
	switch {
	case cfg.MySQL != nil && cfg.SQLitePath != "":
		return nil, errors.New("open database: set either MySQL or SQLitePath, not both")
	case cfg.MySQL != nil:
		d.engine, d.dbName = engineMySQL, cfg.MySQL.DBName
		d.gorm, err = openMySQL(ctx, cfg.MySQL, gcfg)
	case cfg.SQLitePath != "":
		d.engine, d.sqlitePath = engineSQLite, cfg.SQLitePath
		d.gorm, err = openSQLite(ctx, cfg.SQLitePath, gcfg)
	default:
		return nil, errors.New("open database: neither MySQL nor SQLitePath is set")
	}
	if err != nil {
		return nil, err
	}
	if err := registerTimeCallbacks(d.gorm); err != nil {
		_ = d.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	return d, nil
}

// Close closes the connection pool. Calls in flight may fail.
func (d *DB) Close() error {
	sqlDB, err := d.gorm.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Ping reports whether the database answers.
func (d *DB) Ping(ctx context.Context) error {
	sqlDB, err := d.gorm.DB()
	if err != nil {
		return err
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		return dbErr(err, "ping", "database")
	}
	return nil
}

// Store returns the entity stores backed by d. The stores share d's connection pool.
func (d *DB) Store() store.Store {
	return store.Store{
		Tx:                 d,
		Users:              &userStore{d},
		Sessions:           &sessionStore{d},
		Tokens:             &tokenStore{d},
		RoleBindings:       &bindingStore{d},
		Audit:              &auditStore{d},
		Secrets:            &secretStore{d},
		Registries:         &registryStore{d},
		LoginThrottles:     &throttleStore{d},
		Clusters:           &clusterStore{d},
		PipelineWorkspaces: &pipelineWorkspaceStore{d},
		Pipelines:          &pipelineStore{d},
		PipelineRuns:       &runStore{d},
		JobDispatch:        &runStore{d},
		JobLogs:            &logStore{d},
		Spacelets:          &spaceletStore{d},
		SpaceletTokens:     &spaceletTokenStore{d},
		Triggers:           &triggerStore{d},
		Ping:               d.Ping,
	}
}
