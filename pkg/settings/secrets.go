// Package settings manages platform-wide settings: stored credentials (secrets) and image
// registries. Secret material is sealed with secretbox before it reaches the store and is
// write-only: responses say whether a field is set, never what it is.
package settings

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/ssh"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/secretbox"
	"github.com/kubespace/kubespace/pkg/store"
)

// Additional data binding each sealed column to its purpose.
const (
	adSecretPassword   = "secret/password"
	adSecretPrivateKey = "secret/private_key"
	adSecretToken      = "secret/token"
	adRegistryPassword = "image_registry/password"
)

// Secrets manages stored credentials.
type Secrets struct {
	store store.Secrets
	box   *secretbox.Box
}

// NewSecrets returns the secrets service.
func NewSecrets(s store.Secrets, box *secretbox.Box) *Secrets { return &Secrets{store: s, box: box} }

// SecretView is a secret as the API shows it.
type SecretView struct {
	store.Secret
	HasPassword   bool `json:"has_password"`
	HasPrivateKey bool `json:"has_private_key"`
	HasToken      bool `json:"has_token"`
}

func viewSecret(s *store.Secret) *SecretView {
	return &SecretView{Secret: *s, HasPassword: len(s.PasswordSealed) > 0,
		HasPrivateKey: len(s.PrivateKeySealed) > 0, HasToken: len(s.TokenSealed) > 0}
}

// SecretInput creates a secret (all material fields) or updates one (nil keeps a field; an empty
// material string keeps it too, so a form left blank never erases a credential).
type SecretInput struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	Type        *string `json:"type" enum:"password,ssh_key,token"`
	Username    *string `json:"username"`
	Password    *string `json:"password"`
	PrivateKey  *string `json:"private_key"`
	Token       *string `json:"token"`
}

// SecretMaterial is an opened secret, for services that use it (never for API responses).
type SecretMaterial struct {
	Type       string
	Username   string
	Password   string
	PrivateKey string
	Token      string
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// Create stores a new secret.
func (s *Secrets) Create(ctx context.Context, in SecretInput) (*SecretView, error) {
	sec := &store.Secret{}
	if in.Name == nil {
		in.Name = new(string)
	}
	if in.Type == nil {
		in.Type = new(string)
	}
	if err := s.apply(sec, in); err != nil {
		return nil, err
	}
	if err := s.store.Create(ctx, sec); err != nil {
		if errs.Is(err, errs.Conflict) {
			return nil, errs.Conflictf("a secret named %q already exists", sec.Name)
		}
		return nil, err
	}
	return viewSecret(sec), nil
}

// Update changes a secret.
func (s *Secrets) Update(ctx context.Context, id int64, in SecretInput) (*SecretView, error) {
	sec, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.apply(sec, in); err != nil {
		return nil, err
	}
	if err := s.store.Update(ctx, sec); err != nil {
		if errs.Is(err, errs.Conflict) {
			return nil, errs.Conflictf("a secret named %q already exists", sec.Name)
		}
		return nil, err
	}
	return viewSecret(sec), nil
}

func (s *Secrets) apply(sec *store.Secret, in SecretInput) error {
	f := errs.Fields{}
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		if name == "" || utf8.RuneCountInString(name) > 128 {
			f.Add("name", "must be 1-128 characters")
		}
		sec.Name = name
	}
	if in.Description != nil {
		if utf8.RuneCountInString(*in.Description) > 512 {
			f.Add("description", "must be at most 512 characters")
		}
		sec.Description = *in.Description
	}
	if in.Type != nil {
		switch *in.Type {
		case store.SecretPassword, store.SecretSSHKey, store.SecretToken:
			sec.Type = *in.Type
		case "":
			f.Add("type", "is required")
		default:
			f.Add("type", "must be password, ssh_key or token")
		}
	}
	if in.Username != nil {
		if len(*in.Username) > 255 {
			f.Add("username", "must be at most 255 characters")
		}
		sec.Username = *in.Username
	}
	if pw := str(in.Password); pw != "" {
		if len(pw) > 4096 {
			f.Add("password", "must be at most 4096 bytes")
		}
		sec.PasswordSealed = s.box.Seal([]byte(pw), adSecretPassword)
	}
	if key := str(in.PrivateKey); key != "" {
		if err := checkPrivateKey(key); err != nil {
			f.Add("private_key", "%s", err.Error())
		}
		sec.PrivateKeySealed = s.box.Seal([]byte(key), adSecretPrivateKey)
	}
	if tok := str(in.Token); tok != "" {
		if len(tok) > 8192 {
			f.Add("token", "must be at most 8192 bytes")
		}
		sec.TokenSealed = s.box.Seal([]byte(tok), adSecretToken)
	}
	// Material of another type is dropped, so a secret never keeps a credential it no longer
	// shows or uses (a password left behind after switching to a token).
	switch sec.Type {
	case store.SecretPassword:
		sec.PrivateKeySealed, sec.TokenSealed = nil, nil
	case store.SecretSSHKey:
		sec.PasswordSealed, sec.TokenSealed = nil, nil
	case store.SecretToken:
		sec.PasswordSealed, sec.PrivateKeySealed = nil, nil
	}
	if len(f) == 0 {
		// The material the type needs must be present after the change.
		switch sec.Type {
		case store.SecretPassword:
			if len(sec.PasswordSealed) == 0 {
				f.Add("password", "is required for a password secret")
			}
		case store.SecretSSHKey:
			if len(sec.PrivateKeySealed) == 0 {
				f.Add("private_key", "is required for an ssh_key secret")
			}
		case store.SecretToken:
			if len(sec.TokenSealed) == 0 {
				f.Add("token", "is required for a token secret")
			}
		}
	}
	return f.Err()
}

