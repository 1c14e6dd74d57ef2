package database

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/store"
)

func TestSecrets(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, _ *DB, s store.Store) {
		ctx := t.Context()
		sealed := []byte{0, 1, 2, 0xff, 0, 'x'} // binary, with NULs
		git := &store.Secret{Name: "git", Description: "GitHub deploy key", Type: store.SecretSSHKey, PrivateKeySealed: sealed}
		require.NoError(t, s.Secrets.Create(ctx, git))
		t.Run("get round-trips sealed bytes", func(t *testing.T) {
			got, err := s.Secrets.Get(ctx, git.ID)
			require.NoError(t, err)
			require.Equal(t, git, got)
			require.Equal(t, sealed, got.PrivateKeySealed)
			require.Nil(t, got.PasswordSealed)
			_, err = s.Secrets.Get(ctx, 777)
			requireKind(t, err, errs.NotFound, "secret 777 not found")
		})
		t.Run("conflict on name", func(t *testing.T) {
			requireKind(t, s.Secrets.Create(ctx, &store.Secret{Name: "git", Type: store.SecretToken}), errs.Conflict, `secret "git" already exists`)
			other := &store.Secret{Name: "other", Type: store.SecretToken}
			require.NoError(t, s.Secrets.Create(ctx, other))
			other.Name = "git"
			requireKind(t, s.Secrets.Update(ctx, other), errs.Conflict, `secret "git" already exists`)
			require.NoError(t, s.Secrets.Delete(ctx, other.ID))
		})
		t.Run("update", func(t *testing.T) {
			u := *git
			u.Type, u.PrivateKeySealed, u.TokenSealed, u.Description = store.SecretToken, nil, []byte("tok"), ""
			require.NoError(t, s.Secrets.Update(ctx, &u))
			got, err := s.Secrets.Get(ctx, git.ID)
			require.NoError(t, err)
			require.Equal(t, &u, got)
			requireKind(t, s.Secrets.Update(ctx, &store.Secret{ID: 777, Name: "n"}), errs.NotFound, "secret 777 not found")
		})
		t.Run("list", func(t *testing.T) {
			for _, n := range []string{"b-docker", "a-ssh", "C-token", "d_x"} {
				require.NoError(t, s.Secrets.Create(ctx, &store.Secret{Name: n, Type: store.SecretToken, Description: "for " + n}))
			}
			names := func(o store.ListOptions) []string {
				got, _ := collect(t, o, func(o store.ListOptions) (store.Page[store.Secret], error) { return s.Secrets.List(ctx, o) })
				out := []string{}
				for _, s := range got {
					out = append(out, s.Name)
				}
				return out
			}
			require.Equal(t, []string{"C-token", "a-ssh", "b-docker", "d_x", "git"}, names(store.ListOptions{Sort: "name", Limit: 2}))
			require.Equal(t, []string{"d_x", "C-token", "a-ssh", "b-docker", "git"}, names(store.ListOptions{Sort: "-id", Limit: 3}))
			require.Equal(t, []string{"git", "b-docker", "a-ssh", "C-token", "d_x"}, names(store.ListOptions{Sort: "created_at"}))
			require.Equal(t, []string{"C-token"}, names(store.ListOptions{Query: "for c"}))
			require.Equal(t, []string{"d_x"}, names(store.ListOptions{Query: "_"}))
			require.Equal(t, []string{"git"}, names(store.ListOptions{Query: "GIT"}))
			_, err := s.Secrets.List(ctx, store.ListOptions{Sort: "type"})
			requireKind(t, err, errs.Invalid, `invalid sort "type": secrets can be sorted by created_at, id, name (prefix "-" for descending)`)
		})
		t.Run("delete", func(t *testing.T) {
			require.NoError(t, s.Secrets.Delete(ctx, git.ID))
			requireKind(t, s.Secrets.Delete(ctx, git.ID), errs.NotFound, "")
		})
	})
}

func TestImageRegistries(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, _ *DB, s store.Store) {
		ctx := t.Context()
		hub := &store.ImageRegistry{Registry: "docker.io", Username: "ci", PasswordSealed: []byte{9, 0, 9}, Insecure: false}
		require.NoError(t, s.Registries.Create(ctx, hub))
		got, err := s.Registries.Get(ctx, hub.ID)
		require.NoError(t, err)
		require.Equal(t, hub, got)
		_, err = s.Registries.Get(ctx, 5)
		requireKind(t, err, errs.NotFound, "image registry 5 not found")
		requireKind(t, s.Registries.Create(ctx, &store.ImageRegistry{Registry: "docker.io"}), errs.Conflict, `image registry "docker.io" already exists`)

		local := &store.ImageRegistry{Registry: "registry.local:5000", Insecure: true}
		require.NoError(t, s.Registries.Create(ctx, local))
		local.Username, local.Insecure = "admin", false
		require.NoError(t, s.Registries.Update(ctx, local))
		got, err = s.Registries.Get(ctx, local.ID)
		require.NoError(t, err)
		require.Equal(t, local, got)
		local.Registry = "docker.io"
		requireKind(t, s.Registries.Update(ctx, local), errs.Conflict, `image registry "docker.io" already exists`)
		requireKind(t, s.Registries.Update(ctx, &store.ImageRegistry{ID: 5}), errs.NotFound, "image registry 5 not found")

		page, err := s.Registries.List(ctx, store.ListOptions{Sort: "-registry", Limit: 1})
		require.NoError(t, err)
		require.EqualValues(t, 2, page.Total)
		require.Equal(t, "registry.local:5000", page.Items[0].Registry)
		page, err = s.Registries.List(ctx, store.ListOptions{Sort: "-registry", Limit: 1, Continue: page.Continue})
		require.NoError(t, err)
		require.Equal(t, "docker.io", page.Items[0].Registry)
		require.Empty(t, page.Continue)
		page, err = s.Registries.List(ctx, store.ListOptions{Query: "ADMIN"})
		require.NoError(t, err)
		require.Len(t, page.Items, 1)
		_, err = s.Registries.List(ctx, store.ListOptions{Sort: "username"})
		requireKind(t, err, errs.Invalid, `invalid sort "username": image registries can be sorted by created_at, id, registry (prefix "-" for descending)`)

		require.NoError(t, s.Registries.Delete(ctx, hub.ID))
		requireKind(t, s.Registries.Delete(ctx, hub.ID), errs.NotFound, "")
	})
}
