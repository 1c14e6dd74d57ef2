package spacelets_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/runtest"
	"github.com/kubespace/kubespace/pkg/controller/spacelets"
	"github.com/kubespace/kubespace/pkg/events"
	"github.com/kubespace/kubespace/pkg/store"
)

// TestMissedHeartbeats: a spacelet silent for three heartbeat periods goes offline (with a live
// update); one that reported recently stays online; the gauges count them.
func TestMissedHeartbeats(t *testing.T) {
	for _, engine := range runtest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			e := runtest.Open(t, engine)
			hub := events.NewHub(e.Bus, slog.New(slog.DiscardHandler))
			hctx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { _ = hub.Run(hctx); close(done) }()
			defer func() { stop(); <-done }()
			sub := hub.Subscribe("", func(events.Event) bool { return true })
			defer sub.Close()

			stale := e.Spacelet(t, "old", nil, 1)
			fresh := e.Spacelet(t, "new", nil, 1)
			fresh.Draining = true
			require.NoError(t, e.Store.Spacelets.Update(ctx, fresh))
			now := time.Now().Add(40 * time.Second)
			require.NoError(t, e.Store.Spacelets.Seen(ctx, fresh.ID, now))
			reg := prometheus.NewRegistry()
			c := spacelets.New(e.Store.Spacelets, events.NewPublisher(e.Bus), reg, slog.New(slog.NewTextHandler(io.Discard, nil)),
				spacelets.Options{Every: 10 * time.Second, Now: func() time.Time { return now.Add(time.Second) }})
			// The hub's subscription is in place once a probe event comes through.
			pub := events.NewPublisher(e.Bus)
		probe:
			for {
				require.NoError(t, pub.Publish(ctx, events.Event{Kind: "probe"}))
				select {
				case <-sub.C():
					break probe
				case <-time.After(50 * time.Millisecond):
				}
			}
		drain:
			for {
				select {
				case <-sub.C():
				case <-time.After(100 * time.Millisecond):
					break drain
				}
			}
			require.NoError(t, c.Check(ctx))
			got, err := e.Store.Spacelets.Get(ctx, stale.ID)
			require.NoError(t, err)
			require.Equal(t, store.SpaceletOffline, got.Status)
			got, err = e.Store.Spacelets.Get(ctx, fresh.ID)
			require.NoError(t, err)
			require.Equal(t, store.SpaceletOnline, got.Status)
			require.Equal(t, 1.0, gauge(t, reg, "offline"))
			require.Equal(t, 1.0, gauge(t, reg, "online"))
			require.Equal(t, 1.0, gauge(t, reg, "draining"))
			select {
			case ev := <-sub.C():
				require.Equal(t, events.KindSpacelet, ev.Kind, "%+v", ev)
				require.Equal(t, stale.ID, ev.ObjectID)
				require.Equal(t, store.SpaceletOffline, ev.Status)
			case <-time.After(5 * time.Second):
				t.Fatal("no live update for the spacelet that went offline")
			}
			require.NoError(t, c.Check(ctx), "checking again changes nothing")
		})
	}
}

// gauge reads kubespace_spacelets{state=state}.
func gauge(t *testing.T, reg *prometheus.Registry, state string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "kubespace_spacelets" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "state" && l.GetValue() == state {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no kubespace_spacelets{state=%q}", state)
	return 0
}
