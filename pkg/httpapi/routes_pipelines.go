package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"

	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/gitrepo"
	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/pipeline/workspace"
	"github.com/kubespace/kubespace/pkg/store"
)

// ImportInput is a pipeline definition exported as YAML, to create a pipeline from.
type ImportInput struct {
	YAML string `json:"yaml" required:"true"`
}

// pipelineWorkspaceScope resolves the pipeline workspace the path names and checks it exists.
func (a *API) pipelineWorkspaceScope(c *Call) (access.Scope, error) {
	s := access.Scope{Kind: store.ScopePipelineWorkspace, ID: c.PathID()}
	return s, a.deps.Authorizer.Exists(c.Ctx, s)
}

// pipelineScope resolves the workspace of the pipeline the path names.
func (a *API) pipelineScope(c *Call) (access.Scope, error) {
	ws, err := a.deps.PipelineWorkspaces.PipelineWorkspace(c.Ctx, c.PathID())
	if err != nil {
		return access.Scope{}, err
	}
	return access.Scope{Kind: store.ScopePipelineWorkspace, ID: ws}, nil
}

// examplePipeline is the documented definition: a nightly pipeline of one shell job.
func examplePipeline() pipeline.Definition {
	return pipeline.Definition{Name: "nightly", Description: "Runs the slow tests every night", Sources: []pipeline.Source{},
		Triggers: []pipeline.Trigger{{Type: pipeline.TriggerCron, Schedule: "0 2 * * *", TimeZone: "UTC"}},
		Stages: []pipeline.Stage{{Name: "test", TriggerMode: pipeline.StageAuto, Jobs: []pipeline.Job{{Name: "slow tests", PluginKey: "execute_shell",
			Params: json.RawMessage(`{"script":"make test-slow"}`), TimeoutSeconds: 3600}}}}}
}

