package database

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/store"
)

func TestSessions(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, _ *DB, s store.Store) {
		ctx := t.Context()
		now := time.Now()
		mk := func(user int64, hash string, expires time.Time) *store.Session {
			sess := &store.Session{UserID: user, TokenHash: hash, IP: "10.0.0.1", UserAgent: "curl", ExpiresAt: expires, LastSeenAt: now}
			require.NoError(t, s.Sessions.Create(ctx, sess))
			return sess
		}
		live := mk(1, "h-live", now.Add(time.Hour))
		t.Run("get by hash", func(t *testing.T) {
			got, err := s.Sessions.GetByHash(ctx, "h-live")
			require.NoError(t, err)
			require.Equal(t, live, got)
			_, err = s.Sessions.GetByHash(ctx, "h-missing")
			requireKind(t, err, errs.NotFound, "session not found")
		})
		t.Run("duplicate hash never quotes the hash", func(t *testing.T) {
			err := s.Sessions.Create(ctx, &store.Session{UserID: 2, TokenHash: "h-live", ExpiresAt: now, LastSeenAt: now})
			requireKind(t, err, errs.Conflict, "session already exists")
			require.NotContains(t, err.Error(), "h-live")
		})
		t.Run("touch", func(t *testing.T) {
			at := now.Add(5 * time.Minute)
			require.NoError(t, s.Sessions.Touch(ctx, live.ID, at))
			got, err := s.Sessions.GetByHash(ctx, "h-live")
			require.NoError(t, err)
			require.Equal(t, normTime(at), got.LastSeenAt)
			require.NoError(t, s.Sessions.Touch(ctx, live.ID, at), "touching with the same time finds the row")
			requireKind(t, s.Sessions.Touch(ctx, 99999, at), errs.NotFound, fmt.Sprintf("session %d not found", 99999))
		})
		t.Run("delete expired", func(t *testing.T) {
			mk(1, "h-old1", now.Add(-time.Hour))
			mk(2, "h-old2", now.Add(-time.Second))
			mk(2, "h-edge", now) // expires exactly now: expired
			n, err := s.Sessions.DeleteExpired(ctx, now)
			require.NoError(t, err)
			require.EqualValues(t, 3, n)
			_, err = s.Sessions.GetByHash(ctx, "h-live")
			require.NoError(t, err)
			_, err = s.Sessions.GetByHash(ctx, "h-old1")
			requireKind(t, err, errs.NotFound, "")
		})
		t.Run("delete and delete by user", func(t *testing.T) {
			a := mk(3, "h-a", now.Add(time.Hour))
			mk(3, "h-b", now.Add(time.Hour))
			require.NoError(t, s.Sessions.Delete(ctx, a.ID))
			requireKind(t, s.Sessions.Delete(ctx, a.ID), errs.NotFound, fmt.Sprintf("session %d not found", a.ID))
			require.NoError(t, s.Sessions.DeleteByUser(ctx, 3))
			require.NoError(t, s.Sessions.DeleteByUser(ctx, 3), "nothing left to delete is fine")
			_, err := s.Sessions.GetByHash(ctx, "h-b")
			requireKind(t, err, errs.NotFound, "")
			_, err = s.Sessions.GetByHash(ctx, "h-live")
			require.NoError(t, err, "another user's session stays")
		})
	})
}

