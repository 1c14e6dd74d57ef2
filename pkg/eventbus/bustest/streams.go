package bustest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/eventbus"
)

func testOncePerGroup(t *testing.T, b eventbus.Bus) {
	const n = 20
	payloads := make([]string, n)
	for i := range payloads {
		payloads[i] = fmt.Sprintf("m%d", i)
	}
	ids := appendAll(t, b, "s", payloads...)
	want := map[string]string{}
	for i, id := range ids {
		want[id] = payloads[i]
	}

	// Group "work": two consumers take from one group at the same time.
	got := collect(t, n, consumer(t, b, "s", "work", "c1"), consumer(t, b, "s", "work", "c2"))
	require.Equal(t, want, got)

	// Group "audit", created after the appends, still starts at the beginning and sees all, in order.
	audit := consumer(t, b, "s", "audit", "c1")
	for i, id := range ids {
		m := receive(t, audit)
		require.Equal(t, id, m.ID)
		require.Equal(t, payloads[i], string(m.Payload))
		require.Equal(t, "s", m.Topic)
		require.NoError(t, audit.Ack(t.Context(), m.ID))
	}
}

// collect receives and acknowledges up to n messages across consumers running concurrently,
// reporting duplicates, and returns payloads by ID. It may run outside the test's goroutine.
func collect(t *testing.T, n int, consumers ...eventbus.Consumer) map[string]string {
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	var mu sync.Mutex
	got := map[string]string{}
	var wg sync.WaitGroup
	for _, c := range consumers {
		wg.Go(func() {
			for {
				m, err := c.Receive(ctx)
				if err != nil {
					return // ctx ended: all collected, or the test times out below
				}
				if err := c.Ack(t.Context(), m.ID); err != nil {
					t.Errorf("ack %s: %v", m.ID, err)
				}
				mu.Lock()
				if _, dup := got[m.ID]; dup {
					t.Errorf("message %s delivered twice to one group", m.ID)
				}
				got[m.ID] = string(m.Payload)
				if len(got) == n {
					cancel()
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return got
}

func testWorkSharing(t *testing.T, b eventbus.Bus) {
	ids := appendAll(t, b, "s", "first", "second")
	c1, c2 := consumer(t, b, "s", "g", "c1"), consumer(t, b, "s", "g", "c2")
	m1 := receive(t, c1) // held, not acknowledged
	require.Equal(t, ids[0], m1.ID)
	m2 := receive(t, c2)
	require.Equal(t, ids[1], m2.ID, "a message held by a live consumer must not go to another")
	require.Equal(t, "second", string(m2.Payload))
}

func testStreamPayload(t *testing.T, b eventbus.Bus) {
	payloads := [][]byte{{0, 1, 0xff, '\n', 0}, {}, []byte(strings.Repeat("y", 64<<10))}
	c := consumer(t, b, "s", "g", "c1")
	for _, p := range payloads {
		_, err := b.Append(t.Context(), "s", p)
		require.NoError(t, err)
		m := receive(t, c)
		require.Equal(t, p, m.Payload)
		m.Payload = append(m.Payload[:0], "mutated"...) // the receiver owns the bytes
		require.NoError(t, c.Ack(t.Context(), m.ID))
	}
	other := consumer(t, b, "s", "other", "c1")
	for _, p := range payloads {
		require.Equal(t, p, receive(t, other).Payload, "stored payload changed by a receiver")
	}
}

func testStreamIsolation(t *testing.T, b eventbus.Bus) {
	appendAll(t, b, "a", "for a")
	ids := appendAll(t, b, "b", "for b")
	m := receive(t, consumer(t, b, "b", "g", "c1"))
	require.Equal(t, ids[0], m.ID)
	require.Equal(t, "for b", string(m.Payload))
	require.Equal(t, "b", m.Topic)
}

func testAckedNotRedelivered(t *testing.T, b eventbus.Bus) {
	ids := appendAll(t, b, "s", "acked", "unacked")
	c1 := consumer(t, b, "s", "g", "c1")
	m := receive(t, c1)
	require.Equal(t, ids[0], m.ID)
	require.NoError(t, c1.Ack(t.Context(), m.ID))
	require.NoError(t, c1.Ack(t.Context(), m.ID), "acknowledging twice")
	require.Equal(t, ids[1], receive(t, c1).ID)
	require.NoError(t, c1.Close())

	c2 := consumer(t, b, "s", "g", "c2")
	m = receive(t, c2)
	require.Equal(t, ids[1], m.ID, "only the unacknowledged message comes back")
	require.NoError(t, c2.Ack(t.Context(), m.ID))
	requireNothing(t, c2)
}

func testRedeliverAfterClose(t *testing.T, b eventbus.Bus) {
	ids := appendAll(t, b, "s", "work")
	c1, c2 := consumer(t, b, "s", "g", "c1"), consumer(t, b, "s", "g", "c2")
	require.Equal(t, ids[0], receive(t, c1).ID)

	// c2 is already waiting when c1 stops without acknowledging.
	got := make(chan eventbus.Message, 1)
	go func() {
		ctx, cancel := context.WithTimeout(t.Context(), wait)
		defer cancel()
		m, err := c2.Receive(ctx)
		if err != nil {
			t.Errorf("receive: %v", err)
		}
		got <- m
	}()
	require.NoError(t, c1.Close())
	m := <-got
	require.Equal(t, ids[0], m.ID)
	require.Equal(t, "work", string(m.Payload))

	// A consumer that joins later finds nothing left once c2 has acknowledged.
	require.NoError(t, c2.Ack(t.Context(), m.ID))
	requireNothing(t, consumer(t, b, "s", "g", "c3"))
}

func testClaimFromDeadConsumer(t *testing.T, b eventbus.Bus) {
	ids := appendAll(t, b, "s", "work")
	dead := consumer(t, b, "s", "g", "dead") // receives, then neither acknowledges nor closes
	require.Equal(t, ids[0], receive(t, dead).ID)

	m := receive(t, consumer(t, b, "s", "g", "alive"))
	require.Equal(t, ids[0], m.ID)
	require.Equal(t, "work", string(m.Payload))
}

func testReceiveContext(t *testing.T, b eventbus.Bus) {
	c := consumer(t, b, "s", "g", "c1")
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Receive(ctx)
		errc <- err
	}()
	cancel()
	select {
	case err := <-errc:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(wait):
		t.Fatal("Receive ignored ctx cancellation")
	}

	expired, cancel2 := context.WithTimeout(t.Context(), time.Millisecond)
	defer cancel2()
	_, err := c.Receive(expired)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// The consumer still works afterwards.
	ids := appendAll(t, b, "s", "after")
	require.Equal(t, ids[0], receive(t, c).ID)
}

func testConsumerClose(t *testing.T, b eventbus.Bus) {
	c := consumer(t, b, "s", "g", "c1")
	errc := make(chan error, 1)
	go func() {
		_, err := c.Receive(t.Context())
		errc <- err
	}()
	require.NoError(t, c.Close())
	select {
	case err := <-errc:
		require.ErrorIs(t, err, eventbus.ErrClosed)
	case <-time.After(wait):
		t.Fatal("Close did not unblock Receive")
	}
	_, err := c.Receive(t.Context())
	require.ErrorIs(t, err, eventbus.ErrClosed)
	require.NoError(t, c.Close(), "second Close")
	require.NoError(t, b.Ping(t.Context()), "closing a consumer leaves the bus open")
}

// testConcurrentStreams appends from several goroutines while two groups consume (run it under
// -race).
func testConcurrentStreams(t *testing.T, b eventbus.Bus) {
	const appenders, perAppender = 4, 25
	var wg sync.WaitGroup
	var mu sync.Mutex
	want := map[string]string{}
	for a := range appenders {
		wg.Go(func() {
			for i := range perAppender {
				p := fmt.Sprintf("%d/%d", a, i)
				id, err := b.Append(t.Context(), "s", []byte(p))
				if err != nil {
					t.Errorf("append: %v", err)
					return
				}
				mu.Lock()
				want[id] = p
				mu.Unlock()
			}
		})
	}
	g1 := []eventbus.Consumer{consumer(t, b, "s", "g1", "c1"), consumer(t, b, "s", "g1", "c2"), consumer(t, b, "s", "g1", "c3")}
	g2 := consumer(t, b, "s", "g2", "c1")
	results := make([]map[string]string, 2)
	wg.Go(func() { results[0] = collect(t, appenders*perAppender, g1...) })
	wg.Go(func() { results[1] = collect(t, appenders*perAppender, g2) })
	wg.Wait()
	require.Equal(t, want, results[0])
	require.Equal(t, want, results[1])
}
