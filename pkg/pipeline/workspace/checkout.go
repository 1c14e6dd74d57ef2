package workspace

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/spacelet/protocol"
	"github.com/kubespace/kubespace/pkg/store"
)

// Checkout says what a spacelet clones before a job of the run starts (dispatch.Checkouts):
// the code workspace's repository at the run's commit (PIPELINE_CODE_BRANCH and
// PIPELINE_CODE_COMMIT_ID of the run's environment), with the credential to read it. Runs of
// custom workspaces, and runs without a commit, have none (nil).
func (s *Service) Checkout(ctx context.Context, run *store.PipelineRun) (*protocol.Checkout, error) {
	var env map[string]string
	if run.Env != "" {
		if err := json.Unmarshal([]byte(run.Env), &env); err != nil {
			return nil, errs.Wrap(errs.Internal, err, "run %d has an unreadable environment", run.ID)
		}
	}
	commit := env[pipeline.EnvCodeCommitID]
	if commit == "" {
		return nil, nil
	}
	w, err := s.st.PipelineWorkspaces.Get(ctx, run.WorkspaceID)
	if err != nil {
		return nil, fmt.Errorf("workspace of run %d: %w", run.ID, err)
	}
	if w.Type != store.WorkspaceCode {
		return nil, nil
	}
	r, err := s.remoteOf(ctx, w)
	if err != nil {
		return nil, err
	}
	return &protocol.Checkout{URL: r.URL, Branch: env[pipeline.EnvCodeBranch], Commit: commit, Username: r.Username, Password: r.Password,
		PrivateKey: r.PrivateKey, KnownHosts: r.KnownHosts, InsecureSkipTLSVerify: r.InsecureSkipTLSVerify,
		InsecureIgnoreHostKey: r.InsecureIgnoreHostKey}, nil
}
