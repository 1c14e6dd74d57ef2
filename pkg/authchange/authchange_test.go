package authchange_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/authchange"
	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/eventbus/membus"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// A stream's re-check runs after every cache has dropped the user, whatever the order in which
// caches and the stream registry were wired: otherwise it would see the cached, revoked standing.
func TestStreamsRecheckAfterCachesForget(t *testing.T) {
	bus := membus.New(membus.Options{})
	t.Cleanup(func() { _ = bus.Close() })
	hub := authchange.New(bus, quiet())
	streams := authchange.NewStreams(context.Background(), hub, quiet())
	t.Cleanup(streams.Close)
	var revoked atomic.Bool // what a cache holds; true once forgotten
	hub.Listen(func(int64) { revoked.Store(true) })

	ended := make(chan struct{})
	release := streams.Track(7, func(context.Context) error {
		if revoked.Load() {
			return errs.Unauthenticatedf("revoked")
		}
		return nil
	}, func() { close(ended) })
	defer release()
	hub.Changed(context.Background(), 7)
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream was re-checked against the stale cache and stayed open")
	}
}

// Streams end only on a denial: an outage during the re-check leaves them open; other users'
// streams are not re-checked; Everyone re-checks all.
func TestStreamsEndOnlyOnDenial(t *testing.T) {
	bus := membus.New(membus.Options{})
	t.Cleanup(func() { _ = bus.Close() })
	hub := authchange.New(bus, quiet())
	streams := authchange.NewStreams(context.Background(), hub, quiet())
	var mu sync.Mutex
	checked := map[int64]int{}
	ended := map[int64]bool{}
	track := func(user int64, err error) {
		streams.Track(user, func(context.Context) error {
			mu.Lock()
			checked[user]++
			mu.Unlock()
			return err
		}, func() {
			mu.Lock()
			ended[user] = true
			mu.Unlock()
		})
	}
	track(1, errs.New(errs.Unavailable, "database down"))
	track(2, errs.Forbiddenf("no role"))
	track(3, errors.New("unclassified"))
	hub.Changed(context.Background(), 1)
	streams.Close() // waits for the re-checks
	require.Equal(t, map[int64]int{1: 1}, checked)
	require.Empty(t, ended)

	streams = authchange.NewStreams(context.Background(), hub, quiet())
	checked, ended = map[int64]int{}, map[int64]bool{}
	track(1, errs.New(errs.Unavailable, "database down"))
	track(2, errs.Forbiddenf("no role"))
	hub.Changed(context.Background(), authchange.Everyone)
	streams.Close()
	require.Equal(t, map[int64]int{1: 1, 2: 1}, checked)
	require.Equal(t, map[int64]bool{2: true}, ended)
	require.Equal(t, 2, streams.Open())
}
