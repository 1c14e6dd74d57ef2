package logstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/testdeps"
	"github.com/kubespace/kubespace/pkg/eventbus/membus"
	"github.com/kubespace/kubespace/pkg/logstore"
	"github.com/kubespace/kubespace/pkg/pipeline/nudge"
	"github.com/kubespace/kubespace/pkg/store"
	"github.com/kubespace/kubespace/pkg/store/database"
)

type fixture struct {
	ctx context.Context
	st  store.Store
	ls  *logstore.Store
	bus *membus.Bus
}

func newFixture(t *testing.T, mysql bool, retention time.Duration) *fixture {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cfg := database.Config{SQLitePath: filepath.Join(t.TempDir(), "ks.db")}
	if mysql {
		cfg = database.Config{MySQL: testdeps.MySQLDatabase(t)}
	}
	db, err := database.Open(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	require.NoError(t, db.Migrate(ctx))
	bus := membus.New(membus.Options{})
	t.Cleanup(func() { _ = bus.Close() })
	st := db.Store()
	// Recheck is long: a follower that sees new data in time was woken by the nudge.
	ls := logstore.New(logstore.Deps{Logs: st.JobLogs, Runs: st.PipelineRuns, Bus: bus, Retention: retention, Recheck: time.Minute})
	done := make(chan struct{})
	go func() { defer close(done); _ = ls.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return &fixture{ctx: ctx, st: st, ls: ls, bus: bus}
}

func (f *fixture) job(t *testing.T) *store.JobRun {
	ws := &store.PipelineWorkspace{Name: fmt.Sprint("ws", time.Now().UnixNano()), Type: store.WorkspaceCustom}
	require.NoError(t, f.st.PipelineWorkspaces.Create(f.ctx, ws))
	p := &store.Pipeline{WorkspaceID: ws.ID, Name: "p"}
	require.NoError(t, f.st.Pipelines.Create(f.ctx, p))
	d := &store.RunDetail{Run: store.PipelineRun{PipelineID: p.ID, WorkspaceID: ws.ID, BuildNumber: 1, Status: store.StatusDoing, Trigger: "manual"},
		Stages: []store.StageRun{{Name: "s", TriggerMode: "auto", Status: store.StatusDoing}},
		Jobs:   [][]store.JobRun{{{Name: "j", PluginKey: "execute_shell", Status: store.StatusDoing}}}}
	require.NoError(t, f.st.PipelineRuns.Create(f.ctx, d))
	return &d.Jobs[0][0]
}

func (f *fixture) finish(t *testing.T, jobID int64, at time.Time) {
	j, err := f.st.PipelineRuns.GetJob(f.ctx, jobID)
	require.NoError(t, err)
	j.Status, j.FinishedAt = store.StatusOK, &at
	ok, err := f.st.PipelineRuns.SaveJob(f.ctx, j, "Status", "FinishedAt")
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, nudge.Publish(f.ctx, f.bus, nudge.TopicLog, jobID))
}

func (f *fixture) append(t *testing.T, jobID int64, s string) {
	size, err := f.st.JobLogs.Size(f.ctx, jobID)
	require.NoError(t, err)
	_, err = f.st.JobLogs.Append(f.ctx, jobID, size, []byte(s))
	require.NoError(t, err)
	require.NoError(t, nudge.Publish(f.ctx, f.bus, nudge.TopicLog, jobID))
}

func TestStreamFromOffsets(t *testing.T) {
	f := newFixture(t, false, 0)
	j := f.job(t)
	for _, s := range []string{"one\n", "two\n", "three\n"} {
		f.append(t, j.ID, s)
	}
	for _, c := range []struct {
		offset int64
		want   string
	}{{0, "one\ntwo\nthree\n"}, {2, "e\ntwo\nthree\n"}, {4, "two\nthree\n"}, {13, "\n"}, {14, ""}, {99, ""}, {-5, "one\ntwo\nthree\n"}} {
		var b bytes.Buffer
		end, err := f.ls.Stream(f.ctx, j.ID, c.offset, false, &b, nil)
		require.NoError(t, err)
		require.Equal(t, c.want, b.String(), "offset %d", c.offset)
		require.EqualValues(t, max(c.offset, 0)+int64(len(c.want)), end)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A follower sees each line as it is appended (woken by the nudge, not a timer) and ends when
// the job has ended, with nothing missed.
func TestFollowUntilTheJobEnds(t *testing.T) {
	f := newFixture(t, true, 0)
	j := f.job(t)
	f.append(t, j.ID, "before\n")
	var out lockedBuffer
	ended := make(chan error, 1)
	go func() {
		_, err := f.ls.Stream(f.ctx, j.ID, 0, true, &out, nil)
		ended <- err
	}()
	require.Eventually(t, func() bool { return out.String() == "before\n" }, 5*time.Second, 5*time.Millisecond)
	for i := range 5 {
		line := fmt.Sprintf("line %d\n", i)
		start := time.Now()
		f.append(t, j.ID, line)
		require.Eventually(t, func() bool { return bytes.HasSuffix([]byte(out.String()), []byte(line)) }, 5*time.Second, time.Millisecond)
		t.Logf("line %d visible after %s", i, time.Since(start))
	}
	select {
	case <-ended:
		t.Fatal("the follow ended while the job runs")
	case <-time.After(100 * time.Millisecond):
	}
	f.append(t, j.ID, "last\n")
	f.finish(t, j.ID, time.Now())
	select {
	case err := <-ended:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("the follow did not end with the job")
	}
	require.Equal(t, "before\nline 0\nline 1\nline 2\nline 3\nline 4\nlast\n", out.String())
}

// A large log streams whole and in order, read a few chunks at a time.
func TestLargeLog(t *testing.T) {
	f := newFixture(t, false, 0)
	j := f.job(t)
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 16<<10) // 256 KiB
	want := sha256.New()
	var offset int64
	for i := range 40 { // 10 MiB
		c := append([]byte(fmt.Sprintf("%08d", i)), chunk[8:]...)
		n, err := f.st.JobLogs.Append(f.ctx, j.ID, offset, c)
		require.NoError(t, err)
		offset = n
		want.Write(c)
	}
	got := sha256.New()
	end, err := f.ls.Stream(f.ctx, j.ID, 0, false, got, nil)
	require.NoError(t, err)
	require.Equal(t, offset, end)
	require.Equal(t, want.Sum(nil), got.Sum(nil))
}

func TestRetention(t *testing.T) {
	f := newFixture(t, false, 24*time.Hour)
	old, recent, running := f.job(t), f.job(t), f.job(t)
	for _, j := range []*store.JobRun{old, recent, running} {
		f.append(t, j.ID, "text\n")
	}
	f.finish(t, old.ID, time.Now().Add(-48*time.Hour))
	f.finish(t, recent.ID, time.Now().Add(-time.Hour))
	_, err := f.ls.Prune(f.ctx, time.Now())
	require.NoError(t, err)
	for j, want := range map[int64]string{old.ID: "", recent.ID: "text\n", running.ID: "text\n"} {
		var b bytes.Buffer
		_, err := f.ls.Stream(f.ctx, j, 0, false, &b, nil)
		require.NoError(t, err)
		require.Equal(t, want, b.String())
	}
	keep := logstore.New(logstore.Deps{Logs: f.st.JobLogs})
	n, err := keep.Prune(f.ctx, time.Now().Add(1000*time.Hour))
	require.NoError(t, err)
	require.Zero(t, n, "retention 0 keeps everything")
}
