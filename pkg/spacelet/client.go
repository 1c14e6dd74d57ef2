package spacelet

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/kubespace/kubespace/pkg/spacelet/protocol"
)

// apiPrefix is where the server's API lives below SERVER_URL.
const apiPrefix = "/api/v1"

// CredentialHolder is a Peer that sends the spacelet's credential with its calls; the Agent gives
// it the credential once registration returns one.
type CredentialHolder interface {
	SetCredential(credential string)
}

// Client is the HTTP binding of protocol.Peer: JSON calls under SERVER_URL/api/v1, each with the
// protocol version header and (after registration) the spacelet's credential as a bearer token.
// It is safe for concurrent use; long polls are bounded by the server's PollTimeout and by ctx.
type Client struct {
	base string
	hc   *http.Client

	mu   sync.RWMutex
	cred string
}

var (
	_ protocol.Peer    = (*Client)(nil)
	_ CredentialHolder = (*Client)(nil)
)

// NewClient returns a client of the server at serverURL (scheme and host, optionally a path
// prefix). hc nil uses a client without an overall timeout: long polls last up to
// protocol.PollTimeout and every call is bounded by its ctx.
func NewClient(serverURL string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(serverURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("SERVER_URL %q must be an http or https URL", serverURL)
	}
	if hc == nil {
		var err error
		if hc, err = HTTPClient(nil); err != nil {
			return nil, err
		}
	}
	return &Client{base: u.String() + apiPrefix, hc: hc}, nil
}

// HTTPClient returns the client a spacelet talks to the server with. caPEM (may be nil) adds
// certificate authorities to the system's, for a server whose certificate a private CA issued
// (the server's generated one, in DATA_DIR/tls). There is no option to skip verification: the
// server sends repository credentials to spacelets.
func HTTPClient(caPEM []byte) (*http.Client, error) {
	// Each running job holds a cancel poll and sends its log while the agent polls for work:
	// keep those connections open rather than the default two per host.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	if len(caPEM) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, errors.New("CA_FILE holds no PEM certificate")
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr}, nil
}

// SetCredential implements CredentialHolder.
func (c *Client) SetCredential(cred string) {
	c.mu.Lock()
	c.cred = cred
	c.mu.Unlock()
}

// Error is an error answer of the server.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("server answered %d %s: %s", e.Status, e.Code, e.Message)
}

// call sends one request and decodes a JSON answer into out (nil: none expected). It maps 401 to
// protocol.ErrUnauthorized and a job-scoped 404 (code job_gone) to protocol.ErrGone.
func (c *Client) call(ctx context.Context, method, path, contentType string, body []byte, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set(protocol.VersionHeader, protocol.Version)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	c.mu.RLock()
	cred := c.cred
	c.mu.RUnlock()
	if cred != "" {
		req.Header.Set("Authorization", "Bearer "+cred)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("read answer of %s: %w", path, err)
	}
	if resp.StatusCode >= 300 {
		e := &Error{Status: resp.StatusCode}
		var eb struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Details struct {
				Fields map[string]string `json:"fields"`
			} `json:"details"`
		}
		if json.Unmarshal(data, &eb) == nil {
			e.Code, e.Message = eb.Code, eb.Message
			keys := make([]string, 0, len(eb.Details.Fields))
			for k := range eb.Details.Fields {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				e.Message += fmt.Sprintf("; %s %s", k, eb.Details.Fields[k])
			}
		} else {
			e.Message = strings.TrimSpace(string(data))
		}
		switch {
		case resp.StatusCode == http.StatusUnauthorized:
			return resp.StatusCode, fmt.Errorf("%w: %s", protocol.ErrUnauthorized, e.Message)
		case resp.StatusCode == http.StatusNotFound && e.Code == protocol.CodeJobGone:
			return resp.StatusCode, fmt.Errorf("%w: %s", protocol.ErrGone, e.Message)
		}
		return resp.StatusCode, e
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decode answer of %s: %w", path, err)
		}
	}
	return resp.StatusCode, nil
}

func (c *Client) postJSON(ctx context.Context, path string, in, out any) (int, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return 0, err
	}
	return c.call(ctx, http.MethodPost, path, "application/json", b, out)
}

// Register implements protocol.Peer.
func (c *Client) Register(ctx context.Context, r protocol.RegisterRequest) (*protocol.RegisterResponse, error) {
	var out protocol.RegisterResponse
	if _, err := c.postJSON(ctx, protocol.PathRegister, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Heartbeat implements protocol.Peer.
func (c *Client) Heartbeat(ctx context.Context, h protocol.Heartbeat) (*protocol.HeartbeatResponse, error) {
	var out protocol.HeartbeatResponse
	if _, err := c.postJSON(ctx, protocol.PathHeartbeat, h, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Next implements protocol.Peer.
func (c *Client) Next(ctx context.Context) (*protocol.Job, error) {
	var out protocol.NextAnswer
	if _, err := c.call(ctx, http.MethodPost, protocol.PathNext, "", nil, &out); err != nil {
		return nil, err
	}
	return out.Job, nil
}

// Extend implements protocol.Peer.
func (c *Client) Extend(ctx context.Context, jobID int64) (*protocol.ExtendResponse, error) {
	var out protocol.ExtendResponse
	if _, err := c.call(ctx, http.MethodPost, fmt.Sprintf(protocol.PathExtend, jobID), "", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Log implements protocol.Peer: the chunk travels as the raw body, its offset in the query.
func (c *Client) Log(ctx context.Context, jobID, offset int64, data []byte) (int64, error) {
	var out protocol.LogAnswer
	path := fmt.Sprintf(protocol.PathLog, jobID) + "?offset=" + strconv.FormatInt(offset, 10)
	if data == nil {
		data = []byte{}
	}
	if _, err := c.call(ctx, http.MethodPost, path, "application/octet-stream", data, &out); err != nil {
		return 0, err
	}
	return out.Size, nil
}

// Done implements protocol.Peer.
func (c *Client) Done(ctx context.Context, jobID int64, r protocol.Result) error {
	_, err := c.postJSON(ctx, fmt.Sprintf(protocol.PathDone, jobID), r, nil)
	return err
}

// Cancelled implements protocol.Peer.
func (c *Client) Cancelled(ctx context.Context, jobID int64) (bool, error) {
	var out protocol.CancelledAnswer
	if _, err := c.call(ctx, http.MethodGet, fmt.Sprintf(protocol.PathCancelled, jobID), "", nil, &out); err != nil {
		return false, err
	}
	return out.Cancelled, nil
}

// IsLogGap reports whether err is the server refusing a chunk past the end of its log.
func IsLogGap(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == protocol.CodeLogGap
}
