package httpapi

import (
	"net/http"

	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/settings"
)

// SettingsServices are the platform settings services.
type SettingsServices struct {
	Secrets    *settings.Secrets
	Registries *settings.Registries
}

func (a *API) registerSettings() {
	s := a.deps.Settings.Secrets
	editor := a.PlatformRole(access.Editor)
	a.register(&Route{Method: http.MethodGet, Path: "/secrets", Tag: "secrets", Summary: "List secrets (material is never returned)",
		Guard: editor, Example: ListQuery{Sort: "name"},
		Handler: Do(func(c *Call, q *ListQuery) (List[settings.SecretView], error) {
			p, err := s.List(c.Ctx, q.options())
			return listOf(p), err
		})})
	a.register(&Route{Method: http.MethodPost, Path: "/secrets", Tag: "secrets", Summary: "Create a secret",
		Guard: editor, Resource: "secret", Status: http.StatusCreated,
		Example: settings.SecretInput{Name: ptr("git-ci"), Type: ptr("password"), Username: ptr("ci"), Password: ptr("s3cret-value")},
		Handler: Do(func(c *Call, in *settings.SecretInput) (*settings.SecretView, error) {
			v, err := s.Create(c.Ctx, *in)
			if err == nil {
				c.Audit(v.ID, v.Name)
			}
			return v, err
		})})
	a.register(&Route{Method: http.MethodGet, Path: "/secrets/:id", Tag: "secrets", Summary: "Get a secret (material is never returned)",
		Guard: editor, Handler: Do(func(c *Call, _ *NoInput) (*settings.SecretView, error) {
			id := c.PathID()
			return s.Get(c.Ctx, id)
		})})
	a.register(&Route{Method: http.MethodPut, Path: "/secrets/:id", Tag: "secrets", Summary: "Update a secret (empty material keeps the stored value)",
		Guard: editor, Resource: "secret", Example: settings.SecretInput{Description: ptr("CI git account")},
		Handler: Do(func(c *Call, in *settings.SecretInput) (*settings.SecretView, error) {
			id := c.PathID()
			v, err := s.Update(c.Ctx, id, *in)
			if err == nil {
				c.Audit(v.ID, v.Name)
			}
			return v, err
		})})
	a.register(&Route{Method: http.MethodDelete, Path: "/secrets/:id", Tag: "secrets", Summary: "Delete a secret",
		Guard: editor, Resource: "secret",
		Handler: Do(func(c *Call, _ *NoInput) (NoContent, error) {
			id := c.PathID()
			v, err := s.Delete(c.Ctx, id)
			if err == nil {
				c.Audit(v.ID, v.Name)
			}
			return NoContent{}, err
		})})
	a.registerRegistries(editor)
}

func (a *API) registerRegistries(editor Guard) {
	r := a.deps.Settings.Registries
	a.register(&Route{Method: http.MethodGet, Path: "/image-registries", Tag: "image-registries", Summary: "List image registries",
		Guard: editor, Example: ListQuery{Sort: "registry"},
		Handler: Do(func(c *Call, q *ListQuery) (List[settings.RegistryView], error) {
			p, err := r.List(c.Ctx, q.options())
			return listOf(p), err
		})})
	a.register(&Route{Method: http.MethodPost, Path: "/image-registries", Tag: "image-registries", Summary: "Add an image registry",
		Guard: editor, Resource: "image_registry", Status: http.StatusCreated,
		Example: settings.RegistryInput{Registry: ptr("harbor.example.com"), Username: ptr("robot"), Password: ptr("s3cret-value")},
		Handler: Do(func(c *Call, in *settings.RegistryInput) (*settings.RegistryView, error) {
			v, err := r.Create(c.Ctx, *in)
			if err == nil {
				c.Audit(v.ID, v.Registry)
			}
			return v, err
		})})
	a.register(&Route{Method: http.MethodGet, Path: "/image-registries/:id", Tag: "image-registries", Summary: "Get an image registry",
		Guard: editor, Handler: Do(func(c *Call, _ *NoInput) (*settings.RegistryView, error) {
			id := c.PathID()
			return r.Get(c.Ctx, id)
		})})
	a.register(&Route{Method: http.MethodPut, Path: "/image-registries/:id", Tag: "image-registries", Summary: "Update an image registry (empty password keeps the stored one)",
		Guard: editor, Resource: "image_registry", Example: settings.RegistryInput{Insecure: ptr(false)},
		Handler: Do(func(c *Call, in *settings.RegistryInput) (*settings.RegistryView, error) {
			id := c.PathID()
			v, err := r.Update(c.Ctx, id, *in)
			if err == nil {
				c.Audit(v.ID, v.Registry)
			}
			return v, err
		})})
	a.register(&Route{Method: http.MethodDelete, Path: "/image-registries/:id", Tag: "image-registries", Summary: "Delete an image registry",
		Guard: editor, Resource: "image_registry",
		Handler: Do(func(c *Call, _ *NoInput) (NoContent, error) {
			id := c.PathID()
			v, err := r.Delete(c.Ctx, id)
			if err == nil {
				c.Audit(v.ID, v.Registry)
			}
			return NoContent{}, err
		})})
}
