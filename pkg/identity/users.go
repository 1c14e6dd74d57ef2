package identity

import (
	"context"
	"fmt"

	"golang.org/x/crypto/bcrypt"

	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/store"
)

// CreateUserInput creates a local user.
type CreateUserInput struct {
	Username    string `json:"username" required:"true"`
	Password    string `json:"password" required:"true"`
	Email       string `json:"email"`
	DisplayName string `json:"display_name"`
	IsSuper     bool   `json:"is_super"`
}

// UpdateUserInput changes a user; nil fields stay as they are.
type UpdateUserInput struct {
	Email       *string `json:"email"`
	DisplayName *string `json:"display_name"`
	Status      *string `json:"status" enum:"active,disabled"`
	IsSuper     *bool   `json:"is_super"`
	Password    *string `json:"password"`
}

// ChangePasswordInput is a user changing their own password.
type ChangePasswordInput struct {
	OldPassword string `json:"old_password" required:"true"`
	NewPassword string `json:"new_password" required:"true"`
}

// GetUser returns one user: to the user themselves, and to anyone with a platform role.
// Others are refused whether or not the user exists, so the check reveals nothing.
func (s *Service) GetUser(ctx context.Context, p *access.Principal, id int64) (*UserView, error) {
	if id != p.User.ID {
		if err := s.requireDirectory(ctx, p); err != nil {
			return nil, err
		}
	}
	u, err := s.users.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	v := ViewOfUser(u)
	return &v, nil
}

// ListUsers lists users (for platform viewers and above; the route's guard checks that).
func (s *Service) ListUsers(ctx context.Context, opts store.ListOptions) (store.Page[UserView], error) {
	p, err := s.users.List(ctx, opts)
	if err != nil {
		return store.Page[UserView]{}, err
	}
	return viewPage(p, ViewOfUser), nil
}

// CreateUser creates a local user; only super admins create super admins.
func (s *Service) CreateUser(ctx context.Context, p *access.Principal, in CreateUserInput) (*UserView, error) {
	f := errs.Fields{}
	checkUsername(f, "username", in.Username)
	checkPassword(f, "password", in.Password)
	checkEmail(f, "email", in.Email, false)
	checkDisplayName(f, "display_name", in.DisplayName)
	if err := f.Err(); err != nil {
		return nil, err
	}
	if in.IsSuper && !p.User.IsSuper {
		return nil, errs.Forbiddenf("only super admins can create super admins")
	}
	hash, err := s.hash(in.Password)
	if err != nil {
		return nil, err
	}
	u := &store.User{Username: in.Username, Email: in.Email, DisplayName: in.DisplayName, PasswordHash: hash,
		Status: store.UserActive, IsSuper: in.IsSuper, Source: store.SourceLocal}
	if err := s.users.Create(ctx, u); err != nil {
		if errs.Is(err, errs.Conflict) {
			return nil, errs.Conflictf("user %q already exists", in.Username).WithCode("user_exists")
		}
		return nil, fmt.Errorf("create user: %w", err)
	}
	v := ViewOfUser(u)
	return &v, nil
}

