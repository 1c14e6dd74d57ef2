package app

import (
	"fmt"

	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/pipeline/workspace"
	"github.com/kubespace/kubespace/pkg/plugin/builtin"
	"github.com/kubespace/kubespace/pkg/secretbox"
	"github.com/kubespace/kubespace/pkg/settings"
	"github.com/kubespace/kubespace/pkg/store"
)

// newPipelineValidator checks definitions against the built-in plugins' schemas.
func newPipelineValidator() (*pipeline.Validator, error) {
	ps := builtin.Plugins()
	schemas := make([]pipeline.PluginSchema, 0, len(ps))
	for _, p := range ps {
		schemas = append(schemas, p)
	}
	v, err := pipeline.NewValidator(schemas)
	if err != nil {
		return nil, fmt.Errorf("pipeline validator: %w", err)
	}
	return v, nil
}

// newPipelineWorkspaces builds the pipeline workspace service and registers it with the
// authorizer as the pipeline_workspace scope kind.
func (a *App) newPipelineWorkspaces(box *secretbox.Box, secrets *settings.Secrets, defs workspace.Definitions) *workspace.Service {
	ws := workspace.New(workspace.Deps{Store: a.Store, Box: box, Secrets: secrets, Authorizer: a.Authorizer, Definitions: defs,
		Notifier: a.Changes, Log: a.log})
	a.Authorizer.RegisterKind(store.ScopePipelineWorkspace, ws)
	return ws
}
