package config

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadServerDefaults(t *testing.T) {
	c, err := LoadServer(nil, envOf(nil))
	require.NoError(t, err)
	require.Equal(t, 8080, c.Port)
	require.True(t, c.Embedded())
	require.Equal(t, filepath.Join("data", "kubespace.db"), c.SQLitePath())
	require.Equal(t, 12*time.Hour, c.SessionTTL)
	require.Equal(t, 5, c.LoginMaxFailures)
	require.Equal(t, 20, c.LoginMaxPerIP)
	require.Nil(t, c.SecretKey)
}

func TestLoadServerFlagsOverrideEnv(t *testing.T) {
	c, err := LoadServer([]string{"--port", "9000"}, envOf(map[string]string{"PORT": "7000"}))
	require.NoError(t, err)
	require.Equal(t, 9000, c.Port)
}

func TestLoadServerMySQL(t *testing.T) {
	key := base64.StdEncoding.EncodeToString(make([]byte, 32))
	c, err := LoadServer(nil, envOf(map[string]string{"MYSQL_HOST": "db:3307", "SECRET_KEY": key}))
	require.NoError(t, err)
	require.Equal(t, "db:3307", c.MySQL.Addr())
	c, err = LoadServer(nil, envOf(map[string]string{"MYSQL_HOST": "db", "MYSQL_PORT": "3310", "SECRET_KEY": key}))
	require.NoError(t, err)
	require.Equal(t, "db:3310", c.MySQL.Addr())
	require.Len(t, c.SecretKey, 32)

	keyFile := filepath.Join(t.TempDir(), "k")
	require.NoError(t, os.WriteFile(keyFile, []byte(key+"\n"), 0o600))
	c, err = LoadServer(nil, envOf(map[string]string{"MYSQL_HOST": "db", "SECRET_KEY_FILE": keyFile}))
	require.NoError(t, err)
	require.Len(t, c.SecretKey, 32)
}

func TestLoadServerErrorsNameTheSetting(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"PORT": "eighty"}, "PORT=\"eighty\": must be an integer"},
		{map[string]string{"PORT": "70000"}, "PORT=70000"},
		{map[string]string{"MYSQL_HOST": "db"}, "SECRET_KEY or SECRET_KEY_FILE is required"},
		{map[string]string{"SECRET_KEY": "abc"}, "SECRET_KEY"},
		{map[string]string{"SECRET_KEY": base64.StdEncoding.EncodeToString(make([]byte, 32)), "SECRET_KEY_FILE": "/x"}, "only one of"},
		{map[string]string{"SECRET_KEY_FILE": "/does/not/exist"}, "SECRET_KEY_FILE"},
		{map[string]string{"SERVER_URL": "ftp://x"}, "SERVER_URL"},
		{map[string]string{"SESSION_TTL": "forever"}, "SESSION_TTL"},
		{map[string]string{"SESSION_TTL": "1s"}, "SESSION_TTL=1s"},
		{map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8, nope"}, "TRUSTED_PROXIES: \"nope\""},
		{map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{map[string]string{"SETUP_TOKEN": "short"}, "SETUP_TOKEN"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			_, err := LoadServer(nil, envOf(tc.env))
			require.Error(t, err)
			require.True(t, strings.Contains(err.Error(), tc.want), "%q should contain %q", err, tc.want)
		})
	}
	_, err := LoadServer([]string{"stray"}, envOf(nil))
	require.ErrorContains(t, err, "unexpected argument")
}
