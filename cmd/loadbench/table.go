package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// pickShapes returns the shapes whose names contain one of the comma-separated
// substrings (all for "").
func pickShapes(filter string) ([]shape, error) {
	if strings.TrimSpace(filter) == "" {
		return Shapes, nil
	}
	var out []shape
	for _, s := range Shapes {
		for f := range strings.SplitSeq(filter, ",") {
			if f = strings.TrimSpace(f); f != "" && strings.Contains(s.Name, f) {
				out = append(out, s)
				break
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no shape matches %q (-list-shapes shows them)", filter)
	}
	return out, nil
}

// problems counts the cells with count mismatches, failed requests or errors.
func problems(cells []Cell) int {
	n := 0
	for _, c := range cells {
		bad := c.Error != "" || len(c.Mismatches) > 0
		for _, r := range c.Levels {
			bad = bad || r.Failures > 0
		}
		if bad {
			n++
		}
	}
	return n
}

// levelColumns are the figures shown per level: p50 and p99 at one client, req/s and
// p99 at more.
func levelColumns(levels []int) []string {
	var h []string
	for _, n := range levels {
		if n == 1 {
			h = append(h, "1c p50", "1c p99")
		} else {
			h = append(h, fmt.Sprintf("%dc req/s", n), fmt.Sprintf("%dc p99", n))
		}
	}
	return h
}

func levelFigures(c *Cell, levels []int) []string {
	var f []string
	for _, n := range levels {
		r := c.level(n)
		switch {
		case r == nil:
			f = append(f, "-", "-")
		case len(c.Levels) > 0 && r.Requests == 0: // none answered within the window
			f = append(f, "-", "-")
		case n == 1:
			f = append(f, fmt.Sprintf("%.1f", r.P50), fmt.Sprintf("%.1f", r.P99))
		default:
			f = append(f, fmt.Sprintf("%.0f", r.Throughput), fmt.Sprintf("%.1f", r.P99))
		}
	}
	return f
}

// ratios of the figures with writes to read-only, each as "worse by": p99 with/without,
// req/s without/with.
func ratios(ro, w *Cell, levels []int) ([]string, float64) {
	var f []string
	worst := 0.0
	for _, n := range levels {
		a, b := ro.level(n), w.level(n)
		if a == nil || b == nil || a.Requests == 0 || b.Requests == 0 {
			f = append(f, "-")
			continue
		}
		var x float64
		if n == 1 {
			x = div(b.P99, a.P99)
		} else {
			x = max(div(a.Throughput, b.Throughput), div(b.P99, a.P99))
		}
		worst = max(worst, x)
		f = append(f, fmt.Sprintf("%.2f", x))
	}
	return f, worst
}

func div(a, b float64) float64 {
	if b == 0 {
		if a == 0 {
			return 1
		}
		return 99
	}
	return a / b
}

// printMatrix prints one row per shape and viewer: the read-only figures ("-" where no
// request was answered within -duration), and with writes their figures, the ratios (1 client: p99; more: the worse of req/s and p99),
// failures, count checks and the targets missed.
func printMatrix(w io.Writer, cfg config, cells []Cell) {
	type key struct{ shape, viewer string }
	ro, wr := map[key]*Cell{}, map[key]*Cell{}
	var order []key
	var extra []Cell
	for i := range cells {
		c := &cells[i]
		k := key{c.Shape, c.Viewer}
		if c.Shape == "writer" {
			extra = append(extra, *c)
			continue
		}
		if c.Writes {
			wr[k] = c
			continue
		}
		ro[k] = c
		order = append(order, k)
	}
	withWrites := len(wr) > 0
	h := []string{"shape", "viewer", "total"}
	h = append(h, levelColumns(cfg.Levels)...)
	if withWrites {
		for _, c := range levelColumns(cfg.Levels) {
			h = append(h, "W "+c)
		}
		for _, n := range cfg.Levels {
			h = append(h, fmt.Sprintf("×%dc", n))
		}
	}
	h = append(h, "fail", "counts", "targets missed")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(h, "\t"))
	var notes []string
	for _, k := range order {
		c := ro[k]
		row := []string{k.shape, k.viewer, fmt.Sprint(c.TotalCount)}
		row = append(row, levelFigures(c, cfg.Levels)...)
		var missed []string
		missed = append(missed, targetsMissed(cfg, c, "")...)
		cs := []*Cell{c}
		if withWrites {
			wc := wr[k]
			if wc == nil {
				wc = &Cell{}
			} else {
				cs = append(cs, wc)
			}
			row = append(row, levelFigures(wc, cfg.Levels)...)
			rs, worst := ratios(c, wc, cfg.Levels)
			row = append(row, rs...)
			missed = append(missed, targetsMissed(cfg, wc, "W ")...)
			if worst > cfg.TargetRatio {
				missed = append(missed, fmt.Sprintf("×%.2f", worst))
			}
		}
		fails, checks, mism := 0, 0, 0
		for _, x := range cs {
			for _, r := range x.Levels {
				fails += r.Failures
				if r.FirstError != "" {
					notes = append(notes, fmt.Sprintf("%s / %s%s c%d: %s", k.shape, k.viewer, wmark(x), r.Concurrency, r.FirstError))
				}
			}
			checks += x.Checks
			mism += len(x.Mismatches)
			for _, m := range x.Mismatches {
				notes = append(notes, fmt.Sprintf("%s / %s%s: %s", k.shape, k.viewer, wmark(x), m))
			}
			if x.Error != "" {
				notes = append(notes, fmt.Sprintf("%s / %s%s: %s", k.shape, k.viewer, wmark(x), x.Error))
			}
		}
		counts := "-"
		if checks > 0 {
			counts = fmt.Sprintf("%d/%d ok", checks-mism, checks)
		}
		if len(missed) == 0 {
			missed = []string{"none"}
		}
		row = append(row, fmt.Sprint(fails), counts, strings.Join(missed, ", "))
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
	fmt.Fprint(w, "\nms; req/s counts successes; -: no request answered within -duration")
	if withWrites {
		fmt.Fprintf(w, "; W: while %.0f writes/s run; ×Nc: with writes over read-only (1c: p99; more: the worse of req/s and p99)", cfg.Writes)
	}
	fmt.Fprintln(w, ".")
	fmt.Fprintf(w, "targets: 1 client p99 < %.0f ms; more clients >= %.0f req/s; with writes within %.1f×; every totalCount exact.\n",
		cfg.TargetP99, cfg.TargetRPS, cfg.TargetRatio)
	for _, c := range extra {
		notes = append(notes, "writer: "+c.Error)
	}
	for _, n := range notes {
		fmt.Fprintf(w, "! %.300s\n", n)
	}
}

func wmark(c *Cell) string {
	if c.Writes {
		return " (writes)"
	}
	return ""
}

func targetsMissed(cfg config, c *Cell, prefix string) []string {
	var m []string
	for _, r := range c.Levels {
		if r.Concurrency == 1 && (r.P99 >= cfg.TargetP99 || r.Requests == 0) {
			m = append(m, fmt.Sprintf("%sp99@1", prefix))
		}
		if r.Concurrency > 1 && r.Throughput < cfg.TargetRPS {
			m = append(m, fmt.Sprintf("%sreq/s@%d", prefix, r.Concurrency))
		}
	}
	return m
}
