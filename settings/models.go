package settings

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/portico-dev/portico/filter"
	"github.com/portico-dev/portico/workflow"
)

// The JSON variables' data models, exactly as seed 001 gives them.

// LocalizedValue is one language's text of the announcement.
type LocalizedValue struct {
	Language string `json:"language"`
	Value    string `json:"value"`
}

// Announcement is Portal.Announcement: shown to every user while enabled.
type Announcement struct {
	Contents []LocalizedValue `json:"contents"`
	Enabled  bool             `json:"enabled"`
}

// ThirdPartyApplication is one entry of Portal.ThirdPartyApplications, a left-menu
// item. DisplayName and Name hold a JSON object of texts by language, as in the seed.
type ThirdPartyApplication struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	MenuIcon    string `json:"menuIcon"`
	MenuOrdinal int    `json:"menuOrdinal"`
	Name        string `json:"name"`
	Link        string `json:"link"`
}

// LocaleValue is a chart name in one locale.
type LocaleValue struct {
	Locale string `json:"locale"`
	Value  string `json:"value"`
}

// ChartFilter is the filter of a seed statistic chart.
type ChartFilter struct {
	TimePeriodSelection         string              `json:"timePeriodSelection"`
	CreatedDateFrom             *string             `json:"createdDateFrom"`
	CreatedDateTo               *string             `json:"createdDateTo"`
	SelectedCaseCategories      []string            `json:"selectedCaseCategories"`
	SelectedRoles               []string            `json:"selectedRoles"`
	IsAllRolesSelected          bool                `json:"isAllRolesSelected"`
	SelectedCaseStates          []string            `json:"selectedCaseStates"`
	IsAllCaseStatesSelected     bool                `json:"isAllCaseStatesSelected"`
	SelectedTaskPriorities      []string            `json:"selectedTaskPriorities"`
	IsAllTaskPrioritiesSelected bool                `json:"isAllTaskPrioritiesSelected"`
	CustomFieldFilters          map[string][]string `json:"customFieldFilters"`
}

// StatisticChart is one entry of Portal.StatisticCharts.
type StatisticChart struct {
	ID       string        `json:"id"`
	Names    []LocaleValue `json:"names"`
	Type     string        `json:"type"`
	Filter   ChartFilter   `json:"filter"`
	Position int           `json:"position"`
}

// FavoriteProcess is one entry of Portal.Dashboard.FavoriteProcesses.
type FavoriteProcess struct {
	ID          string `json:"id"`
	ProcessType string `json:"processType"`
	ProcessName string `json:"processName"`
	Icon        string `json:"icon"`
	ProcessID   string `json:"processId"`
	Index       int    `json:"index"`
}

// ChartTypes are the seed's statistic chart types.
var ChartTypes = []string{"TASK_BY_PRIORITY", "CASES_BY_STATE", "TASK_BY_EXPIRY", "ELAPSED_TIME_BY_CASE_CATEGORY",
	"CASES_BY_FINISHED_TASK", "CASES_BY_FINISHED_TIME", "CASES_BY_CATEGORY"}

// TimePeriods are the seed's chart time period selections.
var TimePeriods = []string{"", "CUSTOM", "LAST_WEEK", "LAST_MONTH", "LAST_6_MONTH"}

// ProcessTypes are the seed's favorite process types.
var ProcessTypes = []string{"EXPRESS_PROCESS", "EXTERNAL_LINK", "IVY_PROCESS"}

// decodeStrict decodes text into v, refusing unknown fields and trailing data, and
// names the line and column of what is wrong.
func decodeStrict(text string, v any) error {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			return fmt.Errorf("%s: unexpected data after the JSON value", position(text, dec.InputOffset()))
		}
		return nil
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("%s: %v", position(text, syn.Offset), syn)
	case errors.As(err, &typ):
		return fmt.Errorf("%s: %s must be %s, not %s", position(text, typ.Offset), fieldName(typ.Field), typ.Type, typ.Value)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%s: the JSON ends too early", position(text, int64(len(text))))
	default:
		// Unknown fields: "json: unknown field \"x\"".
		return fmt.Errorf("%s: %s", position(text, dec.InputOffset()), strings.TrimPrefix(err.Error(), "json: "))
	}
}

func fieldName(f string) string {
	if f == "" {
		return "the value"
	}
	return "field " + f
}

