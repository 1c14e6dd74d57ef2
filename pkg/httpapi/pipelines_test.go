package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/apitest"
	"github.com/kubespace/kubespace/internal/gittest"
)

// Pipeline workspaces through the real router, on a repository served by git http-backend and
// an SSH git server: creation checks access and says what failed, the default pipelines, the
// branch list, the webhook secret, pipelines with export and import, and lists that hold []
// where nothing is set.
func TestPipelineWorkspacesAPI(t *testing.T) {
	t.Parallel()
	onEachEngine(t, nil, func(t *testing.T, s *apitest.Server) {
		repos := gittest.New(t)
		repo := repos.Create("team/app.git")
		first := repo.Commit("main", "first", map[string]string{"README.md": "app\n"})
		feature := repo.Commit("feature/x", "feature", map[string]string{"x.go": "package x\n"})
		httpSrv := repos.ServeHTTP(gittest.HTTPOptions{Username: "ci", Password: "git-password-1"})
		key := gittest.NewKey(t)
		sshSrv := repos.ServeSSH(key.Public)
		admin := s.Admin()

		secret := admin.Expect(http.StatusCreated, http.MethodPost, "/api/v1/secrets",
			map[string]any{"name": "git", "type": "password", "username": "ci", "password": "git-password-1"}).ID(t)
		wrong := admin.Expect(http.StatusCreated, http.MethodPost, "/api/v1/secrets",
			map[string]any{"name": "wrong", "type": "password", "username": "ci", "password": "nope-nope"}).ID(t)
		sshKey := admin.Expect(http.StatusCreated, http.MethodPost, "/api/v1/secrets",
			map[string]any{"name": "key", "type": "ssh_key", "private_key": key.PrivatePEM}).ID(t)

		// Failures are 422s whose code and message say what failed.
		for _, tc := range []struct {
			body       map[string]any
			code, text string
		}{
			{map[string]any{"type": "code", "code_url": httpSrv.RepoURL("team/app.git"), "code_secret_id": wrong}, "git_auth_failed", "refused the credentials"},
			{map[string]any{"type": "code", "code_url": httpSrv.RepoURL("team/none.git"), "code_secret_id": secret}, "git_not_found", "was not found"},
			{map[string]any{"type": "code", "code_url": sshSrv.RepoURL("team/app.git"), "code_secret_id": sshKey,
				"known_hosts": strings.Fields(sshSrv.KnownHosts)[0] + " " + gittest.NewKey(t).AuthorizedKey()}, "git_host_key", "does not match"},
		} {
			e := requireError(t, admin.Do(http.MethodPost, "/api/v1/pipeline-workspaces", tc.body), http.StatusUnprocessableEntity, tc.code)
			require.Contains(t, e.Message, tc.text)
		}
		requireField(t, admin.Do(http.MethodPost, "/api/v1/pipeline-workspaces",
			map[string]any{"type": "code", "code_url": "file:///etc/passwd"}), "code_url")

		// A code workspace over HTTP, and one over SSH with the host key pinned.
		var ws struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		}
		admin.Expect(http.StatusCreated, http.MethodPost, "/api/v1/pipeline-workspaces",
			map[string]any{"type": "code", "code_url": httpSrv.RepoURL("team/app.git"), "code_secret_id": secret}).JSON(t, &ws)
		require.Equal(t, "team/app", ws.Name)
		admin.Expect(http.StatusCreated, http.MethodPost, "/api/v1/pipeline-workspaces", map[string]any{"name": "over ssh", "type": "code",
			"code_url": sshSrv.RepoURL("team/app.git"), "code_secret_id": sshKey, "known_hosts": sshSrv.KnownHosts})

		var branches struct {
			Items []struct{ Name, Commit string } `json:"items"`
			Total int                             `json:"total"`
		}
		admin.Expect(http.StatusOK, http.MethodGet, apitest.Path("/api/v1/pipeline-workspaces/%d/branches", ws.ID), nil).JSON(t, &branches)
		require.Equal(t, 2, branches.Total)
		require.Equal(t, "feature/x", branches.Items[0].Name)
		require.Equal(t, feature, branches.Items[0].Commit)
		require.Equal(t, first, branches.Items[1].Commit)

		var pipelines struct {
			Items []map[string]any `json:"items"`
			Total int              `json:"total"`
		}
		admin.Expect(http.StatusOK, http.MethodGet, apitest.Path("/api/v1/pipeline-workspaces/%d/pipelines?sort=name", ws.ID), nil).JSON(t, &pipelines)
		require.Equal(t, 2, pipelines.Total)
		require.Equal(t, "branch builds", pipelines.Items[0]["name"])
		require.Equal(t, "trunk builds", pipelines.Items[1]["name"])
		require.Nil(t, pipelines.Items[0]["last_run"])

		// The webhook secret: admins read and rotate it.
		var s1, s2 struct {
			Secret string `json:"secret"`
		}
		admin.Expect(http.StatusOK, http.MethodGet, apitest.Path("/api/v1/pipeline-workspaces/%d/webhook-secret", ws.ID), nil).JSON(t, &s1)
		admin.Expect(http.StatusOK, http.MethodPost, apitest.Path("/api/v1/pipeline-workspaces/%d/webhook-secret", ws.ID), nil).JSON(t, &s2)
		require.Len(t, s1.Secret, 48)
		require.NotEqual(t, s1.Secret, s2.Secret)

		// A custom workspace: a plain pipeline answers [] for what it does not set.
		custom := admin.Expect(http.StatusCreated, http.MethodPost, "/api/v1/pipeline-workspaces", map[string]any{"name": "tools", "type": "custom"}).ID(t)
		r := admin.Expect(http.StatusCreated, http.MethodPost, apitest.Path("/api/v1/pipeline-workspaces/%d/pipelines", custom), plainPipeline("p1"))
		body := string(r.Body)
		require.Contains(t, body, `"sources":[]`)
		require.Contains(t, body, `"triggers":[]`)
		require.NotContains(t, body, "null,", "%s", body)
		p1 := r.ID(t)
		empty := admin.Expect(http.StatusOK, http.MethodGet, apitest.Path("/api/v1/pipeline-workspaces/%d/branches", custom), nil)
		require.JSONEq(t, `{"items":[],"total":0}`, string(empty.Body))

		// Bad definitions are 400s naming the field path.
		bad := plainPipeline("bad")
		bad["triggers"] = []any{map[string]any{"type": "cron", "schedule": "61 * * * *"}}
		requireField(t, admin.Do(http.MethodPost, apitest.Path("/api/v1/pipeline-workspaces/%d/pipelines", custom), bad), "triggers[0].schedule")
		bad = plainPipeline("bad")
		bad["sources"] = []any{map[string]any{"type": "code", "branches": []any{map[string]any{"type": "regex", "pattern": "(x"}}}}
		requireField(t, admin.Do(http.MethodPost, apitest.Path("/api/v1/pipeline-workspaces/%d/pipelines", ws.ID), bad), "sources[0].branches[0].pattern")

		// Edit, export, import elsewhere, delete.
		edited := plainPipeline("p1-renamed")
		admin.Expect(http.StatusOK, http.MethodPut, apitest.Path("/api/v1/pipelines/%d", p1), edited)
		exp := admin.Expect(http.StatusOK, http.MethodGet, apitest.Path("/api/v1/pipelines/%d/export", p1), nil)
		require.Contains(t, exp.Header.Get("Content-Type"), "application/yaml")
		require.Contains(t, exp.Header.Get("Content-Disposition"), `filename="p1-renamed.yaml"`)
		require.Contains(t, string(exp.Body), "name: p1-renamed")
		imported := admin.Expect(http.StatusCreated, http.MethodPost, apitest.Path("/api/v1/pipeline-workspaces/%d/pipelines/import", ws.ID),
			map[string]any{"yaml": string(exp.Body)}).Map(t)
		require.Equal(t, "p1-renamed", imported["name"])
		e := requireError(t, admin.Do(http.MethodPost, apitest.Path("/api/v1/pipeline-workspaces/%d/pipelines/import", ws.ID),
			map[string]any{"yaml": "name: x\nstages:\n  - name: s\n    jobs:\n      - name: j\n        plugin_key: nope\n"}), http.StatusBadRequest, "")
		require.Contains(t, jsonText(e), "line 6")
		admin.Expect(http.StatusNoContent, http.MethodDelete, apitest.Path("/api/v1/pipelines/%d", p1), nil)
		admin.Expect(http.StatusNotFound, http.MethodGet, apitest.Path("/api/v1/pipelines/%d", p1), nil)

		// Lists show what the caller holds a role in.
		viewer := s.User(admin, "tools-viewer", "pipeline_workspace", custom, "viewer")
		var list struct {
			Items []struct {
				ID int64 `json:"id"`
			} `json:"items"`
			Total int `json:"total"`
		}
		viewer.Expect(http.StatusOK, http.MethodGet, "/api/v1/pipeline-workspaces", nil).JSON(t, &list)
		require.Equal(t, 1, list.Total)
		require.Equal(t, custom, list.Items[0].ID)
		requireError(t, viewer.Do(http.MethodGet, apitest.Path("/api/v1/pipeline-workspaces/%d", ws.ID), nil), http.StatusForbidden, "")
		requireError(t, viewer.Do(http.MethodGet, apitest.Path("/api/v1/pipeline-workspaces/%d/webhook-secret", custom), nil), http.StatusForbidden, "")

		// Every change is audited in the workspace's scope, which its viewers read.
		var audit struct {
			Items []struct {
				Action       string `json:"action"`
				ResourceType string `json:"resource_type"`
				ResourceName string `json:"resource_name"`
				Username     string `json:"username"`
			} `json:"items"`
		}
		viewer.Expect(http.StatusOK, http.MethodGet, apitest.Path("/api/v1/audit-events?scope=pipeline_workspace&scope_id=%d&sort=id", custom), nil).JSON(t, &audit)
		var seen []string
		for _, e := range audit.Items {
			seen = append(seen, e.Username+" "+e.Action+" "+e.ResourceType+" "+e.ResourceName)
		}
		require.Contains(t, seen, "admin create pipeline p1")
		require.Contains(t, seen, "admin update pipeline p1-renamed")
		require.Contains(t, seen, "admin delete pipeline p1-renamed")
		admin.Expect(http.StatusOK, http.MethodGet, apitest.Path("/api/v1/audit-events?scope=pipeline_workspace&scope_id=%d&action=read_webhook_secret", ws.ID), nil).JSON(t, &audit)
		require.Len(t, audit.Items, 1, "who read the webhook secret is on record")
		require.Equal(t, "admin", audit.Items[0].Username)

		// A repository that went away is a 422 saying so, not a 5xx.
		httpSrv.Close()
		e = requireError(t, admin.Do(http.MethodGet, apitest.Path("/api/v1/pipeline-workspaces/%d/branches", ws.ID), nil),
			http.StatusUnprocessableEntity, "git_unreachable")
		require.Contains(t, e.Message, "cannot be reached")

		// Deleting the workspace takes its pipelines.
		admin.Expect(http.StatusNoContent, http.MethodDelete, apitest.Path("/api/v1/pipeline-workspaces/%d", ws.ID), nil)
		admin.Expect(http.StatusNotFound, http.MethodGet, apitest.Path("/api/v1/pipelines/%v", imported["id"]), nil)
	})
}
