package database

import (
	"context"
	"fmt"
	"time"

	"github.com/kubespace/kubespace/pkg/store"
)

// spaceletStore implements store.Spacelets.
type spaceletStore struct{ d *DB }

var _ store.Spacelets = (*spaceletStore)(nil)

func spaceletRef(id int64) string { return fmt.Sprintf("spacelet %d", id) }

func spaceletNameRef(name string) string { return fmt.Sprintf("spacelet %q", name) }

func spaceletListSpec() *listSpec[store.Spacelet] {
	return &listSpec[store.Spacelet]{
		entity:   "spacelets",
		idColumn: "spacelets.id",
		id:       func(s *store.Spacelet) int64 { return s.ID },
		sorts: map[string]sortKey[store.Spacelet]{
			"id":           {column: "spacelets.id", kind: kindInt, value: func(s *store.Spacelet) any { return s.ID }},
			"name":         {column: "spacelets.name", kind: kindString, value: func(s *store.Spacelet) any { return s.Name }},
			"status":       {column: "spacelets.status", kind: kindString, value: func(s *store.Spacelet) any { return s.Status }},
			"last_seen_at": {column: "spacelets.last_seen_at", kind: kindTime, nullable: true, value: func(s *store.Spacelet) any { return s.LastSeenAt }},
		},
		defaultSort: "id",
		search:      []string{"spacelets.name", "spacelets.hostname"},
	}
}

// Create implements store.Spacelets.
func (s *spaceletStore) Create(ctx context.Context, sp *store.Spacelet) error {
	if sp.Status == "" {
		sp.Status = store.SpaceletOffline
	}
	return dbErr(s.d.conn(ctx).Create(sp).Error, "create", spaceletNameRef(sp.Name))
}

func (s *spaceletStore) take(ctx context.Context, ref string, query string, args ...any) (*store.Spacelet, error) {
	var sp store.Spacelet
	if err := s.d.conn(ctx).Where(query, args...).Take(&sp).Error; err != nil {
		return nil, dbErr(err, "get", ref)
	}
	return &sp, nil
}

// Get implements store.Spacelets.
func (s *spaceletStore) Get(ctx context.Context, id int64) (*store.Spacelet, error) {
	return s.take(ctx, spaceletRef(id), "id = ?", id)
}

// GetByCredential implements store.Spacelets.
func (s *spaceletStore) GetByCredential(ctx context.Context, hash string) (*store.Spacelet, error) {
	return s.take(ctx, "spacelet credential", "credential_hash = ?", hash)
}

// GetByName implements store.Spacelets.
func (s *spaceletStore) GetByName(ctx context.Context, name string) (*store.Spacelet, error) {
	return s.take(ctx, spaceletNameRef(name), "name = ?", name)
}

// Update implements store.Spacelets.
func (s *spaceletStore) Update(ctx context.Context, sp *store.Spacelet) error {
	return updateRow(ctx, s.d, sp, sp.ID, spaceletRef(sp.ID), spaceletNameRef(sp.Name))
}

// Seen implements store.Spacelets.
func (s *spaceletStore) Seen(ctx context.Context, id int64, at time.Time) error {
	at = normTime(at)
	res := s.d.conn(ctx).Model(&store.Spacelet{}).Where("id = ?", id).
		UpdateColumns(map[string]any{"status": store.SpaceletOnline, "last_seen_at": at})
	if res.Error != nil {
		return dbErr(res.Error, "update", spaceletRef(id))
	}
	if res.RowsAffected == 0 {
		return dbErr(errNotFound, "update", spaceletRef(id))
	}
	return nil
}

// MarkOffline implements store.Spacelets.
func (s *spaceletStore) MarkOffline(ctx context.Context, before time.Time) ([]int64, error) {
	var ids []int64
	err := s.d.WithTx(ctx, func(ctx context.Context) error {
		stale := s.d.conn(ctx).Model(&store.Spacelet{}).Where("status = ? AND (last_seen_at IS NULL OR last_seen_at < ?)",
			store.SpaceletOnline, normTime(before))
		if err := stale.Pluck("id", &ids).Error; err != nil {
			return dbErr(err, "list", "stale spacelets")
		}
		if len(ids) == 0 {
			return nil
		}
		// The same condition again: a heartbeat that landed in between keeps its spacelet online.
		res := s.d.conn(ctx).Model(&store.Spacelet{}).Where("id IN ? AND (last_seen_at IS NULL OR last_seen_at < ?)", ids, normTime(before)).
			UpdateColumn("status", store.SpaceletOffline)
		return dbErr(res.Error, "update", "stale spacelets")
	})
	return ids, err
}

