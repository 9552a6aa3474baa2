// Package search is the global full-text search over the tasks, cases and processes a
// viewer may see: PostgreSQL text search over generated tsvector columns with GIN
// indexes, SQLite FTS5 tables (both made by the migrations *_search.sql), results of
// the three kinds merged by rank and paginated with an opaque cursor.
//
// Visibility is never checked here: each kind is an ent query, to which the
// interceptors of policy.Install add the viewer's visibility in the same SQL statement,
// like to any other task, case or process query. For an administrator that is the
// visibility predicate next to the text match. For a viewer who sees part of the tasks
// or cases, policy searches each of the viewer's sources of visibility for the text
// (policy.SearchTasks, SearchCases) and the query reads only what that finds: on
// PostgreSQL from copies of each task's text keyed by its responsible roles and users
// (migration *_search_visibility.sql), so the work follows the viewer's matches, not
// the number of visible rows or of all matches.
//
// Ranking is bounded: of each kind, at most MaxCandidates visible matches are ranked
// (query.go explains why and which ones). Below that, which is any text more specific
// than one common word, the ranking is exact.
package search

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/sync/errgroup"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/policy"
)

const (
	// DefaultFirst is the page size when the request gives none; MaxFirst the largest.
	DefaultFirst = 20
	MaxFirst     = 100
	// MaxTextLength: texts this long or longer are refused (characters, not bytes).
	MaxTextLength = 200
	// minPrefixLength is the shortest last word that also matches longer words: a
	// single letter would match a large part of any vocabulary.
	minPrefixLength = 2
)

// Service searches one database.
type Service struct {
	client     *ent.Client
	dialect    string
	policy     *policy.Policy // installed on client
	candidates int            // MaxCandidates; smaller in tests
}

// New returns the search over client, whose database is of the ent dialect d and on
// which pol is installed.
func New(client *ent.Client, d string, pol *policy.Policy) *Service {
	return &Service{client: client, dialect: d, policy: pol, candidates: MaxCandidates}
}

// Hit is one result: a task, case or process with its rank (higher is better).
type Hit struct {
	Node ent.Noder // *ent.Task, *ent.BusinessCase or *ent.Process
	Kind Kind
	ID   int
	Rank float64
}

// Cursor returns the cursor of the hit: the results after it are the next page.
func (h Hit) Cursor() ent.Cursor {
	return ent.Cursor{ID: h.ID, Value: h.Kind.String() + "|" + strconv.FormatFloat(h.Rank, 'g', -1, 64)}
}

// Result is one page of results, best first.
type Result struct {
	Hits []Hit
	// HasNextPage says whether results follow the last hit.
	HasNextPage bool
	// Total is the number of results of the search on all pages; exact when Search was
	// asked for it.
	Total int
}