// UpdateUser edits a user. Disabling, demoting or re-passwording revokes the user's sessions
// and tokens in the same transaction; the last active super admin cannot be disabled or demoted.
func (s *Service) UpdateUser(ctx context.Context, p *access.Principal, id int64, in UpdateUserInput) (*UserView, error) {
	f := errs.Fields{}
	if in.Email != nil {
		checkEmail(f, "email", *in.Email, false)
	}
	if in.DisplayName != nil {
		checkDisplayName(f, "display_name", *in.DisplayName)
	}
	if in.Status != nil && *in.Status != store.UserActive && *in.Status != store.UserDisabled {
		f.Add("status", "must be active or disabled")
	}
	if in.Password != nil {
		checkPassword(f, "password", *in.Password)
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	var out *UserView
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		u, err := s.users.Get(ctx, id)
		if err != nil {
			return err
		}
		if (u.IsSuper || (in.IsSuper != nil && *in.IsSuper)) && !p.User.IsSuper {
			return errs.Forbiddenf("only super admins can change super admins")
		}
		revoke := false
		if in.Email != nil {
			u.Email = *in.Email
		}
		if in.DisplayName != nil {
			u.DisplayName = *in.DisplayName
		}
		losesSuper := u.IsSuper && u.Status == store.UserActive &&
			((in.IsSuper != nil && !*in.IsSuper) || (in.Status != nil && *in.Status == store.UserDisabled))
		if losesSuper {
			if err := s.keepOneSuper(ctx); err != nil {
				return err
			}
		}
		if in.Status != nil && *in.Status != u.Status {
			u.Status = *in.Status
			revoke = revoke || u.Status == store.UserDisabled
		}
		if in.IsSuper != nil && *in.IsSuper != u.IsSuper {
			u.IsSuper = *in.IsSuper
			revoke = revoke || !u.IsSuper
		}
		if in.Password != nil {
			if u.Source != store.SourceLocal {
				return errs.Unprocessablef("user %q signs in through %s; its password is managed there", u.Username, u.Source)
			}
			if u.PasswordHash, err = s.hash(*in.Password); err != nil {
				return err
			}
			revoke = true
		}
		if err := s.users.Update(ctx, u); err != nil {
			return err
		}
		if revoke {
			if err := s.revokeCredentials(ctx, u.ID); err != nil {
				return err
			}
		}
		v := ViewOfUser(u)
		out = &v
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.changed(ctx, id)
	return out, nil
}

// keepOneSuper fails when the active super admin about to lose that standing is the last one.
func (s *Service) keepOneSuper(ctx context.Context) error {
	n, err := s.users.CountActiveSupers(ctx)
	if err != nil {
		return err
	}
	if n <= 1 {
		return errs.Unprocessablef("this is the last active super admin; make another user super admin first").WithCode("last_super_admin")
	}
	return nil
}

// DeleteUser deletes a user with their sessions, tokens and role bindings.
func (s *Service) DeleteUser(ctx context.Context, p *access.Principal, id int64) (*UserView, error) {
	var out *UserView
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		u, err := s.users.Get(ctx, id)
		if err != nil {
			return err
		}
		if u.IsSuper && !p.User.IsSuper {
			return errs.Forbiddenf("only super admins can delete super admins")
		}
		if u.IsSuper && u.Status == store.UserActive {
			if err := s.keepOneSuper(ctx); err != nil {
				return err
			}
		}
		if err := s.revokeCredentials(ctx, u.ID); err != nil {
			return err
		}
		if err := s.bindings.DeleteByUser(ctx, u.ID); err != nil {
			return err
		}
		v := ViewOfUser(u)
		out = &v
		return s.users.Delete(ctx, u.ID)
	})
	if err != nil {
		return nil, err
	}
	s.changed(ctx, id)
	return out, nil
}

// ChangeOwnPassword changes the caller's password after checking the old one, then revokes
// every session and token of the caller (the client logs in again).
func (s *Service) ChangeOwnPassword(ctx context.Context, p *access.Principal, in ChangePasswordInput) error {
	f := errs.Fields{}
	if in.OldPassword == "" {
		f.Add("old_password", "is required")
	}
	checkPassword(f, "new_password", in.NewPassword)
	if err := f.Err(); err != nil {
		return err
	}
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		u, err := s.users.Get(ctx, p.User.ID)
		if err != nil {
			return err
		}
		if u.Source != store.SourceLocal {
			return errs.Unprocessablef("your password is managed by %s", u.Source)
		}
		if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(in.OldPassword)) != nil {
			return &errs.Error{Kind: errs.Invalid, Code: "validation_failed", Message: "request is invalid",
				Fields: map[string]string{"old_password": "is not your current password"}}
		}
		if u.PasswordHash, err = s.hash(in.NewPassword); err != nil {
			return err
		}
		if err := s.users.Update(ctx, u); err != nil {
			return err
		}
		return s.revokeCredentials(ctx, u.ID)
	})
	if err != nil {
		return err
	}
	s.changed(ctx, p.User.ID)
	return nil
}

// ResetPassword sets a user's password without the old one, for the `server reset-password`
// recovery command run by an operator on the server host. It also re-enables the user.
func (s *Service) ResetPassword(ctx context.Context, username, password string) error {
	f := errs.Fields{}
	checkPassword(f, "password", password)
	if err := f.Err(); err != nil {
		return err
	}
	var id int64
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		u, err := s.users.GetByUsername(ctx, username)
		if err != nil {
			return err
		}
		if u.PasswordHash, err = s.hash(password); err != nil {
			return err
		}
		u.Status = store.UserActive
		if u.Source != store.SourceLocal {
			u.Source = store.SourceLocal
		}
		if err := s.users.Update(ctx, u); err != nil {
			return err
		}
		id = u.ID
		return s.revokeCredentials(ctx, u.ID)
	})
	if err != nil {
		return err
	}
	s.changed(ctx, id)
	return nil
}
