package httpapi_test

import (
	"net/http"

	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/httpapi"
)

// permissionTable states who may call each route, written by hand from API.md, the README and
// the route summaries. It is deliberately NOT derived from the router: TestPermissionTable
// compares every guard with it, and TestPermissionMatrix calls every route as every persona and
// expects what it says. A route missing here, or a row naming no route, fails both.
//
// One row per route: "METHOD /path" exactly as registered (gin syntax, below /api/v1), who may
// call it, and the status an allowed caller gets for the example input (the route's Example,
// or its entry in permissionInputs). A denied caller gets exactly 403 (401 when not signed in,
// disabled or holding a revoked token); a cluster-limited token outside the Kubernetes API gets
// 403 with code token_limited.
//
// Who:
//
//	public            anyone, signed in or not
//	signedIn          any signed-in user (the service limits what they reach)
//	platform(r)       role r on the platform (super admins hold every role)
//	object(r)         role r in the scope of the object the path names (a cluster, a role
//	                  binding's scope); the examples' objects live in the target cluster
//	requested(r)      role r in the scope the request names; the examples name the target cluster
//	kubernetesAPI(r)  object(r) on a route that is the cluster's Kubernetes API: the only routes
//	                  a cluster-limited token may call, for its own cluster
//	x.only(why, f)    x, narrowed further by the handler or service to callers f accepts
//	x.declares(req)   x, for a guard whose Requirement differs from what x implies
//
// Adding a route is one row here; a new path parameter also needs a fixture
// (permission_world_test.go, pathFixtures).
var permissionTable = []permissionRule{
	// System.
	{"GET /version", public, http.StatusOK},
	{"GET /openapi.json", public, http.StatusOK},

	// Identity. First-run setup is public, and done once: afterwards it answers 409.
	{"GET /setup", public, http.StatusOK},
	{"POST /setup", public, http.StatusConflict},
	{"POST /auth/login", public, http.StatusOK},
	{"POST /auth/logout", signedIn, http.StatusNoContent},
	{"GET /users/me", signedIn, http.StatusOK},
	{"PUT /users/me/password", signedIn, http.StatusNoContent},
	// The directory: full records need a platform role (a user may read their own); the picker
	// of role-granting dialogs (id, username, display name) serves admins of any scope.
	{"GET /users", platform(access.Viewer), http.StatusOK},
	{"GET /users/:id", signedIn.only("platform viewers and above, or the user themselves", hasPlatformRole), http.StatusOK},
	{"GET /users/picker", signedIn.only("admins of at least one scope", adminSomewhere), http.StatusOK},
	// Users are managed by platform admins ("password ... by platform admins on update").
	{"POST /users", platform(access.Admin), http.StatusCreated},
	{"PUT /users/:id", platform(access.Admin), http.StatusOK},
	{"DELETE /users/:id", platform(access.Admin), http.StatusNoContent},
	// API tokens: everyone manages their own (another user's token looks missing).
	{"GET /tokens", signedIn, http.StatusOK},
	{"POST /tokens", signedIn, http.StatusCreated},
	{"DELETE /tokens/:id", signedIn, http.StatusNoContent},

	// Role bindings: viewers of a scope see its bindings, its admins grant and revoke there
	// ("nobody grants above their own role or outside their scope").
	{"GET /role-bindings", requested(access.Viewer), http.StatusOK},
	{"POST /role-bindings", requested(access.Admin), http.StatusCreated},
	{"DELETE /role-bindings/:id", object(access.Admin), http.StatusNoContent},
	// Audit: platform viewers see everything, scope viewers their scope.
	{"GET /audit-events", requested(access.Viewer), http.StatusOK},

	// Live updates: any signed-in user; each event is filtered by the viewer role in its
	// pipeline workspace, and the spacelets topic needs platform admin (a handler check).
	{"GET /events", signedIn, http.StatusOK},

	// Pipeline runs act in the pipeline workspace of the pipeline or run the path names:
	// viewers see runs, editors start, cancel, execute, retry and re-execute them.
	{"POST /pipelines/:id/runs", object(access.Editor), http.StatusCreated},
	{"GET /pipelines/:id/runs", object(access.Viewer), http.StatusOK},
	{"GET /pipeline-runs/:id", object(access.Viewer), http.StatusOK},
	{"POST /pipeline-runs/:id/cancel", object(access.Editor), http.StatusOK},
	{"POST /pipeline-runs/:id/stages/:stage_id/execute", object(access.Editor), http.StatusOK},
	{"POST /pipeline-runs/:id/stages/:stage_id/cancel", object(access.Editor), http.StatusOK},
	{"POST /pipeline-runs/:id/stages/:stage_id/retry", object(access.Editor), http.StatusOK},
	{"POST /pipeline-runs/:id/stages/:stage_id/reexecute", object(access.Editor), http.StatusOK},

	// Push webhooks: public, the provider's signature with the workspace's webhook secret is
	// the authentication: the unsigned example is 401.
	{"POST /webhooks/:provider/:id", public, http.StatusUnauthorized},

	// Settings: secrets and image registries are "platform editor or above", reading included
	// (their names and users say where the platform's credentials reach).
	{"GET /secrets", platform(access.Editor), http.StatusOK},
	{"POST /secrets", platform(access.Editor), http.StatusCreated},
	{"GET /secrets/:id", platform(access.Editor), http.StatusOK},
	{"PUT /secrets/:id", platform(access.Editor), http.StatusOK},
	{"DELETE /secrets/:id", platform(access.Editor), http.StatusNoContent},
	{"GET /image-registries", platform(access.Editor), http.StatusOK},
	{"POST /image-registries", platform(access.Editor), http.StatusCreated},
	{"GET /image-registries/:id", platform(access.Editor), http.StatusOK},
	{"PUT /image-registries/:id", platform(access.Editor), http.StatusOK},
	{"DELETE /image-registries/:id", platform(access.Editor), http.StatusNoContent},

	// Clusters. The list shows the clusters the caller holds a role in (all for platform
	// viewers). Decision: a cluster-limited token gets neither the list nor GET /clusters/:id —
	// they are KubeSpace's records about clusters (status, agent, description), not the
	// Kubernetes API, and kubectl never asks for them.
	{"GET /clusters", signedIn, http.StatusOK},
	// Importing makes the server contact a new address: "platform admins only".
	{"POST /clusters", platform(access.Admin), http.StatusCreated},
	{"GET /clusters/:id", object(access.Viewer), http.StatusOK},
	// Editing is the cluster admins' (new credentials also need platform admin: clusters_test).
	{"PUT /clusters/:id", object(access.Admin), http.StatusOK},
	{"DELETE /clusters/:id", object(access.Admin), http.StatusNoContent},
	// Any cluster viewer may take the cluster to kubectl with their own rights; a limited
	// token mints nothing.
	{"POST /clusters/:id/kubeconfig", object(access.Viewer), http.StatusCreated},
	// The Kubernetes API and its other forms: the guard asks for a viewer, the per-request
	// rules (kubeproxy.Decide) ask more for writes and Secrets once the cluster answers. The
	// target is an agent cluster whose agent never connected: 503 is the documented answer.
	{"ANY /clusters/:id/proxy/*path", kubernetesAPI(access.Viewer), http.StatusServiceUnavailable},
	{"GET /clusters/:id/kinds", kubernetesAPI(access.Viewer), http.StatusServiceUnavailable},
	{"GET /clusters/:id/overview", kubernetesAPI(access.Viewer), http.StatusServiceUnavailable},
	{"GET /clusters/:id/resources/:resource", kubernetesAPI(access.Viewer), http.StatusServiceUnavailable},
	{"POST /clusters/:id/apply", kubernetesAPI(access.Viewer), http.StatusServiceUnavailable},

	// Pipeline workspaces (the personas hold their target role in a target pipeline workspace
	// too): viewers see it and its pipelines, editors edit pipelines, admins manage the
	// workspace (repository, secret binding, webhook secret, deletion). Creating one is for
	// platform editors (binding a secret uses it); the creator becomes its admin. The list
	// shows the workspaces the caller holds a role in (all for platform viewers).
	{"GET /pipeline-workspaces", signedIn, http.StatusOK},
	{"POST /pipeline-workspaces", platform(access.Editor), http.StatusCreated},
	{"GET /pipeline-workspaces/:id", object(access.Viewer), http.StatusOK},
	{"PUT /pipeline-workspaces/:id", object(access.Admin), http.StatusOK},
	{"DELETE /pipeline-workspaces/:id", object(access.Admin), http.StatusNoContent},
	{"GET /pipeline-workspaces/:id/branches", object(access.Viewer), http.StatusOK},
	{"GET /pipeline-workspaces/:id/webhook-secret", object(access.Admin), http.StatusOK},
	{"POST /pipeline-workspaces/:id/webhook-secret", object(access.Admin), http.StatusOK},
	{"GET /pipeline-workspaces/:id/pipelines", object(access.Viewer), http.StatusOK},
	{"POST /pipeline-workspaces/:id/pipelines", object(access.Editor), http.StatusCreated},
	{"POST /pipeline-workspaces/:id/pipelines/import", object(access.Editor), http.StatusCreated},
	{"GET /pipelines/:id", object(access.Viewer), http.StatusOK},
	{"PUT /pipelines/:id", object(access.Editor), http.StatusOK},
	{"DELETE /pipelines/:id", object(access.Editor), http.StatusNoContent},
	{"GET /pipelines/:id/export", object(access.Viewer), http.StatusOK},

	// Spacelets: platform viewers see them, platform admins change them and mint registration
	// tokens ("platform admins"). Plugins are for every signed-in user (editor forms).
	{"GET /spacelets", platform(access.Viewer), http.StatusOK},
	{"PUT /spacelets/:id", platform(access.Admin), http.StatusOK},
	{"DELETE /spacelets/:id", platform(access.Admin), http.StatusNoContent},
	{"GET /spacelet-tokens", platform(access.Admin), http.StatusOK},
	{"POST /spacelet-tokens", platform(access.Admin), http.StatusCreated},
	{"DELETE /spacelet-tokens/:id", platform(access.Admin), http.StatusNoContent},
	{"GET /pipeline-plugins", signedIn, http.StatusOK},
	// Job logs are for the viewers of the run's pipeline workspace.
	{"GET /job-runs/:id/log", object(access.Viewer), http.StatusOK},
	// The worker protocol admits spacelet credentials only, never users': the guard is public
	// to user authentication and checks the protocol header first, which no persona sends.
	{"POST /spacelet/register", spaceletWorker, http.StatusBadRequest},
	{"POST /spacelet/heartbeat", spaceletWorker, http.StatusBadRequest},
	{"POST /spacelet/next", spaceletWorker, http.StatusBadRequest},
	{"POST /spacelet/jobs/:job/extend", spaceletWorker, http.StatusBadRequest},
	{"POST /spacelet/jobs/:job/log", spaceletWorker, http.StatusBadRequest},
	{"POST /spacelet/jobs/:job/done", spaceletWorker, http.StatusBadRequest},
	{"GET /spacelet/jobs/:job/cancelled", spaceletWorker, http.StatusBadRequest},
}

// spaceletWorker is a worker protocol route: spacelet credentials (spacelets_test.go).
var spaceletWorker = public.declares(httpapi.Requirement{Public: true, ScopeFrom: "spacelet"})
