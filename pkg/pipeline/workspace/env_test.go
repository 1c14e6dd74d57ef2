package workspace_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/gittest"
	"github.com/kubespace/kubespace/internal/testdeps"
	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/pipeline/workspace"
	"github.com/kubespace/kubespace/pkg/secretbox"
	"github.com/kubespace/kubespace/pkg/settings"
	"github.com/kubespace/kubespace/pkg/store"
	"github.com/kubespace/kubespace/pkg/store/database"
)

// env is the service on a real database, with a served repository and stored secrets.
type env struct {
	svc     *workspace.Service
	st      store.Store
	secrets *settings.Secrets
	authz   *access.Authorizer
	box     *secretbox.Box
	notes   *notes
	repo    *gittest.Repo
	http    *gittest.HTTPServer
	ssh     *gittest.SSHServer
	key     gittest.Key
	// The repository's branches and their tips.
	mainTip, devTip string
}

// notes records what the service reported to authchange.
type notes struct {
	mu    sync.Mutex
	users []int64
}

func (n *notes) Changed(_ context.Context, ids ...int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.users = append(n.users, ids...)
}

func (n *notes) got() []int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]int64(nil), n.users...)
}

const gitUser, gitPass = "ci", "repo-password-1"

// shellSchema is the schema of the execute_shell plugin's params as the validator sees it. The
// plugin itself (pkg/plugin/shell) runs on spacelets; here only its key and schema matter.
type shellSchema struct{}

func (shellSchema) Key() string { return "execute_shell" }
func (shellSchema) Schema() json.RawMessage {
	return json.RawMessage(`{"type":"object","properties":{"script":{"type":"string","minLength":1},"shell":{"type":"string","enum":["bash","sh"]}},"required":["script"],"additionalProperties":false}`)
}

// onEachEngine runs fn on SQLite and on MariaDB.
func onEachEngine(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, engine := range []string{"sqlite", "mysql"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			fn(t, newEnv(t, engine))
		})
	}
}

func newEnv(t *testing.T, engine string) *env {
	ctx := context.Background()
	cfg := database.Config{SQLitePath: filepath.Join(t.TempDir(), "ws.db")}
	if engine == "mysql" {
		cfg = database.Config{MySQL: testdeps.MySQLDatabase(t)}
	}
	db, err := database.Open(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	require.NoError(t, db.Migrate(ctx))
	st := db.Store()
	box, err := secretbox.New(bytes.Repeat([]byte{7}, secretbox.KeySize))
	require.NoError(t, err)
	validator, err := pipeline.NewValidator([]pipeline.PluginSchema{shellSchema{}})
	require.NoError(t, err)
	authz := access.NewAuthorizer(st.RoleBindings, 0)
	e := &env{st: st, box: box, secrets: settings.NewSecrets(st.Secrets, box), authz: authz, notes: &notes{}, key: gittest.NewKey(t)}
	e.svc = workspace.New(workspace.Deps{Store: st, Box: box, Secrets: e.secrets, Authorizer: authz, Definitions: validator,
		Notifier: e.notes, Log: slog.New(slog.DiscardHandler), GitTimeout: 20 * time.Second})
	authz.RegisterKind(store.ScopePipelineWorkspace, e.svc)
	repos := gittest.New(t)
	e.repo = repos.Create("team/app.git")
	e.repo.Commit("main", "initial", map[string]string{"README.md": "app\n"})
	e.mainTip = e.repo.Commit("main", "add main.go", map[string]string{"main.go": "package main\n"})
	e.devTip = e.repo.Commit("dev", "work in progress", map[string]string{"wip.txt": "wip\n"})
	e.http = repos.ServeHTTP(gittest.HTTPOptions{Username: gitUser, Password: gitPass})
	e.ssh = repos.ServeSSH(e.key.Public)
	return e
}

// user makes a user holding role r on the platform (None: no platform role).
func (e *env) user(t *testing.T, name string, r access.Role) *access.Principal {
	u := &store.User{Username: name, Status: store.UserActive}
	require.NoError(t, e.st.Users.Create(context.Background(), u))
	if r != access.None {
		e.grant(t, u.ID, store.ScopePlatform, 0, r)
	}
	return &access.Principal{User: u}
}

func (e *env) grant(t *testing.T, uid int64, scope string, id int64, r access.Role) {
	require.NoError(t, e.st.RoleBindings.Create(context.Background(), &store.RoleBinding{UserID: uid, Scope: scope, ScopeID: id, Role: r.String()}))
}

func (e *env) secret(t *testing.T, name, typ string, in settings.SecretInput) int64 {
	in.Name, in.Type = &name, &typ
	v, err := e.secrets.Create(context.Background(), in)
	require.NoError(t, err)
	return v.ID
}

func ptr[T any](v T) *T { return &v }

// codeInput is a code workspace on the HTTP repository read with secret.
func (e *env) codeInput(secret int64) workspace.Input {
	return workspace.Input{Type: ptr("code"), CodeURL: ptr(e.http.RepoURL("team/app.git")), CodeSecretID: ptr(secret)}
}
