package httpapi_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/apitest"
	"github.com/kubespace/kubespace/pkg/events"
)

// sseClient reads one event stream.
type sseClient struct {
	resp *http.Response
	sc   *bufio.Scanner
}

func openEvents(t *testing.T, s *apitest.Server, token, query, lastID string) *sseClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/v1/events?"+query, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	return &sseClient{resp: resp, sc: bufio.NewScanner(resp.Body)}
}

// next returns the next event's name, id and data (skipping comments and retry lines).
func (c *sseClient) next(t *testing.T) (name, id, data string) {
	t.Helper()
	for c.sc.Scan() {
		line := c.sc.Text()
		switch {
		case line == "" && name != "":
			return name, id, data
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "id: "):
			id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		}
	}
	t.Fatalf("the stream ended: %v", c.sc.Err())
	return
}

// TestEventsStream: live updates reach the clients allowed to see them, resume from
// Last-Event-ID, and a client that cannot resume is told to reload.
func TestEventsStream(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, nil)
	admin := s.Admin()
	outsider := s.User(admin, "outsider", "", 0, "")
	ctx := context.Background()
	publish := func(ev events.Event) {
		require.NoError(t, s.App.Publish.Publish(ctx, ev))
	}
	// The hub runs with the app's background loops; tests start it themselves.
	hctx, stop := context.WithCancel(ctx)
	t.Cleanup(stop)
	go func() { _ = s.App.Events.Run(hctx) }()
	// Publish probes until the hub's bus subscription is in place.
	probe := s.App.Events.Subscribe("", func(ev events.Event) bool { return ev.Kind == "probe" })
	for ready := false; !ready; {
		publish(events.Event{Kind: "probe"})
		select {
		case <-probe.C():
			ready = true
		case <-time.After(50 * time.Millisecond):
		}
	}
	probe.Close()

	all := openEvents(t, s, admin.Token, "topics=runs,spacelets", "")
	theirs := openEvents(t, s, outsider.Token, "topics=runs", "")
	publish(events.Event{Kind: events.KindRun, ObjectID: 7, RunID: 7, PipelineID: 3, WorkspaceID: 2, Status: "doing"})
	publish(events.Event{Kind: events.KindSpacelet, ObjectID: 1, Status: "online"})
	publish(events.Event{Kind: events.KindJob, ObjectID: 70, RunID: 7, PipelineID: 3, WorkspaceID: 2, Status: "ok"})
	name, firstID, data := all.next(t)
	require.Equal(t, "run", name)
	require.Contains(t, data, `"status":"doing"`)
	name, _, _ = all.next(t)
	require.Equal(t, "spacelet", name)
	name, _, _ = all.next(t)
	require.Equal(t, "job", name)

	// The outsider holds no role in workspace 2: nothing of it arrives, only the keep-alive
	// cadence would; a run in a workspace they were given a role in would.
	got := make(chan string, 1)
	go func() {
		for theirs.sc.Scan() {
			if strings.HasPrefix(theirs.sc.Text(), "event: ") {
				got <- theirs.sc.Text()
				return
			}
		}
	}()
	select {
	case ev := <-got:
		t.Fatalf("the outsider saw %s", ev)
	case <-time.After(500 * time.Millisecond):
	}

	// Resuming after the first event replays the two after it.
	resumed := openEvents(t, s, admin.Token, "topics=runs,spacelets", firstID)
	name, _, _ = resumed.next(t)
	require.Equal(t, "spacelet", name)
	name, _, _ = resumed.next(t)
	require.Equal(t, "job", name)
	// Resuming from an id the history does not hold: reload.
	lost := openEvents(t, s, admin.Token, "topics=runs", "0000000000001-gone-1")
	name, _, _ = lost.next(t)
	require.Equal(t, "reset", name)

	r := admin.Do(http.MethodGet, "/api/v1/events?topics=runs,pods", nil)
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	r = admin.Do(http.MethodGet, "/api/v1/events?topics=run:x", nil)
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	r = outsider.Do(http.MethodGet, "/api/v1/events?topics=spacelets", nil)
	require.Equal(t, http.StatusForbidden, r.Status, "%s", r.Body)
}
