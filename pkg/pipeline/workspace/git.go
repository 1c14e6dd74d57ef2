package workspace

import (
	"context"
	"fmt"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/gitrepo"
	"github.com/kubespace/kubespace/pkg/store"
)

// Remote returns how to read a code workspace's repository: its URL, the opened secret and
// the verification settings. The run service puts it in a job's checkout; the triggers poll
// with it. It holds credentials: never log or return it.
func (s *Service) Remote(ctx context.Context, id int64) (gitrepo.Remote, error) {
	w, err := s.st.PipelineWorkspaces.Get(ctx, id)
	if err != nil {
		return gitrepo.Remote{}, err
	}
	if w.Type != store.WorkspaceCode {
		return gitrepo.Remote{}, errs.Unprocessablef("pipeline workspace %q is a custom workspace: it has no repository", w.Name).WithCode("not_code_workspace")
	}
	return s.remoteOf(ctx, w)
}

func (s *Service) remoteOf(ctx context.Context, w *store.PipelineWorkspace) (gitrepo.Remote, error) {
	r := gitrepo.Remote{URL: w.CodeURL, KnownHosts: w.KnownHosts, InsecureIgnoreHostKey: w.InsecureIgnoreHostKey,
		InsecureSkipTLSVerify: w.InsecureSkipTLSVerify, Timeout: s.gitTO}
	if w.CodeSecretID == 0 {
		return r, nil
	}
	m, err := s.sec.Open(ctx, w.CodeSecretID)
	if errs.Is(err, errs.NotFound) {
		return r, errs.Field("code_secret_id", "names secret %d, which does not exist", w.CodeSecretID)
	}
	if err != nil {
		return r, fmt.Errorf("open secret %d: %w", w.CodeSecretID, err)
	}
	switch m.Type {
	case "password":
		r.Username, r.Password = m.Username, m.Password
	case "token":
		r.Username, r.Password = m.Username, m.Token
	case "ssh_key":
		r.Username, r.PrivateKey = m.Username, m.PrivateKey
	}
	if gitrepo.IsSSH(r.URL) && r.PrivateKey == "" {
		return r, errs.Field("code_secret_id", "must be an SSH key secret for an SSH repository URL")
	}
	if !gitrepo.IsSSH(r.URL) && r.PrivateKey != "" {
		return r, errs.Field("code_secret_id", "must be a password or token secret for an HTTP(S) repository URL")
	}
	return r, nil
}

// Branches lists a code workspace's branches, read from the repository now.
func (s *Service) Branches(ctx context.Context, id int64) ([]gitrepo.Branch, error) {
	w, err := s.st.PipelineWorkspaces.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if w.Type != store.WorkspaceCode {
		return []gitrepo.Branch{}, nil // a custom workspace has no repository, so no branches
	}
	return s.branchesOf(ctx, w)
}

func (s *Service) branchesOf(ctx context.Context, w *store.PipelineWorkspace) ([]gitrepo.Branch, error) {
	r, err := s.remoteOf(ctx, w)
	if err != nil {
		return nil, err
	}
	return gitrepo.ListBranches(ctx, r)
}

// ResolveCommit describes a commit of a code workspace's repository (the tip of branch when
// commit is empty), for run variables.
func (s *Service) ResolveCommit(ctx context.Context, id int64, branch, commit string) (*gitrepo.Commit, error) {
	r, err := s.Remote(ctx, id)
	if err != nil {
		return nil, err
	}
	return gitrepo.ResolveCommit(ctx, r, branch, commit)
}
