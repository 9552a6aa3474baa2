// Package dashboards holds users' private and public dashboards in domain.md's JSON
// model: validation that names what is wrong, the Dashboard* permissions, per-user
// order, import and export, and the widget filter language turned into the same task
// and case predicates as the lists.
package dashboards

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Title is a text in one locale.
type Title struct {
	Locale string `json:"locale"`
	Value  string `json:"value"`
}

// Layout places a widget on the 12-column grid.
type Layout struct {
	X int `json:"x"`
	Y int `json:"y"`
	W int `json:"w"`
	H int `json:"h"`
}

// Column is a task or case widget's column.
type Column struct {
	Field   string `json:"field"`
	Visible bool   `json:"visible"`
	Width   int    `json:"width,omitempty"`
}

// Filter is one condition of a task or case widget; filters combine with AND.
type Filter struct {
	Field    string   `json:"field"`
	Operator string   `json:"operator"`
	Values   []string `json:"values,omitempty"`
	From     string   `json:"from,omitempty"`
	To       string   `json:"to,omitempty"`
}

// Widget is one tile of a dashboard.
type Widget struct {
	ID      string   `json:"id"`
	Type    string   `json:"type"`
	Names   []Title  `json:"names,omitempty"`
	Layout  Layout   `json:"layout"`
	Columns []Column `json:"columns,omitempty"`
	Filters []Filter `json:"filters,omitempty"`
	// SavedFilterID of a task or case widget: a saved filter of that list (package
	// savedfilters) whose where joins the filters with AND.
	SavedFilterID int `json:"savedFilterId,omitempty"`
	// Mode of a process widget: compact, combined or full.
	Mode string `json:"mode,omitempty"`
	// ChartID of a statistic widget (Portal.StatisticCharts).
	ChartID string `json:"chartId,omitempty"`
	// URL or ProcessID (with Params) of a custom widget.
	URL       string            `json:"url,omitempty"`
	ProcessID string            `json:"processId,omitempty"`
	Params    map[string]string `json:"params,omitempty"`
	// Target dashboard of a navigation widget.
	Target string `json:"target,omitempty"`
}

// Document is a dashboard as exported: the JSON of domain.md.
type Document struct {
	ID          string   `json:"id"`
	Version     int      `json:"version"`
	Titles      []Title  `json:"titles"`
	Icon        string   `json:"icon,omitempty"`
	Description string   `json:"description,omitempty"`
	Permissions []string `json:"permissions,omitempty"`
	IsPublic    bool     `json:"isPublic"`
	Widgets     []Widget `json:"widgets"`
}

// CurrentVersion is the model version exports carry.
const CurrentVersion = 1

// WidgetTypes are domain.md's widget types.
var WidgetTypes = []string{"task", "case", "process", "statistic", "news", "welcome", "custom", "navigation"}

// Validate says what is wrong with a dashboard, naming the widget and field.
func (d *Document) Validate() error {
	if len(d.Titles) == 0 {
		return fmt.Errorf("titles: give at least one {locale, value}")
	}
	for i, t := range d.Titles {
		if t.Locale == "" || strings.TrimSpace(t.Value) == "" {
			return fmt.Errorf("titles[%d]: locale and value must not be empty", i)
		}
	}
	ids := map[string]bool{}
	for i, w := range d.Widgets {
		at := fmt.Sprintf("widgets[%d]", i)
		if w.ID == "" || ids[w.ID] {
			return fmt.Errorf("%s: id %q is empty or used twice", at, w.ID)
		}
		ids[w.ID] = true
		if !slices.Contains(WidgetTypes, w.Type) {
			return fmt.Errorf("%s: type %q is not one of %s", at, w.Type, strings.Join(WidgetTypes, ", "))
		}
		l := w.Layout
		if l.X < 0 || l.Y < 0 || l.W < 1 || l.H < 1 || l.X+l.W > 12 {
			return fmt.Errorf("%s: layout {x:%d y:%d w:%d h:%d} must fit the 12-column grid (x ≥ 0, w ≥ 1, x+w ≤ 12, y ≥ 0, h ≥ 1)", at, l.X, l.Y, l.W, l.H)
		}
		switch w.Type {
		case "task", "case":
			target := Tasks
			if w.Type == "case" {
				target = Cases
			}
			for j, c := range w.Columns {
				if _, ok := fieldKind(target, c.Field); !ok {
					return fmt.Errorf("%s.columns[%d]: %s has no field %q; fields: %s", at, j, w.Type, c.Field, fieldNames(target))
				}
			}
			for j, f := range w.Filters {
				if err := checkFilter(target, f); err != nil {
					return fmt.Errorf("%s.filters[%d]: %v", at, j, err)
				}
			}
		case "process", "statistic", "news", "welcome", "custom", "navigation":
			if w.SavedFilterID != 0 {
				return fmt.Errorf("%s: savedFilterId is for task and case widgets only", at)
			}
		}
		if w.SavedFilterID < 0 {
			return fmt.Errorf("%s: savedFilterId %d is no saved filter's id", at, w.SavedFilterID)
		}
		switch w.Type {
		case "process":
			if w.Mode != "" && !slices.Contains([]string{"compact", "combined", "full"}, w.Mode) {
				return fmt.Errorf("%s: mode %q is not compact, combined or full", at, w.Mode)
			}
		case "statistic":
			if w.ChartID == "" {
				return fmt.Errorf("%s: a statistic widget needs a chartId", at)
			}
		case "custom":
			if (w.URL == "") == (w.ProcessID == "") {
				return fmt.Errorf("%s: a custom widget needs either a url or a processId", at)
			}
		case "navigation":
			if w.Target == "" {
				return fmt.Errorf("%s: a navigation widget needs a target dashboard", at)
			}
		}
	}
	return nil
}

// decode reads a dashboard document strictly, naming line and column of a JSON error.
func decode(text []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		off := dec.InputOffset()
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			off = syn.Offset
		case errors.As(err, &typ):
			off = typ.Offset
		}
		before := text[:min(int(off), len(text))]
		line := bytes.Count(before, []byte("\n")) + 1
		col := len(before) - bytes.LastIndexByte(before, '\n')
		return fmt.Errorf("line %d, column %d: %s", line, col, strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// DecodeWidgets reads a JSON array of widgets strictly.
func DecodeWidgets(text []byte, out *[]Widget) error { return decode(text, out) }
