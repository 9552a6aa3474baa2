package graph

import (
	"encoding/json"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/dashboards"
	"github.com/portico-dev/portico/graph/model"
)

func titlesIn(in []*model.DashboardTitleInput) []dashboards.Title {
	out := make([]dashboards.Title, len(in))
	for i, t := range in {
		out[i] = dashboards.Title{Locale: t.Locale, Value: t.Value}
	}
	return out
}

// widgetsIn reads the widgets JSON of an input into doc, refusing unknown fields.
func widgetsIn(widgets any, doc *dashboards.Document) error {
	if widgets == nil {
		doc.Widgets = nil
		return nil
	}
	b, err := json.Marshal(widgets)
	if err != nil {
		return apperr.BadInput("widgets: %v", err)
	}
	if err := dashboards.DecodeWidgets(b, &doc.Widgets); err != nil {
		return apperr.BadInput("widgets: %v", err)
	}
	return nil
}
