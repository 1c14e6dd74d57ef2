package identity

import (
	"sync"
	"time"

	"github.com/kubespace/kubespace/pkg/store"
)

// maxCached bounds each map of the authentication cache; past it the map starts over.
const maxCached = 10000

// credential is what authentication needs from a session or API token row.
type credential struct {
	sessionID, tokenID, clusterID, userID int64
	name                                  string     // the token's name, for messages
	expiresAt                             *time.Time // nil: never
	lastSeen                              time.Time  // last recorded use
	loaded                                time.Time
}

type cachedUser struct {
	user   store.User
	loaded time.Time
}

// authCache keeps credentials (by digest) and users for a short time, so an authenticated
// request costs no query. Every change to a user's credentials or standing drops the user's
// entries through Forget (reported on every replica by authchange); the TTL bounds the effect of
// a lost report. Unknown credentials are never cached.
type authCache struct {
	ttl time.Duration

	mu    sync.Mutex
	creds map[string]credential
	users map[int64]cachedUser
	// gen counts Forget calls: an entry loaded while a Forget ran is not stored.
	gen uint64
}

func newAuthCache(ttl time.Duration) *authCache {
	return &authCache{ttl: ttl, creds: map[string]credential{}, users: map[int64]cachedUser{}}
}

func (c *authCache) enabled() bool { return c.ttl > 0 }

// generation returns the counter to pass to the put calls of what is loaded next.
func (c *authCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

func (c *authCache) credential(digest string, now time.Time) (credential, bool) {
	if !c.enabled() {
		return credential{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cr, ok := c.creds[digest]
	if !ok || now.Sub(cr.loaded) >= c.ttl {
		return credential{}, false
	}
	return cr, true
}

func (c *authCache) putCredential(gen uint64, digest string, cr credential) {
	if !c.enabled() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(c.creds) >= maxCached {
		clear(c.creds)
	}
	c.creds[digest] = cr
}

// seen records a use of a cached credential, keeping its load time.
func (c *authCache) seen(digest string, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cr, ok := c.creds[digest]; ok {
		cr.lastSeen = at
		c.creds[digest] = cr
	}
}

// user returns a copy of a cached user.
func (c *authCache) user(id int64, now time.Time) (*store.User, bool) {
	if !c.enabled() {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	u, ok := c.users[id]
	if !ok || now.Sub(u.loaded) >= c.ttl {
		return nil, false
	}
	cp := u.user
	return &cp, true
}

func (c *authCache) putUser(gen uint64, u *store.User, now time.Time) {
	if !c.enabled() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(c.users) >= maxCached {
		clear(c.users)
	}
	c.users[u.ID] = cachedUser{user: *u, loaded: now}
}

// forget drops a user's record and credentials (0: everything).
func (c *authCache) forget(userID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if userID == 0 {
		clear(c.creds)
		clear(c.users)
		return
	}
	delete(c.users, userID)
	for d, cr := range c.creds {
		if cr.userID == userID {
			delete(c.creds, d)
		}
	}
}
