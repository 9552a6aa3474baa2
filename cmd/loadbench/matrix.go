package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// A shape is one list request of the matrix: the tasks or cases list, first 50, with
// totalCount, the nodes and pageInfo, and these arguments.
type shape struct {
	Name string
	List string // "tasks" or "cases"
	// Args are the list's arguments besides first and after; %CREATOR% stands for the
	// id of a creator of the viewer's cases (the creator filter).
	Args string
	// Where is the SQL condition the shape's where input stands for, on the list's table
	// as t (tasks) or c (cases), for the reference count; "" for none.
	Where func(dialect string) string
	Page  int // the page measured, following endCursor from the first (0 and 1: the first)
}

const (
	newestFirst = `orderBy: [{field: CREATED_AT, direction: DESC}]`
	openWhere   = `where: {businessState: [OPEN]}`
)

func sqlConst(s string) func(string) string { return func(string) string { return s } }

// Shapes are every list shape of the matrix. Filters are asked newest first, like the
// portal's lists; "unordered" is the list without orderBy. Order lists are written in the
// list form (a single object is the one-element list in GraphQL input coercion).
var Shapes = []shape{
	{Name: "tasks newest", List: "tasks", Args: newestFirst},
	{Name: "tasks open by priority", List: "tasks", Args: openWhere + `, orderBy: [{field: PRIORITY, direction: DESC}]`,
		Where: sqlConst(`t.state IN ('SUSPENDED', 'PARKED')`)},
	{Name: "tasks by expiry", List: "tasks", Args: `orderBy: [{field: EXPIRY_TIMESTAMP, direction: ASC}]`},
	{Name: "tasks unordered", List: "tasks"},
	{Name: "tasks open by priority, expiry", List: "tasks",
		Args:  openWhere + `, orderBy: [{field: PRIORITY, direction: DESC}, {field: EXPIRY_TIMESTAMP, direction: ASC}]`,
		Where: sqlConst(`t.state IN ('SUSPENDED', 'PARKED')`)},
	{Name: "tasks category", List: "tasks", Args: `where: {category: "Finance"}, ` + newestFirst,
		Where: sqlConst(`t.category = 'Finance'`)},
	{Name: "tasks text", List: "tasks", Args: `where: {text: "invoice"}, ` + newestFirst,
		Where: sqlConst(`(LOWER(t.name) LIKE '%invoice%' OR LOWER(t.description) LIKE '%invoice%')`)},
	{Name: "tasks custom field", List: "tasks", Args: `where: {customFields: [{name: "region", equals: "EU"}]}, ` + newestFirst,
		Where: func(d string) string {
			if d == "postgres" {
				return `t.custom_fields ->> 'region' = 'EU'`
			}
			return `json_extract(t.custom_fields, '$.region') = 'EU'`
		}},
	{Name: "tasks newest page 5", List: "tasks", Args: newestFirst, Page: 5},

	{Name: "cases newest", List: "cases", Args: newestFirst},
	{Name: "cases by name", List: "cases", Args: `orderBy: [{field: NAME, direction: ASC}]`},
	{Name: "cases by state", List: "cases", Args: `orderBy: [{field: STATE, direction: ASC}]`},
	{Name: "cases open", List: "cases", Args: openWhere + `, ` + newestFirst,
		Where: sqlConst(`c.state IN ('CREATED', 'RUNNING')`)},
	{Name: "cases category", List: "cases", Args: `where: {category: "Finance"}, ` + newestFirst,
		Where: sqlConst(`c.category = 'Finance'`)},
	// Case names are "<kind> <number>"; "order" is in one kind of six (Purchase order).
	{Name: "cases text", List: "cases", Args: `where: {text: "order"}, ` + newestFirst,
		Where: sqlConst(`(LOWER(c.name) LIKE '%order%' OR LOWER(c.description) LIKE '%order%')`)},
	{Name: "cases creator", List: "cases", Args: `where: {creatorID: "%CREATOR%"}, ` + newestFirst,
		Where: sqlConst(`c.creator_id = %CREATOR%`)},
	{Name: "cases newest page 5", List: "cases", Args: newestFirst, Page: 5},
}

