package gitrepo_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/gittest"
	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/gitrepo"
)

// fixture is a repository with two branches and history, served over HTTP with basic auth,
// over HTTPS by a test CA, and over SSH with a key.
type fixture struct {
	repo              *gittest.Repo
	http, https       *gittest.HTTPServer
	ssh               *gittest.SSHServer
	key               gittest.Key
	first, tip, topic string
}

const user, pass = "ci", "s3cret-password"

func newFixture(t *testing.T) *fixture {
	repos := gittest.New(t)
	f := &fixture{repo: repos.Create("team/app.git"), key: gittest.NewKey(t)}
	f.first = f.repo.Commit("main", "first commit", map[string]string{"README.md": "hello\n"})
	f.tip = f.repo.Commit("main", "second commit\n\nwith a body", map[string]string{"main.go": "package main\n"})
	f.topic = f.repo.Commit("feature/login", "login form", map[string]string{"login.go": "package login\n"})
	f.http = repos.ServeHTTP(gittest.HTTPOptions{Username: user, Password: pass})
	f.https = repos.ServeHTTP(gittest.HTTPOptions{Username: user, Password: pass, TLS: true})
	f.ssh = repos.ServeSSH(f.key.Public)
	return f
}

func (f *fixture) overHTTP() gitrepo.Remote {
	return gitrepo.Remote{URL: f.http.RepoURL("team/app.git"), Username: user, Password: pass, Timeout: 20 * time.Second}
}

func (f *fixture) overSSH() gitrepo.Remote {
	return gitrepo.Remote{URL: f.ssh.RepoURL("team/app.git"), PrivateKey: f.key.PrivatePEM, KnownHosts: f.ssh.KnownHosts, Timeout: 20 * time.Second}
}

// requireCode asserts an Unprocessable error with the code and a message containing want.
func requireCode(t *testing.T, err error, code, want string) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, gitrepo.Code(err), "%v", err)
	require.True(t, errs.Is(err, errs.Unprocessable), "%v", err)
	var e *errs.Error
	require.ErrorAs(t, err, &e)
	require.Contains(t, e.Message, want)
	require.NotContains(t, e.Message, pass, "messages never quote the password")
}

func TestReadOverEachTransport(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	for name, r := range map[string]gitrepo.Remote{
		"http":  f.overHTTP(),
		"https": {URL: f.https.RepoURL("team/app.git"), Username: user, Password: pass, CABundle: f.https.CAPEM},
		"ssh":   f.overSSH(),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			branches, err := gitrepo.ListBranches(ctx, r)
			require.NoError(t, err)
			require.Equal(t, []gitrepo.Branch{{Name: "feature/login", Commit: f.topic}, {Name: "main", Commit: f.tip}}, branches)

			c, err := gitrepo.ResolveCommit(ctx, r, "main", "")
			require.NoError(t, err)
			require.Equal(t, f.tip, c.Hash)
			require.Equal(t, "second commit\n\nwith a body", c.Message)
			require.Equal(t, "Test Author", c.Author)
			require.Equal(t, "author@example.com", c.AuthorEmail)
			require.False(t, c.When.IsZero())

			old, err := gitrepo.ResolveCommit(ctx, r, "main", f.first)
			require.NoError(t, err)
			require.Equal(t, "first commit", old.Message)

			dir := filepath.Join(t.TempDir(), "src")
			got, err := gitrepo.Checkout(ctx, r, dir, "feature/login", "")
			require.NoError(t, err)
			require.Equal(t, f.topic, got.Hash)
			for file, content := range map[string]string{"README.md": "hello\n", "main.go": "package main\n", "login.go": "package login\n"} {
				b, err := os.ReadFile(filepath.Join(dir, file))
				require.NoError(t, err, file)
				require.Equal(t, content, string(b))
			}
			cfg, err := os.ReadFile(filepath.Join(dir, ".git", "config"))
			require.NoError(t, err)
			require.NotContains(t, string(cfg), pass, "the credential is not written into the checkout")

			dir = filepath.Join(t.TempDir(), "old")
			got, err = gitrepo.Checkout(ctx, r, dir, "main", f.first)
			require.NoError(t, err)
			require.Equal(t, f.first, got.Hash)
			require.FileExists(t, filepath.Join(dir, "README.md"))
			require.NoFileExists(t, filepath.Join(dir, "main.go"), "the older commit's tree")
		})
	}
}

