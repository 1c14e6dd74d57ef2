package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/kubespace/kubespace/pkg/controller/triggers"
	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/pipeline/webhook"
)

// WebhookSecrets looks up the webhook secret of a pipeline workspace (decrypted). A workspace
// that does not exist, or has no repository, is errs.NotFound.
type WebhookSecrets interface {
	WebhookSecret(ctx context.Context, workspaceID int64) ([]byte, error)
}

// WebhookSecretFunc adapts a function to WebhookSecrets (the workspace service answers a
// struct; the wiring converts).
type WebhookSecretFunc func(ctx context.Context, workspaceID int64) ([]byte, error)

// WebhookSecret implements WebhookSecrets.
func (f WebhookSecretFunc) WebhookSecret(ctx context.Context, workspaceID int64) ([]byte, error) {
	return f(ctx, workspaceID)
}

// PushReceiver starts the runs a verified push calls for. It records the delivery id first,
// so a repeated delivery starts nothing (triggers.PushHandler).
type PushReceiver interface {
	HandlePush(ctx context.Context, workspaceID int64, p *webhook.Push) (triggers.PushResult, error)
}

// WebhookServices receive push webhooks. Nil (or a nil part) answers 503: not wired.
type WebhookServices struct {
	Secrets WebhookSecrets
	Pushes  PushReceiver
	// Now is the clock for Gitee signature timestamps (time.Now).
	Now func() time.Time
}

// WebhookResult is what a delivery did.
type WebhookResult struct {
	Provider   string `json:"provider"`
	DeliveryID string `json:"delivery_id,omitempty"`
	Branch     string `json:"branch,omitempty"`
	Commit     string `json:"commit,omitempty"`
	// Ignored says why a well-formed delivery started nothing (another event, a tag push, a
	// deleted branch).
	Ignored string `json:"ignored,omitempty"`
	// Duplicate: the delivery id was received before; nothing started again.
	Duplicate bool `json:"duplicate"`
	// Matched counts the pipelines whose push trigger and branch rules match.
	Matched int          `json:"matched"`
	Runs    []WebhookRun `json:"runs"`
}

// WebhookRun is a run a delivery started.
type WebhookRun struct {
	PipelineID int64 `json:"pipeline_id"`
	RunID      int64 `json:"run_id"`
}

func (a *API) registerWebhooks() {
	a.register(&Route{Method: http.MethodPost, Path: "/webhooks/:provider/:id", Tag: "pipelines",
		Summary: "Receive a push webhook for a pipeline workspace (github, gitlab, gitee or generic); the provider's signature with the workspace's webhook secret is the authentication",
		// The signature is the authentication: the route is public and answers 401 itself.
		Guard: Public(), SelfAuthenticated: true, MaxBody: webhook.MaxBody,
		Response: WebhookResult{}, Handler: Raw(a.receiveWebhook)})
}

// receiveWebhook verifies and handles one delivery. Every delivery is audited, refused ones
// included (a wrong signature may be someone probing).
func (a *API) receiveWebhook(c *Call) error {
	c.Record("receive", "webhook")
	provider := c.Param("provider")
	if !webhook.Known(provider) {
		return errs.NotFoundf("unknown webhook provider %q: use github, gitlab, gitee or generic", provider).WithCode("webhook_provider")
	}
	wh := a.deps.Webhooks
	if wh == nil || wh.Secrets == nil || wh.Pushes == nil {
		return errs.New(errs.Unavailable, "webhooks are not available on this server").WithCode("webhooks_unavailable")
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer(), c.Request().Body, c.route.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return errs.Invalidf("reading the webhook body: %v", err)
	}
	ws := c.PathID()
	secret, err := wh.Secrets.WebhookSecret(c.Ctx, ws)
	if errs.Is(err, errs.NotFound) {
		// Same answer as a bad signature: an anonymous caller learns nothing about which
		// workspaces exist.
		return errs.Unauthenticatedf("the webhook signature does not verify for pipeline workspace %d", ws).WithCode("webhook_signature")
	}
	if err != nil {
		return fmt.Errorf("webhook secret of pipeline workspace %d: %w", ws, err)
	}
	now := time.Now
	if wh.Now != nil {
		now = wh.Now
	}
	if err := webhook.Verify(provider, c.Request().Header, body, secret, now()); err != nil {
		return err
	}
	res := WebhookResult{Provider: provider, Runs: []WebhookRun{}}
	p, err := webhook.Parse(provider, c.Request().Header, body)
	var ig *webhook.Ignored
	if errors.As(err, &ig) {
		res.Ignored = ig.Reason
		c.Audit(ws, provider+" delivery ignored: "+ig.Reason)
		c.gin.JSON(http.StatusOK, res)
		return nil
	}
	if err != nil {
		return err
	}
	res.DeliveryID, res.Branch, res.Commit = p.DeliveryID, p.Branch, p.Commit
	c.Audit(ws, fmt.Sprintf("%s push to %s at %.12s", provider, p.Branch, p.Commit))
	out, err := wh.Pushes.HandlePush(c.Ctx, ws, p)
	if err != nil {
		// The delivery was forgotten: the provider's retry starts what failed, and only that
		// (the runs that did start hold their claims).
		return err
	}
	res.Duplicate, res.Matched = out.Duplicate, out.Matched
	for pid, rid := range out.Started {
		res.Runs = append(res.Runs, WebhookRun{PipelineID: pid, RunID: rid})
	}
	sortRuns(res.Runs)
	c.gin.JSON(http.StatusOK, res)
	return nil
}

func sortRuns(r []WebhookRun) {
	for i := 1; i < len(r); i++ {
		for j := i; j > 0 && r[j].PipelineID < r[j-1].PipelineID; j-- {
			r[j], r[j-1] = r[j-1], r[j]
		}
	}
}
