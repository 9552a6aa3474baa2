// Package customfield is the one home of the rules for custom fields of tasks and cases:
// what a name may be (wherever one enters: a filter, a chart, a widget, start or
// completion data, setTaskCustomFields / setCaseCustomFields) and what a value may be.
//
// A custom field is typed by its value: a text (a JSON string of at most MaxText
// characters), a number (a JSON number between -MaxNumber and MaxNumber, stored in plain
// decimal form such as 1200 or 0.25, so that PostgreSQL's ->> and the list index read the
// same text) or a date (an RFC 3339 time, stored in UTC as 2026-12-06T09:30:00Z, so that
// equal instants are equal texts and dates sort as texts). A task or case holds at most
// MaxFields of them. Anything else (true/false, lists, objects, a number out of range) is
// refused with BAD_USER_INPUT naming the field.
package customfield

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/portico-dev/portico/apperr"
)

// NamePattern is what a custom-field name must match: a letter or underscore, then up
// to 63 letters, digits or underscores.
const NamePattern = `^[A-Za-z_][A-Za-z0-9_]{0,63}$`

// Limits of the values a task or case holds.
const (
	MaxFields = 50                    // custom fields per task or case
	MaxText   = 2000                  // characters of a text value
	MaxNumber = 1_000_000_000_000_000 // 10^15: larger numbers lose digits as float64
	maxDigits = 32                    // characters of a number in plain decimal form (refuses 1e-300)
)

var namePattern = regexp.MustCompile(NamePattern)

// ValidateName refuses a custom-field name that does not match NamePattern, with a
// BAD_USER_INPUT error naming the pattern.
func ValidateName(name string) error {
	if !namePattern.MatchString(name) {
		return apperr.BadInput("custom field name %q is not valid: a name matches %s", Truncate(name), NamePattern)
	}
	return nil
}

// Truncate keeps an error message short when a name or value is huge.
func Truncate(s string) string {
	const max = 80
	if r := []rune(s); len(r) > max {
		return string(r[:max]) + "…"
	}
	return s
}

// Value checks one value and returns it as it is stored: a string (text, or a date in
// UTC) or a json.Number in plain decimal form. The error says what the value must be,
// without the field's name (callers add where it is).
func Value(v any) (any, error) {
	switch x := v.(type) {
	case string:
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return t.UTC().Format(time.RFC3339Nano), nil
		}
		if n := utf8.RuneCountInString(x); n > MaxText {
			return nil, fmt.Errorf("a text of %d characters; at most %d", n, MaxText)
		}
		return x, nil
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return nil, fmt.Errorf("%s is no number between -10^15 and 10^15", Truncate(string(x)))
		}
		return number(f)
	case float64:
		return number(x)
	case float32:
		return number(float64(x))
	case int:
		return number(float64(x))
	case int64:
		return number(float64(x))
	case int32:
		return number(float64(x))
	case bool:
		return nil, fmt.Errorf("true/false is not a custom-field value; give a text (\"%t\"), a number or a date", x)
	case nil:
		return nil, fmt.Errorf("null is no value")
	}
	return nil, fmt.Errorf("a %s is not a custom-field value; give a text, a number or a date (RFC 3339, such as 2026-12-06T09:30:00Z)", kindName(v))
}

func number(f float64) (any, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > MaxNumber {
		return nil, fmt.Errorf("%g is no number between -10^15 and 10^15", f)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if len(s) > maxDigits {
		return nil, fmt.Errorf("%s has too many decimal places (at most %d characters)", Truncate(s), maxDigits)
	}
	return json.Number(s), nil
}

func kindName(v any) string {
	switch v.(type) {
	case []any:
		return "list"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// Check validates fields given to be stored (names and values; nil values only when
// clearing is allowed), in name order so the first error is stable, and returns them
// as stored. where names the input in errors ("data", "fields").
func Check(where string, fields map[string]any, clearing bool) (map[string]any, error) {
	if len(fields) > MaxFields {
		return nil, apperr.BadInput("%s: %d custom fields; at most %d", where, len(fields), MaxFields)
	}
	out := make(map[string]any, len(fields))
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if err := ValidateName(k); err != nil {
			return nil, apperr.BadInput("%s: %v", where, err).WithExtension("field", Truncate(k))
		}
		v := fields[k]
		if v == nil && clearing {
			out[k] = nil
			continue
		}
		sv, err := Value(v)
		if err != nil {
			return nil, apperr.BadInput("%s.%s: %v", where, k, err).WithExtension("field", k)
		}
		out[k] = sv
	}
	return out, nil
}

// Merge returns current with changes applied: a nil value removes its field. It refuses
// (BAD_USER_INPUT) a result of more than MaxFields fields. current is not modified.
func Merge(current, changes map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(current)+len(changes))
	for k, v := range current {
		out[k] = v
	}
	for k, v := range changes {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	if len(out) > MaxFields {
		return nil, apperr.BadInput("this would make %d custom fields; at most %d (clear some with null)", len(out), MaxFields)
	}
	return out, nil
}

// NameOf turns a form element's id into the custom-field name its value is kept under:
// the id itself when it is a valid name, else the id with every character a name may
// not hold replaced by _ (and _ first when it starts with a digit), cut to 64
// characters: "Input area2020-09-07 04:57:05" becomes Input_area2020_09_07_04_57_05.
func NameOf(elementID string) string {
	if namePattern.MatchString(elementID) {
		return elementID
	}
	var b strings.Builder
	for _, r := range elementID {
		switch {
		case r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	s := b.String()
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		s = "_" + s
	}
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}
