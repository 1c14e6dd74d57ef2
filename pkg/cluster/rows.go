package cluster

import (
	"context"
	"sync"
	"time"

	"github.com/kubespace/kubespace/pkg/store"
)

// rowCache keeps the cluster rows that every request to a cluster reads — to check that the
// cluster exists and to find its credentials — for a short time. A change to a cluster on any
// replica is reported through authchange (Everyone), which empties the cache; the TTL bounds a
// lost report.
type rowCache struct {
	ttl time.Duration

	mu   sync.Mutex
	rows map[int64]cachedRow
	gen  uint64
}

type cachedRow struct {
	c      store.Cluster
	loaded time.Time
}

// row returns a cluster row, from the cache when it is fresh. Callers must not modify it.
func (s *Service) row(ctx context.Context, id int64) (*store.Cluster, error) {
	rc := &s.rows
	if rc.ttl <= 0 {
		return s.st.Clusters.Get(ctx, id)
	}
	now := s.now()
	rc.mu.Lock()
	r, ok := rc.rows[id]
	gen := rc.gen
	rc.mu.Unlock()
	if ok && now.Sub(r.loaded) < rc.ttl {
		return &r.c, nil
	}
	c, err := s.st.Clusters.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	rc.mu.Lock()
	if rc.gen == gen {
		rc.rows[id] = cachedRow{c: *c, loaded: now}
	}
	rc.mu.Unlock()
	return c, nil
}

// Forget empties the row cache; authchange calls it on every replica when a cluster changed (and
// for every other change of access, which is cheap to honour).
func (s *Service) Forget(int64) {
	s.rows.mu.Lock()
	defer s.rows.mu.Unlock()
	s.rows.gen++
	clear(s.rows.rows)
}

// changed reports a change of a cluster (its name, credentials or existence) to every replica.
func (s *Service) changed(ctx context.Context) {
	s.Forget(0)
	s.notify.Changed(ctx, 0)
}
