package database

import (
	"context"
	"fmt"

	"github.com/kubespace/kubespace/pkg/store"
)

// clusterStore implements store.Clusters.
type clusterStore struct{ d *DB }

var _ store.Clusters = (*clusterStore)(nil)

func clusterRef(id int64) string { return fmt.Sprintf("cluster %d", id) }

func clusterNameRef(name string) string { return fmt.Sprintf("cluster %q", name) }

func clusterListSpec() *listSpec[store.Cluster] {
	return &listSpec[store.Cluster]{
		entity:   "clusters",
		idColumn: "clusters.id",
		id:       func(c *store.Cluster) int64 { return c.ID },
		sorts: map[string]sortKey[store.Cluster]{
			"id":         {column: "clusters.id", kind: kindInt, value: func(c *store.Cluster) any { return c.ID }},
			"name":       {column: "clusters.name", kind: kindString, value: func(c *store.Cluster) any { return c.Name }},
			"status":     {column: "clusters.status", kind: kindString, value: func(c *store.Cluster) any { return c.Status }},
			"created_at": {column: "clusters.created_at", kind: kindTime, value: func(c *store.Cluster) any { return c.CreatedAt }},
		},
		defaultSort: "id",
		search:      []string{"clusters.name", "clusters.description", "clusters.server"},
	}
}

// configColumns are the columns Update writes; probes own the rest.
var configColumns = []string{"name", "description", "mode", "kubeconfig_sealed", "context", "server", "updated_at"}

// Create implements store.Clusters.
func (s *clusterStore) Create(ctx context.Context, c *store.Cluster) error {
	if c.Status == "" {
		c.Status = store.ClusterPending
	}
	return dbErr(s.d.conn(ctx).Create(c).Error, "create", clusterNameRef(c.Name))
}

// Get implements store.Clusters.
func (s *clusterStore) Get(ctx context.Context, id int64) (*store.Cluster, error) {
	var c store.Cluster
	if err := s.d.conn(ctx).Where("id = ?", id).Take(&c).Error; err != nil {
		return nil, dbErr(err, "get", clusterRef(id))
	}
	return &c, nil
}

// Update implements store.Clusters.
func (s *clusterStore) Update(ctx context.Context, c *store.Cluster) error {
	if c.ID == 0 {
		return dbErr(errNotFound, "update", clusterRef(c.ID))
	}
	res := s.d.conn(ctx).Model(c).Select(configColumns).Updates(c)
	switch {
	case res.Error != nil && isUniqueViolation(res.Error):
		return dbErr(res.Error, "update", clusterNameRef(c.Name))
	case res.Error != nil:
		return dbErr(res.Error, "update", clusterRef(c.ID))
	case res.RowsAffected == 0:
		return dbErr(errNotFound, "update", clusterRef(c.ID))
	}
	return nil
}

// UpdateStatus implements store.Clusters.
func (s *clusterStore) UpdateStatus(ctx context.Context, id int64, st store.ClusterStatus) error {
	res := s.d.conn(ctx).Model(&store.Cluster{}).Where("id = ?", id).UpdateColumns(map[string]any{
		"status": st.Status, "status_reason": truncateText(st.StatusReason, 1024), "version": st.Version,
		"node_count": st.NodeCount, "last_seen_at": st.LastSeenAt,
	})
	if res.Error != nil {
		return dbErr(res.Error, "update status of", clusterRef(id))
	}
	if res.RowsAffected == 0 {
		// MySQL counts changed rows only; tell "unchanged" from "missing".
		var n int64
		if err := s.d.conn(ctx).Model(&store.Cluster{}).Where("id = ?", id).Count(&n).Error; err != nil {
			return dbErr(err, "update status of", clusterRef(id))
		}
		if n == 0 {
			return dbErr(errNotFound, "update status of", clusterRef(id))
		}
	}
	return nil
}

// Delete implements store.Clusters.
func (s *clusterStore) Delete(ctx context.Context, id int64) error {
	return deleteRow(ctx, s.d, &store.Cluster{}, id, clusterRef(id))
}

// List implements store.Clusters.
func (s *clusterStore) List(ctx context.Context, f store.ClusterFilter, opts store.ListOptions) (store.Page[store.Cluster], error) {
	q := s.d.conn(ctx).Table("clusters")
	if f.IDs != nil {
		if len(f.IDs) == 0 {
			return store.Page[store.Cluster]{Items: []store.Cluster{}}, nil
		}
		q = q.Where("clusters.id IN ?", f.IDs)
	}
	return list(ctx, q, clusterListSpec(), opts)
}

// All implements store.Clusters.
func (s *clusterStore) All(ctx context.Context) ([]store.Cluster, error) {
	var out []store.Cluster
	if err := s.d.conn(ctx).Order("id").Find(&out).Error; err != nil {
		return nil, dbErr(err, "list", "clusters")
	}
	return out, nil
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n]
}
