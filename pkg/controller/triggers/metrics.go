package triggers

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics count what the triggers did. A nil *metrics counts nothing.
type metrics struct {
	started *prometheus.CounterVec
	failed  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		return nil
	}
	m := &metrics{
		started: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kubespace_pipeline_trigger_runs_started_total",
			Help: "Runs started by triggers, by trigger (cron, push, poll, pipeline)."}, []string{"trigger"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kubespace_pipeline_trigger_failures_total",
			Help: "Trigger evaluations that failed (listing pipelines, reading branches, starting a run), by trigger."}, []string{"trigger"}),
	}
	m.started = register(reg, m.started)
	m.failed = register(reg, m.failed)
	return m
}

// register registers c, or reuses the collector already registered under its name (the server
// and an in-process controller may share one registry).
func register(reg prometheus.Registerer, c *prometheus.CounterVec) *prometheus.CounterVec {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing
			}
		}
	}
	return c
}

func (m *metrics) start(trigger string) {
	if m != nil {
		m.started.WithLabelValues(trigger).Inc()
	}
}

func (m *metrics) fail(trigger string) {
	if m != nil {
		m.failed.WithLabelValues(trigger).Inc()
	}
}

// countingStarter counts the starts (and failed starts) of the starter it wraps.
type countingStarter struct {
	Starter
	m *metrics
}

func (s countingStarter) Start(ctx context.Context, pipelineID int64, req StartRequest) (int64, error) {
	id, err := s.Starter.Start(ctx, pipelineID, req)
	if err != nil {
		s.m.fail(req.Trigger)
	} else {
		s.m.start(req.Trigger)
	}
	return id, err
}

// Instrument counts the runs s starts in reg (kubespace_pipeline_trigger_runs_started_total and
// kubespace_pipeline_trigger_failures_total, by trigger). reg nil returns s unchanged.
func Instrument(s Starter, reg prometheus.Registerer) Starter {
	m := newMetrics(reg)
	if m == nil {
		return s
	}
	return countingStarter{Starter: s, m: m}
}
