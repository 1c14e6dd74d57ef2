// Package gittest runs real git servers for tests: the git CLI's own `git http-backend` over
// HTTP or HTTPS (as CGI through net/http/cgi) behind basic auth, and an SSH server
// (golang.org/x/crypto/ssh) that runs `git upload-pack` / `git receive-pack` for clients with an
// authorized key. Repositories are bare repositories in a temporary directory, made and changed
// with the git CLI (commits, branches), so what clients read is what a git server serves.
//
// It needs the git binary (with git-http-backend, part of every git install).
package gittest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Repos is a directory of bare repositories that the servers of this package serve.
type Repos struct {
	Root string
	t    testing.TB
	mu   sync.Mutex
	seq  int
}

// New makes an empty set of repositories, removed when the test ends.
func New(t testing.TB) *Repos {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("gittest needs the git binary: install git (Debian: apt-get install git)")
	}
	return &Repos{Root: t.TempDir(), t: t}
}

// Repo is one bare repository.
type Repo struct {
	Name string // the path below the servers' root, e.g. "team/app.git"
	Dir  string // the bare repository on disk
	r    *Repos
	work string // a working clone commits are made in
}

var repoName = regexp.MustCompile(`^[a-z0-9][a-z0-9._/-]*\.git$`)

// Create makes an empty bare repository named like "app.git" or "team/app.git".
func (r *Repos) Create(name string) *Repo {
	r.t.Helper()
	if !repoName.MatchString(name) || strings.Contains(name, "..") {
		r.t.Fatalf("gittest: bad repository name %q", name)
	}
	dir := filepath.Join(r.Root, filepath.FromSlash(name))
	r.git("", "init", "--bare", "--initial-branch=main", dir)
	// Clients may fetch a single commit by hash (as GitHub and GitLab allow); AllowBySHA off
	// turns it off for tests of the other way.
	r.git(dir, "config", "uploadpack.allowReachableSHA1InWant", "true")
	r.git(dir, "config", "http.receivepack", "true")
	r.mu.Lock()
	r.seq++
	work := filepath.Join(r.t.TempDir(), fmt.Sprintf("work-%d", r.seq))
	r.mu.Unlock()
	r.git("", "init", "--initial-branch=main", work)
	r.git(work, "remote", "add", "origin", dir)
	return &Repo{Name: name, Dir: dir, r: r, work: work}
}

// AllowBySHA says whether the server sends a commit asked for by its hash.
func (p *Repo) AllowBySHA(on bool) {
	p.r.git(p.Dir, "config", "uploadpack.allowReachableSHA1InWant", fmt.Sprint(on))
}

// Commit writes files (path → content) on branch (created from the current commit of the
// working clone when new), commits with message and pushes; it returns the commit hash.
func (p *Repo) Commit(branch, message string, files map[string]string) string {
	p.r.t.Helper()
	if branch == "" {
		p.r.t.Fatalf("gittest: Commit needs a branch")
	}
	if p.r.gitOK(p.work, "rev-parse", "--verify", "-q", "HEAD") {
		if p.r.gitOK(p.work, "rev-parse", "--verify", "-q", "refs/heads/"+branch) {
			p.r.git(p.work, "checkout", "-q", branch)
		} else {
			p.r.git(p.work, "checkout", "-q", "-b", branch)
		}
	} else {
		p.r.git(p.work, "checkout", "-q", "--orphan", branch)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(p.work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			p.r.t.Fatalf("gittest: %v", err)
		}
		if err := os.WriteFile(path, []byte(files[name]), 0o644); err != nil {
			p.r.t.Fatalf("gittest: %v", err)
		}
		p.r.git(p.work, "add", "--", name)
	}
	p.r.git(p.work, "commit", "-q", "--allow-empty", "-m", message)
	p.r.git(p.work, "push", "-q", "origin", branch)
	return strings.TrimSpace(p.r.git(p.work, "rev-parse", "HEAD"))
}

// DeleteBranch removes a branch from the served repository.
func (p *Repo) DeleteBranch(branch string) {
	p.r.git(p.Dir, "update-ref", "-d", "refs/heads/"+branch)
}

// Head returns the commit a branch of the served repository points at.
func (p *Repo) Head(branch string) string {
	return strings.TrimSpace(p.r.git(p.Dir, "rev-parse", "refs/heads/"+branch))
}

// gitEnv fixes the identity and isolates git from the machine's configuration.
func gitEnv() []string {
	return append(os.Environ(), "GIT_AUTHOR_NAME=Test Author", "GIT_AUTHOR_EMAIL=author@example.com",
		"GIT_COMMITTER_NAME=Test Committer", "GIT_COMMITTER_EMAIL=committer@example.com",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0")
}

func (r *Repos) git(dir string, args ...string) string {
	r.t.Helper()
	out, err := r.run(dir, args...)
	if err != nil {
		r.t.Fatalf("gittest: git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (r *Repos) gitOK(dir string, args ...string) bool {
	_, err := r.run(dir, args...)
	return err == nil
}

func (r *Repos) run(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = gitEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		return "", err
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		return out.String(), fmt.Errorf("git %s did not finish within a minute", strings.Join(args, " "))
	}
}

// path maps a repository path from a request onto the root, refusing anything outside it.
func (r *Repos) path(p string) (string, bool) {
	p = strings.TrimPrefix(strings.Trim(p, "'\""), "/")
	if p == "" || strings.Contains(p, "..") || strings.HasPrefix(p, "-") {
		return "", false
	}
	full := filepath.Join(r.Root, filepath.FromSlash(p))
	if _, err := os.Stat(filepath.Join(full, "HEAD")); err != nil {
		return full, false
	}
	return full, true
}
