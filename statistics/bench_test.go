package statistics_test

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/servertest"
)

// BenchEnv names the variable with the URL of a PostgreSQL database holding the
// benchmark data set (portico seed-bench); the benchmark and the plans below skip
// without it.
const BenchEnv = "PORTICO_CHART_BENCH_URL"

// benchCharts are the chart shapes measured: each grouping of tasks and cases, every
// time bucket, aggregations of the runtime, and the seed chart types.
var benchCharts = []struct{ name, input string }{
	{"tasks by priority", `{target: TASKS, groupBy: PRIORITY}`},
	{"tasks by state", `{target: TASKS, groupBy: STATE}`},
	{"tasks by category", `{target: TASKS, groupBy: CATEGORY}`},
	{"tasks by responsible", `{target: TASKS, groupBy: RESPONSIBLE}`},
	{"tasks by worker", `{target: TASKS, groupBy: WORKER}`},
	{"tasks by creator", `{target: TASKS, groupBy: CREATOR}`},
	{"tasks by created day", `{target: TASKS, groupBy: CREATED_AT, interval: DAY}`},
	{"tasks by created week", `{target: TASKS, groupBy: CREATED_AT, interval: WEEK}`},
	{"tasks by created month", `{target: TASKS, groupBy: CREATED_AT, interval: MONTH}`},
	{"tasks by ended day", `{target: TASKS, groupBy: ENDED_AT, interval: DAY}`},
	{"tasks by ended month", `{target: TASKS, groupBy: ENDED_AT, interval: MONTH}`},
	{"avg runtime by created month", `{target: TASKS, groupBy: CREATED_AT, interval: MONTH, aggregation: AVG, field: BUSINESS_RUNTIME}`},
	{"open tasks by created week", `{target: TASKS, groupBy: CREATED_AT, interval: WEEK, taskWhere: {businessState: [OPEN]}}`},
	{"cases by state", `{target: CASES, groupBy: STATE}`},
	{"cases by owner", `{target: CASES, groupBy: OWNER}`},
	{"cases by created week", `{target: CASES, groupBy: CREATED_AT, interval: WEEK}`},
	{"cases by ended month", `{target: CASES, groupBy: ENDED_AT, interval: MONTH}`},
	{"TASK_BY_EXPIRY", `{type: "TASK_BY_EXPIRY"}`},
	{"ELAPSED_TIME_BY_CASE_CATEGORY", `{type: "ELAPSED_TIME_BY_CASE_CATEGORY"}`},
	{"CASES_BY_FINISHED_TASK", `{type: "CASES_BY_FINISHED_TASK"}`},
	{"CASES_BY_FINISHED_TIME", `{type: "CASES_BY_FINISHED_TIME"}`},
}

func chartQuery(input string) string {
	return `{ statisticChart(input: ` + input + `) { labels values total } }`
}

// BenchmarkCharts measures each chart shape over HTTP against a server on the benchmark
// database, as bench (about 12,000 visible tasks) and as admin (all of a million), and
// reports latency percentiles:
//
//	PORTICO_CHART_BENCH_URL='postgres://postgres@127.0.0.1:5432/portico_bench?sslmode=disable' \
//	  go test ./statistics -run '^$' -bench BenchmarkCharts -benchtime 40x
func BenchmarkCharts(b *testing.B) {
	url := os.Getenv(BenchEnv)
	if url == "" {
		b.Skipf("set %s to a database made by portico seed-bench", BenchEnv)
	}
	srv := servertest.Start(b, "postgres", portico.Config{DatabaseURL: url, DB: database.Options{MaxConns: servertest.ProductionPools}})
	for _, user := range []string{"admin", "bench"} {
		c := srv.Login(b, user, user)
		for _, ch := range benchCharts {
			b.Run(user+"/"+ch.name, func(b *testing.B) {
				c.MustDo(b, chartQuery(ch.input), nil, nil) // warm up: plans, pages in memory
				lat := make([]time.Duration, 0, b.N)
				b.ResetTimer()
				for range b.N {
					start := time.Now()
					c.MustDo(b, chartQuery(ch.input), nil, nil)
					lat = append(lat, time.Since(start))
				}
				b.StopTimer()
				slices.Sort(lat)
				pct := func(p float64) float64 {
					return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
				}
				b.ReportMetric(pct(0.50), "p50-ms")
				b.ReportMetric(pct(0.99), "p99-ms")
			})
		}
	}
}

// TestExplainCharts logs EXPLAIN (ANALYZE, BUFFERS, TIMING OFF: per-node timing of a
// million rows costs more than the query) of the statement of each chart shape
// on the benchmark database, as admin and as bench (PORTICO_CHART_EXPLAIN, comma
// separated, picks shapes by name). It skips without PORTICO_CHART_BENCH_URL:
//
//	PORTICO_CHART_BENCH_URL=… go test ./statistics -run TestExplainCharts -v
func TestExplainCharts(t *testing.T) {
	url := os.Getenv(BenchEnv)
	if url == "" {
		t.Skipf("set %s to a database made by portico seed-bench", BenchEnv)
	}
	// Records the chart statements (those with a "label" column).
	// The chart statements are those with a "label" column.
	rec := &servertest.Recorder{Match: func(q string) bool { return strings.Contains(q, `AS "label"`) }}
	srv := servertest.Start(t, "postgres", portico.Config{DatabaseURL: url, WrapDriver: rec.Wrap})
	_, db, err := database.Connect(url) // as the server's sessions: JIT off, UTC
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	only := os.Getenv("PORTICO_CHART_EXPLAIN")
	for _, user := range []string{"admin", "bench"} {
		c := srv.Login(t, user, user)
		for _, ch := range benchCharts {
			if only != "" && !slices.Contains(strings.Split(only, ","), ch.name) {
				continue
			}
			rec.Start()
			c.MustDo(t, chartQuery(ch.input), nil, nil)
			for _, st := range rec.Stop() {
				rows, err := db.Query("EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) "+st.Query, st.Args...)
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
				t.Logf("%s, %s:\n%s\n%s\n", user, ch.name, st.Query, strings.Join(plan, "\n"))
			}
		}
	}
}
