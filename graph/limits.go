package graph

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/complexity"
	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/filter"
)

// Limits bound what one GraphQL request may cost. They apply in the order a request
// meets them: tokens while parsing, fields and root fields on the parsed document before
// validation (gqlparser's validation, its overlapping-fields rule above all, grows with
// the square of repeated fields: 8,000 repeated fields took 26 s of CPU), then after
// validation depth, complexity and page sizes, all before anything executes.
type Limits struct {
	MaxTokens     int // tokens of a query document
	MaxFields     int // fields of a document, each fragment counted where it is spread
	MaxRootFields int // root fields (aliases count apart) of an operation
	MaxDepth      int // nesting of fields
	MaxComplexity int // Prices' sum over the operation
	DefaultPage   int // first of a connection given neither first nor last
	MaxPage       int // largest first or last of any field
}

// DefaultLimits are the limits the server uses where Limits leaves zero.
var DefaultLimits = Limits{
	MaxTokens:     10_000,
	MaxFields:     500,
	MaxRootFields: 30,
	MaxDepth:      15,
	MaxComplexity: 20_000,
	DefaultPage:   50,
	MaxPage:       1000,
}

// WithDefaults returns l with its zero fields set from DefaultLimits.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits
	for _, f := range []struct{ v, def *int }{
		{&l.MaxTokens, &d.MaxTokens}, {&l.MaxFields, &d.MaxFields}, {&l.MaxRootFields, &d.MaxRootFields},
		{&l.MaxDepth, &d.MaxDepth}, {&l.MaxComplexity, &d.MaxComplexity},
		{&l.DefaultPage, &d.DefaultPage}, {&l.MaxPage, &d.MaxPage},
	} {
		if *f.v == 0 {
			*f.v = *f.def
		}
	}
	return l
}

// Use installs the limits on srv, whose executable schema must come from Priced.
// validated is srv's query cache: a document found there passed these limits before.
// Call it after extensions that change the query text (automatic persisted queries).
func (l Limits) Use(srv *handler.Server, validated graphql.Cache[*ast.QueryDocument]) {
	srv.SetParserTokenLimit(l.MaxTokens)
	srv.Use(documentLimit{Limits: l, validated: validated})
	srv.Use(DepthLimit{Max: l.MaxDepth})
	srv.Use(pageLimit{Limits: l})
	srv.Use(&complexityLimit{max: l.MaxComplexity})
}

// complexityLimit refuses an operation whose complexity (the Prices of Priced) exceeds
// max. It is gqlgen's FixedComplexityLimit without its statistics: those are kept in
// the operation context, which a subscription holds for the life of its socket (about
// 330 bytes each).
type complexityLimit struct {
	max int
	es  graphql.ExecutableSchema
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = (*complexityLimit)(nil)

// ExtensionName implements graphql.HandlerExtension.
func (*complexityLimit) ExtensionName() string { return "ComplexityLimit" }

// Validate implements graphql.HandlerExtension.
func (c *complexityLimit) Validate(es graphql.ExecutableSchema) error {
	c.es = es
	return nil
}

// MutateOperationContext implements graphql.OperationContextMutator.
func (c *complexityLimit) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	if n := complexity.Calculate(ctx, c.es, oc.Operation, oc.Variables); n > c.max {
		return badInput("operation has complexity %d, which exceeds the limit of %d", n, c.max)
	}
	return nil
}

func badInput(format string, args ...any) *gqlerror.Error {
	err := gqlerror.Errorf(format, args...)
	err.Extensions = map[string]any{"code": string(apperr.CodeBadUserInput)}
	return err
}

