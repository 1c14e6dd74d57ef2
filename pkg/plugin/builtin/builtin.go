// Package builtin is the registry of the plugins KubeSpace ships: the server lists them (GET
// /pipeline-plugins) and validates definitions against their schemas, the spacelet runs them.
// New plugins (image build, release, deploy) join by being added to Plugins.
package builtin

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/kubespace/kubespace/pkg/plugin"
	"github.com/kubespace/kubespace/pkg/plugin/shell"
)

// Plugins returns every built-in plugin, sorted by key.
func Plugins() []plugin.Plugin {
	ps := []plugin.Plugin{shell.New()}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Key() < ps[j].Key() })
	return ps
}

// Registry finds plugins by key. It is immutable and safe for concurrent use.
type Registry struct {
	byKey map[string]plugin.Plugin
	list  []plugin.Plugin
}

// New returns a registry of ps (Plugins() when none are given); a repeated key is an error.
func New(ps ...plugin.Plugin) (*Registry, error) {
	if len(ps) == 0 {
		ps = Plugins()
	}
	r := &Registry{byKey: map[string]plugin.Plugin{}}
	for _, p := range ps {
		if _, dup := r.byKey[p.Key()]; dup {
			return nil, fmt.Errorf("plugin %q registered twice", p.Key())
		}
		if !json.Valid(p.Schema()) {
			return nil, fmt.Errorf("plugin %q: its schema is not valid JSON", p.Key())
		}
		r.byKey[p.Key()] = p
		r.list = append(r.list, p)
	}
	sort.Slice(r.list, func(i, j int) bool { return r.list[i].Key() < r.list[j].Key() })
	return r, nil
}

// Default is the registry of the built-in plugins.
func Default() *Registry {
	r, err := New()
	if err != nil {
		panic(err) // the built-in set is fixed at compile time; the test proves it is valid
	}
	return r
}

// Get returns the plugin with key.
func (r *Registry) Get(key string) (plugin.Plugin, bool) {
	p, ok := r.byKey[key]
	return p, ok
}

// List returns the plugins, sorted by key.
func (r *Registry) List() []plugin.Plugin { return append([]plugin.Plugin(nil), r.list...) }

// Info describes a plugin to API clients.
type Info struct {
	Key          string          `json:"key"`
	Name         string          `json:"name"`
	ParamsSchema json.RawMessage `json:"params_schema"`
}

// Infos describes every plugin, sorted by key.
func (r *Registry) Infos() []Info {
	out := make([]Info, 0, len(r.list))
	for _, p := range r.list {
		out = append(out, Info{Key: p.Key(), Name: p.Name(), ParamsSchema: p.Schema()})
	}
	return out
}
