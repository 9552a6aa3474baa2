package graph

import (
	"encoding/json"
	"time"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/graph/model"
	"github.com/portico-dev/portico/settings"
	"github.com/portico-dev/portico/statistics"
)

// timeNow is the clock of chart periods.
var timeNow = func() time.Time { return time.Now().UTC() }

// chartSpec turns a statisticChart input into a chart: a seed type with its filter, or a
// custom target, grouping and aggregation; the list where inputs narrow either.
func chartSpec(in model.StatisticChartInput) (statistics.Spec, error) {
	var filter settings.ChartFilter
	if in.Filter != nil {
		// The input mirrors the seed's model field by field; JSON carries it over.
		b, err := json.Marshal(in.Filter)
		if err != nil {
			return statistics.Spec{}, err
		}
		if err := json.Unmarshal(b, &filter); err != nil {
			return statistics.Spec{}, apperr.BadInput("filter.customFieldFilters must map field names to lists of texts: %v", err)
		}
	}
	var spec statistics.Spec
	if in.Type != nil {
		s, err := statistics.FromSeed(*in.Type, filter, timeNow())
		if err != nil {
			return spec, err
		}
		spec = s
	} else {
		if in.Target == nil || in.GroupBy == nil {
			return spec, apperr.BadInput("give a seed chart type, or a target and a groupBy")
		}
		spec = statistics.Spec{Target: *in.Target, GroupBy: *in.GroupBy, Aggregation: statistics.Count}
		if in.Filter != nil {
			s, err := statistics.WithFilter(spec, filter, timeNow())
			if err != nil {
				return spec, err
			}
			spec = s
		}
	}
	if in.Interval != nil {
		spec.Interval = *in.Interval
	}
	if in.Aggregation != nil {
		spec.Aggregation = *in.Aggregation
	}
	if in.Field != nil {
		spec.Field = string(*in.Field)
	}
	if in.TaskWhere != nil {
		p, err := in.TaskWhere.P()
		if err != nil {
			return spec, apperr.BadInput("taskWhere: %v", err)
		}
		spec.TaskWhere = append(spec.TaskWhere, p)
	}
	if in.CaseWhere != nil {
		p, err := in.CaseWhere.P()
		if err != nil {
			return spec, apperr.BadInput("caseWhere: %v", err)
		}
		spec.CaseWhere = append(spec.CaseWhere, p)
	}
	return spec, nil
}
