package export

import (
	"context"
	"fmt"

	"entgo.io/contrib/entgql"

	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/filter"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/savedfilters"
)

var caseColumns = []column{
	{"ID", 10}, {"Name", 40}, {"Description", 60}, {"State", 12}, {"Business state", 14},
	{"Category", 16}, {"Creator", 16}, {"Owner", 16}, {"Created (UTC)", 20}, {"Ended (UTC)", 20},
}

// caseList prepares the export of the cases the viewer sees that match where, in the
// order of orderBy (default: created first), as taskList does the tasks.
func (e *Exporter) caseList(ctx context.Context, q query) (*list, error) {
	_, order, err := filter.DecodeCaseList(q.where, q.orderBy)
	if err != nil {
		return nil, err
	}
	raw, err := rawWhere(q.where)
	if err != nil {
		return nil, err
	}
	if raw, err = e.savedWhere(ctx, q, savedfilters.Cases, raw); err != nil {
		return nil, err
	}
	if len(order) == 0 {
		order = []*ent.CaseOrder{{Field: ent.BusinessCaseOrderFieldCreatedAt, Direction: entgql.OrderDirectionAsc}}
	}
	ids, err := e.Lists.CaseIDs(ctx, raw, order)
	if err != nil {
		return nil, err
	}
	load := func(ctx context.Context, client *ent.Client, ids []int, emit func([]any) error) error {
		cases, err := client.BusinessCase.Query().Where(businesscase.IDIn(ids...)).
			WithCreator(userNames).WithOwner(userNames).All(ctx)
		if err != nil {
			return fmt.Errorf("read cases: %w", err)
		}
		byID := make(map[int]*ent.BusinessCase, len(cases))
		for _, c := range cases {
			byID[c.ID] = c
		}
		var row []any
		for _, id := range ids {
			c := byID[id]
			if c == nil {
				continue
			}
			row = append(row[:0], c.ID, c.Name, c.Description, string(c.State),
				policy.CaseBusinessState(c.State), c.Category, userName(c.Edges.Creator),
				userName(c.Edges.Owner), c.CreatedAt, c.EndedAt)
			if err := emit(row); err != nil {
				return err
			}
		}
		return nil
	}
	return &list{title: "Cases", columns: caseColumns, ids: ids, load: load}, nil
}
