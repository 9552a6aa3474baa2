package wstransport

import (
	"encoding/json"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// renderShape is what decides how a subscription renders an event: its operation and
// the variables its rendering reads, which it returns too. The subscription field's
// arguments choose which events a subscription is handed, never what a value holds
// (outlet.Token), so a variable that only they use is left out: subscriptions with
// different filters in variables (taskUpdated(where: $w)) then share one rendering of
// each event instead of one per filter, and once the field has resolved (its source
// compiled the arguments) the subscription need not keep that variable at all.
func renderShape(rc *graphql.OperationContext) (shape string, rendering map[string]any) {
	vars := rc.Variables
	if len(rc.Operation.SelectionSet) == 1 {
		if root, ok := rc.Operation.SelectionSet[0].(*ast.Field); ok {
			filters := map[string]bool{}
			argumentVars(root.Arguments, filters)
			read := map[string]bool{}
			directiveVars(root.Directives, read)
			selectionVars(root.SelectionSet, read, map[string]bool{})
			kept := make(map[string]any, len(vars))
			for name, v := range vars {
				if !filters[name] || read[name] {
					kept[name] = v
				}
			}
			vars = kept
		}
	}
	b, _ := json.Marshal(vars) // maps marshal with sorted keys
	return rc.OperationName + "\x00" + rc.RawQuery + "\x00" + string(b), vars
}

// valueVars adds the variables v refers to.
func valueVars(v *ast.Value, into map[string]bool) {
	if v == nil {
		return
	}
	if v.Kind == ast.Variable {
		into[v.Raw] = true
	}
	for _, c := range v.Children {
		valueVars(c.Value, into)
	}
}

func argumentVars(args ast.ArgumentList, into map[string]bool) {
	for _, a := range args {
		valueVars(a.Value, into)
	}
}

func directiveVars(ds ast.DirectiveList, into map[string]bool) {
	for _, d := range ds {
		argumentVars(d.Arguments, into)
	}
}

// selectionVars adds the variables a selection set refers to, through its fragments
// (each named fragment once).
func selectionVars(set ast.SelectionSet, into, fragments map[string]bool) {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			argumentVars(s.Arguments, into)
			directiveVars(s.Directives, into)
			selectionVars(s.SelectionSet, into, fragments)
		case *ast.InlineFragment:
			directiveVars(s.Directives, into)
			selectionVars(s.SelectionSet, into, fragments)
		case *ast.FragmentSpread:
			directiveVars(s.Directives, into)
			if s.Definition != nil && !fragments[s.Name] {
				fragments[s.Name] = true
				directiveVars(s.Definition.Directives, into)
				selectionVars(s.Definition.SelectionSet, into, fragments)
			}
		}
	}
}
