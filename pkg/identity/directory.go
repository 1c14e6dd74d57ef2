package identity

import (
	"context"
	"fmt"

	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/store"
)

// Who may look people up. Full user records (email, super-admin flag, last sign-in) are for
// holders of a platform role; everyone reads their own. Role-granting dialogs need to name
// users too, so whoever can grant roles somewhere (an admin of any scope) may search the
// minimal directory of UserChoice.

// Picker limits.
const (
	PickDefaultLimit = 20
	PickMaxLimit     = 50
)

// PickUsersInput searches the minimal directory.
type PickUsersInput struct {
	Q     string `query:"q" json:"q,omitempty"`
	Limit int    `query:"limit" json:"limit,omitempty"`
}

// PickUsers returns up to Limit users whose username or display name contains Q, for callers
// who hold the admin role in at least one scope (or are super admins).
func (s *Service) PickUsers(ctx context.Context, p *access.Principal, in PickUsersInput) ([]UserChoice, error) {
	limit := in.Limit
	if limit == 0 {
		limit = PickDefaultLimit
	}
	if limit < 1 || limit > PickMaxLimit {
		return nil, errs.Field("limit", "must be between 1 and %d", PickMaxLimit)
	}
	if len(in.Q) > 128 {
		return nil, errs.Field("q", "must be at most 128 bytes")
	}
	ok, err := s.holds(ctx, p, func(b store.RoleBinding) bool { return b.Role == store.RoleAdmin })
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errs.Forbiddenf("choosing users needs the admin role in at least one scope")
	}
	us, err := s.users.Search(ctx, in.Q, limit)
	if err != nil {
		return nil, err
	}
	out := make([]UserChoice, len(us))
	for i, u := range us {
		out[i] = UserChoice{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName}
	}
	return out, nil
}

// requireDirectory refuses callers without a platform role (any platform role is at least
// viewer): they may not read other users' records.
func (s *Service) requireDirectory(ctx context.Context, p *access.Principal) error {
	ok, err := s.holds(ctx, p, func(b store.RoleBinding) bool { return b.Scope == store.ScopePlatform })
	if err != nil {
		return err
	}
	if !ok {
		return errs.Forbiddenf("reading other users needs a platform role (viewer or above)")
	}
	return nil
}

// holds reports whether the caller is a super admin or has a role binding matching want. A
// token limited to one cluster holds nothing here.
func (s *Service) holds(ctx context.Context, p *access.Principal, want func(store.RoleBinding) bool) (bool, error) {
	if p == nil || p.User == nil || p.ClusterID != 0 {
		return false, nil
	}
	if p.User.IsSuper {
		return true, nil
	}
	bs, err := s.bindings.ListByUser(ctx, p.User.ID)
	if err != nil {
		return false, fmt.Errorf("load role bindings: %w", err)
	}
	for _, b := range bs {
		if want(b) {
			return true, nil
		}
	}
	return false, nil
}
