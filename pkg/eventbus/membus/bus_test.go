package membus_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/eventbus"
	"github.com/kubespace/kubespace/pkg/eventbus/bustest"
	"github.com/kubespace/kubespace/pkg/eventbus/membus"
)

func newBus(t *testing.T, opts membus.Options) *membus.Bus {
	b := membus.New(opts)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestContract(t *testing.T) {
	bustest.Run(t, func(t *testing.T) eventbus.Bus {
		return newBus(t, membus.Options{ClaimTimeout: 200 * time.Millisecond, SubscriberBuffer: 16})
	})
}

func TestContractLongClaimTimeout(t *testing.T) {
	bustest.RunLongClaimTimeout(t, func(t *testing.T) eventbus.Bus {
		return newBus(t, membus.Options{ClaimTimeout: time.Hour})
	})
}

// Memory streams must not grow without bound in a long-running embedded server.
func TestStreamIsCapped(t *testing.T) {
	t.Parallel()
	const maxLen = 100
	b := newBus(t, membus.Options{MaxLen: maxLen})
	ctx := t.Context()
	for i := range 10 * maxLen {
		_, err := b.Append(ctx, "s", fmt.Appendf(nil, "%d", i))
		require.NoError(t, err)
	}
	c, err := b.Consumer(ctx, "s", "g", "c1")
	require.NoError(t, err)
	first, err := c.Receive(ctx)
	require.NoError(t, err)
	var n int
	_, err = fmt.Sscan(string(first.Payload), &n)
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, 10*maxLen-maxLen-maxLen/8, "oldest kept message")
}
