package database

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/store"
)

func TestRoleBindings(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, _ *DB, s store.Store) {
		ctx := t.Context()
		users := map[string]*store.User{}
		for _, name := range []string{"ann", "ben", "cat"} {
			u := &store.User{Username: name}
			require.NoError(t, s.Users.Create(ctx, u))
			users[name] = u
		}
		bind := func(user, scope string, scopeID int64, role string) store.RoleBinding {
			b := store.RoleBinding{UserID: users[user].ID, Scope: scope, ScopeID: scopeID, Role: role, CreatedBy: 1}
			require.NoError(t, s.RoleBindings.Create(ctx, &b))
			b.Username = user
			return b
		}
		all := []store.RoleBinding{
			bind("ann", store.ScopePlatform, 0, store.RoleAdmin),
			bind("ann", store.ScopeCluster, 1, store.RoleViewer),
			bind("ben", store.ScopeCluster, 1, store.RoleEditor),
			bind("ben", store.ScopeCluster, 2, store.RoleAdmin),
			bind("cat", store.ScopeWorkspace, 1, store.RoleViewer),
			bind("cat", store.ScopeCluster, 1, store.RoleAdmin),
		}
		pick := func(idx ...int) []store.RoleBinding {
			out := []store.RoleBinding{}
			for _, i := range idx {
				out = append(out, all[i])
			}
			return out
		}

		t.Run("get fills the username", func(t *testing.T) {
			got, err := s.RoleBindings.Get(ctx, all[2].ID)
			require.NoError(t, err)
			require.Equal(t, &all[2], got)
			_, err = s.RoleBindings.Get(ctx, 9999)
			requireKind(t, err, errs.NotFound, "role binding 9999 not found")
		})
		t.Run("one binding per user and scope object", func(t *testing.T) {
			err := s.RoleBindings.Create(ctx, &store.RoleBinding{UserID: users["ben"].ID, Scope: store.ScopeCluster, ScopeID: 1, Role: store.RoleAdmin})
			requireKind(t, err, errs.Conflict, "role binding of user 2 on cluster 1 already exists")
		})
		t.Run("list by user", func(t *testing.T) {
			got, err := s.RoleBindings.ListByUser(ctx, users["ben"].ID)
			require.NoError(t, err)
			require.Equal(t, pick(2, 3), got)
			got, err = s.RoleBindings.ListByUser(ctx, 9999)
			require.NoError(t, err)
			require.Empty(t, got)
		})
		t.Run("list filters, search and sort", func(t *testing.T) {
			one, ann := int64(1), users["ann"].ID
			for _, tc := range []struct {
				name   string
				filter store.RoleBindingFilter
				opts   store.ListOptions
				want   []store.RoleBinding
			}{
				{"all", store.RoleBindingFilter{}, store.ListOptions{Limit: 2}, all},
				{"scope", store.RoleBindingFilter{Scope: store.ScopeCluster}, store.ListOptions{Limit: 2}, pick(1, 2, 3, 5)},
				{"scope and id", store.RoleBindingFilter{Scope: store.ScopeCluster, ScopeID: &one}, store.ListOptions{Limit: 2}, pick(1, 2, 5)},
				{"scope id alone is ignored", store.RoleBindingFilter{ScopeID: &one}, store.ListOptions{}, all},
				{"user", store.RoleBindingFilter{UserID: &ann}, store.ListOptions{}, pick(0, 1)},
				{"query username", store.RoleBindingFilter{}, store.ListOptions{Query: "BE"}, pick(2, 3)},
				{"query role", store.RoleBindingFilter{Scope: store.ScopeCluster}, store.ListOptions{Query: "admin"}, pick(3, 5)},
				{"newest first", store.RoleBindingFilter{}, store.ListOptions{Sort: "-created_at", Limit: 4}, pick(5, 4, 3, 2, 1, 0)},
				{"id descending", store.RoleBindingFilter{}, store.ListOptions{Sort: "-id", Limit: 5}, pick(5, 4, 3, 2, 1, 0)},
			} {
				t.Run(tc.name, func(t *testing.T) {
					got, total := collect(t, tc.opts, func(o store.ListOptions) (store.Page[store.RoleBinding], error) {
						return s.RoleBindings.List(ctx, tc.filter, o)
					})
					require.EqualValues(t, len(tc.want), total)
					require.Equal(t, tc.want, got)
				})
			}
			_, err := s.RoleBindings.List(ctx, store.RoleBindingFilter{}, store.ListOptions{Sort: "role"})
			requireKind(t, err, errs.Invalid, `invalid sort "role": role bindings can be sorted by created_at, id (prefix "-" for descending)`)
		})
		t.Run("deletes", func(t *testing.T) {
			require.NoError(t, s.RoleBindings.Delete(ctx, all[0].ID))
			requireKind(t, s.RoleBindings.Delete(ctx, all[0].ID), errs.NotFound, "")
			require.NoError(t, s.RoleBindings.DeleteByScope(ctx, store.ScopeCluster, 1))
			got, err := collectBindings(t, s)
			require.NoError(t, err)
			require.Equal(t, pick(3, 4), got)
			require.NoError(t, s.RoleBindings.DeleteByUser(ctx, users["cat"].ID))
			// A binding whose user is gone still lists, without a name.
			require.NoError(t, s.Users.Delete(ctx, users["ben"].ID))
			got, err = collectBindings(t, s)
			require.NoError(t, err)
			want := pick(3)
			want[0].Username = ""
			require.Equal(t, want, got)
		})
	})
}

func collectBindings(t *testing.T, s store.Store) ([]store.RoleBinding, error) {
	page, err := s.RoleBindings.List(t.Context(), store.RoleBindingFilter{}, store.ListOptions{})
	return page.Items, err
}
