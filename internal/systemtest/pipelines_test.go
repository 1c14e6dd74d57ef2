package systemtest

import (
	"encoding/base64"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubespace/kubespace/internal/proctest"
	"github.com/kubespace/kubespace/internal/testdeps"
)

// runView is the part of a run the tests read.
type runView struct {
	ID      int64  `json:"id"`
	Status  string `json:"status"`
	Trigger string `json:"trigger"`
	Reason  string `json:"reason"`
	Stages  []struct {
		ID      int64             `json:"id"`
		Status  string            `json:"status"`
		Outputs map[string]string `json:"outputs"`
		Jobs    []struct {
			Status     string `json:"status"`
			SpaceletID int64  `json:"spacelet_id"`
		} `json:"jobs"`
	} `json:"stages"`
}

// waitRun polls a run until it has status (failing after a minute).
func waitRun(t *testing.T, c client, id int64, status string) runView {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var v runView
		c.expect(t, http.StatusOK, http.MethodGet, path("/api/v1/pipeline-runs/%d", id), nil, &v)
		if v.Status == status {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %d is %s (%s), not %s", id, v.Status, v.Reason, status)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// twoStagePipeline creates a custom workspace and a pipeline: two parallel shell jobs (one
// writes an output variable, scheduled by label when label is set), then a manual stage with a
// parameter whose job checks both.
func twoStagePipeline(t *testing.T, c client, labels map[string]string) int64 {
	t.Helper()
	var ws idOnly
	c.expect(t, http.StatusCreated, http.MethodPost, "/api/v1/pipeline-workspaces",
		map[string]any{"name": "pws-" + strconv.FormatInt(time.Now().UnixNano(), 36), "type": "custom"}, &ws)
	job := func(name, script string, sched map[string]any) map[string]any {
		return map[string]any{"name": name, "plugin_key": "execute_shell", "params": map[string]any{"script": script}, "schedule": sched}
	}
	sched := map[string]any{}
	if labels != nil {
		sched["labels"] = labels
	}
	var p idOnly
	c.expect(t, http.StatusCreated, http.MethodPost, path("/api/v1/pipeline-workspaces/%d/pipelines", ws.ID), map[string]any{
		"name": "build-and-ship",
		"stages": []any{
			map[string]any{"name": "build", "trigger_mode": "auto", "jobs": []any{
				job("compile", `echo "IMAGE=app:$PIPELINE_BUILD_NUMBER" >> "$PIPELINE_OUTPUT"`, sched),
				job("lint", `echo linting`, map[string]any{}),
			}},
			map[string]any{"name": "ship", "trigger_mode": "manual", "custom_params": []any{map[string]any{"name": "TARGET", "default": "staging"}},
				"jobs": []any{job("ship", `test "$IMAGE" = app:1 && test "$TARGET" = production`, map[string]any{})}},
		},
	}, &p)
	return p.ID
}

// driveRun starts a run of pipeline p, waits for its manual stage, executes it with a
// parameter and waits for the run to succeed.
func driveRun(t *testing.T, c client, p int64) runView {
	t.Helper()
	var v runView
	c.expect(t, http.StatusCreated, http.MethodPost, path("/api/v1/pipelines/%d/runs", p), map[string]any{}, &v)
	v = waitRun(t, c, v.ID, "pause")
	if v.Stages[0].Outputs["IMAGE"] != "app:1" {
		t.Fatalf("the build stage's output did not arrive: %+v", v.Stages[0])
	}
	c.expect(t, http.StatusOK, http.MethodPost, path("/api/v1/pipeline-runs/%d/stages/%d/execute", v.ID, v.Stages[1].ID),
		map[string]any{"params": map[string]string{"TARGET": "production"}}, nil)
	return waitRun(t, c, v.ID, "ok")
}

// TestEmbeddedPipeline: the server alone (embedded database, in-process bus, controllers and
// local spacelet inside) runs a pipeline of shell jobs defined through the API, with no other
// setup.
func TestEmbeddedPipeline(t *testing.T) {
	s := proctest.StartServer(t, "server", map[string]string{"SETUP_TOKEN": "system-test-setup-token", "DATA_DIR": t.TempDir()})
	client{url: s.URL}.expect(t, http.StatusCreated, http.MethodPost, "/api/v1/setup", map[string]string{
		"username": "admin", "password": password, "email": "admin@example.com", "setup_token": "system-test-setup-token"}, nil)
	admin := login(t, s.URL, "admin", password)
	driveRun(t, admin, twoStagePipeline(t, admin, nil))

	// Cancel mid-job: the running job is stopped and the run ends canceled.
	var ws, p idOnly
	admin.expect(t, http.StatusCreated, http.MethodPost, "/api/v1/pipeline-workspaces", map[string]any{"name": "slow", "type": "custom"}, &ws)
	admin.expect(t, http.StatusCreated, http.MethodPost, path("/api/v1/pipeline-workspaces/%d/pipelines", ws.ID), map[string]any{
		"name": "slow", "stages": []any{map[string]any{"name": "s", "jobs": []any{map[string]any{"name": "sleep",
			"plugin_key": "execute_shell", "params": map[string]any{"script": "sleep 300"}}}}}}, &p)
	var v runView
	admin.expect(t, http.StatusCreated, http.MethodPost, path("/api/v1/pipelines/%d/runs", p.ID), map[string]any{}, &v)
	deadline := time.Now().Add(60 * time.Second)
	for len(v.Stages) == 0 || v.Stages[0].Jobs[0].Status != "doing" {
		if time.Now().After(deadline) {
			t.Fatalf("the job never started: %+v", v)
		}
		time.Sleep(25 * time.Millisecond)
		admin.expect(t, http.StatusOK, http.MethodGet, path("/api/v1/pipeline-runs/%d", v.ID), nil, &v)
	}
	admin.expect(t, http.StatusOK, http.MethodPost, path("/api/v1/pipeline-runs/%d/cancel", v.ID), nil, nil)
	v = waitRun(t, admin, v.ID, "canceled")
	if st := v.Stages[0].Jobs[0].Status; st != "canceled" {
		t.Fatalf("the job is %s, not canceled", st)
	}
}

// TestSeparateBinaries: a server, two controller-managers and two spacelets as separate
// processes on MariaDB and Redis. A job asking for a label waits, saying why, until a spacelet
// with that label registers; runs finish with both controller-managers running at once.
func TestSeparateBinaries(t *testing.T) {
	db := testdeps.MySQLDatabase(t)
	host, port, _ := net.SplitHostPort(db.Addr)
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	shared := map[string]string{"MYSQL_HOST": host, "MYSQL_PORT": port, "MYSQL_USER": db.User, "MYSQL_PASSWORD": db.Passwd,
		"MYSQL_DBNAME": db.DBName, "REDIS_ADDRESS": testdeps.RedisAddr(t), "SECRET_KEY": key}
	env := func(extra map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range shared {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	s := proctest.StartServer(t, "server", env(map[string]string{"SETUP_TOKEN": "system-test-setup-token", "DATA_DIR": t.TempDir()}))
	client{url: s.URL}.expect(t, http.StatusCreated, http.MethodPost, "/api/v1/setup", map[string]string{
		"username": "admin", "password": password, "email": "admin@example.com", "setup_token": "system-test-setup-token"}, nil)
	admin := login(t, s.URL, "admin", password)
	proctest.StartControllerManager(t, "controller-manager-1", env(nil))
	proctest.StartControllerManager(t, "controller-manager-2", env(nil))
	// Made first, checked last: its first tick comes at the next full minute, while the rest runs.
	cron := cronPipeline(t, admin)

	var tok struct {
		Token string `json:"token"`
	}
	admin.expect(t, http.StatusCreated, http.MethodPost, "/api/v1/spacelet-tokens", map[string]any{"name": "builders"}, &tok)
	spacelet := func(name, labels string) {
		proctest.Start(t, name, proctest.Binary(t, "spacelet"), proctest.Env(map[string]string{"SERVER_URL": s.URL,
			"REGISTRATION_TOKEN": tok.Token, "DATA_DIR": t.TempDir(), "SPACELET_NAME": name, "LABELS": labels, "METRICS_PORT": "0"}))
	}
	spacelet("plain", "os=linux")

	p := twoStagePipeline(t, admin, map[string]string{"pool": "build"})
	var v runView
	admin.expect(t, http.StatusCreated, http.MethodPost, path("/api/v1/pipelines/%d/runs", p), map[string]any{}, &v)
	deadline := time.Now().Add(30 * time.Second)
	for v.Reason != "job compile waits: no spacelet with labels pool=build is online" {
		if time.Now().After(deadline) {
			t.Fatalf("the run does not say why its job waits: %q", v.Reason)
		}
		time.Sleep(25 * time.Millisecond)
		admin.expect(t, http.StatusOK, http.MethodGet, path("/api/v1/pipeline-runs/%d", v.ID), nil, &v)
	}
	spacelet("builder", "os=linux,pool=build")
	v = waitRun(t, admin, v.ID, "pause")
	admin.expect(t, http.StatusOK, http.MethodPost, path("/api/v1/pipeline-runs/%d/stages/%d/execute", v.ID, v.Stages[1].ID),
		map[string]any{"params": map[string]string{"TARGET": "production"}}, nil)
	waitRun(t, admin, v.ID, "ok")

	// Cron: the tick starts one run (two controller-managers race for it), which succeeds.
	cronRuns := func() []runView {
		var l struct {
			Items []runView `json:"items"`
		}
		admin.expect(t, http.StatusOK, http.MethodGet, path("/api/v1/pipelines/%d/runs", cron), nil, &l)
		return l.Items
	}
	deadline = time.Now().Add(90 * time.Second)
	for len(cronRuns()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the every-minute cron trigger started no run within 90 s")
		}
		time.Sleep(250 * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // room for a second start, were the tick fired twice
	runs := cronRuns()
	if len(runs) != 1 || runs[0].Trigger != "cron" {
		t.Fatalf("one tick, two controller-managers: want exactly one cron run, got %+v", runs)
	}
	waitRun(t, admin, runs[0].ID, "ok")
}

// cronPipeline creates a one-job pipeline started every minute by cron.
func cronPipeline(t *testing.T, c client) int64 {
	t.Helper()
	var ws, p idOnly
	c.expect(t, http.StatusCreated, http.MethodPost, "/api/v1/pipeline-workspaces",
		map[string]any{"name": "cron-" + strconv.FormatInt(time.Now().UnixNano(), 36), "type": "custom"}, &ws)
	c.expect(t, http.StatusCreated, http.MethodPost, path("/api/v1/pipeline-workspaces/%d/pipelines", ws.ID), map[string]any{
		"name":     "nightly",
		"triggers": []any{map[string]any{"type": "cron", "schedule": "* * * * *"}},
		"stages": []any{map[string]any{"name": "tick", "trigger_mode": "auto", "jobs": []any{
			map[string]any{"name": "tick", "plugin_key": "execute_shell", "params": map[string]any{"script": `test "$PIPELINE_TRIGGER" = cron`}},
		}}},
	}, &p)
	return p.ID
}

// TestRedisRestartAndTwoControllers: with two controller-managers running at once, 20 runs
// started around a restart of Redis all finish, and every job ran exactly once (each execution
// appends a line to a file the test counts).
func TestRedisRestartAndTwoControllers(t *testing.T) {
	redisPort := proctest.FreePort(t)
	startRedis := func(name string) *proctest.Process {
		p := proctest.Start(t, name, "redis-server", nil, "--port", strconv.Itoa(redisPort), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no")
		deadline := time.Now().Add(10 * time.Second)
		for {
			if c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(redisPort))); err == nil {
				_ = c.Close()
				return p
			}
			if time.Now().After(deadline) {
				t.Fatalf("redis did not start:\n%s", p.Output())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	redisProc := startRedis("redis")
	db := testdeps.MySQLDatabase(t)
	host, port, _ := net.SplitHostPort(db.Addr)
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	env := func(extra map[string]string) map[string]string {
		out := map[string]string{"MYSQL_HOST": host, "MYSQL_PORT": port, "MYSQL_USER": db.User, "MYSQL_PASSWORD": db.Passwd,
			"MYSQL_DBNAME": db.DBName, "REDIS_ADDRESS": net.JoinHostPort("127.0.0.1", strconv.Itoa(redisPort)), "SECRET_KEY": key,
			"RUN_RESYNC": "1s"}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	s := proctest.StartServer(t, "server", env(map[string]string{"SETUP_TOKEN": "system-test-setup-token", "DATA_DIR": t.TempDir()}))
	client{url: s.URL}.expect(t, http.StatusCreated, http.MethodPost, "/api/v1/setup", map[string]string{
		"username": "admin", "password": password, "email": "admin@example.com", "setup_token": "system-test-setup-token"}, nil)
	admin := login(t, s.URL, "admin", password)
	proctest.StartControllerManager(t, "controller-manager-1", env(nil))
	proctest.StartControllerManager(t, "controller-manager-2", env(nil))
	var tok struct {
		Token string `json:"token"`
	}
	admin.expect(t, http.StatusCreated, http.MethodPost, "/api/v1/spacelet-tokens", map[string]any{"name": "builders"}, &tok)
	for _, name := range []string{"s1", "s2"} {
		proctest.Start(t, name, proctest.Binary(t, "spacelet"), proctest.Env(map[string]string{"SERVER_URL": s.URL,
			"REGISTRATION_TOKEN": tok.Token, "DATA_DIR": t.TempDir(), "SPACELET_NAME": name, "CAPACITY": "4", "METRICS_PORT": "0"}))
	}

	var ws, p idOnly
	admin.expect(t, http.StatusCreated, http.MethodPost, "/api/v1/pipeline-workspaces", map[string]any{"name": "count", "type": "custom"}, &ws)
	job := func(name string) map[string]any {
		return map[string]any{"name": name, "plugin_key": "execute_shell",
			"params": map[string]any{"script": `echo "$PIPELINE_BUILD_NUMBER ` + name + `" >> "$COUNT_FILE"`}}
	}
	admin.expect(t, http.StatusCreated, http.MethodPost, path("/api/v1/pipeline-workspaces/%d/pipelines", ws.ID), map[string]any{
		"name": "count", "stages": []any{map[string]any{"name": "s", "jobs": []any{job("a"), job("b")}}}}, &p)
	countFile := t.TempDir() + "/executions"
	var ids []int64
	start := func(n int) {
		for i := 0; i < n; i++ {
			var v runView
			admin.expect(t, http.StatusCreated, http.MethodPost, path("/api/v1/pipelines/%d/runs", p.ID),
				map[string]any{"params": map[string]string{"COUNT_FILE": countFile}}, &v)
			ids = append(ids, v.ID)
		}
	}
	start(10)
	redisProc.Kill()
	time.Sleep(500 * time.Millisecond)
	startRedis("redis-again")
	start(10)
	for _, id := range ids {
		waitRun(t, admin, id, "ok")
	}
	data, err := os.ReadFile(countFile)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		seen[line]++
	}
	if len(seen) != 40 {
		t.Fatalf("%d distinct job executions, want 40: %v", len(seen), seen)
	}
	for line, n := range seen {
		if n != 1 {
			t.Fatalf("job %q ran %d times", line, n)
		}
	}
}
