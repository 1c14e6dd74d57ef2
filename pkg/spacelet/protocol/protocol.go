// Package protocol is the versioned contract between the KubeSpace server and its spacelets: the
// Peer interface a spacelet drives and the wire types. It is the only package the server and the
// spacelet share, and it imports nothing of either.
//
// The spacelet pulls: it registers once with a registration token and receives its own
// credential, then long-polls Next for jobs assigned to it, holds each job under a lease it
// extends while the job runs, streams the log in chunks and reports the result. It accepts no work
// on an inbound port. Over HTTP (see Paths) every request carries the header VersionHeader; a
// server that does not speak the version answers 400 with a message saying so.
package protocol

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Version is the protocol version this package describes.
const Version = "1"

// VersionHeader carries Version on every request.
const VersionHeader = "X-Kubespace-Spacelet-Protocol"

// CredentialPrefix starts every spacelet credential; RegistrationPrefix every registration token.
const (
	CredentialPrefix   = "ksw_"
	RegistrationPrefix = "ksr_"
)

// Paths of the HTTP binding, below /api/v1.
const (
	PathRegister  = "/spacelet/register"
	PathHeartbeat = "/spacelet/heartbeat"
	PathNext      = "/spacelet/next"
	// The job paths take the job id: fmt.Sprintf(PathExtend, id).
	PathExtend    = "/spacelet/jobs/%d/extend"
	PathLog       = "/spacelet/jobs/%d/log"
	PathDone      = "/spacelet/jobs/%d/done"
	PathCancelled = "/spacelet/jobs/%d/cancelled"
)

// Timings shared by both sides.
const (
	// LeaseDuration is how long a job stays the spacelet's without an Extend.
	LeaseDuration = 30 * time.Second
	// ExtendEvery is how often a spacelet extends the lease of each running job.
	ExtendEvery = 10 * time.Second
	// PollTimeout is how long Next and Cancelled wait before answering "nothing".
	PollTimeout = 30 * time.Second
	// HeartbeatEvery is how often a spacelet reports; the server marks one offline after 3 misses.
	HeartbeatEvery = 10 * time.Second
)

// ErrGone is returned when the job is no longer the spacelet's (finished by the server after a
// lost lease, or reassigned): the spacelet stops it and forgets it.
var ErrGone = errors.New("protocol: the job is no longer this spacelet's")

// ErrUnauthorized is returned when the credential or registration token is refused.
var ErrUnauthorized = errors.New("protocol: credential refused")

// Peer is the server as a spacelet sees it. Every method honours ctx; Next and Cancelled wait up
// to PollTimeout. Implementations: the HTTP client in package spacelet, and the server's
// dispatch service (in-process, for the embedded all-in-one mode and tests).
type Peer interface {
	// Register exchanges a registration token for a credential, or (Credential set instead of
	// Token) re-registers a known spacelet; either way it updates name, labels and capacity.
	Register(ctx context.Context, r RegisterRequest) (*RegisterResponse, error)
	// Heartbeat reports liveness and load; the answer says whether the spacelet is draining.
	Heartbeat(ctx context.Context, h Heartbeat) (*HeartbeatResponse, error)
	// Next returns a job assigned to this spacelet and starts its lease (the job is running from
	// then on), or nil when none came within PollTimeout.
	Next(ctx context.Context) (*Job, error)
	// Extend renews a job's lease and says whether it was cancelled.
	Extend(ctx context.Context, jobID int64) (*ExtendResponse, error)
	// Log appends data at offset; resending a chunk already stored is harmless. It returns the
	// size the server holds, which is where the next chunk starts.
	Log(ctx context.Context, jobID, offset int64, data []byte) (int64, error)
	// Done reports the result. Repeating it is harmless.
	Done(ctx context.Context, jobID int64, r Result) error
	// Cancelled waits until the job is cancelled (true) or PollTimeout passes (false).
	Cancelled(ctx context.Context, jobID int64) (bool, error)
}

// RegisterRequest introduces a spacelet.
type RegisterRequest struct {
	// Token is a registration token (first start) ...
	Token string `json:"token,omitempty"`
	// ... or Credential the spacelet's own credential (later starts).
	Credential string            `json:"credential,omitempty"`
	Name       string            `json:"name"`
	Hostname   string            `json:"hostname"`
	Labels     map[string]string `json:"labels"`
	Capacity   int               `json:"capacity"`
	Version    string            `json:"version"`
	OS         string            `json:"os"`
	Arch       string            `json:"arch"`
}

// RegisterResponse carries the spacelet's identity; Credential is set only when it is new.
type RegisterResponse struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	Credential string `json:"credential,omitempty"`
}

// Heartbeat is a spacelet's periodic report.
type Heartbeat struct {
	Running  int `json:"running"`
	Capacity int `json:"capacity"`
}

// HeartbeatResponse is the server's answer.
type HeartbeatResponse struct {
	// Draining: take no new jobs (Next returns none); running ones finish.
	Draining bool `json:"draining"`
}

// Job is work assigned to a spacelet.
type Job struct {
	ID        int64           `json:"id"`
	RunID     int64           `json:"run_id"`
	Name      string          `json:"name"`
	PluginKey string          `json:"plugin_key"`
	Params    json.RawMessage `json:"params"`
	// Env is the job's environment: the stage's variables (PIPELINE_*, parameters, earlier
	// outputs) and secret values the job was given.
	Env map[string]string `json:"env"`
	// Mask lists values that must never appear in the log (secret values in Env).
	Mask []string `json:"mask,omitempty"`
	// TimeoutSeconds bounds the job (0: the spacelet's default).
	TimeoutSeconds int `json:"timeout_seconds"`
	// LogOffset is where the log continues (non-zero when a job is retried in place).
	LogOffset int64 `json:"log_offset"`
	// Checkout, when set, is cloned into the job's directory before the plugin runs (jobs of
	// code workspaces), at Commit.
	Checkout *Checkout `json:"checkout,omitempty"`
}

// Checkout is a repository at one commit, with what it takes to read it. The credential travels
// only to the spacelet the job is assigned to, and its values are in the job's Mask.
type Checkout struct {
	URL    string `json:"url"`
	Branch string `json:"branch"`
	Commit string `json:"commit"`
	// Username with Password (or a token as the password), or PrivateKey (PEM) for SSH.
	Username   string `json:"username,omitempty"`
	Password   string `json:"password,omitempty"`
	PrivateKey string `json:"private_key,omitempty"`
	// KnownHosts pins SSH host keys; the Insecure flags are the workspace owner's explicit opt-outs.
	KnownHosts            string `json:"known_hosts,omitempty"`
	InsecureSkipTLSVerify bool   `json:"insecure_skip_tls_verify,omitempty"`
	InsecureIgnoreHostKey bool   `json:"insecure_ignore_host_key,omitempty"`
}

// ExtendResponse answers Extend.
type ExtendResponse struct {
	Cancelled bool `json:"cancelled"`
}

// Result statuses.
const (
	ResultOK       = "ok"
	ResultError    = "error"
	ResultCanceled = "canceled"
)

// Result is how a job ended.
type Result struct {
	Status   string            `json:"status"`
	Message  string            `json:"message"`
	ExitCode int               `json:"exit_code"`
	Outputs  map[string]string `json:"outputs,omitempty"`
}
