// Package systemtest drives KubeSpace's binaries as real processes through the public API: several
// replicas on one MariaDB and Redis, and (as they land) the controller-manager, spacelets and
// kube-agents.
package systemtest

import (
	"os"
	"testing"

	"github.com/kubespace/kubespace/internal/kubetestenv"
	"github.com/kubespace/kubespace/internal/proctest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	kubetestenv.Release()
	proctest.Cleanup()
	os.Exit(code)
}
