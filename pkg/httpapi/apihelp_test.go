package httpapi_test

// Helpers shared by the behaviour, bad-input and fuzz tests of the API: raw requests with
// cookies and headers (checked against the OpenAPI document like the harness's own clients),
// error-body assertions, engines, and raw access to the embedded database.

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	_ "github.com/glebarez/go-sqlite" // database/sql driver "sqlite", to read the raw database
	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/internal/apitest"
	"github.com/kubespace/kubespace/internal/testdeps"
)

// onEachEngine runs fn in parallel subtests against a server on the embedded SQLite database
// and on MySQL (skipped, or failed under KUBESPACE_REQUIRE_ALL=1, when MySQL is missing).
func onEachEngine(t *testing.T, env map[string]string, fn func(t *testing.T, s *apitest.Server)) {
	for _, engine := range []string{"sqlite", "mysql"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e := maps.Clone(env)
			if e == nil {
				e = map[string]string{}
			}
			if engine == "mysql" {
				maps.Copy(e, mysqlEnv(t))
			}
			fn(t, apitest.Start(t, e))
		})
	}
}

// mysqlEnv configures a server on a fresh MySQL database (skipping, or failing under
// KUBESPACE_REQUIRE_ALL=1, when MySQL is missing); servers started with it share the database.
func mysqlEnv(t testing.TB) map[string]string {
	db := testdeps.MySQLDatabase(t)
	host, port, _ := net.SplitHostPort(db.Addr)
	return map[string]string{"MYSQL_HOST": host, "MYSQL_PORT": port, "MYSQL_USER": db.User,
		"MYSQL_PASSWORD": db.Passwd, "MYSQL_DBNAME": db.DBName,
		"SECRET_KEY": base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))}
}

// reqOpt adjusts a raw request.
type reqOpt = apitest.RequestOption

func withBearer(token string) reqOpt {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

func withCookie(token string) reqOpt {
	return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "kubespace_session", Value: token}) }
}

func withHeader(k, v string) reqOpt { return func(r *http.Request) { r.Header.Set(k, v) } }

// send makes a request the harness client cannot (cookies, Origin, X-Forwarded-For); the harness
// checks the response against the OpenAPI document.
func send(t testing.TB, s *apitest.Server, method, path string, body any, opts ...reqOpt) *apitest.Response {
	t.Helper()
	return s.For(t).Anonymous().Do(method, path, body, opts...)
}

// apiError is the error body of the API contract.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details struct {
		Fields map[string]string `json:"fields"`
	} `json:"details"`
}

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// errorOf decodes an error response, checking the shape every error body must have. The
// Kubernetes proxy answers refusals as a Kubernetes Status whose first cause carries the code.
func errorOf(t testing.TB, r *apitest.Response) apiError {
	t.Helper()
	var e apiError
	var status struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
		Details struct {
			Causes []struct {
				Reason string `json:"reason"`
			} `json:"causes"`
		} `json:"details"`
	}
	if json.Unmarshal(r.Body, &status) == nil && status.Kind == "Status" && len(status.Details.Causes) > 0 {
		e.Code, e.Message = status.Details.Causes[0].Reason, status.Message
	} else {
		require.NoError(t, json.Unmarshal(r.Body, &e), "error body is not JSON: %s", r.Body)
	}
	require.Regexp(t, snakeCase, e.Code, "error code: %s", r.Body)
	require.NotEmpty(t, e.Message, "error message: %s", r.Body)
	return e
}

// requireError asserts the status and, when code is not empty, the stable code.
func requireError(t testing.TB, r *apitest.Response, status int, code string) apiError {
	t.Helper()
	require.Equal(t, status, r.Status, "%s", r.Body)
	e := errorOf(t, r)
	if code != "" {
		require.Equal(t, code, e.Code, "%s", r.Body)
	}
	return e
}