// A server that sends no commit by its hash (plain git's default) is read through the
// branch's history instead.
func TestCommitWithoutFetchBySHA(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.repo.AllowBySHA(false)
	ctx := context.Background()
	for name, r := range map[string]gitrepo.Remote{"http": f.overHTTP(), "ssh": f.overSSH()} {
		t.Run(name, func(t *testing.T) {
			c, err := gitrepo.ResolveCommit(ctx, r, "main", f.first)
			require.NoError(t, err)
			require.Equal(t, "first commit", c.Message)
			c, err = gitrepo.ResolveCommit(ctx, r, "", f.first)
			require.NoError(t, err, "found in some branch")
			require.Equal(t, f.first, c.Hash)
			dir := t.TempDir()
			c, err = gitrepo.Checkout(ctx, r, dir, "main", f.first)
			require.NoError(t, err)
			require.Equal(t, f.first, c.Hash)
			require.NoFileExists(t, filepath.Join(dir, "main.go"))
			// A hash that is surely not f.first (its last digit changed, whatever it was).
			other := f.first[:39] + map[bool]string{true: "1", false: "0"}[strings.HasSuffix(f.first, "0")]
			_, err = gitrepo.ResolveCommit(ctx, r, "feature/login", other)
			requireCode(t, err, gitrepo.CodeNotFound, "was not found")
		})
	}
}

func TestFailuresHaveCodes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	other := gittest.NewKey(t)
	foreign := gittest.New(t).ServeSSH(other.Public) // another server, another host key
	ctx := context.Background()
	with := func(r gitrepo.Remote, change func(*gitrepo.Remote)) gitrepo.Remote { change(&r); return r }
	closed := closedAddr(t)
	cases := []struct {
		name       string
		r          gitrepo.Remote
		code, want string
	}{
		{"http wrong password", with(f.overHTTP(), func(r *gitrepo.Remote) { r.Password = "wrong-password" }),
			gitrepo.CodeAuthFailed, "refused the credentials"},
		{"http no credentials", with(f.overHTTP(), func(r *gitrepo.Remote) { r.Username, r.Password = "", "" }),
			gitrepo.CodeAuthFailed, "refused the credentials"},
		{"http missing repository", with(f.overHTTP(), func(r *gitrepo.Remote) { r.URL = f.http.RepoURL("team/nope.git") }),
			gitrepo.CodeNotFound, "was not found"},
		{"http key for an https URL", with(f.overHTTP(), func(r *gitrepo.Remote) { r.PrivateKey = f.key.PrivatePEM }),
			gitrepo.CodeAuthFailed, "SSH key authenticates ssh"},
		{"https unknown authority", gitrepo.Remote{URL: f.https.RepoURL("team/app.git"), Username: user, Password: pass},
			gitrepo.CodeTLS, "cannot be verified"},
		{"http refused connection", gitrepo.Remote{URL: "http://" + closed + "/app.git"}, gitrepo.CodeUnreachable, "cannot be reached"},
		{"http silent server", gitrepo.Remote{URL: "http://" + gittest.Silent(t) + "/app.git", Timeout: 300 * time.Millisecond},
			gitrepo.CodeTimeout, "did not answer within 300ms"},
		{"ssh other key", with(f.overSSH(), func(r *gitrepo.Remote) { r.PrivateKey = other.PrivatePEM }),
			gitrepo.CodeAuthFailed, "refused the credentials"},
		{"ssh no key", with(f.overSSH(), func(r *gitrepo.Remote) { r.PrivateKey = "" }), gitrepo.CodeAuthFailed, "needs an SSH key"},
		{"ssh not a key", with(f.overSSH(), func(r *gitrepo.Remote) { r.PrivateKey = "hello" }), gitrepo.CodeAuthFailed, "not a private key"},
		{"ssh missing repository", with(f.overSSH(), func(r *gitrepo.Remote) { r.URL = f.ssh.RepoURL("team/nope.git") }),
			gitrepo.CodeNotFound, "was not found"},
		{"ssh host key mismatch", with(f.overSSH(), func(r *gitrepo.Remote) {
			r.KnownHosts = strings.Replace(foreign.KnownHosts, foreign.Addr[strings.LastIndex(foreign.Addr, ":"):], f.ssh.Addr[strings.LastIndex(f.ssh.Addr, ":"):], 1)
		}), gitrepo.CodeHostKey, "does not match the pinned key"},
		{"ssh unknown host", with(f.overSSH(), func(r *gitrepo.Remote) { r.KnownHosts = foreign.KnownHosts }),
			gitrepo.CodeHostKey, "is not among the known hosts"},
		{"ssh refused connection", gitrepo.Remote{URL: "ssh://git@" + closed + "/app.git", PrivateKey: f.key.PrivatePEM, InsecureIgnoreHostKey: true},
			gitrepo.CodeUnreachable, "cannot be reached"},
		{"ssh silent server", gitrepo.Remote{URL: "ssh://git@" + gittest.Silent(t) + "/app.git", PrivateKey: f.key.PrivatePEM,
			InsecureIgnoreHostKey: true, Timeout: 300 * time.Millisecond}, gitrepo.CodeTimeout, "did not answer within 300ms"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := gitrepo.ListBranches(ctx, tc.r)
			requireCode(t, err, tc.code, tc.want)
		})
	}
	t.Run("missing branch and commit", func(t *testing.T) {
		for name, r := range map[string]gitrepo.Remote{"http": f.overHTTP(), "ssh": f.overSSH()} {
			_, err := gitrepo.ResolveCommit(ctx, r, "nope", "")
			requireCode(t, err, gitrepo.CodeNotFound, "branch nope was not found")
			_, err = gitrepo.ResolveCommit(ctx, r, "main", strings.Repeat("ab", 20))
			requireCode(t, err, gitrepo.CodeNotFound, "commit abab")
			_, err = gitrepo.Checkout(ctx, r, t.TempDir(), "nope", "")
			requireCode(t, err, gitrepo.CodeNotFound, "branch nope was not found")
			_, err = gitrepo.ResolveCommit(ctx, r, "main", "abc123")
			require.True(t, errs.Is(err, errs.Invalid), "%s: %v", name, err)
		}
	})
}

