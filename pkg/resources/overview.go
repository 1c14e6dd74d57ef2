package resources

import (
	"context"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kubespace/kubespace/pkg/cluster"
)

// Overview summarises a cluster for its landing page.
type Overview struct {
	Version     string         `json:"version"`
	Nodes       NodeCounts     `json:"nodes"`
	Capacity    Resources      `json:"capacity"`
	Allocatable Resources      `json:"allocatable"`
	Counts      map[string]int `json:"counts"`
	PodsByPhase map[string]int `json:"pods_by_phase"`
}

// NodeCounts counts nodes.
type NodeCounts struct {
	Total int `json:"total"`
	Ready int `json:"ready"`
}

// Resources is an amount of CPU and memory.
type Resources struct {
	CPUCores    float64 `json:"cpu_cores"`
	MemoryBytes int64   `json:"memory_bytes"`
}

// overviewKinds are counted on the overview (served from the same caches as lists).
var overviewKinds = []string{"nodes", "namespaces", "pods", "deployments.apps", "statefulsets.apps", "daemonsets.apps",
	"jobs.batch", "cronjobs.batch", "services", "ingresses.networking.k8s.io", "configmaps", "persistentvolumeclaims",
	"persistentvolumes"}

// Overview returns version, nodes, capacity, counts by kind and pods by phase.
func (b *Browser) Overview(ctx context.Context, clusterID int64) (*Overview, error) {
	cc, err := b.cluster(ctx, clusterID)
	if err != nil {
		return nil, err
	}
	v, err := cc.discovery.ServerVersion()
	if err != nil {
		return nil, cluster.KubeError(err)
	}
	kinds := make([]Kind, 0, len(overviewKinds))
	for _, name := range overviewKinds {
		if k, err := b.kind(ctx, cc, name); err == nil {
			kinds = append(kinds, k)
		}
	}
	infs := make([]*informer, len(kinds))
	g, gctx := errgroup.WithContext(ctx)
	for i, k := range kinds {
		g.Go(func() (err error) {
			infs[i], err = b.informerFor(gctx, cc, k)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	o := &Overview{Version: v.GitVersion, Counts: map[string]int{}, PodsByPhase: map[string]int{}}
	for i, k := range kinds {
		objs := infs[i].inf.GetStore().List()
		o.Counts[k.Name()] = len(objs)
		for _, obj := range objs {
			e, ok := obj.(*entry)
			if !ok {
				continue
			}
			switch k.Name() {
			case "pods":
				o.PodsByPhase[e.fields["status.phase"]]++
			case "nodes":
				o.Nodes.Total++
				if e.fields["status.ready"] == "True" {
					o.Nodes.Ready++
				}
				add(&o.Capacity, e.fields["status.capacity.cpu"], e.fields["status.capacity.memory"])
				add(&o.Allocatable, e.fields["status.allocatable.cpu"], e.fields["status.allocatable.memory"])
			}
		}
	}
	return o, nil
}

func add(r *Resources, cpu, mem string) {
	if q, err := resource.ParseQuantity(cpu); err == nil {
		r.CPUCores += float64(q.MilliValue()) / 1000
	}
	if q, err := resource.ParseQuantity(mem); err == nil {
		r.MemoryBytes += q.Value()
	}
}
