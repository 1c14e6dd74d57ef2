package kubetestenv_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kubespace/kubespace/internal/kubetestenv"
)

func TestMain(m *testing.M) { kubetestenv.Main(m) }

// A Deployment on the kwok nodes gets Running pods through the controller-manager and scheduler.
func TestDeploymentOnKwokNodes(t *testing.T) {
	c := kubetestenv.Start(t, kubetestenv.DefaultName)
	ns := c.Namespace(t, "kte-deploy")
	c.Kubectl(t, `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      nodeSelector: {`+kubetestenv.NodeRoleLabel+`: kwok}
      containers:
      - name: web
        image: `+kubetestenv.BusyboxImage+`
`, "apply", "-n", ns, "-f", "-")
	c.Kubectl(t, "", "rollout", "status", "-n", ns, "deployment/web", "--timeout=60s")
	out := c.Kubectl(t, "", "get", "pods", "-n", ns, "-l", "app=web",
		"-o", `jsonpath={range .items[*]}{.status.phase} {.spec.nodeName}{"\n"}{end}`)
	lines := strings.Fields(strings.ReplaceAll(out, "\n", " "))
	if len(lines) != 6 {
		t.Fatalf("want 3 pods, got %q", out)
	}
	for i := 0; i < len(lines); i += 2 {
		if lines[i] != "Running" || !strings.HasPrefix(lines[i+1], "kwok-node-") {
			t.Errorf("pod %d: phase %s on node %s, want Running on a kwok node", i/2, lines[i], lines[i+1])
		}
	}
}

// A pod on the real node really runs: its logs stream, exec runs a command in it, and
// port-forward reaches a server inside it.
func TestRealNodeLogsExecPortForward(t *testing.T) {
	c := kubetestenv.Start(t, kubetestenv.DefaultName)
	c.RequireRealNode(t)
	ns := c.Namespace(t, "kte-real")
	// `trap` so the shell (PID 1, which ignores SIGTERM by default) exits at once on delete.
	c.Kubectl(t, `
apiVersion: v1
kind: Pod
metadata:
  name: ticker
spec:
`+kubetestenv.RealNodePodSpecYAML+`  terminationGracePeriodSeconds: 2
  containers:
  - name: ticker
    image: `+kubetestenv.BusyboxImage+`
    imagePullPolicy: Never
    command: ["sh", "-c", "trap 'exit 0' TERM; httpd -p 8080 -h /etc; i=0; while true; do echo tick $i; i=$((i+1)); sleep 1; done"]
`, "apply", "-n", ns, "-f", "-")
	c.Kubectl(t, "", "wait", "-n", ns, "pod/ticker", "--for=condition=Ready", "--timeout=60s")
	if node := c.Kubectl(t, "", "get", "pod", "-n", ns, "ticker", "-o", "jsonpath={.spec.nodeName}"); node != kubetestenv.RealNodeName {
		t.Fatalf("pod on node %q, want %q", node, kubetestenv.RealNodeName)
	}

	// logs -f: read until the second line arrives.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := c.KubectlCmd(ctx, "logs", "-f", "-n", ns, "ticker")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	buf := make([]byte, 256)
	for !strings.Contains(got.String(), "tick 1\n") {
		n, err := stdout.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			t.Fatalf("logs -f ended (%v) after %q", err, got.String())
		}
	}
	cancel()
	_ = cmd.Wait()

	if out := c.Kubectl(t, "", "exec", "-n", ns, "ticker", "--", "sh", "-c", "echo exec-ok from $(hostname)"); out != "exec-ok from ticker\n" {
		t.Errorf("exec printed %q", out)
	}

	port := freePort(t)
	pfCtx, pfCancel := context.WithCancel(context.Background())
	defer pfCancel()
	pf := c.KubectlCmd(pfCtx, "port-forward", "-n", ns, "pod/ticker", fmt.Sprintf("%d:8080", port))
	if err := pf.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { pfCancel(); _ = pf.Wait() }()
	body := httpGetRetry(t, fmt.Sprintf("http://127.0.0.1:%d/passwd", port))
	if !strings.Contains(body, "root:x:0:0") {
		t.Errorf("port-forward: GET /passwd returned %q", body)
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func httpGetRetry(t *testing.T, url string) string {
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return string(b)
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
