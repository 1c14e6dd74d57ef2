package resources

import (
	"testing"

	"github.com/kubespace/kubespace/internal/kubetestenv"
)

// TestMain releases the kube-testenv clusters the tests started (see internal/kubetestenv).
func TestMain(m *testing.M) { kubetestenv.Main(m) }
