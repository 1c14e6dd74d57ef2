package database

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/kubespace/kubespace/pkg/store"
)

// pipelineWorkspaceStore implements store.PipelineWorkspaces.
type pipelineWorkspaceStore struct{ d *DB }

var _ store.PipelineWorkspaces = (*pipelineWorkspaceStore)(nil)

func pwsRef(id int64) string { return fmt.Sprintf("pipeline workspace %d", id) }

func pwsNameRef(name string) string { return fmt.Sprintf("pipeline workspace %q", name) }

func pipelineWorkspaceListSpec() *listSpec[store.PipelineWorkspace] {
	return &listSpec[store.PipelineWorkspace]{
		entity:   "pipeline workspaces",
		idColumn: "pipeline_workspaces.id",
		id:       func(w *store.PipelineWorkspace) int64 { return w.ID },
		sorts: map[string]sortKey[store.PipelineWorkspace]{
			"id":         {column: "pipeline_workspaces.id", kind: kindInt, value: func(w *store.PipelineWorkspace) any { return w.ID }},
			"name":       {column: "pipeline_workspaces.name", kind: kindString, value: func(w *store.PipelineWorkspace) any { return w.Name }},
			"created_at": {column: "pipeline_workspaces.created_at", kind: kindTime, value: func(w *store.PipelineWorkspace) any { return w.CreatedAt }},
		},
		defaultSort: "id",
		search:      []string{"pipeline_workspaces.name", "pipeline_workspaces.description", "pipeline_workspaces.code_url"},
	}
}

// Create implements store.PipelineWorkspaces.
func (s *pipelineWorkspaceStore) Create(ctx context.Context, w *store.PipelineWorkspace) error {
	return dbErr(s.d.conn(ctx).Create(w).Error, "create", pwsNameRef(w.Name))
}

// Get implements store.PipelineWorkspaces.
func (s *pipelineWorkspaceStore) Get(ctx context.Context, id int64) (*store.PipelineWorkspace, error) {
	var w store.PipelineWorkspace
	if err := s.d.conn(ctx).Where("id = ?", id).Take(&w).Error; err != nil {
		return nil, dbErr(err, "get", pwsRef(id))
	}
	return &w, nil
}

// Update implements store.PipelineWorkspaces.
func (s *pipelineWorkspaceStore) Update(ctx context.Context, w *store.PipelineWorkspace) error {
	return updateRow(ctx, s.d, w, w.ID, pwsRef(w.ID), pwsNameRef(w.Name))
}

// Delete implements store.PipelineWorkspaces.
func (s *pipelineWorkspaceStore) Delete(ctx context.Context, id int64) error {
	return deleteRow(ctx, s.d, &store.PipelineWorkspace{}, id, pwsRef(id))
}

// List implements store.PipelineWorkspaces.
func (s *pipelineWorkspaceStore) List(ctx context.Context, ids []int64, opts store.ListOptions) (store.Page[store.PipelineWorkspace], error) {
	q := s.d.conn(ctx).Table("pipeline_workspaces")
	if ids != nil {
		if len(ids) == 0 {
			return store.Page[store.PipelineWorkspace]{Items: []store.PipelineWorkspace{}}, nil
		}
		q = q.Where("pipeline_workspaces.id IN ?", ids)
	}
	return list(ctx, q, pipelineWorkspaceListSpec(), opts)
}

// pipelineStore implements store.Pipelines.
type pipelineStore struct{ d *DB }

var _ store.Pipelines = (*pipelineStore)(nil)

func pipelineRef(id int64) string { return fmt.Sprintf("pipeline %d", id) }

func pipelineNameRef(name string) string { return fmt.Sprintf("pipeline %q", name) }

func pipelineListSpec() *listSpec[store.Pipeline] {
	return &listSpec[store.Pipeline]{
		entity:   "pipelines",
		idColumn: "pipelines.id",
		id:       func(p *store.Pipeline) int64 { return p.ID },
		sorts: map[string]sortKey[store.Pipeline]{
			"id":         {column: "pipelines.id", kind: kindInt, value: func(p *store.Pipeline) any { return p.ID }},
			"name":       {column: "pipelines.name", kind: kindString, value: func(p *store.Pipeline) any { return p.Name }},
			"created_at": {column: "pipelines.created_at", kind: kindTime, value: func(p *store.Pipeline) any { return p.CreatedAt }},
		},
		defaultSort: "id",
		search:      []string{"pipelines.name", "pipelines.description"},
	}
}

// Create implements store.Pipelines.
func (s *pipelineStore) Create(ctx context.Context, p *store.Pipeline) error {
	return dbErr(s.d.conn(ctx).Create(p).Error, "create", pipelineNameRef(p.Name))
}

// Get implements store.Pipelines.
func (s *pipelineStore) Get(ctx context.Context, id int64) (*store.Pipeline, error) {
	var p store.Pipeline
	if err := s.d.conn(ctx).Where("id = ?", id).Take(&p).Error; err != nil {
		return nil, dbErr(err, "get", pipelineRef(id))
	}
	return &p, nil
}

// Update implements store.Pipelines: name, description and definition; the build sequence is
// the runs' and is never written here.
func (s *pipelineStore) Update(ctx context.Context, p *store.Pipeline) error {
	res := s.d.conn(ctx).Model(p).Select("name", "description", "definition", "updated_at").Updates(p)
	switch {
	case res.Error != nil && isUniqueViolation(res.Error):
		return dbErr(res.Error, "update", pipelineNameRef(p.Name))
	case res.Error != nil:
		return dbErr(res.Error, "update", pipelineRef(p.ID))
	case res.RowsAffected == 0:
		return dbErr(errNotFound, "update", pipelineRef(p.ID))
	}
	return nil
}

// Delete implements store.Pipelines.
func (s *pipelineStore) Delete(ctx context.Context, id int64) error {
	return deleteRow(ctx, s.d, &store.Pipeline{}, id, pipelineRef(id))
}

// List implements store.Pipelines.
func (s *pipelineStore) List(ctx context.Context, workspaceID int64, opts store.ListOptions) (store.Page[store.Pipeline], error) {
	return list(ctx, s.d.conn(ctx).Table("pipelines").Where("pipelines.workspace_id = ?", workspaceID), pipelineListSpec(), opts)
}

// All implements store.Pipelines.
func (s *pipelineStore) All(ctx context.Context) ([]store.Pipeline, error) {
	var out []store.Pipeline
	if err := s.d.conn(ctx).Order("id").Find(&out).Error; err != nil {
		return nil, dbErr(err, "list", "pipelines")
	}
	return out, nil
}

// NextBuildNumber implements store.Pipelines. The increment takes the row's write lock (InnoDB)
// or the database's (SQLite) until the caller's transaction ends, so numbers never repeat.
func (s *pipelineStore) NextBuildNumber(ctx context.Context, id int64) (int64, error) {
	res := s.d.conn(ctx).Model(&store.Pipeline{}).Where("id = ?", id).UpdateColumn("build_seq", gorm.Expr("build_seq + 1"))
	if res.Error != nil {
		return 0, dbErr(res.Error, "number a run of", pipelineRef(id))
	}
	if res.RowsAffected == 0 {
		return 0, dbErr(errNotFound, "number a run of", pipelineRef(id))
	}
	var p store.Pipeline
	if err := s.d.conn(ctx).Select("build_seq").Where("id = ?", id).Take(&p).Error; err != nil {
		return 0, dbErr(err, "number a run of", pipelineRef(id))
	}
	return p.BuildSeq, nil
}
