package database

import (
	"context"

	"gorm.io/gorm"
)

// errNotFound stands for "no row matched" when a write reports zero rows affected.
var errNotFound = gorm.ErrRecordNotFound

// updateRow saves every column of model (a pointer to a record with ID id) except id and
// created_at. A missing row is NotFound (ref names it); a unique-key clash is Conflict
// (conflictRef names the clashing key). MySQL connections report matched rather than changed
// rows, so an update that changes nothing still finds its row.
func updateRow(ctx context.Context, d *DB, model any, id int64, ref, conflictRef string) error {
	if id == 0 {
		return dbErr(errNotFound, "update", ref)
	}
	res := d.conn(ctx).Model(model).Select("*").Omit("id", "created_at").Updates(model)
	switch {
	case res.Error != nil && isUniqueViolation(res.Error):
		return dbErr(res.Error, "update", conflictRef)
	case res.Error != nil:
		return dbErr(res.Error, "update", ref)
	case res.RowsAffected == 0:
		return dbErr(errNotFound, "update", ref)
	}
	return nil
}

// deleteRow deletes the row of model's table with ID id; a missing row is NotFound.
func deleteRow(ctx context.Context, d *DB, model any, id int64, ref string) error {
	res := d.conn(ctx).Where("id = ?", id).Delete(model)
	if res.Error != nil {
		return dbErr(res.Error, "delete", ref)
	}
	if res.RowsAffected == 0 {
		return dbErr(errNotFound, "delete", ref)
	}
	return nil
}

// deleteWhere deletes every row of model's table matching the condition and returns how many.
func deleteWhere(ctx context.Context, d *DB, model any, what string, query string, args ...any) (int64, error) {
	res := d.conn(ctx).Where(query, args...).Delete(model)
	if res.Error != nil {
		return 0, dbErr(res.Error, "delete", what)
	}
	return res.RowsAffected, nil
}

// gormIncrement is "column + 1", for counters and versions bumped in the same statement that
// checks them.
func gormIncrement(column string) any { return gorm.Expr(column + " + 1") }
