package httpapi_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/apitest"
	"github.com/kubespace/kubespace/pkg/controller/triggers"
	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/httpapi"
	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/store"
)

// webhookSecrets is the workspace service's secret lookup: a map.
type webhookSecrets map[int64]string

func (m webhookSecrets) WebhookSecret(_ context.Context, id int64) ([]byte, error) {
	s, ok := m[id]
	if !ok {
		return nil, errs.NotFoundf("pipeline workspace %d not found", id)
	}
	return []byte(s), nil
}

// runStarts stands in for the run service (another package's): it records each start.
type runStarts struct {
	mu  sync.Mutex
	got []triggers.StartRequest
}

func (r *runStarts) Start(_ context.Context, _ int64, req triggers.StartRequest) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, req)
	return int64(500 + len(r.got)), nil
}

func (r *runStarts) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

// webhookServer is the API of an apitest server with webhooks wired to the real push handler
// over the server's store.
type webhookServer struct {
	s      *apitest.Server
	url    string
	ws     int64
	starts *runStarts
}

func newWebhookServer(t *testing.T) *webhookServer {
	s := apitest.Start(t, nil)
	ctx := t.Context()
	w := &store.PipelineWorkspace{Name: "shop", Type: store.WorkspaceCode, CodeProvider: "github", CodeURL: "https://github.com/o/shop.git"}
	require.NoError(t, s.App.Store.PipelineWorkspaces.Create(ctx, w))
	for name, rules := range map[string][]pipeline.BranchRule{
		"trunk":    {{Type: pipeline.BranchExact, Pattern: "main"}},
		"branches": {{Type: pipeline.BranchExclude, Pattern: "main"}},
	} {
		d := pipeline.Definition{Name: name, Sources: []pipeline.Source{{Type: pipeline.SourceCode, Branches: rules}},
			Triggers: []pipeline.Trigger{{Type: pipeline.TriggerPush}},
			Stages:   []pipeline.Stage{{Name: "s", Jobs: []pipeline.Job{{Name: "j", PluginKey: "execute_shell"}}}}}
		b, _ := json.Marshal(d)
		require.NoError(t, s.App.Store.Pipelines.Create(ctx, &store.Pipeline{WorkspaceID: w.ID, Name: name, Definition: string(b)}))
	}
	starts := &runStarts{}
	st := s.App.Store
	api, err := httpapi.New(httpapi.Deps{
		Identity: s.App.Identity, Authorizer: s.App.Authorizer, Audit: s.App.Audit, Events: s.App.Events, Streams: s.App.Streams,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Webhooks: &httpapi.WebhookServices{
			Secrets: httpapi.WebhookSecretFunc(webhookSecrets{w.ID: "s3cret"}.WebhookSecret),
			Pushes:  triggers.NewPushHandler(triggers.Stores{Pipelines: st.Pipelines, Runs: st.PipelineRuns, Triggers: st.Triggers}, starts, nil),
		},
	})
	require.NoError(t, err)
	ts := httptest.NewServer(api.Handler())
	t.Cleanup(ts.Close)
	return &webhookServer{s: s, url: ts.URL, ws: w.ID, starts: starts}
}

