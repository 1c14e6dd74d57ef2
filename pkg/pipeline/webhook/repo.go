package webhook

import (
	"net/url"
	"strings"
)

// SameRepo reports whether two repository URLs name the same repository, whatever their form:
// https://host/owner/repo(.git), ssh://git@host:22/owner/repo.git, git@host:owner/repo.git. Host
// names compare case-insensitively, paths exactly (most servers are case-sensitive).
func SameRepo(a, b string) bool {
	ka, kb := repoKey(a), repoKey(b)
	return ka != "" && ka == kb
}

// repoKey is host/path of a repository URL without scheme, user, port, ".git" and slashes.
func repoKey(raw string) string {
	raw = strings.TrimSpace(raw)
	var host, path string
	if u, err := url.Parse(raw); err == nil && u.Scheme != "" && u.Host != "" {
		host, path = u.Hostname(), u.Path
	} else if at, rest, ok := strings.Cut(raw, ":"); ok && !strings.Contains(at, "/") {
		// scp-like: [user@]host:path
		if i := strings.LastIndexByte(at, '@'); i >= 0 {
			at = at[i+1:]
		}
		host, path = at, rest
	} else {
		return ""
	}
	path = strings.Trim(path, "/")
	path = strings.TrimSuffix(path, ".git")
	if host == "" || path == "" {
		return ""
	}
	return strings.ToLower(host) + "/" + path
}
