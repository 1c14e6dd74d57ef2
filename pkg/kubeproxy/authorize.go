package kubeproxy

import (
	"net/http"
	"strings"

	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apiserver/pkg/endpoints/request"

	"github.com/kubespace/kubespace/pkg/access"
)

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

// Decide maps a Kubernetes API request (its path below the proxy prefix) to the KubeSpace role it
// needs in the cluster:
//   - viewer: get/list/watch of everything except Secrets, and discovery (API groups, versions,
//     OpenAPI, health);
//   - editor: every verb on namespaced resources, reading Secrets, exec/attach/port-forward and
//     pods/services proxy;
//   - admin: everything, including RBAC objects, cluster-scoped resources, node proxy and the
//     API server's other non-resource paths (metrics, logs, profiling).
func Decide(req *http.Request) (Decision, error) {
	info, err := requestInfos.NewRequestInfo(req)
	if err != nil {
		return Decision{}, err
	}
	d := Decision{Info: info}
	read := readVerbs[info.Verb]
	switch {
	case !info.IsResourceRequest:
		// Discovery, /version, /openapi, health: reads are harmless. Other paths (/metrics,
		// /logs, /debug/pprof, /flagz...) are read with KubeSpace's own, often cluster-admin,
		// credentials: admin only, as Kubernetes' view role grants none of them either.
		d.Role, d.Write = access.Admin, false
		if info.Verb != "get" && info.Verb != "head" && info.Verb != "options" {
			d.Write = true
		} else if discoveryPath(info.Path) {
			d.Role = access.Viewer
		}
	case info.Subresource != "" && interactive[info.Subresource]:
		d.Role, d.Write = access.Editor, true
		if info.Resource == "nodes" || info.Namespace == "" {
			d.Role = access.Admin
		}
	case info.APIGroup == "authorization.k8s.io" && (info.Resource == "selfsubjectaccessreviews" || info.Resource == "selfsubjectrulesreviews"):
		// `kubectl auth can-i` asks about the server's own identity; harmless, and answered
		// for KubeSpace's credentials, not the user's.
		d.Role = access.Viewer
	case info.APIGroup == "" && info.Resource == "secrets":
		d.Role, d.Write = access.Editor, !read
	case info.APIGroup == "rbac.authorization.k8s.io":
		d.Role, d.Write = access.Viewer, !read
		if !read {
			d.Role = access.Admin
		}
	case read:
		d.Role = access.Viewer
	case info.Namespace == "" || (info.APIGroup == "" && info.Resource == "namespaces"):
		// A write without a namespace touches a cluster-scoped object (nodes, namespaces,
		// persistent volumes, storage classes, CRDs, webhooks...).
		d.Role, d.Write = access.Admin, true
	default:
		d.Role, d.Write = access.Editor, true
	}
	return d, nil
}
