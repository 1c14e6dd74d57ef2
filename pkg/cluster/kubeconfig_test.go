package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubespace/kubespace/pkg/errs"
)

// kubeconfig builds a kubeconfig text: contexts maps a context to "cluster/user"; users and
// clusters hold the YAML body of each entry.
func kubeconfig(current string, contexts map[string]string, clusters, users map[string]string) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Config\ncurrent-context: \"" + current + "\"\nclusters:\n")
	for n, body := range clusters {
		fmt.Fprintf(&b, "- name: %s\n  cluster:\n    %s\n", n, body)
	}
	b.WriteString("users:\n")
	for n, body := range users {
		fmt.Fprintf(&b, "- name: %s\n  user:\n    %s\n", n, body)
	}
	b.WriteString("contexts:\n")
	for n, cu := range contexts {
		c, u, _ := strings.Cut(cu, "/")
		fmt.Fprintf(&b, "- name: %s\n  context: {cluster: %s, user: %s}\n", n, c, u)
	}
	return b.String()
}

const (
	goodCluster = "server: https://10.0.0.1:6443"
	goodUser    = "token: abc"
)

func TestParseKubeconfig(t *testing.T) {
	t.Parallel()
	one := func(cluster, user string) string {
		return kubeconfig("", map[string]string{"only": "c/u"}, map[string]string{"c": cluster}, map[string]string{"u": user})
	}
	two := kubeconfig("", map[string]string{"blue": "c/u", "green": "c/u"}, map[string]string{"c": goodCluster}, map[string]string{"u": goodUser})
	cases := []struct {
		name, text, context string
		field, want         string // expected field error (empty: success)
		chosen              string
	}{
		{"single context", one(goodCluster, goodUser), "", "", "", "only"},
		{"several without current", two, "", "context", `"blue", "green"`, ""},
		{"several with a choice", two, "green", "", "", "green"},
		{"unknown context", two, "red", "context", `"red" is not in the kubeconfig`, ""},
		{"current context", kubeconfig("green", map[string]string{"blue": "c/u", "green": "c/u"},
			map[string]string{"c": goodCluster}, map[string]string{"u": goodUser}), "", "", "", "green"},
		{"exec", one(goodCluster, "exec: {command: /bin/sh, apiVersion: client.authentication.k8s.io/v1}"), "", "kubeconfig", "exec", ""},
		{"auth provider", one(goodCluster, "auth-provider: {name: oidc}"), "", "kubeconfig", "auth-provider", ""},
		{"client certificate file", one(goodCluster, "client-certificate: /etc/x.crt"), "", "kubeconfig", "files", ""},
		{"client key file", one(goodCluster, "client-key: /etc/x.key"), "", "kubeconfig", "files", ""},
		{"token file", one(goodCluster, "tokenFile: /var/run/token"), "", "kubeconfig", "files", ""},
		{"CA file", one("certificate-authority: /etc/ca.crt\n    server: https://x", goodUser), "", "kubeconfig", "certificate-authority", ""},
		{"no credentials", one(goodCluster, "username: bob"), "", "kubeconfig", "no credentials", ""},
		{"not a URL", one("server: 10.0.0.1:6443", goodUser), "", "kubeconfig", "http(s) URL", ""},
		{"missing cluster", kubeconfig("", map[string]string{"x": "nope/u"}, map[string]string{"c": goodCluster}, map[string]string{"u": goodUser}),
			"", "kubeconfig", `cluster "nope"`, ""},
		{"missing user", kubeconfig("", map[string]string{"x": "c/nope"}, map[string]string{"c": goodCluster}, map[string]string{"u": goodUser}),
			"", "kubeconfig", `user "nope"`, ""},
		{"no contexts", "apiVersion: v1\nkind: Config\n", "", "kubeconfig", "no contexts", ""},
		{"not YAML", "{[", "", "kubeconfig", "not a valid kubeconfig", ""},
		{"too large", strings.Repeat("#", maxKubeconfig+1), "", "kubeconfig", "at most", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parseKubeconfig(tc.text, tc.context)
			if tc.field == "" {
				require.NoError(t, err)
				require.Equal(t, tc.chosen, p.context)
				require.Len(t, p.config.Contexts, 1, "only the chosen context is kept")
				_, err := p.restConfig()
				require.NoError(t, err)
				data, err := p.bytes()
				require.NoError(t, err)
				back, err := loadStored(data)
				require.NoError(t, err)
				require.Equal(t, tc.chosen, back.context)
				return
			}
			require.Error(t, err)
			e, ok := errs.As(err)
			require.True(t, ok)
			require.Equal(t, errs.Invalid, e.Kind)
			require.Contains(t, e.Fields[tc.field], tc.want, "fields: %v", e.Fields)
		})
	}
}

func TestKubeError(t *testing.T) {
	t.Parallel()
	gr := schema.GroupResource{Resource: "pods"}
	cases := []struct {
		err  error
		kind errs.Kind
		code string
	}{
		{apierrors.NewNotFound(gr, "p"), errs.NotFound, "not_found"},
		{apierrors.NewAlreadyExists(gr, "p"), errs.Conflict, "conflict"},
		{apierrors.NewConflict(gr, "p", errors.New("changed")), errs.Conflict, "conflict"},
		{apierrors.NewBadRequest("bad"), errs.Invalid, "kubernetes_invalid"},
		{apierrors.NewForbidden(gr, "p", errors.New("no")), errs.Forbidden, "cluster_forbidden"},
		{apierrors.NewUnauthorized("who"), errs.Forbidden, "cluster_forbidden"},
		{apierrors.NewTooManyRequests("slow down", 1), errs.RateLimited, "rate_limited"},
		{apierrors.NewMethodNotSupported(gr, "patch"), errs.Unprocessable, "unprocessable"},
		{apierrors.NewInternalError(errors.New("boom")), errs.Unavailable, "cluster_unavailable"},
		{errors.New("dial tcp: connection refused"), errs.Unavailable, "cluster_unavailable"},
	}
	for _, tc := range cases {
		err := KubeError(tc.err)
		e, ok := errs.As(err)
		require.True(t, ok, "%v", tc.err)
		require.Equal(t, tc.kind, e.Kind, "%v", tc.err)
		require.Equal(t, tc.code, e.StableCode(), "%v", tc.err)
		require.ErrorIs(t, err, tc.err, "the cause is kept")
	}
	require.NoError(t, KubeError(nil))
	require.ErrorIs(t, KubeError(context.Canceled), context.Canceled)
}
