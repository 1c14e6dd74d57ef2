package database

import (
	"context"
	"time"

	"github.com/kubespace/kubespace/pkg/store"
)

// auditStore implements store.AuditEvents.
type auditStore struct{ d *DB }

var _ store.AuditEvents = (*auditStore)(nil)

func auditListSpec() *listSpec[store.AuditEvent] {
	return &listSpec[store.AuditEvent]{
		entity:   "audit events",
		idColumn: "audit_events.id",
		id:       func(e *store.AuditEvent) int64 { return e.ID },
		sorts: map[string]sortKey[store.AuditEvent]{
			"id":   {column: "audit_events.id", kind: kindInt, value: func(e *store.AuditEvent) any { return e.ID }},
			"time": {column: "audit_events.time", kind: kindTime, value: func(e *store.AuditEvent) any { return e.Time }},
		},
		defaultSort: "-time",
		search:      []string{"audit_events.summary", "audit_events.resource_name"},
	}
}

// Create implements store.AuditEvents. A zero Time means now.
func (s *auditStore) Create(ctx context.Context, e *store.AuditEvent) error {
	if e.Time.IsZero() {
		e.Time = normTime(time.Now())
	}
	return dbErr(s.d.conn(ctx).Create(e).Error, "create", "audit event")
}

// List implements store.AuditEvents. Since is inclusive and Until exclusive.
func (s *auditStore) List(ctx context.Context, f store.AuditFilter, opts store.ListOptions) (store.Page[store.AuditEvent], error) {
	q := s.d.conn(ctx).Table("audit_events")
	for _, c := range []struct{ column, value string }{
		{"audit_events.scope", f.Scope},
		{"audit_events.username", f.Username},
		{"audit_events.action", f.Action},
		{"audit_events.resource_type", f.ResourceType},
		{"audit_events.result", f.Result},
	} {
		if c.value != "" {
			q = q.Where(c.column+" = ?", c.value)
		}
	}
	if f.ScopeID != nil {
		q = q.Where("audit_events.scope_id = ?", *f.ScopeID)
	}
	if f.Since != nil {
		q = q.Where("audit_events.time >= ?", normTime(*f.Since))
	}
	if f.Until != nil {
		q = q.Where("audit_events.time < ?", normTime(*f.Until))
	}
	return list(ctx, q, auditListSpec(), opts)
}

// DeleteBefore implements store.AuditEvents: it removes events older than t.
func (s *auditStore) DeleteBefore(ctx context.Context, t time.Time) (int64, error) {
	return deleteWhere(ctx, s.d, &store.AuditEvent{}, "audit events", "time < ?", normTime(t))
}
