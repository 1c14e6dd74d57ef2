package database

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/kubespace/kubespace/pkg/errs"
)

func TestDBErr(t *testing.T) {
	t.Parallel()
	require.NoError(t, dbErr(nil, "get", "user 1"))
	for _, tc := range []struct {
		err  error
		kind errs.Kind
		msg  string
	}{
		{gorm.ErrRecordNotFound, errs.NotFound, "user 1 not found"},
		{fmt.Errorf("x: %w", gorm.ErrRecordNotFound), errs.NotFound, "user 1 not found"},
		{&mysql.MySQLError{Number: 1062, Message: "Duplicate entry 'secret-hash'"}, errs.Conflict, "user 1 already exists"},
		{gorm.ErrDuplicatedKey, errs.Conflict, "user 1 already exists"},
		{driver.ErrBadConn, errs.Unavailable, "the database is unavailable; try again shortly"},
		{mysql.ErrInvalidConn, errs.Unavailable, "the database is unavailable; try again shortly"},
		{&mysql.MySQLError{Number: 1213, Message: "Deadlock found"}, errs.Unavailable, "the database is unavailable; try again shortly"},
		{&mysql.MySQLError{Number: 1205, Message: "Lock wait timeout"}, errs.Unavailable, "the database is unavailable; try again shortly"},
		{context.DeadlineExceeded, errs.Internal, ""},
		{context.Canceled, errs.Internal, ""},
		{errors.New("syntax"), errs.Internal, ""},
	} {
		got := dbErr(tc.err, "get", "user 1")
		require.Equal(t, tc.kind.String(), errs.KindOf(got).String(), "%v", tc.err)
		if tc.msg != "" {
			e, _ := errs.As(got)
			require.Equal(t, tc.msg, e.Message)
		}
		require.NotContains(t, got.Error(), "secret-hash")
	}
	require.ErrorIs(t, dbErr(context.Canceled, "get", "user 1"), context.Canceled)
	require.ErrorContains(t, dbErr(errors.New("syntax"), "get", "user 1"), "get user 1: syntax")
}
