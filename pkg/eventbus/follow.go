package eventbus

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Follow receives the messages of topic until ctx ends or the bus closes, subscribing again after
// a failure (with a pause). subscribed runs each time a subscription is in place — with first
// true the first time — so callers that keep state derived from the messages can drop it when
// some may have been lost; handle runs for every message, in order.
func Follow(ctx context.Context, bus Bus, topic string, log *slog.Logger, subscribed func(first bool), handle func(Message)) error {
	first := true
	for {
		ch, err := bus.Subscribe(ctx, topic)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, ErrClosed) {
				return nil
			}
			log.WarnContext(ctx, "subscribing to the event bus failed", "topic", topic, "error", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
			continue
		}
		if subscribed != nil {
			subscribed(first)
		}
		first = false
		for m := range ch {
			handle(m)
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}
