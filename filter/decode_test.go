package filter_test

import (
	"strings"
	"testing"

	"github.com/portico-dev/portico/filter"
)

// TestDecodeTaskList checks the JSON decoding's GraphQL coercion and its refusals.
func TestDecodeTaskList(t *testing.T) {
	tests := []struct {
		name, where string
		bad         string // part of the refusal; "" when accepted
	}{
		{"IDs as numbers and strings", `{"idIn":[1,"2"],"caseID":"3"}`, ""},
		{"one value for a list", `{"idIn":7,"businessState":"OPEN"}`, ""},
		{"enum checked", `{"priority":"URGENT"}`, "where.priority: URGENT is not a valid Priority"},
		{"time", `{"createdAtGT":"yesterday"}`, "where.createdAtGT"},
		{"unknown nested", `{"hasCaseWith":[{"hasTasksWith":[{"colour":1}]}]}`, "where.hasCaseWith[0].hasTasksWith[0].colour: unknown field"},
		{"name checked in place", `{"or":[{"customFields":[{"name":"a') OR 1=1 OR ('","equals":"z"}]}]}`, "where.or[0].customFields[0].name: custom field name"},
		{"name missing", `{"customFields":[{"equals":"z"}]}`, filter.NamePattern},
		{"too deep", strings.Repeat(`{"not":`, 33) + `{}` + strings.Repeat(`}`, 33), "nested more than 32"},
		{"very deep", strings.Repeat(`{"not":`, 9000) + `{}` + strings.Repeat(`}`, 9000), "nested more than 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, _, err := filter.DecodeTaskList(tt.where, "")
			switch {
			case tt.bad == "" && (err != nil || w == nil):
				t.Fatalf("refused: %v", err)
			case tt.bad != "" && (err == nil || !strings.Contains(err.Error(), tt.bad)):
				t.Fatalf("error %v, want one saying %q", err, tt.bad)
			}
		})
	}
}
