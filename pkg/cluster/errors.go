package cluster

import (
	"context"
	"errors"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kubespace/kubespace/pkg/errs"
)

// KubeError translates an error from a cluster's API server into KubeSpace's vocabulary, once,
// keeping Kubernetes' own message (which names the object and the reason).
func KubeError(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var st apierrors.APIStatus
	if !errors.As(err, &st) {
		return errs.Wrap(errs.Unavailable, err, "the cluster did not answer: %v", err).WithCode("cluster_unavailable")
	}
	msg := st.Status().Message
	switch {
	case apierrors.IsNotFound(err):
		return errs.Wrap(errs.NotFound, err, "%s", msg)
	case apierrors.IsAlreadyExists(err), apierrors.IsConflict(err):
		return errs.Wrap(errs.Conflict, err, "%s", msg)
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
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