// nodeFields are the fields asked of each node.
var nodeFields = map[string]string{
	"tasks": "id name state priority businessState category createdAt expiryTimestamp",
	"cases": "id name state category createdAt",
}

// query returns the shape's GraphQL query; it takes $after. With singleOrder the order
// list becomes its first element, for servers whose orderBy takes one object.
func (s shape) query(creator string, singleOrder bool) string {
	args := strings.ReplaceAll(s.Args, "%CREATOR%", creator)
	if singleOrder {
		args = singleOrderBy(args)
	}
	if args != "" {
		args = ", " + args
	}
	return fmt.Sprintf(`query($after: Cursor) { %s(first: 50, after: $after%s) { totalCount edges { node { %s } } pageInfo { hasNextPage endCursor } } }`,
		s.List, args, nodeFields[s.List])
}

var orderList = regexp.MustCompile(`orderBy: \[(\{[^}]*\})[^\]]*\]`)

// singleOrderBy replaces an order list by its first element.
func singleOrderBy(args string) string { return orderList.ReplaceAllString(args, "orderBy: $1") }

// A viewer is a user the matrix logs in as; All: it reads every task and case
// (TaskReadAll and CaseReadAll), which its reference counts assume.
type viewer struct {
	Name, Password string
	All            bool
	token          string
	id             int64 // from the database, for the reference counts
}

// parseViewers reads name:password[:all],… .
func parseViewers(s string) ([]viewer, error) {
	var vs []viewer
	for f := range strings.SplitSeq(s, ",") {
		p := strings.Split(strings.TrimSpace(f), ":")
		if len(p) < 2 || len(p) > 3 || p[0] == "" || (len(p) == 3 && p[2] != "all") {
			return nil, fmt.Errorf("bad viewer %q: want name:password or name:password:all", f)
		}
		vs = append(vs, viewer{Name: p[0], Password: p[1], All: len(p) == 3})
	}
	return vs, nil
}

// listResponse is a response to a shape's query.
type listResponse struct {
	Data   map[string]*listPage
	Errors []struct{ Message string }
}

type listPage struct {
	TotalCount int
	Edges      []json.RawMessage
	PageInfo   struct {
		HasNextPage bool
		EndCursor   string
	}
}

// gql posts a query with variables as token and decodes the data into out (nil: not
// decoded); GraphQL errors are errors.
func gql(ctx context.Context, client *http.Client, u, token, query string, vars map[string]any, out any) error {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	status, raw, _, err := post(ctx, client, u, token, body)
	if err != nil {
		return err
	}
	var r struct {
		Data   json.RawMessage
		Errors []struct{ Message string }
	}
	if status != http.StatusOK || json.Unmarshal(raw, &r) != nil {
		return fmt.Errorf("HTTP %d: %.300s", status, raw)
	}
	if len(r.Errors) > 0 {
		return fmt.Errorf("graphql error: %s", r.Errors[0].Message)
	}
	if out != nil {
		return json.Unmarshal(r.Data, out)
	}
	return nil
}

// checkPage accepts a response to a shape's query: HTTP 200, no errors, the list, and a
// plausible page. Read-only, the page is full (50 edges or what is left at page n);
// under writes the count and the page may come from different moments, so only at most 50.
func checkPage(list string, page int, writes bool) func(int, []byte) error {
	return func(status int, raw []byte) error {
		var r listResponse
		if status != http.StatusOK {
			return fmt.Errorf("HTTP %d: %.200s", status, raw)
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return fmt.Errorf("not JSON: %.200s", raw)
		}
		if len(r.Errors) > 0 {
			return fmt.Errorf("graphql error: %s", r.Errors[0].Message)
		}
		p := r.Data[list]
		if p == nil {
			return fmt.Errorf("no %s in the response: %.200s", list, raw)
		}
		want := min(50, max(0, p.TotalCount-50*(max(page, 1)-1)))
		if len(p.Edges) > 50 || (!writes && len(p.Edges) != want) {
			return fmt.Errorf("%d edges of totalCount %d on page %d", len(p.Edges), p.TotalCount, max(page, 1))
		}
		return nil
	}
}

