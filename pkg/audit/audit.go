// Package audit keeps the audit log: every mutating request, login, failed login and permission
// denial, with secrets redacted before anything is stored.
package audit

import (
	"context"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kubespace/kubespace/pkg/store"
)

// Log records and queries audit events.
type Log struct {
	events    store.AuditEvents
	retention time.Duration
	log       *slog.Logger
	now       func() time.Time
}

// New returns the audit log; events older than retention are pruned by Run.
func New(events store.AuditEvents, retention time.Duration, log *slog.Logger) *Log {
	return &Log{events: events, retention: retention, log: log, now: time.Now}
}

// Record stores an event. A failure is logged, not returned: the change it describes has already
// happened and must not be reported to its author as failed.
func (l *Log) Record(ctx context.Context, e *store.AuditEvent) {
	if e.Time.IsZero() {
		e.Time = l.now().UTC()
	}
	// Cut every client-supplied value to its column: a value that does not fit would cost the
	// whole record on MySQL (a failed login with a long username, a long path).
	e.Summary = truncate(e.Summary, maxSummary)
	e.ResourceName = truncate(e.ResourceName, 255)
	e.Path = truncate(e.Path, 512)
	e.Username = truncate(e.Username, 64)
	e.ResourceID = truncate(e.ResourceID, 64)
	e.IP = truncate(e.IP, 64)
	// The request may have been cancelled by the client; the record must still be written.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := l.events.Create(ctx, e); err != nil {
		l.log.ErrorContext(ctx, "audit record failed", "error", err, "action", e.Action, "resource_type", e.ResourceType)
	}
}

// List queries the log.
func (l *Log) List(ctx context.Context, f store.AuditFilter, opts store.ListOptions) (store.Page[store.AuditEvent], error) {
	if opts.Sort == "" {
		opts.Sort = "-time"
	}
	return l.events.List(ctx, f, opts)
}

// Run prunes events past retention every hour until ctx ends.
func (l *Log) Run(ctx context.Context) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := l.events.DeleteBefore(ctx, l.now().Add(-l.retention)); err != nil {
			l.log.WarnContext(ctx, "audit prune failed", "error", err)
		} else if n > 0 {
			l.log.InfoContext(ctx, "audit events pruned", "count", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// truncate returns s as valid UTF-8 of at most n bytes (so also at most n characters), ending
// in "…" when cut. MySQL's utf8mb4 columns refuse broken UTF-8, which a path can carry.
func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	const ellipsis = "…"
	n -= len(ellipsis)
	// Cut on a rune boundary.
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + ellipsis
}
