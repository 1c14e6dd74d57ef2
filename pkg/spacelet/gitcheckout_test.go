package spacelet_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/gittest"
	"github.com/kubespace/kubespace/pkg/spacelet"
	"github.com/kubespace/kubespace/pkg/spacelet/protocol"
)

// A job's code is checked out from a real git http-backend behind basic auth, at the commit the
// run names (not the branch's newer tip), with no credential left in the work directory.
func TestGitCheckout(t *testing.T) {
	repos := gittest.New(t)
	repo := repos.Create("app.git")
	first := repo.Commit("main", "first version", map[string]string{"VERSION": "1"})
	repo.Commit("main", "second version", map[string]string{"VERSION": "2"})
	srv := repos.ServeHTTP(gittest.HTTPOptions{Username: "ci", Password: "s3cret-pass"})
	dir := filepath.Join(t.TempDir(), "job")
	var log bytes.Buffer
	err := spacelet.GitCheckout{}.Checkout(context.Background(), dir,
		protocol.Checkout{URL: srv.RepoURL("app.git"), Branch: "main", Commit: first, Username: "ci", Password: "s3cret-pass"}, &log)
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(dir, "VERSION"))
	require.NoError(t, err)
	require.Equal(t, "1", string(b))
	require.Contains(t, log.String(), "checked out "+first[:12]+" (first version)")
	cfg, err := os.ReadFile(filepath.Join(dir, ".git", "config"))
	require.NoError(t, err)
	require.NotContains(t, string(cfg), "s3cret-pass")

	err = spacelet.GitCheckout{}.Checkout(context.Background(), filepath.Join(t.TempDir(), "x"),
		protocol.Checkout{URL: srv.RepoURL("app.git"), Branch: "main", Username: "ci", Password: "wrong"}, &log)
	require.Error(t, err)
}
