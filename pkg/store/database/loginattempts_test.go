package database

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/store"
)

func TestLoginAttempts(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, _ *DB, s store.Store) {
		ctx := t.Context()
		now := time.Now().In(time.FixedZone("Y", 9*3600))
		ago := func(m int) time.Time { return now.Add(-time.Duration(m) * time.Minute) }
		for _, a := range []store.LoginAttempt{
			{Username: "alice", IP: "10.0.0.1", Success: false, At: ago(30)},
			{Username: "alice", IP: "10.0.0.1", Success: false, At: ago(10)},
			{Username: "alice", IP: "10.0.0.2", Success: true, At: ago(8)},
			{Username: "alice", IP: "10.0.0.2", Success: false, At: ago(5)},
			{Username: "bob", IP: "10.0.0.1", Success: false, At: ago(3)},
			{Username: "alice", IP: "10.0.0.3", Success: false, At: ago(0)},
		} {
			require.NoError(t, s.LoginAttempts.Create(ctx, &a))
			require.NotZero(t, a.ID)
		}
		for _, tc := range []struct {
			name      string
			count     func() (int64, time.Time, error)
			wantN     int64
			wantOlder time.Time
		}{
			{"failures of alice in 15m", func() (int64, time.Time, error) { return s.LoginAttempts.CountFailures(ctx, "alice", ago(15)) }, 3, ago(10)},
			{"failures of alice, since inclusive", func() (int64, time.Time, error) { return s.LoginAttempts.CountFailures(ctx, "alice", ago(30)) }, 4, ago(30)},
			{"failures of bob", func() (int64, time.Time, error) { return s.LoginAttempts.CountFailures(ctx, "bob", ago(60)) }, 1, ago(3)},
			{"no failures", func() (int64, time.Time, error) { return s.LoginAttempts.CountFailures(ctx, "carol", ago(60)) }, 0, time.Time{}},
			{"ip counts successes too", func() (int64, time.Time, error) { return s.LoginAttempts.CountByIP(ctx, "10.0.0.2", ago(60)) }, 2, ago(8)},
			{"ip in window", func() (int64, time.Time, error) { return s.LoginAttempts.CountByIP(ctx, "10.0.0.1", ago(20)) }, 2, ago(10)},
			{"unknown ip", func() (int64, time.Time, error) { return s.LoginAttempts.CountByIP(ctx, "10.9.9.9", ago(60)) }, 0, time.Time{}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				n, oldest, err := tc.count()
				require.NoError(t, err)
				require.Equal(t, tc.wantN, n)
				require.Equal(t, normTime(tc.wantOlder), oldest)
			})
		}
		t.Run("delete before", func(t *testing.T) {
			n, err := s.LoginAttempts.DeleteBefore(ctx, ago(8))
			require.NoError(t, err)
			require.EqualValues(t, 2, n)
			n, _, err = s.LoginAttempts.CountFailures(ctx, "alice", ago(60))
			require.NoError(t, err)
			require.EqualValues(t, 2, n)
		})
	})
}
