package identity

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/store"
)

// Sign-in throttling. Every attempt is counted before the credential is checked, in the shared
// database (store.LoginThrottles), so the limits hold across replicas and restarts and parallel
// attempts cannot all slip under them. Three counters apply to a login, in this order:
//
//   - per client address: LoginMaxPerIP attempts a minute, whatever the usernames;
//   - per username at one address (the hard lockout): LoginMaxFailures attempts per
//     LoginFailureWindow, cleared by a successful login. Keying it by address too means that
//     nobody can lock a user (the super admin above all) out from every address;
//   - per username across all addresses (the backoff): after backoffFactor times
//     LoginMaxFailures attempts, each further one must wait after the previous, from one second
//     doubling to a minute; never a hard lock. It forgets after a quiet LoginFailureWindow and
//     is cleared by a successful login.
//
// An attempt refused by a later counter is taken back from the earlier ones, so a refusal never
// uses up an allowance. First-run setup counts attempts per address like the hard lockout.
const (
	backoffFactor = 4
	backoffBase   = time.Second
	backoffMax    = time.Minute
	ipWindow      = time.Minute
)

// throttle is one counter an attempt passes through: its key, its limit and what to say when it
// refuses.
type throttle struct {
	key    string
	limit  store.ThrottleLimit
	refuse string
}

// loginThrottles returns the counters of a login attempt for username from addr.
func (s *Service) loginThrottles(username, addr string) []throttle {
	o := s.opts
	return []throttle{
		{"login-addr:" + addr, store.ThrottleLimit{Max: o.LoginMaxPerIP, Window: ipWindow},
			"too many login attempts from this address"},
		{userAddrKey(username, addr), store.ThrottleLimit{Max: o.LoginMaxFailures, Window: o.LoginFailureWindow},
			"too many failed logins for this user from this address"},
		{userKey(username), store.ThrottleLimit{Window: o.LoginFailureWindow, Sliding: true,
			BackoffAfter: backoffFactor * o.LoginMaxFailures, BackoffBase: backoffBase, BackoffMax: backoffMax},
			"too many failed logins for this user; wait before trying again"},
	}
}

func userAddrKey(username, addr string) string { return "login-user-addr:" + addr + " " + username }
func userKey(username string) string           { return "login-user:" + username }

// setupThrottle is the counter of a first-run setup attempt from addr.
func (s *Service) setupThrottle(addr string) throttle {
	return throttle{"setup-addr:" + addr, store.ThrottleLimit{Max: s.opts.LoginMaxFailures, Window: s.opts.LoginFailureWindow},
		"too many setup attempts from this address"}
}

// admit counts one attempt against every throttle in order. When one refuses, the attempts
// counted by the earlier ones are taken back and a RateLimited error says when to retry.
func (s *Service) admit(ctx context.Context, now time.Time, ts ...throttle) error {
	hits := make([]store.ThrottleHit, 0, len(ts))
	for i, t := range ts {
		h, err := s.throttles.Hit(ctx, t.key, t.limit, now)
		if err == nil && h.Allowed {
			hits = append(hits, h)
			continue
		}
		for j, prev := range hits {
			// Best effort: a failed refund only makes an earlier limit a little stricter.
			if rerr := s.throttles.Refund(ctx, ts[j].key, prev); rerr != nil {
				s.log.WarnContext(ctx, "refunding a login attempt failed", "error", rerr)
			}
		}
		if err != nil {
			return fmt.Errorf("count sign-in attempt: %w", err)
		}
		return rateLimited(ts[i].refuse, h.RetryAfter)
	}
	return nil
}

// rateLimited is the refusal of a throttled attempt; after is exact (the Retry-After header
// rounds it up to whole seconds, and so does the message).
func rateLimited(msg string, after time.Duration) error {
	if after <= 0 {
		after = time.Microsecond
	}
	secs := int((after + time.Second - 1) / time.Second)
	e := errs.New(errs.RateLimited, "%s; retry in %d seconds", msg, secs)
	e.RetryAfter = after
	return e
}

// addrKey is the part of a throttle key that names a client address. An IPv6 client is counted
// by its /64, the block one subscriber or host is given: per address would let it rotate through
// billions. Anything unparsable is kept as text, cut to fit the key.
func addrKey(ip string) string {
	a, err := netip.ParseAddr(strings.TrimSpace(ip))
	if err != nil {
		return truncate(strings.ReplaceAll(ip, " ", "_"), 64)
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.WithZone("").Prefix(64)
	return p.String()
}
