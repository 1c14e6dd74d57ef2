package secretbox

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{7}, KeySize)
	box, err := New(key)
	require.NoError(t, err)

	sealed := box.Seal([]byte("hunter2"), "secret/password")
	require.NotContains(t, string(sealed), "hunter2")
	plain, err := box.Open(sealed, "secret/password")
	require.NoError(t, err)
	require.Equal(t, "hunter2", string(plain))

	// Two seals of one value differ (random nonce).
	require.NotEqual(t, sealed, box.Seal([]byte("hunter2"), "secret/password"))

	_, err = box.Open(sealed, "secret/token")
	require.Error(t, err, "additional data binds the value to its column")

	other, _ := New(bytes.Repeat([]byte{8}, KeySize))
	_, err = other.Open(sealed, "secret/password")
	require.ErrorContains(t, err, "wrong SECRET_KEY")

	require.Nil(t, box.Seal(nil, "x"))
	p, err := box.Open(nil, "x")
	require.NoError(t, err)
	require.Nil(t, p)

	_, err = box.Open([]byte{1, 2, 3}, "x")
	require.ErrorContains(t, err, "malformed")
}

func TestKeys(t *testing.T) {
	_, err := New([]byte("short"))
	require.Error(t, err)

	raw := bytes.Repeat([]byte{1}, KeySize)
	for _, s := range []string{base64.StdEncoding.EncodeToString(raw), base64.RawURLEncoding.EncodeToString(raw) + "\n"} {
		k, err := ParseKey(s)
		require.NoError(t, err)
		require.Equal(t, raw, k)
	}
	_, err = ParseKey(base64.StdEncoding.EncodeToString([]byte("sixteen bytes!!!")))
	require.ErrorContains(t, err, "want 32")
	_, err = ParseKey("not base64 !!")
	require.Error(t, err)

	path := filepath.Join(t.TempDir(), "sub", "secret.key")
	k1, err := LoadOrCreateKeyFile(path)
	require.NoError(t, err)
	k2, err := LoadOrCreateKeyFile(path)
	require.NoError(t, err)
	require.Equal(t, k1, k2, "the generated key is reused")
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
}
