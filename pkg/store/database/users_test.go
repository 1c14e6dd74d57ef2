package database

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/store"
)

func TestUsers(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, _ *DB, s store.Store) {
		ctx := t.Context()
		users := s.Users
		berlin := time.FixedZone("CEST", 2*3600)
		login := time.Date(2025, 6, 1, 12, 30, 45, 123456789, berlin)

		alice := &store.User{Username: "alice", Email: "alice@example.com", PasswordHash: "$argon2id$x", LastLoginAt: &login}
		require.NoError(t, users.Create(ctx, alice))
		require.NotZero(t, alice.ID)

		t.Run("create fills defaults and normalises times", func(t *testing.T) {
			require.Equal(t, store.UserActive, alice.Status)
			require.Equal(t, store.SourceLocal, alice.Source)
			require.Equal(t, time.UTC, alice.CreatedAt.Location())
			require.Equal(t, login.UTC().Truncate(time.Microsecond), *alice.LastLoginAt)
		})
		t.Run("get returns what was written, in UTC", func(t *testing.T) {
			got, err := users.Get(ctx, alice.ID)
			require.NoError(t, err)
			require.Equal(t, alice, got)
			require.Equal(t, time.UTC, got.LastLoginAt.Location())
			byName, err := users.GetByUsername(ctx, "alice")
			require.NoError(t, err)
			require.Equal(t, alice, byName)
		})
		t.Run("not found", func(t *testing.T) {
			_, err := users.Get(ctx, 424242)
			requireKind(t, err, errs.NotFound, "user 424242 not found")
			_, err = users.GetByUsername(ctx, "nobody")
			requireKind(t, err, errs.NotFound, `user "nobody" not found`)
			_, err = users.GetByUsername(ctx, "ALICE") // binary comparison on both engines
			requireKind(t, err, errs.NotFound, "")
			requireKind(t, users.Update(ctx, &store.User{ID: 424242, Username: "x"}), errs.NotFound, "user 424242 not found")
			requireKind(t, users.Update(ctx, &store.User{Username: "x"}), errs.NotFound, "")
			requireKind(t, users.Delete(ctx, 424242), errs.NotFound, "user 424242 not found")
		})
		t.Run("conflict", func(t *testing.T) {
			err := users.Create(ctx, &store.User{Username: "alice"})
			requireKind(t, err, errs.Conflict, `user "alice" already exists`)
			bob := &store.User{Username: "bob"}
			require.NoError(t, users.Create(ctx, bob))
			bob.Username = "alice"
			requireKind(t, users.Update(ctx, bob), errs.Conflict, `user "alice" already exists`)
			require.NoError(t, users.Delete(ctx, bob.ID))
		})
		t.Run("update saves every field and keeps created_at", func(t *testing.T) {
			u := *alice
			u.Email, u.DisplayName, u.Status, u.IsSuper, u.LastLoginAt = "", "Alice A.", store.UserDisabled, true, nil
			u.CreatedAt = time.Time{}
			before := alice.UpdatedAt
			require.NoError(t, users.Update(ctx, &u))
			got, err := users.Get(ctx, alice.ID)
			require.NoError(t, err)
			require.Equal(t, "", got.Email)
			require.Equal(t, "Alice A.", got.DisplayName)
			require.Equal(t, store.UserDisabled, got.Status)
			require.True(t, got.IsSuper)
			require.Nil(t, got.LastLoginAt)
			require.Equal(t, alice.CreatedAt, got.CreatedAt)
			require.False(t, got.UpdatedAt.Before(before))
			require.Equal(t, u.UpdatedAt, got.UpdatedAt)
			// Saving unchanged values still finds the row.
			require.NoError(t, users.Update(ctx, got))
		})
		t.Run("counts", func(t *testing.T) {
			for _, u := range []*store.User{
				{Username: "root", IsSuper: true},
				{Username: "root2", IsSuper: true, Status: store.UserDisabled},
				{Username: "plain"},
			} {
				require.NoError(t, users.Create(ctx, u))
			}
			n, err := users.Count(ctx)
			require.NoError(t, err)
			require.EqualValues(t, 4, n)
			// alice is a disabled super after the update above.
			n, err = users.CountActiveSupers(ctx)
			require.NoError(t, err)
			require.EqualValues(t, 1, n)
			require.NoError(t, s.Tx.WithTx(ctx, func(ctx context.Context) error {
				n, err = users.CountActiveSupers(ctx)
				return err
			}))
			require.EqualValues(t, 1, n)
		})
		t.Run("delete", func(t *testing.T) {
			require.NoError(t, users.Delete(ctx, alice.ID))
			_, err := users.Get(ctx, alice.ID)
			requireKind(t, err, errs.NotFound, "")
			requireKind(t, users.Delete(ctx, alice.ID), errs.NotFound, "")
		})
	})
}

