// Package identity signs people in and manages who they are: first-run setup, login with rate
// limiting, sessions, API tokens, users and passwords. Passwords are bcrypt hashes; session and
// API token secrets are random 256-bit values of which only a SHA-256 digest is stored.
package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/kubespace/kubespace/pkg/authchange"
	"github.com/kubespace/kubespace/pkg/store"
)

// Token prefixes tell session tokens from API tokens (and make leaked tokens easy to scan for).
const (
	SessionPrefix  = "kss_"
	APITokenPrefix = "ksp_"
)

// Options tune the identity service.
type Options struct {
	SessionTTL time.Duration
	// LoginMaxFailures attempts per LoginFailureWindow for one username from one address;
	// LoginMaxPerIP attempts a minute from one address (see throttle.go for the whole policy).
	LoginMaxFailures   int
	LoginFailureWindow time.Duration
	LoginMaxPerIP      int
	// BcryptCost defaults to bcrypt.DefaultCost; tests lower it.
	BcryptCost int
	// SetupToken guards first-run setup.
	SetupToken string
	// Now defaults to time.Now.
	Now func() time.Time
	// AuthCacheTTL is how long credentials and users are cached per process (0: no cache).
	AuthCacheTTL time.Duration
	// Notifier hears of every change to a user's credentials or standing (nil: nobody).
	Notifier authchange.Notifier
}

// Service implements identity operations over the stores.
type Service struct {
	tx        store.Transactor
	users     store.Users
	sessions  store.Sessions
	tokens    store.Tokens
	bindings  store.RoleBindings
	throttles store.LoginThrottles
	opts      Options
	log       *slog.Logger
	// dummyHash is compared against when a login names no user, so the reply takes as long
	// as a wrong password and does not reveal which usernames exist.
	dummyHash []byte
	setupMu   sync.Mutex
	cache     *authCache
}

// New returns the identity service.
func New(s store.Store, opts Options, log *slog.Logger) *Service {
	if opts.BcryptCost == 0 {
		opts.BcryptCost = bcrypt.DefaultCost
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Notifier == nil {
		opts.Notifier = noNotifier{}
	}
	dummy, _ := bcrypt.GenerateFromPassword([]byte("kubespace-no-such-user"), opts.BcryptCost)
	return &Service{
		tx: s.Tx, users: s.Users, sessions: s.Sessions, tokens: s.Tokens, bindings: s.RoleBindings,
		throttles: s.LoginThrottles, opts: opts, log: log, dummyHash: dummy, cache: newAuthCache(opts.AuthCacheTTL),
	}
}

func (s *Service) now() time.Time { return s.opts.Now().UTC() }

// SetupToken returns the token that guards first-run setup.
func (s *Service) SetupToken() string { return s.opts.SetupToken }

func (s *Service) hash(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), s.opts.BcryptCost)
	return string(h), err
}

// newSecret returns a random token with prefix and the hex SHA-256 digest stored for it.
func newSecret(prefix string) (token, digest string) {
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	token = prefix + base64.RawURLEncoding.EncodeToString(buf)
	return token, digestOf(token)
}

func digestOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// NewSetupToken returns a random setup token for when none is configured.
func NewSetupToken() string {
	t, _ := newSecret("")
	return t
}

func equalConstantTime(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// revokeCredentials ends every session and API token of a user; called whenever the user's
// password or standing changes so a stolen credential stops working at once.
func (s *Service) revokeCredentials(ctx context.Context, userID int64) error {
	if err := s.sessions.DeleteByUser(ctx, userID); err != nil {
		return err
	}
	return s.tokens.DeleteByUser(ctx, userID)
}

type noNotifier struct{}

func (noNotifier) Changed(context.Context, ...int64) {}

// changed reports, after a commit, that users' credentials or standing changed.
func (s *Service) changed(ctx context.Context, userIDs ...int64) {
	s.opts.Notifier.Changed(ctx, userIDs...)
}
