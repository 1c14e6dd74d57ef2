package access_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/authchange"
	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/eventbus/membus"
	"github.com/kubespace/kubespace/pkg/store"
	"github.com/kubespace/kubespace/pkg/store/database"
)

// kinds is a fake owner of scope objects: clusters 7 and 8, and workspace 3 in cluster 7.
type kinds struct{ parents map[int64]access.Scope }

func (k kinds) Name(_ context.Context, id int64) (string, error) {
	if _, ok := k.parents[id]; !ok {
		return "", errs.NotFoundf("no object %d", id)
	}
	return fmt.Sprint(id), nil
}

func (k kinds) Parent(_ context.Context, id int64) (access.Scope, bool, error) {
	p := k.parents[id]
	return p, p.Kind != "", nil
}

type world struct {
	st       store.Store
	auth     *access.Authorizer
	bindings *access.Bindings
	users    map[string]*store.User
}

var (
	cluster7   = access.Scope{Kind: store.ScopeCluster, ID: 7}
	cluster8   = access.Scope{Kind: store.ScopeCluster, ID: 8}
	workspace3 = access.Scope{Kind: store.ScopeWorkspace, ID: 3}
)

// newWorld builds users holding the named roles over a fresh SQLite store.
func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	db, err := database.Open(ctx, database.Config{SQLitePath: filepath.Join(t.TempDir(), "access.db")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	require.NoError(t, db.Migrate(ctx))
	w := &world{st: db.Store(), users: map[string]*store.User{}}
	// The cache outlives every test: only change notifications can make a revocation visible.
	w.auth = access.NewAuthorizer(w.st.RoleBindings, time.Hour)
	bus := membus.New(membus.Options{})
	t.Cleanup(func() { _ = bus.Close() })
	hub := authchange.New(bus, slog.New(slog.NewTextHandler(io.Discard, nil)))
	hub.Listen(w.auth.Forget)
	w.auth.RegisterKind(store.ScopeCluster, kinds{parents: map[int64]access.Scope{7: {}, 8: {}}})
	w.auth.RegisterKind(store.ScopeWorkspace, kinds{parents: map[int64]access.Scope{3: cluster7}})
	w.bindings = access.NewBindings(w.auth, w.st.RoleBindings, w.st.Users, hub)
	holds := map[string][]store.RoleBinding{
		"super":          nil,
		"platform-admin": {{Scope: store.ScopePlatform, Role: store.RoleAdmin}},
		"platform-edit":  {{Scope: store.ScopePlatform, Role: store.RoleEditor}},
		"cluster-admin":  {{Scope: store.ScopeCluster, ScopeID: 7, Role: store.RoleAdmin}},
		"cluster-editor": {{Scope: store.ScopeCluster, ScopeID: 7, Role: store.RoleEditor}},
		"mixed":          {{Scope: store.ScopePlatform, Role: store.RoleViewer}, {Scope: store.ScopeCluster, ScopeID: 7, Role: store.RoleAdmin}},
		"nobody":         nil,
		"target":         nil,
	}
	for name, bs := range holds {
		u := &store.User{Username: name, IsSuper: name == "super"}
		require.NoError(t, w.st.Users.Create(ctx, u))
		w.users[name] = u
		for _, b := range bs {
			b.UserID = u.ID
			require.NoError(t, w.st.RoleBindings.Create(ctx, &b))
		}
	}
	return w
}

func (w *world) principal(name string) *access.Principal {
	return &access.Principal{User: w.users[name]}
}

func TestRoleIn(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cases := []struct {
		user  string
		scope access.Scope
		want  access.Role
	}{
		{"super", cluster8, access.Admin},
		{"platform-edit", cluster7, access.Editor},
		{"platform-edit", workspace3, access.Editor},
		{"cluster-admin", cluster7, access.Admin},
		{"cluster-admin", workspace3, access.Admin},
		{"cluster-admin", cluster8, access.None},
		{"cluster-admin", access.Platform, access.None},
		{"mixed", access.Platform, access.Viewer},
		{"mixed", cluster7, access.Admin},
		{"mixed", cluster8, access.Viewer},
		{"nobody", cluster7, access.None},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s in %s", tc.user, tc.scope), func(t *testing.T) {
			got, err := w.auth.RoleIn(context.Background(), w.principal(tc.user), tc.scope)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	t.Run("a cluster-limited token acts nowhere else", func(t *testing.T) {
		p := &access.Principal{User: w.users["super"], ClusterID: 7}
		for scope, want := range map[access.Scope]access.Role{cluster7: access.Admin, cluster8: access.None, access.Platform: access.None, workspace3: access.None} {
			got, err := w.auth.RoleIn(context.Background(), p, scope)
			require.NoError(t, err)
			require.Equal(t, want, got, "%s", scope)
		}
	})
}

func TestGrantNeverExceedsTheGranter(t *testing.T) {
	t.Parallel()
	cases := []struct {
		granter string
		scope   access.Scope
		role    string
		kind    errs.Kind // 0 (Internal) for success
	}{
		{"super", cluster8, "admin", 0},
		{"platform-admin", access.Platform, "admin", 0},
		{"platform-admin", workspace3, "admin", 0},
		{"platform-edit", access.Platform, "viewer", errs.Forbidden},
		{"platform-edit", cluster7, "viewer", errs.Forbidden},
		{"cluster-admin", cluster7, "admin", 0},
		{"cluster-admin", workspace3, "editor", 0},
		{"cluster-admin", cluster8, "viewer", errs.Forbidden},
		{"cluster-admin", access.Platform, "viewer", errs.Forbidden},
		{"cluster-editor", cluster7, "viewer", errs.Forbidden},
		{"mixed", cluster7, "admin", 0},
		{"mixed", access.Platform, "viewer", errs.Forbidden},
		{"nobody", cluster7, "viewer", errs.Forbidden},
		{"super", access.Scope{Kind: store.ScopeCluster, ID: 99}, "viewer", errs.NotFound},
		{"super", access.Scope{Kind: store.ScopePipelineWorkspace, ID: 1}, "viewer", errs.NotFound},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s grants %s in %s", tc.granter, tc.role, tc.scope), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			in := access.GrantInput{UserID: w.users["target"].ID, Scope: tc.scope.Kind, ScopeID: tc.scope.ID, Role: tc.role}
			b, err := w.bindings.Grant(context.Background(), w.principal(tc.granter), in)
			if tc.kind == 0 {
				require.NoError(t, err)
				require.Equal(t, "target", b.Username)
				got, err := w.auth.RoleIn(context.Background(), w.principal("target"), tc.scope)
				require.NoError(t, err)
				require.Equal(t, tc.role, got.String())
				return
			}
			require.True(t, errs.Is(err, tc.kind), "got %v", err)
			bs, err := w.st.RoleBindings.ListByUser(context.Background(), w.users["target"].ID)
			require.NoError(t, err)
			require.Empty(t, bs, "nothing was granted")
		})
	}
}

