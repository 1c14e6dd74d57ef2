package database

import (
	"context"
	"fmt"

	"github.com/kubespace/kubespace/pkg/store"
)

// secretStore implements store.Secrets.
type secretStore struct{ d *DB }

var _ store.Secrets = (*secretStore)(nil)

func secretRef(id int64) string { return fmt.Sprintf("secret %d", id) }

func secretNameRef(name string) string { return fmt.Sprintf("secret %q", name) }

func secretListSpec() *listSpec[store.Secret] {
	return &listSpec[store.Secret]{
		entity:   "secrets",
		idColumn: "secrets.id",
		id:       func(s *store.Secret) int64 { return s.ID },
		sorts: map[string]sortKey[store.Secret]{
			"id":         {column: "secrets.id", kind: kindInt, value: func(s *store.Secret) any { return s.ID }},
			"name":       {column: "secrets.name", kind: kindString, value: func(s *store.Secret) any { return s.Name }},
			"created_at": {column: "secrets.created_at", kind: kindTime, value: func(s *store.Secret) any { return s.CreatedAt }},
		},
		defaultSort: "id",
		search:      []string{"secrets.name", "secrets.description"},
	}
}

// Create implements store.Secrets.
func (s *secretStore) Create(ctx context.Context, sec *store.Secret) error {
	return dbErr(s.d.conn(ctx).Create(sec).Error, "create", secretNameRef(sec.Name))
}

// Get implements store.Secrets.
func (s *secretStore) Get(ctx context.Context, id int64) (*store.Secret, error) {
	var sec store.Secret
	if err := s.d.conn(ctx).Where("id = ?", id).Take(&sec).Error; err != nil {
		return nil, dbErr(err, "get", secretRef(id))
	}
	return &sec, nil
}

// Update implements store.Secrets; created_at is kept as stored.
func (s *secretStore) Update(ctx context.Context, sec *store.Secret) error {
	return updateRow(ctx, s.d, sec, sec.ID, secretRef(sec.ID), secretNameRef(sec.Name))
}

// Delete implements store.Secrets.
func (s *secretStore) Delete(ctx context.Context, id int64) error {
	return deleteRow(ctx, s.d, &store.Secret{}, id, secretRef(id))
}

// List implements store.Secrets.
func (s *secretStore) List(ctx context.Context, opts store.ListOptions) (store.Page[store.Secret], error) {
	return list(ctx, s.d.conn(ctx).Table("secrets"), secretListSpec(), opts)
}
