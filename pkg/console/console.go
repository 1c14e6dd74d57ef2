// Package console serves the embedded web console: static assets with long-lived caching for
// hashed files, and index.html for every other path so the console's router handles deep links.
package console

import (
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// ContentSecurityPolicy is what the console may load: its own scripts only (no inline script, no
// eval), so markup that slips into a page through a name, label or log line cannot run. Styles
// may be inline because Element Plus and xterm.js set them at run time; images may be data URIs
// (icons); connections go to this server only (the API, live updates, exec websockets).
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; " +
	"form-action 'self'; frame-ancestors 'none'"

// Handler serves the console from dist. built=false serves a short page explaining how to build
// it, so an API-only build still answers usefully at /.
func Handler(dist fs.FS, built bool) http.Handler {
	if !built {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(notBuilt))
		})
	}
	files := http.FileServerFS(dist)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", ContentSecurityPolicy)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "same-origin")
		w.Header().Set("X-Frame-Options", "DENY")
		p := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if p != "" && p != "index.html" {
			if st, err := fs.Stat(dist, p); err == nil && !st.IsDir() {
				if strings.HasPrefix(p, "assets/") {
					// Vite puts a content hash in every asset name.
					w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
				}
				files.ServeHTTP(w, r)
				return
			}
		}
		index, err := fs.ReadFile(dist, "index.html")
		if err != nil {
			http.Error(w, "console index missing", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(index)
	})
}

const notBuilt = `<!doctype html><html><head><meta charset="utf-8"><title>KubeSpace</title></head>
<body style="font-family:sans-serif;margin:3em"><h1>KubeSpace</h1>
<p>This binary was built without the web console. Build it with <code>make build</code> (or <code>make run</code>),
which runs <code>npm ci &amp;&amp; npm run build</code> in <code>ui/</code> before <code>go build</code>.</p>
<p>The API is available under <a href="/api/v1/openapi.json">/api/v1</a>.</p></body></html>`