func TestGrantValidation(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	p := w.principal("super")
	target := w.users["target"].ID
	cases := []struct {
		in    access.GrantInput
		field string
	}{
		{access.GrantInput{Scope: "platform", Role: "viewer"}, "user_id"},
		{access.GrantInput{UserID: target, Scope: "platform", Role: "god"}, "role"},
		{access.GrantInput{UserID: target, Scope: "galaxy", Role: "viewer"}, "scope"},
		{access.GrantInput{UserID: target, Scope: "platform", ScopeID: 2, Role: "viewer"}, "scope_id"},
		{access.GrantInput{UserID: target, Scope: "cluster", Role: "viewer"}, "scope_id"},
	}
	for _, tc := range cases {
		_, err := w.bindings.Grant(context.Background(), p, tc.in)
		e, ok := errs.As(err)
		require.True(t, ok, "%v", err)
		require.Equal(t, errs.Invalid, e.Kind)
		require.Contains(t, e.Fields, tc.field, "%+v", tc.in)
	}
	_, err := w.bindings.Grant(context.Background(), p, access.GrantInput{UserID: 4242, Scope: "platform", Role: "viewer"})
	require.True(t, errs.Is(err, errs.Unprocessable), "%v", err)
	_, err = w.bindings.Grant(context.Background(), p, access.GrantInput{UserID: target, Scope: "cluster", ScopeID: 7, Role: "viewer"})
	require.NoError(t, err)
	_, err = w.bindings.Grant(context.Background(), p, access.GrantInput{UserID: target, Scope: "cluster", ScopeID: 7, Role: "admin"})
	require.Equal(t, "conflict|binding_exists", codeOf(err))
}

