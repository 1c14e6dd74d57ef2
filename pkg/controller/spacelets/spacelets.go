// Package spacelets is the spacelet health controller: it marks spacelets offline once they have
// missed several heartbeats (the runs controller then stops placing jobs on them and takes back
// jobs they had not started), publishes their changes as live updates, and exports how many
// spacelets are online, offline and draining.
package spacelets

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubespace/kubespace/pkg/events"
	"github.com/kubespace/kubespace/pkg/spacelet/protocol"
	"github.com/kubespace/kubespace/pkg/store"
)

// Options tune the controller; zero fields take the defaults.
type Options struct {
	// Every is how often spacelets are checked (default protocol.HeartbeatEvery).
	Every time.Duration
	// Missed heartbeats make a spacelet offline (default 3).
	Missed int
	// Now is the clock (tests); nil: time.Now.
	Now func() time.Time
}

// Controller watches spacelet heartbeats.
type Controller struct {
	spacelets store.Spacelets
	events    *events.Publisher
	log       *slog.Logger
	opts      Options

	mu     sync.Mutex
	counts map[string]float64
}

// New returns the controller; pub (nil: none) publishes live updates, reg (nil: none) gets the
// spacelet counts.
func New(s store.Spacelets, pub *events.Publisher, reg prometheus.Registerer, log *slog.Logger, opts Options) *Controller {
	if opts.Every <= 0 {
		opts.Every = protocol.HeartbeatEvery
	}
	if opts.Missed <= 0 {
		opts.Missed = 3
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Controller{spacelets: s, events: pub, log: log.With("controller", "spacelets"), opts: opts, counts: map[string]float64{}}
	if reg != nil {
		for _, state := range []string{"online", "offline", "draining"} {
			reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kubespace_spacelets",
				Help: "Registered spacelets by state (draining ones count as online too).", ConstLabels: prometheus.Labels{"state": state}},
				func() float64 { c.mu.Lock(); defer c.mu.Unlock(); return c.counts[state] }))
		}
	}
	return c
}

// Run checks spacelets every period until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	t := time.NewTicker(c.opts.Every)
	defer t.Stop()
	for {
		if err := c.Check(ctx); err != nil && ctx.Err() == nil {
			c.log.WarnContext(ctx, "checking spacelet heartbeats failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Check marks the spacelets that missed their heartbeats offline and refreshes the counts. It
// is idempotent; run by several controller-managers, each spacelet changes once.
func (c *Controller) Check(ctx context.Context) error {
	cutoff := c.opts.Now().Add(-time.Duration(c.opts.Missed) * c.opts.Every)
	ids, err := c.spacelets.MarkOffline(ctx, cutoff)
	if err != nil {
		return err
	}
	for _, id := range ids {
		c.log.InfoContext(ctx, "spacelet missed its heartbeats: marked offline", "spacelet_id", id)
		if c.events != nil {
			_ = c.events.Publish(ctx, events.Event{Kind: events.KindSpacelet, ObjectID: id, Status: store.SpaceletOffline})
		}
	}
	all, err := c.spacelets.All(ctx)
	if err != nil {
		return err
	}
	counts := map[string]float64{}
	for _, s := range all {
		counts[s.Status]++
		if s.Draining {
			counts["draining"]++
		}
	}
	c.mu.Lock()
	c.counts = counts
	c.mu.Unlock()
	return nil
}
