package database

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/store"
)

// newRun creates a workspace, a pipeline and one run of two stages (two jobs, then one).
func newRun(t *testing.T, s store.Store) (*store.Pipeline, *store.RunDetail) {
	t.Helper()
	ctx := t.Context()
	w := &store.PipelineWorkspace{Name: "shop", Type: store.WorkspaceCustom}
	require.NoError(t, s.PipelineWorkspaces.Create(ctx, w))
	p := &store.Pipeline{WorkspaceID: w.ID, Name: "build", Definition: `{"stages":[]}`}
	require.NoError(t, s.Pipelines.Create(ctx, p))
	d := &store.RunDetail{
		Run:    store.PipelineRun{PipelineID: p.ID, WorkspaceID: w.ID, BuildNumber: 1, Status: store.StatusWait, Trigger: store.TriggerManual},
		Stages: []store.StageRun{{Idx: 0, Name: "build", TriggerMode: store.StageAuto, Status: store.StatusWait}, {Idx: 1, Name: "release", TriggerMode: store.StageManual, Status: store.StatusWait}},
		Jobs: [][]store.JobRun{
			{{Idx: 0, Name: "a", PluginKey: "execute_shell", Status: store.StatusWait}, {Idx: 1, Name: "b", PluginKey: "execute_shell", Status: store.StatusWait}},
			{{Idx: 0, Name: "c", PluginKey: "execute_shell", Status: store.StatusWait}},
		},
	}
	require.NoError(t, s.PipelineRuns.Create(ctx, d))
	return p, d
}

func TestPipelineRuns(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, _ *DB, s store.Store) {
		ctx := t.Context()
		p, d := newRun(t, s)
		require.NotZero(t, d.Run.ID)
		require.Equal(t, d.Run.ID, d.Jobs[1][0].RunID)
		require.Equal(t, d.Stages[1].ID, d.Jobs[1][0].StageRunID)

		got, err := s.PipelineRuns.Detail(ctx, d.Run.ID)
		require.NoError(t, err)
		require.Len(t, got.Stages, 2)
		require.Equal(t, []string{"a", "b"}, []string{got.Jobs[0][0].Name, got.Jobs[0][1].Name})
		require.Len(t, got.Jobs[1], 1)

		t.Run("saves are conditional on the version", func(t *testing.T) {
			r1, err := s.PipelineRuns.Get(ctx, d.Run.ID)
			require.NoError(t, err)
			r2 := *r1
			now := time.Now()
			r1.Status, r1.StartedAt = store.StatusDoing, &now
			ok, err := s.PipelineRuns.SaveRun(ctx, r1, "Status", "StartedAt")
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, r2.Version+1, r1.Version)
			r2.Status = store.StatusCanceled
			ok, err = s.PipelineRuns.SaveRun(ctx, &r2, "Status")
			require.NoError(t, err)
			require.False(t, ok, "a stale copy changes nothing")
			again, err := s.PipelineRuns.Get(ctx, d.Run.ID)
			require.NoError(t, err)
			require.Equal(t, store.StatusDoing, again.Status)
			require.NotNil(t, again.StartedAt)
			missing := store.PipelineRun{ID: 99999}
			_, err = s.PipelineRuns.SaveRun(ctx, &missing, "Status")
			requireKind(t, err, errs.NotFound, "pipeline run 99999 not found")
		})

		t.Run("active, latest, list", func(t *testing.T) {
			ids, err := s.PipelineRuns.Active(ctx)
			require.NoError(t, err)
			require.Equal(t, []int64{d.Run.ID}, ids)
			latest, err := s.PipelineRuns.Latest(ctx, []int64{p.ID, 4242})
			require.NoError(t, err)
			require.Len(t, latest, 1)
			require.Equal(t, d.Run.ID, latest[p.ID].ID)
			page, err := s.PipelineRuns.List(ctx, store.RunFilter{PipelineID: p.ID}, store.ListOptions{})
			require.NoError(t, err)
			require.EqualValues(t, 1, page.Total)
		})
	})
}

