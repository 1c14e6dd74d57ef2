package workspace_test

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/gittest"
	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/gitrepo"
	"github.com/kubespace/kubespace/pkg/pipeline/workspace"
	"github.com/kubespace/kubespace/pkg/settings"
	"github.com/kubespace/kubespace/pkg/store"
)

// requireField asserts an Invalid error naming field.
func requireField(t *testing.T, err error, field, contains string) {
	t.Helper()
	e, ok := errs.As(err)
	require.True(t, ok && e.Kind == errs.Invalid, "want an invalid-input error, got %v", err)
	require.Contains(t, e.Fields, field, "%v", err)
	require.Contains(t, e.Fields[field], contains)
}

func TestCodeWorkspace(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		editor := e.user(t, "editor", access.Editor)
		sec := e.secret(t, "git", "password", settings.SecretInput{Username: ptr(gitUser), Password: ptr(gitPass)})
		v, err := e.svc.Create(ctx, editor, e.codeInput(sec))
		require.NoError(t, err)
		require.Equal(t, "team/app", v.Name, "named after the repository path")
		require.Equal(t, store.WorkspaceCode, v.Type)
		require.Equal(t, workspace.ProviderGit, v.CodeProvider)
		require.Equal(t, editor.User.ID, v.CreatedBy)

		// The creator administers it (a fresh principal: bindings load once per request).
		r, err := e.authz.RoleIn(ctx, &access.Principal{User: editor.User}, access.Scope{Kind: store.ScopePipelineWorkspace, ID: v.ID})
		require.NoError(t, err)
		require.Equal(t, access.Admin, r)
		require.Contains(t, e.notes.got(), editor.User.ID, "the new binding is announced")

		// The two default pipelines.
		page, err := e.svc.ListPipelines(ctx, v.ID, store.ListOptions{Sort: "name"})
		require.NoError(t, err)
		require.EqualValues(t, 2, page.Total)
		branch, trunk := page.Items[0], page.Items[1]
		require.Equal(t, workspace.BranchPipeline, branch.Name)
		require.Equal(t, workspace.TrunkPipeline, trunk.Name)
		require.True(t, branch.MatchesBranch("dev"))
		require.False(t, branch.MatchesBranch("main"))
		require.False(t, branch.MatchesBranch("master"))
		require.True(t, trunk.MatchesBranch("main"))
		require.True(t, trunk.MatchesBranch("master"))
		require.False(t, trunk.MatchesBranch("dev"))
		require.Len(t, trunk.Stages, 2)
		require.Equal(t, "manual", trunk.Stages[1].TriggerMode)
		require.Nil(t, branch.LastRun)

		branches, err := e.svc.Branches(ctx, v.ID)
		require.NoError(t, err)
		require.Equal(t, []gitrepo.Branch{{Name: "dev", Commit: e.devTip}, {Name: "main", Commit: e.mainTip}}, branches)
		c, err := e.svc.ResolveCommit(ctx, v.ID, "main", "")
		require.NoError(t, err)
		require.Equal(t, e.mainTip, c.Hash)
		require.Equal(t, "add main.go", c.Message)
		remote, err := e.svc.Remote(ctx, v.ID)
		require.NoError(t, err)
		require.Equal(t, gitUser, remote.Username)
		require.Equal(t, gitPass, remote.Password)

		// A name is unique.
		_, err = e.svc.Create(ctx, editor, e.codeInput(sec))
		require.True(t, errs.Is(err, errs.Conflict), "%v", err)
	})
}

