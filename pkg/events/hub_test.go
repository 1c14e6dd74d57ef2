package events

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/eventbus/membus"
)

func TestHubHistoryAndSlowClients(t *testing.T) {
	bus := membus.New(membus.Options{})
	t.Cleanup(func() { _ = bus.Close() })
	h := NewHub(bus, slog.New(slog.NewTextHandler(io.Discard, nil)))
	all := func(Event) bool { return true }

	// A client that never reads falls behind by more than its buffer: it is reset, not blocked.
	slow := h.Subscribe("", all)
	for i := 0; i < clientBuffer+1; i++ {
		h.deliver(Event{ID: idOf(i), Time: time.Now()})
	}
	select {
	case <-slow.Reset():
	default:
		t.Fatal("a slow client was not reset")
	}
	slow.Close()

	// The history keeps the newest historySize events; resuming before them resets.
	for i := clientBuffer + 1; i < historySize+clientBuffer+10; i++ {
		h.deliver(Event{ID: idOf(i), Time: time.Now()})
	}
	old := h.Subscribe(idOf(0), all)
	select {
	case <-old.Reset():
	default:
		t.Fatal("resuming from a trimmed event must reset")
	}
	recent := h.Subscribe(idOf(historySize+clientBuffer+5), all)
	var got []string
	for len(got) < 4 {
		got = append(got, (<-recent.C()).ID)
	}
	require.Equal(t, []string{idOf(historySize + clientBuffer + 6), idOf(historySize + clientBuffer + 7),
		idOf(historySize + clientBuffer + 8), idOf(historySize + clientBuffer + 9)}, got)

	// Old events leave the history by age too (they arrive in order, so from the front).
	h2 := NewHub(bus, slog.New(slog.NewTextHandler(io.Discard, nil)))
	h2.deliver(Event{ID: "aged", Time: time.Now().Add(-historyAge - time.Minute)})
	h2.deliver(Event{ID: "fresh", Time: time.Now()})
	require.Len(t, h2.history, 1)
	require.Equal(t, "fresh", h2.history[0].ID)
}

func idOf(i int) string { return time.UnixMilli(int64(i)).UTC().Format("20060102150405.000") }
