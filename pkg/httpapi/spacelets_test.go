package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/apitest"
	"github.com/kubespace/kubespace/pkg/httpapi"
	"github.com/kubespace/kubespace/pkg/pipeline/nudge"
	"github.com/kubespace/kubespace/pkg/plugin/builtin"
	"github.com/kubespace/kubespace/pkg/spacelet"
	"github.com/kubespace/kubespace/pkg/spacelet/protocol"
	"github.com/kubespace/kubespace/pkg/store"
)

var fixtureSeq atomic.Int64

// spaceletFixture makes a spacelet (the way the server's own registers) and returns its id.
func spaceletFixture(t testing.TB, s *apitest.Server) int64 {
	ctx := context.Background()
	name := fmt.Sprintf("fixture-%d", fixtureSeq.Add(1))
	_, err := s.App.Spacelets.Dispatch.LocalCredential(ctx, name)
	require.NoError(t, err)
	sp, err := s.App.Store.Spacelets.GetByName(ctx, name)
	require.NoError(t, err)
	return sp.ID
}

// jobFixture makes a pipeline workspace with a run of one job (status given), its log holding
// logText, and returns the job and the workspace.
func jobFixture(t testing.TB, s *apitest.Server, status, logText string) (job, workspace int64) {
	ws := &store.PipelineWorkspace{Name: fmt.Sprintf("ws-%d", fixtureSeq.Add(1)), Type: store.WorkspaceCustom}
	require.NoError(t, s.App.Store.PipelineWorkspaces.Create(context.Background(), ws))
	return jobIn(t, s, ws.ID, status, logText), ws.ID
}

// jobIn makes a pipeline in workspace ws with a run of one job and returns the job.
func jobIn(t testing.TB, s *apitest.Server, ws int64, status, logText string) int64 {
	ctx := context.Background()
	st := s.App.Store
	p := &store.Pipeline{WorkspaceID: ws, Name: fmt.Sprintf("p-%d", fixtureSeq.Add(1)), Definition: "{}"}
	require.NoError(t, st.Pipelines.Create(ctx, p))
	d := &store.RunDetail{Run: store.PipelineRun{PipelineID: p.ID, WorkspaceID: ws, BuildNumber: 1, Status: store.StatusDoing, Trigger: store.TriggerManual},
		Stages: []store.StageRun{{Name: "s", TriggerMode: store.StageAuto, Status: store.StatusDoing}},
		Jobs:   [][]store.JobRun{{{Name: "j", PluginKey: "execute_shell", Params: `{"script":"true"}`, Status: status, Env: "{}"}}}}
	require.NoError(t, st.PipelineRuns.Create(ctx, d))
	if logText != "" {
		_, err := st.JobLogs.Append(ctx, d.Jobs[0][0].ID, 0, []byte(logText))
		require.NoError(t, err)
	}
	return d.Jobs[0][0].ID
}

// jobLogFixture is a finished job in the target's pipeline workspace.
func jobLogFixture(t *testing.T, w *permWorld, _ *caller, target int64) string {
	return apitest.Path("/job-runs/%d/log", jobIn(t, w.s, w.targetPWS(t, target), store.StatusOK, "done\n"))
}

func spaceletPathFixture(t *testing.T, w *permWorld, _ *caller, _ int64) string {
	return apitest.Path("/spacelets/%d", spaceletFixture(t, w.s))
}

func spaceletTokenPathFixture(t *testing.T, w *permWorld, _ *caller, _ int64) string {
	return apitest.Path("/spacelet-tokens/%d", w.admin.For(t).Expect(http.StatusCreated, http.MethodPost, "/api/v1/spacelet-tokens",
		map[string]any{"name": "fixture"}).ID(t))
}

// workerPath is a worker protocol path for the permission matrix (the calls are refused
// before the job matters).
func workerPath(p string) func(*testing.T, *permWorld, *caller, int64) string {
	return func(*testing.T, *permWorld, *caller, int64) string { return fmt.Sprintf(p, 1) }
}

func FuzzListSpacelets(f *testing.F)      { fuzzQuery(f, "GET /spacelets", "sort=-last_seen_at&q=x") }
func FuzzListSpaceletTokens(f *testing.F) { fuzzQuery(f, "GET /spacelet-tokens", "sort=name&limit=1") }
func FuzzUpdateSpacelet(f *testing.F) {
	fuzzBody(f, "PUT /spacelets/:id", `{"labels":{"os":"linux"}}`, `{"labels":{"a b":"c"}}`, `{"labels":{"k":"`+strings.Repeat("v", 70)+`"}}`, `{}`)
}
func FuzzCreateSpaceletToken(f *testing.F) {
	fuzzBody(f, "POST /spacelet-tokens", `{"name":"x","expires_in_hours":0}`, `{"name":"x","expires_in_hours":9000}`, `{"name":""}`)
}

