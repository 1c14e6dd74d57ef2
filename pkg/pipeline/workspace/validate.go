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
	if err := s.defs.Validate(d); err != nil {
		return err
	}
	f := errs.Fields{}
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

// checkCycles refuses a definition whose pipeline triggers would make runs start each other
// forever (pipeline.CheckChain), across every workspace: chaining crosses workspaces.
func (s *Service) checkCycles(ctx context.Context, d *pipeline.Definition, self int64) error {
	if self == 0 {
		return nil // nothing can name a new pipeline yet
	}
	chains := false
	for _, t := range d.Triggers {
		chains = chains || t.Type == pipeline.TriggerPipeline
	}
	if !chains {
		return nil
	}
	all, err := s.st.Pipelines.All(ctx)
	if err != nil {
		return err
	}
	others := make(map[int64]*pipeline.Definition, len(all))
	for i := range all {
		if all[i].ID == self {
			continue
		}
		var def pipeline.Definition
		if json.Unmarshal([]byte(all[i].Definition), &def) == nil {
			others[all[i].ID] = &def
		}
	}
	return pipeline.CheckChain(self, d, others)
}

// dependents names the pipelines that take one of ids as a source or a trigger, leaving out
// those of workspace skip (0: none; they go away together).
func (s *Service) dependents(ctx context.Context, skip int64, ids ...int64) (string, error) {
	all, err := s.st.Pipelines.All(ctx)
	if err != nil {
		return "", err
	}
	target := map[int64]bool{}
	for _, id := range ids {
		target[id] = true
	}
	var names []string
	for i := range all {
		var def pipeline.Definition
		if target[all[i].ID] || (skip != 0 && all[i].WorkspaceID == skip) || json.Unmarshal([]byte(all[i].Definition), &def) != nil {
			continue
		}
		uses := false
		for _, src := range def.Sources {
			uses = uses || (src.Type == pipeline.SourcePipeline && target[src.PipelineID])
		}
		for _, t := range def.Triggers {
			uses = uses || (t.Type == pipeline.TriggerPipeline && target[t.PipelineID])
		}
		if uses {
			names = append(names, fmt.Sprintf("%q", all[i].Name))
		}
	}
	sort.Strings(names)
	return strings.Join(names, ", "), nil
}
