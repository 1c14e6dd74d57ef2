package run

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/store"
)

// Candidate is a spacelet as the scheduler sees it.
type Candidate struct {
	ID       int64
	Name     string
	Hostname string
	Labels   map[string]string
	Online   bool
	Draining bool
	// Load is the number of jobs assigned to it that wait or run; Capacity how many it runs at once.
	Load     int64
	Capacity int
}

// CandidateOf turns a stored spacelet into a candidate (its load filled in by the caller).
func CandidateOf(s *store.Spacelet) Candidate {
	labels := map[string]string{}
	if s.Labels != "" {
		_ = json.Unmarshal([]byte(s.Labels), &labels)
	}
	return Candidate{ID: s.ID, Name: s.Name, Hostname: s.Hostname, Labels: labels,
		Online: s.Status == store.SpaceletOnline, Draining: s.Draining, Capacity: s.Capacity}
}

// Usable reports whether the spacelet takes new work.
func (c Candidate) Usable() bool { return c.Online && !c.Draining }

// Place chooses the spacelet for a job: the one with the pinned hostname, else the least loaded
// (relative to its capacity) of those carrying every label asked for, else the least loaded of
// all. Draining and offline spacelets get nothing. When none fits it returns 0 and a sentence
// saying why, for the run page.
func Place(sched pipeline.Schedule, cands []Candidate) (int64, string) {
	var best *Candidate
	for i := range cands {
		c := &cands[i]
		if !c.Usable() || !fits(sched, c) {
			continue
		}
		if best == nil || less(c, best) {
			best = c
		}
	}
	if best != nil {
		return best.ID, ""
	}
	return 0, whyNot(sched, cands)
}

func fits(sched pipeline.Schedule, c *Candidate) bool {
	if sched.Hostname != "" {
		return c.Hostname == sched.Hostname || c.Name == sched.Hostname
	}
	for k, v := range sched.Labels {
		if got, ok := c.Labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// less orders by load per capacity slot, then by id (stable choices make tests and logs readable).
func less(a, b *Candidate) bool {
	ca, cb := int64(max(a.Capacity, 1)), int64(max(b.Capacity, 1))
	if l, r := a.Load*cb, b.Load*ca; l != r {
		return l < r
	}
	return a.ID < b.ID
}

func whyNot(sched pipeline.Schedule, cands []Candidate) string {
	what := "no spacelet"
	switch {
	case sched.Hostname != "":
		what = fmt.Sprintf("no spacelet with hostname %s", sched.Hostname)
	case len(sched.Labels) > 0:
		keys := slices.Sorted(maps.Keys(sched.Labels))
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + sched.Labels[k]
		}
		what = fmt.Sprintf("no spacelet with labels %s", strings.Join(parts, ","))
	}
	draining := false
	for i := range cands {
		if cands[i].Online && cands[i].Draining && fits(sched, &cands[i]) {
			draining = true
		}
	}
	if draining {
		return what + " is online and not draining"
	}
	return what + " is online"
}

// placementCache keeps the spacelets with their loads for a short while, so that placing a job
// does not cost a query per spacelet under load; the loads of spacelets it places jobs on are
// raised locally meanwhile. Stale by at most its TTL: a spacelet gone offline within it may get
// a job, which the next look takes back before it starts. A nil cache caches nothing.
type placementCache struct {
	ttl   time.Duration
	mu    sync.Mutex
	at    time.Time
	cands []Candidate
}

func newPlacementCache(ttl time.Duration) *placementCache {
	if ttl <= 0 {
		return nil
	}
	return &placementCache{ttl: ttl}
}

// get returns a copy of the candidates when they are fresh.
func (c *placementCache) get(now time.Time) ([]Candidate, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cands == nil || now.Sub(c.at) >= c.ttl || now.Before(c.at) {
		return nil, false
	}
	return slices.Clone(c.cands), true
}

func (c *placementCache) put(now time.Time, cands []Candidate) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at, c.cands = now, slices.Clone(cands)
}

// placed counts a job placed on spacelet id.
func (c *placementCache) placed(id int64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.cands {
		if c.cands[i].ID == id {
			c.cands[i].Load++
		}
	}
}
