package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
)

// Logs, exec and port-forward of pods that really run, through KubeSpace's proxy.
func TestRealNodeThroughProxy(t *testing.T) {
	t.Parallel()
	e := newKubeEnv(t)
	e.kube.RequireRealNode(t)
	id := e.importCluster(t, "real")
	ns := e.namespace(t, "ks-real")
	viewer := e.user(t, "cviewer", id, "viewer")
	editor := e.user(t, "ceditor", id, "editor")
	// ticker counts every 0.2 s and serves /www over HTTP; crasher fails on its first run only.
	e.kube.Kubectl(t, realPod("ticker", "mkdir -p /www; echo hello-from-kubespace > /www/hello.txt; "+
		"httpd -f -p 8080 -h /www & i=0; while true; do echo count $i; i=$((i+1)); sleep 0.2; done", "")+
		"---\n"+realPod("crasher", "n=$(cat /data/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /data/n; echo run $n; "+
		"if [ $n -eq 1 ]; then exit 1; fi; while true; do sleep 1; done",
		"  volumes: [{name: data, emptyDir: {}}]\n")+
		"    volumeMounts: [{name: data, mountPath: /data}]\n", "apply", "-n", ns, "-f", "-")
	e.kube.Kubectl(t, "", "wait", "-n", ns, "pod/ticker", "--for=condition=Ready", "--timeout=90s")
	logPath := "/api/v1/namespaces/" + ns + "/pods/ticker/log"
	countRE := regexp.MustCompile(`count (\d+)$`)
	counter := func(t *testing.T, line string) int {
		m := countRE.FindStringSubmatch(strings.TrimSpace(line))
		require.NotNil(t, m, "line %q", line)
		n, _ := strconv.Atoi(m[1])
		return n
	}
	logLines := func(t *testing.T, query string) []string {
		r := e.kubeCall(t, viewer, id, http.MethodGet, logPath+"?"+query, "", "", nil)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		return strings.Split(strings.TrimRight(string(r.Body), "\n"), "\n")
	}

	t.Run("follow streams lines as they come", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet,
			fmt.Sprintf("%s/api/v1/clusters/%d/proxy%s?follow=true&tailLines=1", e.s.URL, id, logPath), nil)
		req.Header.Set("Authorization", "Bearer "+viewer.Token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		sc := bufio.NewScanner(resp.Body)
		prev := -1
		for i := 0; i < 4; i++ {
			require.True(t, sc.Scan(), "stream ended: %v", sc.Err())
			n := counter(t, sc.Text())
			require.Greater(t, n, prev, "counters increase")
			prev = n
		}
	})

	t.Run("tailLines, timestamps, sinceSeconds", func(t *testing.T) {
		eventually(t, "the ticker has logged for 3 s", func() bool { return len(logLines(t, "")) >= 15 })
		require.Len(t, logLines(t, "tailLines=2"), 2)
		for _, l := range logLines(t, "timestamps=true&tailLines=3") {
			ts, rest, ok := strings.Cut(l, " ")
			require.True(t, ok, l)
			_, err := time.Parse(time.RFC3339Nano, ts)
			require.NoError(t, err, "line %q starts with a timestamp", l)
			counter(t, rest)
		}
		all, recent := logLines(t, ""), logLines(t, "sinceSeconds=1")
		require.Equal(t, 0, counter(t, all[0]))
		require.Less(t, len(recent), len(all))
		require.Greater(t, counter(t, recent[0]), 0, "older lines are left out")
	})

	t.Run("previous", func(t *testing.T) {
		eventually(t, "crasher restarted and runs again", func() bool {
			out, err := e.kube.TryKubectl("", "get", "pod", "-n", ns, "crasher", "-o",
				`jsonpath={.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].state.running}`)
			return err == nil && strings.HasPrefix(out, "1 ") && strings.Contains(out, "startedAt")
		})
		path := "/api/v1/namespaces/" + ns + "/pods/crasher/log"
		r := e.kubeCall(t, viewer, id, http.MethodGet, path+"?previous=true", "", "", nil)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		require.Equal(t, "run 1\n", string(r.Body))
		eventually(t, "the second run logged", func() bool {
			r = e.kubeCall(t, viewer, id, http.MethodGet, path, "", "", nil)
			return r.Status == http.StatusOK && string(r.Body) == "run 2\n"
		})
		// The cluster's own refusals pass through as Kubernetes Status objects.
		r = e.kubeCall(t, viewer, id, http.MethodGet, logPath+"?previous=true", "", "", nil)
		require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
		require.Contains(t, string(r.Body), `"kind":"Status"`)
	})

	cfg := e.restConfig(editor, id)
	cs, err := kubernetes.NewForConfig(cfg)
	require.NoError(t, err)
	execURL := func(opts *corev1.PodExecOptions) *url.URL {
		opts.Container = "main"
		return cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name("ticker").SubResource("exec").
			VersionedParams(opts, scheme.ParameterCodec).URL()
	}
	executors := map[string]func(u *url.URL) (remotecommand.Executor, error){
		"websocket": func(u *url.URL) (remotecommand.Executor, error) {
			return remotecommand.NewWebSocketExecutor(cfg, http.MethodGet, u.String())
		},
		"spdy": func(u *url.URL) (remotecommand.Executor, error) {
			return remotecommand.NewSPDYExecutor(cfg, http.MethodPost, u)
		},
	}
	for name, newExec := range executors {
		t.Run("exec over "+name, func(t *testing.T) {
			ex, err := newExec(execURL(&corev1.PodExecOptions{Command: []string{"sh", "-c", "echo $((6*7)); echo oops >&2"}, Stdout: true, Stderr: true}))
			require.NoError(t, err)
			var stdout, stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			require.NoError(t, ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr}))
			require.Equal(t, "42\n", stdout.String())
			require.Equal(t, "oops\n", stderr.String())
		})
		t.Run("exec with a TTY over "+name, func(t *testing.T) {
			script := `for i in $(seq 100); do s=$(stty size 2>/dev/null); [ "$s" = "50 132" ] && break; sleep 0.1; done; echo "size $s"`
			ex, err := newExec(execURL(&corev1.PodExecOptions{Command: []string{"sh", "-c", script}, Stdin: true, Stdout: true, TTY: true}))
			require.NoError(t, err)
			sizes := make(sizeQueue, 1)
			sizes <- remotecommand.TerminalSize{Width: 132, Height: 50}
			close(sizes)
			var stdout bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			stdin, stdinW := io.Pipe()
			defer stdinW.Close()
			require.NoError(t, ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: &stdout, Tty: true, TerminalSizeQueue: sizes}))
			require.Equal(t, "size 50 132", strings.TrimSpace(stdout.String()))
		})
	}

	t.Run("a viewer cannot exec", func(t *testing.T) {
		vcfg := e.restConfig(viewer, id)
		u := execURL(&corev1.PodExecOptions{Command: []string{"true"}, Stdout: true})
		ex, err := remotecommand.NewWebSocketExecutor(vcfg, http.MethodGet, u.String())
		require.NoError(t, err)
		err = ex.StreamWithContext(context.Background(), remotecommand.StreamOptions{Stdout: io.Discard})
		require.Error(t, err)
		require.Contains(t, err.Error(), "requires the editor role", "the refusal reaches the client as a Status")
		r := e.kubeCall(t, viewer, id, http.MethodPost, "/api/v1/namespaces/"+ns+"/pods/ticker/exec?command=true&stdout=true", "", "", nil)
		require.Equal(t, http.StatusForbidden, r.Status, "%s", r.Body)
		code, _ := r.kubespaceError(t)
		require.Equal(t, "forbidden", code)
	})

	t.Run("port-forward with kubectl", func(t *testing.T) {
		kubeconfig, _ := e.mintedKubeconfig(t, editor, id)
		k := e.kubectlWith(t, kubeconfig)
		port := freeLocalPort(t)
		ctx, cancel := context.WithCancel(context.Background())
		pf := k.cmd(ctx, "port-forward", "-n", ns, "pod/ticker", fmt.Sprintf("%d:8080", port))
		pfOut := &syncBuffer{}
		pf.Stdout, pf.Stderr = pfOut, pfOut
		require.NoError(t, pf.Start())
		defer func() { cancel(); _ = pf.Wait() }()
		var body string
		eventually(t, "the forwarded port serves the file", func() bool {
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/hello.txt", port))
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			body = string(b)
			return resp.StatusCode == http.StatusOK
		})
		require.Equal(t, "hello-from-kubespace\n", body, "kubectl said: %s", pfOut.String())
	})

	t.Run("sessions are audited", func(t *testing.T) {
		eventually(t, "both exec flavours are in the audit log", func() bool {
			seen := map[string]bool{}
			for _, ev := range e.clusterAudit(t, id, url.Values{"username": {"ceditor"}}) {
				seen[ev.Action+" "+ev.ResourceType] = true
			}
			return seen["get/exec kubernetes/pods/exec"] && seen["create/exec kubernetes/pods/exec"] &&
				(seen["get/portforward kubernetes/pods/portforward"] || seen["create/portforward kubernetes/pods/portforward"])
		})
	})
}

// syncBuffer is a bytes.Buffer a command writes to while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// sizeQueue hands remotecommand the terminal sizes sent into it.
type sizeQueue chan remotecommand.TerminalSize

func (q sizeQueue) Next() *remotecommand.TerminalSize {
	s, ok := <-q
	if !ok {
		return nil
	}
	return &s
}

func freeLocalPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
