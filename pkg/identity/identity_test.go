package identity_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/identity"
	"github.com/kubespace/kubespace/pkg/store"
	"github.com/kubespace/kubespace/pkg/store/database"
)

const setupToken = "identity-test-setup-token"

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newService returns the identity service over a fresh SQLite database, with its clock, after
// first-run setup created the super admin "admin".
func newService(t *testing.T) (*identity.Service, store.Store, *clock) {
	t.Helper()
	svc, st, c := newServiceWith(t, nil)
	_, err := svc.Setup(context.Background(), identity.SetupInput{Username: "admin", Password: "admin-password", Email: "a@example.com", SetupToken: setupToken}, identity.Client{IP: "10.0.0.9"})
	require.NoError(t, err)
	return svc, st, c
}

// newServiceWith returns the identity service over a fresh SQLite database before setup;
// adjust changes the test defaults (3 failures per 5 minutes, 1000 attempts per address).
func newServiceWith(t *testing.T, adjust func(*identity.Options)) (*identity.Service, store.Store, *clock) {
	t.Helper()
	ctx := context.Background()
	db, err := database.Open(ctx, database.Config{SQLitePath: filepath.Join(t.TempDir(), "identity.db")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	require.NoError(t, db.Migrate(ctx))
	st := db.Store()
	c := &clock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	opts := identity.Options{SessionTTL: time.Hour, LoginMaxFailures: 3, LoginFailureWindow: 5 * time.Minute,
		LoginMaxPerIP: 1000, BcryptCost: bcrypt.MinCost, SetupToken: setupToken, Now: c.Now}
	if adjust != nil {
		adjust(&opts)
	}
	return identity.New(st, opts, slog.New(slog.DiscardHandler)), st, c
}

func requireCode(t *testing.T, err error, kind errs.Kind, code string) {
	t.Helper()
	require.Error(t, err)
	e, ok := errs.As(err)
	require.True(t, ok, "unclassified error %v", err)
	require.Equal(t, kind, e.Kind, "%v", err)
	if code != "" {
		require.Equal(t, code, e.StableCode(), "%v", err)
	}
}

func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		advance time.Duration
		code    string // "" when the session still works
	}{
		{"fresh", 0, ""},
		{"a nanosecond before the end", time.Hour - time.Nanosecond, ""},
		{"exactly at the end", time.Hour, "session_expired"},
		{"long after", 48 * time.Hour, "session_expired"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svc, _, c := newService(t)
			ctx := context.Background()
			res, err := svc.Login(ctx, identity.LoginInput{Username: "admin", Password: "admin-password"}, identity.Client{IP: "10.0.0.1"})
			require.NoError(t, err)
			require.Equal(t, c.Now().Add(time.Hour), res.ExpiresAt)
			c.Advance(tc.advance)
			p, err := svc.Authenticate(ctx, res.Token)
			if tc.code == "" {
				require.NoError(t, err)
				require.Equal(t, "admin", p.User.Username)
				return
			}
			requireCode(t, err, errs.Unauthenticated, tc.code)
		})
	}
}

func TestPruneRemovesExpiredSessions(t *testing.T) {
	t.Parallel()
	svc, _, c := newService(t)
	ctx := context.Background()
	res, err := svc.Login(ctx, identity.LoginInput{Username: "admin", Password: "admin-password"}, identity.Client{IP: "10.0.0.1"})
	require.NoError(t, err)
	c.Advance(2 * time.Hour)
	require.NoError(t, svc.Prune(ctx))
	c.Advance(-2 * time.Hour) // even with the clock turned back, the pruned session is gone
	_, err = svc.Authenticate(ctx, res.Token)
	requireCode(t, err, errs.Unauthenticated, "")
}

func TestAPITokenExpiry(t *testing.T) {
	t.Parallel()
	svc, st, c := newService(t)
	ctx := context.Background()
	u, err := st.Users.GetByUsername(ctx, "admin")
	require.NoError(t, err)
	p := &access.Principal{User: u}
	expires := c.Now().Add(30 * time.Minute)
	tok, err := svc.CreateToken(ctx, p, identity.CreateTokenInput{Name: "ci", ExpiresAt: &expires}, 0)
	require.NoError(t, err)
	_, err = svc.Authenticate(ctx, tok.Token)
	require.NoError(t, err)
	c.Advance(30 * time.Minute)
	_, err = svc.Authenticate(ctx, tok.Token)
	requireCode(t, err, errs.Unauthenticated, "token_expired")

	_, err = svc.CreateToken(ctx, p, identity.CreateTokenInput{Name: "late", ExpiresAt: &expires}, 0)
	requireCode(t, err, errs.Invalid, "validation_failed")
}

func TestLoginLockoutEndsWithTheWindow(t *testing.T) {
	t.Parallel()
	svc, _, c := newService(t)
	ctx := context.Background()
	try := func(password string) error {
		_, err := svc.Login(ctx, identity.LoginInput{Username: "admin", Password: password}, identity.Client{IP: "10.0.0.1"})
		return err
	}
	for i := 0; i < 3; i++ {
		requireCode(t, try("wrong"), errs.Unauthenticated, "invalid_credentials")
		c.Advance(time.Minute)
	}
	err := try("admin-password")
	requireCode(t, err, errs.RateLimited, "")
	e, _ := errs.As(err)
	// The first failure leaves the 5-minute window 2 minutes from now.
	require.Equal(t, 2*time.Minute, e.RetryAfter)
	c.Advance(2*time.Minute + time.Second)
	require.NoError(t, try("admin-password"), "the oldest failure left the window")
}
