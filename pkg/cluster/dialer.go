package cluster

import (
	"context"
	"net"
	"sync"
	"time"
)

// connDialer dials a cluster's API server and remembers the connections it made, so that removing
// a cluster (or shutting down) really closes them: client-go's transports otherwise keep idle
// connections, and the goroutines reading them, alive long after anyone needs them. It is also
// the seam where a cluster reached through its kube-agent gets the tunnel's dialer.
type connDialer struct {
	dialer net.Dialer

	mu     sync.Mutex
	closed bool
	conns  map[*trackedConn]struct{}
}

func newConnDialer() *connDialer {
	return &connDialer{dialer: net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}, conns: map[*trackedConn]struct{}{}}
}

// DialContext has the signature of rest.Config.Dial.
func (d *connDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := d.dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, owner: d}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		_ = c.Close()
		return nil, net.ErrClosed
	}
	d.conns[tc] = struct{}{}
	return tc, nil
}

// closeAll closes every open connection and refuses new ones.
func (d *connDialer) closeAll() {
	d.mu.Lock()
	d.closed = true
	conns := make([]*trackedConn, 0, len(d.conns))
	for c := range d.conns {
		conns = append(conns, c)
	}
	d.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

type trackedConn struct {
	net.Conn
	owner *connDialer
	once  sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.owner.mu.Lock()
		delete(c.owner.conns, c)
		c.owner.mu.Unlock()
	})
	return c.Conn.Close()
}
