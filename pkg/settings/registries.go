package settings

import (
	"context"
	"regexp"
	"strings"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/secretbox"
	"github.com/kubespace/kubespace/pkg/store"
)

// Registries manages image registry credentials.
type Registries struct {
	store store.ImageRegistries
	box   *secretbox.Box
}

// NewRegistries returns the image registry service.
func NewRegistries(s store.ImageRegistries, box *secretbox.Box) *Registries {
	return &Registries{store: s, box: box}
}

// RegistryView is a registry as the API shows it.
type RegistryView struct {
	store.ImageRegistry
	HasPassword bool `json:"has_password"`
}

// RegistryInput creates (Registry required) or updates a registry; nil or empty Password keeps
// the stored one.
type RegistryInput struct {
	Registry *string `json:"registry"`
	Username *string `json:"username"`
	Password *string `json:"password"`
	Insecure *bool   `json:"insecure"`
}

// RegistryCredentials is an opened registry credential for services that push or pull.
type RegistryCredentials struct {
	Registry, Username, Password string
	Insecure                     bool
}

// registryHost is host[:port][/path], as image references spell registries.
var registryHost = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?(:[0-9]{1,5})?(/[a-z0-9._/-]+)?$`)

func view(r *store.ImageRegistry) *RegistryView {
	return &RegistryView{ImageRegistry: *r, HasPassword: len(r.PasswordSealed) > 0}
}

func (s *Registries) apply(r *store.ImageRegistry, in RegistryInput) error {
	f := errs.Fields{}
	if in.Registry != nil {
		host := strings.TrimSpace(*in.Registry)
		switch {
		case host == "":
			f.Add("registry", "is required")
		case strings.Contains(host, "://"):
			f.Add("registry", "must be a host such as harbor.example.com or 10.0.0.5:5000, without a scheme")
		case len(host) > 255 || !registryHost.MatchString(host):
			f.Add("registry", "must be a registry host[:port], such as harbor.example.com")
		}
		r.Registry = host
	}
	if in.Username != nil {
		if len(*in.Username) > 255 {
			f.Add("username", "must be at most 255 characters")
		}
		r.Username = *in.Username
	}
	if pw := str(in.Password); pw != "" {
		if len(pw) > 4096 {
			f.Add("password", "must be at most 4096 bytes")
		}
		r.PasswordSealed = s.box.Seal([]byte(pw), adRegistryPassword)
	}
	if in.Insecure != nil {
		r.Insecure = *in.Insecure
	}
	return f.Err()
}

// Create stores a registry.
func (s *Registries) Create(ctx context.Context, in RegistryInput) (*RegistryView, error) {
	if in.Registry == nil {
		in.Registry = new(string)
	}
	r := &store.ImageRegistry{}
	if err := s.apply(r, in); err != nil {
		return nil, err
	}
	if err := s.store.Create(ctx, r); err != nil {
		if errs.Is(err, errs.Conflict) {
			return nil, errs.Conflictf("registry %q already exists", r.Registry)
		}
		return nil, err
	}
	return view(r), nil
}

// Update changes a registry.
func (s *Registries) Update(ctx context.Context, id int64, in RegistryInput) (*RegistryView, error) {
	r, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.apply(r, in); err != nil {
		return nil, err
	}
	if err := s.store.Update(ctx, r); err != nil {
		if errs.Is(err, errs.Conflict) {
			return nil, errs.Conflictf("registry %q already exists", r.Registry)
		}
		return nil, err
	}
	return view(r), nil
}

// Get returns one registry.
func (s *Registries) Get(ctx context.Context, id int64) (*RegistryView, error) {
	r, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return view(r), nil
}

// List lists registries.
func (s *Registries) List(ctx context.Context, opts store.ListOptions) (store.Page[RegistryView], error) {
	p, err := s.store.List(ctx, opts)
	if err != nil {
		return store.Page[RegistryView]{}, err
	}
	out := store.Page[RegistryView]{Total: p.Total, Continue: p.Continue, Items: make([]RegistryView, len(p.Items))}
	for i := range p.Items {
		out.Items[i] = *view(&p.Items[i])
	}
	return out, nil
}

// Delete removes a registry.
func (s *Registries) Delete(ctx context.Context, id int64) (*RegistryView, error) {
	r, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return view(r), s.store.Delete(ctx, id)
}

// Credentials opens a registry's credentials for a service that pushes or pulls.
func (s *Registries) Credentials(ctx context.Context, id int64) (*RegistryCredentials, error) {
	r, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	pw, err := s.box.Open(r.PasswordSealed, adRegistryPassword)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "registry %d credentials cannot be opened", id)
	}
	return &RegistryCredentials{Registry: r.Registry, Username: r.Username, Password: string(pw), Insecure: r.Insecure}, nil
}
