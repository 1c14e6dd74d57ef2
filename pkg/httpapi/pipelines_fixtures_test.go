package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/kubespace/kubespace/internal/apitest"
)

// The pipeline routes' entries in the shared test tables (permission matrix fixtures and
// inputs, fuzz targets), kept here so the shared files change by a line or two.
func init() {
	freshWorld["DELETE /pipeline-workspaces/:id"] = true // the target workspace goes with its target cluster
	for path, f := range map[string]func(*testing.T, *permWorld, *caller, int64) string{
		"/pipeline-workspaces/:id":                  pwsPath(""),
		"/pipeline-workspaces/:id/branches":         pwsPath("/branches"),
		"/pipeline-workspaces/:id/webhook-secret":   pwsPath("/webhook-secret"),
		"/pipeline-workspaces/:id/pipelines":        pwsPath("/pipelines"),
		"/pipeline-workspaces/:id/pipelines/import": pwsPath("/pipelines/import"),
		"/pipelines/:id":                            pipelinePath(""),
		"/pipelines/:id/export":                     pipelinePath("/export"),
	} {
		pathFixtures[path] = f
	}
	// Names are unique: each call creates or renames to a fresh one.
	fresh := func(body func(name string) any, prefix string) func(*testing.T, *permWorld, *caller, int64) (any, string) {
		return func(_ *testing.T, w *permWorld, _ *caller, _ int64) (any, string) { return body(w.uniq(prefix)), "" }
	}
	permissionInputs["POST /pipeline-workspaces"] = fresh(func(n string) any { return map[string]any{"name": n, "type": "custom"} }, "pws")
	permissionInputs["POST /pipeline-workspaces/:id/pipelines"] = fresh(func(n string) any { return plainPipeline(n) }, "p")
	permissionInputs["PUT /pipelines/:id"] = fresh(func(n string) any { return plainPipeline(n) }, "p")
	permissionInputs["POST /pipeline-workspaces/:id/pipelines/import"] = fresh(func(n string) any { return map[string]any{"yaml": plainYAML(n)} }, "imported")
	for key, f := range map[string]func(*testing.F){
		"GET /pipeline-workspaces":                       FuzzListPipelineWorkspaces,
		"POST /pipeline-workspaces":                      FuzzCreatePipelineWorkspace,
		"PUT /pipeline-workspaces/:id":                   FuzzUpdatePipelineWorkspace,
		"GET /pipeline-workspaces/:id/pipelines":         FuzzListPipelines,
		"POST /pipeline-workspaces/:id/pipelines":        FuzzCreatePipeline,
		"POST /pipeline-workspaces/:id/pipelines/import": FuzzImportPipeline,
		"PUT /pipelines/:id":                             FuzzUpdatePipeline,
	} {
		fuzzTargets[key] = f
	}
}

// pwsPath names the target's pipeline workspace; pipelinePath a new pipeline in it.
func pwsPath(suffix string) func(*testing.T, *permWorld, *caller, int64) string {
	return func(t *testing.T, w *permWorld, _ *caller, target int64) string {
		return apitest.Path("/pipeline-workspaces/%d", w.targetPWS(t, target)) + suffix
	}
}

func pipelinePath(suffix string) func(*testing.T, *permWorld, *caller, int64) string {
	return func(t *testing.T, w *permWorld, _ *caller, target int64) string {
		return apitest.Path("/pipelines/%d", w.pipeline(t, target)) + suffix
	}
}

// pipelineWorkspace creates a custom pipeline workspace (no repository to reach).
func (w *permWorld) pipelineWorkspace(t *testing.T) int64 {
	return w.admin.For(t).Expect(http.StatusCreated, http.MethodPost, "/api/v1/pipeline-workspaces",
		map[string]any{"name": w.uniq("pws"), "type": "custom"}).ID(t)
}

// targetPWS returns the pipeline workspace that goes with a target cluster.
func (w *permWorld) targetPWS(t *testing.T, target int64) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if id, ok := w.pws[target]; ok {
		return id
	}
	id := w.pipelineWorkspace(t)
	w.pws[target] = id
	return id
}

// pipeline creates a pipeline in the target's pipeline workspace.
func (w *permWorld) pipeline(t *testing.T, target int64) int64 {
	return w.admin.For(t).Expect(http.StatusCreated, http.MethodPost,
		apitest.Path("/api/v1/pipeline-workspaces/%d/pipelines", w.targetPWS(t, target)), plainPipeline(w.uniq("p"))).ID(t)
}

// plainPipeline is a definition of one shell job, valid in any workspace.
func plainPipeline(name string) map[string]any {
	return map[string]any{"name": name, "stages": []any{map[string]any{"name": "s", "jobs": []any{
		map[string]any{"name": "j", "plugin_key": "execute_shell", "params": map[string]any{"script": "true"}}}}}}
}

// plainYAML is plainPipeline as an exported YAML document.
func plainYAML(name string) string {
	return "name: " + name + "\nstages:\n  - name: s\n    jobs:\n      - name: j\n        plugin_key: execute_shell\n        params:\n          script: \"true\"\n"
}

func FuzzListPipelineWorkspaces(f *testing.F) {
	fuzzQuery(f, "GET /pipeline-workspaces", "sort=-created_at&q=x")
}
func FuzzListPipelines(f *testing.F) {
	fuzzQuery(f, "GET /pipeline-workspaces/:id/pipelines", "sort=-name")
}
func FuzzCreatePipelineWorkspace(f *testing.F) {
	fuzzBody(f, "POST /pipeline-workspaces", `{"name":"x","type":"code","code_url":"file:///etc"}`,
		`{"name":"x","type":"code","code_url":"http://127.0.0.1:1/x.git","code_secret_id":99}`, `{"type":"custom","name":"../.."}`)
}
func FuzzUpdatePipelineWorkspace(f *testing.F) {
	fuzzBody(f, "PUT /pipeline-workspaces/:id", `{"type":"code"}`, `{"code_url":"git@host:x"}`, `{"known_hosts":"\u0000"}`)
}
func FuzzCreatePipeline(f *testing.F) {
	fuzzBody(f, "POST /pipeline-workspaces/:id/pipelines", jsonText(plainPipeline("seed")),
		`{"name":"x","stages":[{"name":"s","jobs":[{"name":"j","plugin_key":"execute_shell","params":[]}]}]}`,
		`{"name":"x","triggers":[{"type":"cron","schedule":"* * *"}],"stages":[]}`,
		`{"name":"x","sources":[{"type":"code","branches":[{"type":"regex","pattern":"("}]}],"stages":[]}`,
		`{"name":"x","triggers":[{"type":"pipeline","pipeline_id":-1}],"stages":[{"name":"s","jobs":[]}]}`)
}
func FuzzUpdatePipeline(f *testing.F) {
	fuzzBody(f, "PUT /pipelines/:id", jsonText(plainPipeline("seed")), `{"name":"","stages":null}`)
}
func FuzzImportPipeline(f *testing.F) {
	fuzzBody(f, "POST /pipeline-workspaces/:id/pipelines/import", jsonText(map[string]string{"yaml": plainYAML("seed")}),
		`{"yaml":"a: &x [*x]"}`, `{"yaml":"name: !!binary x"}`, `{"yaml":"{{{"}`, `{"yaml":"\t"}`, `{"yaml":"stages: [[[[[[[[[[[]]]]]]]]]]]"}`)
}
