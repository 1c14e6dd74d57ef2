package redisbus_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/testdeps"
	"github.com/kubespace/kubespace/pkg/eventbus"
	"github.com/kubespace/kubespace/pkg/eventbus/bustest"
	"github.com/kubespace/kubespace/pkg/eventbus/redisbus"
)

var testOptions = redisbus.Options{
	ClaimTimeout:     200 * time.Millisecond,
	BlockTime:        100 * time.Millisecond,
	SubscriberBuffer: 16,
}

// testStore is a random key prefix on the test Redis whose keys are deleted when the test ends.
type testStore struct {
	addr, prefix string
}

func newStore(t *testing.T) testStore {
	addr := testdeps.RedisAddr(t)
	buf := make([]byte, 8)
	_, _ = rand.Read(buf)
	s := testStore{addr: addr, prefix: "kstest:" + hex.EncodeToString(buf) + ":"}
	t.Cleanup(func() { s.deleteKeys(t) })
	return s
}

// client returns a new client closed when the test ends.
func (s testStore) client(t *testing.T) redis.UniversalClient {
	// Named, so a test can find its own connections among other tests'.
	client := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{s.addr}, ClientName: s.clientName()})
	t.Cleanup(func() { _ = client.Close() })
	return client
}

func (s testStore) clientName() string {
	return strings.ReplaceAll(strings.TrimSuffix(s.prefix, ":"), ":", "-")
}

// open returns a new Bus, with its own client, on the store.
func (s testStore) open(t *testing.T, opts redisbus.Options) *redisbus.Bus {
	opts.KeyPrefix = s.prefix
	b := redisbus.New(s.client(t), opts)
	t.Cleanup(func() { _ = b.Close() }) // runs before the client's Close
	return b
}

func (s testStore) deleteKeys(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: s.addr})
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 10*time.Second)
	defer cancel()
	iter := client.Scan(ctx, 0, s.prefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		if err := client.Del(ctx, iter.Val()).Err(); err != nil {
			t.Errorf("delete test key %s: %v", iter.Val(), err)
		}
	}
	if err := iter.Err(); err != nil {
		t.Errorf("scan test keys: %v", err)
	}
}

func TestContract(t *testing.T) {
	bustest.Run(t, func(t *testing.T) eventbus.Bus { return newStore(t).open(t, testOptions) })
}

func TestContractLongClaimTimeout(t *testing.T) {
	opts := testOptions
	opts.ClaimTimeout = time.Hour
	bustest.RunLongClaimTimeout(t, func(t *testing.T) eventbus.Bus { return newStore(t).open(t, opts) })
}

func TestRestart(t *testing.T) {
	bustest.RunRestart(t, func(t *testing.T) func() eventbus.Bus {
		s := newStore(t)
		return func() eventbus.Bus { return s.open(t, testOptions) }
	})
}

// Appends trim the stream to about MaxLen, so Redis memory stays bounded.
func TestStreamIsCapped(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	opts := testOptions
	opts.MaxLen = 100
	b := s.open(t, opts)
	ctx := t.Context()
	for range 2000 {
		_, err := b.Append(ctx, "s", []byte("x"))
		require.NoError(t, err)
	}
	n, err := s.client(t).XLen(ctx, s.prefix+"stream:s").Result()
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, int64(100))
	require.Less(t, n, int64(1000), "stream length after 2000 appends with MaxLen 100")
}

// A subscription outlives its Redis connection: go-redis redials and resubscribes, and the
// subscriber misses at most the nudges published while it was away.
func TestSubscriptionSurvivesDroppedConnection(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	b := s.open(t, testOptions)
	ctx := t.Context()
	ch, err := b.Subscribe(ctx, "t")
	require.NoError(t, err)

	admin := redis.NewClient(&redis.Options{Addr: s.addr})
	defer admin.Close()
	list, err := admin.ClientList(ctx).Result()
	require.NoError(t, err)
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		if strings.Contains(line, " name="+s.clientName()+" ") && strings.Contains(line, " cmd=subscribe ") {
			id := strings.TrimPrefix(strings.Fields(line)[0], "id=")
			require.NoError(t, admin.Do(ctx, "CLIENT", "KILL", "ID", id).Err())
			killed++
		}
	}
	require.Equal(t, 1, killed, "subscriber connections found")

	// Nudges sent before the resubscription are lost, so keep nudging until one arrives.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case m, ok := <-ch:
			require.True(t, ok, "subscription closed after a dropped connection")
			require.Equal(t, "again", string(m.Payload))
			return
		case <-tick.C:
			require.NoError(t, b.Publish(ctx, "t", []byte("again")))
		case <-timeout:
			t.Fatal("no nudge after the connection was dropped")
		}
	}
}