// startWorkers runs the dispatch and log services' bus loops (apitest serves the API only).
func startWorkers(t *testing.T, s *apitest.Server) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { _ = s.App.Spacelets.Dispatch.Run(ctx); done <- struct{}{} }()
	go func() { _ = s.App.Spacelets.Logs.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done })
}

func saveJob(t *testing.T, s *apitest.Server, id int64, change func(j *store.JobRun), fields ...string) {
	ctx := context.Background()
	for {
		j, err := s.App.Store.PipelineRuns.GetJob(ctx, id)
		require.NoError(t, err)
		change(j)
		ok, err := s.App.Store.PipelineRuns.SaveJob(ctx, j, fields...)
		require.NoError(t, err)
		if ok {
			return
		}
	}
}

func jobRow(t *testing.T, s *apitest.Server, id int64) *store.JobRun {
	j, err := s.App.Store.PipelineRuns.GetJob(context.Background(), id)
	require.NoError(t, err)
	return j
}

// A spacelet registers over HTTP with a token an admin created, runs an assigned job while
// its log streams to a follower, reports outputs, obeys a cancel within a second, and stops
// being served once removed.
func TestSpaceletOverHTTP(t *testing.T) {
	s := apitest.Start(t, nil)
	startWorkers(t, s)
	admin := s.Admin()
	var tok struct {
		ID      int64  `json:"id"`
		Token   string `json:"token"`
		Command string `json:"command"`
	}
	admin.Expect(http.StatusCreated, http.MethodPost, "/api/v1/spacelet-tokens", map[string]any{"name": "ci"}).JSON(t, &tok)
	require.Contains(t, tok.Command, "SERVER_URL=http://"+strings.TrimPrefix(s.URL, "http://"))
	require.Contains(t, tok.Command, "REGISTRATION_TOKEN="+tok.Token)
	list := admin.Expect(http.StatusOK, http.MethodGet, "/api/v1/spacelet-tokens", nil)
	require.NotContains(t, string(list.Body), tok.Token, "the secret is shown once")

	client, err := spacelet.NewClient(s.URL, nil)
	require.NoError(t, err)
	dir := t.TempDir()
	agent := spacelet.New(client, spacelet.Config{Name: "http-1", Labels: map[string]string{"os": "linux"}, DataDir: dir,
		RegistrationToken: tok.Token, Plugins: builtin.Default(), Version: "test"})
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- agent.Run(ctx) }()
	defer func() { stop(); <-ran }()
	require.Eventually(t, func() bool { return agent.ID() != 0 }, 10*time.Second, 10*time.Millisecond)

	var sps httpapi.List[map[string]any]
	admin.Expect(http.StatusOK, http.MethodGet, "/api/v1/spacelets", nil).JSON(t, &sps)
	require.EqualValues(t, 1, sps.Total)
	require.Equal(t, "http-1", sps.Items[0]["name"])
	require.Equal(t, "online", sps.Items[0]["status"])
	require.Equal(t, map[string]any{"os": "linux"}, sps.Items[0]["labels"])

	// A job: its log is followed while it runs.
	jobID, _ := jobFixture(t, s, store.StatusWait, "")
	saveJob(t, s, jobID, func(j *store.JobRun) {
		j.Params = `{"script":"echo first; sleep 0.3; echo second; echo RESULT=42 >> $PIPELINE_OUTPUT"}`
		j.SpaceletID = agent.ID()
	}, "Params", "SpaceletID")
	require.NoError(t, nudge.Publish(ctx, s.App.Bus, nudge.TopicAssigned, agent.ID()))
	req, err := http.NewRequest(http.MethodGet, s.URL+apitest.Path("/api/v1/job-runs/%d/log?follow=true", jobID), nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+admin.Token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"))
	lines := bufio.NewScanner(resp.Body)
	var got []string
	for lines.Scan() {
		got = append(got, lines.Text())
	}
	require.Equal(t, []string{"first", "second"}, got, "the follow ends when the job has ended, with the whole log")
	j := jobRow(t, s, jobID)
	require.Equal(t, store.StatusOK, j.Status)
	require.JSONEq(t, `{"RESULT":"42"}`, j.Outputs)
	// From an offset, without following.
	r := admin.Expect(http.StatusOK, http.MethodGet, apitest.Path("/api/v1/job-runs/%d/log?offset=6", jobID), nil)
	require.Equal(t, "second\n", string(r.Body))

	// Cancel within a second.
	pidFile := filepath.Join(t.TempDir(), "pid")
	jobID, _ = jobFixture(t, s, store.StatusWait, "")
	saveJob(t, s, jobID, func(j *store.JobRun) {
		j.Params = `{"script":"sleep 300 & echo $! > ` + pidFile + `; wait"}`
		j.SpaceletID = agent.ID()
	}, "Params", "SpaceletID")
	require.NoError(t, nudge.Publish(ctx, s.App.Bus, nudge.TopicAssigned, agent.ID()))
	var pid int
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(pidFile)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pid > 0
	}, 10*time.Second, 5*time.Millisecond)
	saveJob(t, s, jobID, func(j *store.JobRun) { j.Status = store.StatusCancel }, "Status")
	require.NoError(t, nudge.Publish(ctx, s.App.Bus, nudge.TopicCancel, jobID))
	require.Eventually(t, func() bool { return !processAlive(pid) }, time.Second, 5*time.Millisecond, "the job's process outlived the cancel by a second")
	require.Eventually(t, func() bool { return jobRow(t, s, jobID).Status == store.StatusCanceled }, 2*time.Second, 5*time.Millisecond)

	// Labels and drain by an admin, then removal: the credential stops working.
	var v map[string]any
	admin.Expect(http.StatusOK, http.MethodPut, apitest.Path("/api/v1/spacelets/%d", agent.ID()),
		map[string]any{"labels": map[string]string{"pool": "gpu"}, "draining": true}).JSON(t, &v)
	require.Equal(t, true, v["draining"])
	require.Equal(t, map[string]any{"pool": "gpu"}, v["labels"])
	admin.Expect(http.StatusNoContent, http.MethodDelete, apitest.Path("/api/v1/spacelets/%d", agent.ID()), nil)
	_, err = client.Heartbeat(ctx, protocol.Heartbeat{})
	require.ErrorIs(t, err, protocol.ErrUnauthorized)
	select {
	case err := <-ran:
		require.ErrorIs(t, err, protocol.ErrUnauthorized, "a removed spacelet stops by itself")
		ran <- nil
	case <-time.After(10 * time.Second):
		t.Fatal("the removed spacelet kept running")
	}
}

