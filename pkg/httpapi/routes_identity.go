package httpapi

import (
	"net/http"
	"time"

	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/identity"
	"github.com/kubespace/kubespace/pkg/store"
)

// ListQuery is the paging and search part of every list.
type ListQuery struct {
	Limit    int    `query:"limit" json:"limit,omitempty"`
	Continue string `query:"continue" json:"continue,omitempty"`
	Sort     string `query:"sort" json:"sort,omitempty"`
	Q        string `query:"q" json:"q,omitempty"`
}

func (q ListQuery) options() store.ListOptions {
	return store.ListOptions{Limit: q.Limit, Continue: q.Continue, Sort: q.Sort, Query: q.Q}
}

func listOf[T any](p store.Page[T]) List[T] {
	if p.Items == nil {
		p.Items = []T{}
	}
	return List[T]{Items: p.Items, Total: p.Total, Continue: p.Continue}
}

// SetupStatus says whether first-run setup is needed.
type SetupStatus struct {
	Needed bool `json:"needed"`
}

// Me is the caller with their role bindings.
type Me struct {
	identity.UserView
	Permissions []access.Permission `json:"permissions"`
}

// UserChoices are the users a picker search found, by username; not paged (the limit is small).
type UserChoices struct {
	Items []identity.UserChoice `json:"items"`
}

func (a *API) registerIdentity() {
	id := a.deps.Identity
	a.register(&Route{Method: http.MethodGet, Path: "/setup", Tag: "identity", Summary: "Whether first-run setup is needed",
		Guard: Public(), Handler: Do(func(c *Call, _ *NoInput) (SetupStatus, error) {
			n, err := id.SetupNeeded(c.Ctx)
			return SetupStatus{Needed: n}, err
		})})
	a.register(&Route{Method: http.MethodPost, Path: "/setup", Tag: "identity", Summary: "Create the first super admin",
		Guard: Public(), Resource: "user", Action: "setup", Status: http.StatusCreated,
		Example: identity.SetupInput{Username: "admin", Password: "correct-horse-battery", Email: "admin@example.com", SetupToken: "from-the-server-log"},
		Handler: Do(func(c *Call, in *identity.SetupInput) (*identity.UserView, error) {
			c.Actor(0, in.Username)
			u, err := id.Setup(c.Ctx, *in, identity.Client{IP: c.ClientIP(), UserAgent: c.UserAgent()})
			if err == nil {
				c.Actor(u.ID, u.Username)
				c.Audit(u.ID, u.Username)
			}
			return u, err
		})})
	a.register(&Route{Method: http.MethodPost, Path: "/auth/login", Tag: "identity", Summary: "Log in with a username and password",
		Guard: Public(), Resource: "session", Action: "login",
		Example: identity.LoginInput{Username: "admin", Password: "correct-horse-battery"},
		Handler: Do(a.login)})
	a.register(&Route{Method: http.MethodPost, Path: "/auth/logout", Tag: "identity", Summary: "End the current session",
		Guard: Authenticated(), Resource: "session", Action: "logout",
		Handler: Do(func(c *Call, _ *NoInput) (NoContent, error) {
			a.setSessionCookie(c, "", time.Time{})
			return NoContent{}, id.Logout(c.Ctx, c.Principal)
		})})
	a.register(&Route{Method: http.MethodGet, Path: "/users/me", Tag: "users", Summary: "The current user and their roles",
		Guard: Authenticated(), Handler: Do(func(c *Call, _ *NoInput) (*Me, error) {
			perms, err := a.deps.Authorizer.Permissions(c.Ctx, c.Principal)
			if err != nil {
				return nil, err
			}
			return &Me{UserView: identity.ViewOfUser(c.Principal.User), Permissions: perms}, nil
		})})
	a.register(&Route{Method: http.MethodPut, Path: "/users/me/password", Tag: "users", Summary: "Change your own password (ends all your sessions and tokens)",
		Guard: Authenticated(), Resource: "user", Action: "change_password",
		Example: identity.ChangePasswordInput{OldPassword: "correct-horse-battery", NewPassword: "another-long-secret"},
		Handler: Do(func(c *Call, in *identity.ChangePasswordInput) (NoContent, error) {
			c.Audit(c.Principal.User.ID, c.Principal.User.Username)
			if err := id.ChangeOwnPassword(c.Ctx, c.Principal, *in); err != nil {
				return NoContent{}, err
			}
			a.setSessionCookie(c, "", time.Time{})
			return NoContent{}, nil
		})})
	a.register(&Route{Method: http.MethodGet, Path: "/users", Tag: "users", Summary: "List users (platform viewers and above)",
		Guard: a.PlatformRole(access.Viewer), Example: ListQuery{Limit: 20, Sort: "username"},
		Handler: Do(func(c *Call, q *ListQuery) (List[identity.UserView], error) {
			p, err := id.ListUsers(c.Ctx, q.options())
			return listOf(p), err
		})})
	a.register(&Route{Method: http.MethodPost, Path: "/users", Tag: "users", Summary: "Create a user",
		Guard: a.PlatformRole(access.Admin), Resource: "user", Status: http.StatusCreated,
		Example: identity.CreateUserInput{Username: "alice", Password: "a-long-password", Email: "alice@example.com", DisplayName: "Alice"},
		Handler: Do(func(c *Call, in *identity.CreateUserInput) (*identity.UserView, error) {
			c.Audit("", in.Username)
			u, err := id.CreateUser(c.Ctx, c.Principal, *in)
			if err == nil {
				c.Audit(u.ID, u.Username)
			}
			return u, err
		})})
	// Declared before /users/:id only for reading order: gin matches the static segment first.
	a.register(&Route{Method: http.MethodGet, Path: "/users/picker", Tag: "users",
		Summary: "Search users by username or display name, for role-granting dialogs (admins of any scope)",
		Guard:   Authenticated(), Example: identity.PickUsersInput{Q: "ali", Limit: identity.PickDefaultLimit},
		Handler: Do(func(c *Call, in *identity.PickUsersInput) (UserChoices, error) {
			us, err := id.PickUsers(c.Ctx, c.Principal, *in)
			return UserChoices{Items: us}, err
		})})
	a.register(&Route{Method: http.MethodGet, Path: "/users/:id", Tag: "users", Summary: "Get a user (yourself, or anyone with a platform role)",
		Guard: Authenticated(), Handler: Do(func(c *Call, _ *NoInput) (*identity.UserView, error) {
			uid := c.PathID()
			return id.GetUser(c.Ctx, c.Principal, uid)
		})})
	a.register(&Route{Method: http.MethodPut, Path: "/users/:id", Tag: "users", Summary: "Update a user (disabling or re-passwording ends their sessions)",
		Guard: a.PlatformRole(access.Admin), Resource: "user",
		Example: identity.UpdateUserInput{DisplayName: ptr("Alice A.")},
		Handler: Do(func(c *Call, in *identity.UpdateUserInput) (*identity.UserView, error) {
			uid := c.PathID()
			u, err := id.UpdateUser(c.Ctx, c.Principal, uid, *in)
			if err == nil {
				c.Audit(u.ID, u.Username)
			}
			return u, err
		})})
	a.register(&Route{Method: http.MethodDelete, Path: "/users/:id", Tag: "users", Summary: "Delete a user",
		Guard: a.PlatformRole(access.Admin), Resource: "user",
		Handler: Do(func(c *Call, _ *NoInput) (NoContent, error) {
			uid := c.PathID()
			u, err := id.DeleteUser(c.Ctx, c.Principal, uid)
			if err == nil {
				c.Audit(u.ID, u.Username)
			}
			return NoContent{}, err
		})})
	a.registerTokens()
}

