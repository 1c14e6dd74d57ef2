package gittest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
)

// Key is an SSH key pair for tests.
type Key struct {
	// PrivatePEM is the private key in OpenSSH PEM format (what a secret stores).
	PrivatePEM string
	Public     ssh.PublicKey
	Signer     ssh.Signer
}

// NewKey makes an ed25519 key pair.
func NewKey(t testing.TB) Key {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("gittest: key: %v", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "gittest")
	if err != nil {
		t.Fatalf("gittest: key: %v", err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatalf("gittest: key: %v", err)
	}
	return Key{PrivatePEM: string(pem.EncodeToMemory(block)), Public: signer.PublicKey(), Signer: signer}
}

// SSHServer serves the repositories over SSH to clients holding an authorized key.
type SSHServer struct {
	Addr string // 127.0.0.1:port
	// HostKey is the server's host key; KnownHosts is the known_hosts line that pins it.
	HostKey    ssh.PublicKey
	KnownHosts string
	ln         net.Listener
	r          *Repos
	cfg        *ssh.ServerConfig
	wg         sync.WaitGroup
	mu         sync.Mutex
	conns      map[net.Conn]bool
}

// RepoURL returns the ssh:// clone URL of a repository.
func (s *SSHServer) RepoURL(name string) string { return "ssh://git@" + s.Addr + "/" + name }

// ServeSSH starts an SSH server accepting the given public keys for the user "git".
func (r *Repos) ServeSSH(authorized ...ssh.PublicKey) *SSHServer {
	r.t.Helper()
	host := NewKey(r.t)
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if meta.User() != "git" { // as GitHub, GitLab and Gitee: every key logs in as git
				return nil, errors.New("unknown user")
			}
			for _, a := range authorized {
				if bytes.Equal(a.Marshal(), key.Marshal()) {
					return &ssh.Permissions{}, nil
				}
			}
			return nil, errors.New("unknown key")
		},
	}
	cfg.AddHostKey(host.Signer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		r.t.Fatalf("gittest: listen: %v", err)
	}
	s := &SSHServer{Addr: ln.Addr().String(), HostKey: host.Public, ln: ln, r: r, cfg: cfg, conns: map[net.Conn]bool{}}
	port := ln.Addr().(*net.TCPAddr).Port
	s.KnownHosts = fmt.Sprintf("[127.0.0.1]:%d %s", port, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(host.Public))))
	s.wg.Add(1)
	go s.accept()
	r.t.Cleanup(s.Close)
	return s
}

// Close stops the server and ends open connections.
func (s *SSHServer) Close() {
	_ = s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *SSHServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				_ = c.Close()
			}()
			s.serve(c)
		}()
	}
}

func (s *SSHServer) serve(c net.Conn) {
	conn, chans, reqs, err := ssh.NewServerConn(c, s.cfg)
	if err != nil {
		return
	}
	defer conn.Close()
	go ssh.DiscardRequests(reqs)
	var wg sync.WaitGroup
	defer wg.Wait()
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.session(ch, creqs)
		}()
	}
}

// session runs the one git command a client asks for with an exec request.
func (s *SSHServer) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	for req := range reqs {
		switch req.Type {
		case "env":
			_ = req.Reply(true, nil) // GIT_PROTOCOL and the like: accepted, ignored
		case "exec":
			var payload struct{ Command string }
			if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
				_ = req.Reply(false, nil)
				return
			}
			_ = req.Reply(true, nil)
			code := s.exec(ch, payload.Command)
			_, _ = ch.SendRequest("exit-status", false, binary.BigEndian.AppendUint32(nil, uint32(code)))
			return
		default:
			_ = req.Reply(false, nil)
		}
	}
}

// exec runs git-upload-pack or git-receive-pack on a repository below the root.
func (s *SSHServer) exec(ch ssh.Channel, command string) int {
	verb, arg, _ := strings.Cut(command, " ")
	if verb != "git-upload-pack" && verb != "git-receive-pack" {
		_, _ = fmt.Fprintf(ch.Stderr(), "fatal: only git-upload-pack and git-receive-pack are served\n")
		return 1
	}
	dir, ok := s.r.path(arg)
	if !ok {
		// What git itself says, which clients recognise as a missing repository.
		_, _ = fmt.Fprintf(ch.Stderr(), "fatal: '%s' does not appear to be a git repository\n", strings.Trim(arg, "'"))
		return 128
	}
	cmd := exec.Command("git", strings.TrimPrefix(verb, "git-"), dir)
	cmd.Env = gitEnv()
	cmd.Stdout, cmd.Stderr = ch, ch.Stderr()
	// Through a pipe, so the command's end does not wait for the client to send more (exec
	// would wait for its copy of stdin, blocked reading the channel).
	pr, pw := io.Pipe()
	cmd.Stdin = pr
	go func() {
		_, _ = io.Copy(pw, ch)
		_ = pw.Close()
	}()
	err := cmd.Run()
	_ = pr.Close()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return exit.ExitCode()
	case err != nil:
		return 1
	}
	return 0
}

// Silent starts a TCP server that accepts connections and never answers (a hung server), and
// returns its address.
func Silent(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("gittest: listen: %v", err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().String()
}

// AuthorizedKey returns the public key as one authorized_keys / known_hosts key field
// ("ssh-ed25519 AAAA...").
func (k Key) AuthorizedKey() string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k.Public)))
}
