package dispatch

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/pipeline/nudge"
	"github.com/kubespace/kubespace/pkg/spacelet/protocol"
	"github.com/kubespace/kubespace/pkg/store"
)

// SpaceletView is a spacelet as the API shows it.
type SpaceletView struct {
	ID       int64             `json:"id"`
	Name     string            `json:"name"`
	Hostname string            `json:"hostname"`
	Labels   map[string]string `json:"labels"`
	Capacity int               `json:"capacity"`
	// Running counts the jobs assigned to it that wait or run (its load).
	Running    int64      `json:"running"`
	Version    string     `json:"version"`
	OS         string     `json:"os"`
	Arch       string     `json:"arch"`
	Status     string     `json:"status"`
	Draining   bool       `json:"draining"`
	LastSeenAt *time.Time `json:"last_seen_at"`
	CreatedAt  time.Time  `json:"created_at"`
}

func (s *Service) view(ctx context.Context, sp *store.Spacelet) (SpaceletView, error) {
	n, err := s.d.Dispatch.Running(ctx, sp.ID)
	if err != nil {
		return SpaceletView{}, err
	}
	return SpaceletView{ID: sp.ID, Name: sp.Name, Hostname: sp.Hostname, Labels: DecodeLabels(sp.Labels), Capacity: sp.Capacity,
		Running: n, Version: sp.Version, OS: sp.OS, Arch: sp.Arch, Status: sp.Status, Draining: sp.Draining,
		LastSeenAt: sp.LastSeenAt, CreatedAt: sp.CreatedAt}, nil
}

// List lists spacelets with their load.
func (s *Service) List(ctx context.Context, opts store.ListOptions) (store.Page[SpaceletView], error) {
	p, err := s.d.Spacelets.List(ctx, opts)
	if err != nil {
		return store.Page[SpaceletView]{}, err
	}
	out := store.Page[SpaceletView]{Items: make([]SpaceletView, 0, len(p.Items)), Total: p.Total, Continue: p.Continue}
	for i := range p.Items {
		v, err := s.view(ctx, &p.Items[i])
		if err != nil {
			return out, err
		}
		out.Items = append(out.Items, v)
	}
	return out, nil
}

// Get returns one spacelet.
func (s *Service) Get(ctx context.Context, id int64) (SpaceletView, error) {
	sp, err := s.d.Spacelets.Get(ctx, id)
	if err != nil {
		return SpaceletView{}, err
	}
	return s.view(ctx, sp)
}

// SpaceletInput changes a spacelet: its labels (replaced whole) and whether it drains.
type SpaceletInput struct {
	Labels   *map[string]string `json:"labels,omitempty"`
	Draining *bool              `json:"draining,omitempty"`
}

// Update applies in to spacelet id.
func (s *Service) Update(ctx context.Context, id int64, in SpaceletInput) (SpaceletView, error) {
	if in.Labels == nil && in.Draining == nil {
		return SpaceletView{}, errs.Invalidf("nothing to change: send labels or draining")
	}
	if in.Labels != nil {
		if err := ValidateLabels("labels", *in.Labels); err != nil {
			return SpaceletView{}, err
		}
	}
	sp, err := s.d.Spacelets.Get(ctx, id)
	if err != nil {
		return SpaceletView{}, err
	}
	if in.Labels != nil {
		sp.Labels = encodeLabels(*in.Labels)
	}
	if in.Draining != nil {
		sp.Draining = *in.Draining
	}
	if err := s.d.Spacelets.Update(ctx, sp); err != nil {
		return SpaceletView{}, err
	}
	s.publishSpacelet(ctx, sp.ID, sp.Status)
	if !sp.Draining {
		// Jobs assigned while it drained may be waiting for it.
		_ = nudge.Publish(ctx, s.d.Bus, nudge.TopicAssigned, sp.ID)
	}
	return s.view(ctx, sp)
}

