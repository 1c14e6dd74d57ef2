package database

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/testdeps"
	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/store"
)

// Environment of a migration child process (see TestMigrateConcurrent).
const (
	childEnv       = "KUBESPACE_DBTEST_MIGRATE_CHILD" // "sqlite" or "mysql"
	childTargetEnv = "KUBESPACE_DBTEST_TARGET"        // SQLite path or MySQL DSN
)

func TestMain(m *testing.M) {
	if engine := os.Getenv(childEnv); engine != "" {
		os.Exit(runMigrateChild(engine, os.Getenv(childTargetEnv)))
	}
	os.Exit(m.Run())
}

// runMigrateChild is the body of a child process: it migrates the given database and exits.
func runMigrateChild(engine, target string) int {
	cfg := Config{SQLitePath: target}
	if engine == "mysql" {
		mc, err := mysql.ParseDSN(target)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		cfg = Config{MySQL: mc}
	}
	ctx := context.Background()
	db, err := Open(ctx, cfg)
	if err == nil {
		err = db.Migrate(ctx)
		_ = db.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "migrate child:", err)
		return 1
	}
	return 0
}

// testEngine makes fresh, empty databases of one engine.
type testEngine struct {
	name string
	// config returns the settings of a new, empty database that disappears with t.
	config func(t *testing.T) Config
}

func testEngines() []testEngine {
	return []testEngine{
		{"sqlite", func(t *testing.T) Config {
			return Config{SQLitePath: filepath.Join(t.TempDir(), "kubespace.db")}
		}},
		{"mysql", func(t *testing.T) Config {
			return Config{MySQL: testdeps.MySQLDatabase(t)}
		}},
	}
}

// openDB opens cfg and closes it when t ends.
func openDB(t *testing.T, cfg Config) *DB {
	t.Helper()
	db, err := Open(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// eachEngine runs fn in parallel on every engine, each with a fresh migrated database.
func eachEngine(t *testing.T, fn func(t *testing.T, db *DB, s store.Store)) {
	t.Helper()
	for _, e := range testEngines() {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			db := openDB(t, e.config(t))
			require.NoError(t, db.Migrate(t.Context()))
			fn(t, db, db.Store())
		})
	}
}

// requireKind asserts err is of kind k and, when msg is not empty, has exactly that message.
func requireKind(t *testing.T, err error, k errs.Kind, msg string) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, k.String(), errs.KindOf(err).String(), "error: %v", err)
	if msg != "" {
		e, _ := errs.As(err)
		require.Equal(t, msg, e.Message)
	}
}

// collect reads every page of a list and checks that Total stays the same on every page.
func collect[T any](t *testing.T, opts store.ListOptions, fetch func(store.ListOptions) (store.Page[T], error)) ([]T, int64) {
	t.Helper()
	var all []T
	total := int64(-1)
	for range 10000 {
		page, err := fetch(opts)
		require.NoError(t, err)
		if total >= 0 {
			require.Equal(t, total, page.Total, "total changed between pages")
		}
		total = page.Total
		if opts.Limit > 0 {
			require.LessOrEqual(t, len(page.Items), opts.Limit)
		}
		all = append(all, page.Items...)
		if page.Continue == "" {
			return all, total
		}
		opts.Continue = page.Continue
	}
	t.Fatal("list never ended")
	return nil, 0
}
