package dispatch

import (
	"context"
	"errors"
	"sync"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/spacelet/protocol"
	"github.com/kubespace/kubespace/pkg/store"
)

// LocalPeer is protocol.Peer in process: the embedded spacelet of the all-in-one server talks to
// the service directly, through the same authentication and transitions as over HTTP.
type LocalPeer struct {
	s    *Service
	mu   sync.RWMutex
	cred string
}

var _ protocol.Peer = (*LocalPeer)(nil)

// LocalPeer returns a peer for one in-process spacelet.
func (s *Service) LocalPeer() *LocalPeer { return &LocalPeer{s: s} }

// SetCredential implements spacelet.CredentialHolder.
func (p *LocalPeer) SetCredential(cred string) {
	p.mu.Lock()
	p.cred = cred
	p.mu.Unlock()
}

func (p *LocalPeer) self(ctx context.Context) (*store.Spacelet, error) {
	p.mu.RLock()
	cred := p.cred
	p.mu.RUnlock()
	sp, err := p.s.Authenticate(ctx, cred)
	return sp, peerErr(err)
}

// peerErr maps the service's errors to the protocol's, as the HTTP client does.
func peerErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errs.Is(err, errs.Unauthenticated):
		return errors.Join(protocol.ErrUnauthorized, err)
	case errs.Is(err, errs.NotFound):
		if e, ok := errs.As(err); ok && e.Code == protocol.CodeJobGone {
			return errors.Join(protocol.ErrGone, err)
		}
	}
	return err
}

// Register implements protocol.Peer.
func (p *LocalPeer) Register(ctx context.Context, r protocol.RegisterRequest) (*protocol.RegisterResponse, error) {
	resp, err := p.s.Register(ctx, r)
	return resp, peerErr(err)
}

// Heartbeat implements protocol.Peer.
func (p *LocalPeer) Heartbeat(ctx context.Context, h protocol.Heartbeat) (*protocol.HeartbeatResponse, error) {
	sp, err := p.self(ctx)
	if err != nil {
		return nil, err
	}
	r, err := p.s.Heartbeat(ctx, sp, h)
	return r, peerErr(err)
}

// Next implements protocol.Peer.
func (p *LocalPeer) Next(ctx context.Context) (*protocol.Job, error) {
	sp, err := p.self(ctx)
	if err != nil {
		return nil, err
	}
	j, err := p.s.Next(ctx, sp)
	return j, peerErr(err)
}

// Extend implements protocol.Peer.
func (p *LocalPeer) Extend(ctx context.Context, jobID int64) (*protocol.ExtendResponse, error) {
	sp, err := p.self(ctx)
	if err != nil {
		return nil, err
	}
	r, err := p.s.Extend(ctx, sp, jobID)
	return r, peerErr(err)
}

// Log implements protocol.Peer.
func (p *LocalPeer) Log(ctx context.Context, jobID, offset int64, data []byte) (int64, error) {
	sp, err := p.self(ctx)
	if err != nil {
		return 0, err
	}
	n, err := p.s.Log(ctx, sp, jobID, offset, data)
	return n, peerErr(err)
}

// Done implements protocol.Peer.
func (p *LocalPeer) Done(ctx context.Context, jobID int64, r protocol.Result) error {
	sp, err := p.self(ctx)
	if err != nil {
		return err
	}
	return peerErr(p.s.Done(ctx, sp, jobID, r))
}

// Cancelled implements protocol.Peer.
func (p *LocalPeer) Cancelled(ctx context.Context, jobID int64) (bool, error) {
	sp, err := p.self(ctx)
	if err != nil {
		return false, err
	}
	c, err := p.s.Cancelled(ctx, sp, jobID)
	return c, peerErr(err)
}
