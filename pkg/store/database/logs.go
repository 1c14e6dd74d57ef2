package database

import (
	"context"
	"time"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/store"
)

// logStore implements store.JobLogs.
type logStore struct{ d *DB }

var _ store.JobLogs = (*logStore)(nil)

// Append implements store.JobLogs. The size kept on the job row is advanced with a conditional
// UPDATE (size = offset), which is what makes concurrent or repeated appends safe without locks.
func (s *logStore) Append(ctx context.Context, jobID, offset int64, data []byte) (int64, error) {
	if offset < 0 {
		return 0, errs.Invalidf("log offset must not be negative")
	}
	var size int64
	err := s.d.WithTx(ctx, func(ctx context.Context) error {
		for attempt := 0; attempt < 2; attempt++ {
			if len(data) == 0 {
				var err error
				size, err = s.Size(ctx, jobID)
				return err
			}
			res := s.d.conn(ctx).Model(&store.JobRun{}).Where("id = ? AND log_size = ?", jobID, offset).
				UpdateColumn("log_size", offset+int64(len(data)))
			if res.Error != nil {
				return dbErr(res.Error, "append to the log of", jobRef(jobID))
			}
			if res.RowsAffected == 1 {
				size = offset + int64(len(data))
				c := &store.LogChunk{JobRunID: jobID, Offset: offset, Size: int64(len(data)), Data: data}
				return dbErr(s.d.conn(ctx).Create(c).Error, "append to the log of", jobRef(jobID))
			}
			cur, err := s.Size(ctx, jobID)
			if err != nil {
				return err
			}
			switch {
			case offset > cur:
				return errs.Conflictf("log offset %d of %s is past its end (%d bytes)", offset, jobRef(jobID), cur).WithCode("log_gap")
			case offset+int64(len(data)) <= cur:
				size = cur // a resend of what is stored
				return nil
			default:
				// Partly stored already: keep the part that is new.
				data, offset = data[cur-offset:], cur
			}
		}
		return errs.Conflictf("the log of %s changed while appending", jobRef(jobID))
	})
	return size, err
}

// Read implements store.JobLogs.
func (s *logStore) Read(ctx context.Context, jobID, offset int64, limit int) ([]store.LogChunk, error) {
	if limit <= 0 {
		limit = defaultLimit
	}
	var out []store.LogChunk
	err := s.d.conn(ctx).Where("job_run_id = ? AND byte_offset + size > ?", jobID, offset).Order("byte_offset").Limit(limit).Find(&out).Error
	return out, dbErr(err, "read", "the log of "+jobRef(jobID))
}

// Size implements store.JobLogs.
func (s *logStore) Size(ctx context.Context, jobID int64) (int64, error) {
	var j store.JobRun
	if err := s.d.conn(ctx).Select("log_size").Where("id = ?", jobID).Take(&j).Error; err != nil {
		return 0, dbErr(err, "get", jobRef(jobID))
	}
	return j.LogSize, nil
}

// DeleteFinishedBefore implements store.JobLogs.
func (s *logStore) DeleteFinishedBefore(ctx context.Context, t time.Time) (int64, error) {
	old := s.d.conn(ctx).Model(&store.JobRun{}).Select("id").Where("finished_at < ?", normTime(t))
	return deleteWhere(ctx, s.d, &store.LogChunk{}, "old job logs", "job_run_id IN (?)", old)
}