// Creation checks access by listing branches; a failure says what failed and stores nothing.
func TestCreateChecksAccess(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		admin := e.user(t, "admin", access.Admin)
		wrong := e.secret(t, "wrong", "password", settings.SecretInput{Username: ptr(gitUser), Password: ptr("not-it")})
		key := e.secret(t, "key", "ssh_key", settings.SecretInput{PrivateKey: ptr(e.key.PrivatePEM)})
		token := e.secret(t, "token", "token", settings.SecretInput{Username: ptr(gitUser), Token: ptr(gitPass)})
		cases := []struct {
			name string
			in   workspace.Input
			code string
		}{
			{"wrong password", e.codeInput(wrong), gitrepo.CodeAuthFailed},
			{"anonymous", e.codeInput(0), gitrepo.CodeAuthFailed},
			{"missing repository", workspace.Input{Type: ptr("code"), CodeURL: ptr(e.http.RepoURL("team/nope.git")), CodeSecretID: ptr(token)}, gitrepo.CodeNotFound},
			{"unpinned host key", workspace.Input{Type: ptr("code"), CodeURL: ptr(e.ssh.RepoURL("team/app.git")), CodeSecretID: ptr(key),
				KnownHosts: ptr("[127.0.0.1]:1 " + e.key.AuthorizedKey())}, gitrepo.CodeHostKey},
		}
		for _, tc := range cases {
			_, err := e.svc.Create(ctx, admin, tc.in)
			require.Equal(t, tc.code, gitrepo.Code(err), "%s: %v", tc.name, err)
			require.True(t, errs.Is(err, errs.Unprocessable), "%s", tc.name)
		}
		for _, tc := range []struct {
			name  string
			in    workspace.Input
			field string
		}{
			{"no type", workspace.Input{Name: ptr("x")}, "type"},
			{"unknown type", workspace.Input{Name: ptr("x"), Type: ptr("svn")}, "type"},
			{"no URL", workspace.Input{Type: ptr("code")}, "code_url"},
			{"local path", workspace.Input{Type: ptr("code"), CodeURL: ptr("/srv/git/app.git")}, "code_url"},
			{"file URL", workspace.Input{Type: ptr("code"), CodeURL: ptr("file:///etc")}, "code_url"},
			{"unknown provider", workspace.Input{Type: ptr("code"), CodeURL: ptr(e.http.RepoURL("team/app.git")), CodeProvider: ptr("svn")}, "code_provider"},
			{"missing secret", e.codeInput(9999), "code_secret_id"},
			{"key for HTTP", e.codeInput(key), "code_secret_id"},
			{"password for SSH", workspace.Input{Type: ptr("code"), CodeURL: ptr(e.ssh.RepoURL("team/app.git")), CodeSecretID: ptr(token)}, "code_secret_id"},
			{"custom with a URL", workspace.Input{Name: ptr("c"), Type: ptr("custom"), CodeURL: ptr("https://x/y.git")}, "code_url"},
			{"bad name", workspace.Input{Name: ptr("-x"), Type: ptr("custom")}, "name"},
		} {
			_, err := e.svc.Create(ctx, admin, tc.in)
			requireField(t, err, tc.field, "")
		}
		page, err := e.svc.List(ctx, nil, store.ListOptions{})
		require.NoError(t, err)
		require.Zero(t, page.Total, "nothing was stored")
	})
}

func TestSSHWorkspaceAndOptOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	ctx := context.Background()
	admin := e.user(t, "admin", access.Admin)
	key := e.secret(t, "key", "ssh_key", settings.SecretInput{PrivateKey: ptr(e.key.PrivatePEM)})
	in := workspace.Input{Name: ptr("ssh"), Type: ptr("code"), CodeURL: ptr(e.ssh.RepoURL("team/app.git")), CodeSecretID: ptr(key),
		KnownHosts: ptr(e.ssh.KnownHosts)}
	v, err := e.svc.Create(ctx, admin, in)
	require.NoError(t, err)
	require.Equal(t, e.ssh.KnownHosts, v.KnownHosts)
	// Re-pointing is checked again: a key that does not match fails, the opt-out passes.
	wrongKey := strings.Fields(e.ssh.KnownHosts)[0] + " " + gittest.NewKey(t).AuthorizedKey()
	_, err = e.svc.Update(ctx, admin, v.ID, workspace.Input{KnownHosts: ptr(wrongKey)})
	require.Equal(t, gitrepo.CodeHostKey, gitrepo.Code(err), "%v", err)
	got, err := e.svc.Get(ctx, v.ID)
	require.NoError(t, err)
	require.Equal(t, e.ssh.KnownHosts, got.KnownHosts, "a failed re-check changes nothing")
	_, err = e.svc.Update(ctx, admin, v.ID, workspace.Input{KnownHosts: ptr(""), InsecureIgnoreHostKey: ptr(true)})
	require.NoError(t, err)
	got, err = e.svc.Get(ctx, v.ID)
	require.NoError(t, err)
	require.True(t, got.InsecureIgnoreHostKey)
	require.Empty(t, got.KnownHosts)
}

