// Package workspace manages pipeline workspaces and their pipelines: a code workspace is bound to
// one git repository (read with pkg/gitrepo through a stored secret, checked by listing its
// branches when it is created or re-pointed) and starts with two pipelines (branch builds and
// trunk builds); a custom workspace holds pipelines that take other pipelines' runs as sources,
// or none. A workspace is the scope of the pipeline_workspace roles: it tells the authorizer its
// name, and its role bindings go away with it. Its webhook secret (verifying push deliveries) is
// generated, sealed at rest and rotated by its admins.
//
// Pipelines are stored as the JSON of pipeline.Definition; runs copy the definition they start
// with (pkg/pipeline/run), so editing a pipeline never changes a run already started.
package workspace

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"path"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/authchange"
	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/gitrepo"
	"github.com/kubespace/kubespace/pkg/pipeline"
	"github.com/kubespace/kubespace/pkg/secretbox"
	"github.com/kubespace/kubespace/pkg/settings"
	"github.com/kubespace/kubespace/pkg/store"
)

// adWebhookSecret binds a sealed webhook secret to its column.
const adWebhookSecret = "pipeline_workspace/webhook_secret"

// Code providers.
const (
	ProviderGitHub = "github"
	ProviderGitLab = "gitlab"
	ProviderGitee  = "gitee"
	ProviderGit    = "git" // any git server
)

// SecretOpener opens a stored secret's material (settings.Secrets).
type SecretOpener interface {
	Open(ctx context.Context, id int64) (*settings.SecretMaterial, error)
}

// Definitions validates definitions (pipeline.Validator): on their own (structure, plugins and
// their params, branch rules, cron expressions), with field-level errs.Invalid errors naming the
// path (stages[0].jobs[1].plugin_key), and as YAML documents (errors give the line).
type Definitions interface {
	Validate(d *pipeline.Definition) error
	Import(data []byte) (*pipeline.Definition, error)
}

// Deps are what the service needs.
type Deps struct {
	// Store gives the workspaces, pipelines, runs (removed with their pipeline) and role
	// bindings (removed with their workspace).
	Store       store.Store
	Box         *secretbox.Box
	Secrets     SecretOpener
	Authorizer  *access.Authorizer
	Definitions Definitions
	// Notifier hears that role bindings went away with a workspace, or that its creator
	// became its admin.
	Notifier authchange.Notifier
	Log      *slog.Logger
	// GitTimeout bounds each repository read (0: gitrepo.DefaultTimeout).
	GitTimeout time.Duration
}

// Service manages pipeline workspaces and pipelines. It is safe for concurrent use.
type Service struct {
	st     store.Store
	box    *secretbox.Box
	sec    SecretOpener
	authz  *access.Authorizer
	defs   Definitions
	notify authchange.Notifier
	log    *slog.Logger
	gitTO  time.Duration
}

// New returns the service. Register it with the authorizer as the pipeline_workspace scope
// kind (access.Authorizer.RegisterKind).
func New(d Deps) *Service {
	return &Service{st: d.Store, box: d.Box, sec: d.Secrets, authz: d.Authorizer, defs: d.Definitions, notify: d.Notifier,
		log: d.Log, gitTO: d.GitTimeout}
}

// View is a workspace as the API shows it (the webhook secret only through WebhookSecret).
type View struct {
	ID                    int64     `json:"id"`
	Name                  string    `json:"name"`
	Description           string    `json:"description"`
	Type                  string    `json:"type"`
	CodeProvider          string    `json:"code_provider"`
	CodeURL               string    `json:"code_url"`
	CodeSecretID          int64     `json:"code_secret_id"`
	InsecureSkipTLSVerify bool      `json:"insecure_skip_tls_verify"`
	KnownHosts            string    `json:"known_hosts"`
	InsecureIgnoreHostKey bool      `json:"insecure_ignore_host_key"`
	CreatedBy             int64     `json:"created_by"`
	CreatedAt             time.Time `json:"created_at"`
	UpdatedAt             time.Time `json:"updated_at"`
}

func viewOf(w *store.PipelineWorkspace) *View {
	return &View{ID: w.ID, Name: w.Name, Description: w.Description, Type: w.Type, CodeProvider: w.CodeProvider, CodeURL: w.CodeURL,
		CodeSecretID: w.CodeSecretID, InsecureSkipTLSVerify: w.InsecureSkipTLSVerify, KnownHosts: w.KnownHosts,
		InsecureIgnoreHostKey: w.InsecureIgnoreHostKey, CreatedBy: w.CreatedBy, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt}
}