// documentLimit parses the query with the token limit and counts its fields before
// gqlgen validates it. gqlgen parses again (parsing is linear and bounded by the token
// limit; validation is what costs).
type documentLimit struct {
	Limits
	validated graphql.Cache[*ast.QueryDocument]
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = documentLimit{}

// ExtensionName implements graphql.HandlerExtension.
func (documentLimit) ExtensionName() string { return "DocumentLimit" }

// Validate implements graphql.HandlerExtension.
func (d documentLimit) Validate(graphql.ExecutableSchema) error {
	if d.MaxTokens < 1 || d.MaxFields < 1 || d.MaxRootFields < 1 {
		return errors.New("token, field and root field limits must be at least 1")
	}
	return nil
}

// MutateOperationParameters implements graphql.OperationParameterMutator.
func (d documentLimit) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	if p.Query == "" {
		return nil // gqlgen answers "no operation provided"
	}
	for name, v := range p.Variables {
		if err := filter.CheckShape("$"+name, v); err != nil {
			return badInput("%s", err.Error())
		}
	}
	if d.validated != nil {
		if _, ok := d.validated.Get(ctx, p.Query); ok {
			return nil
		}
	}
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: p.Query}, d.MaxTokens)
	if err != nil {
		var ge *gqlerror.Error
		if errors.As(err, &ge) && ge.Message == fmt.Sprintf("exceeded token limit of %d", d.MaxTokens) {
			return badInput("the query has more than %d tokens; split it into smaller queries, and pass long lists as variables", d.MaxTokens)
		}
		return nil // a syntax error: gqlgen's parser reports it
	}
	c := fieldCounter{doc: doc, memo: map[string]int{}, limit: d.MaxFields}
	fields := 0
	for _, op := range doc.Operations {
		if n := rootFields(doc, op.SelectionSet, map[string]bool{}); n > d.MaxRootFields {
			return badInput("the operation selects %d root fields (each alias counts), more than %d; split it into several requests", n, d.MaxRootFields)
		}
		fields += c.count(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		if _, counted := c.memo[f.Name]; !counted { // validation reads unused fragments too
			fields += c.fragment(f.Name)
		}
	}
	if fields > d.MaxFields {
		return badInput("the query selects more than %d fields (a fragment counts each time it is spread); split it into smaller queries", d.MaxFields)
	}
	return inlineShape(doc)
}

// inlineShape applies filter's input shape limits to the values written in the document:
// arguments of fields and directives, and variables' defaults.
func inlineShape(doc *ast.QueryDocument) *gqlerror.Error {
	var err *gqlerror.Error
	var args func(name string, list ast.ArgumentList)
	var dirs func(list ast.DirectiveList)
	var sels func(set ast.SelectionSet)
	args = func(name string, list ast.ArgumentList) {
		for _, a := range list {
			if err == nil {
				err = valueShape(name+"."+a.Name, a.Value, 0)
			}
		}
	}
	dirs = func(list ast.DirectiveList) {
		for _, d := range list {
			args("@"+d.Name, d.Arguments)
		}
	}
	sels = func(set ast.SelectionSet) {
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				args(s.Alias, s.Arguments)
				dirs(s.Directives)
				sels(s.SelectionSet)
			case *ast.InlineFragment:
				dirs(s.Directives)
				sels(s.SelectionSet)
			case *ast.FragmentSpread:
				dirs(s.Directives) // the fragment itself is walked below
			}
		}
	}
	for _, op := range doc.Operations {
		for _, v := range op.VariableDefinitions {
			if err == nil && v.DefaultValue != nil {
				err = valueShape("$"+v.Variable, v.DefaultValue, 0)
			}
		}
		dirs(op.Directives)
		sels(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		dirs(f.Directives)
		sels(f.SelectionSet)
	}
	return err
}

// valueShape checks one literal against filter.MaxInputDepth and filter.MaxInputList.
func valueShape(name string, v *ast.Value, depth int) *gqlerror.Error {
	if v == nil || v.Kind != ast.ObjectValue && v.Kind != ast.ListValue {
		return nil
	}
	if depth++; depth > filter.MaxInputDepth {
		return badInput("%s", filter.DepthError(name).Error())
	}
	if v.Kind == ast.ListValue && len(v.Children) > filter.MaxInputList {
		return badInput("%s", filter.ListError(name, len(v.Children)).Error())
	}
	for _, c := range v.Children {
		if err := valueShape(name, c.Value, depth); err != nil {
			return err
		}
	}
	return nil
}

// fieldCounter counts the fields of selection sets with fragments expanded, each
// fragment's count computed once, stopping past limit (so fragments spreading fragments
// cannot make the count itself expensive).
type fieldCounter struct {
	doc   *ast.QueryDocument
	memo  map[string]int // fragment name -> fields; -1 while counting it (a cycle counts 0)
	limit int
}

func (c *fieldCounter) count(set ast.SelectionSet) int {
	n := 0
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			n += 1 + c.count(s.SelectionSet)
		case *ast.InlineFragment:
			n += c.count(s.SelectionSet)
		case *ast.FragmentSpread:
			n += c.fragment(s.Name)
		}
		if n > c.limit {
			return c.limit + 1
		}
	}
	return n
}

func (c *fieldCounter) fragment(name string) int {
	if n, ok := c.memo[name]; ok {
		return max(n, 0)
	}
	f := c.doc.Fragments.ForName(name)
	if f == nil {
		return 0 // validation refuses the unknown fragment
	}
	c.memo[name] = -1
	n := c.count(f.SelectionSet)
	c.memo[name] = n
	return n
}

