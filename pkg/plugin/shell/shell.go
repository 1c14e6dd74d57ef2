// Package shell is the execute_shell plugin: it runs a bash or sh script in the job's directory
// with the job's environment. Lines KEY=VALUE the script writes to the file named by
// $PIPELINE_OUTPUT become the job's output variables; the exit code decides the result. The
// script runs in its own process group, and cancellation, the timeout and the script's end all
// kill that whole group, so no background process outlives its job.
package shell

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/kubespace/kubespace/pkg/plugin"
)

// Key is the plugin's key in definitions.
const Key = "execute_shell"

// OutputEnv names the file a script writes its output variables to.
const OutputEnv = "PIPELINE_OUTPUT"

// maxOutputFile bounds the output file read back (outputs are variables, not artifacts).
const maxOutputFile = 1 << 20

// waitDelay bounds how long the output is still copied after the script ended.
const waitDelay = 500 * time.Millisecond

// killGrace is how long a cancelled script gets between SIGTERM and SIGKILL.
const killGrace = 300 * time.Millisecond

// Params are the job's parameters.
type Params struct {
	Script string `json:"script"`
	// Shell is bash (default) or sh.
	Shell string `json:"shell,omitempty"`
}

var schema = json.RawMessage(`{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "properties": {
    "script": {"type": "string", "minLength": 1, "title": "Script",
      "description": "Runs in the job directory with the stage environment; write KEY=VALUE lines to $PIPELINE_OUTPUT to pass variables to later stages"},
    "shell": {"type": "string", "enum": ["bash", "sh"], "default": "bash", "title": "Shell"}
  },
  "required": ["script"],
  "additionalProperties": false
}`)

// baseEnv are the variables of the spacelet's own environment a script inherits; everything else
// (the spacelet's registration token among it) stays out of jobs.
var baseEnv = []string{"PATH", "HOME", "USER", "LANG", "LC_ALL", "TZ", "TMPDIR", "SHELL"}

var keyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Plugin runs shell scripts. It holds no state and is safe for concurrent use.
type Plugin struct{}

// New returns the plugin.
func New() *Plugin { return &Plugin{} }

var _ plugin.Plugin = (*Plugin)(nil)

// Key implements plugin.Plugin.
func (*Plugin) Key() string { return Key }

// Name implements plugin.Plugin.
func (*Plugin) Name() string { return "Shell script" }

// Schema implements plugin.Plugin.
func (*Plugin) Schema() json.RawMessage { return schema }

// ParseParams decodes and checks params strictly: unknown fields, a missing script and an
// unknown shell are errors naming the field.
func ParseParams(raw json.RawMessage) (Params, error) {
	var p Params
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, fmt.Errorf("execute_shell params: %w", err)
	}
	if strings.TrimSpace(p.Script) == "" {
		return p, errors.New("execute_shell params: script is required")
	}
	switch p.Shell {
	case "":
		p.Shell = "bash"
	case "bash", "sh":
	default:
		return p, fmt.Errorf("execute_shell params: shell must be bash or sh, got %q", p.Shell)
	}
	return p, nil
}

// Run implements plugin.Plugin.
func (pl *Plugin) Run(ctx context.Context, job *plugin.Job) (map[string]string, error) {
	p, err := ParseParams(job.Params)
	if err != nil {
		return nil, err
	}
	shellPath, err := exec.LookPath(p.Shell)
	if err != nil {
		return nil, fmt.Errorf("shell %s is not installed on this spacelet", p.Shell)
	}
	// The script and the output file live beside the job directory, not in it: the directory
	// is the checkout, and the script must not show up in it.
	tmp, err := os.MkdirTemp("", "ks-shell-")
	if err != nil {
		return nil, fmt.Errorf("prepare script: %w", err)
	}
	defer os.RemoveAll(tmp)
	script := filepath.Join(tmp, "script")
	out := filepath.Join(tmp, "output")
	if err := os.WriteFile(script, []byte(p.Script), 0o600); err != nil {
		return nil, fmt.Errorf("prepare script: %w", err)
	}
	if err := os.WriteFile(out, nil, 0o600); err != nil {
		return nil, fmt.Errorf("prepare output file: %w", err)
	}
	args := []string{shellPath}
	if p.Shell == "bash" {
		args = append(args, "--noprofile", "--norc")
	}
	args = append(args, "-e", script)
	cmd := &exec.Cmd{Path: shellPath, Args: args, Dir: job.Dir, Env: environ(job, out)}
	cmd.Stdin = nil
	logw := job.Log
	if logw == nil {
		logw = io.Discard
	}
	cmd.Stdout, cmd.Stderr = logw, logw
	cmd.SysProcAttr = sysProcAttr()
	// A background process still holding the output pipe must not keep the job open once
	// the script has ended; the group is killed right after anyway.
	cmd.WaitDelay = waitDelay
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", p.Shell, err)
	}
	pgid := cmd.Process.Pid
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var werr error
	select {
	case werr = <-waited:
	case <-ctx.Done():
		stopGroup(pgid, waited)
		killGroup(pgid)
		return nil, fmt.Errorf("script stopped: %w", context.Cause(ctx))
	}
	// Whatever the script left running in the background ends with it.
	killGroup(pgid)
	if errors.Is(werr, exec.ErrWaitDelay) {
		werr = nil // the script succeeded; a leftover held its output open (and is gone now)
	}
	if werr != nil {
		var ee *exec.ExitError
		if errors.As(werr, &ee) {
			code := ee.ExitCode()
			if code < 0 {
				return nil, &plugin.ExitError{Code: 128 + int(signalOf(ee)), Msg: fmt.Sprintf("script killed by %s", ee.String())}
			}
			return nil, &plugin.ExitError{Code: code, Msg: fmt.Sprintf("script exited with code %d", code)}
		}
		return nil, fmt.Errorf("run script: %w", werr)
	}
	outputs, err := readOutputs(out, logw)
	if err != nil {
		return nil, err
	}
	return outputs, nil
}

// stopGroup asks the group to end, then kills it if the leader has not exited within killGrace.
// It returns once the leader has been waited for (its output copied).
func stopGroup(pgid int, waited <-chan error) {
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-waited:
		return
	case <-time.After(killGrace):
	}
	killGroup(pgid)
	<-waited // bounded by waitDelay once the leader is gone
}

func killGroup(pgid int) { _ = syscall.Kill(-pgid, syscall.SIGKILL) }

func signalOf(ee *exec.ExitError) syscall.Signal {
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ws.Signal()
	}
	return 0
}

// environ is the script's environment: a few variables of the spacelet's own, the job's, and
// PIPELINE_OUTPUT.
func environ(job *plugin.Job, out string) []string {
	env := map[string]string{}
	for _, k := range baseEnv {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	if env["PATH"] == "" {
		env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
	}
	for k, v := range job.Env {
		env[k] = v
	}
	env[OutputEnv] = out
	env["PIPELINE_WORKDIR"] = job.Dir
	list := make([]string, 0, len(env))
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	return list
}

// readOutputs parses KEY=VALUE lines; blank lines and # comments are skipped, and malformed
// lines are reported in the log and skipped. A later line wins over an earlier one.
func readOutputs(path string, log io.Writer) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", OutputEnv, err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(io.LimitReader(f, maxOutputFile))
	sc.Buffer(make([]byte, 64*1024), maxOutputFile)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(k), "export "))
		if !ok || !keyRE.MatchString(k) {
			fmt.Fprintf(log, "\n[kubespace] ignoring line %d of $%s: not KEY=VALUE\n", n, OutputEnv)
			continue
		}
		out[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", OutputEnv, err)
	}
	return out, nil
}
