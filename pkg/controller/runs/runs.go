// Package runs is the pipeline runs controller. It is level-triggered, in the manner of
// kubernetes/sample-controller: bus nudges (pipeline.run) and a periodic resync of every active
// run only put run ids on a client-go workqueue; workers reconcile each run from the database
// with run.Service.Sync, whose conditional writes make several controller-managers safe.
package runs

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/util/workqueue"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/eventbus"
	"github.com/kubespace/kubespace/pkg/pipeline/nudge"
	"github.com/kubespace/kubespace/pkg/pipeline/run"
	"github.com/kubespace/kubespace/pkg/store"
)

// Syncer is the reconcile step (run.Service implements it).
type Syncer interface {
	Sync(ctx context.Context, runID int64) (run.SyncResult, error)
}

// Options tune the controller; zero fields take the defaults.
type Options struct {
	// Workers reconcile runs in parallel (default 4); one run is never reconciled by two
	// workers of one controller at once (the workqueue guarantees it).
	Workers int
	// Resync is how often every active run is queued (default 10s): the bound on the delay a lost
	// nudge causes.
	Resync time.Duration
}

// Controller drives runs. Run it once.
type Controller struct {
	sync  Syncer
	runs  store.PipelineRuns
	bus   eventbus.Bus
	log   *slog.Logger
	opts  Options
	queue workqueue.TypedRateLimitingInterface[int64]
	m     *metrics
}

// New returns a controller; reg receives its metrics (nil: none).
func New(s Syncer, runs store.PipelineRuns, bus eventbus.Bus, reg prometheus.Registerer, log *slog.Logger, opts Options) *Controller {
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.Resync <= 0 {
		opts.Resync = 10 * time.Second
	}
	q := workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[int64](5*time.Millisecond, 10*time.Second),
		workqueue.TypedRateLimitingQueueConfig[int64]{Name: "pipeline_runs"})
	c := &Controller{sync: s, runs: runs, bus: bus, log: log.With("controller", "runs"), opts: opts, queue: q}
	c.m = newMetrics(reg, func() float64 { return float64(q.Len()) })
	return c
}

// Enqueue asks for a run to be reconciled (the in-process twin of a nudge).
func (c *Controller) Enqueue(id int64) { c.queue.Add(id) }

// Run reconciles until ctx ends, then stops its workers and returns.
func (c *Controller) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer func() {
		c.queue.ShutDown()
		wg.Wait()
	}()
	for i := 0; i < c.opts.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c.next(ctx) {
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = eventbus.Follow(ctx, c.bus, nudge.TopicRun, c.log, func(first bool) {
			if !first {
				c.resync(ctx) // nudges may have been lost while resubscribing
			}
		}, func(m eventbus.Message) {
			var p struct {
				ID int64 `json:"id"`
			}
			if json.Unmarshal(m.Payload, &p) == nil && p.ID > 0 {
				c.queue.Add(p.ID)
			}
		})
	}()
	t := time.NewTicker(c.opts.Resync)
	defer t.Stop()
	for {
		c.resync(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// resync queues every active run.
func (c *Controller) resync(ctx context.Context) {
	ids, err := c.runs.Active(ctx)
	if err != nil {
		if ctx.Err() == nil {
			c.log.WarnContext(ctx, "listing active runs failed", "error", err)
		}
		return
	}
	for _, id := range ids {
		c.queue.Add(id)
	}
}

// next reconciles one queued run; false once the queue shut down.
func (c *Controller) next(ctx context.Context) bool {
	id, shutdown := c.queue.Get()
	if shutdown {
		return false
	}
	defer c.queue.Done(id)
	start := time.Now()
	res, err := c.sync.Sync(ctx, id)
	c.m.syncs.WithLabelValues(outcome(res, err)).Inc()
	c.m.syncSeconds.Observe(time.Since(start).Seconds())
	switch {
	case errs.Is(err, errs.NotFound):
		c.queue.Forget(id) // deleted with its pipeline (or a nudge from another installation)
		return true
	case err != nil:
		if ctx.Err() == nil {
			c.log.WarnContext(ctx, "reconciling a run failed", "run_id", id, "error", err)
			c.queue.AddRateLimited(id)
		}
		return true
	case res.Retry:
		c.queue.AddRateLimited(id)
		return true
	}
	c.queue.Forget(id)
	for _, j := range res.Finished {
		if j.StartedAt != nil && j.FinishedAt != nil {
			c.m.jobSeconds.WithLabelValues(j.PluginKey, j.Status).Observe(j.FinishedAt.Sub(*j.StartedAt).Seconds())
		}
	}
	if res.After > 0 {
		c.queue.AddAfter(id, res.After)
	}
	return true
}

func outcome(res run.SyncResult, err error) string {
	switch {
	case err != nil:
		return "error"
	case res.Retry:
		return "conflict"
	}
	return "ok"
}

type metrics struct {
	syncs       *prometheus.CounterVec
	syncSeconds prometheus.Histogram
	jobSeconds  *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer, depth func() float64) *metrics {
	m := &metrics{
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kubespace_pipeline_run_syncs_total",
			Help: "Reconciles of pipeline runs by outcome (ok, conflict: lost a race and retried, error)."}, []string{"outcome"}),
		syncSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "kubespace_pipeline_run_sync_seconds",
			Help: "Time to reconcile a pipeline run once.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}),
		jobSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kubespace_pipeline_job_duration_seconds",
			Help: "Pipeline job run time from start to result, by plugin and result.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 18)},
			[]string{"plugin", "status"}),
	}
	if reg != nil {
		reg.MustRegister(m.syncs, m.syncSeconds, m.jobSeconds, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "kubespace_pipeline_run_queue_depth", Help: "Pipeline runs waiting in the runs controller's queue."}, depth))
	}
	return m
}