// The worker routes refuse another protocol version and users' credentials, saying why.
func TestSpaceletProtocolRefusals(t *testing.T) {
	s := apitest.Start(t, nil)
	admin := s.Admin()
	call := func(header, token string) *apitest.Response {
		return admin.For(t).Do(http.MethodPost, "/api/v1/spacelet/heartbeat", map[string]any{"running": 0, "capacity": 1}, func(r *http.Request) {
			if header != "" {
				r.Header.Set(protocol.VersionHeader, header)
			}
			r.Header.Set("Authorization", "Bearer "+token)
		})
	}
	r := call("", admin.Token)
	require.Equal(t, http.StatusBadRequest, r.Status)
	require.Equal(t, protocol.CodeVersion, errorCode(r.Body))
	r = call("99", admin.Token)
	require.Equal(t, http.StatusBadRequest, r.Status)
	require.Contains(t, string(r.Body), `speaks spacelet protocol \"1\"`)
	r = call(protocol.Version, admin.Token)
	require.Equal(t, http.StatusUnauthorized, r.Status, "a user's session is no spacelet credential")
	r = call(protocol.Version, "ksw_forged")
	require.Equal(t, http.StatusUnauthorized, r.Status)
	require.Contains(t, string(r.Body), "register it again")

	// Registration: bad input is a 400 naming the field; a bad token a 401.
	reg := func(body string) *apitest.Response {
		return s.Anonymous().For(t).Do(http.MethodPost, "/api/v1/spacelet/register", body, func(r *http.Request) {
			r.Header.Set(protocol.VersionHeader, protocol.Version)
		})
	}
	require.Equal(t, http.StatusBadRequest, reg(`{"token":"ksr_x","name":"ok","capacity":0}`).Status)
	require.Equal(t, http.StatusBadRequest, reg(`{"token":"ksr_x","name":"ok","capacity":1,"extra":1}`).Status)
	require.Equal(t, http.StatusBadRequest, reg(`[`).Status)
	r = reg(`{"token":"ksr_x","name":"ok","capacity":1}`)
	require.Equal(t, http.StatusUnauthorized, r.Status)
	require.Equal(t, "registration_token_refused", errorCode(r.Body))
}

