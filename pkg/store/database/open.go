package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/go-sql-driver/mysql"
	gormmysql "gorm.io/driver/mysql"
	"gorm.io/gorm"
)

// MySQL error numbers the package reacts to.
const (
	mysqlErrDupEntry   = 1062 // ER_DUP_ENTRY
	mysqlErrBadDB      = 1049 // ER_BAD_DB_ERROR
	mysqlErrDeadlock   = 1213 // ER_LOCK_DEADLOCK
	mysqlErrLockWait   = 1205 // ER_LOCK_WAIT_TIMEOUT
	mysqlTableCharset  = "utf8mb4"
	mysqlTableCollate  = "utf8mb4_bin"
	mysqlConnCollation = "utf8mb4_unicode_ci"
)

// MySQLConfig builds connection settings from the server's MYSQL_HOST, MYSQL_PORT, MYSQL_USER,
// MYSQL_PASSWORD and MYSQL_DBNAME values. host may carry its own port ("db:3307", "[::1]:3307"),
// which then wins over port; an empty port means 3306. Times are parsed and sent as UTC, the
// connection speaks utf8mb4, and dial, read and write timeouts are bounded.
func MySQLConfig(host, port, user, password, dbname string) (*mysql.Config, error) {
	if host == "" {
		return nil, errors.New("MYSQL_HOST is empty")
	}
	if dbname == "" {
		return nil, errors.New("MYSQL_DBNAME is empty")
	}
	if port == "" {
		port = "3306"
	}
	addr := host
	if _, _, err := net.SplitHostPort(host); err != nil {
		// No port in host (or a bare IPv6 address): add MYSQL_PORT.
		addr = net.JoinHostPort(strings.Trim(host, "[]"), port)
	}
	cfg := mysql.NewConfig()
	cfg.Net = "tcp"
	cfg.Addr = addr
	cfg.User = user
	cfg.Passwd = password
	cfg.DBName = dbname
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.Timeout = 10 * time.Second
	// Read/write timeouts catch a dead server; real query deadlines come from the context.
	cfg.ReadTimeout = 60 * time.Second
	cfg.WriteTimeout = 60 * time.Second
	if err := cfg.Apply(mysql.Charset(mysqlTableCharset, mysqlConnCollation)); err != nil {
		return nil, err
	}
	return cfg, nil
}

// openMySQL connects with a copy of cfg adjusted to what the stores rely on.
func openMySQL(ctx context.Context, cfg *mysql.Config, gcfg *gorm.Config) (*gorm.DB, error) {
	c := cfg.Clone()
	c.ParseTime = true
	c.Loc = time.UTC
	// RowsAffected must count matched rows, or an Update that changes nothing would look
	// like a missing row.
	c.ClientFoundRows = true
	c.MultiStatements = false
	// A failed-over primary that became read-only must not be kept in the pool.
	c.RejectReadOnly = true
	connector, err := mysql.NewConnector(c)
	if err != nil {
		return nil, fmt.Errorf("open mysql: %w", err)
	}
	sqlDB := sql.OpenDB(connector)
	sqlDB.SetMaxOpenConns(50)
	sqlDB.SetMaxIdleConns(10)
	// Recycle connections before typical server or proxy idle timeouts cut them.
	sqlDB.SetConnMaxLifetime(5 * time.Minute)
	if err := sqlDB.PingContext(ctx); err != nil {
		_ = sqlDB.Close()
		var me *mysql.MySQLError
		if errors.As(err, &me) && me.Number == mysqlErrBadDB {
			return nil, fmt.Errorf("mysql database %q does not exist (MYSQL_DBNAME); create it first: %w", c.DBName, err)
		}
		return nil, fmt.Errorf("connect to mysql at %s: %w", c.Addr, err)
	}
	g, err := gorm.Open(gormmysql.New(gormmysql.Config{Conn: sqlDB, DSNConfig: c}), gcfg)
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("open mysql: %w", err)
	}
	return g, nil
}

// sqliteDSN returns the driver DSN for the database file at path.
func sqliteDSN(path string) (string, error) {
	if strings.ContainsAny(path, "?#") {
		return "", fmt.Errorf("sqlite path %q: '?' and '#' are not allowed", path)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)") // wait for another writer instead of failing
	q.Add("_pragma", "journal_mode(WAL)")   // readers do not block the writer
	q.Add("_pragma", "synchronous(NORMAL)") // durable in WAL mode except on power loss
	q.Add("_pragma", "foreign_keys(1)")
	// Take the write lock when a transaction begins: a deferred transaction that reads and
	// then writes fails with SQLITE_BUSY without waiting when another connection wrote.
	q.Set("_txlock", "immediate")
	return path + "?" + q.Encode(), nil
}

// openSQLite opens (creating if needed) the database file at path.
func openSQLite(ctx context.Context, path string, gcfg *gorm.Config) (*gorm.DB, error) {
	dsn, err := sqliteDSN(path)
	if err != nil {
		return nil, err
	}
	g, err := gorm.Open(sqlite.Open(dsn), gcfg)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, err
	}
	// SQLite has one writer at a time; a small pool keeps concurrent reads (WAL) while
	// bounding how many writers queue on the busy timeout.
	sqlDB.SetMaxOpenConns(4)
	sqlDB.SetMaxIdleConns(4)
	if err := sqlDB.PingContext(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return g, nil
}
