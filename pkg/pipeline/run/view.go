package run

import (
	"context"
	"encoding/json"
	"time"

	"github.com/kubespace/kubespace/pkg/store"
)

// RunView is a run as the API shows it (API.md, "A run").
type RunView struct {
	ID          int64          `json:"id"`
	PipelineID  int64          `json:"pipeline_id"`
	WorkspaceID int64          `json:"workspace_id"`
	BuildNumber int64          `json:"build_number"`
	Status      string         `json:"status"`
	Trigger     string         `json:"trigger"`
	TriggerUser string         `json:"trigger_user"`
	Reason      string         `json:"reason,omitempty"`
	Env         Env            `json:"env"`
	Params      Env            `json:"params"`
	Sources     []SourceRecord `json:"sources"`
	CreatedAt   time.Time      `json:"created_at"`
	StartedAt   *time.Time     `json:"started_at"`
	FinishedAt  *time.Time     `json:"finished_at"`
	// Stages are absent from lists.
	Stages []StageView `json:"stages,omitempty"`
}

// StageView is a stage of a run.
type StageView struct {
	ID           int64      `json:"id"`
	Name         string     `json:"name"`
	TriggerMode  string     `json:"trigger_mode"`
	Status       string     `json:"status"`
	CustomParams Env        `json:"custom_params"`
	Outputs      Env        `json:"outputs"`
	ExecutedBy   string     `json:"executed_by,omitempty"`
	StartedAt    *time.Time `json:"started_at"`
	FinishedAt   *time.Time `json:"finished_at"`
	Jobs         []JobView  `json:"jobs"`
}

// JobView is a job of a stage.
type JobView struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	PluginKey  string `json:"plugin_key"`
	Status     string `json:"status"`
	SpaceletID int64  `json:"spacelet_id"`
	Outputs    Env    `json:"outputs"`
	// Message says how the job ended; Reason why a waiting job waits.
	Message    string     `json:"message,omitempty"`
	Reason     string     `json:"reason,omitempty"`
	ExitCode   int        `json:"exit_code"`
	Attempt    int        `json:"attempt"`
	Retries    int        `json:"retries"`
	StartedAt  *time.Time `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
}

func summaryOf(r *store.PipelineRun) RunView {
	var src []SourceRecord
	if r.Source != "" {
		_ = json.Unmarshal([]byte(r.Source), &src)
	}
	if src == nil {
		src = []SourceRecord{}
	}
	return RunView{ID: r.ID, PipelineID: r.PipelineID, WorkspaceID: r.WorkspaceID, BuildNumber: r.BuildNumber,
		Status: r.Status, Trigger: r.Trigger, TriggerUser: r.TriggerUser, Reason: r.Reason, Env: decodeEnv(r.Env),
		Params: decodeEnv(r.Params), Sources: src, CreatedAt: r.CreatedAt, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt}
}

func viewOf(d *store.RunDetail) *RunView {
	v := summaryOf(&d.Run)
	v.Stages = make([]StageView, 0, len(d.Stages))
	for i, st := range d.Stages {
		sv := StageView{ID: st.ID, Name: st.Name, TriggerMode: st.TriggerMode, Status: st.Status,
			CustomParams: decodeEnv(st.CustomParams), Outputs: decodeEnv(st.Outputs), ExecutedBy: st.ExecutedBy,
			StartedAt: st.StartedAt, FinishedAt: st.FinishedAt, Jobs: []JobView{}}
		if i < len(d.Jobs) {
			for _, j := range d.Jobs[i] {
				sv.Jobs = append(sv.Jobs, JobView{ID: j.ID, Name: j.Name, PluginKey: j.PluginKey, Status: j.Status,
					SpaceletID: j.SpaceletID, Outputs: decodeEnv(j.Outputs), Message: j.Message, Reason: j.Reason,
					ExitCode: j.ExitCode, Attempt: j.Attempt, Retries: j.Retries, StartedAt: j.StartedAt, FinishedAt: j.FinishedAt})
			}
		}
		v.Stages = append(v.Stages, sv)
	}
	return &v
}

// Get returns a run with its stages and jobs.
func (s *Service) Get(ctx context.Context, id int64) (*RunView, error) {
	d, err := s.d.Store.PipelineRuns.Detail(ctx, id)
	if err != nil {
		return nil, err
	}
	return viewOf(d), nil
}

// List returns a pipeline's runs, newest first (without stages).
func (s *Service) List(ctx context.Context, pipelineID int64, opts store.ListOptions) (store.Page[RunView], error) {
	if _, err := s.d.Store.Pipelines.Get(ctx, pipelineID); err != nil {
		return store.Page[RunView]{}, err
	}
	p, err := s.d.Store.PipelineRuns.List(ctx, store.RunFilter{PipelineID: pipelineID}, opts)
	if err != nil {
		return store.Page[RunView]{}, err
	}
	out := store.Page[RunView]{Items: make([]RunView, 0, len(p.Items)), Total: p.Total, Continue: p.Continue}
	for i := range p.Items {
		out.Items = append(out.Items, summaryOf(&p.Items[i]))
	}
	return out, nil
}

// WorkspaceOfRun returns the pipeline workspace a run belongs to (for permission checks).
func (s *Service) WorkspaceOfRun(ctx context.Context, id int64) (int64, error) {
	r, err := s.d.Store.PipelineRuns.Get(ctx, id)
	if err != nil {
		return 0, err
	}
	return r.WorkspaceID, nil
}

// WorkspaceOfPipeline returns the pipeline workspace a pipeline belongs to.
func (s *Service) WorkspaceOfPipeline(ctx context.Context, id int64) (int64, error) {
	p, err := s.d.Store.Pipelines.Get(ctx, id)
	if err != nil {
		return 0, err
	}
	return p.WorkspaceID, nil
}
