package search

import (
	"context"
	stdsql "database/sql"
	"fmt"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"
	"github.com/lib/pq"

	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/predicate"
	"github.com/portico-dev/portico/ent/process"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/policy"
)

// MaxCandidates bounds the ranking work of a search: of each kind, only this many
// visible matches are ranked, the first ones the statement finds, and only they are
// results: for an administrator on PostgreSQL in the order of the table's storage,
// about oldest first, on SQLite in id order; for a viewer who sees part of the tasks
// or cases, the visible matches of lowest id (policy.SearchTasks, SearchCases).
//
// Ranking needs each match's row, so ranking all of them costs in proportion to the
// matches: at a million tasks one common word ("invoice", every eighth task of the
// benchmark data) matches 125,000 rows, and ranking those took 350-400 ms on
// PostgreSQL, a full count alone 120 ms. Capped, ranking costs at most MaxCandidates
// rows whatever the word; finding the candidates costs the index lookup (for a user
// who sees part of the tasks, of its roles' and users' own keyed lexemes). A text that
// matches fewer rows than the cap, which is nearly any more specific one, is ranked
// exactly; a broader one returns the best-ranked of its first MaxCandidates matches per
// kind, and totalCount says how many results there are under that rule (never more
// than MaxCandidates per kind).
const MaxCandidates = 1000

// rankColumn and totalColumn are the names of a row's rank and of the number of
// candidates of its kind in the statement's result.
const (
	rankColumn  = "search_rank"
	totalColumn = "search_total"
)

// kindTable describes a kind's tables.
type kindTable struct {
	kind  Kind
	table string // the ent table; the PostgreSQL index is <table>_search
	fts   string // the SQLite FTS5 table
}

// kinds are the searched kinds in Kind order.
var kinds = []kindTable{
	{KindTask, task.Table, "tasks_fts"},
	{KindCase, businesscase.Table, "cases_fts"},
	{KindProcess, process.Table, "processes_fts"},
}

// page returns the first n results of kind k for q after position from (nil: from the
// start), best first, and the number of results of the kind on all pages (-1 when no
// row came to tell it). Their visibility is in the statement: the kind's interceptor
// adds it to the predicates, and shape, a modifier, moves them into the candidates.
// (Modify returns a select builder, unused: the modifier stays on the query, and when
// ent loads entities it applies modifiers after all predicates, order and limit.)
func (s *Service) page(ctx context.Context, k kindTable, q query, from *position, n int) ([]Hit, int, error) {
	ctx, match, err := s.visible(ctx, k, q)
	if err != nil {
		return nil, 0, fmt.Errorf("search %s: %w", k.table, err)
	}
	shape := s.shape(k, q, from)
	var hits []Hit
	total := -1
	err = s.planned(ctx, func(c *ent.Client) error {
		var err error
		switch k.kind {
		case KindTask:
			q := c.Task.Query().Where(predicate.Task(match)).Limit(n)
			q.Modify(shape)
			var rows []*ent.Task
			if rows, err = q.All(ctx); err == nil {
				hits, total, err = hitsOf(k.kind, rows, func(r *ent.Task) int { return r.ID })
			}
		case KindCase:
			q := c.BusinessCase.Query().Where(predicate.BusinessCase(match)).Limit(n)
			q.Modify(shape)
			var rows []*ent.BusinessCase
			if rows, err = q.All(ctx); err == nil {
				hits, total, err = hitsOf(k.kind, rows, func(r *ent.BusinessCase) int { return r.ID })
			}
		case KindProcess:
			q := c.Process.Query().Where(predicate.Process(match)).Limit(n)
			q.Modify(shape)
			var rows []*ent.Process
			if rows, err = q.All(ctx); err == nil {
				hits, total, err = hitsOf(k.kind, rows, func(r *ent.Process) int { return r.ID })
			}
		}
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("search %s: %w", k.table, err)
	}
	return hits, total, nil
}

// planned runs fn, the statement of one kind, with a client whose plans suit a search.
// On PostgreSQL that is a read-only transaction with sequential scans off (SET LOCAL).
// The planner takes a sequential scan that stops after enough matches when it believes
// a word common; for a word missing from its statistics it guesses 0.5% of the rows,
// and then that scan reads the whole table: 300 ms at a million tasks for a word the
// search index rules out at once. The index costs in proportion to the word's matches
// (about 15 ms for a word in every eighth task), whatever the statistics say. Being in
// a transaction also makes the statement a plain one, planned for its text each time,
// not a prepared one that may settle on a generic plan. Plans that start from the rows
// a user may see (index lookups) are unaffected.
func (s *Service) planned(ctx context.Context, fn func(*ent.Client) error) error {
	if s.dialect != dialect.Postgres {
		return fn(s.client)
	}
	tx, err := s.client.BeginTx(ctx, &stdsql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin search: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
		return fmt.Errorf("plan search: %w", err)
	}
	if err := fn(tx.Client()); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("end search: %w", err)
	}
	return nil
}

