package gitrepo

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"

	"github.com/kubespace/kubespace/pkg/errs"
)

// options are what one operation runs with.
type options struct {
	auth    transport.AuthMethod
	timeout time.Duration
}

// run validates the remote, builds its authentication and runs fn under the remote's timeout,
// translating what fails into the package's error codes.
//
// fn runs in its own goroutine and run returns at the deadline even if fn has not: go-git v5
// bounds the SSH handshake by no context (its dial timeout covers the TCP connect only), so a
// server that accepts and then stays silent would otherwise hold the caller forever. HTTP
// requests and SSH reads follow ctx and end with it; a stuck handshake ends when the server
// closes the connection (OpenSSH: LoginGraceTime).
func (r Remote) run(ctx context.Context, what string, fn func(ctx context.Context, o *options) error) error {
	if err := ValidateURL(r.URL); err != nil {
		return err
	}
	o := &options{timeout: r.Timeout}
	if o.timeout <= 0 {
		o.timeout = DefaultTimeout
	}
	var err error
	if o.auth, err = r.authMethod(o.timeout); err != nil {
		return err
	}
	// The caller's own deadline may come first: the message then names what was left of it.
	bound := o.timeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < bound {
		bound = max(time.Until(dl).Round(time.Millisecond), 0)
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- fn(ctx, o) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", what, ctx.Err())
	}
	return r.classify(what, err, bound)
}

// authMethod builds go-git's authentication for the remote's transport.
func (r Remote) authMethod(timeout time.Duration) (transport.AuthMethod, error) {
	if !IsSSH(r.URL) {
		if r.PrivateKey != "" {
			return nil, errs.Unprocessablef("an SSH key authenticates ssh:// and user@host:path URLs only: use a password or token secret for %s", redact(r.URL)).
				WithCode(CodeAuthFailed)
		}
		if r.Password == "" {
			return nil, nil // anonymous
		}
		user := r.Username
		if user == "" {
			user = "oauth2"
		}
		return &githttp.BasicAuth{Username: user, Password: r.Password}, nil
	}
	ep, err := transport.NewEndpoint(r.URL)
	if err != nil {
		return nil, invalidURL("is not a valid SSH URL")
	}
	// The URL's user (git@github.com:...) is what the server expects; a secret's username is
	// for URLs that name none.
	user := ep.User
	if user == "" {
		user = r.Username
	}
	if user == "" {
		user = "git"
	}
	port := ep.Port
	if port <= 0 {
		port = 22
	}
	hostPort := net.JoinHostPort(ep.Host, strconv.Itoa(port))
	helper, err := r.hostKeys(hostPort)
	if err != nil {
		return nil, err
	}
	switch {
	case r.PrivateKey != "":
		keys, err := gitssh.NewPublicKeys(user, []byte(r.PrivateKey), r.Passphrase)
		if err != nil {
			return nil, errs.Unprocessablef("the SSH private key cannot be read (%s): store the key in PEM or OpenSSH format with its passphrase", keyProblem(err)).
				WithCode(CodeAuthFailed)
		}
		keys.HostKeyCallbackHelper = helper
		return timedKeys{PublicKeys: keys, timeout: timeout}, nil
	case r.Password != "":
		return timedPassword{Password: &gitssh.Password{User: user, Password: r.Password, HostKeyCallbackHelper: helper}, timeout: timeout}, nil
	}
	return nil, errs.Unprocessablef("reading %s over SSH needs an SSH key secret", redact(r.URL)).WithCode(CodeAuthFailed)
}

func keyProblem(err error) string {
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		return "it is encrypted and no passphrase was given"
	}
	if errors.Is(err, x509.IncorrectPasswordError) {
		return "wrong passphrase"
	}
	return "not a private key"
}

// hostKeys returns the host key verification of the remote.
func (r Remote) hostKeys(hostPort string) (gitssh.HostKeyCallbackHelper, error) {
	if r.InsecureIgnoreHostKey {
		return gitssh.HostKeyCallbackHelper{HostKeyCallback: ssh.InsecureIgnoreHostKey()}, nil
	}
	var files []string
	if r.KnownHosts != "" {
		f, err := os.CreateTemp("", "kubespace-known-hosts-*")
		if err != nil {
			return gitssh.HostKeyCallbackHelper{}, fmt.Errorf("known hosts: %w", err)
		}
		defer func() { _ = os.Remove(f.Name()) }()
		_, werr := f.WriteString(r.KnownHosts + "\n")
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return gitssh.HostKeyCallbackHelper{}, fmt.Errorf("known hosts: %w", werr)
		}
		files = []string{f.Name()}
	} else {
		for _, p := range machineKnownHosts() {
			if _, err := os.Stat(p); err == nil {
				files = append(files, p)
			}
		}
		if len(files) == 0 {
			return gitssh.HostKeyCallbackHelper{}, errs.Unprocessablef("no known host key for %s: pin the server's SSH host key (known_hosts lines) or opt out of host key verification", hostPort).
				WithCode(CodeHostKey)
		}
	}
	// The database reads the files now, so the temporary one can go.
	db, err := knownhosts.NewDB(files...)
	if err != nil {
		return gitssh.HostKeyCallbackHelper{}, errs.Unprocessablef("the known hosts cannot be read: %s", err).WithCode(CodeHostKey)
	}
	// Offer the server only the key types pinned for it, so it cannot answer with another
	// type that would look unknown.
	return gitssh.HostKeyCallbackHelper{HostKeyCallback: db.HostKeyCallback(), HostKeyAlgorithms: db.HostKeyAlgorithms(hostPort)}, nil
}

func machineKnownHosts() []string {
	var out []string
	if home, err := os.UserHomeDir(); err == nil {
		out = append(out, filepath.Join(home, ".ssh", "known_hosts"))
	}
	return append(out, "/etc/ssh/ssh_known_hosts")
}

// timedKeys and timedPassword bound the SSH dial (go-git reads ClientConfig.Timeout).
type timedKeys struct {
	*gitssh.PublicKeys
	timeout time.Duration
}

func (k timedKeys) ClientConfig() (*ssh.ClientConfig, error) {
	c, err := k.PublicKeys.ClientConfig()
	if c != nil {
		c.Timeout = k.timeout
	}
	return c, err
}

type timedPassword struct {
	*gitssh.Password
	timeout time.Duration
}

func (p timedPassword) ClientConfig() (*ssh.ClientConfig, error) {
	c, err := p.Password.ClientConfig()
	if c != nil {
		c.Timeout = p.timeout
	}
	return c, err
}
