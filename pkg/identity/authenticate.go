package identity

import (
	"context"
	"strings"
	"time"

	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/store"
)

// touchEvery is how often a credential's last use is written: last-seen is informational, a write
// per request is not.
const touchEvery = time.Minute

// Authenticate resolves a session or API token to its principal. Expired, unknown and revoked
// credentials and disabled users all yield errs.Unauthenticated. Credentials and users are served
// from a short-lived per-process cache (see Forget).
func (s *Service) Authenticate(ctx context.Context, token string) (*access.Principal, error) {
	now := s.now()
	digest := digestOf(token)
	gen := s.cache.generation()
	cr, ok := s.cache.credential(digest, now)
	if !ok {
		var err error
		if cr, err = s.loadCredential(ctx, token, digest); err != nil {
			return nil, err
		}
		cr.loaded = now
		s.cache.putCredential(gen, digest, cr)
	}
	if cr.expiresAt != nil && !now.Before(*cr.expiresAt) {
		if cr.sessionID != 0 {
			return nil, errs.Unauthenticatedf("session expired; log in again").WithCode("session_expired")
		}
		return nil, errs.Unauthenticatedf("API token %q expired", cr.name).WithCode("token_expired")
	}
	if now.Sub(cr.lastSeen) > touchEvery {
		s.touch(ctx, cr, now)
		s.cache.seen(digest, now)
	}
	u, ok := s.cache.user(cr.userID, now)
	if !ok {
		var err error
		if u, err = s.users.Get(ctx, cr.userID); err != nil {
			return nil, authErr(err)
		}
		s.cache.putUser(gen, u, now)
	}
	if u.Status != store.UserActive {
		return nil, errs.Unauthenticatedf("user %q is disabled", u.Username).WithCode("user_disabled")
	}
	return &access.Principal{User: u, SessionID: cr.sessionID, TokenID: cr.tokenID, ClusterID: cr.clusterID}, nil
}

// loadCredential reads the session or API token a secret names.
func (s *Service) loadCredential(ctx context.Context, token, digest string) (credential, error) {
	switch {
	case strings.HasPrefix(token, SessionPrefix):
		sess, err := s.sessions.GetByHash(ctx, digest)
		if err != nil {
			return credential{}, authErr(err)
		}
		exp := sess.ExpiresAt
		return credential{sessionID: sess.ID, userID: sess.UserID, expiresAt: &exp, lastSeen: sess.LastSeenAt}, nil
	case strings.HasPrefix(token, APITokenPrefix):
		t, err := s.tokens.GetByHash(ctx, digest)
		if err != nil {
			return credential{}, authErr(err)
		}
		cr := credential{tokenID: t.ID, clusterID: t.ClusterID, userID: t.UserID, name: t.Name, expiresAt: t.ExpiresAt}
		if t.LastUsedAt != nil {
			cr.lastSeen = *t.LastUsedAt
		}
		return cr, nil
	default:
		return credential{}, errs.Unauthenticatedf("unrecognised credential")
	}
}

// touch records a credential's use; a failure only delays the record.
func (s *Service) touch(ctx context.Context, cr credential, now time.Time) {
	if cr.sessionID != 0 {
		_ = s.sessions.Touch(ctx, cr.sessionID, now)
	} else {
		_ = s.tokens.Touch(ctx, cr.tokenID, now)
	}
}

// Forget drops what this process caches about a user's credentials and record (0: every user).
// authchange calls it on every replica when the user's standing changes.
func (s *Service) Forget(userID int64) { s.cache.forget(userID) }

func authErr(err error) error {
	if errs.Is(err, errs.NotFound) {
		return errs.Unauthenticatedf("invalid or revoked credential")
	}
	return err
}
