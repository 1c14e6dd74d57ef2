package database

import (
	"reflect"
	"time"

	"gorm.io/gorm"
)

// normTime converts t to what the database keeps: UTC, microsecond precision (MySQL columns are
// DATETIME(6)). Normalising before a write makes the written record equal the one read back,
// and on SQLite, where times are stored as text, keeps the text comparable (one offset, +00:00).
func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}

// normTimePtr is normTime for optional times.
func normTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	n := normTime(*t)
	return &n
}

var (
	timeType    = reflect.TypeFor[time.Time]()
	timePtrType = reflect.TypeFor[*time.Time]()
)

// registerTimeCallbacks normalises every time field of a model before GORM writes it, so no
// store method can forget to.
func registerTimeCallbacks(g *gorm.DB) error {
	if err := g.Callback().Create().Before("gorm:create").Register("kubespace:norm_times", normModelTimes); err != nil {
		return err
	}
	return g.Callback().Update().Before("gorm:update").Register("kubespace:norm_times", normModelTimes)
}

func normModelTimes(db *gorm.DB) {
	stmt := db.Statement
	if db.Error != nil || stmt.Schema == nil {
		return
	}
	rv := stmt.ReflectValue
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		for i := range rv.Len() {
			normStructTimes(db, reflect.Indirect(rv.Index(i)))
		}
	case reflect.Struct:
		normStructTimes(db, rv)
	}
}

func normStructTimes(db *gorm.DB, rv reflect.Value) {
	if rv.Kind() != reflect.Struct || !rv.CanAddr() {
		return
	}
	ctx := db.Statement.Context
	for _, f := range db.Statement.Schema.Fields {
		switch f.FieldType {
		case timeType:
			if v, zero := f.ValueOf(ctx, rv); !zero {
				db.AddError(f.Set(ctx, rv, normTime(v.(time.Time))))
			}
		case timePtrType:
			if v, zero := f.ValueOf(ctx, rv); !zero {
				db.AddError(f.Set(ctx, rv, normTimePtr(v.(*time.Time))))
			}
		}
	}
}
