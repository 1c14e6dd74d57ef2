package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/logstore"
	"github.com/kubespace/kubespace/pkg/pipeline/dispatch"
	"github.com/kubespace/kubespace/pkg/plugin/builtin"
	"github.com/kubespace/kubespace/pkg/spacelet/protocol"
	"github.com/kubespace/kubespace/pkg/store"
)

// SpaceletServices are the pipeline worker services: the protocol and administration of
// spacelets, job logs and the plugin registry.
type SpaceletServices struct {
	Dispatch *dispatch.Service
	Logs     *logstore.Store
	Plugins  *builtin.Registry
}

// scopeSpacelet is the scope kind a spacelet's protocol calls act in (its id).
const scopeSpacelet = "spacelet"

// maxLogChunk bounds one log append (the spacelet sends at most 256 KiB).
const maxLogChunk = 1 << 20

type spaceletKey struct{}

// spaceletGuard admits the worker protocol: the version header must match, and (unless the
// route is registration, which carries its token or credential in the body) the bearer token
// must be a spacelet's credential. Users' credentials are no use here. It declares the route
// public to user authentication, with scope "spacelet".
type spaceletGuard struct {
	svc      *dispatch.Service
	register bool
}

func (g spaceletGuard) Requirement() Requirement {
	return Requirement{Public: true, ScopeFrom: scopeSpacelet}
}

func (g spaceletGuard) Authorize(c *Call) (access.Scope, error) {
	if v := c.Request().Header.Get(protocol.VersionHeader); v != protocol.Version {
		return access.Scope{}, errs.Invalidf("this server speaks spacelet protocol %q (header %s), the request %q: upgrade the spacelet or the server",
			protocol.Version, protocol.VersionHeader, v).WithCode(protocol.CodeVersion)
	}
	if g.register {
		return access.Scope{Kind: scopeSpacelet}, nil
	}
	scheme, cred, _ := strings.Cut(c.Request().Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || cred == "" {
		return access.Scope{}, errs.Unauthenticatedf("send the spacelet's credential as \"Authorization: Bearer <credential>\"").WithCode("spacelet_unauthenticated")
	}
	sp, err := g.svc.Authenticate(c.Ctx, strings.TrimSpace(cred))
	if err != nil {
		return access.Scope{}, err
	}
	c.Ctx = context.WithValue(c.Ctx, spaceletKey{}, sp)
	return access.Scope{Kind: scopeSpacelet, ID: sp.ID}, nil
}

func callSpacelet(c *Call) *store.Spacelet { return c.Ctx.Value(spaceletKey{}).(*store.Spacelet) }

// readBody reads a raw route's request body under its size limit.
func readBody(c *Call) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(c.Writer(), c.Request().Body, c.route.MaxBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, errs.New(errs.TooLarge, "request body exceeds %d bytes", mbe.Limit)
	}
	if err != nil {
		return nil, errs.Invalidf("reading request body: %v", err)
	}
	return b, nil
}

func writeJSON(c *Call, status int, v any) error {
	c.Writer().Header().Set("Content-Type", "application/json; charset=utf-8")
	c.Writer().WriteHeader(status)
	return json.NewEncoder(c.Writer()).Encode(v)
}

// jobParam parses the :job path parameter.
func jobParam(c *Call) (int64, error) { return c.ID("job") }

