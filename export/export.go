// Package export serves the task and case lists as Excel workbooks:
//
//	GET /export/tasks.xlsx?where=<TaskWhereInput JSON>&orderBy=<[TaskOrder!] JSON>&savedFilter=<id>
//	GET /export/cases.xlsx?where=<CaseWhereInput JSON>&orderBy=<[CaseOrder!] JSON>&savedFilter=<id>
//
// with "Authorization: Bearer <token>". The parameters are optional and take exactly what
// the GraphQL tasks and cases queries take in where, orderBy and savedFilter (a saved
// filter's id, package savedfilters, joined to where with AND), where and orderBy as JSON
// (e.g. where={"businessState":["OPEN"]}&orderBy={"field":"CREATED_AT","direction":"DESC"});
// filter.DecodeTaskList and DecodeCaseList decode them into the same ent inputs, with the
// same custom parts and the GraphQL schema's coercion rules. The
// orderBy is a list of orders (or one, a list of one, as in GraphQL), the first deciding
// first; STATE sorts by the lifecycle and PRIORITY by urgency (ent/schema/rank.go). The
// default order is CREATED_AT ascending; NULLs sort last in either direction, and the id
// breaks ties in the direction of the last order. Unknown
// parameters or fields and broken JSON are HTTP 400 with a GraphQL-style JSON body and
// code BAD_USER_INPUT; a missing or bad token is 401 with code UNAUTHENTICATED.
//
// The list is the one the tasks and cases queries give (package lists): which rows, in
// which order, from the list index. The rows are then read with ent through the
// request's context, so the visibility predicates policy.Install adds to task and case
// queries hold as well, in batches of BatchSize ids inside one read-only transaction
// (one snapshot); a row deleted since the list was read is left out.
//
// Columns of tasks.xlsx: ID, Name, Description, State, Business state, Priority,
// Category, Case ID, Responsibles (current, non-expiry ones: user and role names, comma
// separated), Worker, Creator (user names), Created, Started, Ended, Expiry.
// Columns of cases.xlsx: ID, Name, Description, State, Business state, Category,
// Creator, Owner, Created, Ended. Times are Excel date cells in UTC, truncated to the
// second (shown as yyyy-mm-dd hh:mm:ss; the headers say UTC), so they sort and filter as
// dates in Excel. A sheet
// holds at most Excel's 1,048,575 data rows; longer lists continue on "Tasks 2", ….
//
// Memory does not grow with the list: excelize's StreamWriter keeps up to 16 MiB of
// sheet XML in memory and spills the rest to a temporary file (in os.TempDir), and the
// zip is written straight into the response once the last row is read (see
// workbook.writeTo). The response therefore starts after the database reads end: an
// error before that is a JSON error response, an error while sending aborts the
// connection. BenchmarkExportTasks measures rows per second and the peak heap.
package export

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/lists"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/requestid"
	"github.com/portico-dev/portico/savedfilters"
)

// DefaultBatchSize is how many rows one query reads when Exporter.BatchSize is 0.
const DefaultBatchSize = 1000

// Exporter serves the xlsx exports. Its handlers expect the viewer in the request
// context (auth.Service.Middleware).
type Exporter struct {
	Client *ent.Client
	Policy *policy.Policy
	Lists  *lists.Lists
	// Filters gives the where of the savedFilter parameter.
	Filters *savedfilters.Service
	Log     *slog.Logger
	// BatchSize is how many rows each query reads; 0 means DefaultBatchSize.
	BatchSize int
	// SheetRows is how many data rows a sheet holds before the export continues on a
	// new sheet; 0 means as many as Excel allows.
	SheetRows int
}

// list is one list to export: its sheet title, columns, the ids of its rows in order
// and a reader of the rows of some of them.
type list struct {
	title   string
	columns []column
	ids     []int
	// load reads the rows of ids through client and passes each to emit, in the order
	// of ids.
	load func(ctx context.Context, client *ent.Client, ids []int, emit func([]any) error) error
}

