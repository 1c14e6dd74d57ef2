package triggers_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/controller/triggers"
	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/pipeline/webhook"
	"github.com/kubespace/kubespace/pkg/store"
)

func TestPushStartsEachMatchingPipelineOnce(t *testing.T) {
	eachEngine(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		ws := codeWorkspace(t, s, "shop")
		other := codeWorkspace(t, s, "other")
		push := []pipeline.Trigger{{Type: pipeline.TriggerPush}}
		trunk := newPipeline(t, s, ws.ID, "trunk", pipeline.Definition{Sources: code(exact("main")), Triggers: push})
		all := newPipeline(t, s, ws.ID, "all", pipeline.Definition{Sources: code(), Triggers: push})
		newPipeline(t, s, ws.ID, "branches", pipeline.Definition{Sources: code(exclude("main")), Triggers: push})
		newPipeline(t, s, ws.ID, "manual", pipeline.Definition{Sources: code(exact("main"))})
		newPipeline(t, s, other.ID, "elsewhere", pipeline.Definition{Sources: code(), Triggers: push})

		st := &starts{}
		h := triggers.NewPushHandler(stores(s), st, nil)
		p := &webhook.Push{Provider: "github", DeliveryID: "d1", Branch: "main", Commit: "1111111", Message: "m", Pusher: "alice"}
		res, err := h.HandlePush(ctx, ws.ID, p)
		require.NoError(t, err)
		require.Equal(t, 2, res.Matched)
		require.Len(t, res.Started, 2)
		want := triggers.StartRequest{Trigger: store.TriggerPush, User: "alice", Branch: "main", Commit: "1111111", Message: "m"}
		require.ElementsMatch(t, []start{{trunk.ID, want}, {all.ID, want}}, st.list())

		// The same delivery again (a provider retry): nothing.
		res, err = h.HandlePush(ctx, ws.ID, p)
		require.NoError(t, err)
		require.True(t, res.Duplicate)
		require.Equal(t, 2, st.count())

		// Another delivery of the same commit: matched, not started again.
		p2 := *p
		p2.DeliveryID = "d2"
		res, err = h.HandlePush(ctx, ws.ID, &p2)
		require.NoError(t, err)
		require.Equal(t, 2, res.Matched)
		require.Empty(t, res.Started)

		// A new commit starts both again; the same delivery id in another workspace is fresh.
		p3 := *p
		p3.DeliveryID, p3.Commit = "d3", "2222222"
		res, err = h.HandlePush(ctx, ws.ID, &p3)
		require.NoError(t, err)
		require.Len(t, res.Started, 2)
		res, err = h.HandlePush(ctx, other.ID, p)
		require.NoError(t, err)
		require.Len(t, res.Started, 1)
		require.Equal(t, 5, st.count())
	})
}

func TestPushStartFailureIsRetried(t *testing.T) {
	eachEngine(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		ws := codeWorkspace(t, s, "shop")
		push := []pipeline.Trigger{{Type: pipeline.TriggerPush}}
		a := newPipeline(t, s, ws.ID, "a", pipeline.Definition{Sources: code(), Triggers: push})
		b := newPipeline(t, s, ws.ID, "b", pipeline.Definition{Sources: code(), Triggers: push})
		st := &starts{fail: errors.New("database down"), failFor: b.ID}
		h := triggers.NewPushHandler(stores(s), st, nil)
		p := &webhook.Push{DeliveryID: "x", Branch: "main", Commit: "abcdef1"}
		res, err := h.HandlePush(ctx, ws.ID, p)
		require.ErrorContains(t, err, "database down")
		require.Equal(t, map[int64]int64{a.ID: 1001}, res.Started)

		// The provider retries the same delivery: only what failed starts now.
		st.mu.Lock()
		st.fail = nil
		st.mu.Unlock()
		res, err = h.HandlePush(ctx, ws.ID, p)
		require.NoError(t, err)
		require.False(t, res.Duplicate)
		require.Equal(t, []int64{b.ID}, keys(res.Started))
		require.Equal(t, 2, st.count())
		res, err = h.HandlePush(ctx, ws.ID, p)
		require.NoError(t, err)
		require.True(t, res.Duplicate, "a delivery handled in full is remembered")
	})
}

