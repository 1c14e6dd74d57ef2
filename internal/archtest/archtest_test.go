// Package archtest enforces the import rules of STYLE.md: handlers → services → store
// interfaces; services never import gin; only cmd/, internal/app and tests import the GORM
// store; the spacelet and kube-agent never import server packages; no grab-bag packages.
package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/kubespace/kubespace"

type rule struct {
	name string
	// applies reports whether the rule covers a package.
	applies func(pkg string) bool
	// forbidden reports whether an import breaks the rule.
	forbidden func(imp string) bool
}

func under(prefixes ...string) func(string) bool {
	return func(p string) bool {
		for _, pre := range prefixes {
			if p == module+"/"+pre || strings.HasPrefix(p, module+"/"+pre+"/") {
				return true
			}
		}
		return false
	}
}

var rules = []rule{
	{
		name: "services and stores never import gin or net/http handlers of the API",
		applies: func(p string) bool {
			return strings.HasPrefix(p, module+"/pkg/") && !under("pkg/httpapi", "pkg/console")(p)
		},
		forbidden: func(imp string) bool {
			return imp == "github.com/gin-gonic/gin" || strings.HasPrefix(imp, module+"/pkg/httpapi")
		},
	},
	{
		name:      "only cmd/ and internal/app import the GORM store implementation",
		applies:   func(p string) bool { return !under("cmd", "internal/app", "pkg/store/database")(p) },
		forbidden: func(imp string) bool { return strings.HasPrefix(imp, module+"/pkg/store/database") },
	},
	{
		name:      "only the store implementation imports GORM",
		applies:   func(p string) bool { return !under("pkg/store/database")(p) },
		forbidden: func(imp string) bool { return strings.HasPrefix(imp, "gorm.io/") },
	},
	{
		name:    "the spacelet and kube-agent never import server packages",
		applies: under("cmd/spacelet", "cmd/kube-agent", "pkg/spacelet", "pkg/kubeagent"),
		forbidden: func(imp string) bool {
			return under("pkg/httpapi", "internal/app", "pkg/store", "pkg/identity", "pkg/access")(imp)
		},
	},
}

// TestImportRules checks every non-test import of every package in the module.
func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, module+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, imports := fields[0], fields[1:]
		for _, seg := range strings.Split(strings.TrimPrefix(pkg, module+"/"), "/") {
			switch seg {
			case "utils", "util", "common", "helpers", "misc":
				t.Errorf("package %s: name packages for what they provide, not %q", pkg, seg)
			}
		}
		for _, r := range rules {
			if !r.applies(pkg) {
				continue
			}
			for _, imp := range imports {
				if r.forbidden(imp) {
					t.Errorf("%s imports %s: %s", pkg, imp, r.name)
				}
			}
		}
	}
}
