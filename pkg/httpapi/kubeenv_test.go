package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubespace/kubespace/internal/apitest"
	"github.com/kubespace/kubespace/internal/kubetestenv"
)

// kubeEnv is a KubeSpace test server next to the shared kube-testenv cluster, serving its API
// over plain HTTP (apitest, every response checked against the OpenAPI document) and over HTTPS
// with its generated certificate (kubectl only sends credentials over TLS).
type kubeEnv struct {
	s     *apitest.Server
	admin *apitest.Client // the super admin
	kube  *kubetestenv.Cluster
	// tlsURL is the same API over HTTPS; tlsClient trusts the generated CA.
	tlsURL    string
	tlsClient *http.Client
	// kubeconfig is the testenv's kubeconfig text (embedded certificates, system:masters).
	kubeconfig string
}

func newKubeEnv(t *testing.T) *kubeEnv {
	t.Helper()
	kube := kubetestenv.Start(t, kubetestenv.DefaultName)
	s := apitest.Start(t, map[string]string{"LOGIN_MAX_PER_IP": "1000"})
	require.NotNil(t, s.App.Cert, "the TLS port is on by default")
	srv := httptest.NewUnstartedServer(s.App.API.Handler())
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{s.App.Cert.TLS}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(s.App.Cert.CAPEM))
	kc, err := os.ReadFile(kube.Kubeconfig)
	require.NoError(t, err)
	return &kubeEnv{s: s, admin: s.Admin(), kube: kube, tlsURL: srv.URL, kubeconfig: string(kc),
		tlsClient: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
}

// importCluster imports the testenv cluster under name (as the super admin) and returns its id.
func (e *kubeEnv) importCluster(t testing.TB, name string) int64 {
	t.Helper()
	id := e.admin.For(t).Expect(http.StatusCreated, http.MethodPost, "/api/v1/clusters",
		map[string]any{"name": name, "kubeconfig": e.kubeconfig}).ID(t)
	// apitest does not run the app's background loops, whose end stops the informers.
	t.Cleanup(func() { e.s.App.Resources.Forget(id) })
	return id
}

// user creates a user holding role in cluster clusterID ("" role: none) and logs it in.
func (e *kubeEnv) user(t testing.TB, name string, clusterID int64, role string) *apitest.Client {
	t.Helper()
	return e.s.For(t).User(e.admin.For(t), name, "cluster", clusterID, role)
}

// namespace creates a namespace of the test's own in the cluster (deleted when the test ends).
func (e *kubeEnv) namespace(t testing.TB, prefix string) string {
	t.Helper()
	return e.kube.Namespace(t, prefix)
}

// kubeResponse is a raw answer from the proxy.
type kubeResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// kubespaceError decodes a refusal by KubeSpace itself, failing unless it is one. The proxy
// answers refusals as Kubernetes Status objects (so kubectl shows them) whose first cause carries
// KubeSpace's stable code.
func (r *kubeResponse) kubespaceError(t testing.TB) (code, message string) {
	t.Helper()
	var b struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
		Code    int    `json:"code"`
		Details struct {
			Causes []struct {
				Reason string `json:"reason"`
			} `json:"causes"`
		} `json:"details"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &b), "body %s", r.Body)
	require.Equal(t, "Status", b.Kind, "body %s", r.Body)
	require.Equal(t, r.Status, b.Code, "body %s", r.Body)
	require.True(t, strings.HasPrefix(b.Message, "KubeSpace: "), "body %s", r.Body)
	require.NotEmpty(t, b.Details.Causes, "body %s", r.Body)
	return b.Details.Causes[0].Reason, strings.TrimPrefix(b.Message, "KubeSpace: ")
}

// kubeCall sends one request to cluster id's proxy as c (over plain HTTP); body is sent as is with
// contentType; extra headers are added.
func (e *kubeEnv) kubeCall(t testing.TB, c *apitest.Client, id int64, method, path, contentType, body string, extra http.Header) *kubeResponse {
	t.Helper()
	req, err := http.NewRequest(method, fmt.Sprintf("%s/api/v1/clusters/%d/proxy%s", e.s.URL, id, path), strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, vs := range extra {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if c != nil && c.Token != "" && req.Header.Get("Authorization") == "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	require.NoError(t, err, "%s %s", method, path)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return &kubeResponse{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// kubeJSON is kubeCall with a JSON body (a value, marshalled) that must answer want.
func (e *kubeEnv) kubeJSON(t testing.TB, c *apitest.Client, id int64, method, path string, body any, want int) *kubeResponse {
	t.Helper()
	var text string
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		text = string(b)
	}
	r := e.kubeCall(t, c, id, method, path, "application/json", text, nil)
	require.Equal(t, want, r.Status, "%s %s as %s: %s", method, path, c.Name, r.Body)
	return r
}

// restConfig reaches cluster id through KubeSpace's HTTPS proxy with c's token.
func (e *kubeEnv) restConfig(c *apitest.Client, id int64) *rest.Config {
	return &rest.Config{Host: fmt.Sprintf("%s/api/v1/clusters/%d/proxy", e.tlsURL, id), BearerToken: c.Token,
		TLSClientConfig: rest.TLSClientConfig{CAData: e.s.App.Cert.CAPEM}, Timeout: time.Minute}
}

// mintedKubeconfig asks KubeSpace over HTTPS, as c, for a kubeconfig for cluster id; it returns
// the path of the written file and the minted token's id.
func (e *kubeEnv) mintedKubeconfig(t testing.TB, c *apitest.Client, id int64) (path string, tokenID int64) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/v1/clusters/%d/kubeconfig", e.tlsURL, id), strings.NewReader(`{"expires_in_days":1}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := e.tlsClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", data)
	var out struct {
		Kubeconfig string `json:"kubeconfig"`
		TokenID    int64  `json:"token_id"`
	}
	require.NoError(t, json.Unmarshal(data, &out))
	cfg, err := clientcmd.Load([]byte(out.Kubeconfig))
	require.NoError(t, err)
	for _, cl := range cfg.Clusters {
		require.Equal(t, fmt.Sprintf("%s/api/v1/clusters/%d/proxy", e.tlsURL, id), cl.Server, "the server is the HTTPS proxy")
		require.Equal(t, e.s.App.Cert.CAPEM, cl.CertificateAuthorityData, "the generated CA is embedded")
	}
	path = filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(path, []byte(out.Kubeconfig), 0o600))
	return path, out.TokenID
}

