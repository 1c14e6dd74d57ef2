package cluster_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/cluster"
	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/secretbox"
	"github.com/kubespace/kubespace/pkg/store"
	"github.com/kubespace/kubespace/pkg/store/database"
)

// workspaces is a dependent as the workspaces package will be: it holds rows bound to clusters.
type workspaces struct {
	mu       sync.Mutex
	byID     map[int64][]string
	released []int64
	failWith error
}

func (w *workspaces) InUse(_ context.Context, id int64) ([]string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.byID[id], nil
}

func (w *workspaces) Release(_ context.Context, id int64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failWith != nil {
		return w.failWith
	}
	w.released = append(w.released, id)
	delete(w.byID, id)
	return nil
}

type recorder struct {
	mu    sync.Mutex
	users []int64
}

func (r *recorder) Changed(_ context.Context, ids ...int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.users = append(r.users, ids...)
}

func TestDeleteRespectsDependentsAndRemovesBindingsAndTokens(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open(ctx, database.Config{SQLitePath: filepath.Join(t.TempDir(), "c.db")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	require.NoError(t, db.Migrate(ctx))
	st := db.Store()
	box, err := secretbox.New(make([]byte, 32))
	require.NoError(t, err)
	notes := &recorder{}
	svc := cluster.New(cluster.Deps{Store: st, Box: box, Notifier: notes, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ws := &workspaces{byID: map[int64][]string{}}
	svc.OnDelete(ws)

	u := &store.User{Username: "bob"}
	require.NoError(t, st.Users.Create(ctx, u))
	newCluster := func(name string) *cluster.View {
		c, err := svc.Create(ctx, cluster.CreateInput{Name: name})
		require.NoError(t, err)
		require.NoError(t, st.RoleBindings.Create(ctx, &store.RoleBinding{UserID: u.ID, Scope: store.ScopeCluster, ScopeID: c.ID, Role: store.RoleAdmin}))
		require.NoError(t, st.Tokens.Create(ctx, &store.APIToken{UserID: u.ID, Name: "kubeconfig", TokenHash: name, ClusterID: c.ID}))
		return c
	}
	bindings := func(id int64) int64 {
		p, err := st.RoleBindings.List(ctx, store.RoleBindingFilter{Scope: store.ScopeCluster, ScopeID: &id}, store.ListOptions{})
		require.NoError(t, err)
		return p.Total
	}

	prod := newCluster("prod")
	ws.byID[prod.ID] = []string{`workspace "shop"`, `workspace "blog"`}
	_, err = svc.Delete(ctx, prod.ID, false)
	require.True(t, errs.Is(err, errs.Conflict), "%v", err)
	require.Contains(t, err.Error(), `workspace "shop", workspace "blog"`)
	_, err = svc.Get(ctx, prod.ID)
	require.NoError(t, err, "a refused deletion leaves the cluster")
	require.EqualValues(t, 1, bindings(prod.ID))

	// A dependent that cannot be released rolls the whole deletion back.
	ws.failWith = errors.New("workspace namespace is terminating")
	_, err = svc.Delete(ctx, prod.ID, true)
	require.Error(t, err)
	_, err = svc.Get(ctx, prod.ID)
	require.NoError(t, err)
	require.EqualValues(t, 1, bindings(prod.ID))
	_, err = st.Tokens.GetByHash(ctx, "prod")
	require.NoError(t, err)

	ws.failWith = nil
	_, err = svc.Delete(ctx, prod.ID, true)
	require.NoError(t, err)
	require.Equal(t, []int64{prod.ID}, ws.released)
	_, err = svc.Get(ctx, prod.ID)
	require.True(t, errs.Is(err, errs.NotFound), "%v", err)
	require.EqualValues(t, 0, bindings(prod.ID), "no binding outlives its cluster")
	_, err = st.Tokens.GetByHash(ctx, "prod")
	require.True(t, errs.Is(err, errs.NotFound), "the cluster's minted tokens go with it")
	require.Contains(t, notes.users, int64(0), "every cache is told")

	// Without dependents no force is needed.
	dev := newCluster("dev")
	_, err = svc.Delete(ctx, dev.ID, false)
	require.NoError(t, err)
	require.EqualValues(t, 0, bindings(dev.ID))
}
