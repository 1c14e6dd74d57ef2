package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/kubespace/kubespace/internal/app"
	"github.com/kubespace/kubespace/pkg/config"
	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/identity"
)

// TestResetPassword recovers a lost admin password: the old one stops working, the new one
// works, the user is re-enabled and their sessions end.
func TestResetPassword(t *testing.T) {
	ctx := context.Background()
	env := map[string]string{"DATA_DIR": t.TempDir(), "SETUP_TOKEN": "reset-setup-token-1234"}
	getenv := func(k string) string { return env[k] }
	cfg, err := config.LoadServer(nil, getenv)
	require.NoError(t, err)
	a, err := app.New(ctx, cfg, app.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), BcryptCost: bcrypt.MinCost})
	require.NoError(t, err)
	_, err = a.Identity.Setup(ctx, identity.SetupInput{Username: "admin", Password: "forgotten-pass", Email: "a@example.com", SetupToken: "reset-setup-token-1234"}, identity.Client{IP: "127.0.0.1"})
	require.NoError(t, err)
	login, err := a.Identity.Login(ctx, identity.LoginInput{Username: "admin", Password: "forgotten-pass"}, identity.Client{IP: "127.0.0.1"})
	require.NoError(t, err)
	a.Close()

	var out bytes.Buffer
	require.NoError(t, resetPassword(ctx, []string{"admin"}, getenv, strings.NewReader("brand-new-pass\n"), &out))
	require.Contains(t, out.String(), "password of admin reset")

	out.Reset()
	require.NoError(t, resetPassword(ctx, []string{"admin"}, getenv, strings.NewReader(""), &out))
	generated := strings.TrimSpace(strings.TrimPrefix(strings.Split(out.String(), "\n")[0], "password of admin reset to:"))
	require.NotEmpty(t, generated)

	a, err = app.New(ctx, cfg, app.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	defer a.Close()
	_, err = a.Identity.Authenticate(ctx, login.Token)
	require.True(t, errs.Is(err, errs.Unauthenticated), "old sessions end: %v", err)
	_, err = a.Identity.Login(ctx, identity.LoginInput{Username: "admin", Password: "brand-new-pass"}, identity.Client{IP: "127.0.0.1"})
	require.Error(t, err, "the first reset password was replaced by the generated one")
	res, err := a.Identity.Login(ctx, identity.LoginInput{Username: "admin", Password: generated}, identity.Client{IP: "127.0.0.1"})
	require.NoError(t, err)
	require.True(t, res.User.IsSuper)

	err = resetPassword(ctx, []string{"nobody"}, getenv, strings.NewReader("whatever-pass\n"), &out)
	require.True(t, errs.Is(err, errs.NotFound), "%v", err)
	require.Error(t, resetPassword(ctx, nil, getenv, strings.NewReader(""), &out))
	require.Error(t, resetPassword(ctx, []string{"admin"}, getenv, strings.NewReader("short\n"), &out))
}
