package httpapi_test

import (
	"testing"

	"github.com/kubespace/kubespace/internal/apitest"
)

// Hooks through which each area's test file adds its fixtures to the shared permission world
// and bad-input helpers (in an init function), so adding an area edits no shared test file.
var (
	// personaGrants give a persona's user (uid) its roles in the scopes of an area, for the
	// target cluster target (permWorld.build).
	personaGrants []func(t *testing.T, w *permWorld, uid int64, p persona, target int64)
	// objectMakers create the object a ":id" after the segment names, as admin, and return its
	// id (objectPath).
	objectMakers = map[string]func(t testing.TB, admin *apitest.Client) int64{}
	// paramMakers fill in a path parameter other than ":id", given the concrete segments before
	// it (objectPath).
	paramMakers = map[string]func(t testing.TB, admin *apitest.Client, before []string) string{}
)
