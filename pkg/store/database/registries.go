package database

import (
	"context"
	"fmt"

	"github.com/kubespace/kubespace/pkg/store"
)

// registryStore implements store.ImageRegistries.
type registryStore struct{ d *DB }

var _ store.ImageRegistries = (*registryStore)(nil)

func registryRef(id int64) string { return fmt.Sprintf("image registry %d", id) }

func registryNameRef(name string) string { return fmt.Sprintf("image registry %q", name) }

func registryListSpec() *listSpec[store.ImageRegistry] {
	return &listSpec[store.ImageRegistry]{
		entity:   "image registries",
		idColumn: "image_registries.id",
		id:       func(r *store.ImageRegistry) int64 { return r.ID },
		sorts: map[string]sortKey[store.ImageRegistry]{
			"id":         {column: "image_registries.id", kind: kindInt, value: func(r *store.ImageRegistry) any { return r.ID }},
			"registry":   {column: "image_registries.registry", kind: kindString, value: func(r *store.ImageRegistry) any { return r.Registry }},
			"created_at": {column: "image_registries.created_at", kind: kindTime, value: func(r *store.ImageRegistry) any { return r.CreatedAt }},
		},
		defaultSort: "id",
		search:      []string{"image_registries.registry", "image_registries.username"},
	}
}

// Create implements store.ImageRegistries.
func (s *registryStore) Create(ctx context.Context, r *store.ImageRegistry) error {
	return dbErr(s.d.conn(ctx).Create(r).Error, "create", registryNameRef(r.Registry))
}

// Get implements store.ImageRegistries.
func (s *registryStore) Get(ctx context.Context, id int64) (*store.ImageRegistry, error) {
	var r store.ImageRegistry
	if err := s.d.conn(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return nil, dbErr(err, "get", registryRef(id))
	}
	return &r, nil
}

// Update implements store.ImageRegistries; created_at is kept as stored.
func (s *registryStore) Update(ctx context.Context, r *store.ImageRegistry) error {
	return updateRow(ctx, s.d, r, r.ID, registryRef(r.ID), registryNameRef(r.Registry))
}

// Delete implements store.ImageRegistries.
func (s *registryStore) Delete(ctx context.Context, id int64) error {
	return deleteRow(ctx, s.d, &store.ImageRegistry{}, id, registryRef(id))
}

// List implements store.ImageRegistries.
func (s *registryStore) List(ctx context.Context, opts store.ListOptions) (store.Page[store.ImageRegistry], error) {
	return list(ctx, s.d.conn(ctx).Table("image_registries"), registryListSpec(), opts)
}
