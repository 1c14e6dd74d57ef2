package webhook_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/pipeline/webhook"
)

// fuzzParse checks a parser never panics and answers a Push with a branch, a commit and a
// bounded delivery id, an *Ignored, or an Invalid error.
func fuzzParse(f *testing.F, provider string, h http.Header, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := webhook.Parse(provider, h, body)
		var ig *webhook.Ignored
		switch {
		case errors.As(err, &ig):
		case err != nil:
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("unclassified error %v", err)
			}
		case p.Branch == "" || p.Commit == "" || p.DeliveryID == "" || len(p.DeliveryID) > 128 || len(p.Message) > 4096:
			t.Fatalf("incomplete push %+v", p)
		}
	})
}

func FuzzParseGitHub(f *testing.F) {
	fuzzParse(f, "github", hdr("X-GitHub-Event", "push"), githubPush, `{"ref":"refs/tags/x"}`, `{}`)
}

func FuzzParseGitLab(f *testing.F) {
	fuzzParse(f, "gitlab", hdr("X-Gitlab-Event", "Push Hook"), gitlabPush, `{"object_kind":"tag_push"}`)
}

func FuzzParseGitee(f *testing.F) {
	fuzzParse(f, "gitee", hdr("X-Gitee-Event", "Push Hook"), giteePush)
}

func FuzzParseGeneric(f *testing.F) {
	fuzzParse(f, "generic", hdr(), `{"branch":"main","commit":"abcdef1"}`, `{"branch":"refs/tags/v1","commit":"abcdef1"}`)
}
