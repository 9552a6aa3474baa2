package export

import (
	"fmt"
	"time"

	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/schema"
)

// keyset pages through a query ordered by one or more columns and then the id: each
// batch starts after the previous batch's last row, so every query walks from a position
// instead of skipping an OFFSET, and no row comes twice or goes missing when earlier rows
// change meanwhile. entgql's cursors are not used because they lose rows whose order
// value is NULL (expiry, delay and end times often are). The id goes in the direction of
// the last order column.
type keyset struct {
	keys []key
}

// key is one order column.
type key struct {
	column   string
	nullable bool
	desc     bool
}

// cursor is the position of a row in a keyset order: its order values (nil for NULL),
// one per key, and id.
type cursor struct {
	values []any
	id     int
}

// addKey appends the order by column of table, ascending or descending.
func (k *keyset) addKey(table *schema.Table, column string, desc bool) error {
	c, ok := table.Column(column)
	if !ok {
		return fmt.Errorf("order column %q is not a column of %s", column, table.Name)
	}
	k.keys = append(k.keys, key{column: column, nullable: c.Nullable, desc: desc})
	return nil
}

func (k keyset) idDesc() bool { return k.keys[len(k.keys)-1].desc }

// order orders by the columns then the id. NULLs sort last in either direction (SQLite
// and PostgreSQL disagree on their default place); NOT NULL columns get no NULLS clause,
// so PostgreSQL can walk a (column, id) index backwards.
func (k keyset) order(s *sql.Selector) {
	for _, key := range k.keys {
		var opts []sql.OrderTermOption
		if key.desc {
			opts = append(opts, sql.OrderDesc())
		}
		sql.OrderByField(key.column, append(opts, nullsLast(key.nullable)...)...).ToFunc()(s)
	}
	var opts []sql.OrderTermOption
	if k.idDesc() {
		opts = append(opts, sql.OrderDesc())
	}
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
		if len(k.keys) == 1 {
			s.Where(k.afterOne(s, c))
			return
		}
		s.Where(k.afterFrom(s, c, 0))
	}
}

// afterOne is after for one order column.
func (k keyset) afterOne(s *sql.Selector, c *cursor) *sql.Predicate {
	key, value := k.keys[0], c.values[0]
	col, id := s.C(key.column), s.C("id")
	if value == nil {
		// Past the last non-NULL value: only NULLs remain, in id order.
		if key.desc {
			return sql.And(sql.IsNull(col), sql.LT(id, c.id))
		}
		return sql.And(sql.IsNull(col), sql.GT(id, c.id))
	}
	// (column, id) > (value, id) as a row comparison, which PostgreSQL turns into
	// one index range.
	p := sql.CompositeGT([]string{col, id}, value, c.id)
	if key.desc {
		p = sql.CompositeLT([]string{col, id}, value, c.id)
	}
	if key.nullable {
		p = sql.Or(p, sql.IsNull(col))
	}
	return p
}

// afterFrom is the predicate of the rows after c among those equal to c in the keys
// before i: later in key i, or equal in it and after c in the rest (the id last).
func (k keyset) afterFrom(s *sql.Selector, c *cursor, i int) *sql.Predicate {
	if i == len(k.keys) {
		if k.idDesc() {
			return sql.LT(s.C("id"), c.id)
		}
		return sql.GT(s.C("id"), c.id)
	}
	key, value := k.keys[i], c.values[i]
	col := s.C(key.column)
	if value == nil {
		// NULLs come last: only the other NULLs of this key can follow.
		return sql.And(sql.IsNull(col), k.afterFrom(s, c, i+1))
	}
	later := sql.GT(col, value)
	if key.desc {
		later = sql.LT(col, value)
	}
	if key.nullable {
		later = sql.Or(later, sql.IsNull(col))
	}
	return sql.Or(later, sql.And(sql.EQ(col, value), k.afterFrom(s, c, i+1)))
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
