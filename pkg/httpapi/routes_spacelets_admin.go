package httpapi

import (
	"net/http"

	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/pipeline/dispatch"
	"github.com/kubespace/kubespace/pkg/plugin/builtin"
)

// serverURL is the public URL spacelets reach this server at: SERVER_URL, else the request's.
func (a *API) serverURL(c *Call) string {
	if a.deps.ServerURL != "" {
		return a.deps.ServerURL
	}
	r := c.Request()
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// registerSpaceletAdmin mounts spacelet administration, registration tokens, the plugin list
// and job logs.
func (a *API) registerSpaceletAdmin() {
	sp := a.deps.Spacelets
	if sp.Dispatch == nil {
		return
	}
	svc := sp.Dispatch
	viewer, admin := a.PlatformRole(access.Viewer), a.PlatformRole(access.Admin)
	a.register(&Route{Method: http.MethodGet, Path: "/spacelets", Tag: "spacelets", Summary: "List spacelets with their labels, load and status",
		Guard: viewer, Example: ListQuery{Sort: "name"},
		Handler: Do(func(c *Call, q *ListQuery) (List[dispatch.SpaceletView], error) {
			p, err := svc.List(c.Ctx, q.options())
			return listOf(p), err
		})})
	a.register(&Route{Method: http.MethodPut, Path: "/spacelets/:id", Tag: "spacelets",
		Summary: "Change a spacelet's labels (replaced whole) or drain it (it takes no new jobs; running ones finish)",
		Guard:   admin, Resource: "spacelet", Example: dispatch.SpaceletInput{Draining: ptr(true)},
		Handler: Do(func(c *Call, in *dispatch.SpaceletInput) (dispatch.SpaceletView, error) {
			v, err := svc.Update(c.Ctx, c.PathID(), *in)
			if err == nil {
				c.Audit(v.ID, v.Name)
			}
			return v, err
		})})
	a.register(&Route{Method: http.MethodDelete, Path: "/spacelets/:id", Tag: "spacelets",
		Summary: "Remove a spacelet: its credential stops working; jobs it runs fail when their lease runs out",
		Guard:   admin, Resource: "spacelet",
		Handler: Do(func(c *Call, _ *NoInput) (NoContent, error) {
			v, err := svc.Delete(c.Ctx, c.PathID())
			if err == nil {
				c.Audit(v.ID, v.Name)
			}
			return NoContent{}, err
		})})
	a.register(&Route{Method: http.MethodGet, Path: "/spacelet-tokens", Tag: "spacelets", Summary: "List spacelet registration tokens (never their secrets)",
		Guard: admin, Example: ListQuery{Sort: "-created_at"},
		Handler: Do(func(c *Call, q *ListQuery) (List[dispatch.TokenView], error) {
			p, err := svc.ListTokens(c.Ctx, q.options())
			return listOf(p), err
		})})
	a.register(&Route{Method: http.MethodPost, Path: "/spacelet-tokens", Tag: "spacelets",
		Summary: "Create a registration token; the answer shows its secret once, with the command that starts a spacelet",
		Guard:   admin, Resource: "spacelet_token", Status: http.StatusCreated,
		Example: dispatch.TokenInput{Name: "build machines", ExpiresInHours: ptr(24)},
		Handler: Do(func(c *Call, in *dispatch.TokenInput) (*dispatch.CreatedToken, error) {
			var uid int64
			if c.Principal != nil {
				uid = c.Principal.User.ID
			}
			t, err := svc.CreateToken(c.Ctx, uid, *in, a.serverURL(c))
			if err == nil {
				c.Audit(t.ID, t.Name)
			}
			return t, err
		})})
	a.register(&Route{Method: http.MethodDelete, Path: "/spacelet-tokens/:id", Tag: "spacelets",
		Summary: "Delete a registration token (spacelets registered with it keep working)", Guard: admin, Resource: "spacelet_token",
		Handler: Do(func(c *Call, _ *NoInput) (NoContent, error) {
			return NoContent{}, svc.DeleteToken(c.Ctx, c.PathID())
		})})
	if sp.Plugins != nil {
		a.register(&Route{Method: http.MethodGet, Path: "/pipeline-plugins", Tag: "pipelines",
			Summary: "Built-in job plugins with the JSON Schema of their params", Guard: Authenticated(),
			Handler: Do(func(c *Call, _ *NoInput) (List[builtin.Info], error) {
				infos := sp.Plugins.Infos()
				return List[builtin.Info]{Items: infos, Total: int64(len(infos))}, nil
			})})
	}
	if sp.Logs != nil {
		a.register(&Route{Method: http.MethodGet, Path: "/job-runs/:id/log", Tag: "pipelines",
			Summary: "A job's log as text from ?offset=; with follow=true it streams while the job runs and ends with it",
			Guard:   a.ResourceRole(access.Viewer, a.jobLogScope), ContentType: "text/plain",
			Example: JobLogQuery{Offset: 0}, Handler: Raw(a.serveJobLog)})
	}
}