// A job's log is for the viewers of its pipeline workspace.
func TestJobLogPermissions(t *testing.T) {
	s := apitest.Start(t, nil)
	admin := s.Admin()
	jobID, ws := jobFixture(t, s, store.StatusOK, "secretless log\n")
	viewer := s.User(admin, "pw-viewer", "", 0, "")
	stranger := s.User(admin, "stranger", "", 0, "")
	require.NoError(t, s.App.Store.RoleBindings.Create(context.Background(),
		&store.RoleBinding{UserID: viewer.UserID, Scope: store.ScopePipelineWorkspace, ScopeID: ws, Role: store.RoleViewer}))
	s.App.Authorizer.Forget(0)
	path := apitest.Path("/api/v1/job-runs/%d/log", jobID)
	r := viewer.Expect(http.StatusOK, http.MethodGet, path, nil)
	require.Equal(t, "secretless log\n", string(r.Body))
	stranger.Expect(http.StatusForbidden, http.MethodGet, path, nil)
	stranger.Expect(http.StatusForbidden, http.MethodGet, "/api/v1/job-runs/999999/log", nil)
	admin.Expect(http.StatusNotFound, http.MethodGet, "/api/v1/job-runs/999999/log", nil)
	r = admin.Do(http.MethodGet, path+"?offset=-1", nil)
	require.Equal(t, http.StatusBadRequest, r.Status)
	require.Equal(t, http.StatusBadRequest, admin.Do(http.MethodGet, path+"?follow=maybe", nil).Status)

	var plugins struct {
		Items []struct {
			Key          string          `json:"key"`
			Name         string          `json:"name"`
			ParamsSchema json.RawMessage `json:"params_schema"`
		} `json:"items"`
		Total int `json:"total"`
	}
	stranger.Expect(http.StatusOK, http.MethodGet, "/api/v1/pipeline-plugins", nil).JSON(t, &plugins)
	require.Equal(t, "execute_shell", plugins.Items[0].Key)
	require.Contains(t, string(plugins.Items[0].ParamsSchema), `"script"`)
}

// processAlive reports whether a process exists and is not a zombie (an orphan waiting for a
// reaper is gone as far as its job is concerned).
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

// A spacelet the server cannot register (another protocol version, a refused token) stops with
// the server's reason instead of retrying forever.
func TestSpaceletStopsOnRefusal(t *testing.T) {
	s := apitest.Start(t, nil)
	client, err := spacelet.NewClient(s.URL, nil)
	require.NoError(t, err)
	agent := spacelet.New(client, spacelet.Config{Name: "refused", DataDir: t.TempDir(), RegistrationToken: "ksr_unknown", Plugins: builtin.Default()})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = agent.Run(ctx)
	require.ErrorIs(t, err, protocol.ErrUnauthorized)
	require.Contains(t, err.Error(), "registration token refused")

	bad := spacelet.New(client, spacelet.Config{Name: "-bad-", DataDir: t.TempDir(), RegistrationToken: "ksr_unknown", Plugins: builtin.Default()})
	err = bad.Run(ctx)
	var se *spacelet.Error
	require.ErrorAs(t, err, &se)
	require.Equal(t, http.StatusBadRequest, se.Status)
	require.Contains(t, se.Message, "name")
}

// Registrations are audited without the token or credential they carried.
func TestSpaceletRegistrationAudited(t *testing.T) {
	s := apitest.Start(t, nil)
	admin := s.Admin()
	var tok struct {
		Token string `json:"token"`
	}
	admin.Expect(http.StatusCreated, http.MethodPost, "/api/v1/spacelet-tokens", map[string]any{"name": "audit"}).JSON(t, &tok)
	client, err := spacelet.NewClient(s.URL, nil)
	require.NoError(t, err)
	dir := t.TempDir()
	a := spacelet.New(client, spacelet.Config{Name: "audited", DataDir: dir, RegistrationToken: tok.Token, Plugins: builtin.Default()})
	require.NoError(t, a.Register(context.Background()))
	again := spacelet.New(client, spacelet.Config{Name: "audited", DataDir: dir, Plugins: builtin.Default()})
	require.NoError(t, again.Register(context.Background()), "with the kept credential")
	cred, err := os.ReadFile(filepath.Join(dir, "credential"))
	require.NoError(t, err)
	r := admin.Expect(http.StatusOK, http.MethodGet, "/api/v1/audit-events?action=register", nil)
	var page struct {
		Items []struct {
			ResourceName string `json:"resource_name"`
			Summary      string `json:"summary"`
			Result       string `json:"result"`
		} `json:"items"`
	}
	r.JSON(t, &page)
	require.Len(t, page.Items, 2)
	for _, e := range page.Items {
		require.Equal(t, "audited", e.ResourceName)
		require.Equal(t, "success", e.Result)
	}
	require.NotContains(t, string(r.Body), tok.Token)
	require.NotContains(t, string(r.Body), strings.TrimSpace(string(cred)))
}
