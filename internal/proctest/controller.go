package proctest

import (
	"fmt"
	"strconv"
	"testing"
	"time"
)

// ControllerManager is a controller-manager process.
type ControllerManager struct {
	*Process
	// MetricsURL serves /healthz, /readyz and /metrics.
	MetricsURL string
}

// StartControllerManager starts cmd/controller-manager with env (METRICS_PORT is chosen here,
// on loopback) and waits until it is ready.
func StartControllerManager(t testing.TB, name string, env map[string]string) *ControllerManager {
	t.Helper()
	port := FreePort(t)
	vars := map[string]string{"METRICS_PORT": strconv.Itoa(port), "METRICS_ADDRESS": "127.0.0.1", "LOG_LEVEL": "info"}
	for k, v := range env {
		vars[k] = v
	}
	p := Start(t, name, Binary(t, "controller-manager"), Env(vars))
	c := &ControllerManager{Process: p, MetricsURL: fmt.Sprintf("http://127.0.0.1:%d", port)}
	p.WaitHTTP(t, c.MetricsURL+"/readyz", 60*time.Second)
	return c
}
