package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// runWatch follows GET /api/v1/events?topics=runs and records when each run reached a final
// status, as a client of the public API sees it. Timing a run through the event stream (rather
// than polling GET /pipeline-runs/{id}) adds no polling interval to what is measured.
type runWatch struct {
	s       *server
	mu      sync.Mutex
	done    map[int64]runDone
	started map[int64]time.Time // run → when its first job was reported doing
	waiters map[int64]chan struct{}
	last    string
}

type runDone struct {
	status string
	at     time.Time
}

func finalStatus(s string) bool { return s == "ok" || s == "error" || s == "canceled" }

// watchRuns subscribes to run events until ctx ends; it returns once the first subscription is
// open, so runs started afterwards are never missed.
func watchRuns(ctx context.Context, s *server) (*runWatch, error) {
	w := &runWatch{s: s, done: map[int64]runDone{}, started: map[int64]time.Time{}, waiters: map[int64]chan struct{}{}}
	resp, err := w.open(ctx)
	if err != nil {
		return nil, err
	}
	go func() {
		for ctx.Err() == nil {
			w.read(resp)
			// The stream ended (a reset or a dropped connection): resume from the last event.
			for ctx.Err() == nil {
				if resp, err = w.open(ctx); err == nil {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}()
	return w, nil
}

func (w *runWatch) open(ctx context.Context) (*http.Response, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, w.s.url+"/api/v1/events?topics=runs", nil)
	req.Header.Set("Authorization", "Bearer "+w.s.token)
	w.mu.Lock()
	if w.last != "" {
		req.Header.Set("Last-Event-ID", w.last)
	}
	w.mu.Unlock()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("GET /api/v1/events: %d", resp.StatusCode)
	}
	return resp, nil
}

func (w *runWatch) read(resp *http.Response) {
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		data, ok := strings.CutPrefix(strings.TrimRight(line, "\n"), "data: ")
		if !ok {
			continue
		}
		now := time.Now()
		var ev struct {
			ID       string `json:"id"`
			Kind     string `json:"kind"`
			ObjectID int64  `json:"object_id"`
			RunID    int64  `json:"run_id"`
			Status   string `json:"status"`
		}
		if json.Unmarshal([]byte(data), &ev) != nil {
			continue
		}
		w.mu.Lock()
		w.last = ev.ID
		if ev.Kind == "job" && ev.Status == "doing" {
			if _, seen := w.started[ev.RunID]; !seen {
				w.started[ev.RunID] = now
			}
		}
		if ev.Kind != "run" {
			w.mu.Unlock()
			continue
		}
		if _, seen := w.done[ev.ObjectID]; !seen && finalStatus(ev.Status) {
			w.done[ev.ObjectID] = runDone{status: ev.Status, at: now}
			if c := w.waiters[ev.ObjectID]; c != nil {
				close(c)
				delete(w.waiters, ev.ObjectID)
			}
		}
		w.mu.Unlock()
	}
}

// wait returns when run id reached a final status and at what time the event arrived.
func (w *runWatch) wait(ctx context.Context, id int64) (runDone, error) {
	w.mu.Lock()
	if d, ok := w.done[id]; ok {
		w.mu.Unlock()
		return d, nil
	}
	c := w.waiters[id]
	if c == nil {
		c = make(chan struct{})
		w.waiters[id] = c
	}
	w.mu.Unlock()
	select {
	case <-c:
	case <-ctx.Done():
		// The event may have been lost with a reset: ask the run itself before giving up.
		var v runView
		if b, err := w.s.call(http.MethodGet, fmt.Sprintf("/api/v1/pipeline-runs/%d", id), nil); err == nil &&
			json.Unmarshal(b, &v) == nil && finalStatus(v.Status) {
			return runDone{status: v.Status, at: time.Now()}, nil
		}
		return runDone{}, fmt.Errorf("run %d did not finish: %w", id, ctx.Err())
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.done[id], nil
}

// jobStarted returns when the run's first job was reported doing (zero if no event said so).
func (w *runWatch) jobStarted(id int64) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.started[id]
}

// runView is the part of a run the benchmark reads.
type runView struct {
	ID          int64  `json:"id"`
	BuildNumber int64  `json:"build_number"`
	Status      string `json:"status"`
	Reason      string `json:"reason"`
	Stages      []struct {
		Jobs []struct {
			ID     int64  `json:"id"`
			Status string `json:"status"`
		} `json:"jobs"`
	} `json:"stages"`
}