// rawWhere is the where= parameter as the client wrote it, for the list's filter
// compiler (DecodeTaskList and DecodeCaseList checked it against the schema already).
func rawWhere(where string) (any, error) {
	if strings.TrimSpace(where) == "" {
		return nil, nil
	}
	dec := json.NewDecoder(strings.NewReader(where))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return nil, apperr.BadInput("where is not valid JSON: %v", err)
	}
	return raw, nil
}

// Tasks serves GET /export/tasks.xlsx.
func (e *Exporter) Tasks(w http.ResponseWriter, r *http.Request) {
	e.serve(w, r, "tasks.xlsx", e.taskList)
}

// Cases serves GET /export/cases.xlsx.
func (e *Exporter) Cases(w http.ResponseWriter, r *http.Request) {
	e.serve(w, r, "cases.xlsx", e.caseList)
}

// serve checks the viewer and the parameters, reads the list into a workbook and sends it.
func (e *Exporter) serve(w http.ResponseWriter, r *http.Request, filename string,
	open func(ctx context.Context, q query) (*list, error)) {
	ctx := r.Context()
	start := time.Now()
	if _, err := e.Policy.SubjectFrom(ctx); err != nil {
		e.fail(w, r, err)
		return
	}
	q, err := params(r)
	if err != nil {
		e.fail(w, r, err)
		return
	}
	wb, rows, err := e.read(ctx, filename, open, q)
	if err != nil {
		e.fail(w, r, err)
		return
	}
	defer wb.close()
	h := w.Header()
	h.Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", filename))
	h.Set("Cache-Control", "no-store") // the viewer's own data
	h.Set("X-Content-Type-Options", "nosniff")
	if err := wb.writeTo(w); err != nil {
		// The status and part of the body are out: the only honest signal left is to
		// break the connection, so the client cannot take a truncated file as complete.
		// Mostly the client went away, which is no failure of ours.
		level := slog.LevelWarn
		if ctx.Err() != nil {
			level = slog.LevelDebug
		}
		e.Log.Log(ctx, level, "send export", "file", filename, "rows", rows,
			"requestId", requestid.FromContext(ctx), "err", err)
		panic(http.ErrAbortHandler)
	}
	e.Log.Debug("export sent", "file", filename, "rows", rows, "duration", time.Since(start),
		"requestId", requestid.FromContext(ctx))
}

// read reads the list into a new workbook and returns it with its number of rows. The
// list's ids come first, from the list index; then the batches of rows run in one
// read-only transaction, REPEATABLE READ on PostgreSQL (SQLite's transactions are
// snapshots anyway), so they all see one snapshot. The transaction begins after the ids:
// it holds a reader, and the index's sync takes readers too (with every reader held by an
// export waiting for a sync, all of them would wait).
func (e *Exporter) read(ctx context.Context, filename string, open func(context.Context, query) (*list, error),
	q query) (*workbook, int, error) {
	l, err := open(ctx, q)
	if err != nil {
		return nil, 0, err
	}
	tx, err := e.Client.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return nil, 0, fmt.Errorf("export %s: %w", filename, err)
	}
	defer tx.Rollback() // nothing was written
	wb, err := newWorkbook(l.title, l.columns, e.SheetRows)
	if err != nil {
		return nil, 0, fmt.Errorf("start %s: %w", filename, err)
	}
	rows, err := e.fill(ctx, tx.Client(), l, wb)
	if err == nil {
		err = wb.finish()
	}
	if err != nil {
		wb.close()
		return nil, 0, fmt.Errorf("export %s: %w", filename, err)
	}
	return wb, rows, nil
}

// fill reads the list batch by batch through client into the workbook and returns the
// number of rows.
func (e *Exporter) fill(ctx context.Context, client *ent.Client, l *list, wb *workbook) (int, error) {
	n := e.BatchSize
	if n <= 0 {
		n = DefaultBatchSize
	}
	rows := 0
	emit := func(values []any) error {
		rows++
		return wb.add(values)
	}
	for ids := l.ids; len(ids) > 0; ids = ids[min(n, len(ids)):] {
		if err := l.load(ctx, client, ids[:min(n, len(ids))], emit); err != nil {
			return rows, err
		}
	}
	return rows, nil
}

