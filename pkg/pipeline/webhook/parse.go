package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/kubespace/kubespace/pkg/errs"
)

// Push is a push to a branch, as every provider reports it.
type Push struct {
	Provider string
	// DeliveryID identifies the delivery (the provider's header; else a hash of the body), so a
	// redelivery starts nothing twice.
	DeliveryID string
	// RepoURLs are the repository's URLs from the payload (clone, SSH, web), for SameRepo.
	RepoURLs []string
	Branch   string
	Commit   string
	Message  string
	Pusher   string
}

// Ignored is returned for a well-formed delivery that starts nothing: another event (ping,
// merge request, tag push) or a deleted branch. The HTTP layer answers 202 with the reason.
type Ignored struct{ Reason string }

func (e *Ignored) Error() string { return "ignored: " + e.Reason }

const zeroCommit = "0000000000000000000000000000000000000000"

var commitID = regexp.MustCompile(`^[0-9a-fA-F]{7,64}$`)

// maxDeliveryID fits the store's column.
const maxDeliveryID = 128

// Parse reads a verified delivery. A push gives a Push; another event or a branch deletion
// gives an *Ignored error; a payload of the wrong shape is an errs Invalid error naming what is
// wrong. Call Verify first: Parse trusts nothing but does not authenticate.
func Parse(provider string, h http.Header, body []byte) (*Push, error) {
	var (
		p   *Push
		err error
	)
	if provider == GitHub && strings.HasPrefix(h.Get("Content-Type"), "application/x-www-form-urlencoded") {
		// GitHub's other content type: the JSON in a "payload" form field (signed as sent).
		form, ferr := url.ParseQuery(string(body))
		if ferr != nil || form.Get("payload") == "" {
			return nil, invalid("a form-encoded GitHub delivery must carry the JSON in its payload field")
		}
		body = []byte(form.Get("payload"))
	}
	switch provider {
	case GitHub:
		p, err = parseGitHub(h, body)
	case GitLab:
		p, err = parseGitLab(h, body)
	case Gitee:
		p, err = parseGitee(h, body)
	case Generic:
		p, err = parseGeneric(h, body)
	default:
		return nil, errs.NotFoundf("unknown webhook provider %q (one of %s)", provider, strings.Join(Providers, ", ")).WithCode("webhook_provider")
	}
	if err != nil {
		return nil, err
	}
	p.Provider = provider
	if p.DeliveryID == "" || len(p.DeliveryID) > maxDeliveryID {
		sum := sha256.Sum256(body)
		p.DeliveryID = "sha256:" + hex.EncodeToString(sum[:])
	}
	p.Message = truncate(p.Message, 4096)
	p.Pusher = truncate(p.Pusher, 64)
	return p, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cutting may split a character: drop the broken bytes.
	return strings.ToValidUTF8(s[:n], "")
}

func decode(body []byte, v any) error {
	t := bytes.TrimSpace(body)
	if len(t) == 0 || t[0] != '{' {
		return errs.Invalidf("the webhook body must be a JSON object").WithCode("webhook_payload")
	}
	if err := json.Unmarshal(t, v); err != nil {
		return errs.Invalidf("the webhook body does not have the shape of a push event: %v", err).WithCode("webhook_payload")
	}
	return nil
}

func invalid(format string, args ...any) error {
	return errs.Invalidf(format, args...).WithCode("webhook_payload")
}

// branchOf turns a ref into a branch name; tags and other refs are ignored.
func branchOf(ref string) (string, error) {
	if ref == "" {
		return "", invalid("the push has no ref")
	}
	b, ok := strings.CutPrefix(ref, "refs/heads/")
	if !ok {
		if strings.HasPrefix(ref, "refs/tags/") {
			return "", &Ignored{Reason: "a tag push starts no pipeline"}
		}
		return "", &Ignored{Reason: "ref " + ref + " is not a branch"}
	}
	if b == "" || len(b) > 255 {
		return "", invalid("ref %q does not name a branch", truncate(ref, 300))
	}
	return b, nil
}

func checkCommit(c string) error {
	if !commitID.MatchString(c) {
		return invalid("the commit id %q is not a hex commit id", truncate(c, 80))
	}
	return nil
}

// push builds a Push from the fields every provider has, refusing deletions and bad values.
func push(ref, after string, deleted bool) (*Push, error) {
	branch, err := branchOf(ref)
	if err != nil {
		return nil, err
	}
	if deleted || after == zeroCommit {
		return nil, &Ignored{Reason: "branch " + branch + " was deleted"}
	}
	if err := checkCommit(after); err != nil {
		return nil, err
	}
	return &Push{Branch: branch, Commit: strings.ToLower(after)}, nil
}

