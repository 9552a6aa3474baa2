package search_test

import (
	"cmp"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/search"
	"github.com/portico-dev/portico/servertest"
)

// BenchEnv names the variable with the URL of a PostgreSQL database holding the
// benchmark data set (portico seed-bench); the benchmarks below skip without it.
const BenchEnv = "PORTICO_SEARCH_BENCH_URL"

// benchTexts are 200 search texts over the words of the benchmark data
// (benchdata/gen.go: task names are verb + noun, case names kind + number): single
// verbs and nouns (each in every eighth task), verb + noun, prefixes as typed, case
// kinds, and words that match nothing.
func benchTexts() []string {
	verbs := []string{"Review", "Approve", "Check", "Sign", "Complete", "Verify", "Update", "Prepare"}
	nouns := []string{"invoice", "contract", "request", "report", "order", "form", "documents", "budget"}
	var texts []string
	for i, v := range verbs {
		n := nouns[(i*3)%len(nouns)]
		texts = append(texts,
			v, n, v+" "+n, strings.ToLower(v[:3]), n[:4], v+" "+n[:3], n+" "+v+" ",
			"Purchase order", "Vacation", "onboarding 0001", "zebra", v+" zebra")
	}
	for _, n := range nouns {
		for _, v := range verbs {
			texts = append(texts, v+" "+n)
		}
		texts = append(texts, n+" "+n[:2], "expense report", "contract review", "incident 00012", "nothing here")
	}
	return texts[:200]
}

const benchQuery = `query($text: String!) {
  search(text: $text, first: 20) {
    %s
    pageInfo { hasNextPage endCursor }
    edges { cursor rank node {
      __typename
      ... on Task { id name state }
      ... on Case { id name caseState: state }
      ... on Process { id name }
    } }
  }
}`

// BenchmarkSearch measures search requests over HTTP against a server on the
// benchmark database, as bench (about 12,000 visible tasks) and as admin (all), with
// and without totalCount, one text of benchTexts per operation; it reports latency
// percentiles. Run it with -benchtime=200x to send each text once:
//
//	PORTICO_SEARCH_BENCH_URL='postgres://postgres@127.0.0.1:5432/portico_bench?sslmode=disable' \
//	  go test ./search -run '^$' -bench BenchmarkSearch -benchtime 200x
func BenchmarkSearch(b *testing.B) {
	url := os.Getenv(BenchEnv)
	if url == "" {
		b.Skipf("set %s to a database made by portico seed-bench", BenchEnv)
	}
	srv := servertest.Start(b, "postgres", portico.Config{DatabaseURL: url, DB: database.Options{MaxConns: servertest.ProductionPools}})
	texts := benchTexts()
	for _, user := range []string{"bench", "admin"} {
		c := srv.Login(b, user, user)
		for _, total := range []bool{false, true} {
			query := fmt.Sprintf(benchQuery, map[bool]string{true: "totalCount"}[total])
			name := user + map[bool]string{false: "/page", true: "/page+totalCount"}[total]
			b.Run(name, func(b *testing.B) {
				// Warm up: every text once, so that the measured requests find the
				// pages of their rows in memory as a running server would.
				for _, text := range texts {
					c.MustDo(b, query, map[string]any{"text": text}, nil)
				}
				lat := make([]time.Duration, 0, b.N)
				slowest := map[string]time.Duration{}
				b.ResetTimer()
				for i := range b.N {
					text := texts[i%len(texts)]
					start := time.Now()
					c.MustDo(b, query, map[string]any{"text": text}, nil)
					d := time.Since(start)
					lat = append(lat, d)
					slowest[text] = max(slowest[text], d)
				}
				b.StopTimer()
				slices.Sort(lat)
				byTime := slices.Collect(maps.Keys(slowest))
				slices.SortFunc(byTime, func(x, y string) int { return cmp.Compare(slowest[y], slowest[x]) })
				for _, text := range byTime[:min(5, len(byTime))] {
					b.Logf("slow: %q %v", text, slowest[text].Round(time.Millisecond))
				}
				pct := func(p float64) float64 {
					return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
				}
				b.ReportMetric(pct(0.50), "p50-ms")
				b.ReportMetric(pct(0.90), "p90-ms")
				b.ReportMetric(pct(0.99), "p99-ms")
				b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
			})
		}
	}
}

// TestExplainSearch logs EXPLAIN (ANALYZE, BUFFERS) of the statements a search runs on
// the benchmark database, as bench and as admin, for a few texts. It skips without
// PORTICO_SEARCH_BENCH_URL:
//
//	PORTICO_SEARCH_BENCH_URL=… go test ./search -run TestExplainSearch -v
func TestExplainSearch(t *testing.T) {
	url := os.Getenv(BenchEnv)
	if url == "" {
		t.Skipf("set %s to a database made by portico seed-bench", BenchEnv)
	}
	// Records the search statements (those with a LIMIT of MaxCandidates).
	// The search statements are those with a LIMIT of MaxCandidates (run in read-only
	// transactions on PostgreSQL, which the recorder follows).
	rec := &servertest.Recorder{Match: func(q string) bool { return strings.Contains(q, fmt.Sprintf("LIMIT %d", search.MaxCandidates)) }}
	srv := servertest.Start(t, "postgres", portico.Config{DatabaseURL: url, WrapDriver: rec.Wrap})
	_, db, err := database.Connect(url) // as the server's sessions: JIT off
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, user := range []string{"bench", "admin"} {
		c := srv.Login(t, user, user)
		for _, text := range explainTexts {
			rec.Start()
			c.MustDo(t, fmt.Sprintf(benchQuery, "totalCount"), map[string]any{"text": text}, nil)
			for _, st := range rec.Stop() {
				// As search runs it: in a transaction with sequential scans off.
				tx, err := db.Begin()
				if err != nil {
					t.Fatal(err)
				}
				if _, err := tx.Exec("SET LOCAL enable_seqscan = off"); err != nil {
					t.Fatal(err)
				}
				rows, err := tx.Query("EXPLAIN (ANALYZE, BUFFERS"+explainTiming+") "+st.Query, st.Args...)
				if err != nil {
					t.Fatalf("explain %s: %v", st.Query, err)
				}
				var plan []string
				for rows.Next() {
					var line string
					if err := rows.Scan(&line); err != nil {
						t.Fatal(err)
					}
					plan = append(plan, line)
				}
				rows.Close()
				tx.Rollback()
				t.Logf("%s searching %q:\n%s\n%s\n", user, text, st.Query, strings.Join(plan, "\n"))
			}
		}
	}
}

// explainTexts are the texts TestExplainSearch explains (PORTICO_SEARCH_EXPLAIN, comma
// separated, overrides them).
var explainTexts = func() []string {
	if s := os.Getenv("PORTICO_SEARCH_EXPLAIN"); s != "" {
		return strings.Split(s, ",")
	}
	return []string{"invoice", "review inv", "purchase order", "zebra"}
}()

// explainTiming turns per-node timing off (PORTICO_SEARCH_EXPLAIN_TIMING=off), which
// costs much for plans with thousands of loops.
var explainTiming = map[bool]string{true: ", TIMING OFF"}[os.Getenv("PORTICO_SEARCH_EXPLAIN_TIMING") == "off"]
