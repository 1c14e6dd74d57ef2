package triggers

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/util/workqueue"

	"github.com/kubespace/kubespace/pkg/eventbus"
	"github.com/kubespace/kubespace/pkg/pipeline/nudge"
)

// Config tunes the controller. Zero values take the defaults.
type Config struct {
	// CronInterval is how often cron triggers are checked (10s): a tick fires within it.
	CronInterval time.Duration
	// PollInterval is how often repositories of pipelines with polling are read (60s).
	PollInterval time.Duration
	// ChainResync is how often the latest runs of chained pipelines are re-examined (30s),
	// covering a lost run nudge.
	ChainResync time.Duration
	// DeliveryRetention is how long webhook delivery ids are remembered (7 days): a provider
	// redelivering later than that would start the push again.
	DeliveryRetention time.Duration
	// Metrics receives the counts of runs started (nil: none).
	Metrics prometheus.Registerer
	// Now is the clock (time.Now).
	Now func() time.Time
	Log *slog.Logger
}

func (c *Config) defaults() {
	if c.CronInterval <= 0 {
		c.CronInterval = 10 * time.Second
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Minute
	}
	if c.ChainResync <= 0 {
		c.ChainResync = 30 * time.Second
	}
	if c.DeliveryRetention <= 0 {
		c.DeliveryRetention = 7 * 24 * time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
}

// Controller runs the cron, polling and chaining triggers. Run it in every controller-manager:
// the state compare-and-sets make the replicas agree.
type Controller struct {
	stores   Stores
	starter  Starter
	branches Branches
	bus      eventbus.Bus
	push     *PushHandler
	cfg      Config
	cron     cronCache
}

// New returns a Controller. branches may be nil (then polling and cron runs of code pipelines
// are skipped with a log line); bus may be nil (then chaining relies on its resync alone).
func New(stores Stores, starter Starter, branches Branches, bus eventbus.Bus, cfg Config) *Controller {
	cfg.defaults()
	starter = Instrument(starter, cfg.Metrics)
	ph := NewPushHandler(stores, starter, cfg.Log)
	ph.now = cfg.Now
	return &Controller{stores: stores, starter: starter, branches: branches, bus: bus, push: ph, cfg: cfg, cron: cronCache{}}
}

// Run evaluates the triggers until ctx ends. It returns nil on cancellation.
func (c *Controller) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		every(ctx, c.cfg.CronInterval, func() { c.CronOnce(ctx) })
		return nil
	})
	g.Go(func() error {
		every(ctx, c.cfg.PollInterval, func() { c.PollOnce(ctx) })
		return nil
	})
	g.Go(func() error {
		every(ctx, time.Hour, func() { c.PruneDeliveries(ctx) })
		return nil
	})
	// Chaining: run nudges enqueue run ids; a resync re-examines the latest runs. The queue
	// coalesces repeated nudges of one run.
	q := workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[int64](),
		workqueue.TypedRateLimitingQueueConfig[int64]{Name: "pipeline_triggers_chain"})
	g.Go(func() error {
		<-ctx.Done()
		q.ShutDown()
		return nil
	})
	if c.bus != nil {
		g.Go(func() error {
			return eventbus.Follow(ctx, c.bus, nudge.TopicRun, c.cfg.Log, nil, func(m eventbus.Message) {
				if id, ok := nudgeID(m.Payload); ok {
					q.Add(id)
				}
			})
		})
	}
	g.Go(func() error {
		every(ctx, c.cfg.ChainResync, func() { c.ChainResyncOnce(ctx) })
		return nil
	})
	g.Go(func() error {
		for {
			id, quit := q.Get()
			if quit {
				return nil
			}
			if err := c.ChainRun(ctx, id); err != nil && ctx.Err() == nil {
				c.cfg.Log.WarnContext(ctx, "chaining after a run failed", "run_id", id, "error", err)
				q.AddRateLimited(id)
			} else {
				q.Forget(id)
			}
			q.Done(id)
		}
	})
	return g.Wait()
}

// PruneDeliveries forgets webhook deliveries older than the retention.
func (c *Controller) PruneDeliveries(ctx context.Context) {
	n, err := c.stores.Triggers.DeleteDeliveriesBefore(ctx, c.cfg.Now().Add(-c.cfg.DeliveryRetention))
	if err != nil {
		c.cfg.Log.WarnContext(ctx, "pruning webhook deliveries failed", "error", err)
	} else if n > 0 {
		c.cfg.Log.InfoContext(ctx, "webhook deliveries pruned", "count", n)
	}
}

// every calls fn at once and then every d until ctx ends.
func every(ctx context.Context, d time.Duration, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		fn()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// nudgeID reads the id of a nudge (the payload of pkg/pipeline/nudge).
func nudgeID(payload []byte) (int64, bool) {
	var p struct {
		ID int64 `json:"id"`
	}
	if json.Unmarshal(payload, &p) != nil || p.ID <= 0 {
		return 0, false
	}
	return p.ID, true
}
