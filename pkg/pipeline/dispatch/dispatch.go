// Package dispatch is the server side of the spacelet protocol: it authenticates spacelets by
// their credential (only its hash is stored), registers them with registration tokens, records
// heartbeats, hands each spacelet the jobs the run controller assigned to it (a long poll woken
// by the bus), extends leases, appends log chunks, records results and answers cancel polls.
// Every change of a job goes through the store's conditional transitions (store.JobDispatch), so
// a job starts and finishes once however many server replicas answer.
package dispatch

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/kubespace/kubespace/pkg/eventbus"
	"github.com/kubespace/kubespace/pkg/events"
	"github.com/kubespace/kubespace/pkg/pipeline/nudge"
	"github.com/kubespace/kubespace/pkg/spacelet/protocol"
	"github.com/kubespace/kubespace/pkg/store"
)

// Checkouts says what a spacelet clones before a job of a code workspace runs: the repository
// URL, the run's branch and commit, and the decrypted credentials. It returns nil for runs with
// no code (custom workspaces). The pipeline workspace service provides it.
type Checkouts interface {
	Checkout(ctx context.Context, run *store.PipelineRun) (*protocol.Checkout, error)
}

// Deps are the service's collaborators.
type Deps struct {
	Spacelets store.Spacelets
	Tokens    store.SpaceletTokens
	Dispatch  store.JobDispatch
	Runs      store.PipelineRuns
	Logs      store.JobLogs
	Bus       eventbus.Bus
	// Publish sends live updates (nil: none).
	Publish *events.Publisher
	// Checkouts may be nil: jobs then carry no checkout.
	Checkouts Checkouts
	Log       *slog.Logger
	// PollTimeout overrides protocol.PollTimeout (tests).
	PollTimeout time.Duration
	// Recheck is how often a waiting poll re-reads the database without a nudge (default 5s),
	// which bounds the delay a lost nudge causes.
	Recheck time.Duration
	Now     func() time.Time
}

// Service implements the protocol for authenticated spacelets. It is safe for concurrent use.
type Service struct {
	d        Deps
	assigned *nudge.Waiters
	cancels  *nudge.Waiters
}

// New returns the service; Run must run for long polls to wake on nudges.
func New(d Deps) *Service {
	if d.PollTimeout <= 0 {
		d.PollTimeout = protocol.PollTimeout
	}
	if d.Recheck <= 0 {
		d.Recheck = 5 * time.Second
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{d: d, assigned: nudge.NewWaiters(), cancels: nudge.NewWaiters()}
}

// Run follows the assignment and cancel nudges until ctx ends, so long polls wake at once. Any
// number of replicas may run it. (Marking silent spacelets offline is the spacelet health
// controller's: pkg/controller/spacelets.)
func (s *Service) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.assigned.Follow(ctx, s.d.Bus, nudge.TopicAssigned, s.d.Log) })
	g.Go(func() error { return s.cancels.Follow(ctx, s.d.Bus, nudge.TopicCancel, s.d.Log) })
	return g.Wait()
}

// OfflineAfter is how long a spacelet may stay silent before it counts as offline (three
// missed heartbeats); a name held by a spacelet seen more recently is not given to another.
const OfflineAfter = 3 * protocol.HeartbeatEvery

func (s *Service) publishSpacelet(ctx context.Context, id int64, status string) {
	if s.d.Publish != nil {
		_ = s.d.Publish.Publish(ctx, events.Event{Kind: events.KindSpacelet, ObjectID: id, Status: status})
	}
}

// hash is the stored form of a credential or registration token.
func hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// newSecret returns prefix + 32 random bytes, URL-safe.
func newSecret(prefix string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}
