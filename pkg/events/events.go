// Package events carries live updates — runs, stages, jobs, spacelets — to the console as
// Server-Sent Events. Whoever changes something publishes an Event on the bus; every server
// replica's Hub receives all of them, keeps a short history and fans them out to its SSE clients,
// each filtered by what the client may see. A client that reconnects with Last-Event-ID gets what
// it missed from the history, or a reset telling it to reload when the history no longer reaches
// back that far. Events describe what changed in a few fields; clients read details through the API.
package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/kubespace/kubespace/pkg/eventbus"
)

// topic is the bus topic events travel on.
const topic = "events"

// Kinds of objects events are about.
const (
	KindRun      = "run"
	KindStage    = "stage"
	KindJob      = "job"
	KindSpacelet = "spacelet"
)

// Event is one change.
type Event struct {
	// ID orders events and resumes streams: "<unix milliseconds>-<publisher>-<sequence>".
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// ObjectID is the run, stage, job or spacelet that changed.
	ObjectID int64 `json:"object_id"`
	// RunID, PipelineID and WorkspaceID place run, stage and job events (the workspace decides
	// who may see them).
	RunID       int64 `json:"run_id,omitempty"`
	PipelineID  int64 `json:"pipeline_id,omitempty"`
	WorkspaceID int64 `json:"workspace_id,omitempty"`
	// Status is the object's status after the change ("" for deletions).
	Status string    `json:"status,omitempty"`
	Time   time.Time `json:"time"`
}

// Publisher stamps events with ids and sends them on the bus. It is safe for concurrent use.
type Publisher struct {
	bus  eventbus.Bus
	self string
	seq  atomic.Uint64
}

// NewPublisher returns a Publisher; each gets a random name so ids from several processes never
// collide.
func NewPublisher(bus eventbus.Bus) *Publisher {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return &Publisher{bus: bus, self: hex.EncodeToString(b)}
}

// Publish sends ev. Events are live updates, best effort: the error is for logging, and a client
// that missed one reloads on its next reset.
func (p *Publisher) Publish(ctx context.Context, ev Event) error {
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC()
	}
	ev.ID = fmt.Sprintf("%013d-%s-%d", ev.Time.UnixMilli(), p.self, p.seq.Add(1))
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	return p.bus.Publish(ctx, topic, b)
}
