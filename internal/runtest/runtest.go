// Package runtest gives pipeline tests a real store (the embedded SQLite database, or a fresh
// MariaDB/MySQL database from internal/testdeps) with an event bus, and the fixtures pipeline
// tests share: workspaces, pipelines, spacelets, and a spacelet simulated through the store's
// dispatch transitions (the same calls the spacelet protocol server makes).
package runtest

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/testdeps"
	"github.com/kubespace/kubespace/pkg/eventbus"
	"github.com/kubespace/kubespace/pkg/eventbus/membus"
	"github.com/kubespace/kubespace/pkg/eventbus/redisbus"
	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/store"
	"github.com/kubespace/kubespace/pkg/store/database"
)

// Engines names the storage set-ups: the embedded one (SQLite, in-process bus) and the
// production one (MariaDB, Redis).
var Engines = []string{"sqlite", "mysql"}

var prefixSeq atomic.Int64

// Env is a store and a bus that disappear with the test.
type Env struct {
	Engine string
	DB     *database.DB
	Store  store.Store
	Bus    eventbus.Bus
	// MySQL is the database's connection settings (engine mysql), RedisAddr the Redis (for
	// tests that start processes on the same services).
	MySQL     *mysql.Config
	RedisAddr string
	seq       atomic.Int64
}

// Open returns a fresh, migrated store of engine ("sqlite": a file with the in-process bus;
// "mysql": a new MariaDB database with Redis).
func Open(t testing.TB, engine string) *Env {
	t.Helper()
	cfg := database.Config{}
	var bus eventbus.Bus
	var redisAddr string
	switch engine {
	case "sqlite":
		cfg.SQLitePath = filepath.Join(t.TempDir(), "kubespace.db")
		bus = membus.New(membus.Options{})
	case "mysql":
		cfg.MySQL = testdeps.MySQLDatabase(t)
		redisAddr = testdeps.RedisAddr(t)
		client := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{redisAddr}})
		t.Cleanup(func() { _ = client.Close() })
		// A prefix of its own, so tests sharing the Redis never see each other's nudges.
		bus = redisbus.New(client, redisbus.Options{KeyPrefix: fmt.Sprintf("kstest-%d-%d:", time.Now().UnixNano(), prefixSeq.Add(1))})
	default:
		t.Fatalf("runtest: unknown engine %q", engine)
	}
	t.Cleanup(func() { _ = bus.Close() })
	ctx := context.Background()
	db, err := database.Open(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	require.NoError(t, db.Migrate(ctx))
	return &Env{Engine: engine, DB: db, Store: db.Store(), Bus: bus, MySQL: cfg.MySQL, RedisAddr: redisAddr}
}

// Name returns a fresh name with prefix.
func (e *Env) Name(prefix string) string { return fmt.Sprintf("%s-%d", prefix, e.seq.Add(1)) }

// Workspace creates a pipeline workspace of type typ (store.WorkspaceCode gets a repository URL).
func (e *Env) Workspace(t testing.TB, typ string) *store.PipelineWorkspace {
	t.Helper()
	w := &store.PipelineWorkspace{Name: e.Name("ws"), Type: typ}
	if typ == store.WorkspaceCode {
		w.CodeProvider, w.CodeURL = "git", "https://git.example.com/team/app.git"
	}
	require.NoError(t, e.Store.PipelineWorkspaces.Create(context.Background(), w))
	return w
}

// Pipeline stores def as a pipeline of workspace wsID.
func (e *Env) Pipeline(t testing.TB, wsID int64, def pipeline.Definition) *store.Pipeline {
	t.Helper()
	if def.Name == "" {
		def.Name = e.Name("p")
	}
	b, err := json.Marshal(def)
	require.NoError(t, err)
	p := &store.Pipeline{WorkspaceID: wsID, Name: def.Name, Definition: string(b)}
	require.NoError(t, e.Store.Pipelines.Create(context.Background(), p))
	return p
}

// Spacelet registers an online spacelet with labels and capacity.
func (e *Env) Spacelet(t testing.TB, hostname string, labels map[string]string, capacity int) *store.Spacelet {
	t.Helper()
	b, _ := json.Marshal(labels)
	name := e.Name("sl")
	s := &store.Spacelet{Name: name, Hostname: hostname, Labels: string(b), Capacity: capacity, CredentialHash: name}
	ctx := context.Background()
	require.NoError(t, e.Store.Spacelets.Create(ctx, s))
	require.NoError(t, e.Store.Spacelets.Seen(ctx, s.ID, time.Now()))
	got, err := e.Store.Spacelets.Get(ctx, s.ID)
	require.NoError(t, err)
	return got
}

// ShellJob is a job running script with the shell plugin.
func ShellJob(name, script string) pipeline.Job {
	b, _ := json.Marshal(map[string]string{"script": script})
	return pipeline.Job{Name: name, PluginKey: "execute_shell", Params: b}
}

// Claim takes the next job assigned to spacelet id, as the protocol's Next does (nil: none).
func (e *Env) Claim(t testing.TB, id int64) *store.JobRun {
	t.Helper()
	j, err := e.Store.JobDispatch.Claim(context.Background(), id, time.Now().Add(30*time.Second))
	require.NoError(t, err)
	return j
}

// Finish reports a job's result for spacelet id, as the protocol's Done does.
func (e *Env) Finish(t testing.TB, j *store.JobRun, status string, outputs map[string]string) {
	t.Helper()
	if outputs == nil {
		outputs = map[string]string{}
	}
	b, _ := json.Marshal(outputs)
	ok, err := e.Store.JobDispatch.Finish(context.Background(), j.ID, j.SpaceletID,
		store.JobResult{Status: status, Message: "exit status " + status, Outputs: string(b), At: time.Now()})
	require.NoError(t, err)
	require.True(t, ok, "job %d was not running on spacelet %d", j.ID, j.SpaceletID)
}