// rankedRow is an ent entity loaded with the rank and total columns.
type rankedRow interface {
	ent.Noder
	Value(name string) (ent.Value, error)
}

// hitsOf turns rows loaded by page into hits, and reads the total they carry (-1
// without rows).
func hitsOf[T rankedRow](k Kind, rows []T, id func(T) int) ([]Hit, int, error) {
	hits := make([]Hit, 0, len(rows))
	total := -1
	for _, r := range rows {
		v, err := r.Value(rankColumn)
		if err != nil {
			return nil, 0, err
		}
		rank, ok := v.(float64)
		if !ok {
			return nil, 0, fmt.Errorf("rank of %s %d is %T, not a float", k, id(r), v)
		}
		if v, err = r.Value(totalColumn); err != nil {
			return nil, 0, err
		}
		n, ok := v.(int64)
		if !ok {
			return nil, 0, fmt.Errorf("total of %s %d is %T, not an integer", k, id(r), v)
		}
		total = int(n)
		hits = append(hits, Hit{Node: r, Kind: k, ID: id(r), Rank: rank})
	}
	return hits, total, nil
}

// count returns the number of results of kind k for q: the visible matches, at most
// the cap.
func (s *Service) count(ctx context.Context, k kindTable, q query) (int, error) {
	ctx, match, err := s.visible(ctx, k, q)
	if err != nil {
		return 0, fmt.Errorf("count %s search results: %w", k.table, err)
	}
	var ids []int
	err = s.planned(ctx, func(c *ent.Client) error {
		var err error
		switch k.kind {
		case KindTask:
			ids, err = c.Task.Query().Where(predicate.Task(match)).Limit(s.candidates).IDs(ctx)
		case KindCase:
			ids, err = c.BusinessCase.Query().Where(predicate.BusinessCase(match)).Limit(s.candidates).IDs(ctx)
		case KindProcess:
			ids, err = c.Process.Query().Where(predicate.Process(match)).Limit(s.candidates).IDs(ctx)
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("count %s search results: %w", k.table, err)
	}
	return len(ids), nil
}

// visible returns the context and the predicate of the query of kind k's matches of q,
// visible ones only. For a viewer who sees part of the tasks (or of the cases), policy
// searches each source of visibility in the statement (policy.SearchTasks,
// SearchCases): the context limits the kind's queries to the visible matches, at most
// the cap of them, and the predicate adds nothing. Otherwise the predicate is the text
// match, and the kind's interceptor adds the visibility predicate (all rows for an
// administrator, whose plan starts from the search index).
func (s *Service) visible(ctx context.Context, k kindTable, q query) (context.Context, func(*sql.Selector), error) {
	search := map[Kind]func(context.Context, policy.TextMatch, int) (context.Context, bool, error){
		KindTask: s.policy.SearchTasks,
		KindCase: s.policy.SearchCases,
	}[k.kind]
	if search == nil {
		return ctx, s.match(k, q), nil
	}
	on := func(k kindTable, id string) func(*sql.Selector) *sql.Predicate {
		return func(sel *sql.Selector) *sql.Predicate { return s.matches(k, q, sel, id) }
	}
	m := policy.TextMatch{Task: on(kinds[KindTask], "id"), Case: on(kinds[KindCase], "id"),
		Responsible: func(sel *sql.Selector, byRole bool, ids []int) *sql.Predicate {
			if s.dialect != dialect.Postgres {
				return s.matches(kinds[KindTask], q, sel, "task_id")
			}
			return s.keyed(q, sel, byRole, ids, false)
		},
		ResponsibleCase: func(sel *sql.Selector, byRole bool, ids []int) *sql.Predicate {
			if s.dialect != dialect.Postgres {
				return sql.P(func(b *sql.Builder) {
					b.WriteString(sel.C("task_id") + " IN (SELECT " + b.Quote(task.FieldID) + " FROM " + b.Quote(task.Table) + " WHERE ").
						Join(s.matches(kinds[KindCase], q, sql.Select().From(sql.Table(task.Table)), task.FieldCaseID)).WriteString(")")
				})
			}
			return s.keyed(q, sel, byRole, ids, true)
		},
	}
	pageCtx, ok, err := search(ctx, m, s.candidates)
	if err != nil || !ok {
		return ctx, s.match(k, q), err
	}
	return pageCtx, func(*sql.Selector) {}, nil
}

// keyed is the condition that the task (or ofCase, the task's case) of the
// task_responsibles row of sel contains every word of q, for rows of the roles (byRole)
// or users ids. It reads the row's copy of those documents with the lexemes keyed by
// its role or user, in a GIN index (migration *_search_visibility.sql): the query
// keyed by each of ids looks up only these roles' or users' lexemes.
func (s *Service) keyed(q query, sel *sql.Selector, byRole bool, ids []int, ofCase bool) *sql.Predicate {
	arr := make([]int64, len(ids))
	for i, id := range ids {
		arr[i] = int64(id)
	}
	return sql.P(func(b *sql.Builder) {
		b.WriteString(sel.C(documentColumn) + " @@ responsible_search_query(").Arg(pq.Array(arr)).
			WriteString("::bigint[], ").Arg(byRole).WriteString(", ").Arg(ofCase).
			WriteString(", to_tsquery('simple'::regconfig, ").Arg(q.tsquery()).WriteString("))")
	})
}

// match is the predicate of the rows of kind k that contain every word of q.
func (s *Service) match(k kindTable, q query) func(*sql.Selector) {
	return func(sel *sql.Selector) { sel.Where(s.matches(k, q, sel, "id")) }
}

// matches is the condition that the row of sel, whose text is that of the row of kind k
// with the id in column id, contains every word of q. On PostgreSQL it is read from the
// row's own search document, on SQLite from the FTS table of kind k.
func (s *Service) matches(k kindTable, q query, sel *sql.Selector, id string) *sql.Predicate {
	if s.dialect == dialect.Postgres {
		// The GIN index over the table's search_document serves `search_document @@ query`.
		return sql.P(func(b *sql.Builder) {
			b.WriteString(sel.C(documentColumn) + " @@ to_tsquery('simple'::regconfig, ").Arg(q.tsquery()).WriteString(")")
		})
	}
	return sql.P(func(b *sql.Builder) {
		b.WriteString(sel.C(id) + " IN (SELECT rowid FROM " + b.Quote(k.fts) + " WHERE " + b.Quote(k.fts) + " MATCH ").
			Arg(q.fts5()).WriteString(")")
	})
}

// documentColumn is the PostgreSQL column with the weighted text of a row, generated
// by the database (migration *_search.sql): the name with weight A, the description
// with B, so that ts_rank ranks a name match above a description match.
const documentColumn = "search_document"

// nameWeight is how much more a name match counts than a description match in SQLite's
// bm25 (PostgreSQL's ts_rank weighs A and B as 1.0 and 0.4).
const nameWeight = "10.0"

// rank is the expression of a row's rank for q, higher is better: ts_rank on
// PostgreSQL (as float8 so that a cursor holds it exactly), the negated bm25
// of the row's FTS5 match on SQLite.
func (s *Service) rank(k kindTable, q query, sel *sql.Selector) sql.Querier {
	return sql.ExprFunc(func(b *sql.Builder) {
		if s.dialect == dialect.Postgres {
			b.WriteString("ts_rank(" + sel.C(documentColumn) + ", to_tsquery('simple'::regconfig, ").Arg(q.tsquery()).WriteString("))::float8")
			return
		}
		fts := b.Quote(k.fts)
		b.WriteString("(SELECT -bm25(" + fts + ", " + nameWeight + ", 1.0) FROM " + fts + " WHERE " + fts + " MATCH ").
			Arg(q.fts5()).WriteString(" AND " + fts + ".rowid = " + sel.C("id") + ")")
	})
}

// shape turns a kind's query into its page of results. It runs as the query's
// modifier, the last step of building the statement, when the WHERE holds the text
// match and the visibility the interceptor added (or, for a viewer who sees part of
// the rows, only the interceptor's `id IN (<policy's visible matches>)`). It moves that
// WHERE into a subquery of the first candidates (no order: a bitmap scan of the search
// index, or the visible matches policy found), ranks and counts only the
// candidates in a derived table named like the table (so the query's own columns,
// "tasks"."name", read it), keeps the rows after the cursor and orders them best
// first; the query's Limit takes the page:
//
//	SELECT "tasks"."id", …, "tasks"."search_rank", "tasks"."search_total"
//	FROM (SELECT "tasks".*, <rank> AS search_rank, count(*) OVER () AS search_total
//	      FROM "tasks" WHERE "tasks"."id" = ANY(ARRAY(
//	        SELECT "tasks"."id" FROM "tasks" WHERE <match> AND <visible> LIMIT 1000))
//	     ) AS "tasks"
//	WHERE <after the cursor> ORDER BY "tasks"."search_rank" DESC, "tasks"."id" LIMIT n
//
// On PostgreSQL the candidates are an array computed once (an InitPlan) that the
// primary key index looks up: with `id IN (subquery)` the planner could instead scan
// and rank the whole table in rank order hoping to stop early, which it misjudged (1.4 s
// for cases with "purchase order" as bench). SQLite looks the IN list up by rowid.
func (s *Service) shape(k kindTable, q query, from *position) func(*sql.Selector) {
	return func(sel *sql.Selector) {
		// Same table name, no alias: inside the subquery the predicates' qualified
		// columns ("tasks"."id") name the subquery's own table.
		candidates := sql.Select(sel.C("id")).From(sql.Table(k.table)).Where(sel.P()).Limit(s.candidates)
		ranked := sql.Select().From(sql.Table(k.table))
		var among *sql.Predicate
		if s.dialect == dialect.Postgres {
			among = sql.P(func(b *sql.Builder) {
				b.WriteString(ranked.C("id") + " = ANY(ARRAY(").Join(candidates).WriteString("))")
			})
		} else {
			among = sql.In(ranked.C("id"), candidates)
		}
		ranked.SelectExpr(sql.ExprFunc(func(b *sql.Builder) { b.Ident(k.table).WriteString(".*") })).
			AppendSelectExprAs(s.rank(k, q, ranked), rankColumn).
			AppendSelectExprAs(sql.Expr("count(*) OVER ()"), totalColumn).
			Where(among)
		sel.From(ranked.As(k.table)).SetP(nil)
		sel.AppendSelect(sel.C(rankColumn), sel.C(totalColumn))
		if from != nil {
			sel.Where(after(k.kind, sel.C(rankColumn), sel.C("id"), *from))
		}
		sel.OrderBy(sql.Desc(sel.C(rankColumn)), sql.Asc(sel.C("id")))
	}
}

// after is the predicate of the rows of kind k that come after position p in the order
// rank descending, kind, id: lower rank; or equal rank and a later kind, or the same
// kind and a higher id.
func after(k Kind, rank, id string, p position) *sql.Predicate {
	switch {
	case k < p.kind:
		return sql.LT(rank, p.rank)
	case k > p.kind:
		return sql.LTE(rank, p.rank)
	}
	return sql.Or(sql.LT(rank, p.rank), sql.And(sql.EQ(rank, p.rank), sql.GT(id, p.id)))
}