// position turns a byte offset into "line L, column C".
func position(text string, offset int64) string {
	offset = min(max(offset, 0), int64(len(text)))
	before := text[:offset]
	line := strings.Count(before, "\n") + 1
	col := len(before) - strings.LastIndex(before, "\n")
	return fmt.Sprintf("line %d, column %d", line, col)
}

// checkAnnouncement validates Portal.Announcement.
func checkAnnouncement(text string) error {
	var a Announcement
	if err := decodeStrict(text, &a); err != nil {
		return err
	}
	seen := map[string]bool{}
	for i, c := range a.Contents {
		if c.Language == "" {
			return fmt.Errorf("contents[%d]: language is empty; use a code such as en or de", i)
		}
		if seen[c.Language] {
			return fmt.Errorf("contents[%d]: language %q comes twice", i, c.Language)
		}
		seen[c.Language] = true
	}
	return nil
}

func checkThirdPartyApplications(text string) error {
	var apps []ThirdPartyApplication
	if err := decodeStrict(text, &apps); err != nil {
		return err
	}
	for i, a := range apps {
		if err := checkID(i, a.ID); err != nil {
			return err
		}
		for field, v := range map[string]string{"displayName": a.DisplayName, "name": a.Name} {
			var texts map[string]string
			if !strings.HasPrefix(strings.TrimSpace(v), "{") {
				continue // a plain name, the same in every language
			}
			if err := json.Unmarshal([]byte(v), &texts); err != nil {
				return fmt.Errorf("[%d].%s: must be a name or a JSON object of texts by language such as {\"en\":\"Name\"}: %v", i, field, err)
			}
		}
	}
	return nil
}

// checkID refuses an entry of a JSON list without its id.
func checkID(i int, id string) error {
	if id == "" {
		return fmt.Errorf("[%d]: id is empty", i)
	}
	return nil
}

func checkStatisticCharts(text string) error {
	var charts []StatisticChart
	if err := decodeStrict(text, &charts); err != nil {
		return err
	}
	ids := map[string]bool{}
	for i, c := range charts {
		switch {
		case c.ID == "":
			return fmt.Errorf("[%d]: id is empty", i)
		case ids[c.ID]:
			return fmt.Errorf("[%d]: id %q comes twice", i, c.ID)
		case !slices.Contains(ChartTypes, c.Type):
			return fmt.Errorf("[%d]: type %q is not one of %s", i, c.Type, strings.Join(ChartTypes, ", "))
		case !slices.Contains(TimePeriods, c.Filter.TimePeriodSelection):
			return fmt.Errorf("[%d]: filter.timePeriodSelection %q is not one of %s", i, c.Filter.TimePeriodSelection, strings.Join(TimePeriods[1:], ", "))
		}
		ids[c.ID] = true
		for name := range c.Filter.CustomFieldFilters {
			if err := filter.ValidateName(name); err != nil {
				return fmt.Errorf("[%d]: filter.customFieldFilters: %w", i, err)
			}
		}
	}
	return nil
}

func checkFavoriteProcesses(text string) error {
	var procs []FavoriteProcess
	if err := decodeStrict(text, &procs); err != nil {
		return err
	}
	for i, p := range procs {
		if err := checkID(i, p.ID); err != nil {
			return err
		}
		if !slices.Contains(ProcessTypes, p.ProcessType) {
			return fmt.Errorf("[%d]: processType %q is not one of %s", i, p.ProcessType, strings.Join(ProcessTypes, ", "))
		}
	}
	return nil
}

// ParseExpressProcesses reads Portal.Processes.ExpressProcesses: the seed's model,
// strictly (unknown fields refused, with line and column), each entry's shape checked
// and ids not repeated. readyToExecute and ableToEdit default to true when absent, as
// in createExpressProcess.
func ParseExpressProcesses(text string) ([]workflow.ExpressProcess, error) {
	var defs []workflow.ExpressProcess
	if err := decodeStrict(text, &defs); err != nil {
		return nil, err
	}
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	for i := range defs {
		d := &defs[i]
		if _, ok := raw[i]["readyToExecute"]; !ok {
			d.ReadyToExecute = true
		}
		if _, ok := raw[i]["ableToEdit"]; !ok {
			d.AbleToEdit = true
		}
		if d.ID != "" && ids[d.ID] {
			return nil, fmt.Errorf("[%d]: id %q comes twice", i, d.ID)
		}
		ids[d.ID] = true
		if err := d.Validate(); err != nil {
			return nil, fmt.Errorf("[%d] (%q): %v", i, d.ProcessName, err)
		}
	}
	return defs, nil
}

