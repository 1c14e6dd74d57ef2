package identity

import (
	"time"

	"github.com/kubespace/kubespace/pkg/store"
)

// What the API shows of users and tokens. These are built field by field from the database rows,
// so a column added to store.User or store.APIToken (a hash, a secret) reaches no response
// unless someone adds it here on purpose.

// UserView is a user as the API shows it (to platform viewers and to the user themselves).
type UserView struct {
	ID          int64      `json:"id"`
	Username    string     `json:"username"`
	Email       string     `json:"email"`
	DisplayName string     `json:"display_name"`
	Status      string     `json:"status"`
	IsSuper     bool       `json:"is_super"`
	Source      string     `json:"source"`
	LastLoginAt *time.Time `json:"last_login_at"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// ViewOfUser returns what the API shows of u.
func ViewOfUser(u *store.User) UserView {
	return UserView{ID: u.ID, Username: u.Username, Email: u.Email, DisplayName: u.DisplayName, Status: u.Status,
		IsSuper: u.IsSuper, Source: u.Source, LastLoginAt: u.LastLoginAt, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
}

// UserChoice is the least the role-granting dialogs need to name a user: no email, standing or
// activity, since scope admins who are not platform viewers may list them.
type UserChoice struct {
	ID          int64  `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
}

// TokenView is an API token as its owner sees it: never its secret or the secret's hash.
type TokenView struct {
	ID     int64  `json:"id"`
	UserID int64  `json:"user_id"`
	Name   string `json:"name"`
	Prefix string `json:"prefix"`
	// ClusterID limits the token to one cluster's API proxy (absent: not limited).
	ClusterID  int64      `json:"cluster_id,omitempty"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	CreatedAt  time.Time  `json:"created_at"`
}

// ViewOfToken returns what the API shows of t.
func ViewOfToken(t *store.APIToken) TokenView {
	return TokenView{ID: t.ID, UserID: t.UserID, Name: t.Name, Prefix: t.Prefix, ClusterID: t.ClusterID,
		ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt, CreatedAt: t.CreatedAt}
}

// NewToken is a created token with its secret, which is shown only this once.
type NewToken struct {
	TokenView
	Token string `json:"token"`
}

// viewPage converts a page of rows.
func viewPage[R, V any](p store.Page[R], view func(*R) V) store.Page[V] {
	out := store.Page[V]{Items: make([]V, len(p.Items)), Total: p.Total, Continue: p.Continue}
	for i := range p.Items {
		out.Items[i] = view(&p.Items[i])
	}
	return out
}
