// Package app is the server's composition root: it turns a configuration into running parts
// (database, event bus, services, API) the way cmd/server runs them, so whole-system tests wire
// exactly what production wires. It is the one package besides cmd/ that imports concrete
// implementations (GORM store, Redis bus).
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/kubespace/kubespace/internal/controllerapp"
	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/audit"
	"github.com/kubespace/kubespace/pkg/authchange"
	"github.com/kubespace/kubespace/pkg/cluster"
	"github.com/kubespace/kubespace/pkg/config"
	"github.com/kubespace/kubespace/pkg/eventbus"
	"github.com/kubespace/kubespace/pkg/eventbus/membus"
	"github.com/kubespace/kubespace/pkg/eventbus/redisbus"
	"github.com/kubespace/kubespace/pkg/events"
	"github.com/kubespace/kubespace/pkg/httpapi"
	"github.com/kubespace/kubespace/pkg/identity"
	"github.com/kubespace/kubespace/pkg/kubeproxy"
	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/pipeline/run"
	"github.com/kubespace/kubespace/pkg/pipeline/workspace"
	"github.com/kubespace/kubespace/pkg/resources"
	"github.com/kubespace/kubespace/pkg/secretbox"
	"github.com/kubespace/kubespace/pkg/servingcert"
	"github.com/kubespace/kubespace/pkg/settings"
	"github.com/kubespace/kubespace/pkg/store"
	"github.com/kubespace/kubespace/pkg/store/database"
)

// Options are what cmd/ (or a test) passes besides the configuration.
type Options struct {
	Log     *slog.Logger
	Version httpapi.VersionInfo
	// Console serves the web console (nil: API only).
	Console http.Handler
	// BcryptCost overrides the password hashing cost (tests use the minimum).
	BcryptCost int
}

// App is a wired server.
type App struct {
	Config   *config.Server
	DB       *database.DB
	Store    store.Store
	Bus      eventbus.Bus
	Identity *identity.Service
	// Authorizer answers role questions (its per-process cache follows Changes).
	Authorizer *access.Authorizer
	Audit      *audit.Log
	Clusters   *cluster.Service
	Resources  *resources.Browser
	API        *httpapi.API
	Registry   *prometheus.Registry
	// Changes tells every replica that a user's credentials or roles changed; Streams ends the
	// open streams of callers who lost access.
	Changes *authchange.Hub
	Streams *authchange.Streams
	// Events is this replica's hub of live updates; Publish sends them from any process.
	Events  *events.Hub
	Publish *events.Publisher
	// Runs starts pipeline runs and acts on them (app_runs.go).
	Runs        *run.Service
	runBranches runBranches
	// Spacelets are the pipeline worker parts (protocol, logs, plugins, local spacelet).
	Spacelets *Spacelets
	// Cert serves the TLS port (nil when TLS_PORT=0).
	Cert *servingcert.Certificate
	// Pipelines: definitions are checked by the validator (the built-in plugins' schemas);
	// workspaces and their pipelines are managed by PipelineWorkspaces (app_pipelines.go).
	PipelineValidator  *pipeline.Validator
	PipelineWorkspaces *workspace.Service

	log *slog.Logger
	// life is the application's lifetime: everything started in the background derives from it,
	// and Close ends it.
	life context.Context
	stop context.CancelFunc
	// setupToken is the token guarding first-run setup while it is needed.
	setupToken string
	version    string
}

// SetupToken returns the first-run setup token while no user exists (empty afterwards or when it
// was preset with SETUP_TOKEN, which the operator already knows).
func (a *App) SetupToken() string {
	if a.Config.SetupToken != "" {
		return ""
	}
	return a.setupToken
}