func checkPrivateKey(key string) error {
	_, err := ssh.ParseRawPrivateKey([]byte(key))
	var missing *ssh.PassphraseMissingError
	if err != nil && !errors.As(err, &missing) {
		return errors.New("is not a PEM or OpenSSH private key")
	}
	return nil
}

// Get returns one secret's view.
func (s *Secrets) Get(ctx context.Context, id int64) (*SecretView, error) {
	sec, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return viewSecret(sec), nil
}

// List lists secrets.
func (s *Secrets) List(ctx context.Context, opts store.ListOptions) (store.Page[SecretView], error) {
	p, err := s.store.List(ctx, opts)
	if err != nil {
		return store.Page[SecretView]{}, err
	}
	out := store.Page[SecretView]{Total: p.Total, Continue: p.Continue, Items: make([]SecretView, len(p.Items))}
	for i := range p.Items {
		out.Items[i] = *viewSecret(&p.Items[i])
	}
	return out, nil
}

// Delete removes a secret.
func (s *Secrets) Delete(ctx context.Context, id int64) (*SecretView, error) {
	sec, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return viewSecret(sec), s.store.Delete(ctx, id)
}

// Open returns a secret's material for a service that uses it (git, SSH, registries).
func (s *Secrets) Open(ctx context.Context, id int64) (*SecretMaterial, error) {
	sec, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	m := &SecretMaterial{Type: sec.Type, Username: sec.Username}
	for _, f := range []struct {
		dst    *string
		sealed []byte
		ad     string
	}{{&m.Password, sec.PasswordSealed, adSecretPassword}, {&m.PrivateKey, sec.PrivateKeySealed, adSecretPrivateKey}, {&m.Token, sec.TokenSealed, adSecretToken}} {
		plain, err := s.box.Open(f.sealed, f.ad)
		if err != nil {
			return nil, errs.Wrap(errs.Internal, err, "secret %d cannot be opened", id)
		}
		*f.dst = string(plain)
	}
	return m, nil
}
