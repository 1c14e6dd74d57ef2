package nudge_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/eventbus/membus"
	"github.com/kubespace/kubespace/pkg/pipeline/nudge"
)

func woken(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	case <-time.After(50 * time.Millisecond):
		return false
	}
}

func TestWaiters(t *testing.T) {
	w := nudge.NewWaiters()
	a, doneA := w.Wait(1)
	b, doneB := w.Wait(2)
	w.Wake(1)
	require.True(t, woken(a))
	require.False(t, woken(b), "a wake is for its id only")
	w.Wake(1)
	w.Wake(1)
	require.True(t, woken(a))
	require.False(t, woken(a), "wakes coalesce")
	doneA()
	w.Wake(1) // nobody waits: nothing blocks
	w.WakeAll()
	require.True(t, woken(b))
	doneB()
}

// Follow feeds the bus's nudges to the waiters of their ids.
func TestWaitersFollow(t *testing.T) {
	bus := membus.New(membus.Options{})
	defer bus.Close()
	ctx, cancel := context.WithCancel(context.Background())
	w := nudge.NewWaiters()
	done := make(chan error, 1)
	go func() { done <- w.Follow(ctx, bus, nudge.TopicLog, slog.New(slog.DiscardHandler)) }()
	ch, stop := w.Wait(7)
	defer stop()
	require.Eventually(t, func() bool {
		require.NoError(t, nudge.Publish(ctx, bus, nudge.TopicLog, 7))
		return woken(ch)
	}, 5*time.Second, time.Millisecond)
	cancel()
	require.NoError(t, <-done)
}
