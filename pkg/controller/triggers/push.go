package triggers

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/pipeline/webhook"
	"github.com/kubespace/kubespace/pkg/store"
)

// PushHandler starts the runs a verified push calls for. The server uses it for webhooks;
// the controller's poller shares its claim (the head state of the branch).
type PushHandler struct {
	stores  Stores
	starter Starter
	log     *slog.Logger
	now     func() time.Time
}

// NewPushHandler returns a PushHandler. log may be nil (slog.Default()).
func NewPushHandler(stores Stores, starter Starter, log *slog.Logger) *PushHandler {
	if log == nil {
		log = slog.Default()
	}
	return &PushHandler{stores: stores, starter: starter, log: log, now: time.Now}
}

// PushResult says what a push did.
type PushResult struct {
	// Duplicate is set when the delivery id was seen before: nothing started.
	Duplicate bool
	// Started are the runs started (pipeline id → run id).
	Started map[int64]int64
	// Matched counts the pipelines whose push trigger and branch rules matched (those already
	// started for this commit are matched but not started again).
	Matched int
}

// HandlePush records the delivery (a repeated delivery id starts nothing) and starts one run
// per pipeline of the workspace that has a push trigger and whose branch rules match. Each
// start is claimed on the branch's head state, so the poller — or another delivery of the same
// commit — does not start it again. A failed start is logged and does not stop the others; the
// error reports the first failure after all were tried, and the delivery is then forgotten and
// the failed claims released, so the provider's retry starts what failed (and only that).
func (h *PushHandler) HandlePush(ctx context.Context, workspaceID int64, p *webhook.Push) (res PushResult, err error) {
	res = PushResult{Started: map[int64]int64{}}
	fresh, err := h.stores.Triggers.RecordDelivery(ctx, &store.WebhookDelivery{
		WorkspaceID: workspaceID, DeliveryID: p.DeliveryID, Provider: p.Provider, ReceivedAt: h.now(),
	})
	if err != nil {
		return res, fmt.Errorf("record webhook delivery: %w", err)
	}
	if !fresh {
		res.Duplicate = true
		return res, nil
	}
	defer func() {
		if err == nil {
			return
		}
		if ferr := h.stores.Triggers.ForgetDelivery(context.WithoutCancel(ctx), workspaceID, p.DeliveryID); ferr != nil {
			h.log.ErrorContext(ctx, "forgetting a failed webhook delivery failed: a retry of it will start nothing", "delivery_id", p.DeliveryID, "error", ferr)
		}
	}()
	all, err := workspacePipelines(ctx, h.stores.Pipelines, workspaceID)
	if err != nil {
		return res, err
	}
	var first error
	for _, pl := range all {
		var d pipeline.Definition
		if err := json.Unmarshal([]byte(pl.Definition), &d); err != nil {
			h.log.WarnContext(ctx, "pipeline definition does not parse", "pipeline_id", pl.ID, "error", err)
			continue
		}
		if !hasPushTrigger(&d) || !d.MatchesBranch(p.Branch) {
			continue
		}
		res.Matched++
		runID, err := h.startOnHead(ctx, pl.ID, p.Branch, p.Commit, StartRequest{
			Trigger: store.TriggerPush, User: p.Pusher, Branch: p.Branch, Commit: p.Commit, Message: p.Message,
		})
		if err != nil {
			h.log.ErrorContext(ctx, "push trigger could not start a run", "pipeline_id", pl.ID, "branch", p.Branch, "error", err)
			if first == nil {
				first = err
			}
			continue
		}
		if runID != 0 {
			res.Started[pl.ID] = runID
		}
	}
	return res, first
}

// startOnHead starts a run for commit on branch unless one was already started for it: it
// moves the branch's head state to commit with a compare-and-set and starts only if it won.
// It returns 0 when the commit was already handled.
func (h *PushHandler) startOnHead(ctx context.Context, pipelineID int64, branch, commit string, req StartRequest) (int64, error) {
	key := headKey(branch)
	cur, err := h.stores.Triggers.State(ctx, pipelineID, key)
	if err != nil {
		return 0, fmt.Errorf("read head of %s: %w", branch, err)
	}
	if cur == commit {
		return 0, nil
	}
	won, err := h.stores.Triggers.SetState(ctx, pipelineID, key, cur, commit)
	if err != nil {
		return 0, fmt.Errorf("claim head of %s: %w", branch, err)
	}
	if !won {
		return 0, nil // another controller or delivery claimed it
	}
	id, err := h.starter.Start(ctx, pipelineID, req)
	if err != nil {
		// Release the claim, so a retry (or the next poll) starts this commit. A row cannot go
		// back to missing ("" matches only a missing row), so "no commit built" is releasedHead.
		back := cur
		if back == "" {
			back = releasedHead
		}
		if _, rerr := h.stores.Triggers.SetState(context.WithoutCancel(ctx), pipelineID, key, commit, back); rerr != nil {
			h.log.ErrorContext(ctx, "releasing a head claim failed", "pipeline_id", pipelineID, "branch", branch, "error", rerr)
		}
		return 0, err
	}
	return id, nil
}

// releasedHead is the head state of a branch whose first claimed commit failed to start: no
// commit, but not a first sighting either (the poller starts the head it sees next).
const releasedHead = "-"

// workspacePipelines lists every pipeline of a workspace, page by page.
func workspacePipelines(ctx context.Context, s store.Pipelines, workspaceID int64) ([]store.Pipeline, error) {
	var out []store.Pipeline
	opts := store.ListOptions{Limit: 500}
	for {
		page, err := s.List(ctx, workspaceID, opts)
		if err != nil {
			return nil, fmt.Errorf("list pipelines of workspace %d: %w", workspaceID, err)
		}
		out = append(out, page.Items...)
		if page.Continue == "" || len(page.Items) == 0 {
			return out, nil
		}
		opts.Continue = page.Continue
	}
}

func hasPushTrigger(d *pipeline.Definition) bool {
	push, _ := d.PushTrigger()
	return push
}
