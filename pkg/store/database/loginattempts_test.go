package database

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/store"
)

// hitAt counts one attempt and asserts whether it was let through; it returns the outcome.
func hitAt(t *testing.T, s store.Store, key string, l store.ThrottleLimit, now time.Time, allowed bool) store.ThrottleHit {
	t.Helper()
	h, err := s.LoginThrottles.Hit(t.Context(), key, l, now)
	require.NoError(t, err)
	require.Equal(t, allowed, h.Allowed, "%+v", h)
	return h
}

func TestLoginThrottleFixedWindow(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, _ *DB, s store.Store) {
		t0 := time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.FixedZone("Y", 9*3600))
		l := store.ThrottleLimit{Max: 3, Window: time.Minute}
		for i := 1; i <= 3; i++ {
			h := hitAt(t, s, "k", l, t0.Add(time.Duration(i)*time.Second), true)
			require.Equal(t, i, h.Hits)
			require.Equal(t, t0.Add(time.Second).UTC(), h.WindowStart, "the window runs from the first attempt")
		}
		h := hitAt(t, s, "k", l, t0.Add(20*time.Second), false)
		require.Equal(t, 41*time.Second, h.RetryAfter, "until the first attempt leaves the window")
		h = hitAt(t, s, "k", l, t0.Add(61*time.Second-time.Microsecond), false)
		require.Equal(t, time.Microsecond, h.RetryAfter)
		hitAt(t, s, "other", l, t0.Add(20*time.Second), true) // keys are independent

		h = hitAt(t, s, "k", l, t0.Add(61*time.Second), true)
		require.Equal(t, 1, h.Hits, "a new window")
		require.Equal(t, t0.Add(61*time.Second).UTC(), h.WindowStart)

		t.Run("refund", func(t *testing.T) {
			now := t0.Add(62 * time.Second)
			h2 := hitAt(t, s, "k", l, now, true)
			hitAt(t, s, "k", l, now, true)
			hitAt(t, s, "k", l, now, false)
			require.NoError(t, s.LoginThrottles.Refund(t.Context(), "k", h2))
			h3 := hitAt(t, s, "k", l, now, true)
			require.Equal(t, 3, h3.Hits)
			hitAt(t, s, "k", l, now, false)
			// A refund for a window that has been restarted takes nothing back.
			later := hitAt(t, s, "k", l, now.Add(time.Hour), true)
			require.NoError(t, s.LoginThrottles.Refund(t.Context(), "k", h3))
			require.Equal(t, 2, hitAt(t, s, "k", l, now.Add(time.Hour), true).Hits)
			require.NoError(t, s.LoginThrottles.Refund(t.Context(), "k", later))
			require.Equal(t, 2, hitAt(t, s, "k", l, now.Add(time.Hour), true).Hits)
		})
		t.Run("reset", func(t *testing.T) {
			now := t0.Add(2 * time.Hour)
			for range 3 {
				hitAt(t, s, "r", l, now, true)
			}
			hitAt(t, s, "r", l, now, false)
			require.NoError(t, s.LoginThrottles.Reset(t.Context(), "r", "no-such-key"))
			require.NoError(t, s.LoginThrottles.Reset(t.Context()))
			require.Equal(t, 1, hitAt(t, s, "r", l, now, true).Hits)
		})
	})
}

func TestLoginThrottleBackoff(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, _ *DB, s store.Store) {
		t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		at := func(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }
		l := store.ThrottleLimit{Window: 10 * time.Minute, Sliding: true, BackoffAfter: 2, BackoffBase: time.Second, BackoffMax: 4 * time.Second}
		steps := []struct {
			at      float64
			allowed bool
			retry   time.Duration // for refused attempts
		}{
			{0, true, 0},
			{0, true, 0}, // the second attempt reaches BackoffAfter: the next waits 1s
			{0.25, false, 750 * time.Millisecond},
			{1, true, 0}, // waits 2s
			{2.5, false, 500 * time.Millisecond},
			{3, true, 0}, // waits 4s
			{7, true, 0}, // capped at 4s
			{10.9, false, 100 * time.Millisecond},
			{11, true, 0},
			{11 + 600, true, 0}, // a quiet window: the count starts again
			{11 + 600, true, 0},
			{11 + 600, false, time.Second},
		}
		for i, st := range steps {
			h := hitAt(t, s, "u", l, at(st.at), st.allowed)
			if !st.allowed {
				require.Equal(t, st.retry, h.RetryAfter, "step %d", i)
			}
		}
	})
}

// TestLoginThrottleConcurrent: of many simultaneous attempts on one fresh key, exactly Max are
// let through, on each engine and through two handles on one database (two server replicas).
func TestLoginThrottleConcurrent(t *testing.T) {
	t.Parallel()
	for _, e := range testEngines() {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			cfg := e.config(t)
			var replicas []store.Store
			for range 2 {
				db := openDB(t, cfg)
				require.NoError(t, db.Migrate(t.Context()))
				replicas = append(replicas, db.Store())
			}
			l := store.ThrottleLimit{Max: 5, Window: time.Minute}
			now := time.Now()
			var allowed atomic.Int32
			var wg sync.WaitGroup
			for i := range 40 {
				wg.Go(func() {
					h, err := replicas[i%2].LoginThrottles.Hit(t.Context(), "race", l, now)
					if err != nil {
						t.Error(err)
						return
					}
					if h.Allowed {
						allowed.Add(1)
					} else if h.RetryAfter != time.Minute {
						t.Errorf("retry after %s, want 1m", h.RetryAfter)
					}
				})
			}
			wg.Wait()
			require.EqualValues(t, 5, allowed.Load())
		})
	}
}

func TestLoginThrottleDeleteIdle(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, _ *DB, s store.Store) {
		t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		fixed := store.ThrottleLimit{Max: 5, Window: time.Minute}
		backoff := store.ThrottleLimit{Window: time.Minute, Sliding: true, BackoffAfter: 1, BackoffBase: time.Hour, BackoffMax: time.Hour}
		hitAt(t, s, "old", fixed, t0, true)
		hitAt(t, s, "recent", fixed, t0.Add(10*time.Minute), true)
		hitAt(t, s, "waiting", backoff, t0, true) // its backoff runs an hour
		n, err := s.LoginThrottles.DeleteIdle(t.Context(), t0.Add(5*time.Minute))
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
		require.Equal(t, 2, hitAt(t, s, "recent", fixed, t0.Add(10*time.Minute), true).Hits)
		hitAt(t, s, "waiting", backoff, t0.Add(5*time.Minute), false)
		require.Equal(t, 1, hitAt(t, s, "old", fixed, t0.Add(5*time.Minute), true).Hits, "deleted: counted afresh")
	})
}
