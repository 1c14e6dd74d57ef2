package database

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm/clause"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/store"
)

// userStore implements store.Users.
type userStore struct{ d *DB }

var _ store.Users = (*userStore)(nil)

func userRef(id int64) string { return fmt.Sprintf("user %d", id) }

func usernameRef(name string) string { return fmt.Sprintf("user %q", name) }

func userListSpec() *listSpec[store.User] {
	return &listSpec[store.User]{
		entity:   "users",
		idColumn: "users.id",
		id:       func(u *store.User) int64 { return u.ID },
		sorts: map[string]sortKey[store.User]{
			"id":            {column: "users.id", kind: kindInt, value: func(u *store.User) any { return u.ID }},
			"username":      {column: "users.username", kind: kindString, value: func(u *store.User) any { return u.Username }},
			"created_at":    {column: "users.created_at", kind: kindTime, value: func(u *store.User) any { return u.CreatedAt }},
			"last_login_at": {column: "users.last_login_at", kind: kindTime, nullable: true, value: func(u *store.User) any { return u.LastLoginAt }},
		},
		defaultSort: "id",
		search:      []string{"users.username", "users.email", "users.display_name"},
	}
}

// withUserDefaults fills the fields whose column has a non-empty default, so the record the
// caller holds after Create equals the row (GORM leaves zero fields to the column default).
func withUserDefaults(u *store.User) {
	if u.Status == "" {
		u.Status = store.UserActive
	}
	if u.Source == "" {
		u.Source = store.SourceLocal
	}
}

// Create implements store.Users.
func (s *userStore) Create(ctx context.Context, u *store.User) error {
	withUserDefaults(u)
	return dbErr(s.d.conn(ctx).Create(u).Error, "create", usernameRef(u.Username))
}

// Get implements store.Users.
func (s *userStore) Get(ctx context.Context, id int64) (*store.User, error) {
	var u store.User
	if err := s.d.conn(ctx).Where("id = ?", id).Take(&u).Error; err != nil {
		return nil, dbErr(err, "get", userRef(id))
	}
	return &u, nil
}

// GetByUsername implements store.Users.
func (s *userStore) GetByUsername(ctx context.Context, username string) (*store.User, error) {
	var u store.User
	if err := s.d.conn(ctx).Where("username = ?", username).Take(&u).Error; err != nil {
		return nil, dbErr(err, "get", usernameRef(username))
	}
	return &u, nil
}

// Update implements store.Users; created_at is kept as stored.
func (s *userStore) Update(ctx context.Context, u *store.User) error {
	withUserDefaults(u)
	return updateRow(ctx, s.d, u, u.ID, userRef(u.ID), usernameRef(u.Username))
}

// Delete implements store.Users.
func (s *userStore) Delete(ctx context.Context, id int64) error {
	return deleteRow(ctx, s.d, &store.User{}, id, userRef(id))
}

// List implements store.Users.
func (s *userStore) List(ctx context.Context, opts store.ListOptions) (store.Page[store.User], error) {
	return list(ctx, s.d.conn(ctx).Table("users"), userListSpec(), opts)
}

// Search implements store.Users.
func (s *userStore) Search(ctx context.Context, query string, limit int) ([]store.User, error) {
	if limit < 1 || limit > maxLimit {
		return nil, errs.Invalidf("limit must be between 1 and %d", maxLimit)
	}
	q := s.d.conn(ctx).Model(&store.User{})
	if query != "" {
		q = q.Where(searchClause([]string{"users.username", "users.display_name"}, query))
	}
	var out []store.User
	if err := q.Order("users.username").Limit(limit).Find(&out).Error; err != nil {
		return nil, dbErr(err, "search", "users")
	}
	return out, nil
}

// CountActiveSupers implements store.Users. Inside a transaction the counted rows are locked
// (SELECT ... FOR UPDATE on MySQL; SQLite's dialect drops the clause, and SQLite transactions
// here begin IMMEDIATE, holding the database's write lock, which serialises just the same).
func (s *userStore) CountActiveSupers(ctx context.Context) (int64, error) {
	q := s.d.conn(ctx).Model(&store.User{}).Where("status = ? AND is_super = ?", store.UserActive, true)
	if s.d.inTx(ctx) {
		// COUNT(*) ... FOR UPDATE locks every row it reads on InnoDB.
		q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	var n int64
	if err := q.Count(&n).Error; err != nil {
		return 0, dbErr(err, "count", "active super users")
	}
	return n, nil
}

// Count implements store.Users.
func (s *userStore) Count(ctx context.Context) (int64, error) {
	var n int64
	if err := s.d.conn(ctx).Model(&store.User{}).Count(&n).Error; err != nil {
		return 0, dbErr(err, "count", "users")
	}
	return n, nil
}

// touchTime is a helper for the stores' Touch methods: it sets one time column of row id.
func touchTime(ctx context.Context, d *DB, model any, column string, id int64, at time.Time, ref string) error {
	res := d.conn(ctx).Model(model).Where("id = ?", id).Update(column, normTime(at))
	if res.Error != nil {
		return dbErr(res.Error, "touch", ref)
	}
	if res.RowsAffected == 0 {
		return dbErr(errNotFound, "touch", ref)
	}
	return nil
}
