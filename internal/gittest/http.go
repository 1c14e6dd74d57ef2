package gittest

import (
	"crypto/subtle"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
)

// HTTPOptions configure an HTTP git server.
type HTTPOptions struct {
	// Username and Password, when set, are required of every request (basic auth).
	Username, Password string
	// TLS serves HTTPS with a certificate of a test CA (HTTPServer.CAPEM).
	TLS bool
}

// HTTPServer is `git http-backend` behind an HTTP(S) server.
type HTTPServer struct {
	URL string // base URL; repositories are at URL + "/" + name
	// CAPEM is the PEM certificate clients must trust (TLS servers only).
	CAPEM []byte
	// Requests counts the requests the server answered (authorized or not).
	Requests atomic.Int64
	srv      *httptest.Server
}

// RepoURL returns the clone URL of a repository.
func (s *HTTPServer) RepoURL(name string) string { return s.URL + "/" + name }

// Close stops the server (it is also stopped when the test ends).
func (s *HTTPServer) Close() { s.srv.Close() }

// ServeHTTP starts `git http-backend` for the repositories over HTTP (or HTTPS).
func (r *Repos) ServeHTTP(o HTTPOptions) *HTTPServer {
	r.t.Helper()
	execPath, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		r.t.Fatalf("gittest: git --exec-path: %v", err)
	}
	backend := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend"),
		Env: append(gitEnv(), "GIT_PROJECT_ROOT="+r.Root, "GIT_HTTP_EXPORT_ALL=1",
			// Receive-pack needs an authenticated user; the server's basic auth is the check.
			"REMOTE_USER=test"),
		// The backend's complaints (a missing repository) reach clients as statuses.
		Stderr: io.Discard,
	}
	s := &HTTPServer{}
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s.Requests.Add(1)
		if o.Username != "" || o.Password != "" {
			u, p, ok := req.BasicAuth()
			if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(o.Username)) != 1 ||
				subtle.ConstantTimeCompare([]byte(p), []byte(o.Password)) != 1 {
				w.Header().Set("WWW-Authenticate", `Basic realm="gittest"`)
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
		}
		backend.ServeHTTP(w, req)
	})
	if o.TLS {
		s.srv = httptest.NewTLSServer(h)
		s.CAPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
	} else {
		s.srv = httptest.NewServer(h)
	}
	s.URL = s.srv.URL
	r.t.Cleanup(s.srv.Close)
	return s
}
