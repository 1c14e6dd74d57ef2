package triggers

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/store"
)

// cronState is the stored state of a cron trigger: the schedule it was computed for and the
// next tick due. Firing moves Due to the first tick after now — however many ticks were missed
// while no controller ran, one run starts.
type cronState struct {
	Spec string    `json:"spec"`
	Due  time.Time `json:"due"`
}

func cronKey(i int) string { return fmt.Sprintf("cron:%d", i) }

// cronCache remembers due times read from the store, so an idle tick costs no query per
// trigger. A cached due is never later than the stored one (replicas only move it forward),
// so the cache can make a check late by nothing and early only by a store read.
type cronCache struct {
	mu  sync.Mutex
	due map[string]time.Time // "pipeline/key/spec" → due
}

func (c *cronCache) get(k string) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.due[k]
	return t, ok
}

func (c *cronCache) set(k string, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.due == nil {
		c.due = map[string]time.Time{}
	}
	c.due[k] = t
}

// CronOnce checks every cron trigger once and starts the runs that are due.
func (c *Controller) CronOnce(ctx context.Context) {
	all, defs, err := definitions(ctx, c.stores.Pipelines, c.cfg.Log)
	if err != nil {
		c.cfg.Log.WarnContext(ctx, "cron triggers: listing pipelines failed", "error", err)
		return
	}
	now := c.cfg.Now()
	for i, p := range all {
		if defs[i] == nil {
			continue
		}
		for ti, t := range defs[i].Triggers {
			if t.Type != pipeline.TriggerCron {
				continue
			}
			if err := c.cronTrigger(ctx, &p, defs[i], ti, t, now); err != nil {
				c.cfg.Log.WarnContext(ctx, "cron trigger failed", "pipeline_id", p.ID, "trigger", ti, "error", err)
			}
		}
	}
}

func (c *Controller) cronTrigger(ctx context.Context, p *store.Pipeline, d *pipeline.Definition, ti int, t pipeline.Trigger, now time.Time) error {
	sched, err := pipeline.ParseSchedule(t.Schedule, t.TimeZone)
	if err != nil {
		return fmt.Errorf("schedule %q: %w", t.Schedule, err)
	}
	spec := t.Schedule + "|" + t.TimeZone
	key := cronKey(ti)
	cacheKey := fmt.Sprintf("%d/%s/%s", p.ID, key, spec)
	if due, ok := c.cron.get(cacheKey); ok && now.Before(due) {
		return nil
	}
	raw, err := c.stores.Triggers.State(ctx, p.ID, key)
	if err != nil {
		return err
	}
	var st cronState
	if raw != "" {
		_ = json.Unmarshal([]byte(raw), &st) // a bad value is treated as a changed schedule
	}
	next := cronState{Spec: spec, Due: sched.Next(now).UTC()}
	if raw == "" || st.Spec != spec || st.Due.IsZero() {
		// New or edited schedule: start counting from now, fire nothing.
		if _, err := c.stores.Triggers.SetState(ctx, p.ID, key, raw, encode(next)); err != nil {
			return err
		}
		c.cron.set(cacheKey, next.Due)
		return nil
	}
	if now.Before(st.Due) {
		c.cron.set(cacheKey, st.Due)
		return nil
	}
	won, err := c.stores.Triggers.SetState(ctx, p.ID, key, raw, encode(next))
	if err != nil {
		return err
	}
	c.cron.set(cacheKey, next.Due)
	if !won {
		return nil // another controller-manager fired this tick
	}
	req := StartRequest{Trigger: store.TriggerCron}
	if src, ok := d.CodeSource(); ok {
		b, ok, err := c.newestBranch(ctx, p.WorkspaceID, src.Branches)
		if err != nil {
			return fmt.Errorf("cron run of a code pipeline: %w", err)
		}
		if !ok {
			c.cfg.Log.InfoContext(ctx, "cron trigger: no branch matches the pipeline's rules", "pipeline_id", p.ID)
			return nil
		}
		req.Branch, req.Commit = b.Name, b.Commit
	}
	id, err := c.starter.Start(ctx, p.ID, req)
	if err != nil {
		return fmt.Errorf("start run: %w", err)
	}
	c.cfg.Log.InfoContext(ctx, "cron trigger started a run", "pipeline_id", p.ID, "run_id", id, "due", st.Due)
	return nil
}

// newestBranch picks the branch a cron run of a code pipeline builds: among the branches
// matching the rules, the one with the newest commit (then the first by name).
func (c *Controller) newestBranch(ctx context.Context, workspaceID int64, rules []pipeline.BranchRule) (Branch, bool, error) {
	if c.branches == nil {
		return Branch{}, false, fmt.Errorf("no branch lister is wired")
	}
	bs, err := c.branches.Branches(ctx, workspaceID)
	if err != nil {
		return Branch{}, false, err
	}
	var match []Branch
	for _, b := range bs {
		if pipeline.MatchBranch(rules, b.Name) {
			match = append(match, b)
		}
	}
	if len(match) == 0 {
		return Branch{}, false, nil
	}
	sort.Slice(match, func(i, j int) bool {
		if !match[i].Time.Equal(match[j].Time) {
			return match[i].Time.After(match[j].Time)
		}
		return match[i].Name < match[j].Name
	})
	return match[0], true, nil
}

func encode(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
