package identity

import (
	"context"
	"strings"
	"time"

	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/store"
)

// Authenticate resolves a session or API token to its principal. Expired, unknown and revoked
// credentials and disabled users all yield errs.Unauthenticated.
func (s *Service) Authenticate(ctx context.Context, token string) (*access.Principal, error) {
	now := s.now()
	var p access.Principal
	var userID int64
	switch {
	case strings.HasPrefix(token, SessionPrefix):
		sess, err := s.sessions.GetByHash(ctx, digestOf(token))
		if err != nil {
			return nil, authErr(err)
		}
		if !now.Before(sess.ExpiresAt) {
			return nil, errs.Unauthenticatedf("session expired; log in again").WithCode("session_expired")
		}
		// Touch at most once a minute: last-seen is informational, a write per request is not.
		if now.Sub(sess.LastSeenAt) > time.Minute {
			_ = s.sessions.Touch(ctx, sess.ID, now)
		}
		p.SessionID, userID = sess.ID, sess.UserID
	case strings.HasPrefix(token, APITokenPrefix):
		t, err := s.tokens.GetByHash(ctx, digestOf(token))
		if err != nil {
			return nil, authErr(err)
		}
		if t.ExpiresAt != nil && !now.Before(*t.ExpiresAt) {
			return nil, errs.Unauthenticatedf("API token %q expired", t.Name).WithCode("token_expired")
		}
		if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > time.Minute {
			_ = s.tokens.Touch(ctx, t.ID, now)
		}
		p.TokenID, p.ClusterID, userID = t.ID, t.ClusterID, t.UserID
	default:
		return nil, errs.Unauthenticatedf("unrecognised credential")
	}
	u, err := s.users.Get(ctx, userID)
	if err != nil {
		return nil, authErr(err)
	}
	if u.Status != store.UserActive {
		return nil, errs.Unauthenticatedf("user %q is disabled", u.Username).WithCode("user_disabled")
	}
	p.User = u
	return &p, nil
}

func authErr(err error) error {
	if errs.Is(err, errs.NotFound) {
		return errs.Unauthenticatedf("invalid or revoked credential")
	}
	return err
}
