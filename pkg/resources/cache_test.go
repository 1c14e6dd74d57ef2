package resources

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubespace/kubespace/internal/kubetestenv"
)

// configs hands out one *rest.Config per cluster id; replace swaps it (new credentials).
type configs struct {
	mu   sync.Mutex
	base *rest.Config
	byID map[int64]*rest.Config
}

func (c *configs) RESTConfig(_ context.Context, id int64) (*rest.Config, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byID[id] == nil {
		c.byID[id] = rest.CopyConfig(c.base)
	}
	return c.byID[id], nil
}

func (c *configs) replace(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byID[id] = rest.CopyConfig(c.base)
}

func newTestBrowser(t *testing.T, opts Options) (*Browser, *configs, *kubetestenv.Cluster) {
	t.Helper()
	kube := kubetestenv.Start(t, kubetestenv.DefaultName)
	rc, err := clientcmd.BuildConfigFromFlags("", kube.Kubeconfig)
	require.NoError(t, err)
	cs := &configs{base: rc, byID: map[int64]*rest.Config{}}
	b := New(context.Background(), cs, opts, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(func() {
		for _, id := range []int64{1, 2} {
			b.Forget(id)
		}
	})
	return b, cs, kube
}

// use lists a kind of cluster id (starting its informer) and returns that informer.
func use(t *testing.T, b *Browser, id int64, resource, ns string) *informer {
	t.Helper()
	ctx := context.Background()
	k, err := b.Resolve(ctx, id, resource)
	require.NoError(t, err)
	_, err = b.List(ctx, id, k, Query{Namespace: ns})
	require.NoError(t, err)
	b.mu.Lock()
	cc := b.clusters[id]
	b.mu.Unlock()
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.informers[k.gvr()]
}

func running(t *testing.T, b *Browser, id int64) []string {
	t.Helper()
	r := b.running(id)
	slices.Sort(r)
	return r
}

func waitStopped(t *testing.T, infs ...*informer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, inf := range infs {
		for !inf.inf.IsStopped() {
			require.True(t, time.Now().Before(deadline), "informer %s still runs", inf.kind.Name())
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func TestInformerLifecycle(t *testing.T) {
	t.Parallel()
	idle := 300 * time.Millisecond
	b, cs, kube := newTestBrowser(t, Options{IdleTimeout: idle})
	ns := kube.Namespace(t, "ks-informers")

	require.Empty(t, running(t, b, 1), "nothing runs before the first list")
	cms := use(t, b, 1, "configmaps", ns)
	pods := use(t, b, 1, "pods", ns)
	other := use(t, b, 2, "configmaps", "")
	require.Equal(t, []string{"configmaps", "pods"}, running(t, b, 1))
	require.Same(t, cms, use(t, b, 1, "configmaps", ""), "a second list reuses the informer")

	t.Run("idle informers stop", func(t *testing.T) {
		time.Sleep(idle)
		mark := time.Now() // pods and cluster 2's configmaps have been idle for IdleTimeout
		cms = use(t, b, 1, "configmaps", ns)
		b.stopIdle(mark) // what Run does IdleTimeout after mark: only configmaps were used since
		require.Equal(t, []string{"configmaps"}, running(t, b, 1))
		waitStopped(t, pods, other)
		require.False(t, cms.inf.IsStopped())
		require.Empty(t, running(t, b, 2))
		// The next list starts a fresh one.
		pods2 := use(t, b, 1, "pods", ns)
		require.NotSame(t, pods, pods2)
		pods = pods2
	})

	t.Run("Forget stops all of a cluster's informers", func(t *testing.T) {
		other = use(t, b, 2, "configmaps", "")
		b.Forget(1)
		require.Empty(t, running(t, b, 1))
		waitStopped(t, cms, pods)
		require.Equal(t, []string{"configmaps"}, running(t, b, 2), "other clusters keep theirs")
		require.False(t, other.inf.IsStopped())
	})

	t.Run("new credentials replace the informers", func(t *testing.T) {
		old := use(t, b, 2, "configmaps", "")
		cs.replace(2)
		fresh := use(t, b, 2, "configmaps", "")
		require.NotSame(t, old, fresh)
		waitStopped(t, old)
		require.Equal(t, []string{"configmaps"}, running(t, b, 2))
	})

	t.Run("Run stops everything when its context ends", func(t *testing.T) {
		inf := use(t, b, 1, "secrets", ns)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- b.Run(ctx) }()
		cancel()
		require.NoError(t, <-done)
		require.Empty(t, running(t, b, 1))
		require.Empty(t, running(t, b, 2))
		waitStopped(t, inf)
	})
}
