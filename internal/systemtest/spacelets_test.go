package systemtest

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
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
	"github.com/kubespace/kubespace/pkg/pipeline/run"
	"github.com/kubespace/kubespace/pkg/store"
	"github.com/kubespace/kubespace/pkg/store/database"
)

// pipelineSystem is a server, a controller-manager and spacelets as processes on one MariaDB
// database and Redis. Runs are started with the run service on the same database (the runs
// API is the run controller's area), which nudges the controller-manager through Redis.
type pipelineSystem struct {
	t      *testing.T
	server *proctest.Server
	admin  client
	st     store.Store
	runs   *run.Service
	env    map[string]string
	token  string
	ws     int64
}

func startPipelineSystem(t *testing.T) *pipelineSystem {
	ctx := context.Background()
	db := testdeps.MySQLDatabase(t)
	redisAddr := testdeps.RedisAddr(t)
	host, port, _ := net.SplitHostPort(db.Addr)
	env := map[string]string{"MYSQL_HOST": host, "MYSQL_PORT": port, "MYSQL_USER": db.User, "MYSQL_PASSWORD": db.Passwd,
		"MYSQL_DBNAME": db.DBName, "REDIS_ADDRESS": redisAddr, "DATA_DIR": t.TempDir(),
		"SECRET_KEY": base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))}
	serverEnv := map[string]string{"SETUP_TOKEN": "pipeline-system-setup"}
	for k, v := range env {
		serverEnv[k] = v
	}
	p := &pipelineSystem{t: t, env: env, server: proctest.StartServer(t, "server", serverEnv)}
	client{url: p.server.URL}.expect(t, http.StatusCreated, http.MethodPost, "/api/v1/setup", map[string]string{
		"username": "admin", "password": password, "email": "admin@example.com", "setup_token": "pipeline-system-setup"}, nil)
	p.admin = login(t, p.server.URL, "admin", password)

	cmEnv := map[string]string{"METRICS_PORT": strconv.Itoa(proctest.FreePort(t)), "METRICS_ADDRESS": "127.0.0.1", "RUN_RESYNC": "2s"}
	for k, v := range env {
		cmEnv[k] = v
	}
	cm := proctest.Start(t, "controller-manager", proctest.Binary(t, "controller-manager"), proctest.Env(cmEnv))
	cm.WaitHTTP(t, "http://127.0.0.1:"+cmEnv["METRICS_PORT"]+"/healthz", 60*time.Second)

	var tok struct {
		Token string `json:"token"`
	}
	p.admin.expect(t, http.StatusCreated, http.MethodPost, "/api/v1/spacelet-tokens", map[string]any{"name": "system"}, &tok)
	p.token = tok.Token

	sdb, err := database.Open(ctx, database.Config{MySQL: db})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sdb.Close() })
	p.st = sdb.Store()
	rc := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{redisAddr}})
	bus := redisbus.New(rc, redisbus.Options{})
	t.Cleanup(func() { _ = bus.Close() })
	p.runs = run.New(run.Deps{Store: p.st, Bus: bus})

	var ws idOnly
	p.admin.expect(t, http.StatusCreated, http.MethodPost, "/api/v1/pipeline-workspaces", map[string]any{"name": "system", "type": "custom"}, &ws)
	p.ws = ws.ID
	return p
}

// spacelet starts a spacelet process and waits until it is online; it returns the process
// and the spacelet's id.
func (p *pipelineSystem) spacelet(name, labels string) (*proctest.Process, int64) {
	t := p.t
	port := proctest.FreePort(t)
	sp := proctest.Start(t, name, proctest.Binary(t, "spacelet"), proctest.Env(map[string]string{"SERVER_URL": p.server.URL,
		"REGISTRATION_TOKEN": p.token, "DATA_DIR": t.TempDir(), "SPACELET_NAME": name, "LABELS": labels, "CAPACITY": "2",
		"METRICS_PORT": strconv.Itoa(port)}))
	sp.WaitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/healthz", port), 60*time.Second)
	var id int64
	require.Eventually(t, func() bool {
		s, err := p.st.Spacelets.GetByName(context.Background(), name)
		if err != nil || s.Status != store.SpaceletOnline {
			return false
		}
		id = s.ID
		return true
	}, 30*time.Second, 20*time.Millisecond)
	return sp, id
}

