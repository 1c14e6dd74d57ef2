package database

import (
	"context"
	"fmt"
	"time"

	"github.com/kubespace/kubespace/pkg/store"
)

// runStore implements store.PipelineRuns and store.JobDispatch.
type runStore struct{ d *DB }

var (
	_ store.PipelineRuns = (*runStore)(nil)
	_ store.JobDispatch  = (*runStore)(nil)
)

func runRef(id int64) string   { return fmt.Sprintf("pipeline run %d", id) }
func stageRef(id int64) string { return fmt.Sprintf("stage run %d", id) }
func jobRef(id int64) string   { return fmt.Sprintf("job run %d", id) }

// Statuses a job holds while a spacelet is responsible for it.
var runningStatuses = []string{store.StatusDoing, store.StatusCancel}

func runListSpec() *listSpec[store.PipelineRun] {
	return &listSpec[store.PipelineRun]{
		entity:   "pipeline runs",
		idColumn: "pipeline_runs.id",
		id:       func(r *store.PipelineRun) int64 { return r.ID },
		sorts: map[string]sortKey[store.PipelineRun]{
			"id":           {column: "pipeline_runs.id", kind: kindInt, value: func(r *store.PipelineRun) any { return r.ID }},
			"build_number": {column: "pipeline_runs.build_number", kind: kindInt, value: func(r *store.PipelineRun) any { return r.BuildNumber }},
			"created_at":   {column: "pipeline_runs.created_at", kind: kindTime, value: func(r *store.PipelineRun) any { return r.CreatedAt }},
		},
		defaultSort: "-build_number",
		search:      []string{"pipeline_runs.trigger_user", "pipeline_runs.source"},
	}
}

// Create implements store.PipelineRuns.
func (s *runStore) Create(ctx context.Context, d *store.RunDetail) error {
	return s.d.WithTx(ctx, func(ctx context.Context) error {
		conn := s.d.conn(ctx)
		if err := conn.Create(&d.Run).Error; err != nil {
			return dbErr(err, "create", fmt.Sprintf("build %d of pipeline %d", d.Run.BuildNumber, d.Run.PipelineID))
		}
		for i := range d.Stages {
			st := &d.Stages[i]
			st.RunID = d.Run.ID
			if err := conn.Create(st).Error; err != nil {
				return dbErr(err, "create", "stage run")
			}
			if i >= len(d.Jobs) {
				continue
			}
			for j := range d.Jobs[i] {
				job := &d.Jobs[i][j]
				job.RunID, job.StageRunID = d.Run.ID, st.ID
				if err := conn.Create(job).Error; err != nil {
					return dbErr(err, "create", "job run")
				}
			}
		}
		return nil
	})
}

// Get implements store.PipelineRuns.
func (s *runStore) Get(ctx context.Context, id int64) (*store.PipelineRun, error) {
	var r store.PipelineRun
	if err := s.d.conn(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return nil, dbErr(err, "get", runRef(id))
	}
	return &r, nil
}

// Detail implements store.PipelineRuns.
func (s *runStore) Detail(ctx context.Context, id int64) (*store.RunDetail, error) {
	r, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	d := &store.RunDetail{Run: *r}
	if err := s.d.conn(ctx).Where("run_id = ?", id).Order("idx").Find(&d.Stages).Error; err != nil {
		return nil, dbErr(err, "list", "stages of "+runRef(id))
	}
	var jobs []store.JobRun
	if err := s.d.conn(ctx).Where("run_id = ?", id).Order("idx, id").Find(&jobs).Error; err != nil {
		return nil, dbErr(err, "list", "jobs of "+runRef(id))
	}
	d.Jobs = make([][]store.JobRun, len(d.Stages))
	byStage := make(map[int64]int, len(d.Stages))
	for i, st := range d.Stages {
		byStage[st.ID] = i
		d.Jobs[i] = []store.JobRun{}
	}
	for _, j := range jobs {
		if i, ok := byStage[j.StageRunID]; ok {
			d.Jobs[i] = append(d.Jobs[i], j)
		}
	}
	return d, nil
}

// List implements store.PipelineRuns.
func (s *runStore) List(ctx context.Context, f store.RunFilter, opts store.ListOptions) (store.Page[store.PipelineRun], error) {
	q := s.d.conn(ctx).Table("pipeline_runs")
	if f.PipelineID != 0 {
		q = q.Where("pipeline_runs.pipeline_id = ?", f.PipelineID)
	}
	if len(f.Statuses) > 0 {
		q = q.Where("pipeline_runs.status IN ?", f.Statuses)
	}
	return list(ctx, q, runListSpec(), opts)
}

