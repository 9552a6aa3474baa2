package listindex

import (
	"slices"
	"strings"
	"testing"
)

// TestRowsKeepTheirTexts stores tasks, replaces most of them until the store compacts,
// and reads every text back: name, description, their folds, custom fields and
// responsibles, before and after the bytes moved.
func TestRowsKeepTheirTexts(t *testing.T) {
	ix := New()
	data := func(id, version int) *taskData {
		names := []string{"", "Review Invoice", "lower", "ÄÖÜ Straße", "ǅ title", "İ dotted"}
		return &taskData{ID: id, Name: names[(id+version)%len(names)] + strings.Repeat("x", version%7),
			Description: names[(id*7+version)%len(names)], Category: "HR", State: "SUSPENDED", Priority: "NORMAL",
			Custom:       Fields{{"region", []string{"EU", "US", ""}[(id+version)%3]}, {"n" + strings.Repeat("m", id%3), "7"}},
			Responsibles: []Responsible{{RoleID: id + version}, {UserID: id*2 + 1, Expiry: version%2 == 0}},
			Created:      int64(id), Updated: int64(version), Expiry: NoTime, Delay: NoTime, Started: NoTime, Ended: NoTime}
	}
	check := func(id, version int) {
		t.Helper()
		want := data(id, version)
		r, _, ok := ix.tasks.row(id)
		if !ok {
			t.Fatalf("task %d missing", id)
		}
		st := &ix.tasks.st
		if got := st.str(r.name); got != want.Name {
			t.Errorf("task %d name %q, want %q", id, got, want.Name)
		}
		if got := st.str(r.desc); got != want.Description {
			t.Errorf("task %d description %q, want %q", id, got, want.Description)
		}
		if st.str(r.nameFold) != strings.ToLower(want.Name) || st.str(r.descFold) != strings.ToLower(want.Description) {
			t.Errorf("task %d folds %q %q", id, st.str(r.nameFold), st.str(r.descFold))
		}
		for _, f := range want.Custom {
			if v, ok := st.field(r.custom, f.Name); !ok || v != f.Value {
				t.Errorf("task %d custom %s = %q %t, want %q", id, f.Name, v, ok, f.Value)
			}
		}
		if _, ok := st.field(r.custom, "absent"); ok {
			t.Errorf("task %d has a field it was not given", id)
		}
		var resp []Responsible
		st.responsibles(r.resp, func(x Responsible) { resp = append(resp, x) })
		if !slices.Equal(resp, want.Responsibles) {
			t.Errorf("task %d responsibles %v, want %v", id, resp, want.Responsibles)
		}
	}
	const n = 2000
	for id := 1; id <= n; id++ {
		ix.putTask(data(id, 0))
	}
	compacted := false
	for version := 1; version <= 40 && !compacted; version++ {
		before := len(ix.tasks.st.b)
		for id := 1; id <= n; id++ {
			ix.putTask(data(id, version))
		}
		ix.tasks.st.dead += 16 << 20 // as if many more rows had been replaced
		ix.tasks.compact()
		compacted = len(ix.tasks.st.b) < before
		for id := 1; id <= n; id += 97 {
			check(id, version)
		}
	}
	if !compacted {
		t.Fatal("the store never compacted")
	}
	ix.removeTask(5)
	if _, _, ok := ix.tasks.row(5); ok {
		t.Fatal("a removed task is still there")
	}
}
