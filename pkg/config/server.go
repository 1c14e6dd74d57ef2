package config

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"time"
)

// Server is the configuration of the server binary.
type Server struct {
	Port int
	// TLSPort serves the same API and console over HTTPS (0: off). kubectl sends credentials
	// only over HTTPS, so kubeconfigs minted by KubeSpace point here.
	TLSPort     int
	TLSCertFile string // with TLSKeyFile: the operator's certificate; else a generated one
	TLSKeyFile  string
	TLSCAFile   string // CA embedded in minted kubeconfigs when the certificate is from a private CA
	DataDir     string
	MySQL       MySQL
	Redis       Redis
	ServerURL   string // public URL used in agent manifests and kubeconfigs; empty: from the request
	SetupToken  string // preset first-run setup token; generated when empty
	// SecretKey is the AES key sealing secrets at rest (nil in embedded mode until the key file
	// is loaded or generated in DataDir).
	SecretKey     []byte
	SecretKeyFile string
	// TrustedProxies are the addresses (IPs or CIDRs) whose X-Forwarded-For is believed.
	TrustedProxies []string
	SessionTTL     time.Duration
	AuditRetention time.Duration
	// LoginMaxFailures failed logins per user within LoginFailureWindow lock that user out until
	// the oldest failure leaves the window; LoginMaxPerIP attempts per minute per client IP.
	LoginMaxFailures   int
	LoginFailureWindow time.Duration
	LoginMaxPerIP      int
	LogLevel           string
	ShutdownTimeout    time.Duration
	// AuthCacheTTL bounds how long a replica acts on cached credentials, users and role bindings
	// after a change it was not told about (0 disables the cache).
	AuthCacheTTL time.Duration
	// RunControllers runs the pipeline controllers inside the server (RUN_CONTROLLERS; default
	// on in the embedded mode, off with MySQL where controller-managers run separately).
	RunControllers bool
	// LocalSpacelet is "auto" (a spacelet inside the server in embedded mode), "true" or
	// "false"; LogRetention keeps finished jobs' logs that long (0: forever).
	LocalSpacelet string
	LogRetention  time.Duration
}

// RunLocalSpacelet reports whether the server runs a spacelet in its own process.
func (s *Server) RunLocalSpacelet() bool {
	return s.LocalSpacelet == "true" || (s.LocalSpacelet == "auto" && s.Embedded())
}

// Embedded reports whether the server runs on the embedded SQLite database.
func (s *Server) Embedded() bool { return s.MySQL.Host == "" }

// SQLitePath is the embedded database file.
func (s *Server) SQLitePath() string { return filepath.Join(s.DataDir, "kubespace.db") }

// GeneratedKeyPath is where embedded mode keeps its generated secret key.
func (s *Server) GeneratedKeyPath() string { return filepath.Join(s.DataDir, "secret.key") }

