// Command controller-manager runs KubeSpace's controllers (pipeline runs, spacelet health, ...)
// against the server's database and event bus. Several may run at once: every change they make
// is a conditional update, so no job starts twice. Configuration comes from the environment
// (flags override); see ARCHITECTURE §2 and README.
package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"
	"k8s.io/klog/v2"

	"github.com/kubespace/kubespace/internal/controllerapp"
	"github.com/kubespace/kubespace/pkg/audit"
	"github.com/kubespace/kubespace/pkg/config"
	"github.com/kubespace/kubespace/pkg/controller/triggers"
	"github.com/kubespace/kubespace/pkg/eventbus"
	"github.com/kubespace/kubespace/pkg/eventbus/membus"
	"github.com/kubespace/kubespace/pkg/eventbus/redisbus"
	"github.com/kubespace/kubespace/pkg/events"
	"github.com/kubespace/kubespace/pkg/pipeline/run"
	"github.com/kubespace/kubespace/pkg/pipeline/workspace"
	"github.com/kubespace/kubespace/pkg/secretbox"
	"github.com/kubespace/kubespace/pkg/settings"
	"github.com/kubespace/kubespace/pkg/store/database"
)

// Set by the build (-ldflags -X).
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "kubespace controller-manager:", err)
		os.Exit(1)
	}
}

func serve(ctx context.Context, args []string) error {
	cfg, err := config.LoadControllerManager(args, os.Getenv)
	if err != nil {
		return err
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("component", "controller-manager")
	klog.SetSlogLogger(log.With("component", "client-go"))

	db, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	bus, closeBus, err := openBus(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeBus()
	if cfg.Redis.Address == "" {
		log.Warn("REDIS_ADDRESS is unset: the server's nudges cannot reach this process, runs advance on resyncs only", "resync", cfg.Resync)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	st := db.Store()
	pub := events.NewPublisher(bus)
	// The workspace service reads repositories (commits of triggered runs, branch heads for cron
	// and polling); their credentials need the secret key.
	var commits run.Commits
	var branches triggers.Branches
	if box, err := secretBox(cfg); err != nil {
		return err
	} else if box == nil {
		log.Warn("no secret key (SECRET_KEY, SECRET_KEY_FILE or DATA_DIR/secret.key): runs of code pipelines cannot be started by triggers here")
	} else {
		ws := workspace.New(workspace.Deps{Store: st, Box: box, Secrets: settings.NewSecrets(st.Secrets, box), Log: log})
		commits, branches = controllerapp.Commits(ws), controllerapp.Branches(ws)
	}
	// Runs started by triggers are audited here (the server prunes the audit log).
	runs := run.New(run.Deps{Store: st, Bus: bus, Events: pub, Commits: commits, Audit: audit.New(st.Audit, 0, log), Log: log,
		PlacementCache: controllerapp.PlacementCache})

	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.MetricsAddress, strconv.Itoa(cfg.MetricsPort)))
	if err != nil {
		return fmt.Errorf("METRICS_PORT %d: %w", cfg.MetricsPort, err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return controllerapp.ServeOps(gctx, ln, controllerapp.OpsHandler(reg, []controllerapp.Check{
			{Name: "database", Check: db.Ping}, {Name: "event_bus", Check: bus.Ping}}), cfg.ShutdownTimeout, log)
	})
	g.Go(func() error {
		return controllerapp.Run(gctx, controllerapp.Parts{Store: st, Bus: bus, Runs: runs, Events: pub, Registry: reg, Log: log,
			Workers: cfg.Workers, Resync: cfg.Resync, Branches: branches})
	})
	log.Info("controller-manager started", "metrics_port", cfg.MetricsPort, "version", version)
	err = g.Wait()
	log.Info("controller-manager stopped")
	return err
}

// secretBox opens the configured key, or in the embedded mode the server's key file (nil when
// there is none).
func secretBox(cfg *config.ControllerManager) (*secretbox.Box, error) {
	key := cfg.SecretKey
	if key == nil && cfg.Embedded() {
		k, err := secretbox.ReadKeyFile(filepath.Join(cfg.DataDir, "secret.key"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("DATA_DIR secret.key: %w", err)
		}
		key = k
	}
	if key == nil {
		return nil, nil
	}
	return secretbox.New(key)
}

func openDatabase(ctx context.Context, cfg *config.ControllerManager, log *slog.Logger) (*database.DB, error) {
	dc := database.Config{Logger: log}
	if cfg.Embedded() {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("DATA_DIR %s: %w", cfg.DataDir, err)
		}
		dc.SQLitePath = cfg.SQLitePath()
	} else {
		mc, err := database.MySQLConfig(cfg.MySQL.Host, strconv.Itoa(cfg.MySQL.Port), cfg.MySQL.User, cfg.MySQL.Password, cfg.MySQL.DBName)
		if err != nil {
			return nil, fmt.Errorf("MYSQL_HOST: %w", err)
		}
		dc.MySQL = mc
	}
	db, err := database.Open(ctx, dc)
	if err != nil {
		return nil, err
	}
	// Migrations are locked and applied once, so starting before the server is safe.
	if err := db.Migrate(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("migrate database: %w", err)
	}
	return db, nil
}

// openBus returns the bus and what releases it (the bus and, for Redis, its client).
func openBus(ctx context.Context, cfg *config.ControllerManager) (eventbus.Bus, func(), error) {
	if cfg.Redis.Address == "" {
		b := membus.New(membus.Options{})
		return b, func() { _ = b.Close() }, nil
	}
	client := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{cfg.Redis.Address}, Password: cfg.Redis.Password})
	bus := redisbus.New(client, redisbus.Options{})
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := bus.Ping(pctx); err != nil {
		_ = bus.Close()
		_ = client.Close()
		return nil, nil, fmt.Errorf("REDIS_ADDRESS %s: %w", cfg.Redis.Address, err)
	}
	return bus, func() { _ = bus.Close(); _ = client.Close() }, nil
}