// Active implements store.PipelineRuns.
func (s *runStore) Active(ctx context.Context) ([]int64, error) {
	var ids []int64
	err := s.d.conn(ctx).Model(&store.PipelineRun{}).
		Where("status IN ?", []string{store.StatusWait, store.StatusDoing, store.StatusCancel}).Order("id").Pluck("id", &ids).Error
	return ids, dbErr(err, "list", "active pipeline runs")
}

// Latest implements store.PipelineRuns.
func (s *runStore) Latest(ctx context.Context, pipelineIDs []int64) (map[int64]store.PipelineRun, error) {
	out := map[int64]store.PipelineRun{}
	if len(pipelineIDs) == 0 {
		return out, nil
	}
	newest := s.d.conn(ctx).Model(&store.PipelineRun{}).Select("MAX(id)").Where("pipeline_id IN ?", pipelineIDs).Group("pipeline_id")
	var runs []store.PipelineRun
	if err := s.d.conn(ctx).Where("id IN (?)", newest).Find(&runs).Error; err != nil {
		return nil, dbErr(err, "list", "latest pipeline runs")
	}
	for _, r := range runs {
		out[r.PipelineID] = r
	}
	return out, nil
}

// saveVersioned writes fields of rec (a pointer to a versioned record with ID id) if its row
// still has version; on success it bumps the version in the row and in rec.
func saveVersioned[T any](ctx context.Context, s *runStore, rec *T, id int64, version *int64, ref string, fields []string) (bool, error) {
	if len(fields) == 0 {
		return false, fmt.Errorf("save %s: no fields named", ref)
	}
	old := *version
	*version = old + 1
	cols := append(append([]string{}, fields...), "Version", "UpdatedAt")
	res := s.d.conn(ctx).Model(rec).Where("version = ?", old).Select(cols).Updates(rec)
	if res.Error != nil {
		*version = old
		return false, dbErr(res.Error, "update", ref)
	}
	if res.RowsAffected == 1 {
		return true, nil
	}
	*version = old
	var n int64
	if err := s.d.conn(ctx).Model(new(T)).Where("id = ?", id).Count(&n).Error; err != nil {
		return false, dbErr(err, "update", ref)
	}
	if n == 0 {
		return false, dbErr(errNotFound, "update", ref)
	}
	return false, nil
}

// SaveRun implements store.PipelineRuns.
func (s *runStore) SaveRun(ctx context.Context, r *store.PipelineRun, fields ...string) (bool, error) {
	return saveVersioned(ctx, s, r, r.ID, &r.Version, runRef(r.ID), fields)
}

// SaveStage implements store.PipelineRuns.
func (s *runStore) SaveStage(ctx context.Context, st *store.StageRun, fields ...string) (bool, error) {
	return saveVersioned(ctx, s, st, st.ID, &st.Version, stageRef(st.ID), fields)
}

// SaveJob implements store.PipelineRuns.
func (s *runStore) SaveJob(ctx context.Context, j *store.JobRun, fields ...string) (bool, error) {
	return saveVersioned(ctx, s, j, j.ID, &j.Version, jobRef(j.ID), fields)
}

// GetJob implements store.PipelineRuns.
func (s *runStore) GetJob(ctx context.Context, id int64) (*store.JobRun, error) {
	var j store.JobRun
	if err := s.d.conn(ctx).Where("id = ?", id).Take(&j).Error; err != nil {
		return nil, dbErr(err, "get", jobRef(id))
	}
	return &j, nil
}

// DeleteByPipeline implements store.PipelineRuns.
func (s *runStore) DeleteByPipeline(ctx context.Context, pipelineID int64) error {
	return s.d.WithTx(ctx, func(ctx context.Context) error {
		conn := s.d.conn(ctx)
		runs := conn.Model(&store.PipelineRun{}).Select("id").Where("pipeline_id = ?", pipelineID)
		jobs := conn.Model(&store.JobRun{}).Select("id").Where("run_id IN (?)", runs)
		what := "runs of " + pipelineRef(pipelineID)
		if err := conn.Where("job_run_id IN (?)", jobs).Delete(&store.LogChunk{}).Error; err != nil {
			return dbErr(err, "delete", "logs of "+what)
		}
		if err := conn.Where("run_id IN (?)", runs).Delete(&store.JobRun{}).Error; err != nil {
			return dbErr(err, "delete", "jobs of "+what)
		}
		if err := conn.Where("run_id IN (?)", runs).Delete(&store.StageRun{}).Error; err != nil {
			return dbErr(err, "delete", "stages of "+what)
		}
		return dbErr(conn.Where("pipeline_id = ?", pipelineID).Delete(&store.PipelineRun{}).Error, "delete", what)
	})
}

