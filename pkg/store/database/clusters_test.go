package database

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/store"
)

func TestClusters(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, _ *DB, s store.Store) {
		ctx := t.Context()
		prod := &store.Cluster{Name: "prod", Mode: store.ClusterDirect, KubeconfigSealed: []byte{1, 0, 2}, Context: "admin@prod", Server: "https://10.0.0.1:6443"}
		require.NoError(t, s.Clusters.Create(ctx, prod))
		require.Equal(t, store.ClusterPending, prod.Status)

		t.Run("get and conflict", func(t *testing.T) {
			got, err := s.Clusters.Get(ctx, prod.ID)
			require.NoError(t, err)
			require.Equal(t, []byte{1, 0, 2}, got.KubeconfigSealed)
			_, err = s.Clusters.Get(ctx, 999)
			requireKind(t, err, errs.NotFound, "cluster 999 not found")
			requireKind(t, s.Clusters.Create(ctx, &store.Cluster{Name: "prod", Mode: store.ClusterAgent}), errs.Conflict, `cluster "prod" already exists`)
		})
		t.Run("status and config are written separately", func(t *testing.T) {
			seen := time.Now().UTC().Truncate(time.Microsecond)
			require.NoError(t, s.Clusters.UpdateStatus(ctx, prod.ID, store.ClusterStatus{Status: store.ClusterConnected, Version: "v1.37.2", NodeCount: 3, LastSeenAt: &seen}))
			require.NoError(t, s.Clusters.UpdateStatus(ctx, prod.ID, store.ClusterStatus{Status: store.ClusterConnected, Version: "v1.37.2", NodeCount: 3, LastSeenAt: &seen}), "an unchanged status is not a missing row")
			edit := *prod
			edit.Description, edit.Status, edit.Version = "production", "error", "stale"
			require.NoError(t, s.Clusters.Update(ctx, &edit))
			got, err := s.Clusters.Get(ctx, prod.ID)
			require.NoError(t, err)
			require.Equal(t, "production", got.Description)
			require.Equal(t, store.ClusterConnected, got.Status, "Update never overwrites what a probe saw")
			require.Equal(t, "v1.37.2", got.Version)
			require.Equal(t, 3, got.NodeCount)
			require.True(t, seen.Equal(*got.LastSeenAt))
			requireKind(t, s.Clusters.UpdateStatus(ctx, 999, store.ClusterStatus{Status: "error"}), errs.NotFound, "cluster 999 not found")
			requireKind(t, s.Clusters.Update(ctx, &store.Cluster{ID: 999, Name: "x"}), errs.NotFound, "cluster 999 not found")
		})
		t.Run("list, filter, all, delete", func(t *testing.T) {
			for _, n := range []string{"b-stage", "a-dev"} {
				require.NoError(t, s.Clusters.Create(ctx, &store.Cluster{Name: n, Mode: store.ClusterAgent}))
			}
			page, err := s.Clusters.List(ctx, store.ClusterFilter{}, store.ListOptions{Sort: "name"})
			require.NoError(t, err)
			require.Equal(t, int64(3), page.Total)
			require.Equal(t, "a-dev", page.Items[0].Name)
			page, err = s.Clusters.List(ctx, store.ClusterFilter{IDs: []int64{prod.ID}}, store.ListOptions{})
			require.NoError(t, err)
			require.Len(t, page.Items, 1)
			page, err = s.Clusters.List(ctx, store.ClusterFilter{IDs: []int64{}}, store.ListOptions{})
			require.NoError(t, err)
			require.Empty(t, page.Items)
			page, err = s.Clusters.List(ctx, store.ClusterFilter{}, store.ListOptions{Query: "10.0.0"})
			require.NoError(t, err)
			require.Len(t, page.Items, 1)
			all, err := s.Clusters.All(ctx)
			require.NoError(t, err)
			require.Len(t, all, 3)
			require.NoError(t, s.Clusters.Delete(ctx, prod.ID))
			requireKind(t, s.Clusters.Delete(ctx, prod.ID), errs.NotFound, fmt.Sprintf("cluster %d not found", prod.ID))
		})
	})
}
