package statistics

import "strings"

// LabelKind is what a chart's labels are: codes of one kind, which have display texts,
// or names (categories, people, days), shown as they are.
type LabelKind string

// The kinds of chart labels.
const (
	TaskStateLabels         LabelKind = "TASK_STATE"
	CaseStateLabels         LabelKind = "CASE_STATE"
	TaskBusinessStateLabels LabelKind = "TASK_BUSINESS_STATE"
	CaseBusinessStateLabels LabelKind = "CASE_BUSINESS_STATE"
	PriorityLabels          LabelKind = "PRIORITY"
	ExpiryLabels            LabelKind = "EXPIRY"
	NameLabels              LabelKind = "NAME"
)

// FallbackLanguage is the language of a label whose texts lack the viewer's.
const FallbackLanguage = "en"

// labelTexts is the one home of chart label texts: per kind, per code, per language.
// NONE (no value: no worker, no category, no expiry) is in noneTexts for every kind.
// Seed 001's languages are en, de, fr and es; the texts exist in English and German,
// and the others read English until translated.
var labelTexts = map[LabelKind]map[string]map[string]string{
	TaskStateLabels: {
		"CREATED":        {"en": "Created", "de": "Erstellt"},
		"DELAYED":        {"en": "Delayed", "de": "Verzögert"},
		"SUSPENDED":      {"en": "Open", "de": "Offen"},
		"PARKED":         {"en": "Reserved", "de": "Reserviert"},
		"RESUMED":        {"en": "In progress", "de": "In Bearbeitung"},
		"READY_FOR_JOIN": {"en": "Ready for join", "de": "Bereit zum Zusammenführen"},
		"DONE":           {"en": "Done", "de": "Erledigt"},
		"FAILED":         {"en": "Failed", "de": "Fehlgeschlagen"},
		"DESTROYED":      {"en": "Destroyed", "de": "Zerstört"},
	},
	CaseStateLabels: {
		"CREATED":   {"en": "Created", "de": "Erstellt"},
		"RUNNING":   {"en": "Running", "de": "Laufend"},
		"DONE":      {"en": "Done", "de": "Erledigt"},
		"DESTROYED": {"en": "Destroyed", "de": "Zerstört"},
	},
	TaskBusinessStateLabels: {
		"OPEN":        {"en": "Open", "de": "Offen"},
		"IN_PROGRESS": {"en": "In progress", "de": "In Bearbeitung"},
		"DONE":        {"en": "Done", "de": "Erledigt"},
		"DESTROYED":   {"en": "Destroyed", "de": "Zerstört"},
		"DELAYED":     {"en": "Delayed", "de": "Verzögert"},
		"ERROR":       {"en": "Error", "de": "Fehler"},
	},
	CaseBusinessStateLabels: {
		"OPEN":      {"en": "Open", "de": "Offen"},
		"DONE":      {"en": "Done", "de": "Erledigt"},
		"DESTROYED": {"en": "Destroyed", "de": "Zerstört"},
	},
	PriorityLabels: {
		"EXCEPTION": {"en": "Exception", "de": "Ausnahme"},
		"HIGH":      {"en": "High", "de": "Hoch"},
		"NORMAL":    {"en": "Normal", "de": "Normal"},
		"LOW":       {"en": "Low", "de": "Niedrig"},
	},
	ExpiryLabels: {
		"EXPIRED":    {"en": "Expired", "de": "Abgelaufen"},
		"TODAY":      {"en": "Today", "de": "Heute"},
		"THIS_WEEK":  {"en": "This week", "de": "Diese Woche"},
		"THIS_MONTH": {"en": "This month", "de": "Diesen Monat"},
		"THIS_YEAR":  {"en": "This year", "de": "Dieses Jahr"},
		"LATER":      {"en": "Later", "de": "Später"},
		"NONE":       {"en": "No expiry", "de": "Kein Ablauf"},
	},
}

// noneTexts is the text of the NONE label of every kind without its own.
var noneTexts = map[string]string{"en": "None", "de": "Keine"}

// labelKind is the kind of the labels of a chart of spec.
func (spec Spec) labelKind() LabelKind {
	switch spec.GroupBy {
	case ByState:
		if spec.Target == Cases {
			return CaseStateLabels
		}
		return TaskStateLabels
	case ByBusinessState:
		if spec.Target == Cases {
			return CaseBusinessStateLabels
		}
		return TaskBusinessStateLabels
	case ByPriority:
		return PriorityLabels
	case ByExpiry:
		return ExpiryLabels
	}
	return NameLabels
}

// DisplayLabels returns the display text of each of labels (of kind) in language: the
// exact language, else its base (de for de-CH), else English; a name, or a code without
// a text, stays as it is.
func DisplayLabels(kind LabelKind, labels []string, language string) []string {
	out := make([]string, len(labels))
	for i, l := range labels {
		texts := labelTexts[kind][l]
		if texts == nil && l == "NONE" {
			texts = noneTexts
		}
		out[i] = pick(texts, language, l)
	}
	return out
}

func pick(texts map[string]string, language, code string) string {
	if texts == nil {
		return code
	}
	base, _, _ := strings.Cut(language, "-")
	for _, l := range []string{language, strings.ToLower(language), base, strings.ToLower(base), FallbackLanguage} {
		if t, ok := texts[l]; ok {
			return t
		}
	}
	return code
}
