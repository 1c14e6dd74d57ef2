package database

import (
	"context"
	"fmt"
	"time"

	"github.com/kubespace/kubespace/pkg/store"
)

// sessionStore implements store.Sessions. Messages never quote a token hash.
type sessionStore struct{ d *DB }

var _ store.Sessions = (*sessionStore)(nil)

func sessionRef(id int64) string { return fmt.Sprintf("session %d", id) }

// Create implements store.Sessions.
func (s *sessionStore) Create(ctx context.Context, sess *store.Session) error {
	return dbErr(s.d.conn(ctx).Create(sess).Error, "create", "session")
}

// GetByHash implements store.Sessions.
func (s *sessionStore) GetByHash(ctx context.Context, tokenHash string) (*store.Session, error) {
	var sess store.Session
	if err := s.d.conn(ctx).Where("token_hash = ?", tokenHash).Take(&sess).Error; err != nil {
		return nil, dbErr(err, "get", "session")
	}
	return &sess, nil
}

// Touch implements store.Sessions.
func (s *sessionStore) Touch(ctx context.Context, id int64, at time.Time) error {
	return touchTime(ctx, s.d, &store.Session{}, "last_seen_at", id, at, sessionRef(id))
}

// Delete implements store.Sessions.
func (s *sessionStore) Delete(ctx context.Context, id int64) error {
	return deleteRow(ctx, s.d, &store.Session{}, id, sessionRef(id))
}

// DeleteByUser implements store.Sessions.
func (s *sessionStore) DeleteByUser(ctx context.Context, userID int64) error {
	_, err := deleteWhere(ctx, s.d, &store.Session{}, "sessions of "+userRef(userID), "user_id = ?", userID)
	return err
}

// DeleteExpired implements store.Sessions: a session is expired once now reaches ExpiresAt.
func (s *sessionStore) DeleteExpired(ctx context.Context, now time.Time) (int64, error) {
	return deleteWhere(ctx, s.d, &store.Session{}, "expired sessions", "expires_at <= ?", normTime(now))
}
