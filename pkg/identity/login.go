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
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      *UserView `json:"user"`
}

// Client describes where a request comes from.
type Client struct {
	IP        string
	UserAgent string
}

var errBadCredentials = errs.Unauthenticatedf("invalid username or password").WithCode("invalid_credentials")

// Login checks a password and opens a session. The attempt is counted against the sign-in
// throttles (see throttle.go) before the password is looked at, so a burst of guesses is cut off
// at the limit however many arrive at once, on any replica.
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
	// No username is longer than 64 bytes; cutting keeps the throttle key within its column.
	username := truncate(strings.TrimSpace(in.Username), 64)
	addr := addrKey(client.IP)
	now := s.now()
	if err := s.admit(ctx, now, s.loginThrottles(username, addr)...); err != nil {
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
	if !ok {
		return nil, errBadCredentials
	}
	// The right password was no guess: the user's failures are forgiven (the address's count of
	// attempts stays).
	if err := s.throttles.Reset(ctx, userAddrKey(username, addr), userKey(username)); err != nil {
		return nil, fmt.Errorf("reset login throttles: %w", err)
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
	v := ViewOfUser(u)
	return &LoginResult{Token: token, ExpiresAt: sess.ExpiresAt, User: &v}, nil
}

// Logout ends the caller's session (API tokens are revoked through the tokens API instead).
func (s *Service) Logout(ctx context.Context, p *access.Principal) error {
	if p.SessionID == 0 {
		return nil
	}
	if err := s.sessions.Delete(ctx, p.SessionID); err != nil {
		return err
	}
	s.changed(ctx, p.User.ID)
	return nil
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

// Prune deletes expired sessions and idle sign-in throttles; run periodically.
func (s *Service) Prune(ctx context.Context) error {
	now := s.now()
	if _, err := s.sessions.DeleteExpired(ctx, now); err != nil {
		return err
	}
	// Every window and backoff that ended before keep is over; an older counter is forgotten.
	keep := max(s.opts.LoginFailureWindow, ipWindow, backoffMax)
	_, err := s.throttles.DeleteIdle(ctx, now.Add(-keep))
	return err
}
