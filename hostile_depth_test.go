package portico_test

// Deeply nested and huge input values (issue 11, items 5 and 13): refused with
// BAD_USER_INPUT before execution, through GraphQL variables, inline literals and the
// export's where=, on both databases.

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/servertest"
)

// nested wraps inner in n levels of open … close.
func nested(n int, open, inner, close string) string {
	return strings.Repeat(open, n) + inner + strings.Repeat(close, n)
}

func jsonValue(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// doFast runs a request and fails when it takes longer than a loaded machine needs.
func doFast(t *testing.T, c *servertest.Client, query string, vars map[string]any) *servertest.Response {
	t.Helper()
	start := time.Now()
	r := c.Do(t, query, vars)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("answered after %v", d)
	}
	return r
}

// TestHostileInputDepth: where nested 1,000 and 5,000 levels (not, and lists) was
// INTERNAL after 0.6 s and 5 s; lists of 100,000 elements passed the token limit.
func TestHostileInputDepth(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, demo())
		admin := srv.Login(t, "admin", "admin")
		const q = `query($w: TaskWhereInput) { tasks(where: $w) { totalCount } }`
		for _, n := range []int{1000, 5000} {
			for _, w := range []string{
				nested(n, `{"not":`, `{"nameNEQ":"x"}`, `}`),
				nested(min(n, 4000), `{"and":[`, `{"nameNEQ":"x"}`, `]}`), // encoding/json stops at 10,000
				nested(min(n, 4000), `{"or":[`, `{"nameNEQ":"x"}`, `]}`),
			} {
				r := doFast(t, admin, q, map[string]any{"w": jsonValue(t, w)})
				wantErr(t, r, "BAD_USER_INPUT", "nested more than")
			}
		}
		// Inline: 500 levels pass the token limit and gqlparser's own nesting limit (1,000).
		for _, w := range []string{
			nested(500, `{not:`, `{nameNEQ:"x"}`, `}`),
			nested(400, `{and:[`, `{nameNEQ:"x"}`, `]}`),
		} {
			r := doFast(t, admin, `{ tasks(where: `+w+`) { totalCount } }`, nil)
			wantErr(t, r, "BAD_USER_INPUT", "nested more than")
		}
		r := doFast(t, admin, `{ cases(where: `+nested(500, `{not:`, `{nameNEQ:"x"}`, `}`)+`) { totalCount } }`, nil)
		wantErr(t, r, "BAD_USER_INPUT", "nested more than")
		// A JSON scalar argument is bounded the same way.
		r = doFast(t, admin, `query($w: TaskWhereInput, $j: Map) { tasks(where: $w) { totalCount } }`,
			map[string]any{"j": jsonValue(t, nested(5000, `[`, `1`, `]`))})
		if r.Code() != "BAD_USER_INPUT" {
			t.Errorf("deep JSON variable: %+v", r.Errors)
		}
		// A huge list through variables, within the body limit.
		big := make([]any, 50_000) // 100,000 exceed the 1 MiB body limit
		for i := range big {
			big[i] = map[string]any{"nameNEQ": "x"}
		}
		r = doFast(t, admin, q, map[string]any{"w": map[string]any{"and": big}})
		wantErr(t, r, "BAD_USER_INPUT", "more than 1000")
		// A legitimate nested filter still works.
		var out struct{ Tasks struct{ TotalCount int } }
		admin.MustDo(t, q, map[string]any{"w": jsonValue(t, `{"and":[{"or":[{"nameNEQ":"x"},{"nameNEQ":"y"}]}]}`)}, &out)
		admin.MustDo(t, `{ tasks(where: {and: [{or: [{nameNEQ: "x"}, {not: {nameNEQ: "y"}}]}]}) { totalCount } }`, nil, &out)

		// The export's where=.
		for _, w := range []string{nested(5000, `{"not":`, `{"nameNEQ":"x"}`, `}`), `{"and":[` + strings.Repeat(`{"nameNEQ":"x"},`, 5000) + `{}]}`} {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/export/tasks.xlsx?"+url.Values{"where": {w}}.Encode(), nil)
			req.Header.Set("Authorization", "Bearer "+admin.Token)
			start := time.Now()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("export answered after %v", d)
			}
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "BAD_USER_INPUT") {
				t.Errorf("export where %.40s…: HTTP %d: %.200s", w, resp.StatusCode, body)
			}
		}
	})
}