// kubectl runs the cached kubectl with a kubeconfig (its discovery cache in a temp dir).
type kubectl struct {
	kube       *kubetestenv.Cluster
	kubeconfig string
	cacheDir   string
}

func (e *kubeEnv) kubectlWith(t testing.TB, kubeconfig string) *kubectl {
	return &kubectl{kube: e.kube, kubeconfig: kubeconfig, cacheDir: t.TempDir()}
}

// cmd returns the command; the caller runs it.
func (k *kubectl) cmd(ctx context.Context, args ...string) *exec.Cmd {
	all := append([]string{"--kubeconfig", k.kubeconfig, "--cache-dir", k.cacheDir, "--request-timeout=60s"}, args...)
	cmd := exec.CommandContext(ctx, k.kube.KubectlPath, all...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+k.kubeconfig)
	return cmd
}

// run runs kubectl with stdin and returns stdout, or the error with stderr.
func (k *kubectl) run(stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := k.cmd(ctx, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// must runs kubectl and fails the test if it fails.
func (k *kubectl) must(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	out, err := k.run(stdin, args...)
	require.NoError(t, err)
	return out
}

// eventually polls cond every 100 ms until it holds, failing after a generous timeout.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// uniq returns prefix plus a random suffix (names shared in the one cluster must not collide).
func uniq(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// clusterAudit returns the audit events of a cluster matching query.
func (e *kubeEnv) clusterAudit(t testing.TB, id int64, query url.Values) []kubeAuditEvent {
	t.Helper()
	query.Set("scope", "cluster")
	query.Set("scope_id", fmt.Sprint(id))
	query.Set("limit", "1000")
	var page struct {
		Items []kubeAuditEvent `json:"items"`
	}
	e.admin.For(t).Expect(http.StatusOK, http.MethodGet, "/api/v1/audit-events?"+query.Encode(), nil).JSON(t, &page)
	return page.Items
}

type kubeAuditEvent struct {
	Username     string `json:"username"`
	Action       string `json:"action"`
	Scope        string `json:"scope"`
	ScopeID      int64  `json:"scope_id"`
	ResourceType string `json:"resource_type"`
	ResourceName string `json:"resource_name"`
	Result       string `json:"result"`
	StatusCode   int    `json:"status_code"`
}

// realPod is a pod pinned to the testenv's real node running script under sh (PID 1 exits on
// SIGTERM, so deletion is quick).
func realPod(name, script string, extraSpec string) string {
	return `apiVersion: v1
kind: Pod
metadata:
  name: ` + name + `
spec:
` + kubetestenv.RealNodePodSpecYAML + `  terminationGracePeriodSeconds: 1
` + extraSpec + `  containers:
  - name: main
    image: ` + kubetestenv.BusyboxImage + `
    imagePullPolicy: Never
    command: ["sh", "-c", ` + quoteYAML("trap 'exit 0' TERM; "+script) + `]
`
}

func quoteYAML(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
