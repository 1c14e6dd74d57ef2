package bustest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/eventbus"
)

func subscribe(t *testing.T, b eventbus.Bus, topic string) <-chan eventbus.Message {
	t.Helper()
	ch, err := b.Subscribe(t.Context(), topic)
	require.NoError(t, err)
	return ch
}

func publish(t *testing.T, b eventbus.Bus, topic, payload string) {
	t.Helper()
	require.NoError(t, b.Publish(t.Context(), topic, []byte(payload)))
}

func testFanOut(t *testing.T, b eventbus.Bus) {
	subs := []<-chan eventbus.Message{subscribe(t, b, "t"), subscribe(t, b, "t"), subscribe(t, b, "t")}
	for _, p := range []string{"one", "two", "three"} {
		publish(t, b, "t", p)
	}
	for i, ch := range subs {
		for _, want := range []string{"one", "two", "three"} {
			m := next(t, ch)
			require.Equal(t, want, string(m.Payload), "subscriber %d", i)
			require.Equal(t, "t", m.Topic)
		}
	}
}

func testPubSubPayload(t *testing.T, b eventbus.Bus) {
	ch := subscribe(t, b, "t")
	for _, p := range [][]byte{{0, 1, 0xff, '\n', 0}, {}, []byte(strings.Repeat("x", 64<<10))} {
		require.NoError(t, b.Publish(t.Context(), "t", p))
		require.Equal(t, p, next(t, ch).Payload)
	}
}

func testTopicIsolation(t *testing.T, b eventbus.Bus) {
	a, other := subscribe(t, b, "a"), subscribe(t, b, "b")
	publish(t, b, "a", "for a")
	publish(t, b, "b", "for b")
	// Publishes are ordered, so if "for a" leaked to b it would arrive first.
	m := next(t, other)
	require.Equal(t, "for b", string(m.Payload))
	require.Equal(t, "b", m.Topic)
	m = next(t, a)
	require.Equal(t, "for a", string(m.Payload))
	require.Equal(t, "a", m.Topic)
}

func testNoReplay(t *testing.T, b eventbus.Bus) {
	early := subscribe(t, b, "t")
	publish(t, b, "t", "before")
	require.Equal(t, "before", string(next(t, early).Payload))
	late := subscribe(t, b, "t")
	publish(t, b, "t", "after")
	require.Equal(t, "after", string(next(t, late).Payload), "a subscriber must not see earlier nudges")
}

func testCancelSubscriber(t *testing.T, b eventbus.Bus) {
	ctx, cancel := context.WithCancel(t.Context())
	gone, err := b.Subscribe(ctx, "t")
	require.NoError(t, err)
	stays := subscribe(t, b, "t")

	cancel()
	requireClosed(t, gone)
	publish(t, b, "t", "after cancel")
	require.Equal(t, "after cancel", string(next(t, stays).Payload))
	_, ok := <-gone
	require.False(t, ok, "a cancelled subscription must stay closed")

	_, err = b.Subscribe(ctx, "t")
	require.ErrorIs(t, err, context.Canceled, "Subscribe with a cancelled ctx")
}

func testSlowSubscriber(t *testing.T, b eventbus.Bus) {
	const n = 1000
	slow := subscribe(t, b, "t") // never read until the end
	fast := subscribe(t, b, "t")

	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			if err := b.Publish(t.Context(), "t", []byte(strconv.Itoa(i))); err != nil {
				t.Errorf("publish %d: %v", i, err)
				return
			}
		}
		if err := b.Publish(t.Context(), "t", []byte("last")); err != nil {
			t.Errorf("publish last: %v", err)
		}
	}()
	// The fast subscriber reads everything while the slow one holds its buffer full.
	seenLast := false
	for !seenLast {
		seenLast = string(next(t, fast).Payload) == "last"
	}
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("publishers blocked by a subscriber that does not read")
	}
	// Drops take the oldest, so the most recent nudge always reaches even a slow subscriber.
	for seenLast = false; !seenLast; {
		seenLast = string(next(t, slow).Payload) == "last"
	}
	if d, ok := b.(interface{ Dropped() uint64 }); ok {
		require.Positive(t, d.Dropped(), "drops must be counted")
	}
}

// testConcurrentPublishers publishes from several goroutines to several readers (run it under
// -race). Drops are allowed; reordering of one publisher's nudges is not.
func testConcurrentPublishers(t *testing.T, b eventbus.Bus) {
	const publishers, perPublisher, readers = 4, 200, 3
	chans := make([]<-chan eventbus.Message, readers)
	for i := range chans {
		chans[i] = subscribe(t, b, "t")
	}
	var readWG sync.WaitGroup
	for i, ch := range chans {
		readWG.Go(func() {
			last := map[string]int{}
			for {
				m, ok := <-ch
				if !ok {
					t.Errorf("reader %d: channel closed early", i)
					return
				}
				p := string(m.Payload)
				if p == "end" {
					return
				}
				pub, seq, _ := strings.Cut(p, "/")
				n, _ := strconv.Atoi(seq)
				if prev, seen := last[pub]; seen && n <= prev {
					t.Errorf("reader %d: publisher %s sent %d after %d", i, pub, n, prev)
				}
				last[pub] = n
			}
		})
	}
	var pubWG sync.WaitGroup
	for p := range publishers {
		pubWG.Go(func() {
			for i := range perPublisher {
				if err := b.Publish(t.Context(), "t", fmt.Appendf(nil, "%d/%d", p, i)); err != nil {
					t.Errorf("publish: %v", err)
					return
				}
			}
		})
	}
	pubWG.Wait()
	publish(t, b, "t", "end")
	finished := make(chan struct{})
	go func() { readWG.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(wait):
		t.Fatal("readers did not receive the final nudge")
	}
}
