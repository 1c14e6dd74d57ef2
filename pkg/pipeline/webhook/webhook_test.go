package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/pipeline/webhook"
)

var secret = []byte("s3cret")

func sign(body []byte, key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func giteeSign(ts string, key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(ts + "\n" + string(key)))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestVerify(t *testing.T) {
	body := []byte(`{"ref":"refs/heads/main"}`)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	ts := strconv.FormatInt(now.Add(-time.Minute).UnixMilli(), 10)
	old := strconv.FormatInt(now.Add(-2*time.Hour).UnixMilli(), 10)
	cases := []struct {
		name     string
		provider string
		h        http.Header
		key      []byte
		ok       bool
		phrase   string
	}{
		{"github good", "github", hdr("X-Hub-Signature-256", sign(body, secret)), secret, true, ""},
		{"github missing", "github", hdr(), secret, false, "X-Hub-Signature-256 header is missing"},
		{"github wrong key", "github", hdr("X-Hub-Signature-256", sign(body, []byte("other"))), secret, false, "does not match"},
		{"github sha1", "github", hdr("X-Hub-Signature-256", "sha1=abcd"), secret, false, `"sha256="`},
		{"github not hex", "github", hdr("X-Hub-Signature-256", "sha256=zz"), secret, false, "not hex"},
		{"generic good", "generic", hdr(webhook.GenericSignatureHeader, sign(body, secret)), secret, true, ""},
		{"generic github header", "generic", hdr("X-Hub-Signature-256", sign(body, secret)), secret, false, "missing"},
		{"gitlab good", "gitlab", hdr("X-Gitlab-Token", "s3cret"), secret, true, ""},
		{"gitlab wrong", "gitlab", hdr("X-Gitlab-Token", "s3cre"), secret, false, "does not match"},
		{"gitlab missing", "gitlab", hdr(), secret, false, "missing"},
		{"gitee password", "gitee", hdr("X-Gitee-Token", "s3cret"), secret, true, ""},
		{"gitee signature", "gitee", hdr("X-Gitee-Token", giteeSign(ts, secret), "X-Gitee-Timestamp", ts), secret, true, ""},
		{"gitee url-encoded signature", "gitee", hdr("X-Gitee-Token", url.QueryEscape(giteeSign(ts, secret)), "X-Gitee-Timestamp", ts), secret, true, ""},
		{"gitee stale", "gitee", hdr("X-Gitee-Token", giteeSign(old, secret), "X-Gitee-Timestamp", old), secret, false, "an hour"},
		{"gitee wrong key", "gitee", hdr("X-Gitee-Token", giteeSign(ts, []byte("x")), "X-Gitee-Timestamp", ts), secret, false, "does not match"},
		{"gitee bad ts", "gitee", hdr("X-Gitee-Token", "abc", "X-Gitee-Timestamp", "yesterday"), secret, false, "milliseconds"},
		{"no secret", "github", hdr("X-Hub-Signature-256", sign(body, nil)), nil, false, "no webhook secret"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := webhook.Verify(c.provider, c.h, body, c.key, now)
			if c.ok {
				require.NoError(t, err)
				return
			}
			require.True(t, errs.Is(err, errs.Unauthenticated), "%v", err)
			require.Contains(t, err.Error(), c.phrase)
		})
	}
	require.True(t, errs.Is(webhook.Verify("bitbucket", hdr(), body, secret, now), errs.NotFound))
	// A tampered body fails the HMAC.
	require.Error(t, webhook.Verify("github", hdr("X-Hub-Signature-256", sign(body, secret)), append(body, ' '), secret, now))
}

const githubPush = `{"ref":"refs/heads/feature/x","after":"0123456789abcdef0123456789abcdef01234567","deleted":false,
 "head_commit":{"id":"0123456789abcdef0123456789abcdef01234567","message":"add x"},
 "pusher":{"name":"alice"},"repository":{"clone_url":"https://github.com/o/r.git","ssh_url":"git@github.com:o/r.git","html_url":"https://github.com/o/r"}}`

const gitlabPush = `{"object_kind":"push","ref":"refs/heads/main","after":"89abcdef0123456789abcdef0123456789abcdef","user_username":"bob","user_name":"Bob",
 "project":{"git_http_url":"https://gitlab.example/g/r.git","git_ssh_url":"git@gitlab.example:g/r.git"},
 "commits":[{"id":"1111111111111111111111111111111111111111","message":"old"},{"id":"89abcdef0123456789abcdef0123456789abcdef","message":"new\n"}]}`

const giteePush = `{"hook_name":"push_hooks","ref":"refs/heads/dev","after":"1cdcd819599cbb4099289dbbec762452f006cb40","deleted":false,
 "head_commit":{"id":"1cdcd819599cbb4099289dbbec762452f006cb40","message":"Update README.md"},
 "pusher":{"name":"Li","username":"li"},"repository":{"clone_url":"https://gitee.com/li/r.git","ssh_url":"git@gitee.com:li/r.git"}}`

