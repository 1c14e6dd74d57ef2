package triggers

import (
	"context"
	"fmt"
	"strconv"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/store"
)

// chainKey names the state of a pipeline trigger: the id of the last run of the source
// pipeline that started this pipeline.
func chainKey(source int64) string { return "chain:" + strconv.FormatInt(source, 10) }

// ChainRun starts the pipelines chained on run runID if it succeeded. It is idempotent: each
// (source run, pipeline) pair starts at most once, across replicas.
func (c *Controller) ChainRun(ctx context.Context, runID int64) error {
	r, err := c.stores.Runs.Get(ctx, runID)
	if errs.Is(err, errs.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if r.Status != store.StatusOK {
		return nil
	}
	all, defs, err := definitions(ctx, c.stores.Pipelines, c.cfg.Log)
	if err != nil {
		return err
	}
	var first error
	for i := range all {
		if defs[i] == nil || !chainsOn(defs[i], r.PipelineID) {
			continue
		}
		if err := c.chain(ctx, &all[i], r); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// ChainResyncOnce re-examines the latest run of every pipeline that others chain on, covering a
// run nudge that was lost.
func (c *Controller) ChainResyncOnce(ctx context.Context) {
	all, defs, err := definitions(ctx, c.stores.Pipelines, c.cfg.Log)
	if err != nil {
		c.cfg.Log.WarnContext(ctx, "chaining resync: listing pipelines failed", "error", err)
		return
	}
	sources := map[int64][]int{}
	var ids []int64
	for i := range all {
		if defs[i] == nil {
			continue
		}
		for _, t := range defs[i].Triggers {
			if t.Type == pipeline.TriggerPipeline && t.PipelineID > 0 {
				if _, seen := sources[t.PipelineID]; !seen {
					ids = append(ids, t.PipelineID)
				}
				sources[t.PipelineID] = append(sources[t.PipelineID], i)
			}
		}
	}
	if len(ids) == 0 {
		return
	}
	latest, err := c.stores.Runs.Latest(ctx, ids)
	if err != nil {
		c.cfg.Log.WarnContext(ctx, "chaining resync: reading latest runs failed", "error", err)
		return
	}
	for src, idx := range sources {
		r, ok := latest[src]
		if !ok || r.Status != store.StatusOK {
			continue
		}
		for _, i := range idx {
			if err := c.chain(ctx, &all[i], &r); err != nil {
				c.cfg.Log.WarnContext(ctx, "chaining resync failed", "pipeline_id", all[i].ID, "source_run_id", r.ID, "error", err)
			}
		}
	}
}

func chainsOn(d *pipeline.Definition, source int64) bool {
	for _, t := range d.Triggers {
		if t.Type == pipeline.TriggerPipeline && t.PipelineID == source {
			return true
		}
	}
	return false
}

// chain starts target for the successful source run r unless a run of the source at least as
// new already started it. With no state yet, only a run that finished after the target was
// last saved counts: adding a trigger does not replay an old success.
func (c *Controller) chain(ctx context.Context, target *store.Pipeline, r *store.PipelineRun) error {
	if target.ID == r.PipelineID {
		return nil // validation refuses it; never loop even if one slipped in
	}
	key := chainKey(r.PipelineID)
	cur, err := c.stores.Triggers.State(ctx, target.ID, key)
	if err != nil {
		return err
	}
	if cur == "" {
		if r.FinishedAt == nil || r.FinishedAt.Before(target.UpdatedAt) {
			_, err := c.stores.Triggers.SetState(ctx, target.ID, key, "", strconv.FormatInt(r.ID, 10))
			return err
		}
	} else if last, err := strconv.ParseInt(cur, 10, 64); err == nil && last >= r.ID {
		return nil
	}
	claim := strconv.FormatInt(r.ID, 10)
	won, err := c.stores.Triggers.SetState(ctx, target.ID, key, cur, claim)
	if err != nil || !won {
		return err
	}
	id, err := c.starter.Start(ctx, target.ID, StartRequest{Trigger: store.TriggerPipeline, SourceRunID: r.ID})
	if err != nil {
		// Release the claim so the retry (the queue's, or the resync's) starts it. "0" stands
		// for "none yet" once the row exists.
		back := cur
		if back == "" {
			back = "0"
		}
		if _, rerr := c.stores.Triggers.SetState(context.WithoutCancel(ctx), target.ID, key, claim, back); rerr != nil {
			c.cfg.Log.ErrorContext(ctx, "releasing a chain claim failed", "pipeline_id", target.ID, "error", rerr)
		}
		return fmt.Errorf("start chained run of pipeline %d: %w", target.ID, err)
	}
	c.cfg.Log.InfoContext(ctx, "chained run started", "pipeline_id", target.ID, "source_run_id", r.ID, "run_id", id)
	return nil
}
