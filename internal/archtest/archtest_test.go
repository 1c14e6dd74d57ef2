// Package archtest enforces the import rules of STYLE.md: handlers → services → store
// interfaces; services never import gin; only cmd/, internal/app and tests import the GORM
// store; the store imports no service; production code never imports test helpers; the
// spacelet and kube-agent never import server packages; no grab-bag packages or folders.
// `make lint` runs it.
package archtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/kubespace/kubespace"

// match is a set of import paths a rule names. roots lists the module packages (relative
// paths) it is built from, so a rename cannot leave a rule silently guarding nothing.
type match interface {
	has(pkg string) bool
	roots() []string
}

// tree is module packages (relative paths), each with everything below it.
type tree []string

func (t tree) has(p string) bool {
	for _, pre := range t {
		if p == module+"/"+pre || strings.HasPrefix(p, module+"/"+pre+"/") {
			return true
		}
	}
	return false
}
func (t tree) roots() []string { return t }

// external is import path prefixes outside the module.
type external []string

func (e external) has(p string) bool {
	for _, pre := range e {
		if p == strings.TrimSuffix(pre, "/") || strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}
func (external) roots() []string { return nil }

// either is the union of matches.
type either []match

func (e either) has(p string) bool {
	return slices.ContainsFunc(e, func(m match) bool { return m.has(p) })
}
func (e either) roots() []string {
	var out []string
	for _, m := range e {
		out = append(out, m.roots()...)
	}
	return out
}

// moduleOutside is every package of the module outside the allowed trees.
type moduleOutside tree

func (m moduleOutside) has(p string) bool {
	return strings.HasPrefix(p, module+"/") && !tree(m).has(p)
}
func (m moduleOutside) roots() []string { return m }

// everything is every package.
type everything struct{}

func (everything) has(string) bool { return true }
func (everything) roots() []string { return nil }

// testHelpers are the packages only tests may import: the named harnesses and every package
// of the module whose path ends in "test" (pkg/eventbus/bustest, the shared contract suite).
type testHelpers tree

func (h testHelpers) has(p string) bool {
	if !strings.HasPrefix(p, module+"/") {
		return false
	}
	return tree(h).has(p) || strings.HasSuffix(p, "test")
}
func (h testHelpers) roots() []string { return h }

var helpers = testHelpers{"internal/apitest", "internal/testdeps", "internal/kubetestenv", "internal/faultproxy", "pkg/eventbus/bustest"}

// rule forbids the packages it covers (minus exempt) to import what forbids matches.
type rule struct {
	name    string
	covers  match
	exempt  match // optional
	forbids match
	// mayBeEmpty, when set, says why the rule covers no package yet. A rule covering nothing
	// is otherwise a failure (a typo or a rename made it guard nothing), and a rule that
	// covers packages must drop its mayBeEmpty.
	mayBeEmpty string
}

func (r rule) applies(pkg string) bool {
	return r.covers.has(pkg) && (r.exempt == nil || !r.exempt.has(pkg))
}

// rules are the import rules; each covers at least one package unless it says why not.
var rules = []rule{
	{
		name:    "services and stores never import gin or the API package",
		covers:  tree{"pkg"},
		exempt:  tree{"pkg/httpapi", "pkg/console"},
		forbids: either{external{"github.com/gin-gonic/gin"}, tree{"pkg/httpapi"}},
	},
	{
		name:   "only cmd/, internal/app and test harnesses import the GORM store implementation",
		covers: everything{},
		// Test harnesses (internal/runtest) open real stores; production code never imports
		// them (the test-helper rule below).
		exempt:  either{tree{"cmd", "internal/app", "pkg/store/database"}, helpers},
		forbids: tree{"pkg/store/database"},
	},
	{
		name:    "only the store implementation imports GORM",
		covers:  everything{},
		exempt:  tree{"pkg/store/database"},
		forbids: external{"gorm.io/"},
	},
	{
		name:   "the store (records, interfaces, GORM implementation) imports no service: only pkg/store and pkg/errs from this module",
		covers: tree{"pkg/store"},
		// An allow-list, so a new service package is covered without editing this rule.
		forbids: moduleOutside{"pkg/store", "pkg/errs"},
	},
	{
		name:    "production code never imports test helpers (only _test.go files and other helpers do)",
		covers:  everything{},
		exempt:  helpers,
		forbids: helpers,
	},
	{
		name: "the spacelet, its plugins and the kube-agent never import server packages",
		// Extend both lists as the packages appear (new worker packages on the covered
		// side; the run, dispatch and controller packages on the forbidden side): the rule may
		// only name packages that exist.
		covers: tree{"pkg/spacelet", "pkg/plugin", "pkg/gitrepo", "cmd/spacelet"},
		forbids: tree{"pkg/httpapi", "internal/app", "pkg/store", "pkg/identity", "pkg/access", "pkg/cluster", "pkg/audit", "pkg/settings", "pkg/authchange",
			"pkg/events", "pkg/pipeline/dispatch", "pkg/logstore", "pkg/pipeline/run", "pkg/controller", "internal/controllerapp"},
	},
}

// grabBag are names that say nothing about what a package or folder provides.
var grabBag = []string{"utils", "util", "common", "helpers", "misc", "shared"}

// listPackages returns every package of the module with its non-test imports (imports of
// _test.go files are not listed: tests may use the helpers).
func listPackages(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, module+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	pkgs := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkgs[fields[0]] = fields[1:]
	}
	return pkgs
}

