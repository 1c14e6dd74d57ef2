package triggers_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/testdeps"
	"github.com/kubespace/kubespace/pkg/controller/triggers"
	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/store"
	"github.com/kubespace/kubespace/pkg/store/database"
)

// eachEngine runs fn against a fresh, migrated SQLite database and a fresh MariaDB one.
func eachEngine(t *testing.T, fn func(t *testing.T, s store.Store)) {
	engines := map[string]func(t *testing.T) database.Config{
		"sqlite": func(t *testing.T) database.Config {
			return database.Config{SQLitePath: filepath.Join(t.TempDir(), "kubespace.db")}
		},
		"mysql": func(t *testing.T) database.Config { return database.Config{MySQL: testdeps.MySQLDatabase(t)} },
	}
	for _, name := range []string{"sqlite", "mysql"} {
		t.Run(name, func(t *testing.T) {
			db, err := database.Open(t.Context(), engines[name](t))
			require.NoError(t, err)
			t.Cleanup(func() { _ = db.Close() })
			require.NoError(t, db.Migrate(t.Context()))
			fn(t, db.Store())
		})
	}
}

func stores(s store.Store) triggers.Stores {
	return triggers.Stores{Pipelines: s.Pipelines, Runs: s.PipelineRuns, Triggers: s.Triggers}
}

// starts records the runs the triggers ask for; each start gets a new id.
type starts struct {
	mu   sync.Mutex
	got  []start
	fail error
	// failFor fails only this pipeline's starts (0: none).
	failFor int64
}

type start struct {
	Pipeline int64
	Req      triggers.StartRequest
}

func (s *starts) Start(_ context.Context, pipelineID int64, req triggers.StartRequest) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil && (s.failFor == 0 || s.failFor == pipelineID) {
		return 0, s.fail
	}
	s.got = append(s.got, start{pipelineID, req})
	return int64(1000 + len(s.got)), nil
}

func (s *starts) list() []start {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]start(nil), s.got...)
}

func (s *starts) count() int { return len(s.list()) }

// heads is a repository's branch heads per workspace.
type heads struct {
	mu sync.Mutex
	by map[int64][]triggers.Branch
}

func (h *heads) Branches(_ context.Context, ws int64) ([]triggers.Branch, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]triggers.Branch(nil), h.by[ws]...), nil
}

func (h *heads) set(ws int64, bs ...triggers.Branch) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.by == nil {
		h.by = map[int64][]triggers.Branch{}
	}
	h.by[ws] = bs
}

func codeWorkspace(t *testing.T, s store.Store, name string) *store.PipelineWorkspace {
	t.Helper()
	w := &store.PipelineWorkspace{Name: name, Type: store.WorkspaceCode, CodeProvider: "git", CodeURL: "https://git.example/" + name + ".git"}
	require.NoError(t, s.PipelineWorkspaces.Create(t.Context(), w))
	return w
}

func newPipeline(t *testing.T, s store.Store, ws int64, name string, d pipeline.Definition) *store.Pipeline {
	t.Helper()
	d.Name = name
	if len(d.Stages) == 0 {
		d.Stages = []pipeline.Stage{{Name: "s", TriggerMode: pipeline.StageAuto, Jobs: []pipeline.Job{{Name: "j", PluginKey: "execute_shell", Params: json.RawMessage(`{"script":"true"}`)}}}}
	}
	b, err := json.Marshal(d)
	require.NoError(t, err)
	p := &store.Pipeline{WorkspaceID: ws, Name: name, Definition: string(b)}
	require.NoError(t, s.Pipelines.Create(t.Context(), p))
	return p
}

func code(rules ...pipeline.BranchRule) []pipeline.Source {
	return []pipeline.Source{{Type: pipeline.SourceCode, Branches: rules}}
}

func exact(b string) pipeline.BranchRule {
	return pipeline.BranchRule{Type: pipeline.BranchExact, Pattern: b}
}
func exclude(b string) pipeline.BranchRule {
	return pipeline.BranchRule{Type: pipeline.BranchExclude, Pattern: b}
}

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}
