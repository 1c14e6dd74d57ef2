package httpapi_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/kubespace/kubespace/internal/apitest"
	"github.com/kubespace/kubespace/pkg/secretbox"
	"github.com/kubespace/kubespace/pkg/settings"
)

// sshKey returns a fresh ed25519 private key in OpenSSH PEM form, encrypted when passphrase is set.
func sshKey(t *testing.T, passphrase string) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "test key")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "test key", []byte(passphrase))
	}
	require.NoError(t, err)
	return string(pem.EncodeToMemory(block))
}

// settingsOf builds the settings services over the server's store and its secret key, as the
// server wires them, for the calls the API does not offer (Open, Credentials).
func settingsOf(t *testing.T, s *apitest.Server) (*settings.Secrets, *settings.Registries) {
	key, err := secretbox.ReadKeyFile(s.App.Config.GeneratedKeyPath())
	require.NoError(t, err)
	box, err := secretbox.New(key)
	require.NoError(t, err)
	return settings.NewSecrets(s.App.Store.Secrets, box), settings.NewRegistries(s.App.Store.Registries, box)
}

func TestSecretsAtRest(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, nil)
	admin := s.Admin()
	key := sshKey(t, "")
	material := map[string]string{
		"password":     "pw-material-7f3a1",
		"token":        "tok-material-9c1e2",
		"new token":    "tok-material-new-5b2d3",
		"registry":     "reg-material-4d8e4",
		"new registry": "reg-material-new-2a6f5",
		"private key":  key,
	}
	create := func(path string, body map[string]any) int64 {
		return admin.Expect(http.StatusCreated, http.MethodPost, path, body).ID(t)
	}
	pwID := create("/api/v1/secrets", map[string]any{"name": "git", "type": "password", "username": "ci", "password": material["password"]})
	tokID := create("/api/v1/secrets", map[string]any{"name": "api", "type": "token", "token": material["token"]})
	keyID := create("/api/v1/secrets", map[string]any{"name": "deploy-key", "type": "ssh_key", "username": "git", "private_key": key})
	regID := create("/api/v1/image-registries", map[string]any{"registry": "harbor.example.com:8443", "username": "robot", "password": material["registry"]})
	admin.Expect(http.StatusOK, http.MethodPut, apitest.Path("/api/v1/secrets/%d", tokID), map[string]any{"token": material["new token"]})
	admin.Expect(http.StatusOK, http.MethodPut, apitest.Path("/api/v1/image-registries/%d", regID), map[string]any{"password": material["new registry"]})
	// Empty material keeps what is stored.
	admin.Expect(http.StatusOK, http.MethodPut, apitest.Path("/api/v1/secrets/%d", pwID), map[string]any{"password": "", "description": "kept"})
	admin.Expect(http.StatusOK, http.MethodPut, apitest.Path("/api/v1/image-registries/%d", regID), map[string]any{"password": "", "insecure": true})

	t.Run("responses carry flags, never material", func(t *testing.T) {
		want := map[int64]map[string]bool{
			pwID:  {"has_password": true, "has_token": false, "has_private_key": false},
			tokID: {"has_password": false, "has_token": true, "has_private_key": false},
			keyID: {"has_password": false, "has_token": false, "has_private_key": true},
		}
		bodies := [][]byte{admin.Expect(http.StatusOK, http.MethodGet, "/api/v1/secrets", nil).Body,
			admin.Expect(http.StatusOK, http.MethodGet, "/api/v1/image-registries", nil).Body}
		for id, flags := range want {
			r := admin.Expect(http.StatusOK, http.MethodGet, apitest.Path("/api/v1/secrets/%d", id), nil)
			m := r.Map(t)
			for flag, v := range flags {
				require.Equal(t, v, m[flag], "secret %d %s", id, flag)
			}
			for _, k := range []string{"password", "token", "private_key", "password_sealed"} {
				require.NotContains(t, m, k)
			}
			bodies = append(bodies, r.Body)
		}
		reg := admin.Expect(http.StatusOK, http.MethodGet, apitest.Path("/api/v1/image-registries/%d", regID), nil)
		require.Equal(t, true, reg.Map(t)["has_password"])
		require.Equal(t, true, reg.Map(t)["insecure"])
		bodies = append(bodies, reg.Body)
		for _, b := range bodies {
			for name, m := range material {
				require.NotContains(t, string(b), m, name)
			}
			require.NotContains(t, string(b), "OPENSSH PRIVATE KEY")
		}
	})
	t.Run("the database holds none of it", func(t *testing.T) {
		rows := rawRows(t, rawDatabase(t, s))
		require.NotEmpty(t, rows["secrets"])
		require.NotEmpty(t, rows["image_registries"])
		var files [][]byte
		for _, suffix := range []string{"", "-wal"} {
			if b, err := os.ReadFile(s.App.Config.SQLitePath() + suffix); err == nil {
				files = append(files, b)
			}
		}
		require.NotEmpty(t, files)
		keyLines := strings.Split(strings.TrimSpace(key), "\n")
		for name, m := range material {
			needles := encodings(m)
			if name == "private key" {
				needles = append(needles, keyLines[1:len(keyLines)-1]...) // each base64 line of the key body
			}
			for _, needle := range needles {
				for table, cols := range rows {
					for _, col := range cols {
						require.False(t, bytes.Contains(col, []byte(needle)), "table %s holds %s (%q)", table, name, needle)
					}
				}
				for _, f := range files {
					require.False(t, bytes.Contains(f, []byte(needle)), "the database file holds %s", name)
				}
			}
		}
	})
	t.Run("services open the original material", func(t *testing.T) {
		secrets, registries := settingsOf(t, s)
		ctx := context.Background()
		cases := []struct {
			id   int64
			want settings.SecretMaterial
		}{
			{pwID, settings.SecretMaterial{Type: "password", Username: "ci", Password: material["password"]}},
			{tokID, settings.SecretMaterial{Type: "token", Token: material["new token"]}},
			{keyID, settings.SecretMaterial{Type: "ssh_key", Username: "git", PrivateKey: key}},
		}
		for _, tc := range cases {
			got, err := secrets.Open(ctx, tc.id)
			require.NoError(t, err)
			require.Equal(t, tc.want, *got)
		}
		creds, err := registries.Credentials(ctx, regID)
		require.NoError(t, err)
		require.Equal(t, settings.RegistryCredentials{Registry: "harbor.example.com:8443", Username: "robot",
			Password: material["new registry"], Insecure: true}, *creds)
	})
	t.Run("another key opens nothing", func(t *testing.T) {
		box, err := secretbox.New(bytes.Repeat([]byte{7}, secretbox.KeySize))
		require.NoError(t, err)
		_, err = settings.NewSecrets(s.App.Store.Secrets, box).Open(context.Background(), pwID)
		require.Error(t, err)
		require.NotContains(t, err.Error(), material["password"])
	})
}

