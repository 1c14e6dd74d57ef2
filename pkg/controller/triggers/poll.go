package triggers

import (
	"context"

	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/store"
)

// PollOnce reads the branch heads of every workspace that has a pipeline with a polling push
// trigger and starts a run per matching pipeline and branch whose head moved. The first poll of
// a branch only records its head (an old commit is no news). A commit a webhook already started
// is not started again: both claim the same head state.
func (c *Controller) PollOnce(ctx context.Context) {
	if c.branches == nil {
		return
	}
	all, defs, err := definitions(ctx, c.stores.Pipelines, c.cfg.Log)
	if err != nil {
		c.cfg.Log.WarnContext(ctx, "polling: listing pipelines failed", "error", err)
		return
	}
	byWorkspace := map[int64][]int{}
	for i, p := range all {
		if defs[i] == nil {
			continue
		}
		if _, poll := defs[i].PushTrigger(); poll {
			byWorkspace[p.WorkspaceID] = append(byWorkspace[p.WorkspaceID], i)
		}
	}
	for ws, idx := range byWorkspace {
		if ctx.Err() != nil {
			return
		}
		branches, err := c.branches.Branches(ctx, ws)
		if err != nil {
			c.cfg.Log.WarnContext(ctx, "polling: listing branches failed", "workspace_id", ws, "error", err)
			continue
		}
		for _, i := range idx {
			c.pollPipeline(ctx, &all[i], defs[i], branches)
		}
	}
}

func (c *Controller) pollPipeline(ctx context.Context, p *store.Pipeline, d *pipeline.Definition, branches []Branch) {
	src, _ := d.CodeSource()
	for _, b := range branches {
		if !pipeline.MatchBranch(src.Branches, b.Name) || b.Commit == "" {
			continue
		}
		key := headKey(b.Name)
		cur, err := c.stores.Triggers.State(ctx, p.ID, key)
		if err != nil {
			c.cfg.Log.WarnContext(ctx, "polling: reading the head failed", "pipeline_id", p.ID, "branch", b.Name, "error", err)
			continue
		}
		if cur == "" {
			if _, err := c.stores.Triggers.SetState(ctx, p.ID, key, "", b.Commit); err != nil {
				c.cfg.Log.WarnContext(ctx, "polling: recording the head failed", "pipeline_id", p.ID, "branch", b.Name, "error", err)
			}
			continue
		}
		id, err := c.push.startOnHead(ctx, p.ID, b.Name, b.Commit, StartRequest{Trigger: store.TriggerPoll, Branch: b.Name, Commit: b.Commit})
		if err != nil {
			c.cfg.Log.ErrorContext(ctx, "polling could not start a run", "pipeline_id", p.ID, "branch", b.Name, "error", err)
			continue
		}
		if id != 0 {
			c.cfg.Log.InfoContext(ctx, "polling started a run", "pipeline_id", p.ID, "branch", b.Name, "commit", b.Commit, "run_id", id)
		}
	}
}
