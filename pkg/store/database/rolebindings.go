package database

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/kubespace/kubespace/pkg/store"
)

// bindingStore implements store.RoleBindings.
type bindingStore struct{ d *DB }

var _ store.RoleBindings = (*bindingStore)(nil)

// bindingRow is a role binding read with its user's name, which store.RoleBinding does not map.
type bindingRow struct {
	store.RoleBinding
	JoinedUsername *string `gorm:"column:joined_username"` // NULL when the user is gone
}

func (r *bindingRow) binding() store.RoleBinding {
	b := r.RoleBinding
	if r.JoinedUsername != nil {
		b.Username = *r.JoinedUsername
	}
	return b
}

func bindingRef(id int64) string { return fmt.Sprintf("role binding %d", id) }

func bindingListSpec() *listSpec[bindingRow] {
	return &listSpec[bindingRow]{
		entity:   "role bindings",
		idColumn: "role_bindings.id",
		id:       func(r *bindingRow) int64 { return r.ID },
		sorts: map[string]sortKey[bindingRow]{
			"id":         {column: "role_bindings.id", kind: kindInt, value: func(r *bindingRow) any { return r.ID }},
			"created_at": {column: "role_bindings.created_at", kind: kindTime, value: func(r *bindingRow) any { return r.CreatedAt }},
		},
		defaultSort: "id",
		search:      []string{"users.username", "role_bindings.role"},
		selects:     bindingSelects(),
	}
}

func bindingSelects() []string {
	return []string{"role_bindings.*", "users.username AS joined_username"}
}

// bindings starts a query over role bindings joined with their users.
func (s *bindingStore) bindings(ctx context.Context) *gorm.DB {
	return s.d.conn(ctx).Table("role_bindings").
		Joins("LEFT JOIN users ON users.id = role_bindings.user_id")
}

// Create implements store.RoleBindings.
func (s *bindingStore) Create(ctx context.Context, b *store.RoleBinding) error {
	ref := fmt.Sprintf("role binding of user %d on %s %d", b.UserID, b.Scope, b.ScopeID)
	return dbErr(s.d.conn(ctx).Create(b).Error, "create", ref)
}

// Get implements store.RoleBindings.
func (s *bindingStore) Get(ctx context.Context, id int64) (*store.RoleBinding, error) {
	var r bindingRow
	err := s.bindings(ctx).Select(bindingSelects()).Where("role_bindings.id = ?", id).Take(&r).Error
	if err != nil {
		return nil, dbErr(err, "get", bindingRef(id))
	}
	b := r.binding()
	return &b, nil
}

// Delete implements store.RoleBindings.
func (s *bindingStore) Delete(ctx context.Context, id int64) error {
	return deleteRow(ctx, s.d, &store.RoleBinding{}, id, bindingRef(id))
}

// ListByUser implements store.RoleBindings, in id order.
func (s *bindingStore) ListByUser(ctx context.Context, userID int64) ([]store.RoleBinding, error) {
	var rows []bindingRow
	err := s.bindings(ctx).Select(bindingSelects()).Where("role_bindings.user_id = ?", userID).
		Order("role_bindings.id").Find(&rows).Error
	if err != nil {
		return nil, dbErr(err, "list", "role bindings of "+userRef(userID))
	}
	out := make([]store.RoleBinding, len(rows))
	for i := range rows {
		out[i] = rows[i].binding()
	}
	return out, nil
}

// List implements store.RoleBindings. Query matches the user's name and the role.
func (s *bindingStore) List(ctx context.Context, f store.RoleBindingFilter, opts store.ListOptions) (store.Page[store.RoleBinding], error) {
	q := s.bindings(ctx)
	if f.Scope != "" {
		q = q.Where("role_bindings.scope = ?", f.Scope)
		if f.ScopeID != nil {
			q = q.Where("role_bindings.scope_id = ?", *f.ScopeID)
		}
	}
	if f.UserID != nil {
		q = q.Where("role_bindings.user_id = ?", *f.UserID)
	}
	rows, err := list(ctx, q, bindingListSpec(), opts)
	if err != nil {
		return store.Page[store.RoleBinding]{}, err
	}
	page := store.Page[store.RoleBinding]{Items: make([]store.RoleBinding, len(rows.Items)), Total: rows.Total, Continue: rows.Continue}
	for i := range rows.Items {
		page.Items[i] = rows.Items[i].binding()
	}
	return page, nil
}

// DeleteByUser implements store.RoleBindings.
func (s *bindingStore) DeleteByUser(ctx context.Context, userID int64) error {
	_, err := deleteWhere(ctx, s.d, &store.RoleBinding{}, "role bindings of "+userRef(userID), "user_id = ?", userID)
	return err
}

// DeleteByScope implements store.RoleBindings.
func (s *bindingStore) DeleteByScope(ctx context.Context, scope string, scopeID int64) error {
	_, err := deleteWhere(ctx, s.d, &store.RoleBinding{}, fmt.Sprintf("role bindings on %s %d", scope, scopeID),
		"scope = ? AND scope_id = ?", scope, scopeID)
	return err
}
