// Package webhook verifies and reads the push webhooks of git providers: GitHub
// (X-Hub-Signature-256), GitLab (X-Gitlab-Token), Gitee (password or timestamp signature in
// X-Gitee-Token) and a generic JSON payload signed like GitHub's. It is pure: the caller reads
// the body (bounded), looks the secret up and decides what a push starts.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kubespace/kubespace/pkg/errs"
)

// Providers.
const (
	GitHub  = "github"
	GitLab  = "gitlab"
	Gitee   = "gitee"
	Generic = "generic"
)

// Providers lists the providers in the order of the documentation.
var Providers = []string{GitHub, GitLab, Gitee, Generic}

// Known reports whether provider is one of Providers.
func Known(provider string) bool {
	for _, p := range Providers {
		if p == provider {
			return true
		}
	}
	return false
}

// Headers of the generic provider.
const (
	// GenericSignatureHeader carries "sha256=" + hex(HMAC-SHA256(secret, body)), as GitHub's.
	GenericSignatureHeader = "X-KubeSpace-Signature-256"
	// GenericDeliveryHeader optionally carries the delivery id (else the payload's delivery_id).
	GenericDeliveryHeader = "X-KubeSpace-Delivery"
)

// MaxBody bounds a webhook body. GitHub caps payloads at 25 MB but a push rarely exceeds a few
// hundred kilobytes; one with thousands of commits is cut by the provider anyway.
const MaxBody = 5 << 20

// giteeSkew is how far a Gitee signature timestamp may be from now (Gitee's own rule).
const giteeSkew = time.Hour

// ErrNoSecret: the pipeline workspace has no webhook secret, so nothing can be verified.
var ErrNoSecret = errors.New("no webhook secret")

// Verify checks that a delivery was signed with secret. Every comparison is constant-time. A
// missing or wrong signature is an errs.Unauthenticated error saying which header is wrong
// (never what was expected). now bounds Gitee signature timestamps.
func Verify(provider string, h http.Header, body, secret []byte, now time.Time) error {
	if len(secret) == 0 {
		return errs.Wrap(errs.Unauthenticated, ErrNoSecret, "the pipeline workspace has no webhook secret").WithCode("webhook_signature")
	}
	switch provider {
	case GitHub:
		return verifyHMAC(h.Get("X-Hub-Signature-256"), "X-Hub-Signature-256", body, secret)
	case Generic:
		return verifyHMAC(h.Get(GenericSignatureHeader), GenericSignatureHeader, body, secret)
	case GitLab:
		tok := h.Get("X-Gitlab-Token")
		if tok == "" {
			return unauth("X-Gitlab-Token header is missing")
		}
		if !equal([]byte(tok), secret) {
			return unauth("X-Gitlab-Token does not match the webhook secret")
		}
		return nil
	case Gitee:
		return verifyGitee(h, secret, now)
	}
	return errs.NotFoundf("unknown webhook provider %q (one of %s)", provider, strings.Join(Providers, ", ")).WithCode("webhook_provider")
}

func unauth(msg string) error {
	return errs.New(errs.Unauthenticated, "%s", msg).WithCode("webhook_signature")
}

// equal compares in constant time (for equal lengths; the length itself is not secret).
func equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

func verifyHMAC(sig, header string, body, secret []byte) error {
	if sig == "" {
		return unauth(header + " header is missing")
	}
	hexSig, ok := strings.CutPrefix(sig, "sha256=")
	if !ok {
		return unauth(header + ` must be "sha256=" followed by the hex HMAC of the body`)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return unauth(header + " is not hex")
	}
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	if !hmac.Equal(got, m.Sum(nil)) {
		return unauth(header + " does not match the body signed with the webhook secret")
	}
	return nil
}

// verifyGitee accepts Gitee's two modes: the password itself in X-Gitee-Token, or the
// signature base64(HMAC-SHA256(secret, timestamp + "\n" + secret)) with X-Gitee-Timestamp in
// milliseconds. Gitee's signature covers the timestamp, not the body: the timestamp window
// and the delivery record are what limit a replay.
func verifyGitee(h http.Header, secret []byte, now time.Time) error {
	tok := h.Get("X-Gitee-Token")
	if tok == "" {
		return unauth("X-Gitee-Token header is missing")
	}
	if equal([]byte(tok), secret) {
		return nil
	}
	ts := h.Get("X-Gitee-Timestamp")
	if ts == "" {
		return unauth("X-Gitee-Token does not match the webhook secret")
	}
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return unauth("X-Gitee-Timestamp is not a time in milliseconds")
	}
	if d := now.Sub(time.UnixMilli(ms)); d > giteeSkew || d < -giteeSkew {
		return unauth("X-Gitee-Timestamp is more than an hour away from the server's time")
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts + "\n"))
	m.Write(secret)
	want := base64.StdEncoding.EncodeToString(m.Sum(nil))
	ok := equal([]byte(tok), []byte(want))
	// Gitee's algorithm may URL-encode the signature (%2B for +); a raw '+' must stay a '+'.
	if u, err := url.QueryUnescape(tok); err == nil && equal([]byte(u), []byte(want)) {
		ok = true
	}
	if !ok {
		return unauth("X-Gitee-Token does not match the signature of X-Gitee-Timestamp with the webhook secret")
	}
	return nil
}
