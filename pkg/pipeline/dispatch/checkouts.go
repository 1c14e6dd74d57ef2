package dispatch

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/kubespace/kubespace/pkg/gitrepo"
	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/spacelet/protocol"
	"github.com/kubespace/kubespace/pkg/store"
)

// Remotes reads a code workspace's repository with its decrypted credentials (the pipeline
// workspace service).
type Remotes interface {
	Remote(ctx context.Context, workspaceID int64) (gitrepo.Remote, error)
}

// WorkspaceCheckouts is Checkouts for runs of code workspaces: the repository and credentials
// of the run's workspace, at the branch and commit the run recorded (PIPELINE_CODE_BRANCH,
// PIPELINE_CODE_COMMIT_ID). Runs of custom workspaces, and runs without code, check out nothing.
type WorkspaceCheckouts struct {
	Workspaces store.PipelineWorkspaces
	Remotes    Remotes
}

// Checkout implements Checkouts.
func (c WorkspaceCheckouts) Checkout(ctx context.Context, run *store.PipelineRun) (*protocol.Checkout, error) {
	w, err := c.Workspaces.Get(ctx, run.WorkspaceID)
	if err != nil {
		return nil, err
	}
	if w.Type != store.WorkspaceCode {
		return nil, nil
	}
	env := map[string]string{}
	if run.Env != "" {
		if err := json.Unmarshal([]byte(run.Env), &env); err != nil {
			return nil, fmt.Errorf("environment of run %d: %w", run.ID, err)
		}
	}
	branch, commit := env[pipeline.EnvCodeBranch], env[pipeline.EnvCodeCommitID]
	if branch == "" && commit == "" {
		return nil, nil
	}
	r, err := c.Remotes.Remote(ctx, w.ID)
	if err != nil {
		return nil, fmt.Errorf("repository of pipeline workspace %q: %w", w.Name, err)
	}
	if r.Passphrase != "" {
		return nil, fmt.Errorf("the SSH key of pipeline workspace %q has a passphrase, which spacelets cannot use: store the key without one", w.Name)
	}
	return &protocol.Checkout{URL: r.URL, Branch: branch, Commit: commit, Username: r.Username, Password: r.Password,
		PrivateKey: r.PrivateKey, KnownHosts: r.KnownHosts, InsecureSkipTLSVerify: r.InsecureSkipTLSVerify,
		InsecureIgnoreHostKey: r.InsecureIgnoreHostKey}, nil
}