func TestSecretValidation(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, nil)
	admin := s.Admin()
	valid, encrypted := sshKey(t, ""), sshKey(t, "a passphrase")
	base := func(extra map[string]any) map[string]any {
		b := map[string]any{"name": "s"}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	invalid := []struct {
		name, path string
		body       map[string]any
		field      string
	}{
		{"missing type", "/api/v1/secrets", base(map[string]any{"password": "x"}), "type"},
		{"unknown type", "/api/v1/secrets", base(map[string]any{"type": "magic", "password": "x"}), "type"},
		{"missing name", "/api/v1/secrets", map[string]any{"type": "token", "token": "x"}, "name"},
		{"blank name", "/api/v1/secrets", base(map[string]any{"name": "   ", "type": "token", "token": "x"}), "name"},
		{"password secret without a password", "/api/v1/secrets", base(map[string]any{"type": "password", "token": "x"}), "password"},
		{"password secret with an empty password", "/api/v1/secrets", base(map[string]any{"type": "password", "password": ""}), "password"},
		{"token secret without a token", "/api/v1/secrets", base(map[string]any{"type": "token", "password": "x"}), "token"},
		{"ssh secret without a key", "/api/v1/secrets", base(map[string]any{"type": "ssh_key", "token": "x"}), "private_key"},
		{"ssh secret with garbage", "/api/v1/secrets", base(map[string]any{"type": "ssh_key", "private_key": "not a key"}), "private_key"},
		{"ssh secret with a public key", "/api/v1/secrets", base(map[string]any{"type": "ssh_key",
			"private_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGp4 test"}), "private_key"},
		{"ssh secret with a truncated key", "/api/v1/secrets", base(map[string]any{"type": "ssh_key", "private_key": valid[:len(valid)/2]}), "private_key"},
		{"oversized token", "/api/v1/secrets", base(map[string]any{"type": "token", "token": strings.Repeat("t", 8193)}), "token"},
		{"registry with a scheme", "/api/v1/image-registries", map[string]any{"registry": "https://harbor.example.com"}, "registry"},
		{"registry missing", "/api/v1/image-registries", map[string]any{"username": "u"}, "registry"},
		{"registry with spaces", "/api/v1/image-registries", map[string]any{"registry": "harbor example"}, "registry"},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			requireField(t, admin.For(t).Do(http.MethodPost, tc.path, tc.body), tc.field)
		})
	}
	for name, key := range map[string]string{"ed25519": valid, "encrypted ed25519": encrypted} {
		t.Run("accepts "+name, func(t *testing.T) {
			admin.For(t).Expect(http.StatusCreated, http.MethodPost, "/api/v1/secrets",
				map[string]any{"name": name, "type": "ssh_key", "private_key": key})
		})
	}
	t.Run("updates keep the type's material", func(t *testing.T) {
		id := admin.For(t).Expect(http.StatusCreated, http.MethodPost, "/api/v1/secrets", map[string]any{"name": "u", "type": "token", "token": "x"}).ID(t)
		path := apitest.Path("/api/v1/secrets/%d", id)
		requireField(t, admin.For(t).Do(http.MethodPut, path, map[string]any{"type": "ssh_key"}), "private_key")
		requireField(t, admin.For(t).Do(http.MethodPut, path, map[string]any{"type": "magic"}), "type")
		requireField(t, admin.For(t).Do(http.MethodPut, path, map[string]any{"name": ""}), "name")
		r := admin.For(t).Expect(http.StatusOK, http.MethodPut, path, map[string]any{"type": "ssh_key", "private_key": valid})
		require.Equal(t, "ssh_key", r.Map(t)["type"])
		requireError(t, admin.For(t).Do(http.MethodPost, "/api/v1/secrets", map[string]any{"name": "u", "type": "token", "token": "y"}),
			http.StatusConflict, "")
	})
	t.Run("keys never reach the database in the clear", func(t *testing.T) {
		dir := filepath.Dir(s.App.Config.SQLitePath())
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		for _, e := range entries {
			if !e.Type().IsRegular() {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			require.NoError(t, err)
			require.False(t, bytes.Contains(b, []byte("OPENSSH PRIVATE KEY")), "%s", e.Name())
		}
	})
}
