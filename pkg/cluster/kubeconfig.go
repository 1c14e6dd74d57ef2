package cluster

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubespace/kubespace/pkg/errs"
)

// maxKubeconfig bounds an imported kubeconfig (they are a few KiB; embedded certificates push a
// large one to tens of KiB).
const maxKubeconfig = 512 << 10

// parsedKubeconfig is one context of an imported kubeconfig, reduced to what it references.
type parsedKubeconfig struct {
	config  *clientcmdapi.Config // only the chosen context, its cluster and its user
	context string
	server  string
}

// parseKubeconfig validates an imported kubeconfig and selects a context: the named one, else
// the current one, else the only one. Credentials that run programs (exec, auth-provider) or read
// files on the server (certificate, key and token files) are refused: the file is text pasted by a
// user and must not make the server execute or read anything.
func parseKubeconfig(text, contextName string) (*parsedKubeconfig, error) {
	if len(text) > maxKubeconfig {
		return nil, errs.Field("kubeconfig", "must be at most %d KiB", maxKubeconfig>>10)
	}
	cfg, err := clientcmd.Load([]byte(text))
	if err != nil {
		return nil, errs.Field("kubeconfig", "is not a valid kubeconfig: %s", firstLine(err.Error()))
	}
	if len(cfg.Contexts) == 0 {
		return nil, errs.Field("kubeconfig", "has no contexts")
	}
	name := contextName
	if name == "" {
		name = cfg.CurrentContext
	}
	if name == "" {
		if len(cfg.Contexts) != 1 {
			return nil, errs.Field("context", "is required: the kubeconfig has several contexts (%s) and no current-context", contextNames(cfg))
		}
		for n := range cfg.Contexts {
			name = n
		}
	}
	ctx, ok := cfg.Contexts[name]
	if !ok {
		return nil, errs.Field("context", "%q is not in the kubeconfig; it has %s", name, contextNames(cfg))
	}
	cl, ok := cfg.Clusters[ctx.Cluster]
	if !ok {
		return nil, errs.Field("kubeconfig", "context %q names cluster %q, which is not defined", name, ctx.Cluster)
	}
	user, ok := cfg.AuthInfos[ctx.AuthInfo]
	if !ok {
		return nil, errs.Field("kubeconfig", "context %q names user %q, which is not defined", name, ctx.AuthInfo)
	}
	switch {
	case user.Exec != nil:
		return nil, errs.Field("kubeconfig", "user %q runs a credential plugin (exec); use a token or client certificate instead", ctx.AuthInfo)
	case user.AuthProvider != nil:
		return nil, errs.Field("kubeconfig", "user %q uses an auth-provider plugin; use a token or client certificate instead", ctx.AuthInfo)
	case user.ClientCertificate != "" || user.ClientKey != "" || user.TokenFile != "":
		return nil, errs.Field("kubeconfig", "user %q refers to files (client-certificate, client-key or tokenFile); embed the data instead (kubectl config view --flatten --minify)", ctx.AuthInfo)
	case cl.CertificateAuthority != "":
		return nil, errs.Field("kubeconfig", "cluster %q refers to a certificate-authority file; embed certificate-authority-data instead (kubectl config view --flatten --minify)", ctx.Cluster)
	case user.Username != "" && user.Token == "" && len(user.ClientCertificateData) == 0 && user.Password == "":
		return nil, errs.Field("kubeconfig", "user %q has no credentials", ctx.AuthInfo)
	}
	if !strings.HasPrefix(cl.Server, "https://") && !strings.HasPrefix(cl.Server, "http://") {
		return nil, errs.Field("kubeconfig", "cluster %q server %q must be an http(s) URL", ctx.Cluster, cl.Server)
	}
	min := clientcmdapi.NewConfig()
	min.Clusters[ctx.Cluster] = cl
	min.AuthInfos[ctx.AuthInfo] = user
	min.Contexts[name] = ctx
	min.CurrentContext = name
	return &parsedKubeconfig{config: min, context: name, server: cl.Server}, nil
}

func (p *parsedKubeconfig) bytes() ([]byte, error) { return clientcmd.Write(*p.config) }

// restConfig builds the client configuration for the chosen context.
func (p *parsedKubeconfig) restConfig() (*rest.Config, error) {
	rc, err := clientcmd.NewNonInteractiveClientConfig(*p.config, p.context, &clientcmd.ConfigOverrides{}, nil).ClientConfig()
	if err != nil {
		return nil, errs.Field("kubeconfig", "cannot be used: %s", firstLine(err.Error()))
	}
	return rc, nil
}

// loadStored parses a kubeconfig this package stored earlier.
func loadStored(data []byte) (*parsedKubeconfig, error) {
	cfg, err := clientcmd.Load(data)
	if err != nil {
		return nil, fmt.Errorf("stored kubeconfig: %w", err)
	}
	ctx := cfg.Contexts[cfg.CurrentContext]
	if ctx == nil {
		return nil, fmt.Errorf("stored kubeconfig has no current context")
	}
	return &parsedKubeconfig{config: cfg, context: cfg.CurrentContext, server: cfg.Clusters[ctx.Cluster].Server}, nil
}

func contextNames(cfg *clientcmdapi.Config) string {
	names := make([]string, 0, len(cfg.Contexts))
	for n := range cfg.Contexts {
		names = append(names, fmt.Sprintf("%q", n))
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
