// Package nudge names the event-bus nudges of the pipeline machinery and encodes them, so the
// server, the controller-manager and the dispatcher agree on topics and payloads. A nudge only
// says "look at object N": receivers re-read the database, and a lost nudge delays work until the
// next resync or poll, never loses it.
package nudge

import (
	"context"
	"encoding/json"

	"github.com/kubespace/kubespace/pkg/eventbus"
)

// Topics.
const (
	// TopicRun: look at run N (created, an action on it, a job of it finished).
	TopicRun = "pipeline.run"
	// TopicAssigned: spacelet N has a job assigned (wakes its Next long-poll).
	TopicAssigned = "pipeline.assigned"
	// TopicCancel: job N was asked to cancel (wakes its Cancelled long-poll).
	TopicCancel = "pipeline.cancel"
	// TopicLog: job N's log grew (wakes log followers).
	TopicLog = "pipeline.log"
)

type payload struct {
	ID int64 `json:"id"`
}

// Publish sends a nudge about object id on topic. Nudges are best effort: the error is returned
// for logging, and callers carry on (the receivers' resyncs cover a lost one).
func Publish(ctx context.Context, bus eventbus.Bus, topic string, id int64) error {
	b, _ := json.Marshal(payload{ID: id})
	return bus.Publish(ctx, topic, b)
}

// Subscribe delivers the ids nudged on topic until ctx ends or the bus closes; then the channel
// closes. Malformed payloads are dropped.
func Subscribe(ctx context.Context, bus eventbus.Bus, topic string) (<-chan int64, error) {
	msgs, err := bus.Subscribe(ctx, topic)
	if err != nil {
		return nil, err
	}
	out := make(chan int64, 64)
	go func() {
		defer close(out)
		for m := range msgs {
			var p payload
			if json.Unmarshal(m.Payload, &p) != nil || p.ID == 0 {
				continue
			}
			select {
			case out <- p.ID:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}