// Over SSH the URL's user is the login (a key secret's username is for URLs without one).
func TestSSHUser(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.overSSH()
	r.Username = "bob"
	_, err := gitrepo.ListBranches(context.Background(), r)
	require.NoError(t, err, "git@ from the URL, not bob")
	r.URL = "ssh://" + f.ssh.Addr + "/team/app.git"
	_, err = gitrepo.ListBranches(context.Background(), r)
	requireCode(t, err, gitrepo.CodeAuthFailed, "refused the credentials")
	r.Username = ""
	_, err = gitrepo.ListBranches(context.Background(), r)
	require.NoError(t, err, "git by default")
}

// The user's explicit opt-outs: any TLS certificate, any SSH host key.
func TestOptOuts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	_, err := gitrepo.ListBranches(ctx, gitrepo.Remote{URL: f.https.RepoURL("team/app.git"), Username: user, Password: pass, InsecureSkipTLSVerify: true})
	require.NoError(t, err)
	r := f.overSSH()
	r.KnownHosts, r.InsecureIgnoreHostKey = "", true
	_, err = gitrepo.ListBranches(ctx, r)
	require.NoError(t, err)
}

func TestEmptyRepository(t *testing.T) {
	t.Parallel()
	repos := gittest.New(t)
	repos.Create("empty.git")
	srv := repos.ServeHTTP(gittest.HTTPOptions{})
	branches, err := gitrepo.ListBranches(context.Background(), gitrepo.Remote{URL: srv.RepoURL("empty.git")})
	require.NoError(t, err)
	require.NotNil(t, branches)
	require.Empty(t, branches)
	_, err = gitrepo.ResolveCommit(context.Background(), gitrepo.Remote{URL: srv.RepoURL("empty.git")}, "main", "")
	requireCode(t, err, gitrepo.CodeNotFound, "branch main was not found")
}

func TestValidateURL(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"https://github.com/kubespace/kubespace.git", "http://git.internal:8080/a/b", "ssh://git@gitlab.com:2222/a/b.git",
		"git@github.com:kubespace/kubespace.git", "gitee.com:a/b.git"} {
		require.NoError(t, gitrepo.ValidateURL(ok), ok)
	}
	for _, bad := range []string{"", " https://x/y", "file:///etc", "/srv/git/app.git", "./app", "ext::sh -c id", "git://host/x",
		"https://user:pw@host/x.git", "https:///x", "ftp://host/x", "-oProxyCommand=id:x", "https://host/a b"} {
		err := gitrepo.ValidateURL(bad)
		require.Error(t, err, bad)
		require.True(t, errs.Is(err, errs.Invalid), "%q: %v", bad, err)
	}
	// Nothing is read from a refused URL.
	_, err := gitrepo.ListBranches(context.Background(), gitrepo.Remote{URL: "file:///etc"})
	require.True(t, errs.Is(err, errs.Invalid))
}

// A cancelled caller gets its cancellation back, not a classified git error.
func TestCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := gitrepo.ListBranches(ctx, gitrepo.Remote{URL: "http://" + gittest.Silent(t) + "/x.git"})
	require.ErrorIs(t, err, context.Canceled)
	require.Empty(t, gitrepo.Code(err))
}

func TestCheckoutNeedsAnEmptyDirectory(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "x"), nil, 0o600))
	_, err := gitrepo.Checkout(context.Background(), f.overHTTP(), dir, "main", "")
	require.ErrorContains(t, err, "not empty")
}

// closedAddr returns an address nothing listens on.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}
