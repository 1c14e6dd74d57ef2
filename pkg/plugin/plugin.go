// Package plugin defines what a pipeline job does: a Plugin has a key, a JSON Schema of its
// parameters (which the server validates definitions against and the console draws forms from)
// and a Run the spacelet executes. Plugins never import server packages.
package plugin

import (
	"context"
	"encoding/json"
	"io"
)

// Plugin is one kind of job.
type Plugin interface {
	// Key is the plugin's stable identifier in definitions ("execute_shell").
	Key() string
	// Name is a short human name.
	Name() string
	// Schema is the JSON Schema (draft 2020-12) of the job's params.
	Schema() json.RawMessage
	// Run executes one job. It returns the outputs; an error fails the job with its message (an
	// ExitError carries the process's exit code). Cancellation and the timeout arrive through
	// ctx; Run must stop promptly and leave no process behind.
	Run(ctx context.Context, job *Job) (map[string]string, error)
}

// Job is what a plugin gets to run.
type Job struct {
	ID     int64
	Params json.RawMessage
	// Env is the job's environment (stage variables, parameters, secrets).
	Env map[string]string
	// Dir is the job's own, empty work directory; it is removed after the job.
	Dir string
	// Log receives the job's output; secret values are masked on the way.
	Log io.Writer
}

// ExitError is a failure with a process exit code.
type ExitError struct {
	Code int
	Msg  string
}

func (e *ExitError) Error() string { return e.Msg }
