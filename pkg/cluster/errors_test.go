package cluster

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubespace/kubespace/pkg/errs"
)

// A Kubernetes 422 stays a 422, with the API server's field causes as the error's fields.
func TestKubeErrorKeepsInvalidAsUnprocessable(t *testing.T) {
	t.Parallel()
	ports := field.NewPath("spec", "ports").Index(0).Child("port")
	err := apierrors.NewInvalid(schema.GroupKind{Kind: "Service"}, "broken", field.ErrorList{
		field.Invalid(ports, 999999, "must be between 1 and 65535, inclusive"),
		field.Required(field.NewPath("spec", "selector"), "a selector is required"),
		field.Invalid(ports, 999999, "must be a port"),
	})
	e, ok := errs.As(KubeError(err))
	require.True(t, ok)
	require.Equal(t, errs.Unprocessable, e.Kind)
	require.Equal(t, "kubernetes_invalid", e.StableCode())
	require.Contains(t, e.Message, `Service "broken" is invalid`)
	require.Equal(t, map[string]string{
		"spec.ports[0].port": "Invalid value: 999999: must be between 1 and 65535, inclusive; Invalid value: 999999: must be a port",
		"spec.selector":      "Required value: a selector is required",
	}, e.Fields)
	require.ErrorIs(t, KubeError(err), err)
}

// What a server that is not a Kubernetes API server answers never reaches a message: neither
// its error pages nor a 2xx body that does not decode as a Kubernetes object. The server is a
// real HTTP server and the client is client-go, as when a kubeconfig points at the wrong host.
func TestForeignResponsesAreNotRepeated(t *testing.T) {
	t.Parallel()
	const marker = "TOP-SECRET-marker-8c1f"
	cases := []struct {
		name, contentType, body string
		status                  int
	}{
		{"html page", "text/html", "<html><body>Welcome " + marker + "</body></html>", http.StatusOK},
		{"json document", "application/json", `{"password":"` + marker + `","kind":"NotKubernetes"}`, http.StatusOK},
		{"json without kind", "application/json", `{"items":[{"token":"` + marker + `"}]}`, http.StatusOK}, // lists "decode"; the create fails
		{"text error", "text/plain", "internal failure: " + marker, http.StatusInternalServerError},
		{"html forbidden", "text/html", "<h1>Forbidden</h1>" + marker, http.StatusForbidden},
		{"no content type", "", "oops " + marker, http.StatusBadGateway},
		{"unsupported media", "text/plain", marker, http.StatusUnsupportedMediaType},
		{"not acceptable", "text/plain", marker, http.StatusNotAcceptable},
		{"html not found", "text/html", "<p>" + marker + "</p>", http.StatusNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if tc.contentType != "" {
					w.Header().Set("Content-Type", tc.contentType)
				} else {
					w.Header()["Content-Type"] = nil
				}
				w.WriteHeader(tc.status)
				_, _ = fmt.Fprint(w, tc.body)
			}))
			t.Cleanup(srv.Close)
			cs, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL})
			require.NoError(t, err)
			ctx := context.Background()
			_, verr := cs.Discovery().ServerVersion()
			_, lerr := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
			_, cerr := cs.CoreV1().ConfigMaps("x").Create(ctx, nil, metav1.CreateOptions{})
			for _, err := range []error{verr, lerr, cerr} {
				if err == nil {
					continue
				}
				require.NotContains(t, failureText(err), marker, "raw: %v", err)
				require.NotContains(t, reason(err), marker)
				e, ok := errs.As(KubeError(err))
				require.True(t, ok)
				require.NotContains(t, e.Message, marker, "raw: %v", err)
				for k, v := range e.Fields {
					require.NotContains(t, k+v, marker)
				}
			}
			if tc.status >= 300 {
				require.Contains(t, failureText(lerr), fmt.Sprintf("HTTP %d", tc.status))
			}
		})
	}
	// A connection failure keeps Go's own text: it names the address and says what happened.
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close()
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: addr})
	require.NoError(t, err)
	_, err = cs.Discovery().ServerVersion()
	require.Contains(t, failureText(err), "connection refused")
	require.True(t, strings.HasPrefix(failureText(err), "Get "), failureText(err))
}
