package identity

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/store"
)

// CreateTokenInput creates an API token for the caller.
type CreateTokenInput struct {
	Name      string     `json:"name" required:"true"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// CreateToken mints an API token for the caller. clusterID > 0 limits it to that cluster.
func (s *Service) CreateToken(ctx context.Context, p *access.Principal, in CreateTokenInput, clusterID int64) (*NewToken, error) {
	f := errs.Fields{}
	name := strings.TrimSpace(in.Name)
	if name == "" || utf8.RuneCountInString(name) > 128 {
		f.Add("name", "must be 1-128 characters")
	}
	now := s.now()
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		f.Add("expires_at", "must be in the future")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	if p.ClusterID != 0 {
		return nil, errs.Forbiddenf("a cluster-limited token cannot mint tokens")
	}
	token, digest := newSecret(APITokenPrefix)
	t := &store.APIToken{UserID: p.User.ID, Name: name, TokenHash: digest, Prefix: token[:8], ClusterID: clusterID}
	if in.ExpiresAt != nil {
		e := in.ExpiresAt.UTC()
		t.ExpiresAt = &e
	}
	if err := s.tokens.Create(ctx, t); err != nil {
		return nil, err
	}
	return &NewToken{TokenView: ViewOfToken(t), Token: token}, nil
}

// ListTokens lists the caller's tokens.
func (s *Service) ListTokens(ctx context.Context, p *access.Principal, opts store.ListOptions) (store.Page[TokenView], error) {
	page, err := s.tokens.ListByUser(ctx, p.User.ID, opts)
	if err != nil {
		return store.Page[TokenView]{}, err
	}
	return viewPage(page, ViewOfToken), nil
}

// RevokeToken deletes one of the caller's tokens; other users' tokens look like missing ones.
func (s *Service) RevokeToken(ctx context.Context, p *access.Principal, id int64) (*TokenView, error) {
	t, err := s.tokens.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if t.UserID != p.User.ID {
		return nil, errs.NotFoundf("token %d not found", id)
	}
	if err := s.tokens.Delete(ctx, id); err != nil {
		return nil, err
	}
	s.changed(ctx, p.User.ID)
	v := ViewOfToken(t)
	return &v, nil
}
