package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3gen"
)

// OpenAPIDocument is the served document (a JSON object).
type OpenAPIDocument = json.RawMessage

var pathParam = regexp.MustCompile(`[:*]([a-zA-Z_]+)`)

// OpenAPI returns the document built from the route declarations. It is built once per process:
// the routes never change after start.
func (a *API) OpenAPI() (OpenAPIDocument, error) {
	a.doc.once.Do(func() {
		var doc *openapi3.T
		if doc, a.doc.err = a.BuildOpenAPI(); a.doc.err == nil {
			a.doc.json, a.doc.err = json.Marshal(doc)
		}
	})
	return a.doc.json, a.doc.err
}

// BuildOpenAPI builds the OpenAPI 3 document: every route with its parameters, request body,
// success response, error responses and the permission it needs.
func (a *API) BuildOpenAPI() (*openapi3.T, error) {
	doc := &openapi3.T{
		OpenAPI: "3.0.3",
		Info:    &openapi3.Info{Title: "KubeSpace API", Version: a.deps.Version.Version, Description: "Kubernetes multi-cluster management and DevOps platform."},
		Servers: openapi3.Servers{{URL: Prefix}},
		Paths:   openapi3.NewPaths(),
		Components: &openapi3.Components{
			Schemas: openapi3.Schemas{},
			SecuritySchemes: openapi3.SecuritySchemes{
				"bearer": &openapi3.SecuritySchemeRef{Value: openapi3.NewJWTSecurityScheme().WithBearerFormat("opaque")},
				"cookie": &openapi3.SecuritySchemeRef{Value: openapi3.NewSecurityScheme().WithType("apiKey").WithIn("cookie").WithName(SessionCookie)},
			},
		},
	}
	gen := openapi3gen.NewGenerator(openapi3gen.SchemaCustomizer(customize))
	schemaFor := func(t reflect.Type) (*openapi3.SchemaRef, error) {
		s, err := gen.NewSchemaRefForValue(reflect.New(t).Interface(), doc.Components.Schemas)
		if err != nil {
			return nil, fmt.Errorf("schema for %s: %w", t, err)
		}
		return s, nil
	}
	errSchema, err := schemaFor(reflect.TypeFor[ErrorBody]())
	if err != nil {
		return nil, err
	}
	doc.Components.Schemas["Error"] = errSchema
	errRef := &openapi3.SchemaRef{Ref: "#/components/schemas/Error", Value: errSchema.Value}
	for _, r := range a.routes {
		methods := []string{r.Method}
		if r.Method == MethodAny {
			methods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
		}
		for _, m := range methods {
			op, err := a.operation(r, m, doc, schemaFor, errRef)
			if err != nil {
				return nil, err
			}
			doc.AddOperation(OpenAPIPath(r.Path), m, op)
		}
	}
	return doc, nil
}

// operation documents one method of a route.
func (a *API) operation(r *Route, method string, doc *openapi3.T, schemaFor func(reflect.Type) (*openapi3.SchemaRef, error), errRef *openapi3.SchemaRef) (*openapi3.Operation, error) {
	{
		in, out := r.Handler.types()
		op := openapi3.NewOperation()
		op.Summary, op.Tags = r.Summary, []string{r.Tag}
		op.OperationID = operationID(r, method)
		req := r.Guard.Requirement()
		op.Extensions = map[string]any{"x-kubespace-permission": map[string]any{
			"public": req.Public, "role": roleName(req), "scope_from": req.ScopeFrom}}
		if !req.Public {
			op.Security = &openapi3.SecurityRequirements{{"bearer": {}}, {"cookie": {}}}
		}
		for _, m := range pathParam.FindAllStringSubmatch(r.Path, -1) {
			schema := openapi3.NewInt64Schema().WithMin(1)
			if m[0][0] == '*' {
				schema = openapi3.NewStringSchema() // the rest of the path, slashes included
			} else if m[1] != "id" && !strings.HasSuffix(m[1], "_id") {
				schema = openapi3.NewStringSchema() // a name: a resource, a provider, an action
			}
			op.AddParameter(openapi3.NewPathParameter(m[1]).WithSchema(schema))
		}
		if in != reflect.TypeFor[NoInput]() {
			if hasBody(method) {
				s, err := schemaFor(in)
				if err != nil {
					return nil, err
				}
				body := openapi3.NewRequestBody().WithRequired(true).WithJSONSchemaRef(s)
				if r.Example != nil {
					body.Content["application/json"].Example = asJSONValue(r.Example)
				}
				op.RequestBody = &openapi3.RequestBodyRef{Value: body}
			} else {
				addQueryParams(op, in)
			}
		}
		if _, raw := r.Handler.(rawHandler); raw && r.Example != nil && !hasBody(method) {
			addQueryParams(op, reflect.TypeOf(r.Example))
		} else if raw && r.Example != nil {
			// A raw handler that decodes a JSON body documents it by its example's type.
			s, err := schemaFor(reflect.TypeOf(r.Example))
			if err != nil {
				return nil, err
			}
			body := openapi3.NewRequestBody().WithRequired(true).WithJSONSchemaRef(s)
			body.Content["application/json"].Example = asJSONValue(r.Example)
			op.RequestBody = &openapi3.RequestBodyRef{Value: body}
		}
		resp := openapi3.NewResponse().WithDescription(http.StatusText(r.Status))
		switch {
		case out == reflect.TypeFor[OpenAPIDocument]():
			resp.WithJSONSchema(openapi3.NewObjectSchema())
		case out == reflect.TypeFor[RawOutput]() && r.ContentType != "" && r.Response != nil:
			// A structured document in another media type (an exported YAML definition).
			s, err := schemaFor(reflect.TypeOf(r.Response))
			if err != nil {
				return nil, err
			}
			resp.Content = openapi3.NewContentWithSchemaRef(s, []string{r.ContentType})
		case out == reflect.TypeFor[RawOutput]() && r.ContentType != "":
			resp.Content = openapi3.NewContentWithSchema(openapi3.NewStringSchema(), []string{r.ContentType})
		case out == reflect.TypeFor[RawOutput]() && r.Response != nil:
			s, err := schemaFor(reflect.TypeOf(r.Response))
			if err != nil {
				return nil, err
			}
			resp.WithJSONSchemaRef(s)
		case out == reflect.TypeFor[RawOutput]():
			resp.WithDescription("The Kubernetes API's own response (any status and content type)")
			resp.Content = openapi3.NewContentWithSchema(openapi3.NewSchema(), []string{"*/*"})
		case r.Status != http.StatusNoContent:
			s, err := schemaFor(out)
			if err != nil {
				return nil, err
			}
			resp.WithJSONSchemaRef(s)
		}
		op.AddResponse(r.Status, resp)
		for _, st := range errorStatuses(r, method, req) {
			resp := openapi3.NewResponse().WithDescription(http.StatusText(st))
			if r.KubernetesErrors {
				resp.WithDescription(http.StatusText(st) + " (a Kubernetes Status object)")
				resp.Content = openapi3.NewContentWithJSONSchema(openapi3.NewObjectSchema())
			} else {
				resp.WithJSONSchemaRef(errRef)
			}
			op.AddResponse(st, resp)
		}
		if out == reflect.TypeFor[RawOutput]() && r.Response == nil && r.ContentType == "" {
			// Errors past KubeSpace's own checks come from Kubernetes in its Status format.
			op.Responses.Set("default", &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription("A Kubernetes response").
				WithContent(openapi3.NewContentWithSchema(openapi3.NewSchema(), []string{"*/*"}))})
		} else {
			op.Responses.Set("default", &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription("Error").WithJSONSchemaRef(errRef)})
		}
		return op, nil
	}
}