func keys(m map[int64]int64) []int64 {
	out := []int64{}
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestPollingStartsNewCommitsOnceAndAgreesWithWebhooks(t *testing.T) {
	eachEngine(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		ws := codeWorkspace(t, s, "shop")
		polled := newPipeline(t, s, ws.ID, "polled", pipeline.Definition{Sources: code(exact("main"), exact("dev")), Triggers: []pipeline.Trigger{{Type: pipeline.TriggerPush, Poll: true}}})
		newPipeline(t, s, ws.ID, "webhook only", pipeline.Definition{Sources: code(), Triggers: []pipeline.Trigger{{Type: pipeline.TriggerPush}}})
		h := &heads{}
		h.set(ws.ID, triggers.Branch{Name: "main", Commit: "a1"}, triggers.Branch{Name: "dev", Commit: "d1"}, triggers.Branch{Name: "x", Commit: "x1"})
		st := &starts{}
		a := triggers.New(stores(s), st, h, nil, triggers.Config{})
		b := triggers.New(stores(s), st, h, nil, triggers.Config{})

		a.PollOnce(ctx)
		require.Zero(t, st.count(), "the first poll records the heads")

		h.set(ws.ID, triggers.Branch{Name: "main", Commit: "a2"}, triggers.Branch{Name: "dev", Commit: "d1"}, triggers.Branch{Name: "x", Commit: "x2"})
		a.PollOnce(ctx)
		b.PollOnce(ctx)
		require.Equal(t, []start{{polled.ID, triggers.StartRequest{Trigger: store.TriggerPoll, Branch: "main", Commit: "a2"}}}, st.list())

		// A webhook for a commit polling already started starts only the webhook-only pipeline.
		res, err := triggers.NewPushHandler(stores(s), st, nil).HandlePush(ctx, ws.ID, &webhook.Push{DeliveryID: "w1", Branch: "main", Commit: "a2"})
		require.NoError(t, err)
		require.Equal(t, 2, res.Matched)
		require.Len(t, res.Started, 1)
		require.NotContains(t, res.Started, polled.ID)

		// And a commit a webhook started is not started again by polling.
		_, err = triggers.NewPushHandler(stores(s), st, nil).HandlePush(ctx, ws.ID, &webhook.Push{DeliveryID: "w2", Branch: "dev", Commit: "d2"})
		require.NoError(t, err)
		n := st.count()
		h.set(ws.ID, triggers.Branch{Name: "main", Commit: "a2"}, triggers.Branch{Name: "dev", Commit: "d2"})
		a.PollOnce(ctx)
		require.Equal(t, n, st.count())
	})
}

func TestPruneDeliveriesForgetsOldOnes(t *testing.T) {
	eachEngine(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		ws := codeWorkspace(t, s, "shop")
		newPipeline(t, s, ws.ID, "all", pipeline.Definition{Sources: code(), Triggers: []pipeline.Trigger{{Type: pipeline.TriggerPush}}})
		st := &starts{}
		h := triggers.NewPushHandler(stores(s), st, nil)
		p := &webhook.Push{DeliveryID: "old", Branch: "main", Commit: "aaaaaaa"}
		_, err := h.HandlePush(ctx, ws.ID, p)
		require.NoError(t, err)

		clk := &clock{t: time.Now().Add(8 * 24 * time.Hour)}
		triggers.New(stores(s), st, nil, nil, triggers.Config{Now: clk.Now}).PruneDeliveries(ctx)
		// Forgotten: the same id is fresh again (the head claim still stops a second run).
		res, err := h.HandlePush(ctx, ws.ID, p)
		require.NoError(t, err)
		require.False(t, res.Duplicate)
		require.Equal(t, 1, st.count())
	})
}
