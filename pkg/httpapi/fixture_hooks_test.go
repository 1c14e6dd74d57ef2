package httpapi_test

import (
	"testing"

	"github.com/kubespace/kubespace/internal/apitest"
)

// Hooks through which an area's test file adds fixtures to the shared bad-input helpers (in an
// init function), so adding an area edits no shared test file.
var (
	// objectMakers create the object a ":id" after the segment names, as admin, and return its
	// id (objectPath).
	objectMakers = map[string]func(t testing.TB, admin *apitest.Client) int64{}
	// paramMakers fill in a path parameter other than ":id", given the concrete segments before
	// it (objectPath).
	paramMakers = map[string]func(t testing.TB, admin *apitest.Client, before []string) string{}
)
