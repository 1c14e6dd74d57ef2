// Package cluster manages the clusters KubeSpace reaches: importing them by kubeconfig (sealed at
// rest), validating that they answer, probing their status, and handing every other package a
// ready *rest.Config, so that everything above — typed and dynamic clients, discovery, informers,
// logs, exec, server-side apply, Helm — is ordinary client-go.
package cluster

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/authchange"
	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/secretbox"
	"github.com/kubespace/kubespace/pkg/store"
)

// adKubeconfig binds sealed kubeconfigs to their column.
const adKubeconfig = "cluster/kubeconfig"

// probeTimeout bounds one contact with a cluster's API server.
const probeTimeout = 10 * time.Second

var namePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Authorizer answers whether a caller holds a role (access.Authorizer).
type Authorizer interface {
	Require(ctx context.Context, p *access.Principal, s access.Scope, role access.Role) error
}

// TokenMinter mints API tokens limited to one cluster, for the kubeconfigs it hands out
// (identity.Service).
type TokenMinter interface {
	MintClusterToken(ctx context.Context, p *access.Principal, name string, expires time.Time, clusterID int64) (id int64, secret string, err error)
}

// Deps are what the cluster service works with.
type Deps struct {
	// Store gives the clusters, and the role bindings and tokens removed with a cluster.
	Store      store.Store
	Box        *secretbox.Box
	Authorizer Authorizer
	Tokens     TokenMinter
	// Notifier hears that a cluster changed, or its role bindings and tokens went away with it.
	Notifier authchange.Notifier
	Log      *slog.Logger
	// CacheTTL bounds how long a replica uses a cluster row it was not told changed (0: none).
	CacheTTL time.Duration
}

// Service manages clusters. It is safe for concurrent use.
type Service struct {
	st     store.Store
	box    *secretbox.Box
	authz  Authorizer
	tokens TokenMinter
	notify authchange.Notifier
	log    *slog.Logger
	now    func() time.Time

	mu    sync.Mutex
	conns map[int64]*conn
	// onRemove hooks run when a cluster is deleted or its credentials change (informer caches
	// drop what they hold for it).
	onRemove   []func(id int64)
	dependents []Dependent
	rows       rowCache
}

// conn is a cluster's client configuration, valid while its sealed credentials are unchanged,
// and the dialer whose connections go away with it.
type conn struct {
	sealed []byte
	config *rest.Config
	dialer *connDialer
}

// New returns the cluster service.
func New(d Deps) *Service {
	return &Service{st: d.Store, box: d.Box, authz: d.Authorizer, tokens: d.Tokens, notify: d.Notifier, log: d.Log,
		now: time.Now, conns: map[int64]*conn{}, rows: rowCache{ttl: d.CacheTTL, rows: map[int64]cachedRow{}}}
}

// OnRemove registers fn to run when a cluster is deleted or its credentials are replaced.
func (s *Service) OnRemove(fn func(id int64)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onRemove = append(s.onRemove, fn)
}

// CreateInput imports a cluster.
type CreateInput struct {
	Name        string `json:"name" required:"true"`
	Description string `json:"description"`
	// Kubeconfig is the YAML text; without one the cluster waits for its kube-agent.
	Kubeconfig string `json:"kubeconfig"`
	Context    string `json:"context"`
}

// UpdateInput edits a cluster; nil fields stay. A new kubeconfig replaces the credentials.
type UpdateInput struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	Kubeconfig  *string `json:"kubeconfig"`
	Context     *string `json:"context"`
}

func checkMeta(f errs.Fields, name, description *string) {
	if name != nil && !namePattern.MatchString(*name) {
		f.Add("name", "must be 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit")
	}
	if description != nil && utf8.RuneCountInString(*description) > 512 {
		f.Add("description", "must be at most 512 characters")
	}
}