// TestImportRules checks every non-test import of every package in the module.
func TestImportRules(t *testing.T) {
	pkgs := listPackages(t)
	for _, r := range rules {
		covered := 0
		for pkg, imports := range pkgs {
			if !r.applies(pkg) {
				continue
			}
			covered++
			for _, imp := range imports {
				if r.forbids.has(imp) {
					t.Errorf("%s imports %s: %s", pkg, imp, r.name)
				}
			}
		}
		switch {
		case covered == 0 && r.mayBeEmpty == "":
			t.Errorf("rule %q covers no package: fix it, or state why with mayBeEmpty", r.name)
		case covered > 0 && r.mayBeEmpty != "":
			t.Errorf("rule %q covers %d packages now: remove its mayBeEmpty (%s)", r.name, covered, r.mayBeEmpty)
		}
	}
}

// TestImportRulesNameRealPackages fails when a rule names a module package that does not exist
// (renamed or moved): such a rule would guard nothing.
func TestImportRulesNameRealPackages(t *testing.T) {
	pkgs := listPackages(t)
	exists := func(root string) bool {
		for pkg := range pkgs {
			if (tree{root}).has(pkg) {
				return true
			}
		}
		return false
	}
	for _, r := range rules {
		names := slices.Clone(r.forbids.roots())
		if r.mayBeEmpty == "" {
			// What a mayBeEmpty rule covers does not exist yet, by declaration.
			names = append(names, r.covers.roots()...)
		}
		if r.exempt != nil {
			names = append(names, r.exempt.roots()...)
		}
		for _, n := range names {
			if !exists(n) {
				t.Errorf("rule %q names %s, which is no package of this module", r.name, n)
			}
		}
	}
}

// TestNoGrabBagNames refuses packages, and console source folders, named for nothing they
// provide.
func TestNoGrabBagNames(t *testing.T) {
	for pkg := range listPackages(t) {
		for _, seg := range strings.Split(strings.TrimPrefix(pkg, module+"/"), "/") {
			if slices.Contains(grabBag, seg) {
				t.Errorf("package %s: name packages for what they provide, not %q", pkg, seg)
			}
		}
	}
	src := filepath.Join(repoRoot(t), "ui", "src")
	if _, err := os.Stat(src); err != nil {
		t.Fatalf("console sources: %v", err)
	}
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && slices.Contains(grabBag, d.Name()) {
			rel, _ := filepath.Rel(filepath.Dir(src), path)
			t.Errorf("console folder ui/%s: name folders for what they hold, not %q", filepath.ToSlash(rel), d.Name())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	return strings.TrimSpace(string(out))
}