func codeOf(err error) string {
	e, ok := errs.As(err)
	if !ok {
		return fmt.Sprintf("unclassified: %v", err)
	}
	return e.Kind.String() + "|" + e.StableCode()
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	cases := []struct {
		revoker string
		scope   access.Scope
		role    string
		ok      bool
	}{
		{"cluster-admin", cluster7, "admin", true},
		{"cluster-admin", workspace3, "editor", true},
		{"cluster-admin", cluster8, "viewer", false},
		{"cluster-admin", access.Platform, "viewer", false},
		{"cluster-editor", cluster7, "viewer", false},
		{"platform-edit", access.Platform, "viewer", false},
		{"platform-admin", cluster8, "admin", true},
		{"super", access.Platform, "admin", true},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s revokes %s in %s", tc.revoker, tc.role, tc.scope), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			b := &store.RoleBinding{UserID: w.users["target"].ID, Scope: tc.scope.Kind, ScopeID: tc.scope.ID, Role: tc.role}
			require.NoError(t, w.st.RoleBindings.Create(context.Background(), b))
			_, err := w.bindings.Revoke(context.Background(), w.principal(tc.revoker), b.ID)
			if tc.ok {
				require.NoError(t, err)
				_, err = w.st.RoleBindings.Get(context.Background(), b.ID)
				require.True(t, errs.Is(err, errs.NotFound))
				return
			}
			require.True(t, errs.Is(err, errs.Forbidden), "%v", err)
			_, err = w.st.RoleBindings.Get(context.Background(), b.ID)
			require.NoError(t, err, "the binding stays")
		})
	}
}

// Roles are cached per process, yet a grant or a revocation takes effect on the next request:
// the binding service reports the change and the cache drops the user's entry.
func TestCachedRolesFollowChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	role := func() access.Role {
		r, err := w.auth.RoleIn(ctx, w.principal("target"), cluster7)
		require.NoError(t, err)
		return r
	}
	require.Equal(t, access.None, role(), "cached: no role")
	b, err := w.bindings.Grant(ctx, w.principal("cluster-admin"), access.GrantInput{UserID: w.users["target"].ID,
		Scope: store.ScopeCluster, ScopeID: 7, Role: "editor"})
	require.NoError(t, err)
	require.Equal(t, access.Editor, role())
	_, err = w.bindings.Revoke(ctx, w.principal("cluster-admin"), b.ID)
	require.NoError(t, err)
	require.Equal(t, access.None, role())
	// A change made behind the service's back (another process without a bus) stays cached
	// until it is reported: the cache really is a cache.
	require.NoError(t, w.st.RoleBindings.Create(ctx, &store.RoleBinding{UserID: w.users["target"].ID, Scope: store.ScopeCluster, ScopeID: 7, Role: "viewer"}))
	require.Equal(t, access.None, role())
	w.auth.Forget(w.users["target"].ID)
	require.Equal(t, access.Viewer, role())
}