// OpenAPIPath converts a gin path below Prefix into an OpenAPI path template.
func OpenAPIPath(p string) string { return pathParam.ReplaceAllString(p, "{$1}") }

func operationID(r *Route, method string) string {
	parts := []string{strings.ToLower(method)}
	for _, seg := range strings.Split(strings.Trim(r.Path, "/"), "/") {
		seg = strings.TrimPrefix(seg, ":")
		parts = append(parts, strings.NewReplacer("-", "_", ".", "_").Replace(seg))
	}
	return strings.Join(parts, "_")
}

func roleName(r Requirement) string {
	if r.Public || r.Role == 0 {
		return ""
	}
	return r.Role.String()
}

func errorStatuses(r *Route, method string, req Requirement) []int {
	st := []int{http.StatusBadRequest, http.StatusInternalServerError}
	if !req.Public {
		st = append(st, http.StatusUnauthorized, http.StatusForbidden)
	} else if r.SelfAuthenticated {
		st = append(st, http.StatusUnauthorized)
	}
	if strings.Contains(r.Path, ":") || req.ScopeFrom == "request" {
		st = append(st, http.StatusNotFound)
	}
	if hasBody(method) {
		st = append(st, http.StatusRequestEntityTooLarge, http.StatusConflict, http.StatusUnprocessableEntity)
	}
	if _, raw := r.Handler.(rawHandler); raw {
		st = append(st, http.StatusServiceUnavailable)
	}
	if r.Path == "/auth/login" || (r.Path == "/setup" && method == http.MethodPost) {
		st = append(st, http.StatusTooManyRequests)
	}
	return st
}

// addQueryParams documents the `query`-tagged fields of in as query parameters.
func addQueryParams(op *openapi3.Operation, in reflect.Type) {
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if f.Anonymous {
				walk(f.Type)
				continue
			}
			name := f.Tag.Get("query")
			if name == "" {
				continue
			}
			p := openapi3.NewQueryParameter(name)
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			switch {
			case ft.Kind() == reflect.Bool:
				p.Schema = openapi3.NewBoolSchema().NewRef()
			case ft.Kind() >= reflect.Int && ft.Kind() <= reflect.Int64:
				p.Schema = openapi3.NewInt64Schema().NewRef()
			case ft.String() == "time.Time":
				p.Schema = openapi3.NewDateTimeSchema().NewRef()
			default:
				str := openapi3.NewStringSchema()
				if enum := f.Tag.Get("enum"); enum != "" {
					for _, e := range strings.Split(enum, ",") {
						str.Enum = append(str.Enum, e)
					}
				}
				p.Schema = str.NewRef()
			}
			op.AddParameter(p)
		}
	}
	walk(in)
}

// customize applies our struct tags: `required:"true"` and `enum:"a,b"`.
func customize(name string, t reflect.Type, tag reflect.StructTag, schema *openapi3.Schema) error {
	if enum := tag.Get("enum"); enum != "" {
		for _, e := range strings.Split(enum, ",") {
			schema.Enum = append(schema.Enum, e)
		}
	}
	if t.Kind() == reflect.Struct {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if req, _ := strconv.ParseBool(f.Tag.Get("required")); req {
				if jn := strings.Split(f.Tag.Get("json"), ",")[0]; jn != "" && jn != "-" {
					schema.Required = append(schema.Required, jn)
				}
			}
		}
	}
	if t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8 {
		// Lists are always rendered as arrays, never null.
		schema.Nullable = false
	}
	return nil
}

// asJSONValue turns a Go value into its generic JSON form (what the document validator expects).
func asJSONValue(v any) any {
	data, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	_ = json.Unmarshal(data, &out)
	return out
}
