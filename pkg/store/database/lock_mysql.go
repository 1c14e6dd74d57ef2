package database

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// mysqlLockName is the GET_LOCK name for migrations of one database. MySQL locks are server-wide,
// so the database name is part of it; names are limited to 64 characters.
func mysqlLockName(dbName string) string {
	name := "kubespace_migrate:" + dbName
	if len(name) > 64 {
		sum := sha256.Sum256([]byte(dbName))
		name = "kubespace_migrate:" + hex.EncodeToString(sum[:])[:40]
	}
	return name
}

// lockMySQL takes the migration lock with GET_LOCK on one pinned connection: the lock belongs
// to that server session, and the server releases it by itself if this process dies.
func (d *DB) lockMySQL(ctx context.Context) (func(), error) {
	sqlDB, err := d.gorm.DB()
	if err != nil {
		return nil, err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	name := mysqlLockName(d.dbName)
	for {
		// Short waits on the server, so that ctx decides how long we wait overall.
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 2)", name).Scan(&got); err != nil {
			_ = conn.Close()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("migration lock: %w", err)
		}
		if got.Valid && got.Int64 == 1 {
			break
		}
		if !got.Valid {
			_ = conn.Close()
			return nil, errors.New("migration lock: GET_LOCK returned NULL")
		}
		if err := ctx.Err(); err != nil {
			_ = conn.Close()
			return nil, err
		}
	}
	return func() {
		// Release even when the migration's ctx was cancelled.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		var released sql.NullInt64
		if err := conn.QueryRowContext(rctx, "SELECT RELEASE_LOCK(?)", name).Scan(&released); err != nil {
			d.log.WarnContext(rctx, "release migration lock", "error", err)
		}
		// Closing the session releases the lock in any case.
		_ = conn.Close()
	}, nil
}
