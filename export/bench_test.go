package export_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/role"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/ent/user"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/servertest"
)

// BenchmarkExportTasks downloads the task export as the admin on SQLite: 2,000 and 20,000
// tasks (cases chosen by a where filter) and all 100,000. It reports rows per second,
// bytes allocated per row, and the peak heap sampled during the runs. The peak grows
// until the sheet's XML passes excelize's 16 MiB in-memory chunk (about 14,000 rows
// here), then stays flat: the rest goes to a temporary file. Seeding takes ~30 s.
func BenchmarkExportTasks(b *testing.B) {
	srv := servertest.Start(b, "sqlite", portico.Config{Demo: true, DB: database.Options{MaxConns: servertest.ProductionPools}})
	small := seedTasks(b, srv, "Bench small", 2000)
	large := seedTasks(b, srv, "Bench large", 18000)
	seedTasks(b, srv, "Bench huge", 80000)
	token := srv.Login(b, "admin", "admin").Token
	for _, bc := range []struct {
		name  string
		query url.Values
		rows  int
	}{
		{"rows=2000", url.Values{"where": {fmt.Sprintf(`{"caseID":%d}`, small)}}, 2000},
		{"rows=20000", url.Values{"where": {fmt.Sprintf(`{"caseIDIn":[%d,%d]}`, small, large)}}, 20000},
		{"rows=100000", nil, 100003}, // and the demo's three
	} {
		b.Run(bc.name, func(b *testing.B) {
			// Check the size once, outside the measurement.
			resp, body := download(b, srv.URL, "/export/tasks.xlsx", token, bc.query)
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("HTTP %d: %s", resp.StatusCode, body)
			}
			if _, all := sheets(b, body, excelize.Options{RawCellValue: true}); len(all["Tasks"]) != bc.rows+1 {
				b.Fatalf("%d rows, want %d", len(all["Tasks"])-1, bc.rows)
			}
			size := len(body)
			body = nil
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			stop := samplePeakHeap()
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				streamExport(b, srv.URL+"/export/tasks.xlsx", token, bc.query)
				n++
			}
			peak := stop()
			runtime.ReadMemStats(&after)
			rows := float64(bc.rows * n)
			b.ReportMetric(rows/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/rows, "B/row")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(size)/(1<<20), "xlsx-MiB")
		})
	}
}

// seedTasks creates n tasks in a new case, each with a role responsible, a worker, a
// creator, start and expiry times and a description of a few sentences, and returns the
// case's id.
func seedTasks(b *testing.B, srv *servertest.Server, name string, n int) int {
	ctx := policy.SystemContext(context.Background())
	c := srv.DB.Client
	demo := c.User.Query().Where(user.Name("demo")).OnlyX(ctx)
	teamA := c.Role.Query().Where(role.Name("Team A")).OnlyX(ctx)
	due := time.Now().UTC().Add(72 * time.Hour)
	desc := strings.Repeat("Check the figures and sign the form. ", 3)
	cs := c.BusinessCase.Create().SetName(name).SetCreator(demo).SaveX(ctx)
	for start := 0; start < n; start += 1000 {
		bulk := make([]*ent.TaskCreate, min(1000, n-start))
		for i := range bulk {
			bulk[i] = c.Task.Create().SetName(fmt.Sprintf("Review invoice %d", start+i)).SetDescription(desc).
				SetCategory("Finance").SetState(task.StateRESUMED).SetCaseID(cs.ID).SetWorker(demo).
				SetCreator(demo).SetStartedAt(due.Add(-96 * time.Hour)).SetExpiryTimestamp(due)
		}
		created := c.Task.CreateBulk(bulk...).SaveX(ctx)
		resp := make([]*ent.TaskResponsibleCreate, len(created))
		for i, t := range created {
			resp[i] = c.TaskResponsible.Create().SetTaskID(t.ID).SetRoleID(teamA.ID)
		}
		c.TaskResponsible.CreateBulk(resp...).ExecX(ctx)
	}
	return cs.ID
}

// streamExport downloads an export into io.Discard, as a client saving it would.
func streamExport(b *testing.B, u, token string, query url.Values) {
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("HTTP %d: %v", resp.StatusCode, err)
	}
}

// samplePeakHeap samples the heap's object bytes (live and not yet swept) every
// millisecond until the returned stop, which returns the largest sample.
func samplePeakHeap() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		return peak.Load()
	}
}