// Input creates a workspace (name may be left out for a code workspace: it is taken from the
// repository path) or updates one (nil keeps a field; the type never changes).
type Input struct {
	Name         *string `json:"name"`
	Description  *string `json:"description"`
	Type         *string `json:"type" enum:"code,custom"`
	CodeProvider *string `json:"code_provider" enum:"github,gitlab,gitee,git"`
	CodeURL      *string `json:"code_url"`
	// CodeSecretID is the secret the repository is read with (0: anonymous).
	CodeSecretID *int64 `json:"code_secret_id"`
	// The explicit opt-outs of certificate and host key verification, and the pinned host keys.
	InsecureSkipTLSVerify *bool   `json:"insecure_skip_tls_verify"`
	KnownHosts            *string `json:"known_hosts"`
	InsecureIgnoreHostKey *bool   `json:"insecure_ignore_host_key"`
}

var namePattern = regexp.MustCompile(`^[\p{L}\p{N}][\p{L}\p{N} ._/-]*$`)

func checkName(f errs.Fields, field, name string) {
	switch {
	case name == "":
		f.Add(field, "is required")
	case utf8.RuneCountInString(name) > 128:
		f.Add(field, "must be at most 128 characters")
	case !namePattern.MatchString(name):
		f.Add(field, "must start with a letter or digit and hold only letters, digits, spaces and . _ / -")
	}
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// repoName derives a workspace name from a repository URL: its path without ".git"
// (owner/repo), as the original did.
func repoName(raw string) string {
	p := raw
	if u, err := url.Parse(raw); err == nil && u.Scheme != "" {
		p = u.Path
	} else if _, after, ok := strings.Cut(raw, ":"); ok {
		p = after // user@host:owner/repo.git
	}
	p = strings.Trim(strings.TrimSuffix(strings.Trim(p, "/"), ".git"), "/")
	if p == "" || p == "." {
		return ""
	}
	return path.Clean(p)
}

// apply validates in and writes it into w; creating tells whether w is new.
func (s *Service) apply(w *store.PipelineWorkspace, in Input, creating bool) error {
	f := errs.Fields{}
	if creating {
		w.Type = str(in.Type)
		switch w.Type {
		case store.WorkspaceCode, store.WorkspaceCustom:
		case "":
			f.Add("type", "is required: code or custom")
		default:
			f.Add("type", "must be code or custom")
		}
	} else if in.Type != nil && *in.Type != w.Type {
		f.Add("type", "cannot change: create another workspace")
	}
	if in.Description != nil {
		if utf8.RuneCountInString(*in.Description) > 512 {
			f.Add("description", "must be at most 512 characters")
		}
		w.Description = *in.Description
	}
	code := w.Type == store.WorkspaceCode
	codeFields := in.CodeProvider != nil || in.CodeURL != nil || in.CodeSecretID != nil || in.InsecureSkipTLSVerify != nil ||
		in.KnownHosts != nil || in.InsecureIgnoreHostKey != nil
	if !code && codeFields && w.Type == store.WorkspaceCustom {
		f.Add("code_url", "applies to code workspaces only")
	}
	if code {
		if in.CodeURL != nil {
			w.CodeURL = *in.CodeURL
		}
		if w.CodeURL == "" {
			f.Add("code_url", "is required for a code workspace")
		} else if err := gitrepo.ValidateURL(w.CodeURL); err != nil {
			e, _ := errs.As(err)
			f.Add("code_url", "%s", strings.TrimPrefix(e.Message, "repository URL "))
		}
		if in.CodeProvider != nil {
			w.CodeProvider = *in.CodeProvider
		}
		switch w.CodeProvider {
		case ProviderGitHub, ProviderGitLab, ProviderGitee, ProviderGit:
		case "":
			w.CodeProvider = ProviderGit
		default:
			f.Add("code_provider", "must be github, gitlab, gitee or git")
		}
		if in.CodeSecretID != nil {
			if *in.CodeSecretID < 0 {
				f.Add("code_secret_id", "must be a secret id, or 0 for none")
			}
			w.CodeSecretID = *in.CodeSecretID
		}
		if in.InsecureSkipTLSVerify != nil {
			w.InsecureSkipTLSVerify = *in.InsecureSkipTLSVerify
		}
		if in.InsecureIgnoreHostKey != nil {
			w.InsecureIgnoreHostKey = *in.InsecureIgnoreHostKey
		}
		if in.KnownHosts != nil {
			if len(*in.KnownHosts) > 64<<10 {
				f.Add("known_hosts", "must be at most 64 KiB")
			}
			w.KnownHosts = *in.KnownHosts
		}
	}
	if in.Name != nil {
		w.Name = strings.TrimSpace(*in.Name)
	}
	if creating && w.Name == "" && code && w.CodeURL != "" {
		w.Name = repoName(w.CodeURL)
	}
	checkName(f, "name", w.Name)
	return f.Err()
}

// Create makes a workspace. A code workspace must be readable (its branches are listed with
// the secret: a failure is a 422 saying what failed) and gets the two default pipelines. The
// secret can be bound by platform editors only (those who manage secrets): using it is reading
// it. The creator becomes the workspace's admin.
func (s *Service) Create(ctx context.Context, p *access.Principal, in Input) (*View, error) {
	w := &store.PipelineWorkspace{}
	if err := s.apply(w, in, true); err != nil {
		return nil, err
	}
	if w.Type == store.WorkspaceCode {
		if err := s.checkSecretUse(ctx, p, w.CodeSecretID); err != nil {
			return nil, err
		}
		if _, err := s.branchesOf(ctx, w); err != nil {
			return nil, err
		}
	}
	secret, err := newWebhookSecret()
	if err != nil {
		return nil, err
	}
	w.WebhookSecretSealed = s.box.Seal([]byte(secret), adWebhookSecret)
	if p != nil && p.User != nil {
		w.CreatedBy = p.User.ID
	}
	granted := false
	err = s.st.Tx.WithTx(ctx, func(ctx context.Context) error {
		if err := s.st.PipelineWorkspaces.Create(ctx, w); err != nil {
			return err
		}
		if w.Type == store.WorkspaceCode {
			for _, d := range defaultPipelines() {
				if err := s.createPipeline(ctx, w, d, w.CreatedBy); err != nil {
					return fmt.Errorf("default pipeline %q: %w", d.Name, err)
				}
			}
		}
		var err error
		granted, err = s.grantCreator(ctx, p, w.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if granted {
		s.notify.Changed(ctx, p.User.ID)
	}
	return viewOf(w), nil
}

// grantCreator makes the creator the workspace's admin unless they already are everywhere.
func (s *Service) grantCreator(ctx context.Context, p *access.Principal, id int64) (bool, error) {
	if p == nil || p.User == nil {
		return false, nil
	}
	r, err := s.authz.RoleIn(ctx, p, access.Platform)
	if err != nil || r >= access.Admin {
		return false, err
	}
	b := &store.RoleBinding{UserID: p.User.ID, Scope: store.ScopePipelineWorkspace, ScopeID: id, Role: store.RoleAdmin, CreatedBy: p.User.ID}
	return true, s.st.RoleBindings.Create(ctx, b)
}

// checkSecretUse refuses to bind a secret for a caller who is not a platform editor.
func (s *Service) checkSecretUse(ctx context.Context, p *access.Principal, secretID int64) error {
	if secretID == 0 {
		return nil
	}
	if err := s.authz.Require(ctx, p, access.Platform, access.Editor); err != nil {
		return errs.Forbiddenf("binding a secret to a repository needs the platform editor role (who manage secrets)")
	}
	return nil
}

// Get returns a workspace.
func (s *Service) Get(ctx context.Context, id int64) (*View, error) {
	w, err := s.st.PipelineWorkspaces.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return viewOf(w), nil
}

// List returns the workspaces in ids (nil: all).
func (s *Service) List(ctx context.Context, ids []int64, opts store.ListOptions) (store.Page[View], error) {
	p, err := s.st.PipelineWorkspaces.List(ctx, ids, opts)
	if err != nil {
		return store.Page[View]{}, err
	}
	out := store.Page[View]{Items: make([]View, 0, len(p.Items)), Total: p.Total, Continue: p.Continue}
	for i := range p.Items {
		out.Items = append(out.Items, *viewOf(&p.Items[i]))
	}
	return out, nil
}

// Update edits a workspace. Re-pointing a code workspace (URL, secret, verification settings)
// checks access again by listing branches; binding another secret needs the platform editor
// role, as on creation.
func (s *Service) Update(ctx context.Context, p *access.Principal, id int64, in Input) (*View, error) {
	w, err := s.st.PipelineWorkspaces.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	before := *w
	if err := s.apply(w, in, false); err != nil {
		return nil, err
	}
	if w.Type == store.WorkspaceCode {
		if w.CodeSecretID != before.CodeSecretID || (w.CodeURL != before.CodeURL && w.CodeSecretID != 0) {
			// A secret sent to another address is a secret disclosed to it.
			if err := s.checkSecretUse(ctx, p, w.CodeSecretID); err != nil {
				return nil, err
			}
		}
		if w.CodeURL != before.CodeURL || w.CodeSecretID != before.CodeSecretID || w.KnownHosts != before.KnownHosts ||
			w.InsecureSkipTLSVerify != before.InsecureSkipTLSVerify || w.InsecureIgnoreHostKey != before.InsecureIgnoreHostKey {
			if _, err := s.branchesOf(ctx, w); err != nil {
				return nil, err
			}
		}
	}
	if err := s.st.PipelineWorkspaces.Update(ctx, w); err != nil {
		return nil, err
	}
	return viewOf(w), nil
}

// Delete removes a workspace with its pipelines, their runs and logs, and its role bindings.
func (s *Service) Delete(ctx context.Context, id int64) (*View, error) {
	var w *store.PipelineWorkspace
	err := s.st.Tx.WithTx(ctx, func(ctx context.Context) error {
		var err error
		if w, err = s.st.PipelineWorkspaces.Get(ctx, id); err != nil {
			return err
		}
		all, err := s.st.Pipelines.All(ctx)
		if err != nil {
			return err
		}
		var mine []int64
		for _, pl := range all {
			if pl.WorkspaceID == id {
				mine = append(mine, pl.ID)
			}
		}
		users, err := s.dependents(ctx, id, mine...)
		if err != nil {
			return err
		}
		if users != "" {
			return errs.Conflictf("pipelines of workspace %q are sources or triggers of %s in other workspaces: change those first", w.Name, users).
				WithCode("pipeline_in_use")
		}
		for _, pid := range mine {
			if err := s.deletePipeline(ctx, pid); err != nil {
				return err
			}
		}
		if err := s.st.RoleBindings.DeleteByScope(ctx, store.ScopePipelineWorkspace, id); err != nil {
			return err
		}
		return s.st.PipelineWorkspaces.Delete(ctx, id)
	})
	if err != nil {
		return nil, err
	}
	// Bindings of users this replica does not know went away: every cache drops what it holds.
	s.notify.Changed(ctx, authchange.Everyone)
	return viewOf(w), nil
}

// Name implements access.ScopeKind.
func (s *Service) Name(ctx context.Context, id int64) (string, error) {
	w, err := s.st.PipelineWorkspaces.Get(ctx, id)
	if err != nil {
		return "", err
	}
	return w.Name, nil
}

// Parent implements access.ScopeKind: pipeline workspaces inherit only from the platform.
func (s *Service) Parent(context.Context, int64) (access.Scope, bool, error) {
	return access.Scope{}, false, nil
}

// WebhookSecret is a workspace's webhook secret, for its admins.
type WebhookSecret struct {
	Secret string `json:"secret"`
}

// WebhookSecret returns the secret that signs or accompanies push webhooks of a workspace (one
// is made for a workspace stored without: it never reads as empty).
func (s *Service) WebhookSecret(ctx context.Context, id int64) (*WebhookSecret, error) {
	w, err := s.st.PipelineWorkspaces.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if len(w.WebhookSecretSealed) == 0 {
		return s.RotateWebhookSecret(ctx, id)
	}
	plain, err := s.box.Open(w.WebhookSecretSealed, adWebhookSecret)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "the webhook secret of pipeline workspace %d cannot be opened", id)
	}
	return &WebhookSecret{Secret: string(plain)}, nil
}

// PushSecret is the secret push deliveries to a code workspace are verified with. A missing
// workspace, a custom one (no repository, so no pushes) and one without a secret are all
// errs.NotFound, so a delivery to any of them verifies against nothing.
func (s *Service) PushSecret(ctx context.Context, id int64) ([]byte, error) {
	w, err := s.st.PipelineWorkspaces.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if w.Type != store.WorkspaceCode || len(w.WebhookSecretSealed) == 0 {
		return nil, errs.NotFoundf("pipeline workspace %d takes no push webhooks", id)
	}
	plain, err := s.box.Open(w.WebhookSecretSealed, adWebhookSecret)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "the webhook secret of pipeline workspace %d cannot be opened", id)
	}
	return plain, nil
}

// RotateWebhookSecret replaces a workspace's webhook secret; deliveries signed with the old one
// are refused from now on.
func (s *Service) RotateWebhookSecret(ctx context.Context, id int64) (*WebhookSecret, error) {
	w, err := s.st.PipelineWorkspaces.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	secret, err := newWebhookSecret()
	if err != nil {
		return nil, err
	}
	w.WebhookSecretSealed = s.box.Seal([]byte(secret), adWebhookSecret)
	if err := s.st.PipelineWorkspaces.Update(ctx, w); err != nil {
		return nil, err
	}
	return &WebhookSecret{Secret: secret}, nil
}

func newWebhookSecret() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	return hex.EncodeToString(b), nil
}
