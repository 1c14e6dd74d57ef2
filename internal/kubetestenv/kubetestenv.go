// Package kubetestenv gives tests a real Kubernetes cluster: etcd, kube-apiserver,
// kube-controller-manager and kube-scheduler v1.37.2 on loopback, kwok fake nodes for scale and,
// for the cluster named "default", one real node (kubelet + containerd + runc) on which pods run
// for real (logs, exec, port-forward). It is a thin wrapper around hack/kube-testenv.sh, which
// builds the binaries from the Go module proxy into a version-keyed cache
// (${KUBESPACE_CACHE:-~/.cache/kubespace}) and keeps each cluster's state in
// ${KUBESPACE_RUN:-/tmp/kubespace-testenv}/<name>.
//
// # Lifecycle
//
// [Start] runs `hack/kube-testenv.sh up <name>` once per test binary and name (later calls return
// the same *Cluster) and registers the test binary's PID as a user of the cluster. A running
// cluster is reused, so `up` costs well under a second when the cluster is already there. Clusters
// are never stopped per test: tests share them and must isolate themselves, e.g. with a namespace
// of their own ([Cluster.Namespace]).
//
// Use [Main] as TestMain. After the tests it "releases" the clusters this binary started: a
// cluster goes down once no registered test binary is alive any more, unless it was started by
// hand (`hack/kube-testenv.sh up` from a shell stays up, so a developer keeps a warm cluster across
// `go test` runs) or KUBE_TESTENV_KEEP=1 is set. Parallel test binaries (go test ./...) that use the
// same name share one cluster; the last one to finish takes it down. A binary killed before its
// TestMain returns leaves the cluster up; `hack/kube-testenv.sh down-all` removes everything.
//
// # Time
//
// With the binaries cached, `up` takes ~5 s. From an empty cache it builds for 10-14 minutes on 2
// cores, longer than go test's default 10 minute timeout: run `hack/kube-testenv.sh build` first
// (make test and CI should), or give go test a larger -timeout. When the binaries are missing and the
// test deadline is less than 20 minutes away, Start reports the cluster as unavailable instead of
// starting a build that cannot finish.
//
// # Missing prerequisites
//
// When the cluster cannot be had (not Linux, no bash, no Go toolchain to build, the module proxy
// is unreachable...) Start calls [testdeps.Unavailable]: the test is skipped locally and fails under
// KUBESPACE_REQUIRE_ALL=1 (make test, CI). The real node is optional for `up`; tests that need it
// call [Cluster.RequireRealNode], which does the same.
package kubetestenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubespace/kubespace/internal/testdeps"
)

// Names fixed by hack/kube-testenv.sh.
const (
	// DefaultName is the cluster that gets the machine's real node.
	DefaultName = "default"
	// RealNodeName is the real node's name (the kubelet refuses a loopback node IP, so the node is
	// called "localhost").
	RealNodeName = "localhost"
	// NodeRoleLabel is set on every node: "real" on the real node, "kwok" on fake ones.
	NodeRoleLabel = "kubespace.io/testenv-node"
	// RealNodeTaintKey taints the real node (NoSchedule), so only pods that ask for it land there.
	RealNodeTaintKey = "kubespace.io/real-node"
	// BusyboxImage is imported on the real node (Debian's busybox-static, all applets). Pods must
	// use imagePullPolicy: Never: nothing can be pulled.
	BusyboxImage = "docker.io/library/busybox:testenv"
	// PauseImage is the sandbox image imported on the real node.
	PauseImage = "registry.k8s.io/pause:3.10"
)

// RealNodePodSpecYAML is the fragment (at pod-spec indentation 2) that pins a pod to the real node.
const RealNodePodSpecYAML = `  nodeSelector:
    ` + NodeRoleLabel + `: real
  tolerations:
  - key: ` + RealNodeTaintKey + `
    operator: Exists
    effect: NoSchedule
`

