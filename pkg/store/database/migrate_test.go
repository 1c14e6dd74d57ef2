package database

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/kubespace/kubespace/internal/testdeps"
	"github.com/kubespace/kubespace/pkg/store"
)

// appliedRows returns how many times each version is recorded in schema_migrations.
func appliedRows(t *testing.T, db *DB) map[int]int {
	t.Helper()
	var rows []schemaMigration
	require.NoError(t, db.gorm.WithContext(t.Context()).Order("version").Find(&rows).Error)
	out := map[int]int{}
	for _, r := range rows {
		out[r.Version]++
		require.NotEmpty(t, r.Name)
		require.False(t, r.AppliedAt.IsZero())
	}
	return out
}

func allOnce() map[int]int {
	out := map[int]int{}
	for _, m := range migrations() {
		out[m.version] = 1
	}
	return out
}

func TestMigrateUpgradesFromVersion1(t *testing.T) {
	t.Parallel()
	for _, e := range testEngines() {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			db := openDB(t, e.config(t))
			v, err := db.Version(ctx)
			require.NoError(t, err)
			require.Zero(t, v, "fresh database")

			require.NoError(t, db.MigrateTo(ctx, 1))
			v, err = db.Version(ctx)
			require.NoError(t, err)
			require.Equal(t, 1, v)
			require.False(t, db.gorm.Migrator().HasTable("login_attempts"))
			require.False(t, db.gorm.Migrator().HasTable("login_throttles"))
			s := db.Store()
			u := &store.User{Username: "old", Email: "old@example.com", PasswordHash: "h"}
			require.NoError(t, s.Users.Create(ctx, u))
			limit := store.ThrottleLimit{Max: 1, Window: time.Minute}
			_, err = s.LoginThrottles.Hit(ctx, "old", limit, time.Now())
			require.Error(t, err)

			require.NoError(t, db.Migrate(ctx))
			v, err = db.Version(ctx)
			require.NoError(t, err)
			require.Equal(t, LatestVersion(), v)
			got, err := s.Users.Get(ctx, u.ID)
			require.NoError(t, err)
			require.Equal(t, u, got, "the row survives the upgrade")
			hit, err := s.LoginThrottles.Hit(ctx, "old", limit, time.Now())
			require.NoError(t, err)
			require.True(t, hit.Allowed)
			require.Equal(t, allOnce(), appliedRows(t, db))
		})
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *DB, _ store.Store) {
		applied := 0
		db.testHookBeforeApply = func(int) { applied++ }
		for range 3 {
			require.NoError(t, db.Migrate(t.Context()))
		}
		require.Zero(t, applied, "nothing left to apply")
		require.Equal(t, allOnce(), appliedRows(t, db))
		require.Error(t, db.MigrateTo(t.Context(), LatestVersion()+1))
	})
}

// TestMigrateConcurrent migrates one fresh database from several handles and from child
// processes at once: every migration is applied and recorded exactly once, with no error.
func TestMigrateConcurrent(t *testing.T) {
	t.Parallel()
	for _, e := range testEngines() {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			cfg := e.config(t)
			target := cfg.SQLitePath
			if cfg.MySQL != nil {
				target = cfg.MySQL.FormatDSN()
			}
			var (
				mu      sync.Mutex
				applied = map[int]int{}
				wg      sync.WaitGroup
				errc    = make(chan error, 8)
			)
			for range 3 {
				db := openDB(t, cfg)
				db.testHookBeforeApply = func(v int) {
					mu.Lock()
					applied[v]++
					mu.Unlock()
					time.Sleep(20 * time.Millisecond) // hold the lock while the others wait
				}
				wg.Go(func() { errc <- db.Migrate(ctx) })
			}
			for range 2 {
				wg.Go(func() {
					cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
					cmd.Env = append(os.Environ(), childEnv+"="+e.name, childTargetEnv+"="+target)
					out, err := cmd.CombinedOutput()
					if err != nil {
						t.Logf("child output: %s", out)
					}
					errc <- err
				})
			}
			wg.Wait()
			close(errc)
			for err := range errc {
				require.NoError(t, err)
			}
			for v, n := range applied {
				require.Equal(t, 1, n, "migration %d applied %d times in this process", v, n)
			}
			db := openDB(t, cfg)
			require.Equal(t, allOnce(), appliedRows(t, db))
		})
	}
}

func TestMigrateLockTimeout(t *testing.T) {
	t.Parallel()
	for _, e := range testEngines() {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			cfg := e.config(t)
			holder := openDB(t, cfg)
			unlock, err := holder.lockMigrations(t.Context())
			require.NoError(t, err)
			cfg.MigrateLockTimeout = 300 * time.Millisecond
			waiter := openDB(t, cfg)
			err = waiter.Migrate(t.Context())
			require.ErrorContains(t, err, "another process holds the migration lock")
			unlock()
			require.NoError(t, waiter.Migrate(t.Context()))
		})
	}
}

// TestSchemaMatchesModels catches a change to a store model without a migration: every
// column and index the model declares must exist after Migrate.
func TestSchemaMatchesModels(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *DB, _ store.Store) {
		mig := db.gorm.WithContext(t.Context()).Migrator()
		for _, model := range []any{&store.User{}, &store.Session{}, &store.APIToken{}, &store.RoleBinding{},
			&store.AuditEvent{}, &store.Secret{}, &store.ImageRegistry{}, &store.LoginThrottle{}} {
			stmt := &gorm.Statement{DB: db.gorm}
			require.NoError(t, stmt.Parse(model))
			require.True(t, mig.HasTable(model), stmt.Schema.Table)
			for _, f := range stmt.Schema.Fields {
				if f.DBName != "" {
					require.True(t, mig.HasColumn(model, f.DBName), "%s.%s", stmt.Schema.Table, f.DBName)
				}
			}
			for _, idx := range stmt.Schema.ParseIndexes() {
				require.True(t, mig.HasIndex(model, idx.Name), "%s index %s", stmt.Schema.Table, idx.Name)
			}
		}
	})
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, err := Open(ctx, Config{})
	require.Error(t, err)
	_, err = Open(ctx, Config{SQLitePath: t.TempDir() + "/x.db?mode=ro"})
	require.Error(t, err)
	t.Run("mysql database missing", func(t *testing.T) {
		cfg := testdeps.MySQLDatabase(t) // skips (or fails under KUBESPACE_REQUIRE_ALL=1) without MySQL
		cfg.DBName = "kubespace_no_such_db"
		_, err := Open(ctx, Config{MySQL: cfg})
		require.ErrorContains(t, err, `mysql database "kubespace_no_such_db" does not exist (MYSQL_DBNAME)`)
	})
}