// Delete implements store.Spacelets.
func (s *spaceletStore) Delete(ctx context.Context, id int64) error {
	return deleteRow(ctx, s.d, &store.Spacelet{}, id, spaceletRef(id))
}

// List implements store.Spacelets.
func (s *spaceletStore) List(ctx context.Context, opts store.ListOptions) (store.Page[store.Spacelet], error) {
	return list(ctx, s.d.conn(ctx).Table("spacelets"), spaceletListSpec(), opts)
}

// All implements store.Spacelets.
func (s *spaceletStore) All(ctx context.Context) ([]store.Spacelet, error) {
	var out []store.Spacelet
	if err := s.d.conn(ctx).Order("id").Find(&out).Error; err != nil {
		return nil, dbErr(err, "list", "spacelets")
	}
	return out, nil
}

// spaceletTokenStore implements store.SpaceletTokens.
type spaceletTokenStore struct{ d *DB }

var _ store.SpaceletTokens = (*spaceletTokenStore)(nil)

func spaceletTokenRef(id int64) string { return fmt.Sprintf("spacelet registration token %d", id) }

func spaceletTokenListSpec() *listSpec[store.SpaceletToken] {
	return &listSpec[store.SpaceletToken]{
		entity:   "spacelet registration tokens",
		idColumn: "spacelet_tokens.id",
		id:       func(t *store.SpaceletToken) int64 { return t.ID },
		sorts: map[string]sortKey[store.SpaceletToken]{
			"id":         {column: "spacelet_tokens.id", kind: kindInt, value: func(t *store.SpaceletToken) any { return t.ID }},
			"name":       {column: "spacelet_tokens.name", kind: kindString, value: func(t *store.SpaceletToken) any { return t.Name }},
			"created_at": {column: "spacelet_tokens.created_at", kind: kindTime, value: func(t *store.SpaceletToken) any { return t.CreatedAt }},
		},
		defaultSort: "id",
		search:      []string{"spacelet_tokens.name"},
	}
}

// Create implements store.SpaceletTokens.
func (s *spaceletTokenStore) Create(ctx context.Context, t *store.SpaceletToken) error {
	return dbErr(s.d.conn(ctx).Create(t).Error, "create", "spacelet registration token")
}

// GetByHash implements store.SpaceletTokens.
func (s *spaceletTokenStore) GetByHash(ctx context.Context, hash string) (*store.SpaceletToken, error) {
	var t store.SpaceletToken
	if err := s.d.conn(ctx).Where("token_hash = ?", hash).Take(&t).Error; err != nil {
		return nil, dbErr(err, "get", "spacelet registration token")
	}
	return &t, nil
}

// Touch implements store.SpaceletTokens.
func (s *spaceletTokenStore) Touch(ctx context.Context, id int64, at time.Time) error {
	return dbErr(s.d.conn(ctx).Model(&store.SpaceletToken{}).Where("id = ?", id).UpdateColumn("last_used_at", normTime(at)).Error,
		"touch", spaceletTokenRef(id))
}

// Use implements store.SpaceletTokens.
func (s *spaceletTokenStore) Use(ctx context.Context, id int64, at time.Time) (bool, error) {
	res := s.d.conn(ctx).Model(&store.SpaceletToken{}).Where("id = ? AND (single_use = ? OR last_used_at IS NULL)", id, false).
		UpdateColumn("last_used_at", normTime(at))
	if res.Error != nil {
		return false, dbErr(res.Error, "use", spaceletTokenRef(id))
	}
	return res.RowsAffected == 1, nil
}

// Delete implements store.SpaceletTokens.
func (s *spaceletTokenStore) Delete(ctx context.Context, id int64) error {
	return deleteRow(ctx, s.d, &store.SpaceletToken{}, id, spaceletTokenRef(id))
}

// List implements store.SpaceletTokens.
func (s *spaceletTokenStore) List(ctx context.Context, opts store.ListOptions) (store.Page[store.SpaceletToken], error) {
	return list(ctx, s.d.conn(ctx).Table("spacelet_tokens"), spaceletTokenListSpec(), opts)
}
