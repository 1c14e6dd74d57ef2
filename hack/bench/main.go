// Command bench measures KubeSpace against its baselines in one run, on one API server holding
// 10,000 Running pods (kwok fake nodes), and prints Markdown tables (also written to
// docs/benchmarks.md). Run it with `make bench`.
//
// It measures:
//   - the cached list endpoint: the first page sorted by name, and the full list (every page),
//     against a raw GET /api/v1/pods from the API server and `kubectl get pods -A`, and the
//     server's peak resident memory while four full lists run at once;
//   - authenticated requests (GET /users/me and a cached list) at 50 concurrent clients on
//     MariaDB and Redis, with the per-process authentication cache off and on;
//   - pipelines (pipelines.go): POST run → run done, 20 runs at once on one pipeline, runs per
//     second across 20 pipelines, log line → follow endpoint, and idle memory of each binary, on
//     MariaDB and Redis with the separate binaries (needs no cluster: `-only pipelines` runs it
//     alone and replaces its section of docs/benchmarks.md).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	pods := flag.Int("pods", 10000, "Running pods to create")
	keep := flag.Bool("keep", false, "leave the benchmark cluster running")
	out := flag.String("out", "docs/benchmarks.md", "where to write the tables ('' to skip; written only when every section ran)")
	only := flag.String("only", "", "comma-separated sections to run (lists, auth, pipelines); default all")
	flag.Parse()
	if err := run(*pods, *keep, *out, *only); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(pods int, keep bool, out, only string) error {
	want := func(section string) bool {
		return only == "" || strings.Contains(","+only+",", ","+section+",")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
	defer cancel()
	var table string
	if want("lists") || want("auth") {
		var err error
		if table, err = clusterSections(ctx, pods, keep, want); err != nil {
			return err
		}
	}
	if want("pipelines") {
		pipes, err := measurePipelines(ctx)
		if err != nil {
			return err
		}
		table += "\n" + pipelineHeading + "\n\n" + pipes
	}
	fmt.Println(table)
	if out == "" {
		return nil
	}
	if only == "" {
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, []byte(docHeader+table), 0o644)
	}
	if only == "pipelines" {
		return replacePipelineSection(out, table)
	}
	return nil
}

// pipelineHeading starts the pipeline section, which is last in docs/benchmarks.md.
const pipelineHeading = "## Pipelines: runs, logs and memory with the separate binaries"

// replacePipelineSection swaps the pipeline section of an existing benchmarks document for a
// new one (appending it when the document has none), leaving the cluster tables as they were.
func replacePipelineSection(out, section string) error {
	old, err := os.ReadFile(out)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	doc := string(old)
	if doc == "" {
		doc = docHeader
	}
	if i := strings.Index(doc, "\n"+pipelineHeading); i >= 0 {
		doc = doc[:i]
	}
	return os.WriteFile(out, []byte(strings.TrimRight(doc, "\n")+"\n"+section), 0o644)
}

// clusterSections measures the sections that need the kwok benchmark cluster.
func clusterSections(ctx context.Context, pods int, keep bool, want func(string) bool) (string, error) {
	nodes := pods/100 + 2
	logf("starting the benchmark cluster with %d kwok nodes", nodes)
	kubeconfig, err := testenv(ctx, "up", fmt.Sprintf("KWOK_NODES=%d", nodes), "KUBE_TESTENV_REAL_NODE=0")
	if err != nil {
		return "", err
	}
	if !keep {
		defer func() { _, _ = testenv(context.Background(), "down") }()
	}
	kubectl, err := testenvOutput(ctx, "kubectl-path")
	if err != nil {
		return "", err
	}
	c, err := newCluster(kubeconfig, kubectl)
	if err != nil {
		return "", err
	}
	var table string
	if want("lists") {
		if err := c.populate(ctx, pods); err != nil {
			return "", err
		}
		srv, err := startServer(ctx)
		if err != nil {
			return "", err
		}
		err = srv.importCluster(ctx, kubeconfig)
		var res *results
		if err == nil {
			res, err = measure(ctx, c, srv, pods)
		}
		srv.stop()
		if err != nil {
			return "", err
		}
		table += "## Cached resource lists\n\n" + res.markdown(pods)
	}
	if want("auth") {
		auth, err := measureAuth(ctx, kubeconfig)
		if err != nil {
			return "", err
		}
		table += "\n## Authenticated requests: the per-process authentication cache\n\n" + auth
	}
	return table, nil
}

const docHeader = `# Benchmarks

Produced by ` + "`make bench`" + ` (hack/bench): one kube-apiserver v1.37.2 from the test environment with
10,000 Running pods on kwok fake nodes; each KubeSpace server runs as its own process with the
cluster imported by kubeconfig. Every row is measured in the same run on the same machine (2 cores).

Cached lists (server on the embedded database). Goals (issue #3): first page ≤ 20 ms p50; full list
≤ 0.3 s p50 (the raw API server takes ~0.75 s here, the original KubeSpace ~2.9 s); peak server
memory ≤ 300 MB while four full lists run at once (the original reached 3.3 GB).

`

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[bench %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// testenv runs hack/kube-testenv.sh for the "bench" cluster and returns its last stdout line.
func testenv(ctx context.Context, verb string, env ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "hack/kube-testenv.sh", verb, "bench")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("kube-testenv %s: %w", verb, err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1], nil
}

func testenvOutput(ctx context.Context, verb string) (string, error) {
	b, err := exec.CommandContext(ctx, "hack/kube-testenv.sh", verb).Output()
	return strings.TrimSpace(string(b)), err
}
