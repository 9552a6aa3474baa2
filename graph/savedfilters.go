package graph

import (
	"context"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/graph/model"
	"github.com/portico-dev/portico/savedfilters"
)

// savedFilterNames turns the names input into the domain's.
func savedFilterNames(in []*model.SavedFilterNameInput) []savedfilters.Name {
	if in == nil {
		return nil
	}
	out := make([]savedfilters.Name, 0, len(in))
	for _, n := range in {
		if n != nil {
			out = append(out, savedfilters.Name{Language: n.Language, Name: n.Name})
		}
	}
	return out
}

// savedFilterWhere returns the taskWhere or caseWhere of the input argument as the
// client wrote it (the filter compiler reads that, as the lists do), and whether one
// was given; kind says which may be given ("" for either: an update, whose kind the
// saved filter decides).
func savedFilterWhere(ctx context.Context, kind savedfilters.Kind) (any, bool, error) {
	in, _ := rawArg(ctx, "input").(map[string]any)
	task, caseW := in["taskWhere"], in["caseWhere"]
	switch {
	case task != nil && caseW != nil:
		return nil, false, apperr.BadInput("give taskWhere or caseWhere, not both")
	case kind == savedfilters.Tasks && caseW != nil:
		return nil, false, apperr.BadInput("caseWhere: a TASK filter takes taskWhere")
	case kind == savedfilters.Cases && task != nil:
		return nil, false, apperr.BadInput("taskWhere: a CASE filter takes caseWhere")
	case task != nil:
		return task, true, nil
	case caseW != nil:
		return caseW, true, nil
	}
	return nil, false, nil
}
