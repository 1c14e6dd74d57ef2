package database

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/kubespace/kubespace/pkg/store"
)

// attemptStore implements store.LoginAttempts.
type attemptStore struct{ d *DB }

var _ store.LoginAttempts = (*attemptStore)(nil)

// Create implements store.LoginAttempts. A zero At means now.
func (s *attemptStore) Create(ctx context.Context, a *store.LoginAttempt) error {
	if a.At.IsZero() {
		a.At = normTime(time.Now())
	}
	return dbErr(s.d.conn(ctx).Create(a).Error, "create", "login attempt")
}

// CountFailures implements store.LoginAttempts.
func (s *attemptStore) CountFailures(ctx context.Context, username string, since time.Time) (int64, time.Time, error) {
	q := s.d.conn(ctx).Model(&store.LoginAttempt{}).
		Where("username = ? AND success = ? AND `at` >= ?", username, false, normTime(since))
	return countOldest(q, "failed login attempts")
}

// CountByIP implements store.LoginAttempts.
func (s *attemptStore) CountByIP(ctx context.Context, ip string, since time.Time) (int64, time.Time, error) {
	q := s.d.conn(ctx).Model(&store.LoginAttempt{}).Where("ip = ? AND `at` >= ?", ip, normTime(since))
	return countOldest(q, "login attempts")
}

// countOldest counts q's rows and finds the oldest one's time. The oldest is read as a column,
// not as MIN(at): SQLite returns an aggregate of a time column as text, not as a time.
func countOldest(q *gorm.DB, what string) (int64, time.Time, error) {
	q = q.Session(&gorm.Session{})
	var n int64
	if err := q.Count(&n).Error; err != nil {
		return 0, time.Time{}, dbErr(err, "count", what)
	}
	if n == 0 {
		return 0, time.Time{}, nil
	}
	var oldest store.LoginAttempt
	err := q.Select("`at`").Order("`at`").Limit(1).Take(&oldest).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, time.Time{}, nil // deleted since the count (retention ran)
	}
	if err != nil {
		return 0, time.Time{}, dbErr(err, "count", what)
	}
	return n, oldest.At, nil
}

// DeleteBefore implements store.LoginAttempts: it removes attempts older than t.
func (s *attemptStore) DeleteBefore(ctx context.Context, t time.Time) (int64, error) {
	return deleteWhere(ctx, s.d, &store.LoginAttempt{}, "login attempts", "`at` < ?", normTime(t))
}
