package config_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/config"
)

func TestLoadSpacelet(t *testing.T) {
	env := map[string]string{"SERVER_URL": "https://ks.example", "TOKEN": "ksr_x", "LABELS": "os=linux, arch=amd64,", "CAPACITY": "4"}
	c, err := config.LoadSpacelet([]string{"--metrics-port=0"}, func(k string) string { return env[k] })
	require.NoError(t, err)
	require.Equal(t, "ksr_x", c.RegistrationToken)
	require.Equal(t, map[string]string{"os": "linux", "arch": "amd64"}, c.Labels)
	require.Equal(t, 4, c.Capacity)
	require.Zero(t, c.MetricsPort)
	require.Equal(t, "127.0.0.1", c.MetricsAddress, "metrics stay on loopback unless asked")
	require.Equal(t, time.Hour, c.JobTimeout)

	for name, bad := range map[string]map[string]string{
		"SERVER_URL":      {},
		"CAPACITY":        {"SERVER_URL": "http://x", "CAPACITY": "0"},
		"LABELS":          {"SERVER_URL": "http://x", "LABELS": "novalue"},
		"METRICS_PORT":    {"SERVER_URL": "http://x", "METRICS_PORT": "70000"},
		"METRICS_ADDRESS": {"SERVER_URL": "http://x", "METRICS_ADDRESS": "localhost"},
		"JOB_TIMEOUT":     {"SERVER_URL": "http://x", "JOB_TIMEOUT": "10ms"},
	} {
		_, err := config.LoadSpacelet(nil, func(k string) string { return bad[k] })
		require.ErrorContains(t, err, name)
	}
}