// Delete removes a spacelet: its credential stops working at once. Jobs it runs lose their lease
// and fail when it runs out.
func (s *Service) Delete(ctx context.Context, id int64) (SpaceletView, error) {
	v, err := s.Get(ctx, id)
	if err != nil {
		return v, err
	}
	if err := s.d.Spacelets.Delete(ctx, id); err != nil {
		return v, err
	}
	s.publishSpacelet(ctx, id, "")
	return v, nil
}

// TokenView is a registration token as the API shows it (never the secret).
type TokenView struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	CreatedBy  int64      `json:"created_by"`
	SingleUse  bool       `json:"single_use"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	CreatedAt  time.Time  `json:"created_at"`
}

func tokenView(t *store.SpaceletToken) TokenView {
	return TokenView{ID: t.ID, Name: t.Name, Prefix: t.Prefix, CreatedBy: t.CreatedBy, SingleUse: t.SingleUse, ExpiresAt: t.ExpiresAt,
		LastUsedAt: t.LastUsedAt, CreatedAt: t.CreatedAt}
}

// CreatedToken is a new registration token: the secret is shown this once, with the command
// that starts a spacelet with it.
type CreatedToken struct {
	TokenView
	Token   string `json:"token"`
	Command string `json:"command"`
}

// TokenInput creates a registration token.
type TokenInput struct {
	Name string `json:"name" required:"true"`
	// ExpiresInHours bounds the token's life (default 24, at most 8760). Until then it registers
	// any number of spacelets (a fleet started from one manifest) unless SingleUse; delete it
	// to stop that.
	ExpiresInHours *int `json:"expires_in_hours,omitempty"`
	// SingleUse: the token registers one spacelet, then no more.
	SingleUse bool `json:"single_use,omitempty"`
}

// Token limits.
const (
	DefaultTokenHours = 24
	MaxTokenHours     = 24 * 365
)

// CreateToken makes a registration token. serverURL is where spacelets reach this server (for
// the start command).
func (s *Service) CreateToken(ctx context.Context, userID int64, in TokenInput, serverURL string) (*CreatedToken, error) {
	name := strings.TrimSpace(in.Name)
	if name == "" || len(name) > 128 {
		return nil, errs.Field("name", "must be 1-128 characters")
	}
	hours := DefaultTokenHours
	if in.ExpiresInHours != nil {
		hours = *in.ExpiresInHours
	}
	if hours < 1 || hours > MaxTokenHours {
		return nil, errs.Field("expires_in_hours", "must be between 1 and %d, got %d", MaxTokenHours, hours)
	}
	secret := newSecret(protocol.RegistrationPrefix)
	exp := s.d.Now().Add(time.Duration(hours) * time.Hour).UTC()
	t := &store.SpaceletToken{Name: name, TokenHash: hash(secret), Prefix: secret[:len(protocol.RegistrationPrefix)+6], CreatedBy: userID,
		SingleUse: in.SingleUse, ExpiresAt: &exp}
	if err := s.d.Tokens.Create(ctx, t); err != nil {
		return nil, err
	}
	return &CreatedToken{TokenView: tokenView(t), Token: secret, Command: StartCommand(serverURL, secret)}, nil
}

// StartCommand is the one line that starts a spacelet registering with token.
func StartCommand(serverURL, token string) string {
	return fmt.Sprintf("SERVER_URL=%s REGISTRATION_TOKEN=%s DATA_DIR=/var/lib/kubespace-spacelet spacelet", serverURL, token)
}

// ListTokens lists registration tokens.
func (s *Service) ListTokens(ctx context.Context, opts store.ListOptions) (store.Page[TokenView], error) {
	p, err := s.d.Tokens.List(ctx, opts)
	if err != nil {
		return store.Page[TokenView]{}, err
	}
	out := store.Page[TokenView]{Items: make([]TokenView, 0, len(p.Items)), Total: p.Total, Continue: p.Continue}
	for i := range p.Items {
		out.Items = append(out.Items, tokenView(&p.Items[i]))
	}
	return out, nil
}

// DeleteToken deletes a registration token; spacelets registered with it keep their credentials.
func (s *Service) DeleteToken(ctx context.Context, id int64) error {
	return s.d.Tokens.Delete(ctx, id)
}