// requireField asserts a 400 whose details name field.
func requireField(t testing.TB, r *apitest.Response, field string) string {
	t.Helper()
	e := requireError(t, r, http.StatusBadRequest, "")
	msg, ok := e.Details.Fields[field]
	require.True(t, ok, "no details.fields.%s in %s", field, r.Body)
	require.NotEmpty(t, msg)
	return msg
}

// requireNames asserts a 400 that names param, in details.fields or in the message.
func requireNames(t testing.TB, r *apitest.Response, param string) {
	t.Helper()
	e := requireError(t, r, http.StatusBadRequest, "")
	if _, ok := e.Details.Fields[param]; !ok {
		require.Contains(t, e.Message, param, "the error names neither field nor parameter %q: %s", param, r.Body)
	}
}

// newUser creates a user with the test password (as admin) and returns its id.
func newUser(t testing.TB, admin *apitest.Client, username string, extra ...map[string]any) int64 {
	t.Helper()
	body := map[string]any{"username": username, "password": apitest.Password}
	for _, e := range extra {
		maps.Copy(body, e)
	}
	return admin.Expect(http.StatusCreated, http.MethodPost, "/api/v1/users", body).ID(t)
}

// grantPlatform gives a user a role at the platform.
func grantPlatform(t testing.TB, admin *apitest.Client, userID int64, role string) {
	t.Helper()
	admin.Expect(http.StatusCreated, http.MethodPost, "/api/v1/role-bindings",
		map[string]any{"user_id": userID, "scope": "platform", "scope_id": 0, "role": role})
}

// auditEvent is the part of an audit event the tests look at.
type auditEvent struct {
	ID           int64  `json:"id"`
	Username     string `json:"username"`
	IP           string `json:"ip"`
	Action       string `json:"action"`
	ResourceType string `json:"resource_type"`
	ResourceID   string `json:"resource_id"`
	ResourceName string `json:"resource_name"`
	Result       string `json:"result"`
	StatusCode   int    `json:"status_code"`
	Summary      string `json:"summary"`
	Path         string `json:"path"`
}

type auditPage struct {
	Items    []auditEvent `json:"items"`
	Total    int64        `json:"total"`
	Continue string       `json:"continue"`
}

// auditQuery lists audit events matching query (url.Values encoded) as c.
func auditQuery(t testing.TB, c *apitest.Client, query url.Values) auditPage {
	t.Helper()
	var p auditPage
	c.Expect(http.StatusOK, http.MethodGet, "/api/v1/audit-events?"+query.Encode(), nil).JSON(t, &p)
	return p
}

// rawDatabase opens the server's embedded SQLite file directly, past every service.
func rawDatabase(t testing.TB, s *apitest.Server) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", s.App.Config.SQLitePath()+"?_pragma=busy_timeout(10000)")
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// rawRows returns every column of every row of every table, rendered as bytes, by table.
func rawRows(t testing.TB, db *sql.DB) map[string][][]byte {
	t.Helper()
	ctx := context.Background()
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'`)
	require.NoError(t, err)
	var tables []string
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		tables = append(tables, name)
	}
	require.NoError(t, rows.Close())
	require.NotEmpty(t, tables)
	out := map[string][][]byte{}
	for _, table := range tables {
		r, err := db.QueryContext(ctx, `SELECT * FROM "`+table+`"`)
		require.NoError(t, err)
		cols, err := r.Columns()
		require.NoError(t, err)
		for r.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, r.Scan(ptrs...))
			for _, v := range vals {
				switch x := v.(type) {
				case []byte:
					out[table] = append(out[table], x)
				case string:
					out[table] = append(out[table], []byte(x))
				case nil:
				default:
					b, _ := json.Marshal(x)
					out[table] = append(out[table], b)
				}
			}
		}
		require.NoError(t, r.Err())
		require.NoError(t, r.Close())
	}
	return out
}

// encodings returns s as plain text and in the base64 forms a careless store might use.
func encodings(s string) []string {
	b := []byte(s)
	return []string{s, base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b)}
}
