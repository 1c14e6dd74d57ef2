package httpapi

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"sync"

	"github.com/kubespace/kubespace/pkg/access"
)

// trackStream registers a long-lived request (a watch, a log follow, an exec or port-forward
// session) so that it ends within seconds when its caller loses the right to it: a logout, a
// revoked token, a disabled user, a removed role binding — on any replica. It returns the request
// and writer to serve with and a release to call when serving ends. The caller is checked again
// as it was at the start: its credential, and the role needed in the route's scope.
func (a *API) trackStream(c *Call, role access.Role) (*http.Request, http.ResponseWriter, func()) {
	if a.deps.Streams == nil || c.Principal == nil {
		return c.Request(), c.Writer(), func() {}
	}
	ctx, cancel := context.WithCancel(c.Request().Context())
	w := &hijackWatch{ResponseWriter: c.Writer()}
	token, scope := c.token, c.scope
	recheck := func(ctx context.Context) error {
		p, err := a.deps.Identity.Authenticate(ctx, token)
		if err != nil {
			return err
		}
		return a.deps.Authorizer.Require(ctx, p, scope, role)
	}
	end := func() {
		cancel()
		w.closeHijacked()
	}
	release := a.deps.Streams.Track(c.Principal.User.ID, recheck, end)
	return c.Request().WithContext(ctx), w, func() {
		release()
		cancel()
	}
}

// hijackWatch is a ResponseWriter that remembers the connection an upgrade (exec, attach,
// port-forward, websocket watch) takes over, so the session can be cut: cancelling the request's
// context does not reach a hijacked connection.
type hijackWatch struct {
	http.ResponseWriter

	mu     sync.Mutex
	conn   net.Conn
	closed bool
}

// Flush passes flushes through (watches and log follows stream).
func (w *hijackWatch) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack takes over the connection and remembers it.
func (w *hijackWatch) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, http.ErrNotSupported
	}
	conn, rw, err := h.Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		_ = conn.Close()
		return nil, nil, net.ErrClosed
	}
	w.conn = conn
	return conn, rw, nil
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *hijackWatch) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *hijackWatch) closeHijacked() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	if w.conn != nil {
		_ = w.conn.Close()
	}
}
