package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/kubespace/kubespace/pkg/httpapi"
	"github.com/kubespace/kubespace/pkg/logstore"
	"github.com/kubespace/kubespace/pkg/pipeline/dispatch"
	"github.com/kubespace/kubespace/pkg/plugin/builtin"
	"github.com/kubespace/kubespace/pkg/spacelet"
)

// Spacelets are the server's pipeline worker parts: the protocol service, job logs, the plugin
// registry and, when configured (LOCAL_SPACELET), a spacelet running inside the server.
type Spacelets struct {
	Dispatch *dispatch.Service
	Logs     *logstore.Store
	Plugins  *builtin.Registry
	// Local is the in-process spacelet (nil when LOCAL_SPACELET is off); it starts with Run.
	Local *spacelet.Agent
	// Checkout clones code for the local spacelet's jobs (git, pure Go).
	Checkout spacelet.Checkouter
}

// newSpacelets builds the worker parts; jobs of code workspaces check out the repository the
// pipeline workspace service reads (built before).
func (a *App) newSpacelets() *Spacelets {
	st := a.Store
	checkouts := dispatch.WorkspaceCheckouts{Workspaces: st.PipelineWorkspaces, Remotes: a.PipelineWorkspaces}
	s := &Spacelets{Plugins: builtin.Default(), Checkout: spacelet.GitCheckout{}}
	s.Dispatch = dispatch.New(dispatch.Deps{Spacelets: st.Spacelets, Tokens: st.SpaceletTokens, Dispatch: st.JobDispatch,
		Runs: st.PipelineRuns, Logs: st.JobLogs, Bus: a.Bus, Publish: a.Publish, Checkouts: checkouts, Log: a.log})
	s.Logs = logstore.New(logstore.Deps{Logs: st.JobLogs, Runs: st.PipelineRuns, Bus: a.Bus, Retention: a.Config.LogRetention, Log: a.log})
	return s
}

// api is what the API serves of them.
func (s *Spacelets) api() httpapi.SpaceletServices {
	return httpapi.SpaceletServices{Dispatch: s.Dispatch, Logs: s.Logs, Plugins: s.Plugins}
}

var nameUnsafe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// run runs the worker parts until ctx ends.
func (a *App) runSpacelets(ctx context.Context) error {
	s := a.Spacelets
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.Dispatch.Run(ctx) })
	g.Go(func() error { return s.Logs.Run(ctx) })
	if a.Config.RunLocalSpacelet() {
		host, _ := os.Hostname()
		name := "local-" + nameUnsafe.ReplaceAllString(host, "-")
		if len(name) > 100 {
			name = name[:100]
		}
		dir := filepath.Join(a.Config.DataDir, "spacelet")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("local spacelet: %w", err)
		}
		s.Local = spacelet.New(s.Dispatch.LocalPeer(), spacelet.Config{Name: name, Hostname: host, Capacity: 2,
			Labels: map[string]string{"kubespace.io/local": "true"}, DataDir: dir, Version: a.version, Plugins: s.Plugins,
			Checkout: s.Checkout, Log: a.log.With("component", "local-spacelet")})
		g.Go(func() error { return a.runLocalSpacelet(ctx, name, dir) })
	}
	return g.Wait()
}

// runLocalSpacelet runs the server's own spacelet. It needs no registration token: it gets a
// fresh credential at each start, and again when an admin removed it, so the server keeps
// running jobs (and keeps running) whatever happens to its spacelet.
func (a *App) runLocalSpacelet(ctx context.Context, name, dir string) error {
	s := a.Spacelets
	for {
		cred, err := s.Dispatch.LocalCredential(ctx, name)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "credential"), []byte(cred+"\n"), 0o600)
		}
		if err == nil {
			err = s.Local.Run(ctx)
		}
		if ctx.Err() != nil {
			return nil
		}
		a.log.WarnContext(ctx, "local spacelet stopped; starting it again", "error", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}
