package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/events"
	"github.com/kubespace/kubespace/pkg/store"
)

// sseHeartbeat keeps idle event streams open through proxies.
const sseHeartbeat = 15 * time.Second

// EventsQuery selects live updates.
type EventsQuery struct {
	// Topics is a comma-separated list: runs (every run you can see), run:<id>, pipeline:<id>,
	// workspace:<id> (a pipeline workspace), spacelets.
	Topics      string `query:"topics" json:"topics" required:"true"`
	LastEventID string `query:"last_event_id" json:"last_event_id,omitempty"`
}

// eventTopics is a parsed topics parameter.
type eventTopics struct {
	allRuns, spacelets          bool
	runs, pipelines, workspaces map[int64]bool
}

func parseEventTopics(s string) (eventTopics, error) {
	t := eventTopics{runs: map[int64]bool{}, pipelines: map[int64]bool{}, workspaces: map[int64]bool{}}
	if strings.TrimSpace(s) == "" {
		return t, errs.Field("topics", "is required: runs, run:<id>, pipeline:<id>, workspace:<id> or spacelets")
	}
	parts := strings.Split(s, ",")
	if len(parts) > 50 {
		return t, errs.Field("topics", "names at most 50 topics")
	}
	for _, p := range parts {
		p = strings.TrimSpace(p)
		name, arg, hasArg := strings.Cut(p, ":")
		if !hasArg {
			switch name {
			case "runs":
				t.allRuns = true
				continue
			case "spacelets":
				t.spacelets = true
				continue
			}
			return t, errs.Field("topics", "unknown topic %q: use runs, run:<id>, pipeline:<id>, workspace:<id> or spacelets", p)
		}
		id, err := strconv.ParseInt(arg, 10, 64)
		if err != nil || id <= 0 {
			return t, errs.Field("topics", "topic %q needs a positive id", p)
		}
		switch name {
		case "run":
			t.runs[id] = true
		case "pipeline":
			t.pipelines[id] = true
		case "workspace":
			t.workspaces[id] = true
		default:
			return t, errs.Field("topics", "unknown topic %q: use runs, run:<id>, pipeline:<id>, workspace:<id> or spacelets", p)
		}
	}
	return t, nil
}

func (t eventTopics) wants(ev events.Event) bool {
	if ev.Kind == events.KindSpacelet {
		return t.spacelets
	}
	return t.allRuns || t.runs[ev.RunID] || t.pipelines[ev.PipelineID] || t.workspaces[ev.WorkspaceID]
}

func (a *API) registerEvents() {
	a.register(&Route{Method: http.MethodGet, Path: "/events", Tag: "events",
		Summary: "Live updates as Server-Sent Events (runs, stages, jobs, spacelets), filtered by what you may see; resumable with Last-Event-ID",
		Guard:   Authenticated(), ContentType: "text/event-stream",
		// Resuming from an event this server's history does not hold answers a reset at once.
		Example: EventsQuery{Topics: "runs", LastEventID: "0000000000000-none-0"},
		Handler: Raw(a.serveEvents)})
}

func (a *API) serveEvents(c *Call) error {
	var q EventsQuery
	if err := decodeQuery(c.Request().URL.Query(), &q); err != nil {
		return err
	}
	topics, err := parseEventTopics(q.Topics)
	if err != nil {
		return err
	}
	if topics.spacelets {
		if err := a.deps.Authorizer.Require(c.Ctx, c.Principal, access.Platform, access.Admin); err != nil {
			if errs.Is(err, errs.Forbidden) {
				return errs.Forbiddenf("the spacelets topic requires the admin role on the platform")
			}
			return err
		}
	}
	last := q.LastEventID
	if h := c.Request().Header.Get("Last-Event-ID"); h != "" {
		last = h
	}
	// Each event is checked against the caller's role in its workspace; the roles are cached, and
	// a change of them ends the stream (trackStream), so the check stays true for its lifetime.
	visible := func(ev events.Event) bool {
		if !topics.wants(ev) {
			return false
		}
		if ev.Kind == events.KindSpacelet {
			return true
		}
		r, err := a.deps.Authorizer.RoleIn(c.Ctx, c.Principal, access.Scope{Kind: store.ScopePipelineWorkspace, ID: ev.WorkspaceID})
		return err == nil && r >= access.Viewer
	}
	sub := a.deps.Events.Subscribe(last, visible)
	defer sub.Close()
	req, w, release := a.trackStream(c, access.None)
	defer release()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	flush := func() {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	if _, err := fmt.Fprint(w, "retry: 3000\n\n"); err != nil {
		return nil
	}
	flush()
	tick := time.NewTicker(sseHeartbeat)
	defer tick.Stop()
	for {
		select {
		case <-req.Context().Done():
			return nil
		case <-sub.Reset():
			// Events were lost for this client: it reloads what it shows and reconnects.
			_, _ = fmt.Fprint(w, "event: reset\ndata: {}\n\n")
			flush()
			return nil
		case ev := <-sub.C():
			b, _ := json.Marshal(ev)
			if _, err := fmt.Fprintf(w, "id: %s\nevent: %s\ndata: %s\n\n", ev.ID, ev.Kind, b); err != nil {
				return nil
			}
			flush()
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return nil
			}
			flush()
		}
	}
}
