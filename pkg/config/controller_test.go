package config

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLoadControllerManager(t *testing.T) {
	c, err := LoadControllerManager(nil, envOf(nil))
	require.NoError(t, err)
	require.Equal(t, 8081, c.MetricsPort)
	require.True(t, c.Embedded())
	require.Equal(t, 4, c.Workers)
	require.Equal(t, 10*time.Second, c.Resync)

	key := base64.StdEncoding.EncodeToString(make([]byte, 32))
	c, err = LoadControllerManager([]string{"--metrics-port", "9101"}, envOf(map[string]string{"MYSQL_HOST": "db", "REDIS_ADDRESS": "r:6379",
		"SECRET_KEY": key, "METRICS_PORT": "9100"}))
	require.NoError(t, err)
	require.Equal(t, 9101, c.MetricsPort, "flags override the environment")
	require.Equal(t, "db:3306", c.MySQL.Addr())
	require.Len(t, c.SecretKey, 32)

	for env, want := range map[string]string{
		"METRICS_PORT": "METRICS_PORT=0", "RUN_WORKERS": "RUN_WORKERS=0", "RUN_RESYNC": "RUN_RESYNC=10ms", "LOG_LEVEL": "LOG_LEVEL",
	} {
		v := map[string]string{"METRICS_PORT": "0", "RUN_WORKERS": "0", "RUN_RESYNC": "10ms", "LOG_LEVEL": "loud"}[env]
		_, err := LoadControllerManager(nil, envOf(map[string]string{env: v}))
		require.ErrorContains(t, err, want)
	}
}

func TestRunControllers(t *testing.T) {
	c, err := LoadServer(nil, envOf(nil))
	require.NoError(t, err)
	require.True(t, c.RunControllers, "embedded: on by default")
	key := base64.StdEncoding.EncodeToString(make([]byte, 32))
	c, err = LoadServer(nil, envOf(map[string]string{"MYSQL_HOST": "db", "SECRET_KEY": key}))
	require.NoError(t, err)
	require.False(t, c.RunControllers, "with MySQL the controller-manager runs them")
	c, err = LoadServer(nil, envOf(map[string]string{"MYSQL_HOST": "db", "SECRET_KEY": key, "RUN_CONTROLLERS": "true"}))
	require.NoError(t, err)
	require.True(t, c.RunControllers)
	_, err = LoadServer(nil, envOf(map[string]string{"RUN_CONTROLLERS": "maybe"}))
	require.ErrorContains(t, err, `RUN_CONTROLLERS="maybe"`)
}
