package httpapi_test

import (
	"testing"

	"github.com/kubespace/kubespace/pkg/kubetestenv"
)

// TestMain releases the kube-testenv clusters the tests started (see pkg/kubetestenv).
func TestMain(m *testing.M) { kubetestenv.Main(m) }
