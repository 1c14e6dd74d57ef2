package pipeline

import (
	"fmt"
	"sort"

	"github.com/kubespace/kubespace/pkg/errs"
)

// StageParams resolves a stage's parameters: each declared parameter takes the given value,
// else its default. A given name the stage does not declare is an Invalid error naming it
// (field "params.NAME"), so a typo in a manual execution is not silently ignored.
func StageParams(declared []Param, given map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(declared))
	known := make(map[string]bool, len(declared))
	for _, p := range declared {
		known[p.Name] = true
		out[p.Name] = p.Default
		if v, ok := given[p.Name]; ok {
			out[p.Name] = v
		}
	}
	names := make([]string, 0, len(given))
	for k := range given {
		names = append(names, k)
	}
	sort.Strings(names)
	f := errs.Fields{}
	for _, k := range names {
		if !known[k] {
			f.Add(fmt.Sprintf("params.%s", k), "is not a parameter of this stage")
		}
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