type job struct {
	name, script string
	labels       map[string]string
}

// pipeline creates a pipeline of auto stages, each a list of parallel jobs.
func (p *pipelineSystem) pipeline(name string, stages ...[]job) int64 {
	var ss []any
	for i, jobs := range stages {
		var js []any
		for _, j := range jobs {
			js = append(js, map[string]any{"name": j.name, "plugin_key": "execute_shell", "params": map[string]any{"script": j.script},
				"schedule": map[string]any{"labels": j.labels}})
		}
		ss = append(ss, map[string]any{"name": fmt.Sprintf("stage-%d", i+1), "trigger_mode": "auto", "jobs": js})
	}
	var out idOnly
	p.admin.expect(p.t, http.StatusCreated, http.MethodPost, path("/api/v1/pipeline-workspaces/%d/pipelines", p.ws),
		map[string]any{"name": name, "stages": ss}, &out)
	return out.ID
}

func (p *pipelineSystem) start(pipelineID int64) int64 {
	v, err := p.runs.Start(context.Background(), pipelineID, run.StartRequest{User: "admin", UserID: 1})
	require.NoError(p.t, err)
	return v.ID
}

// jobs returns the run's jobs by name.
func (p *pipelineSystem) jobs(runID int64) (map[string]store.JobRun, *store.PipelineRun) {
	d, err := p.st.PipelineRuns.Detail(context.Background(), runID)
	require.NoError(p.t, err)
	out := map[string]store.JobRun{}
	for _, js := range d.Jobs {
		for _, j := range js {
			out[j.Name] = j
		}
	}
	return out, &d.Run
}

func (p *pipelineSystem) waitRun(runID int64, status string, within time.Duration) {
	p.t.Helper()
	var last string
	require.Eventually(p.t, func() bool {
		_, r := p.jobs(runID)
		last = r.Status + " " + r.Reason
		return r.Status == status
	}, within, 20*time.Millisecond, "run %d never became %s (last: %s)", runID, status, last)
}

func (p *pipelineSystem) log(jobID int64) string {
	st, b := p.admin.do(p.t, http.MethodGet, path("/api/v1/job-runs/%d/log", jobID), nil)
	require.Equal(p.t, http.StatusOK, st)
	return string(b)
}

func readPID(t *testing.T, file string) int {
	var pid int
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(file)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pid > 0
	}, 60*time.Second, 10*time.Millisecond)
	return pid
}

