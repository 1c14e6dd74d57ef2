package bustest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/eventbus"
)

// RunLongClaimTimeout checks the redelivery rules that must not depend on the claim timeout
// expiring. newBus must configure a claim timeout far longer than the test (an hour, say), so
// that a redelivery seen here can only have come from a consumer's Close.
func RunLongClaimTimeout(t *testing.T, newBus func(t *testing.T) eventbus.Bus) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b eventbus.Bus)
	}{
		{"streams/close hands messages on without waiting for the claim timeout", testPromptRelease},
		{"streams/held message is not claimed before the claim timeout", testNoEarlyClaim},
		{"streams/close during receive strands nothing", testCloseDuringReceive},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newBus(t))
		})
	}
}

func testPromptRelease(t *testing.T, b eventbus.Bus) {
	ids := appendAll(t, b, "s", "first", "second", "third")
	c1, c2 := consumer(t, b, "s", "g", "c1"), consumer(t, b, "s", "g", "c2")
	require.Equal(t, ids[0], receive(t, c1).ID)
	require.Equal(t, ids[1], receive(t, c1).ID)

	// c2 is already waiting when c1 closes with two messages unacknowledged.
	got := make(chan []string, 1)
	go func() {
		ctx, cancel := context.WithTimeout(t.Context(), wait)
		defer cancel()
		var ids []string
		for range 3 {
			m, err := c2.Receive(ctx)
			if err != nil {
				t.Errorf("receive: %v", err)
				break
			}
			ids = append(ids, m.ID)
		}
		got <- ids
	}()
	require.NoError(t, c1.Close())
	require.ElementsMatch(t, ids, <-got)
}

func testNoEarlyClaim(t *testing.T, b eventbus.Bus) {
	ids := appendAll(t, b, "s", "held")
	holder := consumer(t, b, "s", "g", "holder")
	require.Equal(t, ids[0], receive(t, holder).ID)
	requireNothing(t, consumer(t, b, "s", "g", "other"))
}

// testCloseDuringReceive closes a consumer while its Receive waits. Whatever that wait was doing
// must be over when Close returns; otherwise a message appended next could still reach the closed
// consumer and sit unacknowledged until the claim timeout.
func testCloseDuringReceive(t *testing.T, b eventbus.Bus) {
	c1 := consumer(t, b, "s", "g", "c1")
	errc := make(chan error, 1)
	go func() {
		_, err := c1.Receive(t.Context())
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond) // most likely waiting by now; the test holds either way
	require.NoError(t, c1.Close())
	ids := appendAll(t, b, "s", "after close")
	require.Equal(t, ids[0], receive(t, consumer(t, b, "s", "g", "c2")).ID)
	require.ErrorIs(t, <-errc, eventbus.ErrClosed)
}
