package settings_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/secretbox"
	"github.com/kubespace/kubespace/pkg/settings"
	"github.com/kubespace/kubespace/pkg/store"
	"github.com/kubespace/kubespace/pkg/store/database"
)

func newServices(t *testing.T) (*settings.Secrets, *settings.Registries, store.Store) {
	t.Helper()
	ctx := context.Background()
	db, err := database.Open(ctx, database.Config{SQLitePath: filepath.Join(t.TempDir(), "settings.db")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	require.NoError(t, db.Migrate(ctx))
	box, err := secretbox.New(bytes.Repeat([]byte{1}, secretbox.KeySize))
	require.NoError(t, err)
	st := db.Store()
	return settings.NewSecrets(st.Secrets, box), settings.NewRegistries(st.Registries, box), st
}

func ptr(s string) *string { return &s }

func TestSecretUpdatesKeepMaterial(t *testing.T) {
	t.Parallel()
	secrets, _, _ := newServices(t)
	ctx := context.Background()
	v, err := secrets.Create(ctx, settings.SecretInput{Name: ptr("git"), Type: ptr("password"), Username: ptr("ci"), Password: ptr("first-pw")})
	require.NoError(t, err)
	for _, in := range []settings.SecretInput{
		{Password: ptr("")},
		{Password: nil, Description: ptr("d")},
		{Token: ptr(""), PrivateKey: ptr("")},
	} {
		got, err := secrets.Update(ctx, v.ID, in)
		require.NoError(t, err)
		require.True(t, got.HasPassword)
		m, err := secrets.Open(ctx, v.ID)
		require.NoError(t, err)
		require.Equal(t, "first-pw", m.Password)
	}
	_, err = secrets.Update(ctx, v.ID, settings.SecretInput{Password: ptr("second-pw")})
	require.NoError(t, err)
	m, err := secrets.Open(ctx, v.ID)
	require.NoError(t, err)
	require.Equal(t, settings.SecretMaterial{Type: "password", Username: "ci", Password: "second-pw"}, *m)

	_, err = secrets.Update(ctx, 4242, settings.SecretInput{Description: ptr("x")})
	require.True(t, errs.Is(err, errs.NotFound), "%v", err)
	_, err = secrets.Open(ctx, 4242)
	require.True(t, errs.Is(err, errs.NotFound), "%v", err)
}

// TestSealedColumnsAreBound: a sealed value moved into another column does not open there.
func TestSealedColumnsAreBound(t *testing.T) {
	t.Parallel()
	secrets, registries, st := newServices(t)
	ctx := context.Background()
	v, err := secrets.Create(ctx, settings.SecretInput{Name: ptr("t"), Type: ptr("token"), Token: ptr("the-token")})
	require.NoError(t, err)
	raw, err := st.Secrets.Get(ctx, v.ID)
	require.NoError(t, err)
	raw.PasswordSealed = raw.TokenSealed
	require.NoError(t, st.Secrets.Update(ctx, raw))
	_, err = secrets.Open(ctx, v.ID)
	require.True(t, errs.Is(err, errs.Internal), "%v", err)
	require.NotContains(t, err.Error(), "the-token")

	r, err := registries.Create(ctx, settings.RegistryInput{Registry: ptr("r.example.com"), Password: ptr("reg-pw")})
	require.NoError(t, err)
	rr, err := st.Registries.Get(ctx, r.ID)
	require.NoError(t, err)
	require.NotContains(t, string(rr.PasswordSealed), "reg-pw")
	rr.PasswordSealed = raw.TokenSealed
	require.NoError(t, st.Registries.Update(ctx, rr))
	_, err = registries.Credentials(ctx, r.ID)
	require.True(t, errs.Is(err, errs.Internal), "%v", err)
}

func TestRegistryWithoutPassword(t *testing.T) {
	t.Parallel()
	_, registries, _ := newServices(t)
	ctx := context.Background()
	r, err := registries.Create(ctx, settings.RegistryInput{Registry: ptr("  docker.io  ")})
	require.NoError(t, err)
	require.Equal(t, "docker.io", r.Registry)
	require.False(t, r.HasPassword)
	c, err := registries.Credentials(ctx, r.ID)
	require.NoError(t, err)
	require.Equal(t, settings.RegistryCredentials{Registry: "docker.io"}, *c)
	_, err = registries.Create(ctx, settings.RegistryInput{Registry: ptr("docker.io")})
	require.True(t, errs.Is(err, errs.Conflict), "%v", err)
}

// TestChangingTypeDropsOtherMaterial: a secret switched to another type keeps no credential of
// the old type (it would be invisible in the console yet still stored).
func TestChangingTypeDropsOtherMaterial(t *testing.T) {
	t.Parallel()
	secrets, _, _ := newServices(t)
	ctx := context.Background()
	v, err := secrets.Create(ctx, settings.SecretInput{Name: ptr("ci"), Type: ptr("password"), Username: ptr("ci"), Password: ptr("old-pw")})
	require.NoError(t, err)
	_, err = secrets.Update(ctx, v.ID, settings.SecretInput{Type: ptr("token")})
	require.True(t, errs.Is(err, errs.Invalid), "a token secret needs its token: %v", err)
	got, err := secrets.Update(ctx, v.ID, settings.SecretInput{Type: ptr("token"), Token: ptr("tok-1")})
	require.NoError(t, err)
	require.False(t, got.HasPassword)
	require.True(t, got.HasToken)
	m, err := secrets.Open(ctx, v.ID)
	require.NoError(t, err)
	require.Equal(t, settings.SecretMaterial{Type: "token", Username: "ci", Token: "tok-1"}, *m)
}
