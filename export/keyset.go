package export

import (
	"fmt"
	"time"

	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/schema"
)

// keyset pages through a query ordered by one column and then the id: each batch starts
// after the previous batch's last row, so every query walks from a position instead of
// skipping an OFFSET, and no row comes twice or goes missing when earlier rows change
// meanwhile. entgql's cursors are not used because they lose rows whose order value is
// NULL (expiry, delay and end times often are).
type keyset struct {
	column   string
	nullable bool
	desc     bool
}

// cursor is the position of a row in a keyset order: its order value (nil for NULL) and id.
type cursor struct {
	value any
	id    int
}

// newKeyset returns the keyset of table ordered by column, ascending or descending.
func newKeyset(table *schema.Table, column string, desc bool) (keyset, error) {
	c, ok := table.Column(column)
	if !ok {
		return keyset{}, fmt.Errorf("order column %q is not a column of %s", column, table.Name)
	}
	return keyset{column: column, nullable: c.Nullable, desc: desc}, nil
}

// order orders by the column then the id, both in the list's direction. NULLs sort last
// in either direction (SQLite and PostgreSQL disagree on their default place); NOT NULL
// columns get no NULLS clause, so PostgreSQL can walk a (column, id) index backwards.
func (k keyset) order(s *sql.Selector) {
	var opts []sql.OrderTermOption
	if k.desc {
		opts = append(opts, sql.OrderDesc())
	}
	sql.OrderByField(k.column, append(opts, nullsLast(k.nullable)...)...).ToFunc()(s)
	sql.OrderByField("id", opts...).ToFunc()(s)
}

func nullsLast(nullable bool) []sql.OrderTermOption {
	if !nullable {
		return nil
	}
	return []sql.OrderTermOption{sql.OrderNullsLast()}
}

// after returns the predicate of the rows following c in the order (all rows for nil).
func (k keyset) after(c *cursor) func(*sql.Selector) {
	return func(s *sql.Selector) {
		if c == nil {
			return
		}
		col, id := s.C(k.column), s.C("id")
		if c.value == nil {
			// Past the last non-NULL value: only NULLs remain, in id order.
			if k.desc {
				s.Where(sql.And(sql.IsNull(col), sql.LT(id, c.id)))
			} else {
				s.Where(sql.And(sql.IsNull(col), sql.GT(id, c.id)))
			}
			return
		}
		// (column, id) > (value, id) as a row comparison, which PostgreSQL turns into
		// one index range.
		p := sql.CompositeGT([]string{col, id}, c.value, c.id)
		if k.desc {
			p = sql.CompositeLT([]string{col, id}, c.value, c.id)
		}
		if k.nullable {
			p = sql.Or(p, sql.IsNull(col))
		}
		s.Where(p)
	}
}

// orderValue turns the value of an ent order field into a cursor value: nil for an unset
// optional time, the time itself otherwise.
func orderValue(v any) any {
	if t, ok := v.(*time.Time); ok {
		if t == nil {
			return nil
		}
		return *t
	}
	return v
}
