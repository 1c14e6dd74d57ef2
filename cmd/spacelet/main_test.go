package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/proctest"
	"github.com/kubespace/kubespace/internal/testdeps"
	"github.com/kubespace/kubespace/pkg/eventbus/redisbus"
	"github.com/kubespace/kubespace/pkg/pipeline/nudge"
	"github.com/kubespace/kubespace/pkg/store"
	"github.com/kubespace/kubespace/pkg/store/database"
)

func TestMain(m *testing.M) {
	code := m.Run()
	proctest.Cleanup()
	os.Exit(code)
}

func TestConfigErrors(t *testing.T) {
	err := run(context.Background(), nil, func(string) string { return "" })
	require.ErrorContains(t, err, "SERVER_URL is required")
	err = run(context.Background(), nil, func(k string) string { return map[string]string{"SERVER_URL": "ftp://x"}[k] })
	require.ErrorContains(t, err, "SERVER_URL")
}

// api is a signed-in client of a server process.
type api struct {
	t     *testing.T
	url   string
	token string
}

func (c api) do(method, path string, body any, out any) int {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.url+path, rd)
	require.NoError(c.t, err)
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		require.NoError(c.t, json.Unmarshal(data, out), "%s", data)
	}
	return resp.StatusCode
}

type spaceletRow struct {
	ID     int64             `json:"id"`
	Name   string            `json:"name"`
	Status string            `json:"status"`
	Labels map[string]string `json:"labels"`
}

func (c api) spacelets() []spaceletRow {
	var l struct {
		Items []spaceletRow `json:"items"`
	}
	require.Equal(c.t, http.StatusOK, c.do(http.MethodGet, "/api/v1/spacelets", nil, &l))
	return l.Items
}