// View is a cluster as the API shows it: the stored row without its credentials.
type View struct {
	ID           int64      `json:"id"`
	Name         string     `json:"name"`
	Description  string     `json:"description"`
	Mode         string     `json:"mode"`
	Context      string     `json:"context"`
	Server       string     `json:"server"`
	Status       string     `json:"status"`
	StatusReason string     `json:"status_reason"`
	Version      string     `json:"version"`
	NodeCount    int        `json:"node_count"`
	LastSeenAt   *time.Time `json:"last_seen_at"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

func viewOf(c *store.Cluster) *View {
	return &View{ID: c.ID, Name: c.Name, Description: c.Description, Mode: c.Mode, Context: c.Context, Server: c.Server,
		Status: c.Status, StatusReason: c.StatusReason, Version: c.Version, NodeCount: c.NodeCount, LastSeenAt: c.LastSeenAt,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// Create imports a cluster. With a kubeconfig the cluster must answer before it is stored.
func (s *Service) Create(ctx context.Context, in CreateInput) (*View, error) {
	f := errs.Fields{}
	checkMeta(f, &in.Name, &in.Description)
	if in.Kubeconfig == "" && in.Context != "" {
		f.Add("context", "needs a kubeconfig")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	c := &store.Cluster{Name: in.Name, Description: in.Description, Mode: store.ClusterAgent, Status: store.ClusterPending,
		StatusReason: "waiting for the kube-agent to connect"}
	var st *store.ClusterStatus
	if in.Kubeconfig != "" {
		var err error
		if st, err = s.useKubeconfig(ctx, c, in.Kubeconfig, in.Context); err != nil {
			return nil, err
		}
	}
	if err := s.st.Clusters.Create(ctx, c); err != nil {
		if errs.Is(err, errs.Conflict) {
			return nil, errs.Conflictf("a cluster named %q already exists", c.Name)
		}
		return nil, err
	}
	if st != nil {
		if err := s.st.Clusters.UpdateStatus(ctx, c.ID, *st); err != nil {
			return nil, err
		}
		applyStatus(c, *st)
	}
	return viewOf(c), nil
}

// useKubeconfig validates a kubeconfig, contacts the cluster with it and seals it into c.
func (s *Service) useKubeconfig(ctx context.Context, c *store.Cluster, text, contextName string) (*store.ClusterStatus, error) {
	p, err := parseKubeconfig(text, contextName)
	if err != nil {
		return nil, err
	}
	rc, err := p.restConfig()
	if err != nil {
		return nil, err
	}
	st := s.probe(ctx, rc)
	if st.Status != store.ClusterConnected {
		return nil, errs.Unprocessablef("cannot use the kubeconfig: %s", st.StatusReason).WithCode("cluster_unreachable")
	}
	data, err := p.bytes()
	if err != nil {
		return nil, err
	}
	c.Mode, c.Context, c.Server = store.ClusterDirect, p.context, p.server
	c.KubeconfigSealed = s.box.Seal(data, adKubeconfig)
	return &st, nil
}

// Update edits a cluster; a new kubeconfig is validated by contacting the cluster. New
// credentials make the server contact a new address: as for an import, only platform admins may
// give them.
func (s *Service) Update(ctx context.Context, p *access.Principal, id int64, in UpdateInput) (*View, error) {
	f := errs.Fields{}
	checkMeta(f, in.Name, in.Description)
	if in.Context != nil && in.Kubeconfig == nil {
		f.Add("context", "can only change together with a kubeconfig")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	if in.Kubeconfig != nil {
		if err := s.authz.Require(ctx, p, access.Platform, access.Admin); err != nil {
			if errs.Is(err, errs.Forbidden) {
				return nil, errs.Forbiddenf("replacing a cluster's kubeconfig requires the admin role on the platform")
			}
			return nil, err
		}
	}
	c, err := s.st.Clusters.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if in.Name != nil {
		c.Name = *in.Name
	}
	if in.Description != nil {
		c.Description = *in.Description
	}
	var st *store.ClusterStatus
	if in.Kubeconfig != nil {
		contextName := ""
		if in.Context != nil {
			contextName = *in.Context
		}
		if st, err = s.useKubeconfig(ctx, c, *in.Kubeconfig, contextName); err != nil {
			return nil, err
		}
	}
	if err := s.st.Clusters.Update(ctx, c); err != nil {
		if errs.Is(err, errs.Conflict) {
			return nil, errs.Conflictf("a cluster named %q already exists", c.Name)
		}
		return nil, err
	}
	s.changed(ctx)
	if st != nil {
		s.forget(id)
		if err := s.st.Clusters.UpdateStatus(ctx, id, *st); err != nil {
			return nil, err
		}
		applyStatus(c, *st)
	}
	return viewOf(c), nil
}

// Get returns a cluster.
func (s *Service) Get(ctx context.Context, id int64) (*View, error) {
	c, err := s.st.Clusters.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return viewOf(c), nil
}

// List lists clusters; ids limits the result (nil: all).
func (s *Service) List(ctx context.Context, ids []int64, opts store.ListOptions) (store.Page[View], error) {
	p, err := s.st.Clusters.List(ctx, store.ClusterFilter{IDs: ids}, opts)
	if err != nil {
		return store.Page[View]{}, err
	}
	out := store.Page[View]{Items: make([]View, 0, len(p.Items)), Total: p.Total, Continue: p.Continue}
	for i := range p.Items {
		out.Items = append(out.Items, *viewOf(&p.Items[i]))
	}
	return out, nil
}

// Name implements access.ScopeKind.
func (s *Service) Name(ctx context.Context, id int64) (string, error) {
	c, err := s.row(ctx, id)
	if err != nil {
		return "", err
	}
	return c.Name, nil
}

// Parent implements access.ScopeKind: clusters inherit only from the platform.
func (s *Service) Parent(context.Context, int64) (access.Scope, bool, error) {
	return access.Scope{}, false, nil
}

// RESTConfig returns the client configuration of a cluster, cached until the cluster changes.
// Callers must not modify it (copy with rest.CopyConfig).
func (s *Service) RESTConfig(ctx context.Context, id int64) (*rest.Config, error) {
	c, err := s.row(ctx, id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	cached := s.conns[id]
	s.mu.Unlock()
	// The configuration lives as long as the credentials: a rename must not cut open streams.
	if cached != nil && bytes.Equal(cached.sealed, c.KubeconfigSealed) {
		return cached.config, nil
	}
	if c.Mode != store.ClusterDirect {
		return nil, errs.New(errs.Unavailable, "cluster %q is reached through its kube-agent, which has not connected", c.Name).WithCode("cluster_unavailable")
	}
	data, err := s.box.Open(c.KubeconfigSealed, adKubeconfig)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "cluster %d credentials cannot be opened", id)
	}
	p, err := loadStored(data)
	if err != nil {
		return nil, err
	}
	rc, err := p.restConfig()
	if err != nil {
		return nil, err
	}
	rc.UserAgent = "kubespace"
	rc.QPS, rc.Burst = 50, 100
	d := newConnDialer()
	rc.Dial = d.DialContext
	s.mu.Lock()
	old := s.conns[id]
	s.conns[id] = &conn{sealed: c.KubeconfigSealed, config: rc, dialer: d}
	s.mu.Unlock()
	if old != nil {
		old.dialer.closeAll()
	}
	return rc, nil
}

// forget drops a cluster's configuration and closes its connections, then tells the caches.
func (s *Service) forget(id int64) {
	s.mu.Lock()
	old := s.conns[id]
	delete(s.conns, id)
	hooks := append([]func(int64){}, s.onRemove...)
	s.mu.Unlock()
	if old != nil {
		old.dialer.closeAll()
	}
	for _, h := range hooks {
		h(id)
	}
}

// Close closes every connection to every cluster (at shutdown, after the caches have stopped).
func (s *Service) Close() {
	s.mu.Lock()
	conns := s.conns
	s.conns = map[int64]*conn{}
	s.mu.Unlock()
	for _, c := range conns {
		c.dialer.closeAll()
	}
}

// probe contacts a cluster: its version and node count, or why it could not.
func (s *Service) probe(ctx context.Context, rc *rest.Config) store.ClusterStatus {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	cfg := rest.CopyConfig(rc)
	cfg.Timeout = probeTimeout
	if cfg.Dial == nil {
		// A kubeconfig being validated has no connections of its own yet: close the probe's.
		d := newConnDialer()
		defer d.closeAll()
		cfg.Dial = d.DialContext
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return store.ClusterStatus{Status: store.ClusterError, StatusReason: err.Error()}
	}
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		return store.ClusterStatus{Status: store.ClusterDisconnected, StatusReason: reason(err)}
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return store.ClusterStatus{Status: store.ClusterError, StatusReason: "listing nodes: " + reason(err), Version: v.GitVersion}
	}
	now := s.now().UTC()
	return store.ClusterStatus{Status: store.ClusterConnected, Version: v.GitVersion, NodeCount: len(nodes.Items), LastSeenAt: &now}
}

func reason(err error) string {
	msg := failureText(err)
	if strings.Contains(msg, "x509:") || strings.Contains(msg, "certificate") {
		return "TLS verification failed: " + msg
	}
	return msg
}

func applyStatus(c *store.Cluster, st store.ClusterStatus) {
	c.Status, c.StatusReason, c.Version, c.NodeCount, c.LastSeenAt = st.Status, st.StatusReason, st.Version, st.NodeCount, st.LastSeenAt
}

// Run probes every direct cluster each interval until ctx ends, keeping status, version and node
// count current.
func (s *Service) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		all, err := s.st.Clusters.All(ctx)
		if err != nil {
			s.log.WarnContext(ctx, "listing clusters for probes failed", "error", err)
			continue
		}
		for _, c := range all {
			if c.Mode != store.ClusterDirect {
				continue
			}
			st := s.probeCluster(ctx, c.ID)
			if st.Status != store.ClusterConnected && c.LastSeenAt != nil && st.LastSeenAt == nil {
				st.LastSeenAt = c.LastSeenAt // keep when it was last reachable
			}
			if err := s.st.Clusters.UpdateStatus(ctx, c.ID, st); err != nil && !errs.Is(err, errs.NotFound) {
				s.log.WarnContext(ctx, "saving cluster status failed", "cluster_id", c.ID, "error", err)
			}
		}
	}
}

func (s *Service) probeCluster(ctx context.Context, id int64) store.ClusterStatus {
	rc, err := s.RESTConfig(ctx, id)
	if err != nil {
		return store.ClusterStatus{Status: store.ClusterError, StatusReason: err.Error()}
	}
	return s.probe(ctx, rc)
}
