package systemtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// client calls a server's API as one caller.
type client struct {
	url, token string
}

// do sends a request (body JSON-encoded unless nil) and returns the status and body.
func (c client) do(t testing.TB, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.url+path, rd)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// expect sends a request, fails unless the status matches, and decodes the body into out.
func (c client) expect(t testing.TB, status int, method, path string, body, out any) {
	t.Helper()
	st, b := c.do(t, method, path, body)
	if st != status {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, st, status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
	}
}

// on returns the same caller talking to another server.
func (c client) on(url string) client { return client{url: url, token: c.token} }

// login logs username in on the server at url.
func login(t testing.TB, url, username, password string) client {
	t.Helper()
	var out struct {
		Token string `json:"token"`
	}
	client{url: url}.expect(t, http.StatusOK, http.MethodPost, "/api/v1/auth/login",
		map[string]string{"username": username, "password": password}, &out)
	return client{url: url, token: out.Token}
}

type idOnly struct {
	ID int64 `json:"id"`
}

func path(format string, args ...any) string { return fmt.Sprintf(format, args...) }
