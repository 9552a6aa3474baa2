package policy

import "testing"

// TestPermSet: a set holds exactly the permissions added to it, for every place in All
// (past the first word of 64 too), and an unknown name is never held.
func TestPermSet(t *testing.T) {
	for i, d := range All {
		var ps permSet
		ps.add(d.Name)
		ps.add("NoSuchPermission")
		for j, e := range All {
			if ps.has(e.Name) != (i == j) {
				t.Fatalf("after adding %s (place %d): has(%s) = %v", d.Name, i, e.Name, ps.has(e.Name))
			}
		}
		if ps.has("NoSuchPermission") {
			t.Fatal("an unknown permission is held")
		}
	}
}
