package triggers_test

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
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/apitest"
	"github.com/kubespace/kubespace/internal/gittest"
	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/controller/triggers"
	"github.com/kubespace/kubespace/pkg/httpapi"
	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/pipeline/run"
	"github.com/kubespace/kubespace/pkg/pipeline/workspace"
	"github.com/kubespace/kubespace/pkg/secretbox"
	"github.com/kubespace/kubespace/pkg/settings"
	"github.com/kubespace/kubespace/pkg/store"
)

// shellSchema is execute_shell as the validator sees it (the plugin runs on spacelets).
type shellSchema struct{}

func (shellSchema) Key() string { return "execute_shell" }
func (shellSchema) Schema() json.RawMessage {
	return json.RawMessage(`{"type":"object","properties":{"script":{"type":"string"},"shell":{"enum":["bash","sh"]}},"required":["script"]}`)
}

type noNotes struct{}

func (noNotes) Changed(context.Context, ...int64) {}

// The adapters the integrator wires between the services and the triggers (the same mapping
// as internal/controllerapp's).
type wsCommits struct{ ws *workspace.Service }

func (c wsCommits) Resolve(ctx context.Context, id int64, branch, commit string) (run.Commit, error) {
	gc, err := c.ws.ResolveCommit(ctx, id, branch, commit)
	if err != nil {
		return run.Commit{}, err
	}
	return run.Commit{ID: gc.Hash, Author: gc.Author, Message: gc.Message, Time: gc.When}, nil
}

type wsBranches struct{ ws *workspace.Service }

func (b wsBranches) Branches(ctx context.Context, id int64) ([]triggers.Branch, error) {
	bs, err := b.ws.Branches(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]triggers.Branch, len(bs))
	for i, br := range bs {
		out[i] = triggers.Branch{Name: br.Name, Commit: br.Commit}
	}
	return out, nil
}

type runStarter struct{ runs *run.Service }

func (s runStarter) Start(ctx context.Context, pipelineID int64, req triggers.StartRequest) (int64, error) {
	user := req.User
	if user == "" {
		user = req.Trigger
	}
	v, err := s.runs.Start(ctx, pipelineID, run.StartRequest{Branch: req.Branch, Commit: req.Commit, Trigger: req.Trigger, User: user})
	if err != nil {
		return 0, err
	}
	return v.ID, nil
}

