package paging_test

import (
	"slices"
	"testing"

	"github.com/portico-dev/portico/paging"
)

func TestSlice(t *testing.T) {
	all := []int{1, 2, 3, 5, 8, 13}
	key := func(v int) paging.Key { return paging.Key{int64(v)} }
	ip := func(v int) *int { return &v }
	cases := []struct {
		name       string
		a          paging.Args
		want       []int
		prev, next bool
	}{
		{"first", paging.Args{First: ip(2)}, []int{1, 2}, false, true},
		{"after", paging.Args{First: ip(2), After: paging.Key{2}}, []int{3, 5}, true, true},
		{"after a gone key", paging.Args{First: ip(2), After: paging.Key{4}}, []int{5, 8}, true, true},
		{"to the end", paging.Args{First: ip(9), After: paging.Key{5}}, []int{8, 13}, true, false},
		{"last", paging.Args{Last: ip(2)}, []int{8, 13}, true, false},
		{"before", paging.Args{Last: ip(2), Before: paging.Key{8}}, []int{3, 5}, true, true},
		{"between", paging.Args{After: paging.Key{1}, Before: paging.Key{8}}, []int{2, 3, 5}, true, true},
		{"none", paging.Args{First: ip(0)}, []int{}, false, true},
	}
	for _, c := range cases {
		p, err := paging.Slice(all, key, 1, c.a)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !slices.Equal(p.Items, c.want) && !(len(p.Items) == 0 && len(c.want) == 0) || p.HasPreviousPage != c.prev || p.HasNextPage != c.next || p.TotalCount != 6 {
			t.Errorf("%s: %v prev %v next %v total %d; want %v %v %v", c.name, p.Items, p.HasPreviousPage, p.HasNextPage, p.TotalCount, c.want, c.prev, c.next)
		}
	}
	for _, a := range []paging.Args{{First: ip(-1)}, {First: ip(1001)}, {Last: ip(-5)}, {First: ip(1), Last: ip(1)}, {After: paging.Key{1, 2}}} {
		if _, err := paging.Slice(all, key, 1, a); err == nil {
			t.Errorf("%+v: no error", a)
		}
	}
	for _, s := range []string{"", "x", "1.2.3.4.5", "1..2", "99999999999999999999", "' OR 1=1"} {
		if _, err := paging.ParseKey("after", s); err == nil {
			t.Errorf("ParseKey(%q): no error", s)
		}
	}
	if k, err := paging.ParseKey("after", paging.Key{-3, 7}.String()); err != nil || k.Compare(paging.Key{-3, 7}) != 0 {
		t.Errorf("round trip: %v %v", k, err)
	}
}