func nonEmpty(ss ...string) []string {
	out := []string{}
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

type githubPush struct {
	Ref        string `json:"ref"`
	After      string `json:"after"`
	Deleted    bool   `json:"deleted"`
	HeadCommit *struct {
		ID      string `json:"id"`
		Message string `json:"message"`
	} `json:"head_commit"`
	Pusher struct {
		Name string `json:"name"`
	} `json:"pusher"`
	Repository struct {
		CloneURL string `json:"clone_url"`
		SSHURL   string `json:"ssh_url"`
		HTMLURL  string `json:"html_url"`
	} `json:"repository"`
}

// pushEvent accepts a delivery whose event header names a push; a missing header is bad input,
// any other event is ignored (a ping, a tag, an issue comment), never an error to the provider.
func pushEvent(h http.Header, header string, pushes ...string) error {
	ev := h.Get(header)
	switch {
	case slices.Contains(pushes, ev):
		return nil
	case ev == "":
		return invalid("%s header is missing", header)
	default:
		return &Ignored{Reason: "event " + truncate(ev, 64) + " is not a push"}
	}
}

func parseGitHub(h http.Header, body []byte) (*Push, error) {
	if err := pushEvent(h, "X-GitHub-Event", "push"); err != nil {
		return nil, err
	}
	var in githubPush
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, err := push(in.Ref, in.After, in.Deleted)
	if err != nil {
		return nil, err
	}
	if in.HeadCommit != nil {
		p.Message = in.HeadCommit.Message
	}
	p.Pusher = in.Pusher.Name
	p.RepoURLs = nonEmpty(in.Repository.CloneURL, in.Repository.SSHURL, in.Repository.HTMLURL)
	p.DeliveryID = h.Get("X-GitHub-Delivery")
	return p, nil
}

type gitlabPush struct {
	ObjectKind   string `json:"object_kind"`
	Ref          string `json:"ref"`
	After        string `json:"after"`
	UserUsername string `json:"user_username"`
	UserName     string `json:"user_name"`
	Project      struct {
		HTTPURL string `json:"git_http_url"`
		SSHURL  string `json:"git_ssh_url"`
		WebURL  string `json:"web_url"`
	} `json:"project"`
	Commits []struct {
		ID      string `json:"id"`
		Message string `json:"message"`
	} `json:"commits"`
}

func parseGitLab(h http.Header, body []byte) (*Push, error) {
	if err := pushEvent(h, "X-Gitlab-Event", "Push Hook", "System Hook"); err != nil {
		return nil, err
	}
	var in gitlabPush
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.ObjectKind != "push" {
		return nil, &Ignored{Reason: "event " + truncate(in.ObjectKind, 64) + " is not a push"}
	}
	p, err := push(in.Ref, in.After, false)
	if err != nil {
		return nil, err
	}
	for _, c := range in.Commits {
		if strings.EqualFold(c.ID, p.Commit) {
			p.Message = c.Message
		}
	}
	p.Pusher = in.UserUsername
	if p.Pusher == "" {
		p.Pusher = in.UserName
	}
	p.RepoURLs = nonEmpty(in.Project.HTTPURL, in.Project.SSHURL, in.Project.WebURL)
	p.DeliveryID = h.Get("X-Gitlab-Event-UUID")
	if p.DeliveryID == "" {
		p.DeliveryID = h.Get("Idempotency-Key")
	}
	return p, nil
}

type giteePush struct {
	HookName   string `json:"hook_name"`
	Ref        string `json:"ref"`
	After      string `json:"after"`
	Deleted    bool   `json:"deleted"`
	HeadCommit *struct {
		ID      string `json:"id"`
		Message string `json:"message"`
	} `json:"head_commit"`
	Pusher struct {
		Name     string `json:"name"`
		Username string `json:"username"`
	} `json:"pusher"`
	Repository struct {
		CloneURL string `json:"clone_url"`
		SSHURL   string `json:"ssh_url"`
		GitHTTP  string `json:"git_http_url"`
		HTMLURL  string `json:"html_url"`
	} `json:"repository"`
}

func parseGitee(h http.Header, body []byte) (*Push, error) {
	if err := pushEvent(h, "X-Gitee-Event", "Push Hook"); err != nil {
		return nil, err
	}
	var in giteePush
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, err := push(in.Ref, in.After, in.Deleted)
	if err != nil {
		return nil, err
	}
	if in.HeadCommit != nil {
		p.Message = in.HeadCommit.Message
	}
	p.Pusher = in.Pusher.Username
	if p.Pusher == "" {
		p.Pusher = in.Pusher.Name
	}
	p.RepoURLs = nonEmpty(in.Repository.CloneURL, in.Repository.GitHTTP, in.Repository.SSHURL, in.Repository.HTMLURL)
	// Gitee sends no delivery id: Parse falls back to the hash of the body (which holds the
	// delivery's timestamp), so the same delivery sent twice is recognised.
	return p, nil
}

// GenericPayload is the body of the generic provider. Branch may also be a full ref.
type GenericPayload struct {
	DeliveryID string `json:"delivery_id,omitempty"`
	RepoURL    string `json:"repo_url,omitempty"`
	Branch     string `json:"branch"`
	Commit     string `json:"commit"`
	Message    string `json:"message,omitempty"`
	Pusher     string `json:"pusher,omitempty"`
}

func parseGeneric(h http.Header, body []byte) (*Push, error) {
	var in GenericPayload
	t := bytes.TrimSpace(body)
	if len(t) == 0 || t[0] != '{' {
		return nil, invalid("the webhook body must be a JSON object {branch, commit, ...}")
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return nil, invalid("the webhook body is not {branch, commit, message?, pusher?, repo_url?, delivery_id?}: %v", err)
	}
	f := errs.Fields{}
	if in.Branch == "" {
		f.Add("branch", "is required")
	}
	if in.Commit == "" {
		f.Add("commit", "is required")
	}
	if len(f) > 0 {
		return nil, &errs.Error{Kind: errs.Invalid, Code: "webhook_payload", Message: "the webhook body is incomplete", Fields: f}
	}
	ref := in.Branch
	if !strings.HasPrefix(ref, "refs/") {
		ref = "refs/heads/" + ref
	}
	p, err := push(ref, in.Commit, false)
	if err != nil {
		return nil, err
	}
	p.Message, p.Pusher = in.Message, in.Pusher
	p.RepoURLs = nonEmpty(in.RepoURL)
	p.DeliveryID = h.Get(GenericDeliveryHeader)
	if p.DeliveryID == "" {
		p.DeliveryID = in.DeliveryID
	}
	return p, nil
}
