package identity

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/store"
)

// LoginInput is a username/password login.
type LoginInput struct {
	Username string `json:"username" required:"true"`
	Password string `json:"password" required:"true"`
}

// LoginResult carries the new session token, shown to the client once.
type LoginResult struct {
	Token     string      `json:"token"`
	ExpiresAt time.Time   `json:"expires_at"`
	User      *store.User `json:"user"`
}

// Client describes where a request comes from.
type Client struct {
	IP        string
	UserAgent string
}

var errBadCredentials = errs.Unauthenticatedf("invalid username or password").WithCode("invalid_credentials")

// Login checks a password and opens a session. Attempts are rate limited per client IP and per
// username using the login_attempts table, so limits hold across server replicas and restarts.
func (s *Service) Login(ctx context.Context, in LoginInput, client Client) (*LoginResult, error) {
	f := errs.Fields{}
	if in.Username == "" {
		f.Add("username", "is required")
	}
	if in.Password == "" {
		f.Add("password", "is required")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	// No username is longer than 64 bytes; cutting keeps the attempt within its column.
	username := truncate(strings.TrimSpace(in.Username), 64)
	now := s.now()
	if err := s.checkRate(ctx, username, client.IP, now); err != nil {
		return nil, err
	}
	u, err := s.users.GetByUsername(ctx, username)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return nil, err
	}
	ok := false
	if u == nil || u.PasswordHash == "" {
		_ = bcrypt.CompareHashAndPassword(s.dummyHash, []byte(in.Password))
	} else {
		ok = bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(in.Password)) == nil
	}
	if err := s.attempts.Create(ctx, &store.LoginAttempt{Username: username, IP: client.IP, Success: ok, At: now}); err != nil {
		return nil, fmt.Errorf("record login attempt: %w", err)
	}
	if !ok {
		return nil, errBadCredentials
	}
	if u.Status != store.UserActive {
		return nil, errs.Unauthenticatedf("user %q is disabled", u.Username).WithCode("user_disabled")
	}
	token, digest := newSecret(SessionPrefix)
	sess := &store.Session{UserID: u.ID, TokenHash: digest, IP: client.IP, UserAgent: truncate(client.UserAgent, 255),
		ExpiresAt: now.Add(s.opts.SessionTTL), LastSeenAt: now}
	err = s.tx.WithTx(ctx, func(ctx context.Context) error {
		if err := s.sessions.Create(ctx, sess); err != nil {
			return err
		}
		u.LastLoginAt = &now
		return s.users.Update(ctx, u)
	})
	if err != nil {
		return nil, fmt.Errorf("open session: %w", err)
	}
	return &LoginResult{Token: token, ExpiresAt: sess.ExpiresAt, User: u}, nil
}

func (s *Service) checkRate(ctx context.Context, username, ip string, now time.Time) error {
	n, oldest, err := s.attempts.CountByIP(ctx, ip, now.Add(-time.Minute).Add(time.Microsecond))
	if err != nil {
		return fmt.Errorf("count login attempts: %w", err)
	}
	if n >= int64(s.opts.LoginMaxPerIP) {
		return rateLimited("too many login attempts from this address", oldest.Add(time.Minute).Sub(now))
	}
	// The window is half-open: a failure exactly one window old no longer counts, so a client that
	// waits the announced Retry-After is let in (timestamps are stored to the microsecond).
	n, oldest, err = s.attempts.CountFailures(ctx, username, now.Add(-s.opts.LoginFailureWindow).Add(time.Microsecond))
	if err != nil {
		return fmt.Errorf("count failed logins: %w", err)
	}
	if n >= int64(s.opts.LoginMaxFailures) {
		return rateLimited("too many failed logins for this user", oldest.Add(s.opts.LoginFailureWindow).Sub(now))
	}
	return nil
}

func rateLimited(msg string, after time.Duration) error {
	if after < time.Second {
		after = time.Second
	}
	e := errs.New(errs.RateLimited, "%s; retry in %d seconds", msg, int(after.Round(time.Second)/time.Second))
	e.RetryAfter = after
	return e
}

// Logout ends the caller's session (API tokens are revoked through the tokens API instead).
func (s *Service) Logout(ctx context.Context, p *access.Principal) error {
	if p.SessionID == 0 {
		return nil
	}
	return s.sessions.Delete(ctx, p.SessionID)
}

// truncate returns s as valid UTF-8 of at most n bytes, cut on a rune boundary: MySQL's utf8mb4
// columns refuse broken UTF-8 (a User-Agent header may carry any bytes).
func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Prune deletes expired sessions and old login attempts; run periodically.
func (s *Service) Prune(ctx context.Context) error {
	now := s.now()
	if _, err := s.sessions.DeleteExpired(ctx, now); err != nil {
		return err
	}
	keep := s.opts.LoginFailureWindow
	if keep < time.Minute {
		keep = time.Minute
	}
	_, err := s.attempts.DeleteBefore(ctx, now.Add(-keep))
	return err
}
