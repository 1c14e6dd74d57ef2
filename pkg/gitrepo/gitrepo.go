// Package gitrepo reads git repositories over the git protocol with go-git: one path for every
// provider (GitHub, GitLab, Gitee, any git server), over HTTPS with a password or token and over
// SSH with a private key. TLS certificates and SSH host keys are verified unless the caller opts
// out explicitly. Failures are errs.Unprocessable errors with stable codes (git_auth_failed,
// git_not_found, git_host_key, git_timeout, git_tls, git_unreachable) whose messages say what
// failed, so an API can answer them as they are.
//
// The server (workspace checks, branch lists, run variables) and the spacelet (the checkout
// before a job) both use it: it imports no server package.
package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/kubespace/kubespace/pkg/errs"
)

// DefaultTimeout bounds an operation whose Remote sets no Timeout.
const DefaultTimeout = 30 * time.Second

// Remote is a repository and what it takes to read it.
type Remote struct {
	// URL is https://, http://, ssh:// or the scp-like user@host:path form.
	URL string
	// Username with Password (or a token as the password) authenticate over HTTP(S); a token
	// without a username is sent with the username "oauth2" (GitLab's convention; GitHub and
	// Gitee accept any). PrivateKey (PEM or OpenSSH format, Passphrase when encrypted)
	// authenticates over SSH, as the URL's user, else Username, else "git".
	Username   string
	Password   string
	PrivateKey string
	Passphrase string
	// KnownHosts pins SSH host keys (known_hosts lines); empty means the machine's known hosts
	// (~/.ssh/known_hosts, /etc/ssh/ssh_known_hosts). InsecureIgnoreHostKey accepts any key.
	KnownHosts            string
	InsecureIgnoreHostKey bool
	// CABundle adds PEM certificates to the system roots for HTTPS; InsecureSkipTLSVerify
	// turns verification off.
	CABundle              []byte
	InsecureSkipTLSVerify bool
	// Timeout bounds each operation (0: DefaultTimeout).
	Timeout time.Duration
}

// Branch is a branch and the commit it points at.
type Branch struct {
	Name   string `json:"name"`
	Commit string `json:"commit"`
}

// Commit describes one commit.
type Commit struct {
	Hash        string    `json:"hash"`
	Message     string    `json:"message"`
	Author      string    `json:"author"`
	AuthorEmail string    `json:"author_email"`
	When        time.Time `json:"when"`
}

// scpLike is user@host:path (no scheme).
var scpLike = regexp.MustCompile(`^(?:[A-Za-z0-9._~-]+@)?[A-Za-z0-9.-]+:[^/\\]`)

// hashPattern is a full commit hash (an abbreviation cannot be fetched by itself).
var hashPattern = regexp.MustCompile(`^[0-9a-f]{40}$`)

// IsSSH reports whether a repository URL is read over SSH.
func IsSSH(rawURL string) bool {
	return strings.HasPrefix(rawURL, "ssh://") || (!strings.Contains(rawURL, "://") && scpLike.MatchString(rawURL))
}

// ValidateURL checks that a repository URL is one this package reads: http(s), ssh or the
// scp-like form. Local paths, file:// and other transports are refused: a server must not be
// made to read its own disk.
func ValidateURL(rawURL string) error {
	s := strings.TrimSpace(rawURL)
	if s != rawURL || s == "" {
		return invalidURL("must be a repository URL without surrounding spaces")
	}
	if strings.ContainsAny(s, " \t\r\n\x00") {
		return invalidURL("must not contain spaces or control characters")
	}
	if !strings.Contains(s, "://") {
		if scpLike.MatchString(s) && !strings.HasPrefix(s, "-") {
			return nil
		}
		return invalidURL("must be an https://, http://, ssh:// or user@host:path URL")
	}
	u, err := url.Parse(s)
	if err != nil {
		return invalidURL("is not a valid URL")
	}
	switch u.Scheme {
	case "https", "http", "ssh":
	default:
		return invalidURL(fmt.Sprintf("scheme %q is not supported: use https, http or ssh", u.Scheme))
	}
	if u.Hostname() == "" || strings.HasPrefix(u.Hostname(), "-") {
		return invalidURL("must name a host")
	}
	if u.Scheme != "ssh" && u.User != nil {
		return invalidURL("must not carry credentials: use a secret")
	}
	return nil
}

func invalidURL(why string) error {
	return errs.Invalidf("repository URL %s", why).WithCode("git_invalid_url")
}

