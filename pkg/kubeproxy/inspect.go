package kubeproxy

import (
	"fmt"
	"strings"

	"k8s.io/apiserver/pkg/endpoints/request"
)

// podBearing are the built-in resources whose objects are, or stamp out, pods: a write to them
// chooses which ServiceAccount code runs as. Keyed by API group, then resource.
var podBearing = map[string]map[string]bool{
	"":           {"pods": true, "replicationcontrollers": true, "podtemplates": true},
	"apps":       {"deployments": true, "statefulsets": true, "daemonsets": true, "replicasets": true},
	"extensions": {"deployments": true, "daemonsets": true, "replicasets": true}, // clusters before 1.16
	"batch":      {"jobs": true, "cronjobs": true},
}

// bodyCheck says how much of a write's body the decision must read.
type bodyCheck int

const (
	// checkNone: the body decides nothing (reads, deletes, subresources like scale or exec).
	checkNone bodyCheck = iota
	// checkWorkload: a pod-bearing kind; the body must be readable and run as the default
	// ServiceAccount for a non-admin.
	checkWorkload
	// checkSecret: a Secret; the body must be readable and must not ask for a ServiceAccount token.
	checkSecret
	// checkOther: any other namespaced object; a readable body that names a ServiceAccount (custom
	// resources whose controllers run pods: Argo Workflows, Tekton runs, Knative services...)
	// needs admin, and only encodings the API server reads for built-in kinds alone (protobuf)
	// pass unread.
	checkOther
)

var bodyVerbs = map[string]bool{"create": true, "update": true, "patch": true}

func checkFor(info *request.RequestInfo) bodyCheck {
	if !info.IsResourceRequest || !bodyVerbs[info.Verb] || info.Namespace == "" {
		return checkNone
	}
	switch {
	case podBearing[info.APIGroup][info.Resource]:
		if info.Subresource == "" || (info.Resource == "pods" && info.Subresource == "ephemeralcontainers") {
			return checkWorkload
		}
	case info.APIGroup == "" && info.Resource == "secrets":
		if info.Subresource == "" {
			return checkSecret
		}
	case info.APIGroup == "" && info.Resource == "configmaps":
		// Free-form data, and no controller runs anything from it.
	default:
		if info.Subresource == "" {
			return checkOther
		}
	}
	return checkNone
}

// inspect applies the body rules to d; it only ever raises the role.
func inspect(d *Decision, body *requestBody) {
	check := checkFor(d.Info)
	if check == checkNone || body.empty() {
		return
	}
	v, err := body.value()
	if err != nil {
		if check == checkOther && body.protobuf() {
			return // protobuf carries built-in kinds only, and those run no pods
		}
		d.raise(fmt.Sprintf("KubeSpace cannot check this body for ServiceAccounts (%s); send JSON or YAML",
			strings.TrimPrefix(err.Error(), errUninspectable.Error()+": ")))
		return
	}
	switch check {
	case checkWorkload, checkOther:
		if sa, ok := namedServiceAccount(v, check == checkWorkload, body.jsonPatch()); ok {
			d.raise(fmt.Sprintf("it runs as ServiceAccount %s, not the namespace's default one", sa))
		}
	case checkSecret:
		if asksForToken(v) {
			d.raise("it is a ServiceAccount token Secret, which the cluster fills with a token")
		}
	}
}

// saKey reports whether k names a pod's ServiceAccount (serviceAccountName, or its deprecated
// alias serviceAccount). Case is ignored: the check errs towards refusing.
func saKey(k string) bool {
	return strings.EqualFold(k, "serviceAccountName") || strings.EqualFold(k, "serviceAccount")
}

// defaultSA reports whether v leaves a pod on the namespace's default ServiceAccount.
func defaultSA(v any) bool {
	s, ok := v.(string)
	return v == nil || (ok && (s == "" || s == "default"))
}

// namedServiceAccount walks a decoded body (an object, a merge or apply patch, or a JSON patch)
// and returns a ServiceAccount other than default that it sets anywhere. With strict, a non-string
// value under a ServiceAccount key counts too (the API server would refuse it anyway; a custom
// resource's Helm-style "serviceAccount: {create: true}" does not count).
func namedServiceAccount(v any, strict, jsonPatch bool) (string, bool) {
	if jsonPatch {
		if ops, ok := v.([]any); ok {
			for _, op := range ops {
				if sa, ok := patchOpSetsSA(op, strict); ok {
					return sa, true
				}
			}
		}
	}
	return walkSA(v, strict)
}

func walkSA(v any, strict bool) (string, bool) {
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			if saKey(k) && !defaultSA(val) {
				if s, ok := val.(string); ok {
					return fmt.Sprintf("%q", s), true
				}
				if strict {
					return fmt.Sprintf("%v", val), true
				}
			}
			if sa, ok := walkSA(val, strict); ok {
				return sa, true
			}
		}
	case []any:
		for _, e := range t {
			if sa, ok := walkSA(e, strict); ok {
				return sa, true
			}
		}
	}
	return "", false
}

// patchOpSetsSA reads one JSON patch operation whose path ends in a ServiceAccount key: removing
// or testing it is harmless, adding or replacing it with default is harmless, anything else
// (another name, copy, move) sets it.
func patchOpSetsSA(op any, strict bool) (string, bool) {
	m, ok := op.(map[string]any)
	if !ok {
		return "", false
	}
	path, _ := m["path"].(string)
	last := path[strings.LastIndexByte(path, '/')+1:]
	last = strings.NewReplacer("~1", "/", "~0", "~").Replace(last)
	if !saKey(last) {
		return "", false
	}
	name, _ := m["op"].(string)
	switch name {
	case "remove", "test":
		return "", false
	case "add", "replace":
		if defaultSA(m["value"]) {
			return "", false
		}
		if s, ok := m["value"].(string); ok {
			return fmt.Sprintf("%q", s), true
		}
		if strict {
			return fmt.Sprintf("%v", m["value"]), true
		}
		return "", false
	default:
		return fmt.Sprintf("(set by a JSON patch %q operation)", name), true
	}
}

// tokenMarker appears in what makes the token controller fill a Secret: its type
// kubernetes.io/service-account-token and its annotations kubernetes.io/service-account.name
// and .uid.
const tokenMarker = "kubernetes.io/service-account"

// asksForToken reports whether a Secret body (object or any patch) mentions the token type or
// the ServiceAccount annotations anywhere, as a key or a value (JSON pointer paths unescaped).
func asksForToken(v any) bool {
	has := func(s string) bool {
		s = strings.ToLower(s)
		return strings.Contains(s, tokenMarker) || strings.Contains(strings.ReplaceAll(s, "~1", "/"), tokenMarker)
	}
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			if has(k) || asksForToken(val) {
				return true
			}
		}
	case []any:
		for _, e := range t {
			if asksForToken(e) {
				return true
			}
		}
	case string:
		return has(t)
	}
	return false
}

// objectName reads metadata.name (or generateName followed by "*") from a created object's body;
// "" when the body does not say or cannot be read.
func objectName(body *requestBody) string {
	if body.empty() {
		return ""
	}
	v, err := body.value()
	if err != nil {
		return ""
	}
	obj, _ := v.(map[string]any)
	meta, _ := obj["metadata"].(map[string]any)
	if name, _ := meta["name"].(string); name != "" {
		return name
	}
	if gen, _ := meta["generateName"].(string); gen != "" {
		return gen + "*"
	}
	return ""
}
