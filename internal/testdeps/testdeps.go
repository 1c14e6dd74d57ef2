// Package testdeps gives tests the real services they need (MariaDB/MySQL, Redis) and decides what
// happens when one is missing: a local `go test` skips with a message saying how to start it, while
// `make test` and CI set KUBESPACE_REQUIRE_ALL=1, which turns every such skip into a failure.
package testdeps

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// RequireAll reports whether missing services must fail tests instead of skipping them.
func RequireAll() bool { return os.Getenv("KUBESPACE_REQUIRE_ALL") == "1" }

// Unavailable skips the test, or fails it under KUBESPACE_REQUIRE_ALL=1, naming what is missing.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if RequireAll() {
		t.Fatalf("required test dependency unavailable: %s", msg)
	}
	t.Skipf("%s (set KUBESPACE_REQUIRE_ALL=1 to make this a failure; `make test` starts it)", msg)
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// RedisAddr returns the address of a reachable Redis (KUBESPACE_TEST_REDIS, default 127.0.0.1:6379).
func RedisAddr(t testing.TB) string {
	t.Helper()
	addr := env("KUBESPACE_TEST_REDIS", "127.0.0.1:6379")
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		Unavailable(t, "redis at %s: %v", addr, err)
	}
	_ = c.Close()
	return addr
}

// MySQLConfig returns the base MySQL connection settings for tests (KUBESPACE_TEST_MYSQL_DSN,
// default root with no password on 127.0.0.1:3306, as on the development machines).
func MySQLConfig() *mysql.Config {
	dsn := env("KUBESPACE_TEST_MYSQL_DSN", "root:@tcp(127.0.0.1:3306)/")
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		panic(fmt.Sprintf("KUBESPACE_TEST_MYSQL_DSN: %v", err))
	}
	return cfg
}

// MySQLDatabase creates a fresh, uniquely named database and drops it when the test ends. It
// returns the connection settings pointing at it.
func MySQLDatabase(t testing.TB) *mysql.Config {
	t.Helper()
	base := MySQLConfig()
	base.DBName = ""
	db, err := sql.Open("mysql", base.FormatDSN())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err = db.PingContext(ctx)
		cancel()
	}
	if err != nil {
		Unavailable(t, "mysql at %s: %v", base.Addr, err)
	}
	buf := make([]byte, 6)
	_, _ = rand.Read(buf)
	name := "kstest_" + strings.ToLower(hex.EncodeToString(buf))
	if _, err := db.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		_, _ = db.Exec("DROP DATABASE IF EXISTS " + name)
		_ = db.Close()
	})
	cfg := base.Clone()
	cfg.DBName = name
	return cfg
}
