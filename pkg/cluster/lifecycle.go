package cluster

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/store"
)

// Dependent is something bound to clusters (workspaces, cluster components) that a cluster's
// deletion must respect. Its package registers it with OnDelete.
type Dependent interface {
	// InUse names the dependents of a cluster (none: nil).
	InUse(ctx context.Context, clusterID int64) ([]string, error)
	// Release removes them; it runs inside the deletion's transaction when deletion is forced.
	Release(ctx context.Context, clusterID int64) error
}

// OnDelete registers a dependent; called once at wiring time.
func (s *Service) OnDelete(d Dependent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dependents = append(s.dependents, d)
}

// Delete removes a cluster from KubeSpace (the cluster itself is untouched) together with
// everything that only meant something for it — its role bindings and the API tokens minted for
// its kubeconfigs — in one transaction, so no binding can outlive it and apply to a later cluster
// that gets the same id. While dependents exist (workspaces...) it is refused with a conflict
// naming them, unless force is set, which removes them too. Its caches and connections go after
// the commit.
func (s *Service) Delete(ctx context.Context, id int64, force bool) (*View, error) {
	s.mu.Lock()
	deps := append([]Dependent{}, s.dependents...)
	s.mu.Unlock()
	var c *store.Cluster
	err := s.st.Tx.WithTx(ctx, func(ctx context.Context) error {
		var err error
		if c, err = s.st.Clusters.Get(ctx, id); err != nil {
			return err
		}
		var inUse []string
		for _, d := range deps {
			names, err := d.InUse(ctx, id)
			if err != nil {
				return err
			}
			inUse = append(inUse, names...)
		}
		if len(inUse) > 0 && !force {
			return errs.Conflictf("cluster %q is still used by %s; remove them first or delete with force=true",
				c.Name, strings.Join(inUse, ", ")).WithCode("cluster_in_use")
		}
		if len(inUse) > 0 {
			for _, d := range deps {
				if err := d.Release(ctx, id); err != nil {
					return err
				}
			}
		}
		if err := s.st.Clusters.Delete(ctx, id); err != nil {
			return err
		}
		if err := s.st.RoleBindings.DeleteByScope(ctx, store.ScopeCluster, id); err != nil {
			return err
		}
		return s.st.Tokens.DeleteByCluster(ctx, id)
	})
	if err != nil {
		return nil, err
	}
	s.forget(id)
	// The cluster, and bindings and tokens of unknown users, went away: every cache drops what
	// it holds.
	s.changed(ctx)
	return viewOf(c), nil
}

// KubeconfigInput asks for a kubeconfig.
type KubeconfigInput struct {
	ExpiresInDays *int `json:"expires_in_days"`
}

// Kubeconfig is a kubeconfig that reaches a cluster through KubeSpace with a minted token.
type Kubeconfig struct {
	Kubeconfig string    `json:"kubeconfig"`
	TokenID    int64     `json:"token_id"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// Endpoint is where clients reach a cluster's proxy through KubeSpace.
type Endpoint struct {
	// URL is the proxy's absolute URL (kubectl's server).
	URL string
	// CA is the PEM certificate authority clients must trust for URL (nil: the system's).
	CA []byte
}

// defaultKubeconfigDays is the lifetime of a minted kubeconfig's token unless asked otherwise.
const defaultKubeconfigDays = 30

// MintKubeconfig mints an expiring API token of the caller limited to the cluster, and returns
// a kubeconfig that reaches the cluster through KubeSpace at ep with it: kubectl then acts with
// the caller's KubeSpace role, checked on every request.
func (s *Service) MintKubeconfig(ctx context.Context, p *access.Principal, id int64, in KubeconfigInput, ep Endpoint) (*Kubeconfig, error) {
	days := defaultKubeconfigDays
	if in.ExpiresInDays != nil {
		days = *in.ExpiresInDays
	}
	if days < 1 || days > 365 {
		return nil, errs.Field("expires_in_days", "must be between 1 and 365")
	}
	if p.ClusterID != 0 {
		return nil, errs.Forbiddenf("a cluster-limited token cannot mint kubeconfigs").WithCode("token_limited")
	}
	c, err := s.st.Clusters.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	expires := s.now().UTC().Add(time.Duration(days) * 24 * time.Hour)
	tokenID, secret, err := s.tokens.MintClusterToken(ctx, p, "kubeconfig for cluster "+c.Name, expires, c.ID)
	if err != nil {
		return nil, err
	}
	name := "kubespace-" + c.Name
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: ep.URL, CertificateAuthorityData: ep.CA}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: secret}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	cfg.CurrentContext = name
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return nil, fmt.Errorf("write kubeconfig: %w", err)
	}
	return &Kubeconfig{Kubeconfig: string(data), TokenID: tokenID, ExpiresAt: expires}, nil
}
