package database

import (
	"context"
	"errors"
	"math"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/kubespace/kubespace/pkg/store"
)

// throttleStore implements store.LoginThrottles over login_throttles.
type throttleStore struct{ d *DB }

var _ store.LoginThrottles = (*throttleStore)(nil)

// hitSQL counts one attempt if the key's limit lets it through: never before the backoff of the
// previous attempt has passed, and then when the window has ended or is not full. The window
// reset and the limit check are in this one statement, so the database serialises concurrent attempts on the row and
// exactly the first @max of a window match. Times are integers (Unix microseconds) so the
// arithmetic is the same on both engines.
//
// Without a backoff, next_at_us stays 0 rather than "now": concurrent requests take their clock
// readings in any order (and replicas' clocks differ a little), and an attempt must never wait
// for a neighbour's timestamp.
//
// MySQL evaluates single-table SET assignments left to right and lets later ones see earlier
// results, SQLite evaluates them all on the old row: each assignment therefore reads only
// columns assigned after it (or itself), which makes both engines compute the same row.
const hitSQL = `UPDATE login_throttles SET
  next_at_us = CASE WHEN ` + newBackoff + ` = 0 THEN 0 ELSE @now + ` + newBackoff + ` END,
  backoff_us = ` + newBackoff + `,
  hits = ` + newHits + `,
  window_start_us = CASE WHEN ` + expired + ` OR @sliding = 1 THEN @now ELSE window_start_us END
WHERE throttle_key = @key AND next_at_us <= @now AND (` + expired + ` OR hits < @max)`

const (
	// expired: the window no longer counts; the attempt opens a new one.
	expired = `window_start_us <= @cutoff`
	// newHits is the count including this attempt.
	newHits = `(CASE WHEN ` + expired + ` THEN 1 ELSE hits + 1 END)`
	// newBackoff is the wait this attempt imposes on the next: none below @after, then @base,
	// doubling up to @cap.
	newBackoff = `(CASE WHEN @after = 0 OR ` + newHits + ` < @after THEN 0
    WHEN ` + expired + ` OR backoff_us = 0 THEN @base
    WHEN backoff_us * 2 > @cap THEN @cap
    ELSE backoff_us * 2 END)`
)

// Hit implements store.LoginThrottles. The update and the read of the resulting row run in one
// transaction, so the returned window is the one the attempt was counted in. A missing row is
// inserted outside that transaction (a MySQL transaction that inserted after a gap-locking
// UPDATE could deadlock with a concurrent one) and the attempt is counted again.
func (s *throttleStore) Hit(ctx context.Context, key string, limit store.ThrottleLimit, now time.Time) (store.ThrottleHit, error) {
	nowUS := now.UnixMicro()
	maxHits := limit.Max
	if maxHits <= 0 {
		maxHits = math.MaxInt32
	}
	sliding := 0
	if limit.Sliding {
		sliding = 1
	}
	args := map[string]any{
		"key": key, "now": nowUS, "cutoff": nowUS - limit.Window.Microseconds(), "max": maxHits, "sliding": sliding,
		"after": limit.BackoffAfter, "base": limit.BackoffBase.Microseconds(), "cap": limit.BackoffMax.Microseconds(),
	}
	for range 2 {
		var (
			hit   store.ThrottleHit
			found bool
		)
		err := s.d.WithTx(ctx, func(ctx context.Context) error {
			res := s.d.conn(ctx).Exec(hitSQL, args)
			if res.Error != nil {
				return res.Error
			}
			var row store.LoginThrottle
			err := s.d.conn(ctx).Where("throttle_key = ?", key).Take(&row).Error
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			found = true
			hit = store.ThrottleHit{Allowed: res.RowsAffected == 1, Hits: row.Hits, WindowStart: time.UnixMicro(row.WindowStartUS).UTC()}
			if !hit.Allowed {
				hit.RetryAfter = retryAfter(row, limit, nowUS)
			}
			return nil
		})
		if err != nil {
			return store.ThrottleHit{}, dbErr(err, "count", "login attempt")
		}
		if found {
			return hit, nil
		}
		// Born with its window open now: a row starting at 0 looks idle to DeleteIdle, which could
		// remove it between this insert and the retry (seen as a 500 on the first setup).
		err = s.d.conn(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&store.LoginThrottle{Key: key, WindowStartUS: nowUS}).Error
		if err != nil {
			return store.ThrottleHit{}, dbErr(err, "create", "login throttle")
		}
	}
	return store.ThrottleHit{}, errors.New("count login attempt: throttle row vanished twice")
}

// retryAfter is how long a refused attempt must wait: until the window ends when the cap is
// reached, and until the backoff passes.
func retryAfter(row store.LoginThrottle, limit store.ThrottleLimit, nowUS int64) time.Duration {
	var wait int64
	if limit.Max > 0 && row.Hits >= limit.Max {
		wait = row.WindowStartUS + limit.Window.Microseconds() - nowUS
	}
	if d := row.NextAtUS - nowUS; d > wait {
		wait = d
	}
	return time.Duration(wait) * time.Microsecond
}

// Refund implements store.LoginThrottles.
func (s *throttleStore) Refund(ctx context.Context, key string, hit store.ThrottleHit) error {
	err := s.d.conn(ctx).Exec(`UPDATE login_throttles SET hits = hits - 1 WHERE throttle_key = ? AND window_start_us = ? AND hits > 0`,
		key, hit.WindowStart.UnixMicro()).Error
	return dbErr(err, "refund", "login attempt")
}

// Reset implements store.LoginThrottles.
func (s *throttleStore) Reset(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	_, err := deleteWhere(ctx, s.d, &store.LoginThrottle{}, "login throttles", "throttle_key IN ?", keys)
	return err
}

// DeleteIdle implements store.LoginThrottles.
func (s *throttleStore) DeleteIdle(ctx context.Context, t time.Time) (int64, error) {
	us := t.UnixMicro()
	return deleteWhere(ctx, s.d, &store.LoginThrottle{}, "idle login throttles", "window_start_us < ? AND next_at_us < ?", us, us)
}