// Cluster is a running test cluster.
type Cluster struct {
	// Name of the cluster (also its state directory's name).
	Name string
	// Kubeconfig is the absolute path of a kubeconfig with embedded certificates for a
	// system:masters user.
	Kubeconfig string
	// KubectlPath is the absolute path of the cached kubectl v1.37.2 (the machine's own kubectl
	// may be many versions older).
	KubectlPath string
	// BinDir holds kubectl and the other cached binaries (etcd, kube-apiserver, kwok, ...).
	BinDir string
	// StateDir is the cluster's state directory (logs in StateDir/logs).
	StateDir string
	// RealNodeStatus is the content of StateDir/real-node-status: "ready: ...", "disabled: ...",
	// "taken: ..." or "failed: ...".
	RealNodeStatus string
}

// RealNode reports whether the cluster has the machine's real node, Ready at start.
func (c *Cluster) RealNode() bool { return strings.HasPrefix(c.RealNodeStatus, "ready") }

// RequireRealNode makes the test unavailable (skip locally, fail under KUBESPACE_REQUIRE_ALL=1)
// unless the cluster has the real node.
func (c *Cluster) RequireRealNode(t testing.TB) {
	t.Helper()
	if !c.RealNode() {
		testdeps.Unavailable(t, "kube-testenv cluster %q has no real node: %s", c.Name, c.RealNodeStatus)
	}
}

// Env returns os.Environ() with KUBECONFIG set to the cluster's, BinDir first on PATH and
// kubectl's discovery cache (KUBECACHEDIR) in the state directory rather than ~/.kube/cache, for
// commands (kubectl, helm, the project's own binaries) run against the cluster.
func (c *Cluster) Env() []string {
	env := make([]string, 0, len(os.Environ())+3)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KUBECONFIG=") && !strings.HasPrefix(kv, "PATH=") && !strings.HasPrefix(kv, "KUBECACHEDIR=") {
			env = append(env, kv)
		}
	}
	return append(env, "KUBECONFIG="+c.Kubeconfig,
		"PATH="+c.BinDir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"KUBECACHEDIR="+filepath.Join(c.StateDir, "kube-cache"))
}

// KubectlCmd returns an *exec.Cmd running the cached kubectl against the cluster.
func (c *Cluster) KubectlCmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.KubectlPath, append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
	cmd.Env = c.Env()
	return cmd
}

