// Package triggers starts pipeline runs by themselves: on a cron schedule, on a push (webhook,
// or polling the repository as a fallback) and when another pipeline's run succeeds
// (chaining). Every decision to start is claimed with a compare-and-set on the trigger's state
// row (store.Triggers), so two controller-managers — or a webhook and a poll — start a run once.
//
// The package depends on small interfaces the integrator wires: Starter (the run service) and
// Branches (the pipeline workspace service).
package triggers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/store"
)

// StartRequest is what a trigger asks the run service for.
type StartRequest struct {
	// Trigger is store.TriggerCron, TriggerPush, TriggerPoll or TriggerPipeline.
	Trigger string
	// User is who caused the run: the pusher of a push ("" for cron, poll and chaining).
	User string
	// Branch and Commit are the code to build (code pipelines; empty for custom pipelines,
	// whose run service picks the latest successful runs of the sources).
	Branch, Commit, Message string
	// SourceRunID is the successful run that chained this one (TriggerPipeline).
	SourceRunID int64
}

// Starter starts a run of a pipeline and returns its id. It is the run service; it audits the
// start and nudges the run controller.
type Starter interface {
	Start(ctx context.Context, pipelineID int64, req StartRequest) (int64, error)
}

// Branch is a branch head of a repository.
type Branch struct {
	Name   string
	Commit string
	// Time is the commit time (used to pick the newest branch for a cron run; may be zero).
	Time time.Time
}

// Branches lists the branch heads of a code pipeline workspace's repository (over git).
type Branches interface {
	Branches(ctx context.Context, workspaceID int64) ([]Branch, error)
}

// Stores are the store parts the triggers use.
type Stores struct {
	Pipelines store.Pipelines
	Runs      store.PipelineRuns
	Triggers  store.Triggers
}

// definitions returns the parsed definitions of every pipeline; a definition that does not
// parse (written by an older version, say) is logged and skipped, never fatal.
func definitions(ctx context.Context, s store.Pipelines, log *slog.Logger) ([]store.Pipeline, []*pipeline.Definition, error) {
	all, err := s.All(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("list pipelines: %w", err)
	}
	defs := make([]*pipeline.Definition, len(all))
	for i, p := range all {
		var d pipeline.Definition
		if err := json.Unmarshal([]byte(p.Definition), &d); err != nil {
			log.WarnContext(ctx, "pipeline definition does not parse", "pipeline_id", p.ID, "error", err)
			continue
		}
		defs[i] = &d
	}
	return all, defs, nil
}

// headKey names the state holding the last commit a run was started for on branch, shared by
// pushes and polls so a commit seen by both starts one run. Long branch names are hashed to
// fit the key column.
func headKey(branch string) string {
	k := "head:" + branch
	if len(k) <= 160 {
		return k
	}
	sum := sha256.Sum256([]byte(branch))
	return "head:sha256:" + hex.EncodeToString(sum[:])
}