// registerSpaceletProtocol mounts the worker protocol (package protocol's HTTP binding). Its
// calls are not audited one by one (a spacelet polls all day); registrations are.
func (a *API) registerSpaceletProtocol() {
	svc := a.deps.Spacelets.Dispatch
	if svc == nil {
		return
	}
	worker := spaceletGuard{svc: svc}
	route := func(method, path, summary string, request, response any, h func(c *Call) error) {
		a.register(&Route{Method: method, Path: path, Tag: "spacelet-protocol", Summary: summary, Guard: worker,
			Example: request, Response: response, Handler: Raw(h)})
	}
	a.register(&Route{Method: http.MethodPost, Path: protocol.PathRegister, Tag: "spacelet-protocol",
		Summary: "Register a spacelet: a registration token buys a credential, or a credential updates a known spacelet",
		Guard:   spaceletGuard{svc: svc, register: true}, Response: protocol.RegisterResponse{},
		Example: protocol.RegisterRequest{Token: protocol.RegistrationPrefix + "...", Name: "builder-1", Hostname: "builder-1",
			Labels: map[string]string{"os": "linux"}, Capacity: 2, Version: "1.0.0", OS: "linux", Arch: "amd64"},
		Handler: Raw(func(c *Call) error {
			b, err := readBody(c)
			if err != nil {
				return err
			}
			c.SetAuditBody(b)
			var in protocol.RegisterRequest
			if err := decodeJSON(b, &in); err != nil {
				return err
			}
			c.Record("register", "spacelet")
			resp, err := svc.Register(c.Ctx, in)
			if err != nil {
				return err
			}
			c.Audit(resp.ID, resp.Name)
			return writeJSON(c, http.StatusOK, resp)
		})})
	route(http.MethodPost, protocol.PathHeartbeat, "Report a spacelet's liveness and load", protocol.Heartbeat{Running: 1, Capacity: 2}, protocol.HeartbeatResponse{}, func(c *Call) error {
		b, err := readBody(c)
		if err != nil {
			return err
		}
		var in protocol.Heartbeat
		if err := decodeJSON(b, &in); err != nil {
			return err
		}
		r, err := svc.Heartbeat(c.Ctx, callSpacelet(c), in)
		if err != nil {
			return err
		}
		return writeJSON(c, http.StatusOK, r)
	})
	route(http.MethodPost, protocol.PathNext, "Wait for a job assigned to this spacelet (long poll; job is null when none came)",
		nil, protocol.NextAnswer{}, func(c *Call) error {
			j, err := svc.Next(c.Ctx, callSpacelet(c))
			if c.Ctx.Err() != nil {
				return nil // the spacelet hung up (it is stopping); nobody reads an answer
			}
			if err != nil {
				return err
			}
			return writeJSON(c, http.StatusOK, protocol.NextAnswer{Job: j})
		})
	jobPath := func(p string) string { return strings.Replace(p, "%d", ":job", 1) }
	route(http.MethodPost, jobPath(protocol.PathExtend), "Extend the lease of a running job; says whether it was cancelled",
		nil, protocol.ExtendResponse{}, func(c *Call) error {
			id, err := jobParam(c)
			if err != nil {
				return err
			}
			r, err := svc.Extend(c.Ctx, callSpacelet(c), id)
			if err != nil {
				return err
			}
			return writeJSON(c, http.StatusOK, r)
		})
	a.register(&Route{Method: http.MethodPost, Path: jobPath(protocol.PathLog), Tag: "spacelet-protocol",
		Summary: "Append a chunk (the raw body) to a running job's log at ?offset=; a resend is harmless", Guard: worker,
		MaxBody: maxLogChunk, Response: protocol.LogAnswer{},
		Handler: Raw(func(c *Call) error {
			id, err := jobParam(c)
			if err != nil {
				return err
			}
			var q LogChunkQuery
			if err := decodeQuery(c.Request().URL.Query(), &q); err != nil {
				return err
			}
			if !c.Request().URL.Query().Has("offset") {
				return errs.Field("offset", "is required")
			}
			b, err := readBody(c)
			if err != nil {
				return err
			}
			size, err := svc.Log(c.Ctx, callSpacelet(c), id, q.Offset, b)
			if err != nil {
				return err
			}
			return writeJSON(c, http.StatusOK, protocol.LogAnswer{Size: size})
		})})
	route(http.MethodPost, jobPath(protocol.PathDone), "Report how a job ended, with its output variables; a repeat is harmless",
		protocol.Result{Status: protocol.ResultOK, Message: "succeeded", Outputs: map[string]string{"IMAGE": "app:7"}}, DoneAnswer{}, func(c *Call) error {
			id, err := jobParam(c)
			if err != nil {
				return err
			}
			b, err := readBody(c)
			if err != nil {
				return err
			}
			var in protocol.Result
			if err := decodeJSON(b, &in); err != nil {
				return err
			}
			if err := svc.Done(c.Ctx, callSpacelet(c), id, in); err != nil {
				return err
			}
			return writeJSON(c, http.StatusOK, DoneAnswer{})
		})
	route(http.MethodGet, jobPath(protocol.PathCancelled), "Wait until a running job is cancelled (long poll)", nil, protocol.CancelledAnswer{}, func(c *Call) error {
		id, err := jobParam(c)
		if err != nil {
			return err
		}
		yes, err := svc.Cancelled(c.Ctx, callSpacelet(c), id)
		if c.Ctx.Err() != nil {
			return nil // the spacelet hung up (the job ended)
		}
		if err != nil {
			return err
		}
		return writeJSON(c, http.StatusOK, protocol.CancelledAnswer{Cancelled: yes})
	})
}

// DoneAnswer acknowledges a job's result.
type DoneAnswer struct{}

// LogChunkQuery places a log chunk.
type LogChunkQuery struct {
	Offset int64 `query:"offset" json:"offset"`
}

// jobLogScope resolves a job's pipeline workspace.
func (a *API) jobLogScope(c *Call) (access.Scope, error) {
	ws, err := a.deps.Spacelets.Logs.Workspace(c.Ctx, c.PathID())
	if err != nil {
		return access.Scope{}, err
	}
	return access.Scope{Kind: store.ScopePipelineWorkspace, ID: ws}, nil
}

// JobLogQuery selects what of a job's log to stream.
type JobLogQuery struct {
	// Follow keeps the response open, streaming the log as it grows, until the job ends.
	Follow bool `query:"follow" json:"follow,omitempty"`
	// Offset is the byte to start at (a reconnecting client sends what it already has).
	Offset int64 `query:"offset" json:"offset,omitempty"`
}

func (a *API) serveJobLog(c *Call) error {
	var q JobLogQuery
	if err := decodeQuery(c.Request().URL.Query(), &q); err != nil {
		return err
	}
	if q.Offset < 0 {
		return errs.Field("offset", "must not be negative")
	}
	req, w, release := c.Request(), c.Writer(), func() {}
	if q.Follow {
		req, w, release = a.trackStream(c, access.Viewer)
	}
	defer release()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.Header().Set("X-Log-Offset", strconv.FormatInt(q.Offset, 10))
	w.WriteHeader(http.StatusOK)
	flush := func() {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	flush()
	_, err := a.deps.Spacelets.Logs.Stream(req.Context(), c.PathID(), q.Offset, q.Follow, w, flush)
	return err
}
