// Package ui embeds the built web console (ui/dist) into the Go binaries.
//
// The console is a Vue application built by Vite (`npm ci && npm run build` in
// this directory). The dist directory holds a tracked placeholder file so the
// package, and every binary that imports it, compiles without Node; in that
// case Built reports false and the server can answer with a hint instead of
// the console.
package ui

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Dist returns the built console: the contents of ui/dist, rooted so that
// "index.html" and "assets/..." are at the top level. It always contains at
// least the placeholder file.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		// fs.Sub only fails for an invalid path; "dist" is a constant.
		panic(err)
	}
	return sub
}

// Built reports whether the console has been built, that is whether
// index.html is present in the embedded dist directory.
func Built() bool {
	_, err := fs.Stat(dist, "dist/index.html")
	return err == nil
}
