package database

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/store"
)

func TestMySQLConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ host, port, addr string }{
		{"db", "", "db:3306"},
		{"db", "3307", "db:3307"},
		{"db:3308", "3307", "db:3308"},
		{"10.0.0.5", "3306", "10.0.0.5:3306"},
		{"::1", "3306", "[::1]:3306"},
		{"[::1]", "3306", "[::1]:3306"},
		{"[::1]:3309", "", "[::1]:3309"},
	} {
		cfg, err := MySQLConfig(tc.host, tc.port, "ks", "p@ss:w/rd", "kubespace")
		require.NoError(t, err, tc.host)
		require.Equal(t, tc.addr, cfg.Addr, tc.host)
	}
	cfg, err := MySQLConfig("db", "", "ks", "p@ss:w/rd", "kubespace")
	require.NoError(t, err)
	require.True(t, cfg.ParseTime)
	require.Equal(t, time.UTC, cfg.Loc)
	require.Equal(t, "p@ss:w/rd", cfg.Passwd)
	dsn := cfg.FormatDSN()
	for _, want := range []string{"tcp(db:3306)/kubespace", "parseTime=true", "charset=utf8mb4", "timeout=10s", "readTimeout=1m0s"} {
		require.Contains(t, dsn, want)
	}
	_, err = MySQLConfig("", "", "u", "", "kubespace")
	require.ErrorContains(t, err, "MYSQL_HOST")
	_, err = MySQLConfig("db", "", "u", "", "")
	require.ErrorContains(t, err, "MYSQL_DBNAME")
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLoggerNeverLogsArguments makes every query "slow" and checks that the warnings carry the
// statement with placeholders but none of the values, even at debug level.
func TestLoggerNeverLogsArguments(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	db := openDB(t, Config{SQLitePath: filepath.Join(t.TempDir(), "k.db"), Logger: log, SlowThreshold: time.Nanosecond})
	ctx := t.Context()
	require.NoError(t, db.Migrate(ctx))
	s := db.Store()
	const secret = "SECRET-HASH-VALUE"
	require.NoError(t, s.Users.Create(ctx, &store.User{Username: "u", PasswordHash: secret}))
	_ = s.Users.Create(ctx, &store.User{Username: "u", PasswordHash: secret}) // duplicate
	_, _ = s.Sessions.GetByHash(ctx, secret)                                  // not found
	_, _ = s.Users.List(ctx, store.ListOptions{Query: secret})

	out := buf.String()
	require.Contains(t, out, "slow database query")
	require.Contains(t, out, "database migration applied")
	require.Contains(t, out, "?")
	require.NotContains(t, out, secret)
	require.NotContains(t, strings.ToLower(out), strings.ToLower(secret))
}

func TestSQLitePathValidation(t *testing.T) {
	t.Parallel()
	_, err := sqliteDSN("/tmp/a?b.db")
	require.Error(t, err)
	dsn, err := sqliteDSN("/data/kubespace.db")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(dsn, "/data/kubespace.db?"))
	for _, want := range []string{"busy_timeout", "journal_mode%28WAL%29", "foreign_keys%281%29", "_txlock=immediate"} {
		require.Contains(t, dsn, want)
	}
}