// Search returns the page of first results (DefaultFirst when nil) after the cursor
// after (from the start when nil) for text, among the tasks, cases and processes the
// viewer of ctx may see; with total, it also counts them. Bad input is BAD_USER_INPUT
// with a message saying what would be accepted.
func (s *Service) Search(ctx context.Context, text string, first *int, after *ent.Cursor, total bool) (*Result, error) {
	q, err := parse(text)
	if err != nil {
		return nil, err
	}
	n := DefaultFirst
	if first != nil {
		n = *first
	}
	if n < 0 || n > MaxFirst {
		return nil, apperr.BadInput("first must be between 0 and %d, not %d", MaxFirst, n)
	}
	var from *position
	if after != nil {
		if from, err = decodeCursor(after); err != nil {
			return nil, err
		}
	}
	// The kinds are independent queries: run them side by side.
	res := &Result{}
	pages := make([][]Hit, len(kinds))
	counts := make([]int, len(kinds))
	g, gctx := errgroup.WithContext(ctx)
	for i, k := range kinds {
		g.Go(func() error {
			var err error
			pages[i], counts[i], err = s.page(gctx, k, q, from, n+1)
			switch {
			case err != nil || counts[i] >= 0:
			case !total || from == nil:
				counts[i] = 0 // no results at all, or no count asked
			default:
				// Every result of the kind comes before the cursor: count them apart.
				counts[i], err = s.count(gctx, k, q)
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	// Each kind gave its first n+1 results after the cursor, so the first n+1 of all
	// three merged are the first n+1 overall.
	hits := slices.Concat(pages...)
	slices.SortFunc(hits, func(a, b Hit) int {
		return position{a.Rank, a.Kind, a.ID}.compare(position{b.Rank, b.Kind, b.ID})
	})
	res.HasNextPage = len(hits) > n
	res.Hits = hits[:min(n, len(hits))]
	for _, c := range counts {
		res.Total += c
	}
	return res, nil
}

// Kind is the kind of a result. Results of equal rank come in this order of kinds.
type Kind int

// The kinds of results.
const (
	KindTask Kind = iota
	KindCase
	KindProcess
)

func (k Kind) String() string {
	switch k {
	case KindTask:
		return "task"
	case KindCase:
		return "case"
	case KindProcess:
		return "process"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// position is a result's place in the order of results: rank descending, then kind,
// then id ascending. A cursor is the position of the last result of a page.
type position struct {
	rank float64
	kind Kind
	id   int
}

// compare orders positions: negative when p comes before o.
func (p position) compare(o position) int {
	if c := cmp.Compare(o.rank, p.rank); c != 0 {
		return c
	}
	if c := cmp.Compare(p.kind, o.kind); c != 0 {
		return c
	}
	return cmp.Compare(p.id, o.id)
}

// decodeCursor reads a cursor made by Hit.Cursor.
func decodeCursor(c *ent.Cursor) (*position, error) {
	bad := apperr.BadInput("after is not a cursor of search results; pass the endCursor or an edge cursor of a previous search page")
	v, ok := c.Value.(string)
	if !ok {
		return nil, bad
	}
	kind, rank, ok := strings.Cut(v, "|")
	if !ok {
		return nil, bad
	}
	p := &position{id: c.ID, kind: -1}
	for _, k := range []Kind{KindTask, KindCase, KindProcess} {
		if k.String() == kind {
			p.kind = k
		}
	}
	r, err := strconv.ParseFloat(rank, 64)
	if err != nil || p.kind < 0 {
		return nil, bad
	}
	p.rank = r
	return p, nil
}

// query is a parsed search text: the words every result must contain.
type query struct {
	words []string // lower case, letters, digits and combining marks only
	// prefix: the last word also matches the words it begins ("inv" finds "invoice"), as
	// while typing. Not when the text ends in a space or the word is very short.
	prefix bool
}

// parse splits text into words at everything but letters and digits, which is about
// where PostgreSQL's parser and FTS5's unicode61 tokenizer split documents.
func parse(text string) (query, error) {
	if strings.TrimSpace(text) == "" {
		return query{}, apperr.BadInput("search text is empty; type at least one word to search for")
	}
	if n := utf8.RuneCountInString(text); n >= MaxTextLength {
		return query{}, apperr.BadInput("search text is %d characters long; use fewer than %d characters", n, MaxTextLength)
	}
	var q query
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.Is(unicode.Mn, r)
	}) {
		// A run of combining marks alone is no word to either tokenizer.
		if strings.IndexFunc(w, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }) >= 0 {
			q.words = append(q.words, w)
		}
	}
	if len(q.words) == 0 {
		return query{}, apperr.BadInput("search text %q has no letters or digits to search for", text)
	}
	last, _ := utf8.DecodeLastRuneInString(text)
	q.prefix = !unicode.IsSpace(last) && utf8.RuneCountInString(q.words[len(q.words)-1]) >= minPrefixLength
	return q, nil
}

// tsquery is q for PostgreSQL's to_tsquery: the words quoted and joined by AND, the last
// one with :* when it is a prefix.
func (q query) tsquery() string {
	var b strings.Builder
	for i, w := range q.words {
		if i > 0 {
			b.WriteString(" & ")
		}
		b.WriteString("'" + strings.NewReplacer(`'`, `''`, `\`, `\\`).Replace(w) + "'")
		if q.prefix && i == len(q.words)-1 {
			b.WriteString(":*")
		}
	}
	return b.String()
}

// fts5 is q in FTS5's query syntax: each word a quoted string (implicitly AND), the last
// one with * when it is a prefix.
func (q query) fts5() string {
	var b strings.Builder
	for i, w := range q.words {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(`"` + strings.ReplaceAll(w, `"`, `""`) + `"`)
		if q.prefix && i == len(q.words)-1 {
			b.WriteByte('*')
		}
	}
	return b.String()
}
