// Package eventbus defines how KubeSpace processes tell each other that something happened: lossy
// pub/sub nudges ("look at object X") and durable streams read through consumer groups. The
// implementations live in subpackages: membus (in-process, for embedded mode and tests) and
// redisbus (Redis, for several processes and replicas). bustest holds the contract suite both pass.
//
// Controllers are level-triggered: a nudge only shortens the wait until the next resync, so losing
// one delays work and never loses it. Streams are for the few things whose delivery must survive a
// restart; they are delivered at least once, so handlers must be idempotent.
package eventbus

import (
	"context"
	"errors"
)

// ErrClosed is returned by every operation but Close on a Bus or Consumer after it has been
// closed, and by a Receive that Close interrupted.
var ErrClosed = errors.New("eventbus: closed")

// Message is one delivery.
type Message struct {
	// ID identifies a stream message within its stream; pass it to Consumer.Ack. It is empty for
	// pub/sub messages, which cannot be acknowledged.
	ID string
	// Topic is the pub/sub topic or the stream the message came from.
	Topic string
	// Payload is the caller's bytes, unchanged. The receiver owns it.
	Payload []byte
}

// Bus carries lossy nudges (pub/sub) and durable streams with consumer groups.
//
// All methods are safe for concurrent use. Every call that waits takes a ctx and returns when it
// ends. Close stops every subscription and consumer opened through the Bus, waits for the
// goroutines it started, and makes further calls return ErrClosed; it does not close resources the
// caller passed in (such as a Redis client).
type Bus interface {
	// Publish delivers payload to every current subscriber of topic. Lossy: subscribers that are
	// not listening miss it; use it only for "look at object X" nudges.
	Publish(ctx context.Context, topic string, payload []byte) error

	// Subscribe receives the messages published to topic after it returns, until ctx ends or the
	// Bus closes; then the channel is closed. Each subscriber has a bounded buffer: when it is full
	// the oldest buffered message is dropped (and counted) so publishers never wait for a slow
	// subscriber, and the most recent nudge is always the one kept.
	Subscribe(ctx context.Context, topic string) (<-chan Message, error)

	// Append adds payload to the durable stream and returns the message's ID. Streams are capped
	// to an implementation-defined length; the oldest messages are trimmed first.
	Append(ctx context.Context, stream string, payload []byte) (string, error)

	// Consumer joins consumer group `group` of stream as consumer `name`. The group is created on
	// demand and then starts at the beginning of the stream. ctx bounds only this call; the
	// Consumer lives until its Close or the Bus's Close. Names must be unique among the live
	// consumers of a group (across processes): two consumers sharing a name share one pending list.
	Consumer(ctx context.Context, stream, group, name string) (Consumer, error)

	// Ping reports whether the bus is usable (for /readyz).
	Ping(ctx context.Context) error

	// Close releases everything opened through the Bus. It is idempotent.
	Close() error
}

// Consumer receives each stream message once per group (at least once: see below).
//
// A message that its consumer has not acknowledged is delivered again to a consumer of the group:
// at once after the holder Closes, or after it has been held longer than the claim timeout without
// an Ack (the holder died or hangs). A handler that takes longer than the claim timeout therefore
// sees its message handled twice; keep handlers short and idempotent.
//
// Receive, Ack and Close are safe for concurrent use; Close unblocks a waiting Receive.
type Consumer interface {
	// Receive blocks until a message is available, ctx ends (ctx.Err()) or the Consumer or Bus is
	// closed (ErrClosed). A message that arrives just as ctx ends may still be returned. Other
	// errors are transient (the backing store is unreachable); the Consumer stays usable and the
	// caller should retry after a pause.
	Receive(ctx context.Context) (Message, error)

	// Ack marks the message with this ID as handled for the group, so it is never delivered again.
	// Acknowledging an unknown or already acknowledged ID is not an error.
	Ack(ctx context.Context, id string) error

	// Close leaves the group, handing the consumer's unacknowledged messages to the other
	// consumers. It is idempotent.
	Close() error
}
