package database

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"strings"

	gosqlite "github.com/glebarez/go-sqlite"
	"github.com/go-sql-driver/mysql"
	"gorm.io/gorm"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/kubespace/kubespace/pkg/errs"
)

// dbErr translates a database error once, at the store boundary. op is the operation ("get",
// "create", ...) and ref names the row for messages: "user 7", `user "bob"`, "session".
//   - a missing row becomes errs.NotFound: "user 7 not found";
//   - a unique-key violation becomes errs.Conflict: `user "bob" already exists`; the driver
//     text is dropped because it quotes the duplicated value, which may be a token hash;
//   - a lost or busy database becomes errs.Unavailable (a cancelled or expired ctx does not);
//   - anything else is wrapped with context and stays Internal.
func dbErr(err error, op, ref string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return errs.NotFoundf("%s not found", ref)
	case isUniqueViolation(err):
		return errs.Conflictf("%s already exists", ref)
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		// The caller gave up; not an outage. Checked first because DeadlineExceeded is a net.Error.
		return fmt.Errorf("%s %s: %w", op, ref, err)
	case isUnavailable(err):
		return errs.Wrap(errs.Unavailable, fmt.Errorf("%s %s: %w", op, ref, err), "the database is unavailable; try again shortly").WithCode("database_unavailable")
	default:
		return fmt.Errorf("%s %s: %w", op, ref, err)
	}
}

// isUniqueViolation reports a unique or primary key violation on either engine.
func isUniqueViolation(err error) bool {
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return true
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == mysqlErrDupEntry
	}
	var se *gosqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return true
		}
		// Without extended result codes only the primary code and the text tell.
		return se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT && strings.Contains(se.Error(), "UNIQUE")
	}
	return false
}

// isUnavailable reports errors that mean "try again later" rather than a bug.
func isUnavailable(err error) bool {
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	// A deadlock or lock wait timeout rolled the transaction back: like SQLite's BUSY, doing it
	// again is the remedy.
	var me *mysql.MySQLError
	if errors.As(err, &me) && (me.Number == mysqlErrDeadlock || me.Number == mysqlErrLockWait) {
		return true
	}
	var se *gosqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return true
		}
	}
	return false
}