// rootFields counts the fields of an operation's root selection set, through fragments.
func rootFields(doc *ast.QueryDocument, set ast.SelectionSet, seen map[string]bool) int {
	n := 0
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			n++
		case *ast.InlineFragment:
			n += rootFields(doc, s.SelectionSet, seen)
		case *ast.FragmentSpread:
			if f := doc.Fragments.ForName(s.Name); f != nil && !seen[s.Name] {
				seen[s.Name] = true // spread twice, its fields merge
				n += rootFields(doc, f.SelectionSet, seen)
			}
		}
	}
	return n
}

// DepthLimit refuses operations nested deeper than Max fields, before they run. gqlgen
// has a complexity limit but no depth limit, and deep nesting (task → case → tasks → …)
// is the cheap way to make one request expensive.
type DepthLimit struct{ Max int }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = DepthLimit{}

// ExtensionName implements graphql.HandlerExtension.
func (DepthLimit) ExtensionName() string { return "DepthLimit" }

// Validate implements graphql.HandlerExtension.
func (d DepthLimit) Validate(graphql.ExecutableSchema) error {
	if d.Max < 1 {
		return fmt.Errorf("depth limit must be at least 1")
	}
	return nil
}

// MutateOperationContext implements graphql.OperationContextMutator.
func (d DepthLimit) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	if depth := selectionDepth(oc.Operation.SelectionSet, 0, d.Max); depth > d.Max {
		return badInput("the operation is nested more than %d levels deep; split it into smaller queries", d.Max)
	}
	return nil
}

// selectionDepth returns the depth of a selection set, stopping once it passes limit
// (so cyclic fragment spreads, which validation rejects anyway, cannot loop).
func selectionDepth(set ast.SelectionSet, depth, limit int) int {
	if depth > limit {
		return depth
	}
	maxDepth := depth
	for _, sel := range set {
		var d int
		switch s := sel.(type) {
		case *ast.Field:
			if len(s.SelectionSet) == 0 {
				d = depth + 1
			} else {
				d = selectionDepth(s.SelectionSet, depth+1, limit)
			}
		case *ast.InlineFragment:
			d = selectionDepth(s.SelectionSet, depth, limit)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				d = selectionDepth(s.Definition.SelectionSet, depth, limit)
			}
		}
		maxDepth = max(maxDepth, d)
	}
	return maxDepth
}

// pageLimit is the page size rule of every field with first or last arguments (the
// connections, and lists such as news), applied before the operation runs: it refuses a
// negative value, one above MaxPage, and first together with last, and it gives a
// connection asked for neither (and without a default in the schema) first:
// DefaultPage, or last: DefaultPage when only before is given. The default is written
// into this request's copy of the operation, because entgql loads nested connections
// with their parent's query from the arguments as the operation states them.
type pageLimit struct{ Limits }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = pageLimit{}

// ExtensionName implements graphql.HandlerExtension.
func (pageLimit) ExtensionName() string { return "PageLimit" }

// Validate implements graphql.HandlerExtension.
func (p pageLimit) Validate(graphql.ExecutableSchema) error {
	if p.DefaultPage < 1 || p.MaxPage < p.DefaultPage {
		return fmt.Errorf("page sizes must satisfy 1 <= default (%d) <= max (%d)", p.DefaultPage, p.MaxPage)
	}
	return nil
}

// MutateOperationContext implements graphql.OperationContextMutator. The document may
// be the query cache's, shared by concurrent requests: what changes is copied.
func (p pageLimit) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil || oc.Doc == nil {
		return nil
	}
	w := pageWalker{pageLimit: p, doc: oc.Doc, vars: oc.Variables, frags: map[string]*ast.FragmentDefinition{}}
	set, changed, err := w.selections(oc.Operation.SelectionSet)
	if err != nil {
		return err
	}
	if !changed {
		return nil
	}
	op := *oc.Operation
	op.SelectionSet = set
	doc := *oc.Doc
	doc.Operations = make(ast.OperationList, len(oc.Doc.Operations))
	for i, o := range oc.Doc.Operations {
		if o == oc.Operation {
			o = &op
		}
		doc.Operations[i] = o
	}
	doc.Fragments = make(ast.FragmentDefinitionList, len(oc.Doc.Fragments))
	for i, f := range oc.Doc.Fragments {
		if nf := w.frags[f.Name]; nf != nil {
			f = nf
		}
		doc.Fragments[i] = f
	}
	oc.Doc, oc.Operation = &doc, &op
	return nil
}

