package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/spacelet/protocol"
	"github.com/kubespace/kubespace/pkg/store"
)

var (
	nameRE       = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,126}[A-Za-z0-9])?$`)
	labelKeyRE   = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$`)
	labelValueRE = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$`)
)

// MaxLabels bounds a spacelet's labels; MaxCapacity its concurrent jobs.
const (
	MaxLabels   = 32
	MaxCapacity = 256
)

// ValidateLabels checks label keys and values (the shape of Kubernetes labels), naming field in
// the error.
func ValidateLabels(field string, labels map[string]string) error {
	if len(labels) > MaxLabels {
		return errs.Field(field, "has %d labels; at most %d are allowed", len(labels), MaxLabels)
	}
	for k, v := range labels {
		if !labelKeyRE.MatchString(k) {
			return errs.Field(field, "key %q must be 1-63 letters, digits, '.', '_', '-' or '/', starting and ending with a letter or digit", k)
		}
		if !labelValueRE.MatchString(v) {
			return errs.Field(field, "value %q of %s must be at most 63 letters, digits, '.', '_' or '-', starting and ending with a letter or digit", v, k)
		}
	}
	return nil
}

func validateRegister(r protocol.RegisterRequest) error {
	switch {
	case (r.Token == "") == (r.Credential == ""):
		return errs.Invalidf("send either a registration token or the spacelet's credential")
	case !nameRE.MatchString(r.Name):
		return errs.Field("name", "must be 1-128 letters, digits, '.', '_' or '-', starting and ending with a letter or digit; got %q", r.Name)
	case len(r.Hostname) > 255 || len(r.Version) > 64 || len(r.OS) > 32 || len(r.Arch) > 32:
		return errs.Invalidf("hostname, version, os or arch is too long")
	case r.Capacity < 1 || r.Capacity > MaxCapacity:
		return errs.Field("capacity", "must be between 1 and %d, got %d", MaxCapacity, r.Capacity)
	}
	return ValidateLabels("labels", r.Labels)
}

func encodeLabels(l map[string]string) string {
	if l == nil {
		l = map[string]string{}
	}
	b, _ := json.Marshal(l)
	return string(b)
}

// DecodeLabels reads a spacelet's stored labels.
func DecodeLabels(s string) map[string]string {
	out := map[string]string{}
	_ = json.Unmarshal([]byte(s), &out)
	return out
}

var errCredential = errs.Unauthenticatedf("spacelet credential refused: the spacelet was removed or its credential is wrong; register it again with a registration token").WithCode("spacelet_unauthenticated")

// Authenticate returns the spacelet a credential belongs to.
func (s *Service) Authenticate(ctx context.Context, credential string) (*store.Spacelet, error) {
	if !strings.HasPrefix(credential, protocol.CredentialPrefix) {
		return nil, errCredential
	}
	sp, err := s.d.Spacelets.GetByCredential(ctx, hash(credential))
	if errs.Is(err, errs.NotFound) {
		return nil, errCredential
	}
	return sp, err
}

// Register exchanges a registration token for a credential (a new spacelet, or one that lost its
// data directory), or updates a known spacelet that presents its credential.
func (s *Service) Register(ctx context.Context, r protocol.RegisterRequest) (*protocol.RegisterResponse, error) {
	if err := validateRegister(r); err != nil {
		return nil, err
	}
	now := s.d.Now()
	if r.Credential != "" {
		sp, err := s.Authenticate(ctx, r.Credential)
		if err != nil {
			return nil, err
		}
		if sp.Name != r.Name {
			if other, err := s.d.Spacelets.GetByName(ctx, r.Name); err == nil && other.ID != sp.ID {
				return nil, errs.Conflictf("another spacelet is named %q; choose another SPACELET_NAME", r.Name).WithCode("spacelet_name_taken")
			}
		}
		apply(sp, r, now)
		if err := s.d.Spacelets.Update(ctx, sp); err != nil {
			return nil, err
		}
		s.publishSpacelet(ctx, sp.ID, sp.Status)
		return &protocol.RegisterResponse{ID: sp.ID, Name: sp.Name}, nil
	}
	tok, err := s.d.Tokens.GetByHash(ctx, hash(r.Token))
	if errs.Is(err, errs.NotFound) || (err == nil && !strings.HasPrefix(r.Token, protocol.RegistrationPrefix)) {
		return nil, errs.Unauthenticatedf("registration token refused: it was deleted or never existed; create one on the Spacelets page").WithCode("registration_token_refused")
	}
	if err != nil {
		return nil, err
	}
	if tok.ExpiresAt != nil && !now.Before(*tok.ExpiresAt) {
		return nil, errs.Unauthenticatedf("registration token %q expired at %s; create a new one on the Spacelets page", tok.Name,
			tok.ExpiresAt.UTC().Format("2006-01-02 15:04 MST")).WithCode("registration_token_expired")
	}
	cred := newSecret(protocol.CredentialPrefix)
	sp, err := s.d.Spacelets.GetByName(ctx, r.Name)
	if err == nil && sp.Status == store.SpaceletOnline && sp.LastSeenAt != nil && now.Sub(*sp.LastSeenAt) < OfflineAfter {
		// A spacelet that lost its data directory registers again under its name; a live one
		// keeps it (two machines with one name would take turns otherwise).
		return nil, errs.Conflictf("a spacelet named %q is online; give this one another SPACELET_NAME", r.Name).WithCode("spacelet_name_taken")
	}
	if err != nil && !errs.Is(err, errs.NotFound) {
		return nil, err
	}
	// Checked last, so a refusal above does not spend a single-use token.
	ok, uerr := s.d.Tokens.Use(ctx, tok.ID, now)
	if uerr != nil {
		return nil, uerr
	}
	if !ok {
		return nil, errs.Unauthenticatedf("registration token %q was for one spacelet and has been used; create another on the Spacelets page", tok.Name).
			WithCode("registration_token_used")
	}
	switch {
	case err == nil:
		apply(sp, r, now)
		sp.CredentialHash = hash(cred)
		err = s.d.Spacelets.Update(ctx, sp)
	case errs.Is(err, errs.NotFound):
		sp = &store.Spacelet{Name: r.Name, CredentialHash: hash(cred)}
		apply(sp, r, now)
		err = s.d.Spacelets.Create(ctx, sp)
	}
	if err != nil {
		return nil, fmt.Errorf("register spacelet %q: %w", r.Name, err)
	}
	s.d.Log.InfoContext(ctx, "spacelet registered", "spacelet_id", sp.ID, "name", sp.Name, "token_id", tok.ID)
	s.publishSpacelet(ctx, sp.ID, sp.Status)
	return &protocol.RegisterResponse{ID: sp.ID, Name: sp.Name, Credential: cred}, nil
}

// apply copies what a spacelet reports about itself. Labels it sends replace the stored ones;
// a spacelet started without LABELS keeps the labels set on the Spacelets page.
func apply(sp *store.Spacelet, r protocol.RegisterRequest, now time.Time) {
	sp.Name, sp.Hostname, sp.Capacity, sp.Version, sp.OS, sp.Arch = r.Name, r.Hostname, r.Capacity, r.Version, r.OS, r.Arch
	if len(r.Labels) > 0 || sp.Labels == "" {
		sp.Labels = encodeLabels(r.Labels)
	}
	t := now.UTC()
	sp.LastSeenAt = &t
	sp.Status = store.SpaceletOnline
}

// Heartbeat records that the spacelet is alive and says whether it drains.
func (s *Service) Heartbeat(ctx context.Context, sp *store.Spacelet, h protocol.Heartbeat) (*protocol.HeartbeatResponse, error) {
	if h.Capacity < 0 || h.Capacity > MaxCapacity || h.Running < 0 {
		return nil, errs.Invalidf("heartbeat: running and capacity must be between 0 and %d", MaxCapacity)
	}
	if err := s.d.Spacelets.Seen(ctx, sp.ID, s.d.Now()); err != nil {
		return nil, err
	}
	if sp.Status != store.SpaceletOnline {
		s.publishSpacelet(ctx, sp.ID, store.SpaceletOnline)
	}
	return &protocol.HeartbeatResponse{Draining: sp.Draining}, nil
}

// LocalCredential gives the spacelet named name a fresh credential, creating the spacelet when
// missing. The server's own spacelet (the embedded all-in-one mode) registers this way, without
// a registration token; its previous credential stops working.
func (s *Service) LocalCredential(ctx context.Context, name string) (string, error) {
	if !nameRE.MatchString(name) {
		return "", errs.Field("name", "must be 1-128 letters, digits, '.', '_' or '-'; got %q", name)
	}
	cred := newSecret(protocol.CredentialPrefix)
	sp, err := s.d.Spacelets.GetByName(ctx, name)
	switch {
	case err == nil:
		sp.CredentialHash = hash(cred)
		err = s.d.Spacelets.Update(ctx, sp)
	case errs.Is(err, errs.NotFound):
		err = s.d.Spacelets.Create(ctx, &store.Spacelet{Name: name, Capacity: 1, Labels: "{}", CredentialHash: hash(cred)})
	}
	if err != nil {
		return "", fmt.Errorf("local spacelet %q: %w", name, err)
	}
	return cred, nil
}