// Build numbers are distinct however many runs are created at once: each creation increments
// the pipeline's sequence inside its own transaction.
func TestBuildNumbersUnderConcurrency(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, db *DB, s store.Store) {
		ctx := t.Context()
		p, _ := newRun(t, s)
		var wg sync.WaitGroup
		nums := make(chan int64, 20)
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var err error
				for attempt := 0; attempt < 20; attempt++ {
					err = s.Tx.WithTx(ctx, func(ctx context.Context) error {
						n, err := s.Pipelines.NextBuildNumber(ctx, p.ID)
						if err != nil {
							return err
						}
						nums <- n
						return s.PipelineRuns.Create(ctx, &store.RunDetail{Run: store.PipelineRun{PipelineID: p.ID, WorkspaceID: p.WorkspaceID,
							BuildNumber: n + 100, Status: store.StatusWait, Trigger: store.TriggerManual}})
					})
					if !errs.Is(err, errs.Unavailable) { // SQLite: database busy, retried by callers
						break
					}
				}
				require.NoError(t, err)
			}()
		}
		wg.Wait()
		close(nums)
		seen := map[int64]bool{}
		for n := range nums {
			require.False(t, seen[n], "build number %d given twice", n)
			seen[n] = true
		}
		require.Len(t, seen, 20)
	})
}

func TestJobDispatch(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, _ *DB, s store.Store) {
		ctx := t.Context()
		_, d := newRun(t, s)
		a, b := d.Jobs[0][0], d.Jobs[0][1]
		lease := time.Now().Add(30 * time.Second)

		none, err := s.JobDispatch.Claim(ctx, 7, lease)
		require.NoError(t, err)
		require.Nil(t, none, "nothing assigned yet")

		a.SpaceletID, b.SpaceletID = 7, 8
		for _, j := range []*store.JobRun{&a, &b} {
			ok, err := s.PipelineRuns.SaveJob(ctx, j, "SpaceletID")
			require.NoError(t, err)
			require.True(t, ok)
		}
		// Many concurrent claims by spacelet 7: exactly one gets job a; spacelet 8 gets b.
		var wg sync.WaitGroup
		got := make(chan int64, 10)
		for i := 0; i < 10; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				j, err := s.JobDispatch.Claim(ctx, 7, lease)
				if errs.Is(err, errs.Unavailable) {
					return // SQLite busy: the spacelet polls again
				}
				require.NoError(t, err)
				if j != nil {
					got <- j.ID
				}
			}()
		}
		wg.Wait()
		close(got)
		var claimed []int64
		for id := range got {
			claimed = append(claimed, id)
		}
		require.Equal(t, []int64{a.ID}, claimed)
		jb, err := s.JobDispatch.Claim(ctx, 8, lease)
		require.NoError(t, err)
		require.Equal(t, b.ID, jb.ID)
		require.Equal(t, store.StatusDoing, jb.Status)
		require.NotNil(t, jb.StartedAt)

		n, err := s.JobDispatch.Running(ctx, 7)
		require.NoError(t, err)
		require.EqualValues(t, 1, n)

		st, err := s.JobDispatch.Extend(ctx, a.ID, 7, lease.Add(time.Minute))
		require.NoError(t, err)
		require.Equal(t, store.StatusDoing, st)
		_, err = s.JobDispatch.Extend(ctx, a.ID, 8, lease)
		require.True(t, errs.Is(err, errs.NotFound), "another spacelet's job: %v", err)

		ok, err := s.JobDispatch.Finish(ctx, a.ID, 7, store.JobResult{Status: store.StatusOK, Outputs: `{"IMAGE":"x"}`})
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = s.JobDispatch.Finish(ctx, a.ID, 7, store.JobResult{Status: store.StatusOK})
		require.NoError(t, err)
		require.False(t, ok, "a repeated report changes nothing")
		ja, err := s.PipelineRuns.GetJob(ctx, a.ID)
		require.NoError(t, err)
		require.Equal(t, store.StatusOK, ja.Status)
		require.Equal(t, `{"IMAGE":"x"}`, ja.Outputs)
		require.Nil(t, ja.LeaseUntil)
		_, err = s.JobDispatch.Finish(ctx, a.ID, 8, store.JobResult{Status: store.StatusError})
		require.True(t, errs.Is(err, errs.NotFound))
	})
}

