package database

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/store"
)

func TestTransactions(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *DB, s store.Store) {
		ctx := t.Context()
		boom := errors.New("boom")
		exists := func(t *testing.T, name string) bool {
			t.Helper()
			_, err := s.Users.GetByUsername(ctx, name)
			if errs.Is(err, errs.NotFound) {
				return false
			}
			require.NoError(t, err)
			return true
		}
		t.Run("commit keeps every write", func(t *testing.T) {
			err := s.Tx.WithTx(ctx, func(ctx context.Context) error {
				if err := s.Users.Create(ctx, &store.User{Username: "c1"}); err != nil {
					return err
				}
				if err := s.Secrets.Create(ctx, &store.Secret{Name: "c1", Type: store.SecretToken}); err != nil {
					return err
				}
				// The transaction sees its own writes.
				_, err := s.Users.GetByUsername(ctx, "c1")
				return err
			})
			require.NoError(t, err)
			require.True(t, exists(t, "c1"))
			page, err := s.Secrets.List(ctx, store.ListOptions{Query: "c1"})
			require.NoError(t, err)
			require.EqualValues(t, 1, page.Total)
		})
		t.Run("error rolls back every write", func(t *testing.T) {
			err := s.Tx.WithTx(ctx, func(ctx context.Context) error {
				require.NoError(t, s.Users.Create(ctx, &store.User{Username: "r1"}))
				require.NoError(t, s.Secrets.Create(ctx, &store.Secret{Name: "r1", Type: store.SecretToken}))
				return boom
			})
			require.ErrorIs(t, err, boom)
			require.False(t, exists(t, "r1"))
			page, err := s.Secrets.List(ctx, store.ListOptions{Query: "r1"})
			require.NoError(t, err)
			require.Zero(t, page.Total)
		})
		t.Run("a store error inside keeps its kind", func(t *testing.T) {
			err := s.Tx.WithTx(ctx, func(ctx context.Context) error {
				require.NoError(t, s.Users.Create(ctx, &store.User{Username: "r2"}))
				return s.Users.Create(ctx, &store.User{Username: "c1"})
			})
			requireKind(t, err, errs.Conflict, `user "c1" already exists`)
			require.False(t, exists(t, "r2"))
		})
		t.Run("panic rolls back and propagates", func(t *testing.T) {
			require.Panics(t, func() {
				_ = s.Tx.WithTx(ctx, func(ctx context.Context) error {
					require.NoError(t, s.Users.Create(ctx, &store.User{Username: "p1"}))
					panic("oops")
				})
			})
			require.False(t, exists(t, "p1"))
		})
		t.Run("nested calls join the outer transaction", func(t *testing.T) {
			err := s.Tx.WithTx(ctx, func(ctx context.Context) error {
				err := s.Tx.WithTx(ctx, func(ctx context.Context) error {
					return s.Users.Create(ctx, &store.User{Username: "n1"})
				})
				if err != nil {
					return err
				}
				return boom // the outer decides: the inner write goes too
			})
			require.ErrorIs(t, err, boom)
			require.False(t, exists(t, "n1"))

			err = s.Tx.WithTx(ctx, func(ctx context.Context) error {
				_ = s.Tx.WithTx(ctx, func(ctx context.Context) error {
					return s.Users.Create(ctx, &store.User{Username: "n2"})
				})
				return s.Users.Create(ctx, &store.User{Username: "n3"})
			})
			require.NoError(t, err)
			require.True(t, exists(t, "n2"))
			require.True(t, exists(t, "n3"))
		})
		t.Run("a context without the transaction is outside it", func(t *testing.T) {
			require.False(t, db.inTx(ctx))
			require.NoError(t, s.Tx.WithTx(ctx, func(txCtx context.Context) error {
				require.True(t, db.inTx(txCtx))
				derived, cancel := context.WithCancel(txCtx)
				defer cancel()
				require.True(t, db.inTx(derived), "derived contexts carry the transaction")
				return nil
			}))
		})
		t.Run("ping", func(t *testing.T) {
			require.NoError(t, s.Ping(ctx))
		})
	})
}