// Using a secret is reading it: only platform editors bind one, on creation and on update.
func TestSecretBindingNeedsPlatformEditor(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	ctx := context.Background()
	editor := e.user(t, "editor", access.Editor)
	sec := e.secret(t, "git", "password", settings.SecretInput{Username: ptr(gitUser), Password: ptr(gitPass)})
	other := e.secret(t, "other", "token", settings.SecretInput{Username: ptr(gitUser), Token: ptr(gitPass)})
	v, err := e.svc.Create(ctx, editor, e.codeInput(sec))
	require.NoError(t, err)
	wsAdmin := e.user(t, "ws-admin", access.None)
	e.grant(t, wsAdmin.User.ID, store.ScopePipelineWorkspace, v.ID, access.Admin)
	_, err = e.svc.Update(ctx, wsAdmin, v.ID, workspace.Input{CodeSecretID: ptr(other)})
	require.True(t, errs.Is(err, errs.Forbidden), "%v", err)
	_, err = e.svc.Update(ctx, wsAdmin, v.ID, workspace.Input{CodeURL: ptr("https://attacker.example/x.git")})
	require.True(t, errs.Is(err, errs.Forbidden), "the bound secret would go to another host: %v", err)
	got, err := e.svc.Update(ctx, wsAdmin, v.ID, workspace.Input{Description: ptr("the app")})
	require.NoError(t, err)
	require.Equal(t, "the app", got.Description)
	_, err = e.svc.Update(ctx, wsAdmin, v.ID, workspace.Input{Type: ptr("custom")})
	requireField(t, err, "type", "cannot change")
	_, err = e.svc.Update(ctx, editor, v.ID, workspace.Input{CodeSecretID: ptr(other)})
	require.NoError(t, err, "a platform editor may")
	_, err = e.svc.Create(ctx, wsAdmin, workspace.Input{Name: ptr("mine"), Type: ptr("code"), CodeURL: ptr(e.http.RepoURL("team/app.git")), CodeSecretID: ptr(sec)})
	require.True(t, errs.Is(err, errs.Forbidden), "%v", err)
}

func TestWebhookSecret(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	ctx := context.Background()
	admin := e.user(t, "admin", access.Admin)
	v, err := e.svc.Create(ctx, admin, workspace.Input{Name: ptr("c"), Type: ptr("custom")})
	require.NoError(t, err)
	s1, err := e.svc.WebhookSecret(ctx, v.ID)
	require.NoError(t, err)
	raw, err := hex.DecodeString(s1.Secret)
	require.NoError(t, err)
	require.Len(t, raw, 24)
	row, err := e.st.PipelineWorkspaces.Get(ctx, v.ID)
	require.NoError(t, err)
	require.NotContains(t, string(row.WebhookSecretSealed), s1.Secret, "sealed at rest")
	rotated, err := e.svc.RotateWebhookSecret(ctx, v.ID)
	require.NoError(t, err)
	require.NotEqual(t, s1.Secret, rotated.Secret)
	s2, err := e.svc.WebhookSecret(ctx, v.ID)
	require.NoError(t, err)
	require.Equal(t, rotated.Secret, s2.Secret)
	_, err = e.svc.WebhookSecret(ctx, 9999)
	require.True(t, errs.Is(err, errs.NotFound))
}

// Deleting a workspace removes its pipelines, their runs and its role bindings.
func TestDeleteWorkspace(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		editor := e.user(t, "editor", access.Editor)
		sec := e.secret(t, "git", "password", settings.SecretInput{Username: ptr(gitUser), Password: ptr(gitPass)})
		v, err := e.svc.Create(ctx, editor, e.codeInput(sec))
		require.NoError(t, err)
		page, err := e.svc.ListPipelines(ctx, v.ID, store.ListOptions{})
		require.NoError(t, err)
		run := startRun(t, e, page.Items[0].ID, store.StatusOK)
		_, err = e.svc.Delete(ctx, v.ID)
		require.NoError(t, err)
		_, err = e.svc.Get(ctx, v.ID)
		require.True(t, errs.Is(err, errs.NotFound))
		_, err = e.st.Pipelines.Get(ctx, page.Items[0].ID)
		require.True(t, errs.Is(err, errs.NotFound))
		_, err = e.st.PipelineRuns.Get(ctx, run)
		require.True(t, errs.Is(err, errs.NotFound))
		bs, err := e.st.RoleBindings.ListByUser(ctx, editor.User.ID)
		require.NoError(t, err)
		for _, b := range bs {
			require.NotEqual(t, store.ScopePipelineWorkspace, b.Scope, "the creator's admin binding went with it")
		}
		_, err = e.svc.Name(ctx, v.ID)
		require.True(t, errs.Is(err, errs.NotFound), "the scope is gone for the authorizer too")
	})
}

