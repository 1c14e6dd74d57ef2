package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubespace/kubespace/pkg/errs"
)

// KubeError translates an error from a cluster's API server into KubeSpace's vocabulary, once,
// keeping Kubernetes' own message (which names the object and the reason). A 422 stays a 422
// (errs.Unprocessable, code kubernetes_invalid) with the API server's field causes as Fields.
// What a server that is not a Kubernetes API server answered is never repeated (see failureText).
func KubeError(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var st apierrors.APIStatus
	if !errors.As(err, &st) {
		// The transport's own words stay in the log (the cause is wrapped); the answer says what
		// to do about it.
		return errs.Wrap(errs.Unavailable, err, "the cluster's API server did not answer; check the cluster's status in KubeSpace, "+
			"or ask an administrator to look at the server log").WithCode("cluster_unavailable")
	}
	status := st.Status()
	msg := statusText(status)
	switch {
	case apierrors.IsNotFound(err):
		return errs.Wrap(errs.NotFound, err, "%s", msg)
	case apierrors.IsAlreadyExists(err), apierrors.IsConflict(err):
		return errs.Wrap(errs.Conflict, err, "%s", msg)
	case apierrors.IsInvalid(err):
		e := errs.Wrap(errs.Unprocessable, err, "%s", msg).WithCode("kubernetes_invalid")
		e.Fields = causeFields(status)
		return e
	case apierrors.IsBadRequest(err):
		return errs.Wrap(errs.Invalid, err, "%s", msg).WithCode("kubernetes_invalid")
	case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err):
		// The cluster refused KubeSpace's own credentials: the user cannot fix that, an admin can.
		return errs.Wrap(errs.Forbidden, err, "the cluster refused KubeSpace's credentials: %s", msg).WithCode("cluster_forbidden")
	case apierrors.IsMethodNotSupported(err):
		return errs.Wrap(errs.Unprocessable, err, "%s", msg)
	case apierrors.IsTooManyRequests(err):
		return errs.Wrap(errs.RateLimited, err, "%s", msg)
	default:
		return errs.Wrap(errs.Unavailable, err, "the cluster answered: %s", msg).WithCode("cluster_unavailable")
	}
}

// causeFields maps the field causes of an Invalid status to field → message (several causes
// on one field joined with "; ").
func causeFields(status metav1.Status) map[string]string {
	if status.Details == nil {
		return nil
	}
	fields := map[string]string{}
	for _, c := range status.Details.Causes {
		if c.Field == "" {
			continue
		}
		if prev, ok := fields[c.Field]; ok {
			fields[c.Field] = prev + "; " + c.Message
		} else {
			fields[c.Field] = c.Message
		}
	}
	if len(fields) == 0 {
		return nil
	}
	return fields
}

// statusText is a status's message, unless client-go made the status up from a response that
// was not a Kubernetes Status (an HTML page, a JSON document of another service): then only the
// HTTP status is told, because the message would quote that body, which may hold anything.
func statusText(status metav1.Status) string {
	if status.Details != nil {
		for _, c := range status.Details.Causes {
			if c.Type == metav1.CauseTypeUnexpectedServerResponse {
				return fmt.Sprintf("the server answered HTTP %d (%s) without a Kubernetes status", status.Code, http.StatusText(int(status.Code)))
			}
		}
	}
	return status.Message
}

// failureText describes why contacting a cluster failed without repeating what a server that is
// not a Kubernetes API server sent: a Kubernetes status keeps its message (statusText); a
// connection, DNS, TLS or timeout failure keeps Go's text, which names the address and the
// cause; anything else — a 2xx body that does not decode (client-go's decoding errors quote the
// body), a response that is not HTTP — is reported as such, without its content.
func failureText(err error) string {
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		return statusText(st.Status())
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if transportFailure(ue) {
			return ue.Error()
		}
		return fmt.Sprintf("%s %s: the server's answer is not a valid HTTP response", ue.Op, ue.URL)
	}
	return "the server's answer is not a Kubernetes API response"
}

// transportFailure reports whether a client error is about reaching the server (whose text
// holds nothing the server chose), not about what it sent.
func transportFailure(ue *url.Error) bool {
	var (
		op        *net.OpError
		dns       *net.DNSError
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
		record    tls.RecordHeaderError
	)
	switch {
	case ue.Timeout(), errors.As(ue.Err, &op), errors.As(ue.Err, &dns), errors.As(ue.Err, &unknownCA),
		errors.As(ue.Err, &hostname), errors.As(ue.Err, &invalid), errors.As(ue.Err, &verify), errors.As(ue.Err, &record):
		return true
	}
	msg := ue.Err.Error()
	return strings.Contains(msg, "x509:") || msg == "EOF" || strings.HasSuffix(msg, "connection reset by peer")
}
