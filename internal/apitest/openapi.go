package apitest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// validator checks real responses against the server's own OpenAPI document.
type validator struct {
	router routers.Router
}

// registerDecoders teaches the validator the text media types the API streams (event streams);
// their bodies are strings, checked by the handlers' own tests.
var registerDecoders sync.Once

func newValidator(t testing.TB, s *Server) *validator {
	t.Helper()
	registerDecoders.Do(func() {
		openapi3filter.RegisterBodyDecoder("text/event-stream", openapi3filter.FileBodyDecoder)
	})
	doc, err := s.App.API.BuildOpenAPI()
	if err != nil {
		t.Fatalf("build openapi: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi document is invalid: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: s.URL + "/api/v1"}}
	r, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatalf("openapi router: %v", err)
	}
	return &validator{router: r}
}

// check validates one exchange; paths outside the API (health, console) are not in the document.
func (v *validator) check(t testing.TB, method, rawURL string, status int, header http.Header, body []byte) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil || !strings.HasPrefix(u.Path, "/api/v1/") {
		return
	}
	// The proxy's {path} spans many segments; OpenAPI templates match one, so fold the rest.
	if i := strings.Index(u.Path, "/proxy/"); i >= 0 {
		u.Path = u.Path[:i+len("/proxy/")] + url.PathEscape(strings.TrimPrefix(u.Path[i+len("/proxy/"):], "/"))
		u.RawPath = ""
		rawURL = u.String()
	}
	req, _ := http.NewRequest(method, rawURL, nil)
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
			return // an unknown path is answered with the generic error body
		}
		t.Errorf("%s %s answered %d but is not in the OpenAPI document: %v", method, u.Path, status, err)
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header,
		Body: io.NopCloser(bytes.NewReader(body)), Options: in.Options}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("%s %s response %d does not match the OpenAPI document: %v\nbody: %.500s", method, u.Path, status, err, body)
	}
}
