package resources

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/cache"

	"github.com/kubespace/kubespace/pkg/cluster"
	"github.com/kubespace/kubespace/pkg/errs"
)

// Configs gives the client configuration of a cluster (the cluster service).
type Configs interface {
	RESTConfig(ctx context.Context, clusterID int64) (*rest.Config, error)
}

// Options tune the caches.
type Options struct {
	// IdleTimeout stops an informer nobody listed for this long (default 10 minutes).
	IdleTimeout time.Duration
	// SyncTimeout bounds the wait for a new informer's first list (default 60 seconds).
	SyncTimeout time.Duration
}

// Browser holds the per-cluster caches. It is safe for concurrent use.
type Browser struct {
	configs Configs
	opts    Options
	log     *slog.Logger
	// ctx is the application's lifetime: every informer runs under it; wg counts their goroutines.
	ctx context.Context
	wg  sync.WaitGroup

	mu       sync.Mutex
	clusters map[int64]*clusterCache
}

// clusterCache is everything kept for one cluster, valid for one *rest.Config.
type clusterCache struct {
	id        int64
	config    *rest.Config
	dynamic   dynamic.Interface
	discovery discovery.CachedDiscoveryInterface
	mapper    *restmapper.DeferredDiscoveryRESTMapper

	// discovered is when discovery was last (re)loaded, in unix nanoseconds (0: never).
	discovered atomic.Int64

	mu        sync.Mutex
	informers map[schema.GroupVersionResource]*informer
}

// discoveryMaxAge bounds how long a cluster's discovery stays cached, so kinds added outside
// KubeSpace (a CRD installed with kubectl or Helm) appear among the kinds without a restart.
const discoveryMaxAge = 10 * time.Second

// refreshDiscovery drops cached discovery (and the REST mapper built on it) once it is older
// than discoveryMaxAge.
func (cc *clusterCache) refreshDiscovery() {
	now := time.Now().UnixNano()
	last := cc.discovered.Load()
	if now-last < int64(discoveryMaxAge) || !cc.discovered.CompareAndSwap(last, now) {
		return
	}
	if last != 0 {
		cc.mapper.Reset()
	}
}

// informer caches one resource of one cluster.
type informer struct {
	kind     Kind
	inf      cache.SharedIndexInformer
	cancel   context.CancelFunc
	lastUsed atomic.Int64 // unix nanoseconds
	dirty    atomic.Bool  // written through KubeSpace since the last fresh read
	synced   chan struct{}
}

// New returns a Browser whose informers run until ctx ends, their cluster is forgotten or Close.
func New(ctx context.Context, configs Configs, opts Options, log *slog.Logger) *Browser {
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = 10 * time.Minute
	}
	if opts.SyncTimeout == 0 {
		opts.SyncTimeout = 60 * time.Second
	}
	return &Browser{configs: configs, opts: opts, log: log, ctx: ctx, clusters: map[int64]*clusterCache{}}
}