// ListBranches returns the repository's branches sorted by name (an empty repository has
// none).
func ListBranches(ctx context.Context, r Remote) ([]Branch, error) {
	var out []Branch
	err := r.run(ctx, "list branches", func(ctx context.Context, o *options) error {
		rem := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{r.URL}})
		refs, err := rem.ListContext(ctx, &git.ListOptions{Auth: o.auth, InsecureSkipTLS: r.InsecureSkipTLSVerify,
			CABundle: r.CABundle, Timeout: int(o.timeout / time.Second)})
		if errors.Is(err, transport.ErrEmptyRemoteRepository) {
			return nil
		}
		if err != nil {
			return err
		}
		out = make([]Branch, 0, len(refs))
		for _, ref := range refs {
			if ref.Name().IsBranch() && ref.Type() == plumbing.HashReference {
				out = append(out, Branch{Name: ref.Name().Short(), Commit: ref.Hash().String()})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []Branch{}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// ResolveCommit describes a commit: the tip of branch when commit is empty, otherwise commit
// (a full hash; branch, if given, is where to look for it when the server sends no commit by
// hash).
func ResolveCommit(ctx context.Context, r Remote, branch, commit string) (*Commit, error) {
	if commit != "" && !hashPattern.MatchString(commit) {
		return nil, errs.Field("commit", "must be a full 40-character commit hash in lower case")
	}
	if branch == "" && commit == "" {
		return nil, errs.Field("branch", "is required when no commit is given")
	}
	var c *Commit
	err := r.run(ctx, "resolve commit", func(ctx context.Context, o *options) error {
		repo, err := git.Init(memory.NewStorage(), nil)
		if err != nil {
			return err
		}
		hash, err := fetchCommit(ctx, repo, r, o, branch, commit)
		if err != nil {
			return err
		}
		obj, err := repo.CommitObject(hash)
		if err != nil {
			return notFound(branch, commit)
		}
		c = describe(obj)
		return nil
	})
	return c, err
}

func describe(c *object.Commit) *Commit {
	return &Commit{Hash: c.Hash.String(), Message: strings.TrimRight(c.Message, "\n"), Author: c.Author.Name,
		AuthorEmail: c.Author.Email, When: c.Author.When.UTC()}
}

func notFound(branch, commit string) error {
	switch {
	case commit != "" && branch != "":
		return errs.Unprocessablef("commit %s was not found on branch %s", commit, branch).WithCode(CodeNotFound)
	case commit != "":
		return errs.Unprocessablef("commit %s was not found in the repository", commit).WithCode(CodeNotFound)
	}
	return errs.Unprocessablef("branch %s was not found in the repository", branch).WithCode(CodeNotFound)
}

// fetchCommit fetches into repo what it takes to read the commit (the branch tip when commit
// is empty) and returns its hash. A commit is fetched by itself where the server allows it
// (GitHub, GitLab, git with uploadpack.allowReachableSHA1InWant), else with the history of its
// branch (of every branch when none is named).
func fetchCommit(ctx context.Context, repo *git.Repository, r Remote, o *options, branch, commit string) (plumbing.Hash, error) {
	const local = "refs/kubespace/fetched"
	// A remote that is not saved: the checkout's configuration names no remote.
	rem := git.NewRemote(repo.Storer, &config.RemoteConfig{Name: "origin", URLs: []string{r.URL}})
	fetch := func(spec string, depth int) error {
		err := rem.FetchContext(ctx, &git.FetchOptions{RefSpecs: []config.RefSpec{config.RefSpec(spec)},
			Depth: depth, Auth: o.auth, InsecureSkipTLS: r.InsecureSkipTLSVerify, CABundle: r.CABundle, Tags: git.NoTags, Force: true})
		if errors.Is(err, git.NoErrAlreadyUpToDate) {
			return nil
		}
		return err
	}
	if commit == "" {
		err := fetch("+refs/heads/"+branch+":"+local, 1)
		if isMissingRef(err) {
			return plumbing.ZeroHash, notFound(branch, "")
		}
		if err != nil {
			return plumbing.ZeroHash, err
		}
		ref, err := repo.Reference(local, true)
		if err != nil {
			return plumbing.ZeroHash, notFound(branch, "")
		}
		return ref.Hash(), nil
	}
	want := plumbing.NewHash(commit)
	err := fetch(commit+":"+local, 1)
	switch {
	case err == nil:
		return want, nil
	case isMissingCommit(err):
		return plumbing.ZeroHash, notFound(branch, commit)
	case ctx.Err() != nil:
		return plumbing.ZeroHash, err
	}
	// Not supported, or refused in words this client does not recognise (a server that does not
	// have the commit may just hang up, depending on transport and timing): the second way
	// decides. A server that cannot be reached or refuses the credentials fails it the same way.
	spec := "+refs/heads/*:refs/kubespace/heads/*"
	if branch != "" {
		spec = "+refs/heads/" + branch + ":" + local
	}
	if err := fetch(spec, 0); err != nil {
		if isMissingRef(err) {
			return plumbing.ZeroHash, notFound(branch, "")
		}
		return plumbing.ZeroHash, err
	}
	if _, err := repo.CommitObject(want); err != nil {
		return plumbing.ZeroHash, notFound(branch, commit)
	}
	return want, nil
}

// isMissingCommit reports a server's refusal to send a commit it does not have.
func isMissingCommit(err error) bool {
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "not our ref") || strings.Contains(s, "object not found") || strings.Contains(s, "unadvertised object")
}

// isMissingRef reports a fetch of a reference the remote does not have.
func isMissingRef(err error) bool {
	if err == nil {
		return false
	}
	var noMatch git.NoMatchingRefSpecError
	return errors.As(err, &noMatch) || strings.Contains(err.Error(), "couldn't find remote ref") ||
		errors.Is(err, transport.ErrEmptyRemoteRepository)
}
