package kubeproxy

import (
	"net/http"
	"strings"

	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apiserver/pkg/endpoints/request"

	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/errs"
)

// AgentNamespace is where KubeSpace's own kube-agent runs in a managed cluster; like Kubernetes'
// own namespaces it is a system namespace.
const AgentNamespace = "kubespace-system"

// systemNamespaces hold the cluster's own machinery and credentials (controller ServiceAccounts,
// bootstrap tokens, node leases, KubeSpace's agent).
var systemNamespaces = map[string]bool{"kube-system": true, "kube-public": true, "kube-node-lease": true, AgentNamespace: true}

// SystemNamespace reports whether writes in namespace ns (and reading its Secrets) need cluster
// admin.
func SystemNamespace(ns string) bool { return systemNamespaces[ns] }

// requestInfos parses Kubernetes API paths the way the API server does.
var requestInfos = &request.RequestInfoFactory{
	APIPrefixes:          sets.NewString("api", "apis"),
	GrouplessAPIPrefixes: sets.NewString("api"),
}

// Decision is what a Kubernetes request needs from the caller.
type Decision struct {
	Role access.Role
	// Write marks requests that change something or open an interactive session (audited).
	Write bool
	Info  *request.RequestInfo
	// Reason says why the request needs more than its verb and resource usually do (a system
	// namespace, a ServiceAccount token, a workload running as another ServiceAccount); empty
	// otherwise. It completes the refusal message.
	Reason string
	// Name is the object's name for the audit log: from the path, or for a create from the body
	// (metadata.name, or generateName followed by "*"); empty when neither says.
	Name string
}

// raise makes the request need cluster admin, for reason.
func (d *Decision) raise(reason string) {
	if d.Role < access.Admin || d.Reason == "" {
		d.Reason = reason
	}
	d.Role = access.Admin
}

var readVerbs = map[string]bool{"get": true, "list": true, "watch": true}

// interactive subresources run code or open connections inside the cluster: they count as writes.
var interactive = map[string]bool{"exec": true, "attach": true, "portforward": true, "proxy": true}

// discoveryPaths are the non-resource paths every viewer may read (Kubernetes grants them to
// every authenticated user through system:discovery, system:public-info-viewer and
// system:service-account-issuer-discovery).
var discoveryPaths = []string{"/api", "/apis", "/version", "/openapi", "/healthz", "/livez", "/readyz",
	"/.well-known/openid-configuration", "/openid/v1/jwks"}

