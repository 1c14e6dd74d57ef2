package database

import (
	"context"

	"gorm.io/gorm"
)

// txKey is the context key under which WithTx carries its transaction.
type txKey struct{}

// txState is a transaction in progress and the DB that owns it, so that a second DB (another
// database, or a test's second handle) never picks up a transaction that is not its own.
type txState struct {
	owner *DB
	tx    *gorm.DB
}

// WithTx runs fn in one transaction; store calls made with the ctx passed to fn take part in it.
// The transaction commits when fn returns nil and rolls back when it returns an error or panics
// (the panic is re-raised). A WithTx inside fn joins the outer transaction: its error reaches
// the outer fn, which decides.
func (d *DB) WithTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if st, ok := ctx.Value(txKey{}).(txState); ok && st.owner == d {
		return fn(ctx)
	}
	return d.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return fn(context.WithValue(ctx, txKey{}, txState{owner: d, tx: tx}))
	})
}

// conn returns the handle for a store call: the caller's transaction when ctx carries one of
// d's, otherwise the pool; either way bound to ctx for cancellation.
func (d *DB) conn(ctx context.Context) *gorm.DB {
	if st, ok := ctx.Value(txKey{}).(txState); ok && st.owner == d {
		return st.tx.WithContext(ctx)
	}
	return d.gorm.WithContext(ctx)
}

// inTx reports whether ctx carries a transaction of d.
func (d *DB) inTx(ctx context.Context) bool {
	st, ok := ctx.Value(txKey{}).(txState)
	return ok && st.owner == d
}
