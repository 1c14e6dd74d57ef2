package database

import (
	"context"
	"fmt"
	"time"

	"github.com/kubespace/kubespace/pkg/store"
)

// tokenStore implements store.Tokens. Messages never quote a token hash.
type tokenStore struct{ d *DB }

var _ store.Tokens = (*tokenStore)(nil)

func tokenRef(id int64) string { return fmt.Sprintf("api token %d", id) }

func tokenListSpec() *listSpec[store.APIToken] {
	return &listSpec[store.APIToken]{
		entity:   "api tokens",
		idColumn: "api_tokens.id",
		id:       func(t *store.APIToken) int64 { return t.ID },
		sorts: map[string]sortKey[store.APIToken]{
			"id":           {column: "api_tokens.id", kind: kindInt, value: func(t *store.APIToken) any { return t.ID }},
			"name":         {column: "api_tokens.name", kind: kindString, value: func(t *store.APIToken) any { return t.Name }},
			"created_at":   {column: "api_tokens.created_at", kind: kindTime, value: func(t *store.APIToken) any { return t.CreatedAt }},
			"last_used_at": {column: "api_tokens.last_used_at", kind: kindTime, nullable: true, value: func(t *store.APIToken) any { return t.LastUsedAt }},
		},
		defaultSort: "id",
		search:      []string{"api_tokens.name", "api_tokens.prefix"},
	}
}

// Create implements store.Tokens.
func (s *tokenStore) Create(ctx context.Context, t *store.APIToken) error {
	return dbErr(s.d.conn(ctx).Create(t).Error, "create", "api token")
}

// Get implements store.Tokens.
func (s *tokenStore) Get(ctx context.Context, id int64) (*store.APIToken, error) {
	var t store.APIToken
	if err := s.d.conn(ctx).Where("id = ?", id).Take(&t).Error; err != nil {
		return nil, dbErr(err, "get", tokenRef(id))
	}
	return &t, nil
}

// GetByHash implements store.Tokens.
func (s *tokenStore) GetByHash(ctx context.Context, tokenHash string) (*store.APIToken, error) {
	var t store.APIToken
	if err := s.d.conn(ctx).Where("token_hash = ?", tokenHash).Take(&t).Error; err != nil {
		return nil, dbErr(err, "get", "api token")
	}
	return &t, nil
}

// ListByUser implements store.Tokens. It sorts by id (default), name, created_at or
// last_used_at; Query matches name and prefix.
func (s *tokenStore) ListByUser(ctx context.Context, userID int64, opts store.ListOptions) (store.Page[store.APIToken], error) {
	q := s.d.conn(ctx).Table("api_tokens").Where("api_tokens.user_id = ?", userID)
	return list(ctx, q, tokenListSpec(), opts)
}

// Touch implements store.Tokens.
func (s *tokenStore) Touch(ctx context.Context, id int64, at time.Time) error {
	return touchTime(ctx, s.d, &store.APIToken{}, "last_used_at", id, at, tokenRef(id))
}

// Delete implements store.Tokens.
func (s *tokenStore) Delete(ctx context.Context, id int64) error {
	return deleteRow(ctx, s.d, &store.APIToken{}, id, tokenRef(id))
}

// DeleteByUser implements store.Tokens.
func (s *tokenStore) DeleteByUser(ctx context.Context, userID int64) error {
	_, err := deleteWhere(ctx, s.d, &store.APIToken{}, "api tokens of "+userRef(userID), "user_id = ?", userID)
	return err
}

// DeleteByCluster implements store.Tokens: it removes the tokens limited to a cluster.
func (s *tokenStore) DeleteByCluster(ctx context.Context, clusterID int64) error {
	_, err := deleteWhere(ctx, s.d, &store.APIToken{}, fmt.Sprintf("api tokens of cluster %d", clusterID), "cluster_id = ?", clusterID)
	return err
}
