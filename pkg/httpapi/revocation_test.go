package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"

	"github.com/kubespace/kubespace/internal/apitest"
)

// openStream is a watch, log follow or exec session held open through the proxy; done closes
// when it ends.
type openStream struct {
	name string
	done chan struct{}
}

// openStreams opens, as c, a namespace watch, a log follow and an exec session on a real pod,
// and waits until each has delivered data (so each is really open).
func openStreams(t *testing.T, e *kubeEnv, c *apitest.Client, id int64, ns, pod string) []openStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	var out []openStream
	for name, path := range map[string]string{
		"watch":      "/api/v1/namespaces?watch=true",
		"log follow": "/api/v1/namespaces/" + ns + "/pods/" + pod + "/log?follow=true",
	} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/api/v1/clusters/%d/proxy%s", e.s.URL, id, path), nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+c.Token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, name)
		first := make([]byte, 1)
		_, err = io.ReadFull(resp.Body, first)
		require.NoError(t, err, "%s delivers data", name)
		s := openStream{name: name, done: make(chan struct{})}
		go func() {
			defer close(s.done)
			defer resp.Body.Close()
			_, _ = io.Copy(io.Discard, resp.Body)
		}()
		out = append(out, s)
	}
	cfg := e.restConfig(c, id)
	cs, err := kubernetes.NewForConfig(cfg)
	require.NoError(t, err)
	u := cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: "main", Command: []string{"sh", "-c", "while true; do echo tick; sleep 0.2; done"},
			Stdout: true}, scheme.ParameterCodec).URL()
	ex, err := remotecommand.NewWebSocketExecutor(cfg, http.MethodGet, u.String())
	require.NoError(t, err)
	pr, pw := io.Pipe()
	exec := openStream{name: "exec", done: make(chan struct{})}
	go func() {
		defer close(exec.done)
		_ = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: pw})
		_ = pw.Close()
	}()
	first := make([]byte, 4)
	_, err = io.ReadFull(pr, first)
	require.NoError(t, err, "exec delivers output")
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	return append(out, exec)
}

// TestRevocationEndsOpenStreams: a logout, a revoked token, a disabled user or a removed role
// binding ends that caller's open watches, log follows and exec sessions within seconds, while
// another user's streams stay open.
func TestRevocationEndsOpenStreams(t *testing.T) {
	t.Parallel()
	e := newKubeEnv(t)
	e.kube.RequireRealNode(t)
	id := e.importCluster(t, "revoke")
	ns := e.namespace(t, "ks-revoke")
	e.kube.Kubectl(t, realPod("talker", "while true; do echo line; sleep 0.2; done", ""), "apply", "-n", ns, "-f", "-")
	e.kube.Kubectl(t, "", "wait", "-n", ns, "pod/talker", "--for=condition=Ready", "--timeout=90s")
	bystander := e.user(t, "bystander", id, "editor")
	kept := openStreams(t, e, bystander, id, ns, "talker")

	cases := []struct {
		name   string
		caller func(t *testing.T, u *apitest.Client) *apitest.Client
		revoke func(t *testing.T, u, caller *apitest.Client)
	}{
		{"logout", nil, func(t *testing.T, u, _ *apitest.Client) {
			u.For(t).Expect(http.StatusNoContent, http.MethodPost, "/api/v1/auth/logout", nil)
		}},
		{"token revoked", func(t *testing.T, u *apitest.Client) *apitest.Client {
			r := u.For(t).Expect(http.StatusCreated, http.MethodPost, "/api/v1/tokens", map[string]any{"name": "streams"})
			var tok struct {
				ID    int64  `json:"id"`
				Token string `json:"token"`
			}
			r.JSON(t, &tok)
			return &apitest.Client{S: u.S, Token: tok.Token, UserID: u.UserID, Name: fmt.Sprint(tok.ID)}
		}, func(t *testing.T, u, caller *apitest.Client) {
			u.For(t).Expect(http.StatusNoContent, http.MethodDelete, "/api/v1/tokens/"+caller.Name, nil)
		}},
		{"user disabled", nil, func(t *testing.T, u, _ *apitest.Client) {
			e.admin.For(t).Expect(http.StatusOK, http.MethodPut, apitest.Path("/api/v1/users/%d", u.UserID), map[string]any{"status": "disabled"})
		}},
		{"role binding removed", nil, func(t *testing.T, u, _ *apitest.Client) {
			var l struct {
				Items []struct {
					ID     int64 `json:"id"`
					UserID int64 `json:"user_id"`
				} `json:"items"`
			}
			e.admin.For(t).Expect(http.StatusOK, http.MethodGet, apitest.Path("/api/v1/role-bindings?scope=cluster&scope_id=%d", id), nil).JSON(t, &l)
			for _, b := range l.Items {
				if b.UserID == u.UserID {
					e.admin.For(t).Expect(http.StatusNoContent, http.MethodDelete, apitest.Path("/api/v1/role-bindings/%d", b.ID), nil)
				}
			}
		}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := e.user(t, fmt.Sprintf("streamer%d", i), id, "editor")
			caller := u
			if tc.caller != nil {
				caller = tc.caller(t, u)
			}
			streams := openStreams(t, e, caller, id, ns, "talker")
			tc.revoke(t, u, caller)
			deadline := time.After(5 * time.Second)
			for _, s := range streams {
				select {
				case <-s.done:
				case <-deadline:
					t.Fatalf("the %s stayed open 5 s after the %s", s.name, tc.name)
				}
			}
		})
	}
	for _, s := range kept {
		select {
		case <-s.done:
			t.Fatalf("the bystander's %s ended", s.name)
		default:
		}
	}
}
