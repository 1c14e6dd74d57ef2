package identity

import (
	"context"
	"time"

	"github.com/kubespace/kubespace/pkg/access"
)

// MintClusterToken mints an API token of the caller limited to one cluster's Kubernetes API, for
// a kubeconfig (cluster.TokenMinter). It returns the token's id and its secret.
func (s *Service) MintClusterToken(ctx context.Context, p *access.Principal, name string, expires time.Time, clusterID int64) (int64, string, error) {
	t, err := s.CreateToken(ctx, p, CreateTokenInput{Name: name, ExpiresAt: &expires}, clusterID)
	if err != nil {
		return 0, "", err
	}
	return t.ID, t.Token, nil
}
