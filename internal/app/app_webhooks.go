package app

import (
	"log/slog"

	"github.com/kubespace/kubespace/pkg/controller/triggers"
	"github.com/kubespace/kubespace/pkg/httpapi"
	"github.com/kubespace/kubespace/pkg/pipeline/workspace"
	"github.com/kubespace/kubespace/pkg/store"
)

// webhookServices wires POST /webhooks/:provider/:id: deliveries are verified with the
// workspace's webhook secret (opened by the workspace service) and the runs they call for are
// started through starter (the run service, adapted: controllerapp.Starter). Set the result as
// httpapi.Deps.Webhooks.
func webhookServices(st store.Store, ws *workspace.Service, starter triggers.Starter, log *slog.Logger) *httpapi.WebhookServices {
	return &httpapi.WebhookServices{
		Secrets: httpapi.WebhookSecretFunc(ws.PushSecret),
		Pushes:  triggers.NewPushHandler(triggers.Stores{Pipelines: st.Pipelines, Runs: st.PipelineRuns, Triggers: st.Triggers}, starter, log),
	}
}