// claimCandidates bounds how many assigned jobs one Claim tries before giving up for this poll.
const claimCandidates = 8

// Claim implements store.JobDispatch.
func (s *runStore) Claim(ctx context.Context, spaceletID int64, leaseUntil time.Time) (*store.JobRun, error) {
	var ids []int64
	err := s.d.conn(ctx).Model(&store.JobRun{}).Where("spacelet_id = ? AND status = ?", spaceletID, store.StatusWait).
		Order("id").Limit(claimCandidates).Pluck("id", &ids).Error
	if err != nil {
		return nil, dbErr(err, "list", "assigned jobs")
	}
	now := normTime(time.Now())
	for _, id := range ids {
		res := s.d.conn(ctx).Model(&store.JobRun{}).Where("id = ? AND spacelet_id = ? AND status = ?", id, spaceletID, store.StatusWait).
			UpdateColumns(map[string]any{"status": store.StatusDoing, "lease_until": normTime(leaseUntil), "started_at": now,
				"reason": "", "version": gormIncrement("version"), "updated_at": now})
		if res.Error != nil {
			return nil, dbErr(res.Error, "claim", jobRef(id))
		}
		if res.RowsAffected == 1 {
			return s.GetJob(ctx, id)
		}
	}
	return nil, nil
}

// Extend implements store.JobDispatch.
func (s *runStore) Extend(ctx context.Context, jobID, spaceletID int64, leaseUntil time.Time) (string, error) {
	res := s.d.conn(ctx).Model(&store.JobRun{}).Where("id = ? AND spacelet_id = ? AND status IN ?", jobID, spaceletID, runningStatuses).
		UpdateColumns(map[string]any{"lease_until": normTime(leaseUntil), "version": gormIncrement("version"), "updated_at": normTime(time.Now())})
	if res.Error != nil {
		return "", dbErr(res.Error, "extend", jobRef(jobID))
	}
	j, err := s.GetJob(ctx, jobID)
	if err != nil {
		return "", err
	}
	if j.SpaceletID != spaceletID {
		return "", dbErr(errNotFound, "extend", jobRef(jobID))
	}
	return j.Status, nil
}

// Finish implements store.JobDispatch.
func (s *runStore) Finish(ctx context.Context, jobID, spaceletID int64, r store.JobResult) (bool, error) {
	at := r.At
	if at.IsZero() {
		at = time.Now()
	}
	at = normTime(at)
	res := s.d.conn(ctx).Model(&store.JobRun{}).Where("id = ? AND spacelet_id = ? AND status IN ?", jobID, spaceletID, runningStatuses).
		UpdateColumns(map[string]any{"status": r.Status, "message": truncateText(r.Message, 1024), "exit_code": r.ExitCode,
			"outputs": r.Outputs, "finished_at": at, "lease_until": nil, "version": gormIncrement("version"), "updated_at": at})
	if res.Error != nil {
		return false, dbErr(res.Error, "finish", jobRef(jobID))
	}
	if res.RowsAffected == 1 {
		return true, nil
	}
	j, err := s.GetJob(ctx, jobID)
	if err != nil {
		return false, err
	}
	if j.SpaceletID != spaceletID {
		return false, dbErr(errNotFound, "finish", jobRef(jobID))
	}
	return false, nil // already finished (a repeated report, or the controller gave up on it)
}

// Running implements store.JobDispatch.
func (s *runStore) Running(ctx context.Context, spaceletID int64) (int64, error) {
	var n int64
	err := s.d.conn(ctx).Model(&store.JobRun{}).
		Where("spacelet_id = ? AND status IN ?", spaceletID, []string{store.StatusWait, store.StatusDoing, store.StatusCancel}).Count(&n).Error
	return n, dbErr(err, "count", "jobs of a spacelet")
}
