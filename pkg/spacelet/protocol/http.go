package protocol

// Bodies and error codes of the HTTP binding that have no Peer type of their own.

// LogAnswer answers a log append (POST PathLog?offset=N, the chunk as the raw body): the size
// the server holds.
type LogAnswer struct {
	Size int64 `json:"size"`
}

// CancelledAnswer answers a cancel poll (GET PathCancelled).
type CancelledAnswer struct {
	Cancelled bool `json:"cancelled"`
}

// Error codes the spacelet acts on (the body of an error answer is {"code", "message"}).
const (
	// CodeJobGone (404): the job is no longer this spacelet's (ErrGone).
	CodeJobGone = "job_gone"
	// CodeLogGap (409): a log chunk starts past the end of the stored log.
	CodeLogGap = "log_gap"
	// CodeVersion (400): the server does not speak the request's protocol version.
	CodeVersion = "protocol_version"
)

// NextAnswer answers a job poll (POST PathNext): Job is null when none came within the poll.
type NextAnswer struct {
	Job *Job `json:"job"`
}
