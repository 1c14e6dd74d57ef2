package config

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Spacelet is the configuration of the spacelet binary (a pipeline worker).
type Spacelet struct {
	ServerURL string
	DataDir   string
	// RegistrationToken is needed on the first start only; the credential it buys is kept in
	// DataDir.
	RegistrationToken string
	// Name identifies the spacelet (default: the hostname).
	Name     string
	Labels   map[string]string
	Capacity int
	// MetricsPort serves /healthz and /metrics only (0: off), on MetricsAddress.
	MetricsPort    int
	MetricsAddress string
	// JobTimeout bounds jobs that set no timeout; ShutdownGrace is how long running jobs may
	// finish after SIGTERM before they are stopped.
	JobTimeout    time.Duration
	ShutdownGrace time.Duration
	// CAFile trusts a private CA for the server's HTTPS certificate.
	CAFile string
	// MaxLogMB bounds one job's log in MiB (0: unbounded).
	MaxLogMB int
	LogLevel string
}

// LoadSpacelet reads the spacelet configuration from getenv and args (flags override).
func LoadSpacelet(args []string, getenv func(string) string) (*Spacelet, error) {
	c := &Spacelet{}
	l := newLoader("spacelet", getenv)
	var labels, token string
	l.str(&c.ServerURL, "SERVER_URL", "", "URL of the KubeSpace server (required)")
	l.str(&c.DataDir, "DATA_DIR", "./spacelet-data", "data directory (credential, job work directories)")
	l.str(&c.RegistrationToken, "REGISTRATION_TOKEN", "", "registration token from the Spacelets page (first start)")
	l.str(&token, "TOKEN", "", "alias of REGISTRATION_TOKEN")
	l.str(&c.Name, "SPACELET_NAME", "", "name of this spacelet (default: the hostname)")
	l.str(&labels, "LABELS", "", "labels k=v,... that jobs select spacelets by")
	l.integer(&c.Capacity, "CAPACITY", 2, "jobs run at once")
	l.integer(&c.MetricsPort, "METRICS_PORT", 8082, "port of /healthz and /metrics (0 disables)")
	l.str(&c.MetricsAddress, "METRICS_ADDRESS", "127.0.0.1", "address the metrics port listens on")
	l.duration(&c.JobTimeout, "JOB_TIMEOUT", time.Hour, "timeout of jobs that set none")
	l.duration(&c.ShutdownGrace, "SHUTDOWN_GRACE", 10*time.Second, "how long running jobs may finish after SIGTERM")
	l.str(&c.CAFile, "CA_FILE", "", "PEM CA that issued the server's HTTPS certificate (besides the system's)")
	l.integer(&c.MaxLogMB, "MAX_LOG_MB", 512, "largest log of one job in MiB; past it the output is dropped (0: unbounded)")
	l.str(&c.LogLevel, "LOG_LEVEL", "info", "log level: debug, info, warn, error")
	if err := l.parse(args); err != nil {
		return nil, err
	}
	var problems []error
	add := func(err error) {
		if err != nil {
			problems = append(problems, err)
		}
	}
	if c.ServerURL == "" {
		add(errors.New("SERVER_URL is required: the URL of the KubeSpace server"))
	} else {
		add(checkURL("SERVER_URL", c.ServerURL))
	}
	if c.RegistrationToken == "" {
		c.RegistrationToken = token
	}
	if c.DataDir == "" {
		add(errors.New("DATA_DIR must not be empty"))
	}
	if c.Capacity < 1 || c.Capacity > 256 {
		add(fmt.Errorf("CAPACITY=%d: must be between 1 and 256", c.Capacity))
	}
	if c.MetricsPort != 0 {
		add(checkPort("METRICS_PORT", c.MetricsPort))
	}
	if net.ParseIP(c.MetricsAddress) == nil {
		add(fmt.Errorf("METRICS_ADDRESS=%q: must be an IP address", c.MetricsAddress))
	}
	if c.JobTimeout < time.Second {
		add(fmt.Errorf("JOB_TIMEOUT=%s: must be at least 1s", c.JobTimeout))
	}
	if c.MaxLogMB < 0 {
		add(fmt.Errorf("MAX_LOG_MB=%d: must not be negative", c.MaxLogMB))
	}
	if c.ShutdownGrace < 0 {
		add(fmt.Errorf("SHUTDOWN_GRACE=%s: must not be negative", c.ShutdownGrace))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		add(fmt.Errorf("LOG_LEVEL=%q: must be debug, info, warn or error", c.LogLevel))
	}
	c.Labels = map[string]string{}
	for _, kv := range strings.Split(labels, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			add(fmt.Errorf("LABELS: %q is not key=value", kv))
			continue
		}
		c.Labels[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("invalid configuration: %w", errors.Join(problems...))
	}
	return c, nil
}
