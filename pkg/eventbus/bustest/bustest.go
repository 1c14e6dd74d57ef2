// Package bustest is the contract suite every eventbus.Bus implementation passes. Implementations
// call Run from their tests (and RunRestart when their streams outlive the Bus).
//
// The suite asserts behaviour, never timing, except for generous timeouts. It needs the bus under
// test configured for tests: a claim timeout of at most about 500ms, a stream read block time
// below the claim timeout, and a subscriber buffer well below 1000 nudges.
package bustest

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/eventbus"
)

const (
	// wait bounds every wait for something that must happen; it is far above any claim timeout,
	// block time or scheduling delay, so reaching it means the behaviour is missing.
	wait = 15 * time.Second
	// quiet is how long a test watches for something that must not happen. It exceeds the claim
	// timeout several times over, so a message wrongly left claimable would show up.
	quiet = 2 * time.Second
)

// Run runs the contract suite. newBus must return a new, empty, isolated Bus each call and arrange
// its cleanup with t.Cleanup; the suite may also Close it itself.
func Run(t *testing.T, newBus func(t *testing.T) eventbus.Bus) {
	// First and alone, so that the parallel subtests below do not disturb the goroutine count.
	t.Run("lifecycle/close leaves no goroutines", func(t *testing.T) { testNoGoroutineLeak(t, newBus) })

	tests := []struct {
		name string
		fn   func(t *testing.T, b eventbus.Bus)
	}{
		{"lifecycle/ping", testPing},
		{"lifecycle/close ends everything", testClose},
		{"pubsub/fan-out to every subscriber", testFanOut},
		{"pubsub/payload bytes unchanged", testPubSubPayload},
		{"pubsub/topic isolation", testTopicIsolation},
		{"pubsub/no replay to later subscribers", testNoReplay},
		{"pubsub/cancelled subscriber is closed and skipped", testCancelSubscriber},
		{"pubsub/slow subscriber never blocks publishers", testSlowSubscriber},
		{"pubsub/concurrent publishers", testConcurrentPublishers},
		{"streams/each group gets every message once", testOncePerGroup},
		{"streams/consumers share work", testWorkSharing},
		{"streams/payload bytes unchanged", testStreamPayload},
		{"streams/stream isolation", testStreamIsolation},
		{"streams/acked message is not redelivered", testAckedNotRedelivered},
		{"streams/unacked message goes to the next consumer after close", testRedeliverAfterClose},
		{"streams/message of a dead consumer is claimed after the timeout", testClaimFromDeadConsumer},
		{"streams/receive honours ctx", testReceiveContext},
		{"streams/close unblocks receive", testConsumerClose},
		{"streams/concurrent appenders and consumers", testConcurrentStreams},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newBus(t))
		})
	}
}

func testNoGoroutineLeak(t *testing.T, newBus func(t *testing.T) eventbus.Bus) {
	b := newBus(t)
	ctx := t.Context()
	require.NoError(t, b.Ping(ctx)) // lets a client start its own long-lived goroutines first
	before := runtime.NumGoroutine()

	subCtx, cancel := context.WithCancel(ctx)
	_, err := b.Subscribe(subCtx, "leak-a")
	require.NoError(t, err)
	_, err = b.Subscribe(ctx, "leak-b")
	require.NoError(t, err)
	c, err := b.Consumer(ctx, "leak", "g", "c1")
	require.NoError(t, err)
	received := make(chan error, 1)
	go func() {
		_, err := c.Receive(ctx)
		received <- err
	}()
	cancel()
	require.NoError(t, b.Close())
	select {
	case err := <-received:
		require.ErrorIs(t, err, eventbus.ErrClosed)
	case <-time.After(wait):
		t.Fatal("Receive did not return after Close")
	}
	// Polled here, not with require.Eventually, which runs each check in a goroutine of its own.
	for deadline := time.Now().Add(wait); runtime.NumGoroutine() > before; {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines left running after Close (%d before):\n%s", before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func testPing(t *testing.T, b eventbus.Bus) {
	require.NoError(t, b.Ping(t.Context()))
}

func testClose(t *testing.T, b eventbus.Bus) {
	ctx := t.Context()
	ch, err := b.Subscribe(ctx, "t")
	require.NoError(t, err)
	c, err := b.Consumer(ctx, "s", "g", "c1")
	require.NoError(t, err)

	require.NoError(t, b.Close())
	requireClosed(t, ch)
	_, err = c.Receive(ctx)
	require.ErrorIs(t, err, eventbus.ErrClosed)
	require.ErrorIs(t, c.Ack(ctx, "1-0"), eventbus.ErrClosed)
	require.NoError(t, c.Close(), "Consumer.Close after Bus.Close")

	require.ErrorIs(t, b.Publish(ctx, "t", nil), eventbus.ErrClosed)
	_, err = b.Subscribe(ctx, "t")
	require.ErrorIs(t, err, eventbus.ErrClosed)
	_, err = b.Append(ctx, "s", nil)
	require.ErrorIs(t, err, eventbus.ErrClosed)
	_, err = b.Consumer(ctx, "s", "g", "c2")
	require.ErrorIs(t, err, eventbus.ErrClosed)
	require.ErrorIs(t, b.Ping(ctx), eventbus.ErrClosed)
	require.NoError(t, b.Close(), "second Close")
}

// next returns the next message on ch, failing the test if none comes or ch is closed.
func next(t *testing.T, ch <-chan eventbus.Message) eventbus.Message {
	t.Helper()
	select {
	case m, ok := <-ch:
		require.True(t, ok, "subscription closed while a message was expected")
		return m
	case <-time.After(wait):
		t.Fatal("no message within the timeout")
		return eventbus.Message{}
	}
}

// requireClosed drains ch and fails unless it is closed within the timeout.
func requireClosed(t *testing.T, ch <-chan eventbus.Message) {
	t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("subscription channel not closed")
		}
	}
}

// receive returns the next stream message of c.
func receive(t *testing.T, c eventbus.Consumer) eventbus.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	m, err := c.Receive(ctx)
	require.NoError(t, err)
	return m
}

// requireNothing fails if c receives a message within the quiet period.
func requireNothing(t *testing.T, c eventbus.Consumer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), quiet)
	defer cancel()
	m, err := c.Receive(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded, "unexpected message %s %q", m.ID, m.Payload)
}

func consumer(t *testing.T, b eventbus.Bus, stream, group, name string) eventbus.Consumer {
	t.Helper()
	c, err := b.Consumer(t.Context(), stream, group, name)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func appendAll(t *testing.T, b eventbus.Bus, stream string, payloads ...string) []string {
	t.Helper()
	ids := make([]string, len(payloads))
	for i, p := range payloads {
		id, err := b.Append(t.Context(), stream, []byte(p))
		require.NoError(t, err)
		require.NotEmpty(t, id)
		ids[i] = id
	}
	return ids
}
