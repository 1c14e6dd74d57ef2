package kubeproxy

import (
	"net/url"
	"strings"

	"github.com/kubespace/kubespace/pkg/errs"
)

// CheckPath refuses a request path that is not canonical: dot segments ("." and ".."), empty
// segments ("//"), backslashes, NUL bytes and encoded separators (%2F, %5C) anywhere in it, in the
// decoded path or in the form the client sent. The permission decision reads the path segment by
// segment, as the API server's RequestInfo does; a path that a server, a proxy on the way or a
// later cleaning step could read differently (".../configmaps/x/../../secrets") must not be
// decided on at all. A trailing slash is canonical (the API server serves "/logs/" and a
// service proxy's "/proxy/").
func CheckPath(u *url.URL) error {
	escaped := strings.ToLower(u.EscapedPath())
	for _, enc := range []string{"%2f", "%5c", "%00"} {
		if strings.Contains(escaped, enc) {
			return nonCanonical(u.Path, "an encoded separator ("+strings.ToUpper(enc)+")")
		}
	}
	p := u.Path
	if !strings.HasPrefix(p, "/") {
		return nonCanonical(p, "no leading slash")
	}
	if strings.ContainsAny(p, "\\\x00") {
		return nonCanonical(p, "a backslash or NUL byte")
	}
	segments := strings.Split(p[1:], "/")
	for i, s := range segments {
		switch {
		case s == "." || s == "..":
			return nonCanonical(p, "a dot segment ("+s+")")
		case s == "" && i != len(segments)-1:
			return nonCanonical(p, "an empty segment (//)")
		}
	}
	return nil
}

func nonCanonical(path, what string) error {
	return errs.Invalidf("the Kubernetes path %q is not canonical: it has %s; send the path without dot segments, empty segments or encoded separators", path, what).
		WithCode("non_canonical_path")
}
