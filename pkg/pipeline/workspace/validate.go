package workspace

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/store"
)

// validate checks a definition on its own (Definitions.Validate), then in its workspace:
// source kinds that fit the workspace, referenced pipelines that exist and that the caller can
// see, and no cycle of pipeline triggers. self is the pipeline being updated (0: a new one).
func (s *Service) validate(ctx context.Context, p *access.Principal, w *store.PipelineWorkspace, d *pipeline.Definition, self int64) error {
	d.Name = strings.TrimSpace(d.Name)
	if err := s.defs.Validate(d); err != nil {
		return err
	}
	f := errs.Fields{}
	checkName(f, "name", d.Name)
	for i, src := range d.Sources {
		field := fmt.Sprintf("sources[%d]", i)
		switch src.Type {
		case pipeline.SourceCode:
			if w.Type != store.WorkspaceCode {
				f.Add(field+".type", "code sources need a code workspace (this one is custom)")
			}
		case pipeline.SourcePipeline:
			if w.Type != store.WorkspaceCustom {
				f.Add(field+".type", "pipeline sources belong in custom workspaces")
			}
			s.checkRef(ctx, p, f, field+".pipeline_id", src.PipelineID, self)
		}
	}
	for i, t := range d.Triggers {
		field := fmt.Sprintf("triggers[%d]", i)
		switch t.Type {
		case pipeline.TriggerPush:
			if w.Type != store.WorkspaceCode {
				f.Add(field+".type", "push triggers need a code workspace (this one is custom)")
			}
		case pipeline.TriggerPipeline:
			s.checkRef(ctx, p, f, field+".pipeline_id", t.PipelineID, self)
		}
	}
	if err := f.Err(); err != nil {
		return err
	}
	return s.checkCycles(ctx, d, self)
}

// checkRef checks that a referenced pipeline exists, is not the pipeline itself and can be seen
// by the caller (a pipeline the caller cannot see reads as missing).
func (s *Service) checkRef(ctx context.Context, p *access.Principal, f errs.Fields, field string, id, self int64) {
	if id <= 0 {
		f.Add(field, "is required: the id of another pipeline")
		return
	}
	if id == self {
		f.Add(field, "must name another pipeline, not this one")
		return
	}
	ref, err := s.st.Pipelines.Get(ctx, id)
	if err == nil {
		err = s.authz.Require(ctx, p, access.Scope{Kind: store.ScopePipelineWorkspace, ID: ref.WorkspaceID}, access.Viewer)
	}
	if err != nil {
		f.Add(field, "names pipeline %d, which does not exist or you cannot see", id)
	}
}

// triggerEdges returns the pipelines whose successful runs start p (its pipeline triggers).
func triggerEdges(d *pipeline.Definition) []int64 {
	var out []int64
	for _, t := range d.Triggers {
		if t.Type == pipeline.TriggerPipeline && t.PipelineID > 0 {
			out = append(out, t.PipelineID)
		}
	}
	return out
}

// checkCycles refuses a definition whose pipeline triggers would make runs start each other
// forever: a path from the pipeline back to itself through "starts after" edges.
func (s *Service) checkCycles(ctx context.Context, d *pipeline.Definition, self int64) error {
	mine := triggerEdges(d)
	if len(mine) == 0 {
		return nil
	}
	all, err := s.st.Pipelines.All(ctx)
	if err != nil {
		return err
	}
	// after[x] are the pipelines x starts after; the node being saved is self (or -1 when new,
	// which nothing can name yet, so no cycle runs through it).
	const newNode = -1
	node := self
	if node == 0 {
		node = newNode
	}
	after := map[int64][]int64{node: mine}
	names := map[int64]string{node: d.Name}
	for i := range all {
		pl := &all[i]
		names[pl.ID] = pl.Name
		if pl.ID == self {
			continue
		}
		var def pipeline.Definition
		if json.Unmarshal([]byte(pl.Definition), &def) == nil {
			after[pl.ID] = triggerEdges(&def)
		}
	}
	if path := findCycle(after, node); path != nil {
		parts := make([]string, len(path))
		for i, id := range path {
			parts[i] = fmt.Sprintf("%q", names[id])
		}
		return errs.Field("triggers", "would make a cycle of pipeline triggers: %s", strings.Join(parts, " starts after "))
	}
	return nil
}

// findCycle returns a path start → ... → start through edges, or nil.
func findCycle(edges map[int64][]int64, start int64) []int64 {
	seen := map[int64]bool{}
	var path []int64
	var walk func(n int64) bool
	walk = func(n int64) bool {
		path = append(path, n)
		for _, next := range edges[n] {
			if next == start {
				path = append(path, start)
				return true
			}
			if !seen[next] {
				seen[next] = true
				if walk(next) {
					return true
				}
			}
		}
		path = path[:len(path)-1]
		return false
	}
	if walk(start) {
		return path
	}
	return nil
}

// dependents names the pipelines that take id as a source or a trigger.
func (s *Service) dependents(ctx context.Context, id int64) (string, error) {
	all, err := s.st.Pipelines.All(ctx)
	if err != nil {
		return "", err
	}
	var names []string
	for i := range all {
		var def pipeline.Definition
		if all[i].ID == id || json.Unmarshal([]byte(all[i].Definition), &def) != nil {
			continue
		}
		uses := false
		for _, src := range def.Sources {
			uses = uses || (src.Type == pipeline.SourcePipeline && src.PipelineID == id)
		}
		for _, t := range def.Triggers {
			uses = uses || (t.Type == pipeline.TriggerPipeline && t.PipelineID == id)
		}
		if uses {
			names = append(names, fmt.Sprintf("%q", all[i].Name))
		}
	}
	sort.Strings(names)
	return strings.Join(names, ", "), nil
}