// TestCountActiveSupersLocks runs two "demote another super if more than one is left"
// transactions at once: with the rows locked, exactly one super stays active.
func TestCountActiveSupersLocks(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, _ *DB, s store.Store) {
		ctx := t.Context()
		a, b := &store.User{Username: "a", IsSuper: true}, &store.User{Username: "b", IsSuper: true}
		require.NoError(t, s.Users.Create(ctx, a))
		require.NoError(t, s.Users.Create(ctx, b))
		demote := func(victim *store.User) error {
			return s.Tx.WithTx(ctx, func(ctx context.Context) error {
				n, err := s.Users.CountActiveSupers(ctx)
				if err != nil || n <= 1 {
					return err
				}
				time.Sleep(30 * time.Millisecond) // widen the window a missing lock would open
				u, err := s.Users.Get(ctx, victim.ID)
				if err != nil {
					return err
				}
				u.Status = store.UserDisabled
				return s.Users.Update(ctx, u)
			})
		}
		errc := make(chan error, 2)
		go func() { errc <- demote(a) }()
		go func() { errc <- demote(b) }()
		require.NoError(t, <-errc)
		require.NoError(t, <-errc)
		n, err := s.Users.CountActiveSupers(ctx)
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
	})
}

func TestUserList(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, _ *DB, s store.Store) {
		ctx := t.Context()
		base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		var created []store.User
		names := []string{"alice", "Alicia", "bob", "carol", "dave", "eve", "mallory", "trent",
			"walter", "peggy", "victor", "oscar", "50%off", "under_score", `back\slash`, "bang!", "zed", "Zoe"}
		for i, name := range names {
			u := store.User{Username: name, Email: name + "@example.com", DisplayName: fmt.Sprintf("User %02d", i)}
			if i%3 != 0 { // a third never logged in: NULLs in the sort
				at := base.Add(time.Duration(i%5) * time.Hour) // and ties
				u.LastLoginAt = &at
			}
			require.NoError(t, s.Users.Create(ctx, &u))
			created = append(created, u)
		}
		fetch := func(opts store.ListOptions) (store.Page[store.User], error) { return s.Users.List(ctx, opts) }

		t.Run("every sort pages through all rows in order", func(t *testing.T) {
			for _, sort := range []string{"", "id", "-id", "username", "-username", "created_at", "-created_at", "last_login_at", "-last_login_at"} {
				for _, limit := range []int{1, 4, 7, 100} {
					t.Run(fmt.Sprintf("%s/%d", sort, limit), func(t *testing.T) {
						got, total := collect(t, store.ListOptions{Sort: sort, Limit: limit}, fetch)
						require.EqualValues(t, len(names), total)
						require.Equal(t, ids(expectUsers(created, sort)), ids(got))
					})
				}
			}
		})
		t.Run("query searches username, email and display name case-insensitively", func(t *testing.T) {
			for _, tc := range []struct {
				query string
				want  []string
			}{
				{"ALI", []string{"alice", "Alicia"}},
				{"user 06", []string{"mallory"}},
				{"@EXAMPLE.COM", names},
				{"%", []string{"50%off"}},
				{"_", []string{"under_score"}},
				{`\`, []string{`back\slash`}},
				{"!", []string{"bang!"}},
				{"k\\s", []string{`back\slash`}},
				{"'; DROP TABLE users; --", nil},
				{`" OR 1=1 --`, nil},
				{"nobody", nil},
			} {
				t.Run(tc.query, func(t *testing.T) {
					got, total := collect(t, store.ListOptions{Query: tc.query, Limit: 5}, fetch)
					require.EqualValues(t, len(tc.want), total)
					require.ElementsMatch(t, tc.want, usernames(got))
				})
			}
			n, err := s.Users.Count(ctx)
			require.NoError(t, err)
			require.EqualValues(t, len(names), n, "users table intact")
		})
		t.Run("query combines with paging", func(t *testing.T) {
			got, total := collect(t, store.ListOptions{Query: "a", Sort: "-username", Limit: 2}, fetch)
			var want []store.User
			for _, u := range expectUsers(created, "-username") {
				if containsFold(u.Username+u.Email+u.DisplayName, "a") {
					want = append(want, u)
				}
			}
			require.EqualValues(t, len(want), total)
			require.Equal(t, ids(want), ids(got))
		})
		t.Run("default limit", func(t *testing.T) {
			page, err := s.Users.List(ctx, store.ListOptions{})
			require.NoError(t, err)
			require.Len(t, page.Items, len(names))
			require.Empty(t, page.Continue)
		})
		t.Run("invalid options", func(t *testing.T) {
			allowed := `users can be sorted by created_at, id, last_login_at, username (prefix "-" for descending)`
			for _, sort := range []string{"email", "password_hash", "-", "--id", "id desc", "id; DROP TABLE users; --", "username'", "+id", "ID"} {
				_, err := s.Users.List(ctx, store.ListOptions{Sort: sort})
				requireKind(t, err, errs.Invalid, fmt.Sprintf("invalid sort %q: %s", sort, allowed))
			}
			for _, limit := range []int{-1, 1001, 1 << 30} {
				_, err := s.Users.List(ctx, store.ListOptions{Limit: limit})
				requireKind(t, err, errs.Invalid, "limit must be between 1 and 1000")
			}
			_, err := s.Users.List(ctx, store.ListOptions{Limit: 1000})
			require.NoError(t, err)
			page, err := s.Users.List(ctx, store.ListOptions{Sort: "username", Limit: 2})
			require.NoError(t, err)
			require.NotEmpty(t, page.Continue)
			for _, tc := range []store.ListOptions{
				{Continue: "not base64 !!"},
				{Continue: "e30"},         // {}
				{Continue: page.Continue}, // made under another sort
				{Continue: page.Continue, Sort: "-username"},
				{Continue: page.Continue[:len(page.Continue)-3], Sort: "username"},
				{Continue: "eyJzIjoiaWQiLCJ2IjoiJzsgRFJPUCIsImlkIjoxfQ"}, // sort id with a string value
			} {
				_, err := s.Users.List(ctx, tc)
				requireKind(t, err, errs.Invalid, "invalid continue token")
			}
		})
	})
}

// expectUsers orders users as the database must: by the sort field, NULLs first ascending and
// last descending, ties by id in the same direction.
func expectUsers(users []store.User, sort string) []store.User {
	field, desc := strings.CutPrefix(sort, "-")
	out := slices.Clone(users)
	slices.SortStableFunc(out, func(a, b store.User) int {
		c := 0
		switch field {
		case "username":
			c = strings.Compare(a.Username, b.Username)
		case "created_at":
			c = a.CreatedAt.Compare(b.CreatedAt)
		case "last_login_at":
			c = compareTimePtr(a.LastLoginAt, b.LastLoginAt)
		}
		if c == 0 {
			c = cmp.Compare(a.ID, b.ID)
		}
		if desc {
			c = -c
		}
		return c
	})
	return out
}

// compareTimePtr orders nil (NULL) first.
func compareTimePtr(a, b *time.Time) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	return a.Compare(*b)
}

func ids(us []store.User) []int64 {
	out := make([]int64, len(us))
	for i, u := range us {
		out[i] = u.ID
	}
	return out
}

func usernames(us []store.User) []string {
	out := []string{}
	for _, u := range us {
		out = append(out, u.Username)
	}
	return out
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
