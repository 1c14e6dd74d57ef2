// Command server runs the KubeSpace API server and web console.
//
//	server                          serve (configuration from the environment, flags override)
//	server reset-password USERNAME  set a new password for USERNAME (read from stdin, or generated)
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/term"
	"k8s.io/klog/v2"

	"github.com/kubespace/kubespace/internal/app"
	"github.com/kubespace/kubespace/pkg/config"
	"github.com/kubespace/kubespace/pkg/console"
	"github.com/kubespace/kubespace/pkg/httpapi"
	"github.com/kubespace/kubespace/ui"
)

// Set by the build (-ldflags -X).
var (
	version = "dev"
	commit  = "unknown"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if len(os.Args) > 1 && os.Args[1] == "reset-password" {
		err = resetPassword(ctx, os.Args[2:], os.Getenv, os.Stdin, os.Stdout)
	} else {
		err = serve(ctx, os.Args[1:])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubespace server:", err)
		os.Exit(1)
	}
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

func serve(ctx context.Context, args []string) error {
	cfg, err := config.LoadServer(args, os.Getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel)
	// client-go logs (reflectors, the upgrade-aware proxy) go to the same JSON log.
	klog.SetSlogLogger(log.With("component", "client-go"))
	a, err := app.New(ctx, cfg, app.Options{Log: log, Version: httpapi.VersionInfo{Version: version, Commit: commit},
		Console: console.Handler(ui.Dist(), ui.Built())})
	if err != nil {
		return err
	}
	defer a.Close()
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(cfg.Port))
	if err != nil {
		return fmt.Errorf("PORT %d: %w", cfg.Port, err)
	}
	var tlsLn net.Listener
	if cfg.TLSPort != 0 {
		if tlsLn, err = net.Listen("tcp", ":"+strconv.Itoa(cfg.TLSPort)); err != nil {
			return fmt.Errorf("TLS_PORT %d: %w", cfg.TLSPort, err)
		}
	}
	mode := "embedded (SQLite in " + cfg.DataDir + ", in-process event bus)"
	if !cfg.Embedded() {
		mode = "MySQL " + cfg.MySQL.Addr()
		if cfg.Redis.Address != "" {
			mode += ", Redis " + cfg.Redis.Address
		}
	}
	log.Info("server started", "port", cfg.Port, "storage", mode, "version", version)
	fmt.Printf("\nKubeSpace %s is running at http://localhost:%d\n  storage: %s\n", version, cfg.Port, mode)
	if tlsLn != nil {
		fmt.Printf("  HTTPS (kubectl through KubeSpace): https://localhost:%d\n", cfg.TLSPort)
	}
	if t := a.SetupToken(); t != "" {
		fmt.Printf("  first-run setup token: %s\n  open the URL above and enter it to create the first admin.\n", t)
	}
	fmt.Println()
	return a.Run(ctx, ln, tlsLn)
}

// resetPassword recovers a lost password on the server host: it needs the database
// configuration, which only an operator has.
func resetPassword(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	var username string
	var rest []string
	for i, a := range args {
		if !strings.HasPrefix(a, "-") {
			username, rest = a, append(append(rest, args[:i]...), args[i+1:]...)
			break
		}
	}
	if username == "" {
		return errors.New("usage: server reset-password USERNAME (new password on stdin, or one is generated)")
	}
	cfg, err := config.LoadServer(rest, getenv)
	if err != nil {
		return err
	}
	password, generated, err := readPassword(stdin)
	if err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, app.Options{Log: newLogger("warn")})
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Identity.ResetPassword(ctx, username, password); err != nil {
		return err
	}
	if generated {
		fmt.Fprintf(stdout, "password of %s reset to: %s\n", username, password)
	} else {
		fmt.Fprintf(stdout, "password of %s reset\n", username)
	}
	fmt.Fprintln(stdout, "the user is active again and all their sessions and API tokens were revoked")
	return nil
}

// readPassword reads one line from a piped stdin, or generates a password when stdin is a
// terminal or empty.
func readPassword(in io.Reader) (string, bool, error) {
	if f, ok := in.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
		line, err := bufio.NewReader(in).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", false, err
		}
		if line = strings.TrimRight(line, "\r\n"); line != "" {
			return line, false, nil
		}
	}
	b := make([]byte, 15)
	if _, err := rand.Read(b); err != nil {
		return "", false, err
	}
	return base64.RawURLEncoding.EncodeToString(b), true, nil
}
