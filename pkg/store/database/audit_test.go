package database

import (
	"cmp"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/store"
)

func TestAuditEvents(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, _ *DB, s store.Store) {
		ctx := t.Context()
		t0 := time.Date(2025, 5, 1, 10, 0, 0, 0, time.FixedZone("X", -5*3600))
		var all []store.AuditEvent
		add := func(minutes int, user, action, rtype, result, scope string, scopeID int64, name, summary string) {
			e := store.AuditEvent{Time: t0.Add(time.Duration(minutes) * time.Minute), Username: user, Action: action,
				ResourceType: rtype, Result: result, Scope: scope, ScopeID: scopeID, ResourceName: name, Summary: summary,
				Method: "POST", Path: "/api/v1/x", StatusCode: 200}
			require.NoError(t, s.Audit.Create(ctx, &e))
			all = append(all, e)
		}
		add(0, "alice", "login", "session", store.ResultSuccess, store.ScopePlatform, 0, "", "alice signed in")
		add(1, "bob", "login", "session", store.ResultFailure, store.ScopePlatform, 0, "", "bad password")
		add(2, "alice", "create", "cluster", store.ResultSuccess, store.ScopeCluster, 7, "prod", "imported cluster prod")
		add(2, "alice", "update", "cluster", store.ResultSuccess, store.ScopeCluster, 7, "prod", "renamed 50% of nodes")
		add(3, "bob", "delete", "secret", store.ResultFailure, store.ScopeCluster, 8, "git_key", "denied")
		add(5, "carol", "create", "secret", store.ResultSuccess, store.ScopePlatform, 0, "registry-cred", "created")
		add(9, "alice", "delete", "cluster", store.ResultSuccess, store.ScopeCluster, 8, "dev", "removed dev")

		byTime := func(desc bool) []store.AuditEvent {
			out := slices.Clone(all)
			slices.SortStableFunc(out, func(a, b store.AuditEvent) int {
				c := cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.ID, b.ID))
				if desc {
					return -c
				}
				return c
			})
			return out
		}
		pick := func(idx ...int) []store.AuditEvent {
			out := []store.AuditEvent{}
			for _, i := range idx {
				out = append(out, all[i])
			}
			return out
		}
		at := func(minutes int) *time.Time { v := t0.Add(time.Duration(minutes) * time.Minute); return &v }
		seven := int64(7)

		require.Equal(t, time.UTC, all[0].Time.Location())
		for _, tc := range []struct {
			name   string
			filter store.AuditFilter
			opts   store.ListOptions
			want   []store.AuditEvent
		}{
			{"default newest first", store.AuditFilter{}, store.ListOptions{Limit: 2}, byTime(true)},
			{"oldest first", store.AuditFilter{}, store.ListOptions{Sort: "time", Limit: 3}, byTime(false)},
			{"by id", store.AuditFilter{}, store.ListOptions{Sort: "id", Limit: 4}, all},
			{"username", store.AuditFilter{Username: "bob"}, store.ListOptions{Sort: "id"}, pick(1, 4)},
			{"action", store.AuditFilter{Action: "create"}, store.ListOptions{Sort: "id"}, pick(2, 5)},
			{"resource type", store.AuditFilter{ResourceType: "cluster"}, store.ListOptions{Sort: "id", Limit: 1}, pick(2, 3, 6)},
			{"result", store.AuditFilter{Result: store.ResultFailure}, store.ListOptions{Sort: "id"}, pick(1, 4)},
			{"scope", store.AuditFilter{Scope: store.ScopeCluster}, store.ListOptions{Sort: "id"}, pick(2, 3, 4, 6)},
			{"scope and id", store.AuditFilter{Scope: store.ScopeCluster, ScopeID: &seven}, store.ListOptions{Sort: "id"}, pick(2, 3)},
			{"since inclusive", store.AuditFilter{Since: at(3)}, store.ListOptions{Sort: "id"}, pick(4, 5, 6)},
			{"until exclusive", store.AuditFilter{Until: at(2)}, store.ListOptions{Sort: "id"}, pick(0, 1)},
			{"window", store.AuditFilter{Since: at(1), Until: at(5)}, store.ListOptions{Sort: "-time", Limit: 1}, pick(4, 3, 2, 1)},
			{"combined", store.AuditFilter{Username: "alice", ResourceType: "cluster", Since: at(2)}, store.ListOptions{Sort: "id"}, pick(2, 3, 6)},
			{"query summary", store.AuditFilter{}, store.ListOptions{Query: "IMPORTED", Sort: "id"}, pick(2)},
			{"query summary or name", store.AuditFilter{}, store.ListOptions{Query: "prod", Sort: "id"}, pick(2, 3)},
			{"query resource name", store.AuditFilter{}, store.ListOptions{Query: "git_", Sort: "id"}, pick(4)},
			{"query wildcard is literal", store.AuditFilter{}, store.ListOptions{Query: "50%", Sort: "id"}, pick(3)},
			{"no match", store.AuditFilter{Username: "mallory"}, store.ListOptions{}, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, total := collect(t, tc.opts, func(o store.ListOptions) (store.Page[store.AuditEvent], error) {
					return s.Audit.List(ctx, tc.filter, o)
				})
				require.EqualValues(t, len(tc.want), total)
				if len(tc.want) == 0 {
					require.Empty(t, got)
					return
				}
				require.Equal(t, tc.want, got)
			})
		}
		t.Run("invalid sort", func(t *testing.T) {
			_, err := s.Audit.List(ctx, store.AuditFilter{}, store.ListOptions{Sort: "username"})
			requireKind(t, err, errs.Invalid, `invalid sort "username": audit events can be sorted by id, time (prefix "-" for descending)`)
		})
		t.Run("delete before", func(t *testing.T) {
			n, err := s.Audit.DeleteBefore(ctx, *at(2))
			require.NoError(t, err)
			require.EqualValues(t, 2, n)
			got, total := collect(t, store.ListOptions{Sort: "id"}, func(o store.ListOptions) (store.Page[store.AuditEvent], error) {
				return s.Audit.List(ctx, store.AuditFilter{}, o)
			})
			require.EqualValues(t, 5, total)
			require.Equal(t, pick(2, 3, 4, 5, 6), got)
		})
		t.Run("zero time means now", func(t *testing.T) {
			e := store.AuditEvent{Action: "noop"}
			require.NoError(t, s.Audit.Create(ctx, &e))
			require.WithinDuration(t, time.Now(), e.Time, time.Minute)
		})
	})
}
