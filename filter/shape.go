package filter

import (
	"github.com/portico-dev/portico/apperr"
)

// Input shape limits, for every input a client sends (GraphQL arguments inline or as
// variables, JSON scalars, the export's where=): deeper nesting or longer lists cost CPU
// in decoding, validation and predicate building (5,000 nested nots took 5 s) and no
// legitimate filter needs them. An object or a list is one level: and: [{…}] is two.
const (
	MaxInputDepth = 32
	MaxInputList  = 1000
)

// DepthError is the refusal of an input nested deeper than MaxInputDepth.
func DepthError(name string) error {
	return apperr.BadInput("%s is nested more than %d levels deep (each object and list is a level); flatten the filter with and/or lists", name, MaxInputDepth)
}

// ListError is the refusal of a list longer than MaxInputList.
func ListError(name string, n int) error {
	return apperr.BadInput("%s has a list of %d elements, more than %d; split the request", name, n, MaxInputList)
}

// CheckShape checks a decoded JSON value (maps, slices and scalars, as encoding/json
// decodes into any) against MaxInputDepth and MaxInputList; name says what it is.
func CheckShape(name string, v any) error {
	return checkShape(name, v, 0)
}

func checkShape(name string, v any, depth int) error {
	switch x := v.(type) {
	case map[string]any:
		if depth++; depth > MaxInputDepth {
			return DepthError(name)
		}
		for _, e := range x {
			if err := checkShape(name, e, depth); err != nil {
				return err
			}
		}
	case []any:
		if depth++; depth > MaxInputDepth {
			return DepthError(name)
		}
		if len(x) > MaxInputList {
			return ListError(name, len(x))
		}
		for _, e := range x {
			if err := checkShape(name, e, depth); err != nil {
				return err
			}
		}
	}
	return nil
}