func checkExpressProcesses(text string) error {
	_, err := ParseExpressProcesses(text)
	return err
}

// compact re-encodes a JSON value without insignificant space, so stored values compare.
func compact(text string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(text)); err != nil {
		return text
	}
	return b.String()
}

// defaultCharts are the standard charts until Portal.StatisticCharts is set: one per
// seed chart type over all tasks or cases.
const defaultCharts = `[` +
	`{"id":"task-by-priority","names":[{"locale":"en","value":"Tasks by priority"},{"locale":"de","value":"Aufgaben nach Priorität"}],"type":"TASK_BY_PRIORITY","filter":{},"position":1},` +
	`{"id":"cases-by-state","names":[{"locale":"en","value":"Cases by state"},{"locale":"de","value":"Vorgänge nach Status"}],"type":"CASES_BY_STATE","filter":{},"position":2},` +
	`{"id":"task-by-expiry","names":[{"locale":"en","value":"Tasks by expiry"},{"locale":"de","value":"Aufgaben nach Ablauf"}],"type":"TASK_BY_EXPIRY","filter":{},"position":3},` +
	`{"id":"elapsed-time-by-case-category","names":[{"locale":"en","value":"Average case runtime by category"}],"type":"ELAPSED_TIME_BY_CASE_CATEGORY","filter":{},"position":4},` +
	`{"id":"cases-by-category","names":[{"locale":"en","value":"Cases by category"}],"type":"CASES_BY_CATEGORY","filter":{},"position":5}` +
	`]`

// StatisticCharts returns Portal.StatisticCharts in their position order.
func (s *Service) StatisticCharts(ctx context.Context) ([]*StatisticChart, error) {
	text, err := s.Value(ctx, StatisticChartsName)
	if err != nil {
		return nil, err
	}
	var charts []*StatisticChart
	if err := json.Unmarshal([]byte(text), &charts); err != nil {
		return nil, fmt.Errorf("stored %s: %w", StatisticChartsName, err)
	}
	slices.SortStableFunc(charts, func(a, b *StatisticChart) int { return a.Position - b.Position })
	return charts, nil
}

// LocalizedName returns the name for a user whose own language setting is own.
func (s *Service) LocalizedName(ctx context.Context, names []LocaleValue, own string) (string, error) {
	texts := make([]LocalizedValue, len(names))
	for i, n := range names {
		texts[i] = LocalizedValue{Language: n.Locale, Value: n.Value}
	}
	return s.PickFor(ctx, texts, own)
}

// ApplicationFavorites returns Portal.Dashboard.FavoriteProcesses in index order.
func (s *Service) ApplicationFavorites(ctx context.Context) ([]*FavoriteProcess, error) {
	var out []*FavoriteProcess
	if err := s.jsonValue(ctx, FavoriteProcesses, &out); err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b *FavoriteProcess) int { return a.Index - b.Index })
	return out, nil
}

// ThirdPartyApplications returns Portal.ThirdPartyApplications in menu order.
func (s *Service) ThirdPartyApplications(ctx context.Context) ([]*ThirdPartyApplication, error) {
	var out []*ThirdPartyApplication
	if err := s.jsonValue(ctx, ThirdPartyApps, &out); err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b *ThirdPartyApplication) int { return a.MenuOrdinal - b.MenuOrdinal })
	return out, nil
}

// Localized returns, from a JSON object of texts by language (the seed's displayName),
// the text for a user whose own language setting is own; a plain string is itself.
func (s *Service) Localized(ctx context.Context, text, own string) (string, error) {
	var byLang map[string]string
	if err := json.Unmarshal([]byte(text), &byLang); err != nil {
		return text, nil
	}
	texts := make([]LocalizedValue, 0, len(byLang))
	for _, l := range slices.Sorted(maps.Keys(byLang)) {
		texts = append(texts, LocalizedValue{Language: l, Value: byLang[l]})
	}
	return s.PickFor(ctx, texts, own)
}

func (s *Service) jsonValue(ctx context.Context, name string, v any) error {
	text, err := s.Value(ctx, name)
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(text), v); err != nil {
		return fmt.Errorf("stored %s: %w", name, err)
	}
	return nil
}
