// Package controllerapp runs KubeSpace's controllers — pipeline runs, triggers, spacelet health, and
// whatever further controllers the caller adds — under one context. The controller-manager
// binary runs it on its own; the server runs the same code in-process when RUN_CONTROLLERS is on
// (the embedded all-in-one), so both modes share every code path.
package controllerapp

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/kubespace/kubespace/pkg/controller/runs"
	"github.com/kubespace/kubespace/pkg/controller/spacelets"
	"github.com/kubespace/kubespace/pkg/controller/triggers"
	"github.com/kubespace/kubespace/pkg/eventbus"
	"github.com/kubespace/kubespace/pkg/events"
	"github.com/kubespace/kubespace/pkg/pipeline/run"
	"github.com/kubespace/kubespace/pkg/store"
)

// PlacementCache is how long the run service of a process running controllers keeps the
// spacelets and their loads between placements (run.Deps.PlacementCache).
const PlacementCache = 250 * time.Millisecond

// Parts are what the controllers work with.
type Parts struct {
	Store store.Store
	Bus   eventbus.Bus
	// Runs is the run service (its Sync is the runs controller's reconcile step).
	Runs *run.Service
	// Events publishes live updates (nil: none).
	Events *events.Publisher
	// Registry receives the controllers' metrics (nil: none).
	Registry prometheus.Registerer
	Log      *slog.Logger
	// Workers and Resync tune the runs controller (zero: its defaults).
	Workers int
	Resync  time.Duration
	// Branches reads branch heads for the cron and polling triggers of code pipelines (nil:
	// those are skipped; Branches(workspaceService) provides it).
	Branches triggers.Branches
	// Triggers tunes the cron, polling and chaining triggers (zero: their defaults).
	Triggers triggers.Config
	// More are further controllers (triggers, log retention, ...), each running until ctx ends.
	More []func(ctx context.Context) error
}

// Run runs every controller until ctx ends, or until one fails (the others are then stopped).
func Run(ctx context.Context, p Parts) error {
	if p.Store.PipelineRuns == nil || p.Store.Spacelets == nil || p.Bus == nil || p.Runs == nil {
		return errors.New("controllerapp: Store, Bus and Runs are required")
	}
	log := p.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rc := runs.New(p.Runs, p.Store.PipelineRuns, p.Bus, p.Registry, log, runs.Options{Workers: p.Workers, Resync: p.Resync})
	sc := spacelets.New(p.Store.Spacelets, p.Events, p.Registry, log, spacelets.Options{})
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return rc.Run(gctx) })
	g.Go(func() error { return sc.Run(gctx) })
	tcfg := p.Triggers
	if tcfg.Log == nil {
		tcfg.Log = log.With("controller", "triggers")
	}
	tc := triggers.New(triggers.Stores{Pipelines: p.Store.Pipelines, Runs: p.Store.PipelineRuns, Triggers: p.Store.Triggers},
		Starter(p.Runs, p.Store), p.Branches, p.Bus, tcfg)
	g.Go(func() error { return tc.Run(gctx) })
	for _, more := range p.More {
		g.Go(func() error { return more(gctx) })
	}
	log.InfoContext(ctx, "controllers started", "controllers", 3+len(p.More))
	return g.Wait()
}