// LoadServer reads the server configuration from getenv and args (flags override environment).
func LoadServer(args []string, getenv func(string) string) (*Server, error) {
	c := &Server{}
	l := newLoader("server", getenv)
	var secretKeyValue, proxies, runControllers string
	l.integer(&c.Port, "PORT", 8080, "HTTP port")
	l.integer(&c.TLSPort, "TLS_PORT", 8443, "HTTPS port (0 disables; needed for kubectl through KubeSpace)")
	l.str(&c.TLSCertFile, "TLS_CERT_FILE", "", "TLS certificate (PEM); a self-signed one is generated in DATA_DIR when unset")
	l.str(&c.TLSKeyFile, "TLS_KEY_FILE", "", "TLS private key (PEM)")
	l.str(&c.TLSCAFile, "TLS_CA_FILE", "", "CA of TLS_CERT_FILE, embedded in minted kubeconfigs")
	l.str(&c.DataDir, "DATA_DIR", "./data", "data directory (embedded database, generated key)")
	l.str(&c.MySQL.Host, "MYSQL_HOST", "", "MySQL host or host:port; unset uses the embedded SQLite database")
	l.integer(&c.MySQL.Port, "MYSQL_PORT", 3306, "MySQL port")
	l.str(&c.MySQL.User, "MYSQL_USER", "root", "MySQL user")
	l.str(&c.MySQL.Password, "MYSQL_PASSWORD", "", "MySQL password")
	l.str(&c.MySQL.DBName, "MYSQL_DBNAME", "kubespace", "MySQL database")
	l.str(&c.Redis.Address, "REDIS_ADDRESS", "", "Redis address host:port; unset uses the in-process event bus")
	l.str(&c.Redis.Password, "REDIS_PASSWORD", "", "Redis password")
	l.str(&c.ServerURL, "SERVER_URL", "", "public URL of this server")
	l.str(&c.SetupToken, "SETUP_TOKEN", "", "first-run setup token (generated and logged when unset)")
	l.str(&secretKeyValue, "SECRET_KEY", "", "base64 32-byte key sealing secrets at rest")
	l.str(&c.SecretKeyFile, "SECRET_KEY_FILE", "", "file holding SECRET_KEY")
	l.str(&proxies, "TRUSTED_PROXIES", "", "comma-separated IPs/CIDRs whose X-Forwarded-For is trusted")
	l.duration(&c.SessionTTL, "SESSION_TTL", 12*time.Hour, "session lifetime")
	l.duration(&c.AuditRetention, "AUDIT_RETENTION", 180*24*time.Hour, "how long audit events are kept")
	l.integer(&c.LoginMaxFailures, "LOGIN_MAX_FAILURES", 5, "failed logins per user per window before lockout")
	l.duration(&c.LoginFailureWindow, "LOGIN_FAILURE_WINDOW", 5*time.Minute, "window for failed-login counting")
	l.integer(&c.LoginMaxPerIP, "LOGIN_MAX_PER_IP", 20, "login attempts per client IP per minute")
	l.str(&c.LogLevel, "LOG_LEVEL", "info", "log level: debug, info, warn, error")
	l.duration(&c.ShutdownTimeout, "SHUTDOWN_TIMEOUT", 20*time.Second, "graceful shutdown timeout")
	l.duration(&c.AuthCacheTTL, "AUTH_CACHE_TTL", 10*time.Second, "per-process cache of credentials and roles (0 disables); changes reach every replica at once, the TTL only bounds a lost notice")
	l.str(&runControllers, "RUN_CONTROLLERS", "", "run the pipeline controllers in this process (default: true in the embedded mode, false with MYSQL_HOST)")
	l.str(&c.LocalSpacelet, "LOCAL_SPACELET", "auto", "run a spacelet inside the server: auto (in embedded mode), true or false")
	l.duration(&c.LogRetention, "LOG_RETENTION", 90*24*time.Hour, "how long finished pipeline jobs' logs are kept (0: forever)")
	if err := l.parse(args); err != nil {
		return nil, err
	}

	var problems []error
	add := func(err error) {
		if err != nil {
			problems = append(problems, err)
		}
	}
	add(checkPort("PORT", c.Port))
	add(checkPort("MYSQL_PORT", c.MySQL.Port))
	if c.TLSPort != 0 {
		add(checkPort("TLS_PORT", c.TLSPort))
		if c.TLSPort == c.Port {
			add(fmt.Errorf("TLS_PORT=%d: must differ from PORT", c.TLSPort))
		}
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		add(errors.New("TLS_CERT_FILE and TLS_KEY_FILE must be set together"))
	}
	var rcErr error
	c.RunControllers, rcErr = parseRunControllers(runControllers, c.Embedded())
	add(rcErr)
	add(checkURL("SERVER_URL", c.ServerURL))
	c.ServerURL = strings.TrimRight(c.ServerURL, "/")
	if c.DataDir == "" {
		add(errors.New("DATA_DIR must not be empty"))
	}
	if c.MySQL.Host != "" && c.MySQL.DBName == "" {
		add(errors.New("MYSQL_DBNAME must not be empty when MYSQL_HOST is set"))
	}
	if c.SessionTTL < time.Minute {
		add(fmt.Errorf("SESSION_TTL=%s: must be at least 1m", c.SessionTTL))
	}
	if c.AuditRetention < 24*time.Hour {
		add(fmt.Errorf("AUDIT_RETENTION=%s: must be at least 24h", c.AuditRetention))
	}
	if c.LoginMaxFailures < 1 {
		add(fmt.Errorf("LOGIN_MAX_FAILURES=%d: must be at least 1", c.LoginMaxFailures))
	}
	if c.LoginFailureWindow < time.Second {
		add(fmt.Errorf("LOGIN_FAILURE_WINDOW=%s: must be at least 1s", c.LoginFailureWindow))
	}
	if c.AuthCacheTTL < 0 || c.AuthCacheTTL > time.Minute {
		add(fmt.Errorf("AUTH_CACHE_TTL=%s: must be between 0 and 1m", c.AuthCacheTTL))
	}
	if c.LoginMaxPerIP < 1 {
		add(fmt.Errorf("LOGIN_MAX_PER_IP=%d: must be at least 1", c.LoginMaxPerIP))
	}
	if c.LocalSpacelet != "auto" && c.LocalSpacelet != "true" && c.LocalSpacelet != "false" {
		add(fmt.Errorf("LOCAL_SPACELET=%q: must be auto, true or false", c.LocalSpacelet))
	}
	if c.LogRetention < 0 {
		add(fmt.Errorf("LOG_RETENTION=%s: must not be negative", c.LogRetention))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		add(fmt.Errorf("LOG_LEVEL=%q: must be debug, info, warn or error", c.LogLevel))
	}
	if c.SetupToken != "" && len(c.SetupToken) < 16 {
		add(errors.New("SETUP_TOKEN must be at least 16 characters"))
	}
	for _, p := range strings.Split(proxies, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				add(fmt.Errorf("TRUSTED_PROXIES: %q is not an IP address or CIDR", p))
				continue
			}
		}
		c.TrustedProxies = append(c.TrustedProxies, p)
	}
	key, err := secretKey(secretKeyValue, c.SecretKeyFile)
	c.SecretKey = key
	switch {
	case err != nil:
		add(err)
	case key == nil && !c.Embedded():
		add(errors.New("SECRET_KEY or SECRET_KEY_FILE is required with MYSQL_HOST: every replica must seal secrets with the same key, which never lives in the database (generate one with: openssl rand -base64 32)"))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("invalid configuration: %w", errors.Join(problems...))
	}
	return c, nil
}