func TestTokens(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, _ *DB, s store.Store) {
		ctx := t.Context()
		var mine []store.APIToken
		for i, name := range []string{"ci", "deploy", "Backup", "kubectl", "ci-2", "laptop", "zz_last"} {
			tok := store.APIToken{UserID: 1, Name: name, TokenHash: fmt.Sprintf("hash-%d", i), Prefix: fmt.Sprintf("ks_%d", i)}
			if i%2 == 0 {
				at := time.Date(2025, 3, 1, 0, 0, i%3, 0, time.UTC)
				tok.LastUsedAt = &at
			}
			require.NoError(t, s.Tokens.Create(ctx, &tok))
			mine = append(mine, tok)
		}
		other := &store.APIToken{UserID: 2, Name: "ci", TokenHash: "hash-other"}
		require.NoError(t, s.Tokens.Create(ctx, other))

		t.Run("get", func(t *testing.T) {
			got, err := s.Tokens.Get(ctx, mine[0].ID)
			require.NoError(t, err)
			require.Equal(t, &mine[0], got)
			got, err = s.Tokens.GetByHash(ctx, "hash-1")
			require.NoError(t, err)
			require.Equal(t, &mine[1], got)
			_, err = s.Tokens.Get(ctx, 9999)
			requireKind(t, err, errs.NotFound, "api token 9999 not found")
			_, err = s.Tokens.GetByHash(ctx, "nope")
			requireKind(t, err, errs.NotFound, "api token not found")
			err = s.Tokens.Create(ctx, &store.APIToken{UserID: 3, Name: "x", TokenHash: "hash-1"})
			requireKind(t, err, errs.Conflict, "api token already exists")
		})
		t.Run("list by user pages in every sort", func(t *testing.T) {
			key := func(tk store.APIToken) store.User { // reuse the user ordering helper
				return store.User{ID: tk.ID, Username: tk.Name, CreatedAt: tk.CreatedAt, LastLoginAt: tk.LastUsedAt}
			}
			var asUsers []store.User
			for _, tk := range mine {
				asUsers = append(asUsers, key(tk))
			}
			for sort, userSort := range map[string]string{"": "", "name": "username", "-name": "-username",
				"created_at": "created_at", "-last_used_at": "-last_login_at", "last_used_at": "last_login_at", "-id": "-id"} {
				got, total := collect(t, store.ListOptions{Sort: sort, Limit: 3}, func(o store.ListOptions) (store.Page[store.APIToken], error) {
					return s.Tokens.ListByUser(ctx, 1, o)
				})
				require.EqualValues(t, len(mine), total)
				var gotIDs []int64
				for _, tk := range got {
					gotIDs = append(gotIDs, tk.ID)
				}
				require.Equal(t, ids(expectUsers(asUsers, userSort)), gotIDs, "sort %q", sort)
			}
			page, err := s.Tokens.ListByUser(ctx, 1, store.ListOptions{Query: "CI"})
			require.NoError(t, err)
			require.EqualValues(t, 2, page.Total)
			page, err = s.Tokens.ListByUser(ctx, 1, store.ListOptions{Query: "ks_3"})
			require.NoError(t, err)
			require.Len(t, page.Items, 1)
			require.Equal(t, "kubectl", page.Items[0].Name)
			_, err = s.Tokens.ListByUser(ctx, 1, store.ListOptions{Sort: "token_hash"})
			requireKind(t, err, errs.Invalid, "")
		})
		t.Run("touch, delete, delete by user", func(t *testing.T) {
			at := time.Now()
			require.NoError(t, s.Tokens.Touch(ctx, mine[1].ID, at))
			got, err := s.Tokens.Get(ctx, mine[1].ID)
			require.NoError(t, err)
			require.Equal(t, normTime(at), *got.LastUsedAt)
			requireKind(t, s.Tokens.Touch(ctx, 9999, at), errs.NotFound, "api token 9999 not found")
			require.NoError(t, s.Tokens.Delete(ctx, mine[1].ID))
			requireKind(t, s.Tokens.Delete(ctx, mine[1].ID), errs.NotFound, "")
			require.NoError(t, s.Tokens.DeleteByUser(ctx, 1))
			page, err := s.Tokens.ListByUser(ctx, 1, store.ListOptions{})
			require.NoError(t, err)
			require.Zero(t, page.Total)
			require.Empty(t, page.Items)
			_, err = s.Tokens.Get(ctx, other.ID)
			require.NoError(t, err)
		})
	})
}