// New opens the database (migrating it), the event bus and builds every service and the API. The
// application lives until Close, even if ctx (which bounds only the construction) ends sooner.
func New(ctx context.Context, cfg *config.Server, opts Options) (*App, error) {
	log := opts.Log
	a := &App{Config: cfg, log: log, version: opts.Version.Version}
	a.life, a.stop = context.WithCancel(context.WithoutCancel(ctx))
	ok := false
	defer func() {
		if !ok {
			a.Close()
		}
	}()
	if err := a.openDatabase(ctx); err != nil {
		return nil, err
	}
	key, err := a.secretKey()
	if err != nil {
		return nil, err
	}
	box, err := secretbox.New(key)
	if err != nil {
		return nil, err
	}
	if err := a.openBus(ctx); err != nil {
		return nil, err
	}
	a.Store = a.DB.Store()
	setupToken, err := a.makeSetupToken(ctx)
	if err != nil {
		return nil, err
	}
	a.setupToken = setupToken
	a.Changes = authchange.New(a.Bus, log)
	a.Streams = authchange.NewStreams(a.life, a.Changes, log)
	a.Events, a.Publish = events.NewHub(a.Bus, log), events.NewPublisher(a.Bus)
	a.Identity = identity.New(a.Store, identity.Options{
		SessionTTL: cfg.SessionTTL, LoginMaxFailures: cfg.LoginMaxFailures, LoginFailureWindow: cfg.LoginFailureWindow,
		LoginMaxPerIP: cfg.LoginMaxPerIP, BcryptCost: opts.BcryptCost, SetupToken: setupToken,
		AuthCacheTTL: cfg.AuthCacheTTL, Notifier: a.Changes,
	}, log)
	authz := access.NewAuthorizer(a.Store.RoleBindings, cfg.AuthCacheTTL)
	a.Authorizer = authz
	a.Changes.Listen(a.Identity.Forget)
	a.Changes.Listen(authz.Forget)
	a.Clusters = cluster.New(cluster.Deps{Store: a.Store, Box: box, Authorizer: authz, Tokens: a.Identity, Notifier: a.Changes, Log: log,
		CacheTTL: cfg.AuthCacheTTL})
	a.Changes.Listen(a.Clusters.Forget)
	authz.RegisterKind(store.ScopeCluster, a.Clusters)
	proxies := kubeproxy.New(log)
	a.Clusters.OnRemove(proxies.Forget)
	a.Resources = resources.New(a.life, a.Clusters, resources.Options{}, log)
	a.Clusters.OnRemove(a.Resources.Forget)
	a.Audit = audit.New(a.Store.Audit, cfg.AuditRetention, log)
	if cfg.TLSPort != 0 {
		if a.Cert, err = loadCert(cfg); err != nil {
			return nil, err
		}
	}
	if a.PipelineValidator, err = newPipelineValidator(); err != nil {
		return nil, err
	}
	a.PipelineWorkspaces = a.newPipelineWorkspaces(box, settings.NewSecrets(a.Store.Secrets, box), a.PipelineValidator)
	a.Spacelets = a.newSpacelets()
	a.setupRuns(a.PipelineWorkspaces)
	a.Registry = prometheus.NewRegistry()
	a.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.API, err = httpapi.New(httpapi.Deps{
		Identity: a.Identity, Authorizer: authz, Bindings: access.NewBindings(authz, a.Store.RoleBindings, a.Store.Users, a.Changes), Streams: a.Streams, Events: a.Events,
		Audit:    a.Audit,
		Settings: httpapi.SettingsServices{Secrets: settings.NewSecrets(a.Store.Secrets, box), Registries: settings.NewRegistries(a.Store.Registries, box)},
		Clusters: a.Clusters, Proxies: proxies, Resources: a.Resources, Runs: a.Runs,
		Health: []httpapi.HealthCheck{{Name: "database", Check: a.DB.Ping}, {Name: "event_bus", Check: a.Bus.Ping}},
		Log:    log, Metrics: a.Registry, Gatherer: a.Registry, Version: opts.Version,
		TrustedProxies: cfg.TrustedProxies, ServerURL: cfg.ServerURL, Console: opts.Console,
		TLSPort: cfg.TLSPort, ServingCA: servingCA(cfg, a.Cert),
		PipelineWorkspaces: a.PipelineWorkspaces,
		Spacelets:          a.Spacelets.api(),
		Webhooks:           webhookServices(a.Store, a.PipelineWorkspaces, controllerapp.Starter(a.Runs, a.Store), log),
	})
	if err != nil {
		return nil, err
	}
	ok = true
	return a, nil
}

func (a *App) openDatabase(ctx context.Context) error {
	cfg := a.Config
	dc := database.Config{Logger: a.log}
	if cfg.Embedded() {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return fmt.Errorf("DATA_DIR %s: %w", cfg.DataDir, err)
		}
		dc.SQLitePath = cfg.SQLitePath()
	} else {
		mc, err := database.MySQLConfig(cfg.MySQL.Host, fmt.Sprint(cfg.MySQL.Port), cfg.MySQL.User, cfg.MySQL.Password, cfg.MySQL.DBName)
		if err != nil {
			return fmt.Errorf("MYSQL_HOST: %w", err)
		}
		dc.MySQL = mc
	}
	db, err := database.Open(ctx, dc)
	if err != nil {
		return err
	}
	a.DB = db
	if err := db.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate database: %w", err)
	}
	return nil
}

// loadCert returns the operator's certificate or the generated one in DATA_DIR.
func loadCert(cfg *config.Server) (*servingcert.Certificate, error) {
	if cfg.TLSCertFile != "" {
		return servingcert.Load(cfg.TLSCertFile, cfg.TLSKeyFile, cfg.TLSCAFile)
	}
	var hosts []string
	if h, err := os.Hostname(); err == nil {
		hosts = append(hosts, h)
	}
	if cfg.ServerURL != "" {
		if u, err := url.Parse(cfg.ServerURL); err == nil {
			hosts = append(hosts, u.Hostname())
		}
	}
	c, err := servingcert.LoadOrGenerate(filepath.Join(cfg.DataDir, "tls"), hosts)
	if err != nil {
		return nil, fmt.Errorf("serving certificate in DATA_DIR: %w", err)
	}
	return c, nil
}