// cluster returns the cache of a cluster, rebuilding it when the cluster's configuration changed.
func (b *Browser) cluster(ctx context.Context, id int64) (*clusterCache, error) {
	cfg, err := b.configs.RESTConfig(ctx, id)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if cc, ok := b.clusters[id]; ok && cc.config == cfg {
		return cc, nil
	} else if ok {
		cc.stopAll()
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	cached := memory.NewMemCacheClient(dc)
	cc := &clusterCache{id: id, config: cfg, dynamic: dyn, discovery: cached,
		mapper: restmapper.NewDeferredDiscoveryRESTMapper(cached), informers: map[schema.GroupVersionResource]*informer{}}
	b.clusters[id] = cc
	return cc, nil
}

// Forget stops every informer of a cluster (deleted, or its credentials replaced).
func (b *Browser) Forget(id int64) {
	b.mu.Lock()
	cc := b.clusters[id]
	delete(b.clusters, id)
	b.mu.Unlock()
	if cc != nil {
		cc.stopAll()
	}
}

func (cc *clusterCache) stopAll() {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	for gvr, inf := range cc.informers {
		inf.cancel()
		delete(cc.informers, gvr)
	}
}

// informerFor returns the running, synced informer of a kind, starting it on first use.
func (b *Browser) informerFor(ctx context.Context, cc *clusterCache, k Kind) (*informer, error) {
	if !k.can("list") || !k.can("watch") {
		return nil, errs.Unprocessablef("%s cannot be listed and watched, so it cannot be browsed", k.Name())
	}
	gvr := k.gvr()
	cc.mu.Lock()
	inf, ok := cc.informers[gvr]
	if !ok {
		inf = b.start(cc, k)
		cc.informers[gvr] = inf
	}
	cc.mu.Unlock()
	inf.lastUsed.Store(time.Now().UnixNano())
	select {
	case <-inf.synced:
		return inf, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(b.opts.SyncTimeout):
		return nil, errs.New(errs.Unavailable, "%s of cluster %d are still loading; try again shortly", k.Name(), cc.id)
	}
}

func (b *Browser) start(cc *clusterCache, k Kind) *informer {
	ri := cc.dynamic.Resource(k.gvr())
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return ri.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return ri.Watch(ctx, o)
		},
	}
	si := cache.NewSharedIndexInformerWithOptions(lw, &unstructured.Unstructured{}, cache.SharedIndexInformerOptions{
		Indexers: cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc},
	})
	_ = si.SetTransform(toEntry)
	ctx, cancel := context.WithCancel(b.ctx)
	inf := &informer{kind: k, inf: si, cancel: cancel, synced: make(chan struct{})}
	b.wg.Add(2)
	go func() {
		defer b.wg.Done()
		si.RunWithContext(ctx)
	}()
	go func() {
		defer b.wg.Done()
		if cache.WaitForCacheSync(ctx.Done(), si.HasSynced) {
			close(inf.synced)
		}
	}()
	b.log.Debug("informer started", "cluster_id", cc.id, "resource", k.Name())
	return inf
}

// Touched marks a resource as written through KubeSpace, so the next list waits until the cache
// has caught up with the cluster (a write is visible in the next cached list).
func (b *Browser) Touched(clusterID int64, group, resource string) {
	b.mu.Lock()
	cc := b.clusters[clusterID]
	b.mu.Unlock()
	if cc == nil {
		return
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	for gvr, inf := range cc.informers {
		if gvr.Group == group && gvr.Resource == resource {
			inf.dirty.Store(true)
		}
	}
}

// fresh waits, after a write through KubeSpace, until the informer has seen the collection's
// current resource version. Resource versions are compared numerically, as etcd issues them.
func (b *Browser) fresh(ctx context.Context, cc *clusterCache, inf *informer) error {
	if !inf.dirty.Swap(false) {
		return nil
	}
	l, err := cc.dynamic.Resource(inf.kind.gvr()).List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil {
		return cluster.KubeError(err)
	}
	want, err := strconv.ParseUint(l.GetResourceVersion(), 10, 64)
	if err != nil {
		return nil // not numeric: nothing to compare
	}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if got, err := strconv.ParseUint(inf.inf.LastSyncResourceVersion(), 10, 64); err == nil && got >= want {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil // serve what the cache has rather than fail the list
}

// Run stops idle informers every minute until ctx ends, then stops everything.
func (b *Browser) Run(ctx context.Context) error {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			b.Close()
			return nil
		case <-t.C:
			b.stopIdle(time.Now().Add(-b.opts.IdleTimeout))
		}
	}
}

// Close stops every informer of every cluster and waits until they have stopped.
func (b *Browser) Close() {
	b.mu.Lock()
	for id, cc := range b.clusters {
		cc.stopAll()
		delete(b.clusters, id)
	}
	b.mu.Unlock()
	b.wg.Wait()
}

func (b *Browser) stopIdle(before time.Time) {
	b.mu.Lock()
	ccs := make([]*clusterCache, 0, len(b.clusters))
	for _, cc := range b.clusters {
		ccs = append(ccs, cc)
	}
	b.mu.Unlock()
	for _, cc := range ccs {
		cc.mu.Lock()
		for gvr, inf := range cc.informers {
			if time.Unix(0, inf.lastUsed.Load()).Before(before) {
				inf.cancel()
				delete(cc.informers, gvr)
				b.log.Debug("idle informer stopped", "cluster_id", cc.id, "resource", inf.kind.Name())
			}
		}
		cc.mu.Unlock()
	}
}

// running reports the informers of a cluster (for tests and metrics).
func (b *Browser) running(id int64) []string {
	b.mu.Lock()
	cc := b.clusters[id]
	b.mu.Unlock()
	if cc == nil {
		return nil
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	var out []string
	for _, inf := range cc.informers {
		out = append(out, inf.kind.Name())
	}
	return out
}