// startRun stores a run of a pipeline with the given status (the run service's job; here only
// its row matters) and returns its id.
func startRun(t *testing.T, e *env, pipelineID int64, status string) int64 {
	ctx := context.Background()
	p, err := e.st.Pipelines.Get(ctx, pipelineID)
	require.NoError(t, err)
	var d store.RunDetail
	err = e.st.Tx.WithTx(ctx, func(ctx context.Context) error {
		n, err := e.st.Pipelines.NextBuildNumber(ctx, pipelineID)
		if err != nil {
			return err
		}
		d.Run = store.PipelineRun{PipelineID: pipelineID, WorkspaceID: p.WorkspaceID, BuildNumber: n, Status: status,
			Trigger: store.TriggerManual, Definition: p.Definition, Env: "{}", Source: "{}", Params: "{}"}
		return e.st.PipelineRuns.Create(ctx, &d)
	})
	require.NoError(t, err)
	return d.Run.ID
}

// A run of a code workspace carries the checkout a spacelet clones: the repository at the run's
// commit with the credential; cloning it gives the commit's files.
func TestCheckoutForRuns(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	ctx := context.Background()
	admin := e.user(t, "admin", access.Admin)
	sec := e.secret(t, "git", "password", settings.SecretInput{Username: ptr(gitUser), Password: ptr(gitPass)})
	v, err := e.svc.Create(ctx, admin, e.codeInput(sec))
	require.NoError(t, err)
	page, err := e.svc.ListPipelines(ctx, v.ID, store.ListOptions{})
	require.NoError(t, err)
	run := &store.PipelineRun{ID: 1, WorkspaceID: v.ID, PipelineID: page.Items[0].ID,
		Env: `{"PIPELINE_CODE_BRANCH":"dev","PIPELINE_CODE_COMMIT_ID":"` + e.devTip + `"}`}
	co, err := e.svc.Checkout(ctx, run)
	require.NoError(t, err)
	require.Equal(t, e.http.RepoURL("team/app.git"), co.URL)
	require.Equal(t, "dev", co.Branch)
	require.Equal(t, e.devTip, co.Commit)
	require.Equal(t, gitUser, co.Username)
	require.Equal(t, gitPass, co.Password)
	dir := t.TempDir()
	c, err := gitrepo.Checkout(ctx, gitrepo.Remote{URL: co.URL, Username: co.Username, Password: co.Password}, dir, co.Branch, co.Commit)
	require.NoError(t, err)
	require.Equal(t, e.devTip, c.Hash)
	require.FileExists(t, dir+"/wip.txt")

	run.Env = `{}`
	co, err = e.svc.Checkout(ctx, run)
	require.NoError(t, err)
	require.Nil(t, co, "a run without a commit clones nothing")
	custom, err := e.svc.Create(ctx, admin, workspace.Input{Name: ptr("c"), Type: ptr("custom")})
	require.NoError(t, err)
	co, err = e.svc.Checkout(ctx, &store.PipelineRun{WorkspaceID: custom.ID, Env: `{"PIPELINE_CODE_COMMIT_ID":"` + e.devTip + `"}`})
	require.NoError(t, err)
	require.Nil(t, co, "custom workspaces have no repository")
}

// Push deliveries verify only against a code workspace's own secret; an admin never reads an
// empty secret, even of a workspace stored without one.
func TestPushSecret(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	ctx := context.Background()
	admin := e.user(t, "admin", access.Admin)
	sec := e.secret(t, "git", "password", settings.SecretInput{Username: ptr(gitUser), Password: ptr(gitPass)})
	code, err := e.svc.Create(ctx, admin, e.codeInput(sec))
	require.NoError(t, err)
	got, err := e.svc.PushSecret(ctx, code.ID)
	require.NoError(t, err)
	shown, err := e.svc.WebhookSecret(ctx, code.ID)
	require.NoError(t, err)
	require.Equal(t, shown.Secret, string(got))
	custom, err := e.svc.Create(ctx, admin, workspace.Input{Name: ptr("c"), Type: ptr("custom")})
	require.NoError(t, err)
	_, err = e.svc.PushSecret(ctx, custom.ID)
	require.True(t, errs.Is(err, errs.NotFound), "%v", err)
	_, err = e.svc.PushSecret(ctx, 9999)
	require.True(t, errs.Is(err, errs.NotFound), "%v", err)

	bare := &store.PipelineWorkspace{Name: "bare", Type: store.WorkspaceCode, CodeURL: e.http.RepoURL("team/app.git")}
	require.NoError(t, e.st.PipelineWorkspaces.Create(ctx, bare))
	_, err = e.svc.PushSecret(ctx, bare.ID)
	require.True(t, errs.Is(err, errs.NotFound), "no secret, nothing verifies: %v", err)
	made, err := e.svc.WebhookSecret(ctx, bare.ID)
	require.NoError(t, err)
	require.Len(t, made.Secret, 48)
	got, err = e.svc.PushSecret(ctx, bare.ID)
	require.NoError(t, err)
	require.Equal(t, made.Secret, string(got))
}