// The spacelet binary against a server process on MariaDB and Redis: it registers with a token
// an admin made, serves only /healthz and /metrics, runs an assigned job whose log follows live,
// stops the job's processes within a second of a cancel, and keeps its identity across a restart.
func TestSpaceletProcess(t *testing.T) {
	ctx := context.Background()
	db := testdeps.MySQLDatabase(t)
	redisAddr := testdeps.RedisAddr(t)
	host, port, _ := net.SplitHostPort(db.Addr)
	server := proctest.StartServer(t, "server", map[string]string{"MYSQL_HOST": host, "MYSQL_PORT": port, "MYSQL_USER": db.User,
		"MYSQL_PASSWORD": db.Passwd, "MYSQL_DBNAME": db.DBName, "REDIS_ADDRESS": redisAddr,
		"SECRET_KEY":  base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")),
		"SETUP_TOKEN": "spacelet-test-setup-token", "DATA_DIR": t.TempDir()})
	anon := api{t: t, url: server.URL}
	require.Equal(t, http.StatusCreated, anon.do(http.MethodPost, "/api/v1/setup", map[string]string{"username": "admin",
		"password": "spacelet-test-pass", "email": "a@example.com", "setup_token": "spacelet-test-setup-token"}, nil))
	var login struct {
		Token string `json:"token"`
	}
	require.Equal(t, http.StatusOK, anon.do(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": "admin", "password": "spacelet-test-pass"}, &login))
	admin := api{t: t, url: server.URL, token: login.Token}
	require.Empty(t, admin.spacelets(), "with MySQL configured the server runs no spacelet of its own")
	var tok struct {
		Token   string `json:"token"`
		Command string `json:"command"`
	}
	require.Equal(t, http.StatusCreated, admin.do(http.MethodPost, "/api/v1/spacelet-tokens", map[string]any{"name": "test"}, &tok))

	// The test reads and writes jobs as the run controller would, and nudges through Redis.
	sdb, err := database.Open(ctx, database.Config{MySQL: db})
	require.NoError(t, err)
	defer sdb.Close()
	st := sdb.Store()
	rc := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{redisAddr}})
	bus := redisbus.New(rc, redisbus.Options{})
	defer bus.Close()

	dataDir := t.TempDir()
	metricsPort := proctest.FreePort(t)
	env := map[string]string{"SERVER_URL": server.URL, "DATA_DIR": dataDir, "REGISTRATION_TOKEN": tok.Token, "LABELS": "os=linux,pool=a",
		"CAPACITY": "2", "METRICS_PORT": strconv.Itoa(metricsPort), "SPACELET_NAME": "proc-1"}
	sp := proctest.Start(t, "spacelet", proctest.Binary(t, "spacelet"), proctest.Env(env))
	metrics := fmt.Sprintf("http://127.0.0.1:%d", metricsPort)
	sp.WaitHTTP(t, metrics+"/healthz", 60*time.Second)
	require.Eventually(t, func() bool { return len(admin.spacelets()) == 1 }, 20*time.Second, 50*time.Millisecond)
	row := admin.spacelets()[0]
	require.Equal(t, "proc-1", row.Name)
	require.Equal(t, "online", row.Status)
	require.Equal(t, map[string]string{"os": "linux", "pool": "a"}, row.Labels)
	body := get(t, metrics+"/metrics")
	require.Contains(t, body, "kubespace_spacelet_registered 1")
	resp, err := http.Get(metrics + "/api/v1/spacelet/next")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "the metrics port serves nothing else")

	newJob := func(script string) int64 {
		ws := &store.PipelineWorkspace{Name: fmt.Sprintf("ws-%d", time.Now().UnixNano()), Type: store.WorkspaceCustom}
		require.NoError(t, st.PipelineWorkspaces.Create(ctx, ws))
		p := &store.Pipeline{WorkspaceID: ws.ID, Name: "p", Definition: "{}"}
		require.NoError(t, st.Pipelines.Create(ctx, p))
		params, _ := json.Marshal(map[string]string{"script": script})
		d := &store.RunDetail{Run: store.PipelineRun{PipelineID: p.ID, WorkspaceID: ws.ID, BuildNumber: 1, Status: store.StatusDoing, Trigger: "manual"},
			Stages: []store.StageRun{{Name: "s", TriggerMode: "auto", Status: store.StatusDoing}},
			Jobs: [][]store.JobRun{{{Name: "j", PluginKey: "execute_shell", Params: string(params), Status: store.StatusWait,
				SpaceletID: row.ID, Env: `{"WHO":"process test"}`}}}}
		require.NoError(t, st.PipelineRuns.Create(ctx, d))
		require.NoError(t, nudge.Publish(ctx, bus, nudge.TopicAssigned, row.ID))
		return d.Jobs[0][0].ID
	}
	job := func(id int64) *store.JobRun {
		j, err := st.PipelineRuns.GetJob(ctx, id)
		require.NoError(t, err)
		return j
	}

	// A job; its log is followed while it runs.
	id := newJob(`echo "hello from $WHO"; sleep 0.5; echo bye; echo DONE=yes >> "$PIPELINE_OUTPUT"`)
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v1/job-runs/%d/log?follow=true", server.URL, id), nil)
	req.Header.Set("Authorization", "Bearer "+admin.token)
	follow, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var lines []string
	sc := bufio.NewScanner(follow.Body)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	follow.Body.Close()
	require.Equal(t, []string{"hello from process test", "bye"}, lines)
	require.Equal(t, store.StatusOK, job(id).Status)
	require.JSONEq(t, `{"DONE":"yes"}`, job(id).Outputs)

	// Cancel within a second: the job's process and the one it started are gone.
	pidFile := filepath.Join(t.TempDir(), "pid")
	id = newJob(`sleep 600 & echo $! > ` + pidFile + `; wait`)
	var pid int
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(pidFile)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pid > 0
	}, 20*time.Second, 10*time.Millisecond)
	for {
		j := job(id)
		j.Status = store.StatusCancel
		ok, err := st.PipelineRuns.SaveJob(ctx, j, "Status")
		require.NoError(t, err)
		if ok {
			break
		}
	}
	start := time.Now()
	require.NoError(t, nudge.Publish(ctx, bus, nudge.TopicCancel, id))
	require.Eventually(t, func() bool { return !alive(pid) }, time.Second, 5*time.Millisecond, "the job's process outlived the cancel by a second")
	t.Logf("process gone %s after the cancel", time.Since(start))
	require.Eventually(t, func() bool { return job(id).Status == store.StatusCanceled }, 5*time.Second, 10*time.Millisecond)

	// A restart without the token keeps the identity.
	sp.Stop(t)
	require.Contains(t, sp.Output(), "spacelet stopped")
	delete(env, "REGISTRATION_TOKEN")
	sp = proctest.Start(t, "spacelet-again", proctest.Binary(t, "spacelet"), proctest.Env(env))
	sp.WaitHTTP(t, metrics+"/healthz", 60*time.Second)
	require.Eventually(t, func() bool { return strings.Contains(get(t, metrics+"/metrics"), "kubespace_spacelet_registered 1") }, 20*time.Second, 50*time.Millisecond)
	rows := admin.spacelets()
	require.Len(t, rows, 1)
	require.Equal(t, row.ID, rows[0].ID)
	id = newJob("echo again")
	require.Eventually(t, func() bool { return job(id).Status == store.StatusOK }, 20*time.Second, 10*time.Millisecond)

	// Killed mid-job (SIGKILL, no chance to clean up): the job's shell dies with it, the lease
	// is no longer renewed (the run controller fails the job when it runs out), and the work
	// directory is cleared at the next start.
	shellPID := filepath.Join(t.TempDir(), "shell")
	id = newJob(`echo $$ > ` + shellPID + `; sleep 600`)
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(shellPID)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pid > 0
	}, 20*time.Second, 10*time.Millisecond)
	lease := job(id).LeaseUntil
	require.NotNil(t, lease)
	sp.Kill()
	require.Eventually(t, func() bool { return !alive(pid) }, time.Second, 5*time.Millisecond, "the job's shell outlived its spacelet")
	require.DirExists(t, filepath.Join(dataDir, "jobs", strconv.FormatInt(id, 10)))
	sp = proctest.Start(t, "spacelet-third", proctest.Binary(t, "spacelet"), proctest.Env(env))
	sp.WaitHTTP(t, metrics+"/healthz", 60*time.Second)
	require.Eventually(t, func() bool {
		_, err := os.Stat(filepath.Join(dataDir, "jobs", strconv.FormatInt(id, 10)))
		return os.IsNotExist(err)
	}, 20*time.Second, 10*time.Millisecond)
	j := job(id)
	require.Equal(t, store.StatusDoing, j.Status, "the restarted spacelet does not take the job again")
	require.WithinDuration(t, *lease, *j.LeaseUntil, time.Second, "nobody renews the lease")
}

func get(t *testing.T, url string) string {
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// alive reports whether a process exists and is not a zombie.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}
