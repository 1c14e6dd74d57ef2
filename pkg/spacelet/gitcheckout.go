package spacelet

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/kubespace/kubespace/pkg/gitrepo"
	"github.com/kubespace/kubespace/pkg/spacelet/protocol"
)

// GitCheckout clones a job's repository with pkg/gitrepo (pure Go: no git binary needed). The
// credential stays out of the job's files.
type GitCheckout struct{}

var _ Checkouter = GitCheckout{}

// Checkout implements Checkouter.
func (GitCheckout) Checkout(ctx context.Context, dir string, co protocol.Checkout, log io.Writer) error {
	r := gitrepo.Remote{URL: co.URL, Username: co.Username, Password: co.Password, PrivateKey: co.PrivateKey,
		KnownHosts: co.KnownHosts, InsecureIgnoreHostKey: co.InsecureIgnoreHostKey, InsecureSkipTLSVerify: co.InsecureSkipTLSVerify}
	c, err := gitrepo.Checkout(ctx, r, dir, co.Branch, co.Commit)
	if err != nil {
		return err
	}
	subject, _, _ := strings.Cut(c.Message, "\n")
	fmt.Fprintf(log, "[kubespace] checked out %s (%s) by %s\n", c.Hash[:min(12, len(c.Hash))], strings.TrimSpace(subject), c.Author)
	return nil
}
