package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/kubespace/kubespace/pkg/errs"
)

// defaultRetryAfter is announced with every 503 that names no better time: dependencies (the
// database, the bus, a cluster) usually come back within seconds.
const defaultRetryAfter = 5 * time.Second

// statusClientClosed is what a request answers when its caller went away first (nginx's 499):
// nobody reads it, and it is neither a server fault nor a denial.
const statusClientClosed = 499

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

var statusOf = map[errs.Kind]int{
	errs.Internal:        http.StatusInternalServerError,
	errs.Invalid:         http.StatusBadRequest,
	errs.Unauthenticated: http.StatusUnauthorized,
	errs.Forbidden:       http.StatusForbidden,
	errs.NotFound:        http.StatusNotFound,
	errs.Conflict:        http.StatusConflict,
	errs.TooLarge:        http.StatusRequestEntityTooLarge,
	errs.Unprocessable:   http.StatusUnprocessableEntity,
	errs.RateLimited:     http.StatusTooManyRequests,
	errs.Unavailable:     http.StatusServiceUnavailable,
}

// HTTPStatus maps an error to its status: the one translation from error kinds to HTTP.
func HTTPStatus(err error) int {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge
	}
	return statusOf[errs.KindOf(err)]
}

// body renders an error for clients; internal errors never leak their cause.
func body(err error, requestID string) (int, ErrorBody) {
	status := HTTPStatus(err)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return status, ErrorBody{Code: "too_large", Message: "request body exceeds " + strconv.FormatInt(mbe.Limit, 10) + " bytes"}
	}
	e, ok := errs.As(err)
	if !ok || e.Kind == errs.Internal {
		return http.StatusInternalServerError, ErrorBody{Code: "internal", Message: "internal error; request id " + requestID}
	}
	b := ErrorBody{Code: e.StableCode(), Message: e.Message}
	if len(e.Fields) > 0 {
		fields := make(map[string]any, len(e.Fields))
		for k, v := range e.Fields {
			fields[k] = v
		}
		b.Details = map[string]any{"fields": fields}
	}
	if e.Message == "" {
		b.Message = e.Error()
	}
	return status, b
}

func writeError(c *gin.Context, log *slog.Logger, err error) {
	status, b := prepareError(c, log, err)
	c.AbortWithStatusJSON(status, b)
}

// prepareError renders err, logs it when it is the server's fault and sets Retry-After: the part
// every error response shares, whatever its body format.
func prepareError(c *gin.Context, log *slog.Logger, err error) (int, ErrorBody) {
	if errors.Is(err, context.Canceled) && c.Request.Context().Err() != nil {
		// A spacelet ending its long poll, a closed browser tab: the store call failed because
		// the caller left, which is no server fault to log as an error or count as a 5xx.
		log.DebugContext(c.Request.Context(), "request abandoned by its caller", "path", c.FullPath(), "request_id", requestID(c))
		return statusClientClosed, ErrorBody{Code: "client_closed_request", Message: "the client closed the request before it was answered"}
	}
	status, b := body(err, requestID(c))
	switch {
	case status == http.StatusInternalServerError:
		log.ErrorContext(c.Request.Context(), "request failed", "error", err, "path", c.FullPath(), "request_id", requestID(c))
	case status >= 500:
		// A dependency is down: the body says what to do, the log keeps the cause.
		log.WarnContext(c.Request.Context(), "request failed: dependency unavailable", "error", err, "path", c.FullPath(), "request_id", requestID(c))
	}
	retry := time.Duration(0)
	if e, ok := errs.As(err); ok {
		retry = e.RetryAfter
	}
	if retry == 0 && status == http.StatusServiceUnavailable {
		retry = defaultRetryAfter
	}
	if retry > 0 {
		c.Header("Retry-After", strconv.Itoa(int((retry+time.Second-1)/time.Second)))
	}
	return status, b
}

func methodNotAllowed(c *gin.Context) {
	c.AbortWithStatusJSON(http.StatusMethodNotAllowed, ErrorBody{Code: "method_not_allowed",
		Message: "method " + c.Request.Method + " is not allowed on " + c.Request.URL.Path})
}

// kubeReasons names statuses the way Kubernetes does, so kubectl prints "(Forbidden)" etc.
var kubeReasons = map[int]string{
	http.StatusBadRequest: "BadRequest", http.StatusUnauthorized: "Unauthorized", http.StatusForbidden: "Forbidden",
	http.StatusNotFound: "NotFound", http.StatusConflict: "Conflict", http.StatusRequestEntityTooLarge: "RequestEntityTooLarge",
	http.StatusUnprocessableEntity: "Invalid", http.StatusTooManyRequests: "TooManyRequests",
	http.StatusServiceUnavailable: "ServiceUnavailable", http.StatusInternalServerError: "InternalError",
}

// writeKubeStatus answers an error as a Kubernetes Status, keeping KubeSpace's stable code as the
// first cause, and returns the status code.
func writeKubeStatus(c *gin.Context, log *slog.Logger, err error) int {
	status, b := prepareError(c, log, err)
	c.AbortWithStatusJSON(status, gin.H{
		"kind": "Status", "apiVersion": "v1", "metadata": gin.H{}, "status": "Failure",
		"message": "KubeSpace: " + b.Message, "reason": kubeReasons[status], "code": status,
		"details": gin.H{"causes": []gin.H{{"reason": b.Code, "message": b.Message}}},
	})
	return status
}
