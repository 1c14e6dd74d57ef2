package gitrepo

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/skeema/knownhosts"
	xknownhosts "golang.org/x/crypto/ssh/knownhosts"

	"github.com/kubespace/kubespace/pkg/errs"
)

// The stable codes of the errors this package returns (all of kind errs.Unprocessable: the
// request was well formed, the repository could not be read with it).
const (
	CodeAuthFailed  = "git_auth_failed"
	CodeNotFound    = "git_not_found"
	CodeHostKey     = "git_host_key"
	CodeTimeout     = "git_timeout"
	CodeTLS         = "git_tls"
	CodeUnreachable = "git_unreachable"
)

// Code returns the stable code of an error from this package ("" for other errors).
func Code(err error) string {
	var e *errs.Error
	if errors.As(err, &e) && strings.HasPrefix(e.Code, "git_") {
		return e.Code
	}
	return ""
}

// chain returns err and every error it wraps, including the causes go-git keeps in
// plumbing.UnexpectedError and PermanentError (which do not implement Unwrap).
func chain(err error) []error {
	var out []error
	queue := []error{err}
	for len(queue) > 0 && len(out) < 64 {
		e := queue[0]
		queue = queue[1:]
		if e == nil {
			continue
		}
		out = append(out, e)
		switch x := e.(type) {
		case *plumbing.UnexpectedError:
			queue = append(queue, x.Err)
		case *plumbing.PermanentError:
			queue = append(queue, x.Err)
		case interface{ Unwrap() []error }:
			queue = append(queue, x.Unwrap()...)
		case interface{ Unwrap() error }:
			queue = append(queue, x.Unwrap())
		}
	}
	return out
}

func has[T error](all []error) bool {
	for _, e := range all {
		if _, ok := e.(T); ok {
			return true
		}
	}
	return false
}

func is(all []error, target error) bool {
	for _, e := range all {
		if e == target {
			return true
		}
	}
	return false
}

// classify turns what go-git, the network, TLS or SSH said into an error with a stable code
// and a message that names what failed.
func (r Remote) classify(what string, err error, timeout time.Duration) error {
	var own *errs.Error
	if errors.As(err, &own) {
		return err // already ours (a branch or commit not found)
	}
	all := chain(err)
	host := hostOf(r.URL)
	text := err.Error()
	lower := strings.ToLower(text)
	mk := func(code, format string, args ...any) error {
		e := errs.Unprocessablef(format, args...).WithCode(code)
		e.Err = fmt.Errorf("%s %s: %w", what, redact(r.URL), err)
		return e
	}
	switch {
	case is(all, context.DeadlineExceeded) || timedOut(all):
		return mk(CodeTimeout, "the git server %s did not answer within %s", host, timeout)
	case hostKeyProblem(all, lower):
		if hostKeyChanged(all) {
			return mk(CodeHostKey, "the SSH host key of %s does not match the pinned key: the server changed its key or someone is in between; check it and update the known hosts", host)
		}
		return mk(CodeHostKey, "the SSH host key of %s is not among the known hosts: pin the server's key (known_hosts lines) or opt out of host key verification", host)
	case tlsProblem(all, lower):
		return mk(CodeTLS, "the TLS certificate of %s cannot be verified (%s): add its CA, or opt out of TLS verification", host, tlsReason(all))
	case is(all, transport.ErrAuthenticationRequired) || is(all, transport.ErrAuthorizationFailed) ||
		is(all, transport.ErrInvalidAuthMethod) || strings.Contains(lower, "unable to authenticate"):
		return mk(CodeAuthFailed, "%s refused the credentials: check the secret's username, password, token or key and its access to the repository", host)
	case is(all, transport.ErrRepositoryNotFound):
		return mk(CodeNotFound, "the repository %s was not found (or the credentials may not see it)", redact(r.URL))
	case has[*net.DNSError](all):
		return mk(CodeUnreachable, "the git server %s cannot be resolved: check the host name", host)
	case has[*net.OpError](all) || strings.Contains(lower, "connection refused") || strings.Contains(lower, "connection reset") ||
		strings.Contains(lower, "eof"):
		return mk(CodeUnreachable, "the git server %s cannot be reached: %s", host, scrub(text, r))
	}
	if status, ok := httpStatus(all); ok {
		return mk(CodeUnreachable, "the git server %s answered HTTP %d: is this a git repository URL?", host, status)
	}
	return mk(CodeUnreachable, "reading %s failed: %s", redact(r.URL), scrub(text, r))
}

func timedOut(all []error) bool {
	for _, e := range all {
		var ne net.Error
		if errors.As(e, &ne) && ne.Timeout() {
			return true
		}
	}
	return false
}

func hostKeyProblem(all []error, lower string) bool {
	for _, e := range all {
		if knownhosts.IsHostKeyChanged(e) || knownhosts.IsHostUnknown(e) {
			return true
		}
	}
	return has[*xknownhosts.KeyError](all) || strings.Contains(lower, "knownhosts:")
}

func hostKeyChanged(all []error) bool {
	for _, e := range all {
		if knownhosts.IsHostKeyChanged(e) {
			return true
		}
	}
	return false
}

func tlsProblem(all []error, lower string) bool {
	return has[*tls.CertificateVerificationError](all) || has[x509.UnknownAuthorityError](all) || has[x509.HostnameError](all) ||
		has[x509.CertificateInvalidError](all) || has[tls.RecordHeaderError](all) || strings.Contains(lower, "x509:") ||
		strings.Contains(lower, "tls:")
}

func tlsReason(all []error) string {
	for _, e := range all {
		switch x := e.(type) {
		case x509.UnknownAuthorityError:
			return "signed by an unknown authority"
		case x509.HostnameError:
			return "issued for another host name: " + x.Error()
		case x509.CertificateInvalidError:
			return x.Error()
		case tls.RecordHeaderError:
			return "the server does not speak TLS on this port"
		}
	}
	return "the handshake failed"
}

func httpStatus(all []error) (int, bool) {
	for _, e := range all {
		if he, ok := e.(*githttp.Err); ok && he.Response != nil {
			return he.Response.StatusCode, true
		}
	}
	return 0, false
}

// hostOf returns the host (and port) of a repository URL for messages.
func hostOf(raw string) string {
	if ep, err := transport.NewEndpoint(raw); err == nil && ep.Host != "" {
		if ep.Port > 0 && ep.Port != 22 && ep.Port != 443 && ep.Port != 80 {
			return fmt.Sprintf("%s:%d", ep.Host, ep.Port)
		}
		return ep.Host
	}
	return "the repository host"
}

// redact drops any password from a URL before it goes into a message.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// scrub removes the remote's secrets from a text that may quote them.
func scrub(text string, r Remote) string {
	for _, s := range []string{r.Password, r.Passphrase} {
		if len(s) >= 4 {
			text = strings.ReplaceAll(text, s, "xxxxx")
		}
	}
	return text
}
