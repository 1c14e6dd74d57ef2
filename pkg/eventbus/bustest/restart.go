package bustest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/eventbus"
)

// RunRestart checks that streams outlive the Bus that wrote them, for implementations with a
// backing store. newStore must make a new, empty, isolated store and return a function that opens
// a new Bus (with its own connections) on it each time it is called, cleaning up with t.Cleanup.
func RunRestart(t *testing.T, newStore func(t *testing.T) func() eventbus.Bus) {
	t.Run("streams/messages and group positions survive a new bus", func(t *testing.T) {
		t.Parallel()
		open := newStore(t)
		ctx := t.Context()

		first := open()
		ids := appendAll(t, first, "s", "handled", "interrupted", "waiting")
		c, err := first.Consumer(ctx, "s", "g", "c1")
		require.NoError(t, err)
		m, err := c.Receive(ctx)
		require.NoError(t, err)
		require.Equal(t, ids[0], m.ID)
		require.NoError(t, c.Ack(ctx, m.ID))
		m, err = c.Receive(ctx) // taken but never acknowledged
		require.NoError(t, err)
		require.Equal(t, ids[1], m.ID)
		require.NoError(t, first.Close())

		second := open()
		c2 := consumer(t, second, "s", "g", "c2")
		for _, want := range ids[1:] {
			m := receive(t, c2)
			require.Equal(t, want, m.ID)
			require.NoError(t, c2.Ack(ctx, m.ID))
		}
		requireNothing(t, c2)

		fresh := consumer(t, second, "s", "new group", "c1")
		for i, want := range []string{"handled", "interrupted", "waiting"} {
			m := receive(t, fresh)
			require.Equal(t, ids[i], m.ID)
			require.Equal(t, want, string(m.Payload))
		}
	})
}