func (a *API) login(c *Call, in *identity.LoginInput) (*identity.LoginResult, error) {
	c.Actor(0, in.Username)
	res, err := a.deps.Identity.Login(c.Ctx, *in, identity.Client{IP: c.ClientIP(), UserAgent: c.UserAgent()})
	if err != nil {
		return nil, err
	}
	c.Actor(res.User.ID, res.User.Username)
	c.Audit(res.User.ID, res.User.Username)
	a.setSessionCookie(c, res.Token, res.ExpiresAt)
	return res, nil
}

// setSessionCookie sets (or, with an empty token, clears) the HttpOnly session cookie.
func (a *API) setSessionCookie(c *Call, token string, expires time.Time) {
	ck := &http.Cookie{Name: SessionCookie, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: c.Request().TLS != nil || c.gin.GetHeader("X-Forwarded-Proto") == "https"}
	if token == "" {
		ck.MaxAge = -1
	} else {
		ck.Expires = expires
		ck.MaxAge = int(time.Until(expires).Seconds())
	}
	http.SetCookie(c.Writer(), ck)
}

func (a *API) registerTokens() {
	id := a.deps.Identity
	a.register(&Route{Method: http.MethodGet, Path: "/tokens", Tag: "tokens", Summary: "List your API tokens",
		Guard: Authenticated(), Example: ListQuery{Limit: 20},
		Handler: Do(func(c *Call, q *ListQuery) (List[identity.TokenView], error) {
			p, err := id.ListTokens(c.Ctx, c.Principal, q.options())
			return listOf(p), err
		})})
	a.register(&Route{Method: http.MethodPost, Path: "/tokens", Tag: "tokens", Summary: "Create an API token (its secret is returned once)",
		Guard: Authenticated(), Resource: "api_token", Status: http.StatusCreated,
		Example: identity.CreateTokenInput{Name: "ci"},
		Handler: Do(func(c *Call, in *identity.CreateTokenInput) (*identity.NewToken, error) {
			t, err := id.CreateToken(c.Ctx, c.Principal, *in, 0)
			if err == nil {
				c.Audit(t.ID, t.Name)
			}
			return t, err
		})})
	a.register(&Route{Method: http.MethodDelete, Path: "/tokens/:id", Tag: "tokens", Summary: "Revoke one of your API tokens",
		Guard: Authenticated(), Resource: "api_token",
		Handler: Do(func(c *Call, _ *NoInput) (NoContent, error) {
			tid := c.PathID()
			t, err := id.RevokeToken(c.Ctx, c.Principal, tid)
			if err == nil {
				c.Audit(t.ID, t.Name)
			}
			return NoContent{}, err
		})})
}

func ptr[T any](v T) *T { return &v }
