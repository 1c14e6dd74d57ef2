package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// server is a KubeSpace server process started for the benchmark.
type server struct {
	cmd   *exec.Cmd
	url   string
	token string
	dir   string
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startServer builds and starts a server process on the embedded database, or as env says
// (MYSQL_HOST, REDIS_ADDRESS, AUTH_CACHE_TTL...), and logs in as its first admin.
func startServer(ctx context.Context, env ...string) (*server, error) {
	dir, err := os.MkdirTemp("", "kubespace-bench-")
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(dir, "server")
	logf("building the server")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/server")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port), "TLS_PORT=0", "DATA_DIR="+filepath.Join(dir, "data"),
		"SETUP_TOKEN=benchmark-setup-token-1234", "LOG_LEVEL=warn", "LOGIN_MAX_PER_IP=100000")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, url: fmt.Sprintf("http://127.0.0.1:%d", port), dir: dir}
	for i := 0; ; i++ {
		if resp, err := http.Get(s.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if i > 100 {
			s.stop()
			return nil, fmt.Errorf("server did not become ready")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := s.call("POST", "/api/v1/setup", map[string]string{"username": "admin", "password": "benchmark-pass",
		"email": "bench@example.com", "setup_token": "benchmark-setup-token-1234"}); err != nil {
		return nil, err
	}
	b, err := s.call("POST", "/api/v1/auth/login", map[string]string{"username": "admin", "password": "benchmark-pass"})
	if err != nil {
		return nil, err
	}
	var login struct{ Token string }
	if err := json.Unmarshal(b, &login); err != nil {
		return nil, err
	}
	s.token = login.Token
	return s, nil
}

func (s *server) call(method, path string, body any) ([]byte, error) {
	data, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, s.url+path, bytes.NewReader(data))
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return nil, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return b, nil
}

func (s *server) importCluster(_ context.Context, kubeconfig string) error {
	kc, err := os.ReadFile(kubeconfig)
	if err != nil {
		return err
	}
	_, err = s.call("POST", "/api/v1/clusters", map[string]string{"name": "bench", "kubeconfig": string(kc)})
	return err
}

// rss returns the server's peak resident memory (VmHWM) in bytes since the last resetPeak.
func (s *server) peakRSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmHWM")
}

// resetPeak restarts peak-RSS accounting (Linux clear_refs 5).
func (s *server) resetPeak() error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", s.cmd.Process.Pid), []byte("5"), 0)
}

func (s *server) stop() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_, _ = s.cmd.Process.Wait()
	}
	_ = os.RemoveAll(s.dir)
}
