package database

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/store"
)

func TestUserSearch(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, _ *DB, s store.Store) {
		ctx := t.Context()
		for _, u := range []store.User{
			{Username: "zed", DisplayName: "Zed Ö", Email: "zed@corp.example"},
			{Username: "alice", DisplayName: "Alice Smith", Email: "alice@corp.example"},
			{Username: "bob", DisplayName: "", Email: "bob@other.example"},
			{Username: "bob_2", DisplayName: "Robert 100%"},
		} {
			require.NoError(t, s.Users.Create(ctx, &u))
		}
		names := func(query string, limit int) []string {
			t.Helper()
			us, err := s.Users.Search(ctx, query, limit)
			require.NoError(t, err)
			out := []string{}
			for _, u := range us {
				out = append(out, u.Username)
			}
			return out
		}
		for _, tc := range []struct {
			query string
			limit int
			want  []string
		}{
			{"", 10, []string{"alice", "bob", "bob_2", "zed"}},
			{"", 2, []string{"alice", "bob"}},
			{"BOB", 10, []string{"bob", "bob_2"}},
			{"smith", 10, []string{"alice"}},
			{"100%", 10, []string{"bob_2"}},
			{"b_", 10, []string{"bob_2"}},    // wildcards match literally
			{"corp.example", 10, []string{}}, // never by email
			{"@", 10, []string{}},
		} {
			require.Equal(t, tc.want, names(tc.query, tc.limit), "query %q limit %d", tc.query, tc.limit)
		}
		for _, limit := range []int{0, -1, 1001} {
			_, err := s.Users.Search(ctx, "", limit)
			requireKind(t, err, errs.Invalid, "")
		}
	})
}
