package identity

import (
	"context"
	"fmt"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/store"
)

// SetupInput creates the first super admin.
type SetupInput struct {
	Username   string `json:"username" required:"true"`
	Password   string `json:"password" required:"true"`
	Email      string `json:"email" required:"true"`
	SetupToken string `json:"setup_token" required:"true"`
}

// firstUserID is the id of the user setup creates.
const firstUserID = 1

// SetupNeeded reports whether no user exists yet.
func (s *Service) SetupNeeded(ctx context.Context) (bool, error) {
	n, err := s.users.Count(ctx)
	return n == 0, err
}

// Setup creates the first super admin while no user exists. The setup token proves the caller
// can read the server's log or configuration, so nobody else on the network can race the owner.
// Attempts are counted per client address before the token is compared, with the login
// lockout's limit, so the token cannot be guessed at speed.
func (s *Service) Setup(ctx context.Context, in SetupInput, client Client) (*UserView, error) {
	f := errs.Fields{}
	checkUsername(f, "username", in.Username)
	checkPassword(f, "password", in.Password)
	checkEmail(f, "email", in.Email, true)
	if in.SetupToken == "" {
		f.Add("setup_token", "is required")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	// Once setup is done there is no token left to guess (GET /setup says so to anyone): the
	// answer is a conflict, and counting it would only lock out the owner's address.
	if needed, err := s.SetupNeeded(ctx); err != nil {
		return nil, err
	} else if !needed {
		return nil, errs.Conflictf("setup is already done").WithCode("setup_done")
	}
	if err := s.admit(ctx, s.now(), s.setupThrottle(addrKey(client.IP))); err != nil {
		return nil, err
	}
	// Both callers would need the setup token, so this only guards a double submit by the owner
	// to one replica. The count alone does not keep out a second setup through another replica
	// (MySQL counts without locking), the first user's fixed id does: the second insert of it
	// fails.
	s.setupMu.Lock()
	defer s.setupMu.Unlock()
	var u *store.User
	err := s.tx.WithTx(ctx, func(ctx context.Context) error {
		n, err := s.users.Count(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			return errs.Conflictf("setup is already done").WithCode("setup_done")
		}
		if !equalConstantTime(in.SetupToken, s.opts.SetupToken) {
			return errs.Forbiddenf("the setup token is wrong; it is printed in the server log or set with SETUP_TOKEN").WithCode("bad_setup_token")
		}
		hash, err := s.hash(in.Password)
		if err != nil {
			return err
		}
		u = &store.User{ID: firstUserID, Username: in.Username, Email: in.Email, PasswordHash: hash, Status: store.UserActive,
			IsSuper: true, Source: store.SourceLocal}
		if err := s.users.Create(ctx, u); err != nil {
			if errs.Is(err, errs.Conflict) {
				return errs.Conflictf("setup is already done").WithCode("setup_done")
			}
			return fmt.Errorf("create first user: %w", err)
		}
		return s.bindings.Create(ctx, &store.RoleBinding{UserID: u.ID, Scope: store.ScopePlatform, Role: store.RoleAdmin, CreatedBy: u.ID})
	})
	if err != nil {
		return nil, err
	}
	v := ViewOfUser(u)
	return &v, nil
}
