package filter

import (
	"strings"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"
)

// Conditions on one custom field of a JSON column (custom_fields: jsonb on PostgreSQL,
// json text on SQLite). The field's name is a bound parameter like every value: on
// PostgreSQL the key of ->> / ->, on SQLite the JSON path $."name" of json_extract and
// json_type. Not sqljson.Path, which writes the path into the SQL text. Callers validate
// the name (ValidateName) before; binding it keeps even a name that slipped through out
// of the statement's text.

// Cond is a condition on the table of a selector.
type Cond func(s *sql.Selector) *sql.Predicate

// Where turns a condition into an ent predicate function (predicate.Task(…) and alike).
func Where(c Cond) func(*sql.Selector) {
	return func(s *sql.Selector) { s.Where(c(s)) }
}

// sqlitePath is the SQLite JSON path of a top-level key, quoted so that no character of
// the name has a meaning in the path.
func sqlitePath(name string) string {
	return `$."` + strings.ReplaceAll(name, `"`, `\"`) + `"`
}

// text writes the field as SQL text (JSON strings unquoted): PostgreSQL col ->> $n,
// SQLite json_extract(col, ?) (numbers stay numbers there, as json_extract returns them).
func text(b *sql.Builder, col, name string) {
	if b.Dialect() == dialect.Postgres {
		b.WriteString("(").Ident(col).WriteString(" ->> ").Arg(name).WriteString("::text)")
		return
	}
	b.WriteString("json_extract(").Ident(col).Comma().Arg(sqlitePath(name)).WriteString(")")
}

// number writes the field as a number, NULL when it holds anything but a JSON number, so
// a comparison with a text value matches nothing instead of failing the statement.
func number(b *sql.Builder, col, name string) {
	if b.Dialect() == dialect.Postgres {
		b.WriteString("(CASE WHEN jsonb_typeof(").Ident(col).WriteString(" -> ").Arg(name).
			WriteString("::text) = 'number' THEN (").Ident(col).WriteString(" ->> ").Arg(name).
			WriteString("::text)::float8 END)")
		return
	}
	b.WriteString("(CASE WHEN json_type(").Ident(col).Comma().Arg(sqlitePath(name)).
		WriteString(") IN ('integer', 'real') THEN json_extract(").Ident(col).Comma().Arg(sqlitePath(name)).
		WriteString(") END)")
}

// Equals: the field col.name is the JSON string value (on PostgreSQL also a number or
// boolean whose text is value, as ->> gives it).
func Equals(col, name, value string) Cond {
	return func(s *sql.Selector) *sql.Predicate {
		c := s.C(col)
		return sql.P(func(b *sql.Builder) {
			text(b, c, name)
			b.WriteOp(sql.OpEQ).Arg(value)
		})
	}
}

// Has: the object in col has the key name (with any value, JSON null included).
func Has(col, name string) Cond {
	return func(s *sql.Selector) *sql.Predicate {
		c := s.C(col)
		return sql.P(func(b *sql.Builder) {
			if b.Dialect() == dialect.Postgres {
				b.WriteString("(").Ident(c).WriteString(" -> ").Arg(name).WriteString("::text)")
			} else {
				b.WriteString("json_type(").Ident(c).Comma().Arg(sqlitePath(name)).WriteString(")")
			}
			b.WriteOp(sql.OpNotNull)
		})
	}
}

// Compare: the field col.name is a JSON number and compares to x by op (sql.OpEQ,
// OpNEQ, OpLT, OpLTE, OpGT, OpGTE).
func Compare(col, name string, op sql.Op, x float64) Cond {
	return func(s *sql.Selector) *sql.Predicate {
		c := s.C(col)
		return sql.P(func(b *sql.Builder) {
			number(b, c, name)
			b.WriteOp(op).Arg(x)
		})
	}
}
