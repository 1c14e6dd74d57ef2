package pipeline

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/kubespace/kubespace/pkg/errs"
)

// FindCycle returns a cycle of the directed graph edges (node → the nodes it leads to) as the
// path of its nodes with the first repeated at the end ([3 5 3]), or nil when there is none.
// The search is deterministic: nodes are visited in ascending order.
func FindCycle(edges map[int64][]int64) []int64 {
	const (
		unseen = iota
		onPath
		done
	)
	state := map[int64]int{}
	var path []int64
	var visit func(n int64) []int64
	visit = func(n int64) []int64 {
		state[n] = onPath
		path = append(path, n)
		next := append([]int64(nil), edges[n]...)
		sort.Slice(next, func(i, j int) bool { return next[i] < next[j] })
		for _, m := range next {
			switch state[m] {
			case onPath:
				for i, p := range path {
					if p == m {
						return append(append([]int64(nil), path[i:]...), m)
					}
				}
			case unseen:
				if c := visit(m); c != nil {
					return c
				}
			}
		}
		path = path[:len(path)-1]
		state[n] = done
		return nil
	}
	nodes := make([]int64, 0, len(edges))
	for n := range edges {
		nodes = append(nodes, n)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i] < nodes[j] })
	for _, n := range nodes {
		if state[n] == unseen {
			if c := visit(n); c != nil {
				return c
			}
		}
	}
	return nil
}

// ChainEdges turns the pipeline triggers of definitions (by pipeline id) into the edges of the
// chaining graph: an edge A → B means a successful run of A starts B.
func ChainEdges(defs map[int64]*Definition) map[int64][]int64 {
	edges := map[int64][]int64{}
	for id, d := range defs {
		if d == nil {
			continue
		}
		for _, t := range d.Triggers {
			if t.Type == TriggerPipeline && t.PipelineID > 0 {
				edges[t.PipelineID] = append(edges[t.PipelineID], id)
			}
		}
	}
	return edges
}

// CheckChain refuses a definition whose pipeline triggers would start pipelines in a cycle
// (A starts B starts A: each success would start the other forever). id is the pipeline being
// saved (0 for a new one, which nothing can name yet) and others the other pipelines that may
// chain (the caller's choice: its workspace, or every workspace it can start). The error names
// the trigger that closes the cycle: field "triggers[i].pipeline_id".
func CheckChain(id int64, d *Definition, others map[int64]*Definition) error {
	for i, t := range d.Triggers {
		if t.Type == TriggerPipeline && id != 0 && t.PipelineID == id {
			return errs.Field(fmt.Sprintf("triggers[%d].pipeline_id", i), "names the pipeline itself: its every success would start it again")
		}
	}
	if id == 0 {
		return nil
	}
	defs := make(map[int64]*Definition, len(others)+1)
	for k, o := range others {
		defs[k] = o
	}
	defs[id] = d
	cycle := FindCycle(ChainEdges(defs))
	if cycle == nil {
		return nil
	}
	// The cycle passes through id unless the others already held one (then it is not this
	// save's fault, but it still must not grow: name the first pipeline trigger).
	for k := 1; k < len(cycle); k++ {
		if cycle[k] != id {
			continue
		}
		for i, t := range d.Triggers {
			if t.Type == TriggerPipeline && t.PipelineID == cycle[k-1] {
				return errs.Field(fmt.Sprintf("triggers[%d].pipeline_id", i), "would chain pipelines in a cycle: %s", pathString(cycle))
			}
		}
	}
	for i, t := range d.Triggers {
		if t.Type == TriggerPipeline {
			return errs.Field(fmt.Sprintf("triggers[%d].pipeline_id", i), "joins pipelines that already chain in a cycle: %s", pathString(cycle))
		}
	}
	return errs.Field("triggers", "pipelines already chain in a cycle: %s", pathString(cycle))
}

func pathString(p []int64) string {
	s := make([]string, len(p))
	for i, n := range p {
		s[i] = strconv.FormatInt(n, 10)
	}
	return strings.Join(s, " → ")
}