func (a *API) registerPipelines() {
	ws := a.deps.PipelineWorkspaces
	viewer := a.ResourceRole(access.Viewer, a.pipelineWorkspaceScope)
	editor := a.ResourceRole(access.Editor, a.pipelineWorkspaceScope)
	admin := a.ResourceRole(access.Admin, a.pipelineWorkspaceScope)
	a.register(&Route{Method: http.MethodGet, Path: "/pipeline-workspaces", Tag: "pipelines",
		Summary: "List the pipeline workspaces you can see", Guard: Authenticated(), Example: ListQuery{Sort: "name"},
		Handler: Do(func(c *Call, q *ListQuery) (List[workspace.View], error) {
			ids, err := a.visibleScopes(c, store.ScopePipelineWorkspace)
			if err != nil {
				return List[workspace.View]{}, err
			}
			p, err := ws.List(c.Ctx, ids, q.options())
			return listOf(p), err
		})})
	a.register(&Route{Method: http.MethodPost, Path: "/pipeline-workspaces", Tag: "pipelines",
		Summary: "Create a pipeline workspace: code (bound to a repository, checked by listing its branches; starts with the branch and trunk pipelines) or custom. Binding a secret needs the platform editor role; the creator becomes the workspace's admin",
		Guard:   a.PlatformRole(access.Editor), Resource: "pipeline_workspace", Status: http.StatusCreated,
		Example: workspace.Input{Name: ptr("tools"), Type: ptr("custom"), Description: ptr("release tooling")},
		Handler: Do(func(c *Call, in *workspace.Input) (*workspace.View, error) {
			v, err := ws.Create(c.Ctx, c.Principal, *in)
			if err == nil {
				c.Audit(v.ID, v.Name)
			}
			return v, err
		})})
	a.register(&Route{Method: http.MethodGet, Path: "/pipeline-workspaces/:id", Tag: "pipelines", Summary: "Get a pipeline workspace",
		Guard: viewer, Handler: Do(func(c *Call, _ *NoInput) (*workspace.View, error) { return ws.Get(c.Ctx, c.scope.ID) })})
	a.register(&Route{Method: http.MethodPut, Path: "/pipeline-workspaces/:id", Tag: "pipelines",
		Summary: "Edit a pipeline workspace (its admins; a new repository, secret or verification setting is checked by listing branches, and binding a secret needs the platform editor role)",
		Guard:   admin, Resource: "pipeline_workspace", Example: workspace.Input{Description: ptr("release tooling, v2")},
		Handler: Do(func(c *Call, in *workspace.Input) (*workspace.View, error) {
			v, err := ws.Update(c.Ctx, c.Principal, c.scope.ID, *in)
			if err == nil {
				c.Audit(v.ID, v.Name)
			}
			return v, err
		})})
	a.register(&Route{Method: http.MethodDelete, Path: "/pipeline-workspaces/:id", Tag: "pipelines",
		Summary: "Delete a pipeline workspace with its pipelines, their runs and logs, and its role bindings (refused while runs are active)",
		Guard:   admin, Resource: "pipeline_workspace",
		Handler: Do(func(c *Call, _ *NoInput) (NoContent, error) {
			v, err := ws.Delete(c.Ctx, c.scope.ID)
			if err == nil {
				c.Audit(v.ID, v.Name)
			}
			return NoContent{}, err
		})})
	a.register(&Route{Method: http.MethodGet, Path: "/pipeline-workspaces/:id/branches", Tag: "pipelines",
		Summary: "The branches of a code workspace's repository, read now (none for a custom workspace); a repository that cannot be read is a 422 whose code says why (git_auth_failed, git_not_found, git_host_key, git_timeout, git_tls, git_unreachable)",
		Guard:   viewer, Handler: Do(func(c *Call, _ *NoInput) (List[gitrepo.Branch], error) {
			bs, err := ws.Branches(c.Ctx, c.scope.ID)
			return listOf(store.Page[gitrepo.Branch]{Items: bs, Total: int64(len(bs))}), err
		})})
	a.register(&Route{Method: http.MethodGet, Path: "/pipeline-workspaces/:id/webhook-secret", Tag: "pipelines",
		Summary: "The secret push webhooks of this workspace are signed with (its admins; every read is audited)",
		Guard:   admin, Response: workspace.WebhookSecret{},
		Handler: Raw(func(c *Call) error {
			c.Record("read_webhook_secret", "pipeline_workspace")
			c.Audit(c.scope.ID, "webhook secret")
			s, err := ws.WebhookSecret(c.Ctx, c.scope.ID)
			if err != nil {
				return err
			}
			c.Writer().Header().Set("Content-Type", "application/json; charset=utf-8")
			c.Writer().Header().Set("Cache-Control", "no-store")
			return json.NewEncoder(c.Writer()).Encode(s)
		})})
	a.register(&Route{Method: http.MethodPost, Path: "/pipeline-workspaces/:id/webhook-secret", Tag: "pipelines",
		Summary: "Rotate the webhook secret (deliveries signed with the old one are refused from now on)",
		Guard:   admin, Resource: "pipeline_workspace", Action: "rotate_webhook_secret",
		Handler: Do(func(c *Call, _ *NoInput) (*workspace.WebhookSecret, error) {
			s, err := ws.RotateWebhookSecret(c.Ctx, c.scope.ID)
			if err == nil {
				c.Audit(c.scope.ID, "webhook secret")
			}
			return s, err
		})})
	a.registerPipelineDefinitions(viewer, editor)
}