// Kubectl runs kubectl with args (stdin from stdin, if not empty) and returns its stdout; the
// test fails if kubectl fails or takes more than two minutes.
func (c *Cluster) Kubectl(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	out, err := c.TryKubectl(stdin, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// TryKubectl is Kubectl returning the error (with kubectl's stderr) instead of failing the test.
func (c *Cluster) TryKubectl(stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := c.KubectlCmd(ctx, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Namespace creates a namespace with a unique name (prefix + random suffix) and deletes it,
// without waiting, when the test ends.
func (c *Cluster) Namespace(t testing.TB, prefix string) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	ns := prefix + "-" + hex.EncodeToString(b)
	c.Kubectl(t, "", "create", "namespace", ns)
	t.Cleanup(func() { _, _ = c.TryKubectl("", "delete", "namespace", ns, "--wait=false") })
	return ns
}

type started struct {
	cluster     *Cluster
	unavailable string // set when a prerequisite is missing
	err         error
}

var (
	mu       sync.Mutex
	clusters = map[string]*started{}
)

// Start returns the cluster called name (DefaultName when empty), bringing it up if needed. See
// the package documentation for its lifecycle.
func Start(t testing.TB, name string) *Cluster {
	t.Helper()
	if name == "" {
		name = DefaultName
	}
	mu.Lock()
	s, ok := clusters[name]
	if !ok {
		s = start(t, name)
		clusters[name] = s
	}
	mu.Unlock()
	switch {
	case s.unavailable != "":
		testdeps.Unavailable(t, "%s", s.unavailable)
	case s.err != nil:
		t.Fatalf("kube-testenv up %s: %v", name, s.err)
	}
	return s.cluster
}

func start(t testing.TB, name string) *started {
	if runtime.GOOS != "linux" {
		return &started{unavailable: "kube-testenv needs Linux, this is " + runtime.GOOS}
	}
	script, err := Script()
	if err != nil {
		return &started{unavailable: err.Error()}
	}
	if _, err := exec.LookPath("bash"); err != nil {
		return &started{unavailable: "kube-testenv needs bash"}
	}
	// A cold build does not fit in what is left of a default `go test` run: say so instead.
	if run(script, "cached") != nil {
		if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
			if dl, has := d.Deadline(); has && time.Until(dl) < 20*time.Minute {
				return &started{unavailable: "kube-testenv binaries are not built yet and a cold build takes ~10 min; " +
					"run `hack/kube-testenv.sh build` first or use go test -timeout 30m"}
			}
		}
	}
	t0 := time.Now()
	cmd := exec.Command("bash", script, "up", name)
	cmd.Env = append(os.Environ(), "KUBE_TESTENV_USER_PID="+strconv.Itoa(os.Getpid()))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if err != nil {
		msg := fmt.Sprintf("hack/kube-testenv.sh up %s: %v\n%s", name, err, tail(stderr.String(), 40))
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 3 {
			return &started{unavailable: msg}
		}
		return &started{err: errors.New(msg)}
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	kubeconfig := strings.TrimSpace(lines[len(lines)-1])
	if !filepath.IsAbs(kubeconfig) {
		return &started{err: fmt.Errorf("kube-testenv up %s printed %q, not an absolute kubeconfig path", name, kubeconfig)}
	}
	c := &Cluster{Name: name, Kubeconfig: kubeconfig, StateDir: filepath.Dir(kubeconfig)}
	if out, err := output(script, "bin-dir"); err == nil {
		c.BinDir = out
		c.KubectlPath = filepath.Join(out, "kubectl")
	} else {
		return &started{err: err}
	}
	if b, err := os.ReadFile(filepath.Join(c.StateDir, "real-node-status")); err == nil {
		c.RealNodeStatus = strings.TrimSpace(string(b))
	}
	t.Logf("kube-testenv %q up in %s (kubeconfig %s; real node: %s)", name, time.Since(t0).Round(time.Millisecond), kubeconfig, c.RealNodeStatus)
	return &started{cluster: c}
}

// Main is a TestMain: it runs the tests, then releases every cluster this test binary started
// (see the package documentation) and exits with the tests' code.
//
//	func TestMain(m *testing.M) { kubetestenv.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	Release()
	os.Exit(code)
}

// Release tells hack/kube-testenv.sh that this test binary is done with the clusters it started;
// [Main] calls it. A cluster goes down when no test binary uses it any more, unless it was started
// by hand or KUBE_TESTENV_KEEP=1.
func Release() {
	mu.Lock()
	defer mu.Unlock()
	names := make([]string, 0, len(clusters))
	for n, s := range clusters {
		if s.cluster != nil {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	script, err := Script()
	if err != nil {
		return
	}
	for _, n := range names {
		if err := run(script, "release", n, strconv.Itoa(os.Getpid())); err != nil {
			fmt.Fprintf(os.Stderr, "kubetestenv: release %s: %v\n", n, err)
		}
	}
	clusters = map[string]*started{}
}

// Script returns the absolute path of hack/kube-testenv.sh: $KUBE_TESTENV_SCRIPT, or found by
// walking up from the working directory (go test runs in the package's directory).
func Script() (string, error) {
	if s := os.Getenv("KUBE_TESTENV_SCRIPT"); s != "" {
		return filepath.Abs(s)
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "hack", "kube-testenv.sh")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("hack/kube-testenv.sh not found above the working directory (set KUBE_TESTENV_SCRIPT)")
		}
		dir = parent
	}
}

func run(script string, args ...string) error {
	_, err := output(script, args...)
	return err
}

func output(script string, args ...string) (string, error) {
	cmd := exec.Command("bash", append([]string{script}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("kube-testenv.sh %s: %w: %s", strings.Join(args, " "), err, tail(stderr.String(), 20))
	}
	return strings.TrimSpace(stdout.String()), nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
