package run

import (
	"encoding/json"
	"strings"

	"github.com/kubespace/kubespace/pkg/pipeline"
)

// Env is a set of variables (a run's, a stage's, a job's outputs).
type Env = map[string]string

// identityVar reports whether a variable is the platform's (PIPELINE_*): start parameters may
// not set those.
func identityVar(name string) bool {
	return strings.HasPrefix(name, pipeline.ReservedPrefix)
}

// runEnvInput is what the run environment is made of: pipeline.RunInfo plus the run's own
// variables given at start.
type runEnvInput struct {
	Info   pipeline.RunInfo
	Params Env
}

// runEnv builds the variables every stage of a run sees (pipeline.RunEnv), with the start
// request's variables added (they cannot be PIPELINE_*: checkParams refuses those).
func runEnv(in runEnvInput) Env {
	e := pipeline.RunEnv(in.Info)
	for k, v := range in.Params {
		e[k] = v
	}
	return e
}

// decodeEnv reads a JSON object of strings ("" or null: empty).
func decodeEnv(s string) Env {
	e := Env{}
	if s != "" {
		_ = json.Unmarshal([]byte(s), &e)
	}
	if e == nil {
		e = Env{}
	}
	return e
}

// encode writes v as JSON (maps of strings and plain structs never fail).
func encode(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
