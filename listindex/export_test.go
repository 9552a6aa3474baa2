package listindex

import (
	"cmp"
	"context"
	"slices"

	"github.com/portico-dev/portico/changefeed"
)

// Changed is what a sync read of the changed rows, in a form tests compare: custom
// fields, responsibles and starters sorted (neither read orders them).
type Changed struct {
	TaskIDs, CaseIDs []int
	Tasks            map[int]taskData
	Cases            map[int]caseData
	Starters         map[int][]int
}

// ReadChangedBothWays reads the rows the feed reports from pos as a PostgreSQL sync
// does, in the feed's statement (changefeed.ReadAlong), and as the full load and SQLite
// do, by statements of their own after it.
func ReadChangedBothWays(ctx context.Context, q Querier, feed *changefeed.Feed, pos changefeed.Position) (along, scanned Changed, err error) {
	src := &source{rd: reader{q: q, dialect: "postgres"}, feed: feed, pos: pos}
	b, err := src.readAlong(ctx)
	if err != nil {
		return along, scanned, err
	}
	along = changedOf(b)
	if b, err = src.readAfter(ctx); err != nil {
		return along, scanned, err
	}
	return along, changedOf(b), nil
}

func changedOf(b batch) Changed {
	c := Changed{TaskIDs: slices.Sorted(slices.Values(b.taskIDs)), CaseIDs: slices.Sorted(slices.Values(b.caseIDs)),
		Tasks: map[int]taskData{}, Cases: map[int]caseData{}, Starters: map[int][]int{}}
	byName := func(a, b Field) int { return cmp.Compare(a.Name, b.Name) }
	for id, t := range b.tasks {
		d := *t
		d.Custom = slices.SortedFunc(slices.Values(d.Custom), byName)
		d.Responsibles = slices.SortedFunc(slices.Values(d.Responsibles), func(a, b Responsible) int {
			return cmp.Or(cmp.Compare(a.UserID, b.UserID), cmp.Compare(a.RoleID, b.RoleID), cmp.Compare(b2i(a.Expiry), b2i(b.Expiry)))
		})
		c.Tasks[id] = d
	}
	for id, k := range b.cases {
		d := *k
		d.Custom = slices.SortedFunc(slices.Values(d.Custom), byName)
		c.Cases[id] = d
	}
	for id, us := range b.starters {
		c.Starters[id] = slices.Sorted(slices.Values(us))
	}
	return c
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
