//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package database

import "context"

// lockFile has no cross-process lock on this platform: SQLite migrations are then safe only
// when one process at a time migrates (the embedded server is one process).
func lockFile(ctx context.Context, _ string) (func(), error) {
	return func() {}, ctx.Err()
}
