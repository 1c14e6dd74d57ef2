package workspace

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/store"
)

// PipelineView is a pipeline as the API shows it: its definition (name, description, sources,
// triggers, stages) with its ids, times and the newest run.
type PipelineView struct {
	ID          int64 `json:"id"`
	WorkspaceID int64 `json:"workspace_id"`
	pipeline.Definition
	CreatedBy int64     `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// LastRun is the newest run (nil before the first; filled in lists).
	LastRun *RunSummary `json:"last_run"`
}

// RunSummary is what a pipeline list shows of a run.
type RunSummary struct {
	ID          int64      `json:"id"`
	BuildNumber int64      `json:"build_number"`
	Status      string     `json:"status"`
	Trigger     string     `json:"trigger"`
	TriggerUser string     `json:"trigger_user"`
	StartedAt   *time.Time `json:"started_at"`
	FinishedAt  *time.Time `json:"finished_at"`
	CreatedAt   time.Time  `json:"created_at"`
}

// activeStatuses are the run statuses that still hold jobs.
var activeStatuses = []string{store.StatusWait, store.StatusDoing, store.StatusPause, store.StatusCancel}

// Normalize makes every list of a definition non-nil and every job's params an object, so
// the definition reads the same in JSON whichever way it was made (an API list is [], never
// null).
func Normalize(d *pipeline.Definition) {
	if d.Sources == nil {
		d.Sources = []pipeline.Source{}
	}
	if d.Triggers == nil {
		d.Triggers = []pipeline.Trigger{}
	}
	if d.Stages == nil {
		d.Stages = []pipeline.Stage{}
	}
	for i := range d.Stages {
		if d.Stages[i].Jobs == nil {
			d.Stages[i].Jobs = []pipeline.Job{}
		}
		for j := range d.Stages[i].Jobs {
			if p := d.Stages[i].Jobs[j].Params; len(p) == 0 || string(p) == "null" {
				d.Stages[i].Jobs[j].Params = json.RawMessage("{}")
			}
		}
	}
}

func pipelineView(p *store.Pipeline) (*PipelineView, error) {
	v := &PipelineView{ID: p.ID, WorkspaceID: p.WorkspaceID, CreatedBy: p.CreatedBy, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
	if p.Definition != "" {
		if err := json.Unmarshal([]byte(p.Definition), &v.Definition); err != nil {
			return nil, errs.Wrap(errs.Internal, err, "pipeline %d has an unreadable definition", p.ID)
		}
	}
	v.Name, v.Description = p.Name, p.Description
	Normalize(&v.Definition)
	return v, nil
}

func summary(r *store.PipelineRun) *RunSummary {
	return &RunSummary{ID: r.ID, BuildNumber: r.BuildNumber, Status: r.Status, Trigger: r.Trigger, TriggerUser: r.TriggerUser,
		StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, CreatedAt: r.CreatedAt}
}

// PipelineWorkspace returns the workspace a pipeline belongs to (the scope of its routes).
func (s *Service) PipelineWorkspace(ctx context.Context, pipelineID int64) (int64, error) {
	p, err := s.st.Pipelines.Get(ctx, pipelineID)
	if err != nil {
		return 0, err
	}
	return p.WorkspaceID, nil
}

// GetPipeline returns a pipeline with its newest run.
func (s *Service) GetPipeline(ctx context.Context, id int64) (*PipelineView, error) {
	p, err := s.st.Pipelines.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	v, err := pipelineView(p)
	if err != nil {
		return nil, err
	}
	latest, err := s.st.PipelineRuns.Latest(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	if r, ok := latest[id]; ok {
		v.LastRun = summary(&r)
	}
	return v, nil
}

// ListPipelines returns a workspace's pipelines, each with its newest run.
func (s *Service) ListPipelines(ctx context.Context, workspaceID int64, opts store.ListOptions) (store.Page[PipelineView], error) {
	page, err := s.st.Pipelines.List(ctx, workspaceID, opts)
	if err != nil {
		return store.Page[PipelineView]{}, err
	}
	out := store.Page[PipelineView]{Items: make([]PipelineView, 0, len(page.Items)), Total: page.Total, Continue: page.Continue}
	ids := make([]int64, 0, len(page.Items))
	for i := range page.Items {
		ids = append(ids, page.Items[i].ID)
	}
	latest, err := s.st.PipelineRuns.Latest(ctx, ids)
	if err != nil {
		return store.Page[PipelineView]{}, err
	}
	for i := range page.Items {
		v, err := pipelineView(&page.Items[i])
		if err != nil {
			return store.Page[PipelineView]{}, err
		}
		if r, ok := latest[v.ID]; ok {
			v.LastRun = summary(&r)
		}
		out.Items = append(out.Items, *v)
	}
	return out, nil
}

// CreatePipeline adds a pipeline to a workspace.
func (s *Service) CreatePipeline(ctx context.Context, p *access.Principal, workspaceID int64, d pipeline.Definition) (*PipelineView, error) {
	w, err := s.st.PipelineWorkspaces.Get(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	if err := s.validate(ctx, p, w, &d, 0); err != nil {
		return nil, err
	}
	var uid int64
	if p != nil && p.User != nil {
		uid = p.User.ID
	}
	row, err := s.savePipeline(ctx, w, d, uid)
	if err != nil {
		return nil, err
	}
	return pipelineView(row)
}

// createPipeline stores a definition made by the service itself (the default pipelines).
func (s *Service) createPipeline(ctx context.Context, w *store.PipelineWorkspace, d pipeline.Definition, uid int64) error {
	if err := s.defs.Validate(&d); err != nil {
		return err
	}
	_, err := s.savePipeline(ctx, w, d, uid)
	return err
}

func (s *Service) savePipeline(ctx context.Context, w *store.PipelineWorkspace, d pipeline.Definition, uid int64) (*store.Pipeline, error) {
	Normalize(&d)
	data, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encode definition: %w", err)
	}
	row := &store.Pipeline{WorkspaceID: w.ID, Name: d.Name, Description: d.Description, Definition: string(data), CreatedBy: uid}
	if err := s.st.Pipelines.Create(ctx, row); err != nil {
		return nil, nameConflict(err, d.Name, w.Name)
	}
	return row, nil
}

func nameConflict(err error, name, workspace string) error {
	if errs.Is(err, errs.Conflict) {
		return errs.Conflictf("pipeline workspace %q already has a pipeline named %q", workspace, name).WithCode("pipeline_exists")
	}
	return err
}

// UpdatePipeline replaces a pipeline's definition. Runs already started keep the definition
// they copied when they started.
func (s *Service) UpdatePipeline(ctx context.Context, p *access.Principal, id int64, d pipeline.Definition) (*PipelineView, error) {
	row, err := s.st.Pipelines.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	w, err := s.st.PipelineWorkspaces.Get(ctx, row.WorkspaceID)
	if err != nil {
		return nil, err
	}
	if err := s.validate(ctx, p, w, &d, id); err != nil {
		return nil, err
	}
	Normalize(&d)
	data, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encode definition: %w", err)
	}
	row.Name, row.Description, row.Definition = d.Name, d.Description, string(data)
	if err := s.st.Pipelines.Update(ctx, row); err != nil {
		return nil, nameConflict(err, d.Name, w.Name)
	}
	return s.GetPipeline(ctx, id)
}

// DeletePipeline removes a pipeline with its runs and logs; it is refused while runs are
// active (cancel them first), and while other pipelines take it as a source or trigger.
func (s *Service) DeletePipeline(ctx context.Context, id int64) (*PipelineView, error) {
	var v *PipelineView
	err := s.st.Tx.WithTx(ctx, func(ctx context.Context) error {
		row, err := s.st.Pipelines.Get(ctx, id)
		if err != nil {
			return err
		}
		if v, err = pipelineView(row); err != nil {
			return err
		}
		users, err := s.dependents(ctx, 0, id)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return errs.Conflictf("pipeline %q is a source or trigger of %s: change those first", row.Name, users).WithCode("pipeline_in_use")
		}
		return s.deletePipeline(ctx, id)
	})
	return v, err
}

func (s *Service) deletePipeline(ctx context.Context, id int64) error {
	active, err := s.st.PipelineRuns.List(ctx, store.RunFilter{PipelineID: id, Statuses: activeStatuses}, store.ListOptions{Limit: 1})
	if err != nil {
		return err
	}
	if active.Total > 0 {
		return errs.Conflictf("pipeline %d has %d active runs: cancel them first", id, active.Total).WithCode("pipeline_running")
	}
	if err := s.st.PipelineRuns.DeleteByPipeline(ctx, id); err != nil {
		return err
	}
	if s.st.Triggers != nil {
		if err := s.st.Triggers.DeleteStates(ctx, id); err != nil {
			return err
		}
	}
	return s.st.Pipelines.Delete(ctx, id)
}

// Export renders a pipeline's definition as YAML; it returns the pipeline's name too.
func (s *Service) Export(ctx context.Context, id int64) ([]byte, string, error) {
	row, err := s.st.Pipelines.Get(ctx, id)
	if err != nil {
		return nil, "", err
	}
	v, err := pipelineView(row)
	if err != nil {
		return nil, "", err
	}
	data, err := pipeline.ExportYAML(&v.Definition)
	if err != nil {
		return nil, "", err
	}
	return data, row.Name, nil
}

// Import creates a pipeline in a workspace from an exported YAML document.
func (s *Service) Import(ctx context.Context, p *access.Principal, workspaceID int64, data []byte) (*PipelineView, error) {
	if _, err := s.st.PipelineWorkspaces.Get(ctx, workspaceID); err != nil {
		return nil, err
	}
	d, err := s.defs.Import(data)
	if err != nil {
		return nil, err
	}
	return s.CreatePipeline(ctx, p, workspaceID, *d)
}
