package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"
)

// A store call that failed because the caller hung up is not a server fault: no 500, no ERROR
// log line. The same error while the caller is still there stays a 500.
func TestPrepareErrorClientGone(t *testing.T) {
	gin.SetMode(gin.TestMode)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	storeErr := fmt.Errorf("get spacelet credential: %w", context.Canceled)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest(http.MethodGet, "/api/v1/spacelet/jobs/1/cancelled", nil).WithContext(ctx)
	status, b := prepareError(c, log, storeErr)
	require.Equal(t, statusClientClosed, status)
	require.Equal(t, "client_closed_request", b.Code)
	require.Empty(t, logs.String(), "a caller that left is not logged as a failure")

	c, _ = gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest(http.MethodGet, "/api/v1/spacelet/jobs/1/cancelled", nil)
	status, _ = prepareError(c, log, storeErr)
	require.Equal(t, http.StatusInternalServerError, status, "cancelled by something else while the caller waits: a real failure")
	require.Contains(t, logs.String(), "request failed")
}
