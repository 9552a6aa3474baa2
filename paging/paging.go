// Package paging cuts one page out of a list the domain has already narrowed to what
// the viewer may read, Relay style (first/after, last/before), with the list's total.
// Each item has a Key, its place in the list's order; a cursor is a Key in words, so a
// page goes on from where the last one ended even when items came or went meanwhile.
// The lists paged here (a case's history, dashboards, news, favorites, documents) read
// their keys (ids and times, never whole rows) under the viewer's read rules, page them
// in memory and load the page's rows alone; TotalCount is exactly what the viewer may
// read.
package paging

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/apperr"
)

// DefaultPage is the page given neither first nor last (graph.DefaultLimits agrees, and
// the GraphQL layer applies its own before a request gets here).
const DefaultPage = 50

// MaxPage is the largest first or last (graph.DefaultLimits.MaxPage).
const MaxPage = 1000

// maxKeyParts bounds a parsed cursor; no list has keys longer than this.
const maxKeyParts = 4

// Key places an item in its list: keys compare part by part, and the list runs in
// ascending key order (a list newest first negates its times).
type Key []int64

// Compare orders two keys of one list.
func (k Key) Compare(o Key) int { return slices.Compare(k, o) }

// String is the key as a cursor's text.
func (k Key) String() string {
	parts := make([]string, len(k))
	for i, v := range k {
		parts[i] = strconv.FormatInt(v, 10)
	}
	return strings.Join(parts, ".")
}

// ParseKey reads a key written by String; field names the argument in the error.
func ParseKey(field, s string) (Key, error) {
	parts := strings.Split(s, ".")
	if s == "" || len(parts) > maxKeyParts {
		return nil, badCursor(field)
	}
	k := make(Key, len(parts))
	for i, p := range parts {
		v, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return nil, badCursor(field)
		}
		k[i] = v
	}
	return k, nil
}

func badCursor(field string) *apperr.Error {
	return apperr.BadInput("%s is not a cursor of this list; pass a pageInfo.startCursor / endCursor or an edge's cursor the same field gave", field)
}

// Args are a page request: after and before are keys (nil when absent).
type Args struct {
	After, Before Key
	First, Last   *int
}

// Page is one page of a list.
type Page[T any] struct {
	Items           []T
	Keys            []Key
	HasNextPage     bool
	HasPreviousPage bool
	TotalCount      int
}

// check validates a against a list whose keys have width parts, and returns the size
// of the page and whether it is taken from the end.
func (a Args) check(width int) (n int, fromEnd bool, err error) {
	if a.First != nil && a.Last != nil {
		return 0, false, apperr.BadInput("give first or last, not both")
	}
	for _, c := range []struct {
		name string
		k    Key
	}{{"after", a.After}, {"before", a.Before}} {
		if c.k != nil && len(c.k) != width {
			return 0, false, badCursor(c.name)
		}
	}
	n, fromEnd = DefaultPage, a.Last != nil || a.First == nil && a.Before != nil && a.After == nil
	for _, c := range []struct {
		name string
		v    *int
	}{{"first", a.First}, {"last", a.Last}} {
		if c.v == nil {
			continue
		}
		if *c.v < 0 || *c.v > MaxPage {
			return 0, false, apperr.BadInput("%s is %d; give 0 to %d and page on with the cursors", c.name, *c.v, MaxPage)
		}
		n = *c.v
	}
	return n, fromEnd, nil
}

// Slice returns the page a asks for of all, which runs in ascending key order; each key
// has width parts.
func Slice[T any](all []T, key func(T) Key, width int, a Args) (*Page[T], error) {
	n, fromEnd, err := a.check(width)
	if err != nil {
		return nil, err
	}
	keys := make([]Key, len(all))
	for i, x := range all {
		keys[i] = key(x)
	}
	lo, hi := 0, len(all) // the window strictly between after and before
	if a.After != nil {
		lo, _ = slices.BinarySearchFunc(keys, a.After, func(k, t Key) int {
			return cmp.Or(k.Compare(t), -1) // the first key above after
		})
	}
	if a.Before != nil {
		hi, _ = slices.BinarySearchFunc(keys, a.Before, func(k, t Key) int {
			return cmp.Or(k.Compare(t), 1) // the first key at or above before
		})
	}
	hi = max(lo, hi)
	p := &Page[T]{TotalCount: len(all)}
	from, to := lo, min(hi, lo+n)
	if fromEnd {
		from, to = max(lo, hi-n), hi
	}
	p.Items, p.Keys = all[from:to], keys[from:to]
	p.HasPreviousPage, p.HasNextPage = from > 0, to < len(all)
	return p, nil
}

// Sort puts items in ascending key order (for lists the database cannot order alone).
func Sort[T any](items []T, key func(T) Key) {
	slices.SortStableFunc(items, func(a, b T) int { return key(a).Compare(key(b)) })
}