// processAlive reports whether a process exists and is not a zombie.
func processAlive(pid int) bool {
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

// The separate binaries run pipelines end to end: parallel jobs placed by label on two spacelets,
// outputs flowing to the next stage, a live log, a job that waits for a matching spacelet and
// says why, a cancel that ends the job's processes within a second, and a spacelet killed
// mid-job whose job fails when its lease runs out.
func TestPipelinesOnSeparateBinaries(t *testing.T) {
	p := startPipelineSystem(t)
	_, idA := p.spacelet("spacelet-a", "os=linux,pool=a")
	spB, idB := p.spacelet("spacelet-b", "os=linux,pool=b")

	// Two stages; the first's parallel jobs go to the spacelet their labels name.
	pid := p.pipeline("build-and-use",
		[]job{{"on-a", `echo "running on a"; echo "FROM_A=alpha" >> "$PIPELINE_OUTPUT"`, map[string]string{"pool": "a"}},
			{"on-b", `echo "running on b"; echo "FROM_B=beta" >> "$PIPELINE_OUTPUT"`, map[string]string{"pool": "b"}}},
		[]job{{"use", `echo "got $FROM_A and $FROM_B"`, map[string]string{"os": "linux"}}})
	runID := p.start(pid)
	p.waitRun(runID, store.StatusOK, 60*time.Second)
	jobs, _ := p.jobs(runID)
	require.Equal(t, idA, jobs["on-a"].SpaceletID)
	require.Equal(t, idB, jobs["on-b"].SpaceletID)
	require.Equal(t, "running on a\n", p.log(jobs["on-a"].ID))
	require.Equal(t, "got alpha and beta\n", p.log(jobs["use"].ID))

	// A job follows live: the first line is on the follow endpoint while the job still runs.
	pid = p.pipeline("slow", []job{{"slow", `echo first; sleep 2; echo second`, map[string]string{"pool": "a"}}})
	runID = p.start(pid)
	var slow store.JobRun
	require.Eventually(t, func() bool {
		jobs, _ := p.jobs(runID)
		slow = jobs["slow"]
		return slow.Status == store.StatusDoing
	}, 60*time.Second, 10*time.Millisecond)
	req, _ := http.NewRequest(http.MethodGet, p.server.URL+path("/api/v1/job-runs/%d/log?follow=true", slow.ID), nil)
	req.Header.Set("Authorization", "Bearer "+p.admin.token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	sc := bufio.NewScanner(resp.Body)
	require.True(t, sc.Scan())
	require.Equal(t, "first", sc.Text())
	jobs, _ = p.jobs(runID)
	require.Equal(t, store.StatusDoing, jobs["slow"].Status, "the first line arrived while the job ran")
	require.True(t, sc.Scan())
	require.Equal(t, "second", sc.Text())
	require.False(t, sc.Scan(), "the follow ends with the job")
	resp.Body.Close()
	p.waitRun(runID, store.StatusOK, 30*time.Second)

	// No spacelet matches: the job waits and says why.
	pid = p.pipeline("gpu", []job{{"train", "true", map[string]string{"pool": "gpu"}}})
	runID = p.start(pid)
	require.Eventually(t, func() bool {
		jobs, _ := p.jobs(runID)
		return strings.Contains(jobs["train"].Reason, "no spacelet with labels pool=gpu")
	}, 30*time.Second, 20*time.Millisecond)
	_, err = p.runs.Cancel(context.Background(), runID, "admin")
	require.NoError(t, err)
	p.waitRun(runID, store.StatusCanceled, 30*time.Second)

	// Cancel mid-job: the job's processes are gone within a second.
	pidFile := filepath.Join(t.TempDir(), "pid")
	pid = p.pipeline("cancel-me", []job{{"sleepy", `sleep 600 & echo $! > ` + pidFile + `; wait`, map[string]string{"pool": "a"}}})
	runID = p.start(pid)
	sleeper := readPID(t, pidFile)
	start := time.Now()
	_, err = p.runs.Cancel(context.Background(), runID, "admin")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return !processAlive(sleeper) }, time.Second, 5*time.Millisecond,
		"the job's process outlived the cancel by a second")
	t.Logf("cancelled job's process gone after %s", time.Since(start))
	p.waitRun(runID, store.StatusCanceled, 30*time.Second)

	// A spacelet killed mid-job: its job fails when the lease runs out, saying why.
	shellFile := filepath.Join(t.TempDir(), "shell")
	pid = p.pipeline("lost", []job{{"doomed", `echo $$ > ` + shellFile + `; sleep 600`, map[string]string{"pool": "b"}}})
	runID = p.start(pid)
	shell := readPID(t, shellFile)
	spB.Kill()
	require.Eventually(t, func() bool { return !processAlive(shell) }, time.Second, 5*time.Millisecond, "the job's shell outlived its spacelet")
	p.waitRun(runID, store.StatusError, 90*time.Second)
	jobs, _ = p.jobs(runID)
	require.Contains(t, jobs["doomed"].Message, "lease")
	b, _ := json.Marshal(jobs["doomed"])
	t.Logf("lost job: %s", b)
}
