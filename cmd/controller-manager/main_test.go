package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/proctest"
	"github.com/kubespace/kubespace/internal/runtest"
	"github.com/kubespace/kubespace/pkg/eventbus/redisbus"
	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/pipeline/nudge"
	"github.com/kubespace/kubespace/pkg/pipeline/run"
	"github.com/kubespace/kubespace/pkg/store"
)

func TestMain(m *testing.M) {
	code := m.Run()
	proctest.Cleanup()
	os.Exit(code)
}

// fakeSpacelet runs jobs through the store's dispatch transitions (what the protocol server does
// for a real spacelet) when let, counting executions per job.
type fakeSpacelet struct {
	e    *runtest.Env
	id   int64
	pub  func(ctx context.Context, runID int64)
	mu   sync.Mutex
	ran  map[int64]int
	hold bool // claim but do not finish
	held []*store.JobRun
}

func (f *fakeSpacelet) loop(ctx context.Context) {
	for ctx.Err() == nil {
		j, err := f.e.Store.JobDispatch.Claim(ctx, f.id, time.Now().Add(30*time.Second))
		if err != nil || j == nil {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		f.mu.Lock()
		f.ran[j.ID]++
		if f.hold {
			f.held = append(f.held, j)
			f.mu.Unlock()
			continue
		}
		f.mu.Unlock()
		f.finish(ctx, j)
	}
}

func (f *fakeSpacelet) finish(ctx context.Context, j *store.JobRun) {
	_, _ = f.e.Store.JobDispatch.Finish(ctx, j.ID, f.id, store.JobResult{Status: store.StatusOK, Outputs: "{}", At: time.Now()})
	f.pub(ctx, j.RunID)
}

func waitStatus(t *testing.T, svc *run.Service, id int64, status string) *run.RunView {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		v, err := svc.Get(context.Background(), id)
		require.NoError(t, err)
		if v.Status == status {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %d is %s (%s), not %s", id, v.Status, v.Reason, status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", url, b)
	return string(b)
}

// TestProcess runs the real binary on MariaDB and Redis: it serves /healthz, /readyz and
// /metrics, drives runs to completion, finishes a run after being killed mid-run and started
// again with every job executed exactly once, and stops cleanly on SIGTERM.
func TestProcess(t *testing.T) {
	e := runtest.Open(t, "mysql")
	client := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{e.RedisAddr}})
	defer client.Close()
	bus := redisbus.New(client, redisbus.Options{}) // the default prefix, as the binary uses
	defer bus.Close()
	host, port, err := net.SplitHostPort(e.MySQL.Addr)
	require.NoError(t, err)
	env := map[string]string{"MYSQL_HOST": host, "MYSQL_PORT": port, "MYSQL_USER": e.MySQL.User, "MYSQL_PASSWORD": e.MySQL.Passwd,
		"MYSQL_DBNAME": e.MySQL.DBName, "REDIS_ADDRESS": e.RedisAddr, "RUN_RESYNC": "1s"}
	cm := proctest.StartControllerManager(t, "controller-manager", env)
	require.Equal(t, "ok\n", get(t, cm.MetricsURL+"/healthz"))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svc := run.New(run.Deps{Store: e.Store, Bus: bus})
	sl := &fakeSpacelet{e: e, id: e.Spacelet(t, "h", nil, 4).ID, ran: map[int64]int{},
		pub: func(ctx context.Context, id int64) { _ = nudge.Publish(ctx, bus, nudge.TopicRun, id) }}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); sl.loop(ctx) }()
	defer func() { cancel(); wg.Wait() }()

	ws := e.Workspace(t, store.WorkspaceCustom)
	p := e.Pipeline(t, ws.ID, pipeline.Definition{Stages: []pipeline.Stage{
		{Name: "one", Jobs: []pipeline.Job{runtest.ShellJob("a", "true"), runtest.ShellJob("b", "true")}},
		{Name: "two", Jobs: []pipeline.Job{runtest.ShellJob("c", "true")}},
	}})
	v, err := svc.Start(ctx, p.ID, run.StartRequest{User: "t"})
	require.NoError(t, err)
	waitStatus(t, svc, v.ID, store.StatusOK)
	metrics := get(t, cm.MetricsURL+"/metrics")
	require.Contains(t, metrics, "kubespace_pipeline_run_queue_depth")
	require.Contains(t, metrics, "kubespace_pipeline_job_duration_seconds_bucket")
	require.Contains(t, metrics, `kubespace_spacelets{state="online"}`)

	// Killed mid-run (jobs of the first stage running), started again: the run finishes.
	sl.mu.Lock()
	sl.hold = true
	sl.mu.Unlock()
	v, err = svc.Start(ctx, p.ID, run.StartRequest{User: "t"})
	require.NoError(t, err)
	require.Eventually(t, func() bool { sl.mu.Lock(); defer sl.mu.Unlock(); return len(sl.held) == 2 }, 30*time.Second, 10*time.Millisecond)
	cm.Kill()
	sl.mu.Lock()
	sl.hold = false
	held := sl.held
	sl.mu.Unlock()
	for _, j := range held {
		sl.finish(ctx, j) // results arrive while no controller runs
	}
	cm = proctest.StartControllerManager(t, "controller-manager-2", env)
	v = waitStatus(t, svc, v.ID, store.StatusOK)
	sl.mu.Lock()
	for _, st := range v.Stages {
		for _, j := range st.Jobs {
			require.Equal(t, 1, sl.ran[j.ID], "job %s ran once", j.Name)
		}
	}
	sl.mu.Unlock()

	cm.Stop(t)
	require.True(t, cm.Exited())
	require.Contains(t, cm.Output(), "controller-manager stopped", "SIGTERM is a graceful shutdown")
}
