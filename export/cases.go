package export

import (
	"context"
	"fmt"
	"strings"

	"entgo.io/contrib/entgql"

	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/migrate"
	"github.com/portico-dev/portico/filter"
	"github.com/portico-dev/portico/policy"
)

var caseColumns = []column{
	{"ID", 10}, {"Name", 40}, {"Description", 60}, {"State", 12}, {"Business state", 14},
	{"Category", 16}, {"Creator", 16}, {"Owner", 16}, {"Created (UTC)", 20}, {"Ended (UTC)", 20},
}

// caseList prepares the export of the cases the viewer sees that match where, in the
// order of orderBy, reading through client.
func (e *Exporter) caseList(ctx context.Context, client *ent.Client, where, orderBy string) (*list, error) {
	w, order, err := filter.DecodeCaseList(where, orderBy)
	if err != nil {
		return nil, err
	}
	base, err := w.Filter(client.BusinessCase.Query())
	if err != nil {
		return nil, badWhere(err)
	}
	if len(order) == 0 {
		order = []*ent.CaseOrder{{Field: ent.BusinessCaseOrderFieldCreatedAt, Direction: entgql.OrderDirectionAsc}}
	}
	var ks keyset
	for _, o := range order {
		if err := ks.addKey(migrate.CasesTable, businesscaseOrderColumn(o.Field.String()), o.Direction == entgql.OrderDirectionDesc); err != nil {
			return nil, err
		}
	}
	batch := func(ctx context.Context, after *cursor, n int, emit func([]any) error) (*cursor, error) {
		cases, err := base.Clone().Where(ks.after(after)).Order(ks.order).Limit(n).
			WithCreator(userNames).WithOwner(userNames).All(ctx)
		if err != nil {
			return nil, fmt.Errorf("read cases: %w", err)
		}
		var row []any
		for _, c := range cases {
			row = append(row[:0], c.ID, c.Name, c.Description, string(c.State),
				policy.CaseBusinessState(c.State), c.Category, userName(c.Edges.Creator),
				userName(c.Edges.Owner), c.CreatedAt, c.EndedAt)
			if err := emit(row); err != nil {
				return nil, err
			}
		}
		if len(cases) == 0 {
			return nil, nil
		}
		last := cases[len(cases)-1]
		c := &cursor{id: last.ID}
		for _, o := range order {
			v, err := o.Field.Value(last)
			if err != nil {
				return nil, fmt.Errorf("order value of case %d: %w", last.ID, err)
			}
			c.values = append(c.values, orderValue(v))
		}
		return c, nil
	}
	return &list{title: "Cases", columns: caseColumns, batch: batch}, nil
}

// businesscaseOrderColumn is the column of an order field: entgql names each after its column in
// upper case, except the ranked ones (ent/schema/rank.go).
func businesscaseOrderColumn(field string) string {
	switch field {
	case "STATE":
		return businesscase.FieldStateRank
	}
	return strings.ToLower(field)
}
