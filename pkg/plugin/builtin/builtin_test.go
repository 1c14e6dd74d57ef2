package builtin_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/plugin"
	"github.com/kubespace/kubespace/pkg/plugin/builtin"
	"github.com/kubespace/kubespace/pkg/plugin/shell"
)

func TestBuiltins(t *testing.T) {
	r := builtin.Default()
	p, ok := r.Get("execute_shell")
	require.True(t, ok)
	require.Equal(t, "execute_shell", p.Key())
	_, ok = r.Get("nope")
	require.False(t, ok)
	infos := r.Infos()
	require.NotEmpty(t, infos)
	for _, in := range infos {
		var schema map[string]any
		require.NoError(t, json.Unmarshal(in.ParamsSchema, &schema), in.Key)
		require.Equal(t, "object", schema["type"], in.Key)
		require.NotEmpty(t, in.Name)
	}
	require.Len(t, r.List(), len(builtin.Plugins()))
}

type dup struct{ plugin.Plugin }

func (dup) Run(context.Context, *plugin.Job) (map[string]string, error) { return nil, nil }

func TestRegistryRefusesDuplicates(t *testing.T) {
	_, err := builtin.New(shell.New(), dup{shell.New()})
	require.ErrorContains(t, err, "registered twice")
}
