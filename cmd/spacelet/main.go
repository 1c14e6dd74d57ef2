// Command spacelet is a KubeSpace pipeline worker. It registers with the server (SERVER_URL,
// with REGISTRATION_TOKEN on its first start; the credential it receives is kept in DATA_DIR),
// long-polls for the jobs assigned to it and runs them. It accepts no work on any port: the
// optional METRICS_PORT serves /healthz and /metrics and nothing else.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/kubespace/kubespace/pkg/config"
	"github.com/kubespace/kubespace/pkg/plugin/builtin"
	"github.com/kubespace/kubespace/pkg/spacelet"
)

// Set by the build (-ldflags -X).
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "kubespace spacelet:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string) error {
	cfg, err := config.LoadSpacelet(args, getenv)
	if err != nil {
		return err
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	var ca []byte
	if cfg.CAFile != "" {
		if ca, err = os.ReadFile(cfg.CAFile); err != nil {
			return fmt.Errorf("CA_FILE: %w", err)
		}
	}
	hc, err := spacelet.HTTPClient(ca)
	if err != nil {
		return err
	}
	client, err := spacelet.NewClient(cfg.ServerURL, hc)
	if err != nil {
		return err
	}
	agent := spacelet.New(client, spacelet.Config{Name: cfg.Name, Labels: cfg.Labels, Capacity: cfg.Capacity, DataDir: cfg.DataDir,
		RegistrationToken: cfg.RegistrationToken, Version: version, Plugins: builtin.Default(), Checkout: checkouter(),
		DefaultTimeout: cfg.JobTimeout, ShutdownGrace: cfg.ShutdownGrace, MaxLogBytes: maxLog(cfg.MaxLogMB), Log: log})
	g, gctx := errgroup.WithContext(ctx)
	if cfg.MetricsPort != 0 {
		ln, err := net.Listen("tcp", net.JoinHostPort(cfg.MetricsAddress, strconv.Itoa(cfg.MetricsPort)))
		if err != nil {
			return fmt.Errorf("METRICS_PORT %d: %w", cfg.MetricsPort, err)
		}
		srv := &http.Server{Handler: metricsHandler(agent), ReadHeaderTimeout: 5 * time.Second}
		g.Go(func() error {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
		g.Go(func() error {
			<-gctx.Done()
			sctx, cancel := context.WithTimeout(context.WithoutCancel(gctx), 5*time.Second)
			defer cancel()
			return srv.Shutdown(sctx)
		})
	}
	log.Info("spacelet starting", "server", cfg.ServerURL, "data_dir", cfg.DataDir, "capacity", cfg.Capacity, "labels", cfg.Labels, "version", version)
	g.Go(func() error {
		err := agent.Run(gctx)
		if err != nil {
			return err
		}
		// The agent ends only when ctx does; make the metrics server stop too.
		return context.Cause(gctx)
	})
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	log.Info("spacelet stopped")
	return nil
}

// maxLog converts MAX_LOG_MB to the agent's limit (-1: unbounded).
func maxLog(mb int) int64 {
	if mb == 0 {
		return -1
	}
	return int64(mb) << 20
}

// metricsHandler serves /healthz and /metrics only.
func metricsHandler(a *spacelet.Agent) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kubespace_spacelet_jobs_running", Help: "Jobs running now."},
			func() float64 { return float64(a.Running()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "kubespace_spacelet_jobs_started_total", Help: "Jobs started since the spacelet started."},
			func() float64 { return float64(a.Executed()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kubespace_spacelet_registered", Help: "1 once the spacelet holds an identity."},
			func() float64 {
				if a.ID() != 0 {
					return 1
				}
				return 0
			}))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}

// checkouter clones repositories for jobs of code workspaces.
func checkouter() spacelet.Checkouter { return spacelet.GitCheckout{} }
