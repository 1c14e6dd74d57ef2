package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ControllerManager is the configuration of the controller-manager binary: the server's
// database and bus settings, and where it serves /healthz, /readyz and /metrics.
type ControllerManager struct {
	MySQL MySQL
	Redis Redis
	// DataDir holds the embedded SQLite database when MYSQL_HOST is unset (one machine, for
	// development: the server must then share the same file and see nudges only by resync).
	DataDir       string
	SecretKey     []byte
	SecretKeyFile string
	MetricsPort   int
	// MetricsAddress is the listen host of the metrics port (default all interfaces: Kubernetes
	// probes and Prometheus reach it from outside the pod).
	MetricsAddress  string
	LogLevel        string
	ShutdownTimeout time.Duration
	// Workers reconcile runs in parallel; Resync bounds the delay a lost nudge causes.
	Workers int
	Resync  time.Duration
}

// Embedded reports whether the controller-manager uses the SQLite file in DataDir.
func (c *ControllerManager) Embedded() bool { return c.MySQL.Host == "" }

// SQLitePath is the embedded database file (the server's).
func (c *ControllerManager) SQLitePath() string { return filepath.Join(c.DataDir, "kubespace.db") }

// LoadControllerManager reads the controller-manager configuration (flags override environment).
func LoadControllerManager(args []string, getenv func(string) string) (*ControllerManager, error) {
	c := &ControllerManager{}
	l := newLoader("controller-manager", getenv)
	var secretKeyValue string
	l.str(&c.MySQL.Host, "MYSQL_HOST", "", "MySQL host or host:port; unset uses the SQLite file in DATA_DIR (one machine only)")
	l.integer(&c.MySQL.Port, "MYSQL_PORT", 3306, "MySQL port")
	l.str(&c.MySQL.User, "MYSQL_USER", "root", "MySQL user")
	l.str(&c.MySQL.Password, "MYSQL_PASSWORD", "", "MySQL password")
	l.str(&c.MySQL.DBName, "MYSQL_DBNAME", "kubespace", "MySQL database")
	l.str(&c.Redis.Address, "REDIS_ADDRESS", "", "Redis address host:port (needed to hear the server's nudges; without it runs advance on resyncs only)")
	l.str(&c.Redis.Password, "REDIS_PASSWORD", "", "Redis password")
	l.str(&c.DataDir, "DATA_DIR", "./data", "data directory holding the embedded database when MYSQL_HOST is unset")
	l.str(&secretKeyValue, "SECRET_KEY", "", "base64 32-byte key sealing secrets at rest (the server's)")
	l.str(&c.SecretKeyFile, "SECRET_KEY_FILE", "", "file holding SECRET_KEY")
	l.integer(&c.MetricsPort, "METRICS_PORT", 8081, "port serving /healthz, /readyz and /metrics")
	l.str(&c.MetricsAddress, "METRICS_ADDRESS", "", "listen address of the metrics port (default: all interfaces)")
	l.str(&c.LogLevel, "LOG_LEVEL", "info", "log level: debug, info, warn, error")
	l.duration(&c.ShutdownTimeout, "SHUTDOWN_TIMEOUT", 20*time.Second, "graceful shutdown timeout")
	l.integer(&c.Workers, "RUN_WORKERS", 4, "runs reconciled in parallel")
	l.duration(&c.Resync, "RUN_RESYNC", 10*time.Second, "how often every active run is reconciled (bounds the delay of a lost nudge)")
	if err := l.parse(args); err != nil {
		return nil, err
	}
	var problems []error
	add := func(err error) {
		if err != nil {
			problems = append(problems, err)
		}
	}
	add(checkPort("METRICS_PORT", c.MetricsPort))
	add(checkPort("MYSQL_PORT", c.MySQL.Port))
	if c.MySQL.Host != "" && c.MySQL.DBName == "" {
		add(errors.New("MYSQL_DBNAME must not be empty when MYSQL_HOST is set"))
	}
	if c.Embedded() && c.DataDir == "" {
		add(errors.New("DATA_DIR must not be empty when MYSQL_HOST is unset"))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		add(fmt.Errorf("LOG_LEVEL=%q: must be debug, info, warn or error", c.LogLevel))
	}
	if c.Workers < 1 || c.Workers > 256 {
		add(fmt.Errorf("RUN_WORKERS=%d: must be between 1 and 256", c.Workers))
	}
	if c.Resync < time.Second {
		add(fmt.Errorf("RUN_RESYNC=%s: must be at least 1s", c.Resync))
	}
	var err error
	if c.SecretKey, err = secretKey(secretKeyValue, c.SecretKeyFile); err != nil {
		add(err)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("invalid configuration: %w", errors.Join(problems...))
	}
	return c, nil
}

// parseRunControllers reads the server's RUN_CONTROLLERS: unset means on in the embedded mode
// (everything in one process) and off with MySQL (controller-managers run separately).
func parseRunControllers(v string, embedded bool) (bool, error) {
	if strings.TrimSpace(v) == "" {
		return embedded, nil
	}
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		return false, fmt.Errorf("RUN_CONTROLLERS=%q: must be true or false", v)
	}
	return b, nil
}