// pageWalker checks and defaults the page arguments of one operation, each fragment once
// (its arguments do not depend on where it is spread).
type pageWalker struct {
	pageLimit
	doc   *ast.QueryDocument
	vars  map[string]any
	frags map[string]*ast.FragmentDefinition // name -> its rewritten copy, or itself
}

// selections returns set with defaults added where needed (set itself when none are).
func (w *pageWalker) selections(set ast.SelectionSet) (ast.SelectionSet, bool, *gqlerror.Error) {
	var out ast.SelectionSet
	changed := false
	for i, sel := range set {
		var nsel ast.Selection
		switch s := sel.(type) {
		case *ast.Field:
			arg, err := w.field(s)
			if err != nil {
				return nil, false, err
			}
			sub, subChanged, err := w.selections(s.SelectionSet)
			if err != nil {
				return nil, false, err
			}
			if arg != nil || subChanged {
				f := *s
				f.SelectionSet = sub
				if arg != nil {
					f.Arguments = append(slices.DeleteFunc(slices.Clone(s.Arguments), func(a *ast.Argument) bool {
						return a.Name == "first" || a.Name == "last" // null, as variables or literals
					}), arg)
				}
				nsel = &f
			}
		case *ast.InlineFragment:
			sub, subChanged, err := w.selections(s.SelectionSet)
			if err != nil {
				return nil, false, err
			}
			if subChanged {
				f := *s
				f.SelectionSet = sub
				nsel = &f
			}
		case *ast.FragmentSpread:
			def, err := w.fragment(s.Name)
			if err != nil {
				return nil, false, err
			}
			if def != nil && def != s.Definition {
				f := *s
				f.Definition = def
				nsel = &f
			}
		}
		if nsel != nil && !changed {
			changed = true
			out = slices.Clone(set[:i:i])
		}
		if changed {
			if nsel == nil {
				nsel = sel
			}
			out = append(out, nsel)
		}
	}
	if !changed {
		return set, false, nil
	}
	return out, true, nil
}

// fragment returns the fragment's definition, rewritten if a field in it needs a default.
func (w *pageWalker) fragment(name string) (*ast.FragmentDefinition, *gqlerror.Error) {
	if f, ok := w.frags[name]; ok {
		return f, nil
	}
	f := w.doc.Fragments.ForName(name)
	if f == nil {
		return nil, nil
	}
	w.frags[name] = f // a cycle (validation refuses those) ends here
	set, changed, err := w.selections(f.SelectionSet)
	if err != nil {
		return nil, err
	}
	if changed {
		nf := *f
		nf.SelectionSet = set
		w.frags[name] = &nf
	}
	return w.frags[name], nil
}

// field checks the page arguments of f and returns the default argument f needs, if any.
func (w *pageWalker) field(f *ast.Field) (*ast.Argument, *gqlerror.Error) {
	def := f.Definition
	if def == nil || def.Arguments.ForName("first") == nil && def.Arguments.ForName("last") == nil {
		return nil, nil
	}
	args := f.ArgumentMap(w.vars)
	first, last := intArg(args["first"]), intArg(args["last"])
	switch {
	case first != nil && last != nil:
		return nil, badInput("%s: pass first or last, not both (first pages forward with after, last backward with before)", f.Alias)
	case first != nil && (*first < 0 || *first > w.MaxPage):
		return nil, badInput("%s: first must be between 0 and %d, not %d; page on with after: pageInfo.endCursor", f.Alias, w.MaxPage, *first)
	case last != nil && (*last < 0 || *last > w.MaxPage):
		return nil, badInput("%s: last must be between 0 and %d, not %d; page back with before: pageInfo.startCursor", f.Alias, w.MaxPage, *last)
	case first != nil || last != nil || !isConnection(def):
		return nil, nil
	}
	name := "first"
	if def.Arguments.ForName("last") != nil && (def.Arguments.ForName("first") == nil || args["before"] != nil && args["after"] == nil) {
		name = "last"
	}
	return &ast.Argument{Name: name, Position: f.Position,
		Value: &ast.Value{Kind: ast.IntValue, Raw: strconv.Itoa(w.DefaultPage), Position: f.Position}}, nil
}

// isConnection reports whether a field returns a Relay connection.
func isConnection(def *ast.FieldDefinition) bool {
	return def != nil && def.Type != nil && strings.HasSuffix(def.Type.Name(), "Connection")
}

// intArg is an Int argument's value as ArgumentMap gives it (a literal's int64, a
// variable's json.Number or int), nil when absent or null.
func intArg(v any) *int {
	if v == nil {
		return nil
	}
	n, err := graphql.UnmarshalInt(v)
	if err != nil {
		return nil // validation has checked the type; nothing else arrives here
	}
	return &n
}