func (w *webhookServer) post(t *testing.T, path string, h http.Header, body []byte) (int, []byte) {
	req, err := http.NewRequest(http.MethodPost, w.url+httpapi.Prefix+path, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header = h
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func hubSign(body []byte, key string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func githubHeaders(event, delivery, sig string) http.Header {
	h := http.Header{}
	h.Set("X-GitHub-Event", event)
	h.Set("X-GitHub-Delivery", delivery)
	if sig != "" {
		h.Set("X-Hub-Signature-256", sig)
	}
	return h
}

func githubPushBody(branch, commit string) []byte {
	return []byte(fmt.Sprintf(`{"ref":"refs/heads/%s","after":"%s","head_commit":{"id":"%s","message":"change"},"pusher":{"name":"alice"},"repository":{"clone_url":"https://github.com/o/shop.git"}}`, branch, commit, commit))
}

func TestWebhookStartsMatchingPipelinesOnce(t *testing.T) {
	w := newWebhookServer(t)
	path := fmt.Sprintf("/webhooks/github/%d", w.ws)
	body := githubPushBody("main", "0123456789abcdef0123456789abcdef01234567")

	status, out := w.post(t, path, githubHeaders("push", "d-1", hubSign(body, "s3cret")), body)
	require.Equal(t, http.StatusOK, status, "%s", out)
	var res httpapi.WebhookResult
	require.NoError(t, json.Unmarshal(out, &res))
	require.Equal(t, "main", res.Branch)
	require.Equal(t, 1, res.Matched)
	require.Len(t, res.Runs, 1)
	require.Equal(t, 1, w.starts.count())
	require.Equal(t, triggers.StartRequest{Trigger: store.TriggerPush, User: "alice", Branch: "main", Commit: "0123456789abcdef0123456789abcdef01234567", Message: "change"}, w.starts.got[0])

	// GitHub redelivers the same delivery: nothing starts twice.
	status, out = w.post(t, path, githubHeaders("push", "d-1", hubSign(body, "s3cret")), body)
	require.Equal(t, http.StatusOK, status, "%s", out)
	require.JSONEq(t, `{"provider":"github","delivery_id":"d-1","branch":"main","commit":"0123456789abcdef0123456789abcdef01234567","duplicate":true,"matched":0,"runs":[]}`, string(out))
	require.Equal(t, 1, w.starts.count())

	// A feature branch goes to the other pipeline.
	body = githubPushBody("feat/x", "89abcdef0123456789abcdef0123456789abcdef")
	status, out = w.post(t, path, githubHeaders("push", "d-2", hubSign(body, "s3cret")), body)
	require.Equal(t, http.StatusOK, status, "%s", out)
	require.Equal(t, 2, w.starts.count())

	// A ping is answered and ignored.
	status, out = w.post(t, path, githubHeaders("ping", "d-3", hubSign([]byte(`{}`), "s3cret")), []byte(`{}`))
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, string(out), `"ignored":"event ping is not a push"`)
	require.Equal(t, 2, w.starts.count())
}

func TestWebhookRefusesBadSignaturesAndAuditsThem(t *testing.T) {
	w := newWebhookServer(t)
	body := githubPushBody("main", "0123456789abcdef0123456789abcdef01234567")
	gitlab := http.Header{}
	gitlab.Set("X-Gitlab-Event", "Push Hook")
	gitlab.Set("X-Gitlab-Token", "wrong")
	cases := []struct {
		name, path string
		h          http.Header
		body       []byte
		status     int
		code       string
	}{
		{"wrong secret", fmt.Sprintf("/webhooks/github/%d", w.ws), githubHeaders("push", "x-1", hubSign(body, "guess")), body, http.StatusUnauthorized, "webhook_signature"},
		{"no signature", fmt.Sprintf("/webhooks/github/%d", w.ws), githubHeaders("push", "x-2", ""), body, http.StatusUnauthorized, "webhook_signature"},
		{"signed another body", fmt.Sprintf("/webhooks/github/%d", w.ws), githubHeaders("push", "x-3", hubSign([]byte(`{}`), "s3cret")), body, http.StatusUnauthorized, "webhook_signature"},
		{"gitlab wrong token", fmt.Sprintf("/webhooks/gitlab/%d", w.ws), gitlab, body, http.StatusUnauthorized, "webhook_signature"},
		{"unknown workspace", "/webhooks/github/999999", githubHeaders("push", "x-4", hubSign(body, "s3cret")), body, http.StatusUnauthorized, "webhook_signature"},
		{"unknown provider", fmt.Sprintf("/webhooks/bitbucket/%d", w.ws), http.Header{}, body, http.StatusNotFound, "webhook_provider"},
		{"bad id", "/webhooks/github/abc", http.Header{}, body, http.StatusBadRequest, "invalid"},
		{"wrong shape, signed", fmt.Sprintf("/webhooks/github/%d", w.ws), githubHeaders("push", "x-5", hubSign([]byte(`{"ref":7}`), "s3cret")), []byte(`{"ref":7}`), http.StatusBadRequest, "webhook_payload"},
		{"not json, signed", fmt.Sprintf("/webhooks/generic/%d", w.ws), http.Header{"X-Kubespace-Signature-256": {hubSign([]byte(`branch=main`), "s3cret")}}, []byte(`branch=main`), http.StatusBadRequest, "webhook_payload"},
		{"too large", fmt.Sprintf("/webhooks/github/%d", w.ws), githubHeaders("push", "x-6", ""), bytes.Repeat([]byte(" "), 5<<20+1), http.StatusRequestEntityTooLarge, "too_large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, out := w.post(t, c.path, c.h, c.body)
			require.Equal(t, c.status, status, "%s", out)
			require.Equal(t, c.code, errorCode(out), "%s", out)
		})
	}
	require.Zero(t, w.starts.count())
	page, err := w.s.App.Store.Audit.List(t.Context(), store.AuditFilter{Action: "receive", ResourceType: "webhook", Result: store.ResultFailure}, store.ListOptions{Limit: 100})
	require.NoError(t, err)
	unauthorized := 0
	for _, e := range page.Items {
		if e.StatusCode == http.StatusUnauthorized {
			unauthorized++
		}
	}
	require.Equal(t, 5, unauthorized, "every refused signature is audited")
}

func TestWebhookGenericAndGitLab(t *testing.T) {
	w := newWebhookServer(t)
	body := []byte(`{"branch":"main","commit":"abcdef1234567","message":"deploy","pusher":"ci"}`)
	h := http.Header{}
	h.Set("X-KubeSpace-Signature-256", hubSign(body, "s3cret"))
	h.Set("X-KubeSpace-Delivery", "g-1")
	status, out := w.post(t, fmt.Sprintf("/webhooks/generic/%d", w.ws), h, body)
	require.Equal(t, http.StatusOK, status, "%s", out)
	require.Contains(t, string(out), `"runs":[{"pipeline_id"`)

	gl := []byte(`{"object_kind":"push","ref":"refs/heads/dev","after":"1111111111111111111111111111111111111111","user_username":"bob","commits":[]}`)
	h = http.Header{}
	h.Set("X-Gitlab-Event", "Push Hook")
	h.Set("X-Gitlab-Token", "s3cret")
	h.Set("X-Gitlab-Event-UUID", "u-1")
	status, out = w.post(t, fmt.Sprintf("/webhooks/gitlab/%d", w.ws), h, gl)
	require.Equal(t, http.StatusOK, status, "%s", out)
	require.Equal(t, 2, w.starts.count())
	require.Equal(t, "bob", w.starts.got[1].User)
}

// Without the services wired the route answers 503 (and stays public: no login asked).
func TestWebhookUnavailableWhenNotWired(t *testing.T) {
	s := apitest.Start(t, nil)
	api, err := httpapi.New(httpapi.Deps{Identity: s.App.Identity, Authorizer: s.App.Authorizer, Audit: s.App.Audit,
		Events: s.App.Events, Streams: s.App.Streams, Log: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	ts := httptest.NewServer(api.Handler())
	t.Cleanup(ts.Close)
	w := &webhookServer{s: s, url: ts.URL}
	status, out := w.post(t, "/webhooks/github/1", http.Header{}, []byte(`{"ref":"refs/heads/main"}`))
	require.Equal(t, http.StatusServiceUnavailable, status, "%s", out)
	require.Equal(t, "webhooks_unavailable", errorCode(out))
	status, out = w.post(t, "/webhooks/svn/1", http.Header{}, []byte(`{}`))
	require.Equal(t, http.StatusNotFound, status, "%s", out)
}