// Cell is one shape as one viewer in one pass (read-only or with writes).
type Cell struct {
	Shape      string   `json:"shape"`
	Viewer     string   `json:"viewer"`
	Writes     bool     `json:"writes"`
	TotalCount int      `json:"totalCount"` // of the first check or preparation
	Levels     []Result `json:"levels"`
	Checks     int      `json:"countChecks"`
	Mismatches []string `json:"countMismatches,omitempty"`
	Error      string   `json:"error,omitempty"` // preparation failed: nothing measured
}

func (c *Cell) level(n int) *Result {
	for i := range c.Levels {
		if c.Levels[i].Concurrency == n {
			return &c.Levels[i]
		}
	}
	return nil
}

// prepare returns the variables of the measured request of s as v: the cursor of page
// s.Page, found by following endCursor, and the creator id for %CREATOR%; and the
// totalCount seen.
func prepare(ctx context.Context, client *http.Client, cfg config, s shape, v *viewer) (query string, vars map[string]any, total int, err error) {
	creator := ""
	if strings.Contains(s.Args, "%CREATOR%") {
		// The creator of the viewer's newest case.
		var out struct {
			Cases struct {
				Edges []struct{ Node struct{ CreatorID *string } }
			}
		}
		q := `query { cases(first: 1, orderBy: {field: CREATED_AT, direction: DESC}, where: {creatorIDNotNil: true}) { edges { node { creatorID } } } }`
		if err := gql(ctx, client, cfg.URL, v.token, q, nil, &out); err != nil {
			return "", nil, 0, fmt.Errorf("find a creator: %w", err)
		}
		if len(out.Cases.Edges) == 0 || out.Cases.Edges[0].Node.CreatorID == nil {
			return "", nil, 0, fmt.Errorf("find a creator: %s sees no case with a creator", v.Name)
		}
		creator = *out.Cases.Edges[0].Node.CreatorID
	}
	query = s.query(creator, cfg.SingleOrder)
	vars = map[string]any{"after": nil}
	for p := 1; ; p++ {
		var out map[string]*listPage
		if err := gql(ctx, client, cfg.URL, v.token, query, vars, &out); err != nil {
			return "", nil, 0, err
		}
		page := out[s.List]
		if page == nil {
			return "", nil, 0, fmt.Errorf("no %s in the response", s.List)
		}
		total = page.TotalCount
		if p >= s.Page-1 || !page.PageInfo.HasNextPage {
			if s.Page > 1 && page.PageInfo.EndCursor != "" {
				vars["after"] = page.PageInfo.EndCursor
			}
			return query, vars, total, nil
		}
		vars["after"] = page.PageInfo.EndCursor
	}
}

// runMatrix measures every shape as every viewer at every level, read-only and, with
// -writes, again while the writer runs, checking totalCount against the database.
func runMatrix(ctx context.Context, cfg config, logf func(string, ...any)) ([]Cell, error) {
	if err := checkLoopback(cfg.URL); err != nil {
		return nil, err
	}
	most := max(32, cfg.Levels[len(cfg.Levels)-1])
	for _, n := range cfg.Levels {
		most = max(most, n)
	}
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConns: most + 4, MaxIdleConnsPerHost: most + 4}}
	defer client.CloseIdleConnections()
	viewers := cfg.Viewers
	for i := range viewers {
		tok, err := login(ctx, client, config{URL: cfg.URL, User: viewers[i].Name, Password: viewers[i].Password})
		if err != nil {
			return nil, err
		}
		viewers[i].token = tok
	}
	var ref *reference
	if cfg.DatabaseURL != "" {
		var err error
		if ref, err = openReference(cfg.DatabaseURL); err != nil {
			return nil, err
		}
		defer ref.Close()
		for i := range viewers {
			if viewers[i].id, err = ref.userID(ctx, viewers[i].Name); err != nil {
				return nil, err
			}
		}
	}
	passes := []bool{false}
	if cfg.Writes > 0 {
		passes = append(passes, true)
	}
	var cells []Cell
	for _, writes := range passes {
		var w *writer
		if writes {
			var err error
			if w, err = startWriter(ctx, client, cfg, viewers, logf); err != nil {
				return cells, err
			}
		}
		for _, s := range cfg.Shapes {
			for i := range viewers {
				if ctx.Err() != nil {
					break
				}
				c := measureCell(ctx, client, cfg, s, &viewers[i], writes, w, ref)
				logf("%s", c.logLine())
				cells = append(cells, c)
			}
		}
		if w != nil {
			st := w.stop()
			logf("writer: %d writes, %d failed%s", st.done, st.failed, firstErr(st.first))
			if st.done == 0 || st.failed > 0 {
				cells = append(cells, Cell{Shape: "writer", Viewer: "-", Writes: true,
					Error: fmt.Sprintf("%d writes, %d failed%s", st.done, st.failed, firstErr(st.first))})
			}
		}
	}
	return cells, ctx.Err()
}