// Prices of the fields whose cost is not their selection: each adds its price to the
// complexity of its selection (times its page, for fields with first or last). With
// MaxComplexity 20,000 a request holds at most about 19 searches or 9 charts.
var Prices = map[string]int{
	"Query.search":                  1000, // up to 3 ranked full-text statements
	"Query.statisticChart":          2000, // an aggregate over every task or case visible
	"StatisticChart.data":           2000,
	"Subscription.statisticUpdated": 2000,
	"Query.exportRoles":             2000, // the whole directory
	"Query.exportUsers":             2000,
}

// Priced returns es with complexity that follows the cost of a field: a field with
// first or last costs its page size (the default when neither is given) times its
// selection, a field taking ids costs their number times its selection, and the fields
// of Prices add their price. Other fields keep the generated complexity (1 plus the
// selection).
func Priced(es graphql.ExecutableSchema, l Limits) graphql.ExecutableSchema {
	l = l.WithDefaults()
	return pricedSchema{ExecutableSchema: es, defaultPage: l.DefaultPage, maxPage: l.MaxPage}
}

type pricedSchema struct {
	graphql.ExecutableSchema
	defaultPage, maxPage int
}

// Complexity implements graphql.ExecutableSchema.
func (s pricedSchema) Complexity(ctx context.Context, typeName, field string, child int, args map[string]any) (int, bool) {
	var def *ast.FieldDefinition
	if t := s.Schema().Types[typeName]; t != nil {
		def = t.Fields.ForName(field)
	}
	if def == nil {
		return s.ExecutableSchema.Complexity(ctx, typeName, field, child, args)
	}
	price, priced := Prices[typeName+"."+field]
	n := 1
	switch {
	case def.Arguments.ForName("first") != nil || def.Arguments.ForName("last") != nil:
		n = s.defaultPage
		if v := intArg(args["first"]); v != nil {
			n = *v
		} else if v := intArg(args["last"]); v != nil {
			n = *v
		}
		n = min(max(n, 1), s.maxPage+1) // beyond maxPage the page limit refuses it
	case def.Arguments.ForName("ids") != nil:
		ids, _ := args["ids"].([]any)
		n = max(len(ids), 1)
	case !priced:
		return s.ExecutableSchema.Complexity(ctx, typeName, field, child, args)
	}
	if child > (math.MaxInt-1-price)/n {
		return math.MaxInt, true
	}
	return 1 + price + n*child, true
}

// emptyWhereInputs are ent's errors for an empty where object ({}) inside not, and, or or
// a has…With list, by input type; the generated Filter accepts one only at the top.
var emptyWhereInputs = map[string]error{
	"AbsenceWhereInput":       ent.ErrEmptyAbsenceWhereInput,
	"CaseWhereInput":          ent.ErrEmptyCaseWhereInput,
	"NoteWhereInput":          ent.ErrEmptyNoteWhereInput,
	"ProcessWhereInput":       ent.ErrEmptyProcessWhereInput,
	"RoleWhereInput":          ent.ErrEmptyRoleWhereInput,
	"SubstituteWhereInput":    ent.ErrEmptySubstituteWhereInput,
	"TaskWhereInput":          ent.ErrEmptyTaskWhereInput,
	"UserWhereInput":          ent.ErrEmptyUserWhereInput,
	"WorkflowEventWhereInput": ent.ErrEmptyWorkflowEventWhereInput,
}

// clientError returns the BAD_USER_INPUT error for a resolver error that a client's
// arguments caused but that is neither a domain nor an ent validation error, or nil.
func clientError(err error) error {
	for name, sentinel := range emptyWhereInputs {
		if !errors.Is(err, sentinel) {
			continue
		}
		// ent wraps inner first: "<sentinel>: field 'not': field 'and'" is and → not.
		var path []string
		for _, part := range strings.Split(strings.TrimPrefix(err.Error(), sentinel.Error()), ": ") {
			if f, ok := strings.CutPrefix(part, "field '"); ok && len(f) > 1 {
				f = strings.TrimSuffix(f, "'") // edges by their Go name: HasCaseWith
				path = append([]string{strings.ToLower(f[:1]) + f[1:]}, path...)
			}
		}
		at := ""
		if len(path) > 0 {
			at = " at " + strings.Join(path, ".")
		}
		return apperr.BadInput("the filter has an empty %s ({})%s, which would match nothing; give it at least one field or leave it out", name, at)
	}
	return nil
}
