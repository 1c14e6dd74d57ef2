// Package proctest runs KubeSpace's binaries as real processes for whole-system tests: it builds
// each binary once per test binary, starts processes with their environment, waits until they are
// ready, keeps their logs (printed when the test fails) and stops them — gracefully, or with
// SIGKILL for fault tests.
package proctest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const module = "github.com/kubespace/kubespace"

var (
	buildMu  sync.Mutex
	builtDir string
	built    = map[string]string{}
)

// Binary returns the path of cmd/<name>, built once per test binary (without the race detector:
// the processes under test are the shipped code, built as `make build` builds it).
func Binary(t testing.TB, name string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[name]; ok {
		return p
	}
	if builtDir == "" {
		d, err := os.MkdirTemp("", "kubespace-proctest-")
		if err != nil {
			t.Fatalf("proctest: %v", err)
		}
		builtDir = d
	}
	out := filepath.Join(builtDir, name)
	cmd := exec.Command("go", "build", "-o", out, module+"/cmd/"+name)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("proctest: build %s: %v\n%s", name, err, b)
	}
	built[name] = out
	return out
}

// FreePort returns a free loopback TCP port.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proctest: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Process is one running binary.
type Process struct {
	Name string
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{}
	err  error
}

// Start runs binary with env (added to a minimal environment) and args. The process is stopped
// when the test ends; its output is printed if the test failed.
func Start(t testing.TB, name, binary string, env []string, args ...string) *Process {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + os.TempDir()}, env...)
	p := &Process{Name: name, cmd: cmd, log: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.log, p.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("proctest: start %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Stop(t)
		if t.Failed() {
			t.Logf("--- output of %s ---\n%s", name, tail(p.log.String(), 200))
		}
	})
	return p
}

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Output returns what the process has printed so far.
func (p *Process) Output() string { return p.log.String() }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop ends the process with SIGTERM, then SIGKILL after 20 s, and waits for it.
func (p *Process) Stop(t testing.TB) {
	if p.Exited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Errorf("proctest: %s did not stop within 20 s of SIGTERM; killing it", p.Name)
		p.Kill()
	}
}

// Kill ends the process (and its children) with SIGKILL at once, as a crash would, and waits.
func (p *Process) Kill() {
	if p.Exited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// WaitHTTP waits until GET url answers 200, failing the test (with the process's output) after
// timeout or if the process exits.
func (p *Process) WaitHTTP(t testing.TB, url string, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.done:
			t.Fatalf("proctest: %s exited while starting (%v):\n%s", p.Name, p.err, tail(p.log.String(), 100))
		case <-ctx.Done():
			t.Fatalf("proctest: %s did not answer %s within %s:\n%s", p.Name, url, timeout, tail(p.log.String(), 100))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Env formats environment variables.
func Env(kv map[string]string) []string {
	out := make([]string, 0, len(kv))
	for k, v := range kv {
		out = append(out, k+"="+v)
	}
	return out
}

// Itoa is strconv.Itoa, for building environments.
func Itoa(n int) string { return strconv.Itoa(n) }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func tail(s string, lines int) string {
	ls := strings.Split(s, "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

// Server is a KubeSpace server process.
type Server struct {
	*Process
	URL string
}

// StartServer starts cmd/server with env (PORT and TLS_PORT are chosen here) and waits until it
// is ready.
func StartServer(t testing.TB, name string, env map[string]string) *Server {
	t.Helper()
	port := FreePort(t)
	vars := map[string]string{"PORT": strconv.Itoa(port), "TLS_PORT": "0", "LOG_LEVEL": "info"}
	for k, v := range env {
		vars[k] = v
	}
	p := Start(t, name, Binary(t, "server"), Env(vars))
	s := &Server{Process: p, URL: fmt.Sprintf("http://127.0.0.1:%d", port)}
	p.WaitHTTP(t, s.URL+"/readyz", 60*time.Second)
	return s
}

// Cleanup removes the binaries Binary built; call it from TestMain after m.Run.
func Cleanup() {
	buildMu.Lock()
	defer buildMu.Unlock()
	if builtDir != "" {
		_ = os.RemoveAll(builtDir)
		builtDir, built = "", map[string]string{}
	}
}