func (a *API) registerPipelineDefinitions(viewer, editor Guard) {
	ws := a.deps.PipelineWorkspaces
	a.register(&Route{Method: http.MethodGet, Path: "/pipeline-workspaces/:id/pipelines", Tag: "pipelines",
		Summary: "List a workspace's pipelines, each with its newest run", Guard: viewer, Example: ListQuery{Sort: "name"},
		Handler: Do(func(c *Call, q *ListQuery) (List[workspace.PipelineView], error) {
			p, err := ws.ListPipelines(c.Ctx, c.scope.ID, q.options())
			return listOf(p), err
		})})
	a.register(&Route{Method: http.MethodPost, Path: "/pipeline-workspaces/:id/pipelines", Tag: "pipelines",
		Summary: "Create a pipeline (sources, triggers, ordered stages of parallel jobs); problems are 400s naming the field path",
		Guard:   editor, Resource: "pipeline", Status: http.StatusCreated, MaxBody: pipeline.MaxDefinitionBytes, Example: examplePipeline(),
		Handler: Do(func(c *Call, in *pipeline.Definition) (*workspace.PipelineView, error) {
			v, err := ws.CreatePipeline(c.Ctx, c.Principal, c.scope.ID, *in)
			if err == nil {
				c.Audit(v.ID, v.Name)
			}
			return v, err
		})})
	a.register(&Route{Method: http.MethodPost, Path: "/pipeline-workspaces/:id/pipelines/import", Tag: "pipelines",
		Summary: "Create a pipeline from an exported YAML definition; problems name the line and the field",
		Guard:   editor, Resource: "pipeline", Action: "import", Status: http.StatusCreated, MaxBody: 2 * pipeline.MaxDefinitionBytes,
		Example: ImportInput{YAML: "name: imported\nstages:\n  - name: build\n    jobs:\n      - name: test\n        plugin_key: execute_shell\n        params:\n          script: make test\n"},
		Handler: Do(func(c *Call, in *ImportInput) (*workspace.PipelineView, error) {
			v, err := ws.Import(c.Ctx, c.Principal, c.scope.ID, []byte(in.YAML))
			if err == nil {
				c.Audit(v.ID, v.Name)
			}
			return v, err
		})})
	pv := a.ResourceRole(access.Viewer, a.pipelineScope)
	pe := a.ResourceRole(access.Editor, a.pipelineScope)
	a.register(&Route{Method: http.MethodGet, Path: "/pipelines/:id", Tag: "pipelines", Summary: "Get a pipeline with its newest run",
		Guard: pv, Handler: Do(func(c *Call, _ *NoInput) (*workspace.PipelineView, error) { return ws.GetPipeline(c.Ctx, c.PathID()) })})
	a.register(&Route{Method: http.MethodPut, Path: "/pipelines/:id", Tag: "pipelines",
		Summary: "Replace a pipeline's definition (runs already started keep the definition they started with)",
		Guard:   pe, Resource: "pipeline", MaxBody: pipeline.MaxDefinitionBytes, Example: examplePipeline(),
		Handler: Do(func(c *Call, in *pipeline.Definition) (*workspace.PipelineView, error) {
			v, err := ws.UpdatePipeline(c.Ctx, c.Principal, c.PathID(), *in)
			if err == nil {
				c.Audit(v.ID, v.Name)
			}
			return v, err
		})})
	a.register(&Route{Method: http.MethodDelete, Path: "/pipelines/:id", Tag: "pipelines",
		Summary: "Delete a pipeline with its runs and logs (refused while runs are active or other pipelines take it as a source or trigger)",
		Guard:   pe, Resource: "pipeline",
		Handler: Do(func(c *Call, _ *NoInput) (NoContent, error) {
			v, err := ws.DeletePipeline(c.Ctx, c.PathID())
			if err == nil {
				c.Audit(v.ID, v.Name)
			}
			return NoContent{}, err
		})})
	a.register(&Route{Method: http.MethodGet, Path: "/pipelines/:id/export", Tag: "pipelines",
		Summary: "The pipeline's definition as YAML (what import reads)", Guard: pv, ContentType: "application/yaml",
		Response: pipeline.Definition{},
		Handler: Raw(func(c *Call) error {
			data, name, err := ws.Export(c.Ctx, c.PathID())
			if err != nil {
				return err
			}
			w := c.Writer()
			w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
			w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", fileName(name)+".yaml"))
			w.WriteHeader(http.StatusOK)
			_, err = w.Write(data)
			return err
		})})
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// fileName makes a pipeline name safe as a download's file name.
func fileName(name string) string {
	s := unsafeFileChars.ReplaceAllString(name, "-")
	if s == "" || s == "-" {
		return "pipeline"
	}
	return s
}

// visibleScopes returns nil (all) for platform viewers, otherwise the ids of the scopes of
// kind the caller holds a role in.
func (a *API) visibleScopes(c *Call, kind string) ([]int64, error) {
	if r, err := a.deps.Authorizer.RoleIn(c.Ctx, c.Principal, access.Platform); err != nil || r >= access.Viewer {
		return nil, err
	}
	perms, err := a.deps.Authorizer.Permissions(c.Ctx, c.Principal)
	if err != nil {
		return nil, err
	}
	ids := []int64{}
	for _, p := range perms {
		if p.Scope == kind {
			ids = append(ids, p.ScopeID)
		}
	}
	return ids, nil
}
