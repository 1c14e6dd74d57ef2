package database

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/store"
)

// List limits.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

// valueKind is the Go type of a sort field's value, which decides how a cursor encodes it.
type valueKind int

const (
	kindInt    valueKind = iota // int64
	kindString                  // string
	kindTime                    // time.Time or *time.Time
)

// sortKey is one field a list may be sorted by.
type sortKey[T any] struct {
	column   string // qualified SQL column; written here in code, never taken from input
	kind     valueKind
	nullable bool              // NULLs sort first ascending and last descending on both engines
	value    func(item *T) any // the field's value: int64, string, time.Time or *time.Time
}

// listSpec describes how an entity is listed. Every list in the package goes through list.
type listSpec[T any] struct {
	entity      string // plural, for messages
	idColumn    string // qualified id column, the tie-breaker that makes paging stable
	id          func(item *T) int64
	sorts       map[string]sortKey[T] // the whitelist, by API name
	defaultSort string                // API name, optionally with a leading "-"
	search      []string              // qualified columns matched by Query
	selects     []string              // optional select list for the page query (joins)
}

// list returns one page of q (a query already carrying the table, joins and filters) under
// opts: keyset pagination on (sort field, id) with an opaque cursor, a total that ignores the
// cursor, and a case-insensitive substring search. Column names reach SQL only from spec.
func list[T any](ctx context.Context, q *gorm.DB, spec *listSpec[T], opts store.ListOptions) (store.Page[T], error) {
	var page store.Page[T]
	limit := opts.Limit
	if limit == 0 {
		limit = defaultLimit
	}
	if limit < 1 || limit > maxLimit {
		return page, errs.Invalidf("limit must be between 1 and %d", maxLimit)
	}
	sortName := opts.Sort
	if sortName == "" {
		sortName = spec.defaultSort
	}
	field, desc := strings.CutPrefix(sortName, "-")
	key, ok := spec.sorts[field]
	if !ok {
		return page, errs.Invalidf("invalid sort %q: %s can be sorted by %s (prefix \"-\" for descending)",
			opts.Sort, spec.entity, strings.Join(slices.Sorted(maps.Keys(spec.sorts)), ", "))
	}
	var cur *cursor
	if opts.Continue != "" {
		c, err := decodeCursor(opts.Continue, sortName, key.kind, key.nullable)
		if err != nil {
			return page, err
		}
		cur = c
	}

	if opts.Query != "" {
		q = q.Where(searchClause(spec.search, opts.Query))
	}
	// A new session so the count and the page query each build their own statement.
	q = q.Session(&gorm.Session{})
	if err := q.Count(&page.Total).Error; err != nil {
		return page, dbErr(err, "count", spec.entity)
	}

	pq := q
	if len(spec.selects) > 0 {
		pq = pq.Select(spec.selects)
	}
	if cur != nil {
		pq = pq.Where(keysetClause(key.column, spec.idColumn, key.nullable, desc, cur))
	}
	order := []clause.OrderByColumn{}
	if key.column != spec.idColumn {
		order = append(order, clause.OrderByColumn{Column: clause.Column{Name: key.column, Raw: true}, Desc: desc})
	}
	order = append(order, clause.OrderByColumn{Column: clause.Column{Name: spec.idColumn, Raw: true}, Desc: desc})
	pq = pq.Clauses(clause.OrderBy{Columns: order}).Limit(limit + 1)

	var items []T
	if err := pq.Find(&items).Error; err != nil {
		return page, dbErr(err, "list", spec.entity)
	}
	if len(items) > limit {
		items = items[:limit]
		last := &items[limit-1]
		page.Continue = encodeCursor(sortName, key.kind, key.value(last), spec.id(last))
	}
	if items == nil {
		items = []T{}
	}
	page.Items = items
	return page, nil
}

// keysetClause selects the rows after the cursor in (column, id) order. The nullable cases
// follow the NULL ordering both engines share: NULLs first ascending, last descending.
func keysetClause(column, idColumn string, nullable, desc bool, c *cursor) clause.Expr {
	op := ">"
	if desc {
		op = "<"
	}
	if column == idColumn {
		return gorm.Expr(fmt.Sprintf("%s %s ?", idColumn, op), c.ID)
	}
	after := fmt.Sprintf("(%[1]s %[3]s ? OR (%[1]s = ? AND %[2]s %[3]s ?))", column, idColumn, op)
	switch {
	case !nullable:
		return gorm.Expr(after, c.Value, c.Value, c.ID)
	case c.Value == nil && !desc:
		return gorm.Expr(fmt.Sprintf("((%[1]s IS NULL AND %[2]s > ?) OR %[1]s IS NOT NULL)", column, idColumn), c.ID)
	case c.Value == nil && desc:
		return gorm.Expr(fmt.Sprintf("(%[1]s IS NULL AND %[2]s < ?)", column, idColumn), c.ID)
	case desc:
		return gorm.Expr(fmt.Sprintf("(%s OR %s IS NULL)", after, column), c.Value, c.Value, c.ID)
	default:
		return gorm.Expr(after, c.Value, c.Value, c.ID)
	}
}

// likeEscape is the LIKE escape character. Not a backslash: MySQL reads '\\' in a literal
// as one backslash but SQLite as two, so no backslash literal works on both engines.
const likeEscape = '!'

// searchClause matches query as a case-insensitive substring of any of columns. The pattern is
// bound as a parameter with its wildcards escaped, so the user's text is matched literally.
func searchClause(columns []string, query string) clause.Expr {
	pattern := "%" + escapeLike(query) + "%"
	parts := make([]string, len(columns))
	args := make([]any, len(columns))
	for i, c := range columns {
		parts[i] = fmt.Sprintf("LOWER(%s) LIKE LOWER(?) ESCAPE '%c'", c, likeEscape)
		args[i] = pattern
	}
	return gorm.Expr("("+strings.Join(parts, " OR ")+")", args...)
}

// escapeLike escapes LIKE's wildcards and the escape character itself.
func escapeLike(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '%', '_', likeEscape:
			b.WriteRune(likeEscape)
		}
		b.WriteRune(r)
	}
	return b.String()
}
