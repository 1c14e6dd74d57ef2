package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/kubespace/kubespace/pkg/access"
	"github.com/kubespace/kubespace/pkg/errs"
)

// NoContent is returned by handlers whose success response has no body (204).
type NoContent struct{}

// NoInput is the input of handlers that read nothing but path parameters.
type NoInput struct{}

// List is the list response wrapper of the API contract.
type List[T any] struct {
	Items    []T    `json:"items"`
	Total    int64  `json:"total"`
	Continue string `json:"continue,omitempty"`
}

// Call is one request as a handler sees it: its context, caller and path parameters. It never
// leaves the handler (services get Ctx, never the gin context).
type Call struct {
	Ctx       context.Context
	Principal *access.Principal
	// token is the credential the caller authenticated with (open streams check it again).
	token    string
	gin      *gin.Context
	route    *Route
	id       int64
	scope    access.Scope
	hasScope bool
	// Audit annotations set by the handler.
	resourceID, resourceName string
	actorName                string
	actorID                  int64
	body                     []byte
	// Raw handlers choose what the audit log says.
	record               bool
	action, resourceType string
}

// Record asks for a raw call to be audited with the given action and resource type.
func (c *Call) Record(action, resourceType string) {
	c.record, c.action, c.resourceType = true, action, resourceType
}

// SetAuditBody gives the audit log the request body a raw handler read (it is redacted).
func (c *Call) SetAuditBody(b []byte) { c.body = b }

// Param returns a raw path parameter.
func (c *Call) Param(name string) string { return c.gin.Param(name) }

// Scope is the scope the guard resolved.
func (c *Call) Scope() access.Scope { return c.scope }

// PathID is the route's ":id" path parameter, parsed before the guard runs (routes without one
// get 0).
func (c *Call) PathID() int64 { return c.id }

// ID parses an integer path parameter.
func (c *Call) ID(name string) (int64, error) {
	v := c.gin.Param(name)
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, errs.Invalidf("path parameter %s must be a positive integer, got %q", name, v)
	}
	return id, nil
}

// Audit names the resource the call acted on, for the audit log.
func (c *Call) Audit(id any, name string) {
	c.resourceID = fmt.Sprint(id)
	c.resourceName = name
}

// Actor records who acted when the caller was not authenticated beforehand (login).
func (c *Call) Actor(id int64, name string) { c.actorID, c.actorName = id, name }

// ClientIP is the caller's address (X-Forwarded-For honoured only from trusted proxies).
func (c *Call) ClientIP() string { return c.gin.ClientIP() }

// UserAgent is the caller's User-Agent header.
func (c *Call) UserAgent() string { return c.gin.Request.UserAgent() }

// Writer exposes the response writer for handlers that set headers (cookies).
func (c *Call) Writer() http.ResponseWriter { return c.gin.Writer }

// Request exposes the request for handlers that need headers.
func (c *Call) Request() *http.Request { return c.gin.Request }

// Handler is a typed endpoint implementation.
type Handler interface {
	// types returns the input and output types (for decoding and the OpenAPI document).
	types() (in, out reflect.Type)
	// call decodes the input, runs the endpoint and returns its output.
	call(c *Call) (any, error)
}

type typed[In, Out any] struct {
	fn func(c *Call, in *In) (Out, error)
}

func (t typed[In, Out]) types() (reflect.Type, reflect.Type) {
	return reflect.TypeFor[In](), reflect.TypeFor[Out]()
}

func (t typed[In, Out]) call(c *Call) (any, error) {
	in := new(In)
	if _, none := any(in).(*NoInput); !none {
		var err error
		if hasBody(c.route.Method) {
			err = decodeJSON(c.body, in)
		} else {
			err = decodeQuery(c.gin.Request.URL.Query(), in)
		}
		if err != nil {
			return nil, err
		}
	}
	return t.fn(c, in)
}

// Do adapts a typed function into a Handler. The input is decoded strictly from the JSON body
// for POST/PUT/PATCH and from the query string otherwise.
func Do[In, Out any](fn func(c *Call, in *In) (Out, error)) Handler {
	return typed[In, Out]{fn: fn}
}

func hasBody(method string) bool {
	return method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch
}

// RawOutput marks handlers that write their own response.
type RawOutput struct{}

type rawHandler struct {
	fn func(c *Call) error
}

func (rawHandler) types() (reflect.Type, reflect.Type) {
	return reflect.TypeFor[NoInput](), reflect.TypeFor[RawOutput]()
}

func (h rawHandler) call(c *Call) (any, error) { return nil, h.fn(c) }

// Raw adapts a handler that writes its own response (streams, proxies). It still runs after
// authentication and its route's guard; an error returned before anything is written becomes
// the standard error response.
func Raw(fn func(c *Call) error) Handler { return rawHandler{fn: fn} }
