// Package mailbox provides the bounded per-subscriber buffer shared by the Bus implementations.
package mailbox

import (
	"sync"
	"sync/atomic"

	"github.com/kubespace/kubespace/pkg/eventbus"
)

// Mailbox is a bounded queue in front of a subscriber's channel. Put never blocks: when the buffer
// is full it drops the oldest message. Nudges are level-triggered, so the newest one carries all
// the information the dropped ones did.
type Mailbox struct {
	mu      sync.Mutex
	ch      chan eventbus.Message
	closed  bool
	dropped *atomic.Uint64
}

// New returns a Mailbox holding up to size messages that adds each drop to dropped.
func New(size int, dropped *atomic.Uint64) *Mailbox {
	if size < 1 {
		size = 1
	}
	return &Mailbox{ch: make(chan eventbus.Message, size), dropped: dropped}
}

// C is the channel the subscriber reads; it is closed by Close.
func (m *Mailbox) C() <-chan eventbus.Message { return m.ch }

// Put enqueues msg without blocking. It does nothing after Close.
func (m *Mailbox) Put(msg eventbus.Message) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	// Only Put sends, and it holds mu, so after taking one message out there is room; the loop
	// covers the reader emptying the buffer between the two selects.
	for {
		select {
		case m.ch <- msg:
			return
		default:
		}
		select {
		case <-m.ch:
			m.dropped.Add(1)
		default:
		}
	}
}

// Close closes the channel after the messages already buffered. It is idempotent.
func (m *Mailbox) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.closed {
		m.closed = true
		close(m.ch)
	}
}
