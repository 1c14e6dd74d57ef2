package identity_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/identity"
)

// loginFrom tries a login as username from addr.
func loginFrom(svc *identity.Service, username, password, addr string) error {
	_, err := svc.Login(context.Background(), identity.LoginInput{Username: username, Password: password}, identity.Client{IP: addr})
	return err
}

// requireRetryAfter asserts a RateLimited error that asks to wait exactly after.
func requireRetryAfter(t *testing.T, err error, after time.Duration) {
	t.Helper()
	requireCode(t, err, errs.RateLimited, "")
	e, _ := errs.As(err)
	require.Equal(t, after, e.RetryAfter, "%v", err)
}

// TestLoginLockoutIsPerAddress: the hard lockout holds one address back, not the user: the right
// password from elsewhere still works, and does not unlock the guessing address.
func TestLoginLockoutIsPerAddress(t *testing.T) {
	t.Parallel()
	svc, _, c := newService(t)
	const attacker, owner = "198.51.100.7", "203.0.113.5"
	for range 3 {
		requireCode(t, loginFrom(svc, "admin", "wrong", attacker), errs.Unauthenticated, "invalid_credentials")
		c.Advance(10 * time.Second)
	}
	requireRetryAfter(t, loginFrom(svc, "admin", "admin-password", attacker), 5*time.Minute-30*time.Second)
	require.NoError(t, loginFrom(svc, "admin", "admin-password", owner))
	c.Advance(time.Minute)
	requireRetryAfter(t, loginFrom(svc, "admin", "admin-password", attacker), 5*time.Minute-90*time.Second)
	// Another username from the locked address is its own count.
	requireCode(t, loginFrom(svc, "someone", "wrong", attacker), errs.Unauthenticated, "invalid_credentials")
	c.Advance(5*time.Minute - 90*time.Second - time.Microsecond)
	requireRetryAfter(t, loginFrom(svc, "admin", "admin-password", attacker), time.Microsecond)
	c.Advance(time.Microsecond)
	require.NoError(t, loginFrom(svc, "admin", "admin-password", attacker), "the window has passed")
}

// TestLoginSuccessClearsFailures: a successful login forgives the failures before it at its
// address, so a user who mistypes now and then is never locked out.
func TestLoginSuccessClearsFailures(t *testing.T) {
	t.Parallel()
	svc, _, _ := newService(t)
	for range 4 {
		for range 2 {
			requireCode(t, loginFrom(svc, "admin", "wrong", "10.1.1.1"), errs.Unauthenticated, "invalid_credentials")
		}
		require.NoError(t, loginFrom(svc, "admin", "admin-password", "10.1.1.1"))
	}
}

// TestLoginBackoffAcrossAddresses: guesses spread over many addresses meet the per-user
// backoff (after 4 x LoginMaxFailures), which doubles from a second to a minute and never locks
// hard; the right password after the wait clears it.
func TestLoginBackoffAcrossAddresses(t *testing.T) {
	t.Parallel()
	svc, _, c := newService(t) // 3 failures per address: the backoff starts after 12
	n := 0
	next := func() string { n++; return fmt.Sprintf("192.0.2.%d", n) }
	for range 12 {
		requireCode(t, loginFrom(svc, "admin", "wrong", next()), errs.Unauthenticated, "invalid_credentials")
	}
	for _, wait := range []time.Duration{1, 2, 4, 8, 16, 32, 60, 60} {
		wait *= time.Second
		requireRetryAfter(t, loginFrom(svc, "admin", "wrong", next()), wait)
		requireRetryAfter(t, loginFrom(svc, "admin", "admin-password", next()), wait)
		c.Advance(wait - time.Millisecond)
		requireRetryAfter(t, loginFrom(svc, "admin", "wrong", next()), time.Millisecond)
		c.Advance(time.Millisecond)
		requireCode(t, loginFrom(svc, "admin", "wrong", next()), errs.Unauthenticated, "invalid_credentials")
	}
	requireRetryAfter(t, loginFrom(svc, "admin", "admin-password", next()), time.Minute)
	c.Advance(time.Minute)
	require.NoError(t, loginFrom(svc, "admin", "admin-password", next()))
	for range 12 {
		requireCode(t, loginFrom(svc, "admin", "wrong", next()), errs.Unauthenticated, "invalid_credentials")
	}
	requireRetryAfter(t, loginFrom(svc, "admin", "wrong", next()), time.Second)
	t.Run("a quiet window forgets", func(t *testing.T) {
		c.Advance(5 * time.Minute)
		for range 12 {
			requireCode(t, loginFrom(svc, "admin", "wrong", next()), errs.Unauthenticated, "invalid_credentials")
		}
	})
}

// TestLoginRefusedAttemptsAreTakenBack: an attempt one limit refuses does not use up another's
// allowance, so hammering a locked username does not also exhaust the address.
func TestLoginRefusedAttemptsAreTakenBack(t *testing.T) {
	t.Parallel()
	svc, _, _ := newServiceWith(t, func(o *identity.Options) { o.LoginMaxPerIP = 5; o.LoginMaxFailures = 2 })
	const addr = "10.2.2.2"
	for range 2 {
		requireCode(t, loginFrom(svc, "carol", "wrong", addr), errs.Unauthenticated, "invalid_credentials")
	}
	for range 10 {
		requireCode(t, loginFrom(svc, "carol", "wrong", addr), errs.RateLimited, "")
	}
	for i := range 3 {
		requireCode(t, loginFrom(svc, fmt.Sprintf("user-%d", i), "wrong", addr), errs.Unauthenticated, "invalid_credentials")
	}
	requireRetryAfter(t, loginFrom(svc, "dave", "wrong", addr), time.Minute)
}

// TestSetupTokenAttemptsAreLimited: setup counts attempts per address before comparing the
// token, with the login lockout's limit.
func TestSetupTokenAttemptsAreLimited(t *testing.T) {
	t.Parallel()
	svc, _, c := newServiceWith(t, nil)
	ctx := context.Background()
	setup := func(token, addr string) error {
		_, err := svc.Setup(ctx, identity.SetupInput{Username: "root", Password: "root-password", Email: "r@example.com", SetupToken: token},
			identity.Client{IP: addr})
		return err
	}
	for i := range 3 {
		requireCode(t, setup(fmt.Sprintf("guess-%d", i), "10.3.3.3"), errs.Forbidden, "bad_setup_token")
		c.Advance(time.Second)
	}
	requireRetryAfter(t, setup(setupToken, "10.3.3.3"), 5*time.Minute-3*time.Second)
	// Input errors are answered before counting.
	_, err := svc.Setup(ctx, identity.SetupInput{SetupToken: "x"}, identity.Client{IP: "10.3.3.3"})
	requireCode(t, err, errs.Invalid, "")
	require.NoError(t, setup(setupToken, "10.4.4.4"))
}