func TestParse(t *testing.T) {
	p, err := webhook.Parse("github", hdr("X-GitHub-Event", "push", "X-GitHub-Delivery", "d-1"), []byte(githubPush))
	require.NoError(t, err)
	require.Equal(t, &webhook.Push{Provider: "github", DeliveryID: "d-1", Branch: "feature/x", Commit: "0123456789abcdef0123456789abcdef01234567",
		Message: "add x", Pusher: "alice", RepoURLs: []string{"https://github.com/o/r.git", "git@github.com:o/r.git", "https://github.com/o/r"}}, p)

	p, err = webhook.Parse("gitlab", hdr("X-Gitlab-Event", "Push Hook", "X-Gitlab-Event-UUID", "u-1"), []byte(gitlabPush))
	require.NoError(t, err)
	require.Equal(t, "main", p.Branch)
	require.Equal(t, "new\n", p.Message)
	require.Equal(t, "bob", p.Pusher)
	require.Equal(t, "u-1", p.DeliveryID)

	p, err = webhook.Parse("gitee", hdr("X-Gitee-Event", "Push Hook"), []byte(giteePush))
	require.NoError(t, err)
	require.Equal(t, "dev", p.Branch)
	require.Equal(t, "li", p.Pusher)
	require.Regexp(t, `^sha256:[0-9a-f]{64}$`, p.DeliveryID, "no delivery header: the body hash")
	p2, _ := webhook.Parse("gitee", hdr("X-Gitee-Event", "Push Hook"), []byte(giteePush))
	require.Equal(t, p.DeliveryID, p2.DeliveryID)

	p, err = webhook.Parse("generic", hdr(webhook.GenericDeliveryHeader, "g-1"), []byte(`{"branch":"main","commit":"ABCDEF1","message":"m","pusher":"ci"}`))
	require.NoError(t, err)
	require.Equal(t, &webhook.Push{Provider: "generic", DeliveryID: "g-1", Branch: "main", Commit: "abcdef1", Message: "m", Pusher: "ci", RepoURLs: []string{}}, p)
	p, err = webhook.Parse("generic", hdr(), []byte(`{"branch":"refs/heads/x","commit":"abcdef1","delivery_id":"body-id"}`))
	require.NoError(t, err)
	require.Equal(t, "x", p.Branch)
	require.Equal(t, "body-id", p.DeliveryID)
}

func TestParseRefusesAndIgnores(t *testing.T) {
	ignored := []struct {
		name, provider string
		h              http.Header
		body           string
	}{
		{"github ping", "github", hdr("X-GitHub-Event", "ping"), `{}`},
		{"github tag", "github", hdr("X-GitHub-Event", "push"), `{"ref":"refs/tags/v1","after":"0123456789abcdef0123456789abcdef01234567"}`},
		{"github delete", "github", hdr("X-GitHub-Event", "push"), `{"ref":"refs/heads/x","after":"0000000000000000000000000000000000000000","deleted":true}`},
		{"gitlab merge request", "gitlab", hdr("X-Gitlab-Event", "Merge Request Hook"), `{}`},
		{"gitlab delete", "gitlab", hdr("X-Gitlab-Event", "Push Hook"), `{"object_kind":"push","ref":"refs/heads/x","after":"0000000000000000000000000000000000000000"}`},
		{"gitee note", "gitee", hdr("X-Gitee-Event", "Note Hook"), `{}`},
	}
	for _, c := range ignored {
		t.Run(c.name, func(t *testing.T) {
			_, err := webhook.Parse(c.provider, c.h, []byte(c.body))
			var ig *webhook.Ignored
			require.ErrorAs(t, err, &ig)
		})
	}
	invalid := []struct {
		name, provider string
		h              http.Header
		body, phrase   string
	}{
		{"github no event", "github", hdr(), `{}`, "X-GitHub-Event"},
		{"github array", "github", hdr("X-GitHub-Event", "push"), `[]`, "JSON object"},
		{"github wrong type", "github", hdr("X-GitHub-Event", "push"), `{"ref":1}`, "shape of a push"},
		{"github no ref", "github", hdr("X-GitHub-Event", "push"), `{"after":"0123456"}`, "no ref"},
		{"github bad commit", "github", hdr("X-GitHub-Event", "push"), `{"ref":"refs/heads/a","after":"xyz; rm -rf"}`, "not a hex commit"},
		{"gitlab no event", "gitlab", hdr(), `{}`, "X-Gitlab-Event"},
		{"generic unknown field", "generic", hdr(), `{"branch":"a","commit":"abcdef1","extra":1}`, "unknown field"},
		{"generic no branch", "generic", hdr(), `{"commit":"abcdef1"}`, "branch is required"},
		{"generic no commit", "generic", hdr(), `{"branch":"a"}`, "commit is required"},
		{"generic not json", "generic", hdr(), `branch=a`, "JSON object"},
	}
	for _, c := range invalid {
		t.Run(c.name, func(t *testing.T) {
			_, err := webhook.Parse(c.provider, c.h, []byte(c.body))
			require.True(t, errs.Is(err, errs.Invalid), "%v", err)
			require.Contains(t, err.Error(), c.phrase)
		})
	}
}

func TestSameRepo(t *testing.T) {
	same := [][2]string{
		{"https://github.com/o/r.git", "git@github.com:o/r.git"},
		{"https://GitHub.com/o/r", "ssh://git@github.com:22/o/r.git"},
		{"https://user:tok@gitlab.example/g/sub/r.git/", "gitlab.example:g/sub/r"},
	}
	for _, s := range same {
		require.True(t, webhook.SameRepo(s[0], s[1]), "%v", s)
	}
	differ := [][2]string{
		{"https://github.com/o/r.git", "https://github.com/o/r2.git"},
		{"https://github.com/o/r.git", "https://gitlab.com/o/r.git"},
		{"", ""},
		{"not a url", "not a url"},
	}
	for _, d := range differ {
		require.False(t, webhook.SameRepo(d[0], d[1]), "%v", d)
	}
}

func TestParseGitHubFormEncoded(t *testing.T) {
	h := hdr("X-GitHub-Event", "push", "X-GitHub-Delivery", "f-1", "Content-Type", "application/x-www-form-urlencoded")
	p, err := webhook.Parse("github", h, []byte("payload="+url.QueryEscape(githubPush)))
	require.NoError(t, err)
	require.Equal(t, "feature/x", p.Branch)
	_, err = webhook.Parse("github", h, []byte("other=1"))
	require.True(t, errs.Is(err, errs.Invalid), "%v", err)
}