func firstErr(s string) string {
	if s == "" {
		return ""
	}
	return ", first: " + s
}

func measureCell(ctx context.Context, client *http.Client, cfg config, s shape, v *viewer, writes bool, w *writer, ref *reference) Cell {
	c := Cell{Shape: s.Name, Viewer: v.Name, Writes: writes}
	query, vars, total, err := prepare(ctx, client, cfg, s, v)
	if err != nil {
		c.Error = err.Error()
		return c
	}
	c.TotalCount = total
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	for _, n := range cfg.Levels {
		c.Levels = append(c.Levels, measureBody(ctx, client, cfg.URL, v.token, body, n, cfg.Warmup, cfg.Duration, checkPage(s.List, s.Page, writes)))
	}
	if ref == nil {
		return c
	}
	checks := 1
	if writes {
		checks = cfg.Checks
	}
	for k := range checks {
		if k > 0 {
			time.Sleep(cfg.CheckGap) // let the writer change something
		}
		got, want, err := countCheck(ctx, client, cfg, s, v, query, vars, w, ref)
		c.Checks++
		if k == 0 {
			c.TotalCount = got
		}
		switch {
		case err != nil:
			c.Mismatches = append(c.Mismatches, err.Error())
		case got != want:
			c.Mismatches = append(c.Mismatches, fmt.Sprintf("totalCount %d, the database counts %d", got, want))
		}
	}
	return c
}

// countCheck pauses the writer (waiting for a write in flight), asks the list for its
// totalCount and the database for the reference count, and resumes the writer.
func countCheck(ctx context.Context, client *http.Client, cfg config, s shape, v *viewer, query string, vars map[string]any,
	w *writer, ref *reference) (got, want int, err error) {
	if w != nil {
		w.mu.Lock()
		defer w.mu.Unlock()
	}
	var out map[string]*listPage
	if err := gql(ctx, client, cfg.URL, v.token, query, vars, &out); err != nil {
		return 0, 0, err
	}
	if out[s.List] == nil {
		return 0, 0, fmt.Errorf("no %s in the response", s.List)
	}
	got = out[s.List].TotalCount
	creator := ""
	if strings.Contains(s.Args, "%CREATOR%") {
		creator = creatorOf(query)
	}
	want, err = ref.count(ctx, s, v, creator)
	return got, want, err
}

var creatorArg = regexp.MustCompile(`creatorID: "([0-9]+)"`)

func creatorOf(query string) string {
	if m := creatorArg.FindStringSubmatch(query); m != nil {
		return m[1]
	}
	return "0"
}

func (c Cell) logLine() string {
	var b strings.Builder
	mode := "read-only"
	if c.Writes {
		mode = "writes"
	}
	fmt.Fprintf(&b, "%s | %s | %s | total %d", mode, c.Shape, c.Viewer, c.TotalCount)
	if c.Error != "" {
		fmt.Fprintf(&b, " | error: %s", c.Error)
	}
	for _, r := range c.Levels {
		fmt.Fprintf(&b, " | c%d %.1f req/s p50 %.1f p99 %.1f ms fail %d", r.Concurrency, r.Throughput, r.P50, r.P99, r.Failures)
	}
	if c.Checks > 0 {
		fmt.Fprintf(&b, " | %d count checks, %d mismatches", c.Checks, len(c.Mismatches))
	}
	return b.String()
}