func discoveryPath(path string) bool {
	for _, p := range discoveryPaths {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// Decide maps a Kubernetes API request (its path below the proxy prefix, its method, query and
// Content-Type) and, for writes, its body to the KubeSpace role it needs in the cluster. A path
// that is not canonical (see CheckPath) or not a Kubernetes API path is refused (errs.Invalid).
//
// The roles:
//   - viewer: get/list/watch of everything except Secrets, and discovery (API groups, versions,
//     OpenAPI, health);
//   - editor: every verb on namespaced resources, reading Secrets, exec/attach/port-forward and
//     pods/services proxy — outside the system namespaces and within the rules below;
//   - admin: everything, including RBAC objects, cluster-scoped resources, node proxy and the
//     API server's other non-resource paths (metrics, logs, profiling).
//
// KubeSpace reaches the cluster with its own, usually cluster-admin, credentials, so nothing an
// editor does may hand them a credential or code running with more rights than an editor has.
// These need cluster admin whatever the resource:
//   - minting ServiceAccount tokens (the serviceaccounts/token subresource, TokenRequest), in any
//     namespace;
//   - every write in a system namespace (kube-system, kube-public, kube-node-lease and
//     AgentNamespace) — creates, updates, patches, deletes, evictions and exec, attach,
//     port-forward and proxy sessions — and reading Secrets there, which hold the controllers'
//     and bootstrap credentials; so does reading Secrets of all namespaces at once;
//   - writing a Secret whose body mentions the ServiceAccount token type or annotations
//     (kubernetes.io/service-account-token, kubernetes.io/service-account.name/.uid): the cluster
//     fills such a Secret with a token;
//   - writing a pod-bearing object (Pods, their ephemeral containers, Deployments, StatefulSets,
//     DaemonSets, ReplicaSets, Jobs, CronJobs, ReplicationControllers, PodTemplates) whose body
//     sets serviceAccountName or serviceAccount to anything but "default" (or empty): the pods
//     would run with that ServiceAccount's token. Objects, merge, strategic-merge and apply
//     patches (JSON or YAML) and JSON patches are read; a body to these kinds that cannot be read
//     (protobuf, CBOR, another encoding, compressed, invalid, duplicate keys) needs admin too;
//   - writing any other namespaced object (custom resources such as Argo Workflows or Tekton
//     runs, whose controllers run pods) whose body names a ServiceAccount other than default.
//
// What remains, and is the same as Kubernetes' own edit role: an editor can exec into, attach to
// and replace any pod of an ordinary namespace, and so act with whatever that pod's ServiceAccount
// may do, and can read Secrets (ServiceAccount token Secrets included) there. Pods that are
// privileged or mount host paths are limited by the namespace's Pod Security admission level,
// not by KubeSpace.
func Decide(req *http.Request, body []byte) (Decision, error) {
	if err := CheckPath(req.URL); err != nil {
		return Decision{}, err
	}
	info, err := requestInfos.NewRequestInfo(req)
	if err != nil {
		return Decision{}, errs.Invalidf("not a Kubernetes API path: %s", req.URL.Path)
	}
	d := Decision{Info: info, Name: info.Name}
	d.Role, d.Write = baseRole(info)
	if info.IsResourceRequest {
		secrets := info.APIGroup == "" && info.Resource == "secrets"
		switch {
		case info.APIGroup == "" && info.Resource == "serviceaccounts" && info.Subresource == "token":
			d.raise("minting ServiceAccount tokens is for cluster admins")
		case SystemNamespace(info.Namespace) && d.Write:
			d.raise(info.Namespace + " is a system namespace")
		case SystemNamespace(info.Namespace) && secrets:
			d.raise("Secrets in the system namespace " + info.Namespace + " hold the cluster's credentials")
		case info.Namespace == "" && secrets:
			d.raise("Secrets of all namespaces include the system namespaces' credentials")
		}
	}
	if d.Write && req.Method != http.MethodGet {
		b := newRequestBody(req.Header, body)
		if d.Role < access.Admin {
			inspect(&d, b)
		}
		if info.Verb == "create" && info.Subresource == "" && d.Name == "" {
			d.Name = objectName(b)
		}
	}
	return d, nil
}

// baseRole is the role a request needs by its verb and resource alone.
func baseRole(info *request.RequestInfo) (access.Role, bool) {
	read := readVerbs[info.Verb]
	switch {
	case !info.IsResourceRequest:
		// Discovery, /version, /openapi, health: reads are harmless. Other paths (/metrics,
		// /logs, /debug/pprof, /flagz...) are read with KubeSpace's own, often cluster-admin,
		// credentials: admin only, as Kubernetes' view role grants none of them either.
		if info.Verb != "get" && info.Verb != "head" && info.Verb != "options" {
			return access.Admin, true
		}
		if discoveryPath(info.Path) {
			return access.Viewer, false
		}
		return access.Admin, false
	case info.Subresource != "" && interactive[info.Subresource]:
		if info.Resource == "nodes" || info.Namespace == "" {
			return access.Admin, true
		}
		return access.Editor, true
	case info.APIGroup == "authorization.k8s.io" && (info.Resource == "selfsubjectaccessreviews" || info.Resource == "selfsubjectrulesreviews"):
		// `kubectl auth can-i` asks about the server's own identity; harmless, and answered
		// for KubeSpace's credentials, not the user's.
		return access.Viewer, false
	case info.APIGroup == "" && info.Resource == "secrets":
		return access.Editor, !read
	case info.APIGroup == "rbac.authorization.k8s.io":
		if !read {
			return access.Admin, true
		}
		return access.Viewer, false
	case read:
		return access.Viewer, false
	case info.Namespace == "" || (info.APIGroup == "" && info.Resource == "namespaces"):
		// A write without a namespace touches a cluster-scoped object (nodes, namespaces,
		// persistent volumes, storage classes, CRDs, webhooks...).
		return access.Admin, true
	default:
		return access.Editor, true
	}
}