// TestPushToRealRepository: a commit pushed to a repository served by git http-backend,
// delivered as a signed GitHub webhook through the API, starts exactly one run on the pushed
// commit; a wrong signature and a redelivery start nothing; polling alone starts the next one.
func TestPushToRealRepository(t *testing.T) {
	s := apitest.Start(t, nil)
	st := s.App.Store
	ctx := t.Context()
	log := slog.New(slog.DiscardHandler)

	box, err := secretbox.New(bytes.Repeat([]byte{7}, secretbox.KeySize))
	require.NoError(t, err)
	secrets := settings.NewSecrets(st.Secrets, box)
	validator, err := pipeline.NewValidator([]pipeline.PluginSchema{shellSchema{}})
	require.NoError(t, err)
	authz := access.NewAuthorizer(st.RoleBindings, 0)
	ws := workspace.New(workspace.Deps{Store: st, Box: box, Secrets: secrets, Authorizer: authz, Definitions: validator,
		Notifier: noNotes{}, Log: log, GitTimeout: 20 * time.Second})
	authz.RegisterKind(store.ScopePipelineWorkspace, ws)

	repos := gittest.New(t)
	repo := repos.Create("team/app.git")
	repo.Commit("main", "initial", map[string]string{"README.md": "app\n"})
	srv := repos.ServeHTTP(gittest.HTTPOptions{Username: "ci", Password: "repo-pass"})
	t.Cleanup(srv.Close)

	u := &store.User{Username: "editor", Status: store.UserActive}
	require.NoError(t, st.Users.Create(ctx, u))
	require.NoError(t, st.RoleBindings.Create(ctx, &store.RoleBinding{UserID: u.ID, Scope: store.ScopePlatform, Role: access.Editor.String()}))
	name, typ, user, pass := "git", "password", "ci", "repo-pass"
	sec, err := secrets.Create(ctx, settings.SecretInput{Name: &name, Type: &typ, Username: &user, Password: &pass})
	require.NoError(t, err)
	code, url, wname := "code", srv.RepoURL("team/app.git"), "app"
	view, err := ws.Create(ctx, &access.Principal{User: u}, workspace.Input{Name: &wname, Type: &code, CodeURL: &url, CodeSecretID: &sec.ID})
	require.NoError(t, err)
	hook, err := ws.WebhookSecret(ctx, view.ID)
	require.NoError(t, err)

	runs := run.New(run.Deps{Store: st, Bus: s.App.Bus, Commits: wsCommits{ws}, Log: log})
	stores := triggers.Stores{Pipelines: st.Pipelines, Runs: st.PipelineRuns, Triggers: st.Triggers}
	api, err := httpapi.New(httpapi.Deps{Identity: s.App.Identity, Authorizer: s.App.Authorizer, Audit: s.App.Audit,
		Events: s.App.Events, Streams: s.App.Streams, Log: log,
		Webhooks: &httpapi.WebhookServices{
			Secrets: httpapi.WebhookSecretFunc(func(ctx context.Context, id int64) ([]byte, error) {
				w, err := ws.WebhookSecret(ctx, id)
				if err != nil {
					return nil, err
				}
				return []byte(w.Secret), nil
			}),
			Pushes: triggers.NewPushHandler(stores, runStarter{runs}, log),
		}})
	require.NoError(t, err)
	ts := httptest.NewServer(api.Handler())
	t.Cleanup(ts.Close)

	trunk := pipelineNamed(t, st, view.ID, workspace.TrunkPipeline)
	deliver := func(delivery, commit, key string) int {
		body := []byte(fmt.Sprintf(`{"ref":"refs/heads/main","after":%q,"head_commit":{"id":%q,"message":"fix"},"pusher":{"name":"alice"},"repository":{"clone_url":%q}}`, commit, commit, url))
		m := hmac.New(sha256.New, []byte(key))
		m.Write(body)
		req, err := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/v1/webhooks/github/%d", ts.URL, view.ID), bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-GitHub-Delivery", delivery)
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}

	c1 := repo.Commit("main", "fix the build", map[string]string{"main.go": "package main\n"})
	require.Equal(t, http.StatusUnauthorized, deliver("d-1", c1, "not-the-secret"))
	require.Empty(t, runsOf(t, st, trunk.ID), "a wrong signature starts nothing")
	require.Equal(t, http.StatusOK, deliver("d-1", c1, hook.Secret))
	require.Equal(t, http.StatusOK, deliver("d-1", c1, hook.Secret), "a redelivery is answered")
	got := runsOf(t, st, trunk.ID)
	require.Len(t, got, 1, "exactly one run")
	require.Equal(t, store.TriggerPush, got[0].Trigger)
	require.Equal(t, c1, envOf(t, got[0])[pipeline.EnvCodeCommitID])
	require.Empty(t, runsOf(t, st, pipelineNamed(t, st, view.ID, workspace.BranchPipeline).ID), "main is not a branch build")

	// Polling alone: the trunk pipeline also polls; a commit no webhook announced starts a run.
	var def pipeline.Definition
	require.NoError(t, json.Unmarshal([]byte(trunk.Definition), &def))
	def.Triggers = []pipeline.Trigger{{Type: pipeline.TriggerPush, Poll: true}}
	b, _ := json.Marshal(def)
	trunk.Definition = string(b)
	require.NoError(t, st.Pipelines.Update(ctx, trunk))
	ctl := triggers.New(stores, runStarter{runs}, wsBranches{ws}, nil, triggers.Config{Log: log})
	ctl.PollOnce(ctx)
	require.Len(t, runsOf(t, st, trunk.ID), 1, "the head the webhook started is not started again")
	c2 := repo.Commit("main", "more", map[string]string{"more.go": "package main\n"})
	ctl.PollOnce(ctx)
	ctl.PollOnce(ctx)
	got = runsOf(t, st, trunk.ID)
	require.Len(t, got, 2)
	require.Equal(t, store.TriggerPoll, got[0].Trigger)
	require.Equal(t, c2, envOf(t, got[0])[pipeline.EnvCodeCommitID])
}

func pipelineNamed(t *testing.T, st store.Store, ws int64, name string) *store.Pipeline {
	t.Helper()
	page, err := st.Pipelines.List(t.Context(), ws, store.ListOptions{Limit: 100})
	require.NoError(t, err)
	for i := range page.Items {
		if page.Items[i].Name == name {
			return &page.Items[i]
		}
	}
	t.Fatalf("no pipeline %q", name)
	return nil
}

// runsOf lists a pipeline's runs, newest first.
func runsOf(t *testing.T, st store.Store, pipelineID int64) []store.PipelineRun {
	t.Helper()
	page, err := st.PipelineRuns.List(t.Context(), store.RunFilter{PipelineID: pipelineID}, store.ListOptions{Limit: 100})
	require.NoError(t, err)
	return page.Items
}

func envOf(t *testing.T, r store.PipelineRun) map[string]string {
	t.Helper()
	env := map[string]string{}
	require.NoError(t, json.Unmarshal([]byte(r.Env), &env))
	return env
}