// query is an export's parameters.
type query struct {
	where, orderBy string
	savedFilter    *int // nil: none
}

// params returns the where, orderBy and savedFilter query parameters, refusing any
// other (a misspelt filter must not silently export everything).
func params(r *http.Request) (query, error) {
	q := r.URL.Query()
	for name, vs := range q {
		switch {
		case name != "where" && name != "orderBy" && name != "savedFilter":
			return query{}, apperr.BadInput("unknown query parameter %q; the export takes where and orderBy, each a JSON object as in the GraphQL list query, and savedFilter, a saved filter's id", truncate(name))
		case len(vs) > 1:
			return query{}, apperr.BadInput("query parameter %s is given %d times; give it once", name, len(vs))
		}
	}
	out := query{where: q.Get("where"), orderBy: q.Get("orderBy")}
	if q.Has("savedFilter") {
		id, err := strconv.ParseInt(q.Get("savedFilter"), 10, 0)
		if err != nil {
			return query{}, apperr.BadInput("savedFilter %q is not a saved filter's id (an integer, as savedFilters gives it)", truncate(q.Get("savedFilter")))
		}
		n := int(id)
		out.savedFilter = &n
	}
	return out, nil
}

// truncate keeps a parameter short in a message.
func truncate(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

// savedWhere joins the saved filter of q to the where of the list (raw).
func (e *Exporter) savedWhere(ctx context.Context, q query, kind savedfilters.Kind, raw any) (any, error) {
	if q.savedFilter == nil {
		return raw, nil
	}
	if e.Filters == nil {
		return nil, apperr.BadInput("this server exports no saved filters")
	}
	if kind == savedfilters.Cases {
		return e.Filters.CaseWhere(ctx, q.savedFilter, raw)
	}
	return e.Filters.TaskWhere(ctx, q.savedFilter, raw)
}

// fail answers with a GraphQL-style error body: {"errors":[{"message","extensions":{"code"}}]},
// the HTTP status following the code. Errors other than domain errors are logged with the
// request id and masked, as the GraphQL error presenter does.
func (e *Exporter) fail(w http.ResponseWriter, r *http.Request, err error) {
	ctx := r.Context()
	ae, ok := apperr.As(err)
	if !ok {
		id := requestid.FromContext(ctx)
		e.Log.Log(ctx, levelOf(ctx, err), "internal error", "requestId", id, "path", r.URL.Path, "err", err)
		ae = &apperr.Error{Code: apperr.CodeInternal,
			Message:    fmt.Sprintf("internal error; quote request id %s when reporting it", id),
			Extensions: map[string]any{"requestId": id}}
	}
	ext := map[string]any{"code": ae.Code}
	for k, v := range ae.Extensions {
		ext[k] = v
	}
	body := map[string]any{"errors": []any{map[string]any{"message": ae.Message, "extensions": ext}}}
	status := statusOf(ae.Code)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", "Bearer")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(body); err != nil {
		e.Log.Debug("write export error", "err", err)
	}
}

// statusOf maps an error code to its HTTP status.
func statusOf(c apperr.Code) int {
	switch c {
	case apperr.CodeUnauthenticated:
		return http.StatusUnauthorized
	case apperr.CodeForbidden:
		return http.StatusForbidden
	case apperr.CodeNotFound:
		return http.StatusNotFound
	case apperr.CodeBadUserInput:
		return http.StatusBadRequest
	case apperr.CodeConflict:
		return http.StatusConflict
	default:
		return http.StatusInternalServerError
	}
}

// levelOf logs a client that went away at Debug: nothing failed on our side.
func levelOf(ctx context.Context, err error) slog.Level {
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return slog.LevelDebug
	}
	return slog.LevelError
}

// badWhere is the answer to a where its filter refuses (ent's only refusal is an empty
// object inside and, or or not).
func badWhere(err error) error {
	return apperr.BadInput("where: %v (an empty object inside and, or or not filters nothing; leave it out)", err)
}
