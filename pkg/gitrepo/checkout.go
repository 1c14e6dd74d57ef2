package gitrepo

import (
	"context"
	"fmt"
	"os"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/kubespace/kubespace/pkg/errs"
)

// Checkout puts the repository's files at a commit into dir (created if missing; it must be
// empty) and returns the commit. With commit empty it takes the tip of branch. Only what the
// commit needs is fetched where the server allows it (the commit alone, or the branch's last
// commit); otherwise the branch's history. Submodules are not fetched.
//
// The spacelet calls it before a job of a code workspace runs; the credential never reaches
// the job's files (no remote configuration is written with it).
func Checkout(ctx context.Context, r Remote, dir, branch, commit string) (*Commit, error) {
	if commit != "" && !hashPattern.MatchString(commit) {
		return nil, errs.Field("commit", "must be a full 40-character commit hash in lower case")
	}
	if branch == "" && commit == "" {
		return nil, errs.Field("branch", "is required when no commit is given")
	}
	if err := emptyDir(dir); err != nil {
		return nil, err
	}
	var c *Commit
	err := r.run(ctx, "checkout", func(ctx context.Context, o *options) error {
		repo, err := git.PlainInit(dir, false)
		if err != nil {
			return fmt.Errorf("init %s: %w", dir, err)
		}
		hash, err := fetchCommit(ctx, repo, r, o, branch, commit)
		if err != nil {
			return err
		}
		obj, err := repo.CommitObject(hash)
		if err != nil {
			return notFound(branch, commit)
		}
		wt, err := repo.Worktree()
		if err != nil {
			return fmt.Errorf("worktree: %w", err)
		}
		// A local branch named like the remote one, so tools that ask git for the branch
		// (git rev-parse --abbrev-ref HEAD) see it.
		opts := &git.CheckoutOptions{Hash: hash, Force: true}
		if branch != "" {
			opts.Branch, opts.Create = plumbing.NewBranchReferenceName(branch), true
			opts.Hash = hash
		}
		if err := wt.Checkout(opts); err != nil {
			return fmt.Errorf("check out %s: %w", hash, err)
		}
		c = describe(obj)
		return nil
	})
	return c, err
}

// emptyDir creates dir or checks that it holds nothing.
func emptyDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("checkout directory: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("checkout directory: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("checkout directory %s is not empty", dir)
	}
	return nil
}
