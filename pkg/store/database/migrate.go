package database

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// migration is one numbered schema change. up must only use structs declared inside it (frozen
// snapshots), so that later changes to package store never rewrite an old migration.
type migration struct {
	version int
	name    string
	up      func(tx *gorm.DB) error
}

// schemaMigration is a row of schema_migrations, the record of applied migrations.
type schemaMigration struct {
	Version   int       `gorm:"primaryKey;autoIncrement:false"`
	Name      string    `gorm:"size:255;not null"`
	AppliedAt time.Time `gorm:"not null;precision:6"`
}

// TableName implements gorm's tabler.
func (schemaMigration) TableName() string { return "schema_migrations" }

// LatestVersion is the number of the newest migration this binary knows.
func LatestVersion() int {
	ms := migrations()
	return ms[len(ms)-1].version
}

// Migrate applies every pending migration; see MigrateTo.
func (d *DB) Migrate(ctx context.Context) error {
	return d.MigrateTo(ctx, LatestVersion())
}

// MigrateTo applies the pending migrations numbered up to and including target, in order, each
// once. It holds a lock for the whole run, so processes migrating one database at the same time
// take turns and each migration is applied by exactly one of them. Each migration runs in its
// own transaction where the engine allows: SQLite DDL is transactional, MySQL DDL commits
// implicitly, so a MySQL migration that fails half-way may leave tables to drop by hand.
// Migrations are never rolled back; a database newer than target is left alone.
func (d *DB) MigrateTo(ctx context.Context, target int) error {
	if target < 0 || target > LatestVersion() {
		return fmt.Errorf("migrate: no migration %d (latest is %d)", target, LatestVersion())
	}
	unlock, err := d.lockMigrations(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer unlock()

	g := d.gorm.WithContext(ctx)
	if !g.Migrator().HasTable(&schemaMigration{}) {
		if err := d.ddl(g).Migrator().CreateTable(&schemaMigration{}); err != nil {
			return fmt.Errorf("migrate: create schema_migrations: %w", err)
		}
	}
	// Read the applied set only now, under the lock: another process may just have migrated.
	var applied []int
	if err := g.Model(&schemaMigration{}).Pluck("version", &applied).Error; err != nil {
		return fmt.Errorf("migrate: read schema_migrations: %w", err)
	}
	done := make(map[int]bool, len(applied))
	for _, v := range applied {
		done[v] = true
		if v > LatestVersion() {
			// A newer binary migrated this database; migrations are additive, so carry on.
			d.log.WarnContext(ctx, "database schema is newer than this binary", "version", v, "latest_known", LatestVersion())
		}
	}
	for _, m := range migrations() {
		if m.version > target || done[m.version] {
			continue
		}
		if d.testHookBeforeApply != nil {
			d.testHookBeforeApply(m.version)
		}
		start := time.Now()
		err := g.Transaction(func(tx *gorm.DB) error {
			if err := m.up(d.ddl(tx)); err != nil {
				return err
			}
			return tx.Create(&schemaMigration{Version: m.version, Name: m.name, AppliedAt: time.Now()}).Error
		})
		if err != nil {
			return fmt.Errorf("migrate: migration %d (%s): %w", m.version, m.name, err)
		}
		d.log.InfoContext(ctx, "database migration applied", "version", m.version, "name", m.name,
			"elapsed_ms", time.Since(start).Milliseconds())
	}
	return nil
}

// Version returns the highest applied migration number, 0 for a database never migrated.
func (d *DB) Version(ctx context.Context) (int, error) {
	g := d.gorm.WithContext(ctx)
	if !g.Migrator().HasTable(&schemaMigration{}) {
		return 0, nil
	}
	var v *int
	if err := g.Model(&schemaMigration{}).Select("MAX(version)").Scan(&v).Error; err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if v == nil {
		return 0, nil
	}
	return *v, nil
}

// ddl prepares g for CREATE TABLE. On MySQL it pins the table charset and a binary collation,
// whatever the database's default, so that equality, uniqueness and ordering of text behave
// as on SQLite.
func (d *DB) ddl(g *gorm.DB) *gorm.DB {
	if d.engine != engineMySQL {
		return g
	}
	return g.Set("gorm:table_options",
		"ENGINE=InnoDB DEFAULT CHARSET="+mysqlTableCharset+" COLLATE="+mysqlTableCollate)
}

// lockMigrations takes the engine's cross-process migration lock, waiting at most
// d.lockTimeout, and returns its release.
func (d *DB) lockMigrations(ctx context.Context) (func(), error) {
	ctx, cancel := context.WithTimeout(ctx, d.lockTimeout)
	defer cancel()
	var (
		unlock func()
		err    error
	)
	switch d.engine {
	case engineMySQL:
		unlock, err = d.lockMySQL(ctx)
	case engineSQLite:
		unlock, err = lockFile(ctx, d.sqlitePath+".migrate.lock")
	default:
		err = errors.New("unknown engine")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("another process holds the migration lock: %w", err)
	}
	return unlock, err
}