// servingCA is the CA minted kubeconfigs embed: the operator's TLS_CA_FILE, or the generated CA
// unless SERVER_URL points elsewhere (a load balancer with its own certificate).
func servingCA(cfg *config.Server, c *servingcert.Certificate) []byte {
	if c == nil || (cfg.ServerURL != "" && cfg.TLSCAFile == "") {
		return nil
	}
	return c.CAPEM
}

// secretKey returns the configured key, or in embedded mode the key file in DATA_DIR.
func (a *App) secretKey() ([]byte, error) {
	if a.Config.SecretKey != nil {
		return a.Config.SecretKey, nil
	}
	if !a.Config.Embedded() {
		return nil, errors.New("SECRET_KEY or SECRET_KEY_FILE is required with MYSQL_HOST")
	}
	k, err := secretbox.LoadOrCreateKeyFile(a.Config.GeneratedKeyPath())
	if err != nil {
		return nil, fmt.Errorf("secret key file: %w", err)
	}
	return k, nil
}

func (a *App) openBus(ctx context.Context) error {
	if a.Config.Redis.Address == "" {
		a.Bus = membus.New(membus.Options{})
		return nil
	}
	client := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{a.Config.Redis.Address}, Password: a.Config.Redis.Password})
	a.Bus = redisbus.New(client, redisbus.Options{})
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := a.Bus.Ping(pctx); err != nil {
		return fmt.Errorf("REDIS_ADDRESS %s: %w", a.Config.Redis.Address, err)
	}
	return nil
}

// makeSetupToken returns the configured setup token or, while setup is still needed, a generated
// one that cmd/server prints in its start-up banner (like other platforms' initial admin password).
func (a *App) makeSetupToken(ctx context.Context) (string, error) {
	if a.Config.SetupToken != "" {
		return a.Config.SetupToken, nil
	}
	n, err := a.Store.Users.Count(ctx)
	if err != nil {
		return "", err
	}
	if n > 0 {
		return "", nil // setup is done; an empty token matches nothing
	}
	a.log.Warn("first-run setup needed: the setup token is printed in the start-up banner")
	return identity.NewSetupToken(), nil
}

// Run serves HTTP on ln (and HTTPS on tlsLn when not nil) and runs background maintenance until
// ctx ends, then shuts down gracefully within the configured timeout. No write timeout is set:
// watches, log follows and exec sessions stream for as long as they last.
func (a *App) Run(ctx context.Context, ln, tlsLn net.Listener) error {
	g, gctx := errgroup.WithContext(ctx)
	serve := func(l net.Listener, tlsCfg *tls.Config) {
		srv := &http.Server{Handler: a.API.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
			TLSConfig: tlsCfg, ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn)}
		g.Go(func() error {
			var err error
			if tlsCfg != nil {
				err = srv.ServeTLS(l, "", "")
			} else {
				err = srv.Serve(l)
			}
			if !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
		g.Go(func() error {
			<-gctx.Done()
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.Config.ShutdownTimeout)
			defer cancel()
			return srv.Shutdown(sctx)
		})
	}
	serve(ln, nil)
	if tlsLn != nil && a.Cert != nil {
		serve(tlsLn, &tls.Config{Certificates: []tls.Certificate{a.Cert.TLS}, MinVersion: tls.VersionTLS12})
	}
	g.Go(func() error { return a.Changes.Run(gctx) })
	g.Go(func() error { return a.Events.Run(gctx) })
	g.Go(func() error { return a.Audit.Run(gctx) })
	g.Go(func() error { return a.Clusters.Run(gctx, 30*time.Second) })
	g.Go(func() error { return a.Resources.Run(gctx) })
	g.Go(func() error { return a.RunControllers(gctx) })
	g.Go(func() error { return a.runSpacelets(gctx) })
	g.Go(func() error {
		t := time.NewTicker(10 * time.Minute)
		defer t.Stop()
		for {
			if err := a.Identity.Prune(gctx); err != nil && gctx.Err() == nil {
				a.log.Warn("pruning sessions failed", "error", err)
			}
			select {
			case <-gctx.Done():
				return nil
			case <-t.C:
			}
		}
	})
	return g.Wait()
}

// Close ends the application's lifetime, stops the cluster caches and open-stream re-checks, and
// releases the database and the bus.
func (a *App) Close() {
	if a.stop != nil {
		a.stop()
	}
	if a.Streams != nil {
		a.Streams.Close()
	}
	if a.Resources != nil {
		a.Resources.Close()
	}
	if a.Clusters != nil {
		a.Clusters.Close()
	}
	if a.Bus != nil {
		_ = a.Bus.Close()
	}
	if a.DB != nil {
		_ = a.DB.Close()
	}
}