func TestJobLogs(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, _ *DB, s store.Store) {
		ctx := t.Context()
		_, d := newRun(t, s)
		job := d.Jobs[0][0].ID
		size, err := s.JobLogs.Append(ctx, job, 0, []byte("hello "))
		require.NoError(t, err)
		require.EqualValues(t, 6, size)
		size, err = s.JobLogs.Append(ctx, job, 0, []byte("hello "))
		require.NoError(t, err)
		require.EqualValues(t, 6, size, "a resend is ignored")
		size, err = s.JobLogs.Append(ctx, job, 3, []byte("lo world\n"))
		require.NoError(t, err)
		require.EqualValues(t, 12, size, "an overlap keeps only what is new")
		_, err = s.JobLogs.Append(ctx, job, 20, []byte("x"))
		requireKind(t, err, errs.Conflict, "")
		chunks, err := s.JobLogs.Read(ctx, job, 0, 10)
		require.NoError(t, err)
		var all []byte
		for _, c := range chunks {
			all = append(all, c.Data...)
		}
		require.Equal(t, "hello world\n", string(all))
		chunks, err = s.JobLogs.Read(ctx, job, 7, 10)
		require.NoError(t, err)
		require.Len(t, chunks, 1, "only chunks reaching past the offset")
		n, err := s.JobLogs.Size(ctx, job)
		require.NoError(t, err)
		require.EqualValues(t, 12, n)

		now := time.Now()
		j := d.Jobs[0][0]
		j.FinishedAt = &now
		_, err = s.PipelineRuns.SaveJob(ctx, &j, "FinishedAt")
		require.NoError(t, err)
		deleted, err := s.JobLogs.DeleteFinishedBefore(ctx, now.Add(time.Second))
		require.NoError(t, err)
		require.EqualValues(t, 2, deleted)
	})
}

func TestSpaceletsAndTriggers(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, _ *DB, s store.Store) {
		ctx := t.Context()
		sp := &store.Spacelet{Name: "builder-1", CredentialHash: "h1", Labels: `{"os":"linux"}`, Capacity: 2}
		require.NoError(t, s.Spacelets.Create(ctx, sp))
		require.Equal(t, store.SpaceletOffline, sp.Status)
		requireKind(t, s.Spacelets.Create(ctx, &store.Spacelet{Name: "builder-1", CredentialHash: "h2"}), errs.Conflict, `spacelet "builder-1" already exists`)
		got, err := s.Spacelets.GetByCredential(ctx, "h1")
		require.NoError(t, err)
		require.Equal(t, sp.ID, got.ID)
		old := time.Now().Add(-time.Minute)
		require.NoError(t, s.Spacelets.Seen(ctx, sp.ID, old))
		ids, err := s.Spacelets.MarkOffline(ctx, time.Now().Add(-30*time.Second))
		require.NoError(t, err)
		require.Equal(t, []int64{sp.ID}, ids)
		require.NoError(t, s.Spacelets.Seen(ctx, sp.ID, time.Now()))
		ids, err = s.Spacelets.MarkOffline(ctx, time.Now().Add(-30*time.Second))
		require.NoError(t, err)
		require.Empty(t, ids)

		ok, err := s.Triggers.SetState(ctx, 1, "cron:0", "", "2026-12-03T10:00:00Z")
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = s.Triggers.SetState(ctx, 1, "cron:0", "", "2026-12-03T10:00:00Z")
		require.NoError(t, err)
		require.False(t, ok, "a second first-fire loses")
		ok, err = s.Triggers.SetState(ctx, 1, "cron:0", "2026-12-03T10:00:00Z", "2026-12-03T10:05:00Z")
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = s.Triggers.SetState(ctx, 1, "cron:0", "2026-12-03T10:00:00Z", "2026-12-03T10:10:00Z")
		require.NoError(t, err)
		require.False(t, ok, "compare-and-set against a stale value fails")
		v, err := s.Triggers.State(ctx, 1, "cron:0")
		require.NoError(t, err)
		require.Equal(t, "2026-12-03T10:05:00Z", v)

		first, err := s.Triggers.RecordDelivery(ctx, &store.WebhookDelivery{WorkspaceID: 1, DeliveryID: "abc", Provider: "github"})
		require.NoError(t, err)
		require.True(t, first)
		again, err := s.Triggers.RecordDelivery(ctx, &store.WebhookDelivery{WorkspaceID: 1, DeliveryID: "abc", Provider: "github"})
		require.NoError(t, err)
		require.False(t, again)
	})
}
