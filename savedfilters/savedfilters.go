// Package savedfilters keeps users' saved task and case filters (issue 15, item 5): a
// TaskWhereInput or CaseWhereInput stored as JSON with a name per language, private to
// its owner or public (CreatePublicFilter, seed 001's "create public filters" of the
// PortalKit administrators). A filter is checked by package filter when it is saved and
// again each time it is used (the lists, dashboard widgets, the xlsx export), so one
// saved under an older schema is refused with its name, never half applied. The saved
// where joins the request's own where with AND.
package savedfilters

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/savedfilter"
	"github.com/portico-dev/portico/filter"
	"github.com/portico-dev/portico/paging"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/settings"
)

// Kind is what a filter lists.
type Kind string

// Filter kinds.
const (
	Tasks Kind = "TASK"
	Cases Kind = "CASE"
)

// Limits of a saved filter.
const (
	MaxNameRunes = 200
	MaxNames     = 50
	// MaxWhereBytes bounds the stored where (its nesting and lists are bounded by
	// filter.MaxInputDepth and MaxInputList as every input is).
	MaxWhereBytes = 64 << 10
)

// languagePattern is what a language code looks like (en, de, de-CH, zh-Hant-TW).
var languagePattern = regexp.MustCompile(`^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8}){0,3}$`)

// Name is a filter's name in one language.
type Name struct {
	Language string `json:"language"`
	Name     string `json:"name"`
}

// Filter is a saved filter with its names and where decoded.
type Filter struct {
	*ent.SavedFilter
	Names []Name
	// Where is the where input as JSON values (json.Number for numbers).
	Where any
}

// Service manages saved filters.
type Service struct {
	client   *ent.Client
	policy   *policy.Policy
	settings *settings.Service
}

// New returns the saved filters service.
func New(client *ent.Client, p *policy.Policy, s *settings.Service) *Service {
	return &Service{client: client, policy: p, settings: s}
}

// Input is a new filter, or (Update) the parts to change: nil Names, Public or a Where
// left unset keep what is saved.
type Input struct {
	Kind   Kind
	Names  []Name
	Public *bool
	// Where is the where input as the client wrote it (GraphQL's argument value).
	Where    any
	WhereSet bool
}

// checkNames says what is wrong with a filter's names and returns them as JSON.
func checkNames(names []Name) (string, error) {
	if len(names) == 0 {
		return "", apperr.BadInput("names: give the filter a name in at least one language, e.g. [{language: \"en\", name: \"My open tasks\"}]")
	}
	if len(names) > MaxNames {
		return "", apperr.BadInput("names: %d languages; at most %d", len(names), MaxNames)
	}
	seen := map[string]bool{}
	out := make([]Name, len(names))
	for i, n := range names {
		lang := strings.TrimSpace(n.Language)
		switch {
		case !languagePattern.MatchString(lang):
			return "", apperr.BadInput("names[%d].language: %q is no language code; use one such as en, de or de-CH", i, truncate(n.Language))
		case seen[strings.ToLower(lang)]:
			return "", apperr.BadInput("names[%d].language: %s comes twice; give one name per language", i, lang)
		}
		seen[strings.ToLower(lang)] = true
		name := strings.TrimSpace(n.Name)
		switch r := utf8.RuneCountInString(name); {
		case !utf8.ValidString(name):
			return "", apperr.BadInput("names[%d].name is not valid UTF-8", i)
		case r == 0:
			return "", apperr.BadInput("names[%d].name is empty; give the filter a name", i)
		case r > MaxNameRunes:
			return "", apperr.BadInput("names[%d].name has %d characters; at most %d", i, r, MaxNameRunes)
		}
		out[i] = Name{Language: lang, Name: name}
	}
	b, err := json.Marshal(out)
	return string(b), err
}

func truncate(s string) string {
	if len(s) > 40 {
		for i := 40; i > 0; i-- {
			if utf8.RuneStart(s[i]) {
				return s[:i] + "…"
			}
		}
	}
	return s
}

// checkWhere checks a where input of kind through package filter, as the list and the
// export would take it, and returns its JSON text and its decoded value. Errors are
// BAD_USER_INPUT naming the place in the where.
func checkWhere(kind Kind, raw any) (string, any, error) {
	if raw == nil {
		raw = map[string]any{}
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return "", nil, apperr.BadInput("where: not a %s (%v)", typeName(kind), err)
	}
	return checkWhereText(kind, string(b))
}

// checkWhereText is checkWhere of a JSON text.
func checkWhereText(kind Kind, text string) (string, any, error) {
	if len(text) > MaxWhereBytes {
		return "", nil, apperr.BadInput("where: %d bytes as JSON; a saved filter holds at most %d", len(text), MaxWhereBytes)
	}
	var err error
	switch kind {
	case Tasks:
		_, _, err = filter.DecodeTaskList(text, "")
	case Cases:
		_, _, err = filter.DecodeCaseList(text, "")
	default:
		return "", nil, apperr.BadInput("kind %q is neither TASK nor CASE", truncate(string(kind)))
	}
	if err != nil {
		return "", nil, err
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", nil, apperr.BadInput("where: not valid JSON (%v)", err)
	}
	if m, ok := v.(map[string]any); !ok {
		return "", nil, apperr.BadInput("where: must be a %s object", typeName(kind))
	} else if len(m) == 0 {
		return "{}", v, nil
	}
	// The list compiler's own checks (empty objects in and/or/not, values).
	if kind == Tasks {
		err = filter.CheckTaskCond(v, "where")
	} else {
		err = filter.CheckCaseCond(v, "where")
	}
	if err != nil {
		return "", nil, err
	}
	canon, err := json.Marshal(v)
	if err != nil {
		return "", nil, fmt.Errorf("saved filter where: %w", err)
	}
	return string(canon), v, nil
}

func typeName(k Kind) string {
	if k == Cases {
		return "CaseWhereInput"
	}
	return "TaskWhereInput"
}

// decode reads a stored row.
func decode(r *ent.SavedFilter) (*Filter, error) {
	f := &Filter{SavedFilter: r}
	if err := json.Unmarshal([]byte(r.Names), &f.Names); err != nil {
		return nil, fmt.Errorf("stored names of saved filter %d: %w", r.ID, err)
	}
	dec := json.NewDecoder(strings.NewReader(r.WhereInput))
	dec.UseNumber()
	if err := dec.Decode(&f.Where); err != nil {
		f.Where = nil // refused with its name when used (Where)
	}
	return f, nil
}

// Create saves a filter for the viewer; a public one needs CreatePublicFilter.
func (s *Service) Create(ctx context.Context, in Input) (*Filter, error) {
	sub, err := s.policy.SubjectFrom(ctx)
	if err != nil {
		return nil, err
	}
	if in.Kind != Tasks && in.Kind != Cases {
		return nil, apperr.BadInput("kind must be TASK or CASE")
	}
	public := in.Public != nil && *in.Public
	if public && !sub.Has(policy.CreatePublicFilter) {
		return nil, apperr.Forbidden("a public filter needs the permission %s; save it as a private one (public: false)", policy.CreatePublicFilter)
	}
	names, err := checkNames(in.Names)
	if err != nil {
		return nil, err
	}
	where, _, err := checkWhere(in.Kind, in.Where)
	if err != nil {
		return nil, err
	}
	var row *ent.SavedFilter
	err = database.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		row, err = tx.SavedFilter.Create().SetOwnerID(sub.UserID).SetKind(savedfilter.Kind(in.Kind)).
			SetPublic(public).SetNames(names).SetWhereInput(where).Save(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("save filter: %w", err)
	}
	return decode(row)
}

// Update changes a filter's names, where or public flag: the owner's own, or a public
// one by a holder of CreatePublicFilter; making one public needs CreatePublicFilter.
func (s *Service) Update(ctx context.Context, id int, in Input) (*Filter, error) {
	sub, err := s.policy.SubjectFrom(ctx)
	if err != nil {
		return nil, err
	}
	var row *ent.SavedFilter
	err = database.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		old, err := s.writable(ctx, tx.Client(), sub, id)
		if err != nil {
			return err
		}
		q := tx.SavedFilter.UpdateOneID(id)
		if in.Names != nil {
			names, err := checkNames(in.Names)
			if err != nil {
				return err
			}
			q.SetNames(names)
		}
		if in.WhereSet {
			where, _, err := checkWhere(Kind(old.Kind), in.Where)
			if err != nil {
				return err
			}
			q.SetWhereInput(where)
		}
		if in.Public != nil && *in.Public != old.Public {
			if !sub.Has(policy.CreatePublicFilter) {
				return apperr.Forbidden("making a filter public or private needs the permission %s", policy.CreatePublicFilter)
			}
			q.SetPublic(*in.Public)
		}
		row, err = q.Save(ctx)
		if ent.IsNotFound(err) {
			return notFound(id)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return decode(row)
}

// Delete deletes a filter: the owner's own, or a public one by a holder of
// CreatePublicFilter.
func (s *Service) Delete(ctx context.Context, id int) error {
	sub, err := s.policy.SubjectFrom(ctx)
	if err != nil {
		return err
	}
	return database.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		if _, err := s.writable(ctx, tx.Client(), sub, id); err != nil {
			return err
		}
		err := tx.SavedFilter.DeleteOneID(id).Exec(ctx)
		if ent.IsNotFound(err) {
			return notFound(id)
		}
		return err
	})
}

func notFound(id int) error {
	return apperr.NotFound("no saved filter %d among yours and the public ones", id)
}

// writable loads filter id for a change by sub: NOT_FOUND for what it cannot read (another
// user's private filter), FORBIDDEN for another user's public one without
// CreatePublicFilter.
func (s *Service) writable(ctx context.Context, c *ent.Client, sub *policy.Subject, id int) (*ent.SavedFilter, error) {
	old, err := c.SavedFilter.Get(ctx, id) // under the read rule: own and public ones
	if ent.IsNotFound(err) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("load saved filter %d: %w", id, err)
	}
	if old.OwnerID != sub.UserID && !sub.Has(policy.CreatePublicFilter) {
		return nil, apperr.Forbidden("the public filter %d belongs to another user; changing or deleting it needs the permission %s", id, policy.CreatePublicFilter)
	}
	return old, nil
}

// Get returns a filter the viewer may use (its own or a public one), else NOT_FOUND.
func (s *Service) Get(ctx context.Context, id int) (*Filter, error) {
	if _, err := s.policy.SubjectFrom(ctx); err != nil {
		return nil, err
	}
	r, err := s.client.SavedFilter.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("load saved filter %d: %w", id, err)
	}
	return decode(r)
}

// pageKey orders the list by id.
func pageKey(r *ent.SavedFilter) paging.Key { return paging.Key{int64(r.ID)} }

// PageWidth is the number of parts of a saved filters cursor's key.
const PageWidth = 1

// Page pages the viewer's own filters and the public ones (of kind, if given), oldest
// first.
func (s *Service) Page(ctx context.Context, kind *Kind, args paging.Args) (*paging.Page[*Filter], error) {
	if _, err := s.policy.SubjectFrom(ctx); err != nil {
		return nil, err
	}
	q := s.client.SavedFilter.Query().Order(ent.Asc(savedfilter.FieldID))
	if kind != nil {
		q.Where(savedfilter.KindEQ(savedfilter.Kind(*kind)))
	}
	rows, err := q.All(ctx)
	if err != nil {
		return nil, fmt.Errorf("saved filters: %w", err)
	}
	page, err := paging.Slice(rows, pageKey, PageWidth, args)
	if err != nil {
		return nil, err
	}
	out := &paging.Page[*Filter]{HasNextPage: page.HasNextPage, HasPreviousPage: page.HasPreviousPage,
		TotalCount: page.TotalCount, Keys: page.Keys}
	for _, r := range page.Items {
		f, err := decode(r)
		if err != nil {
			return nil, err
		}
		out.Items = append(out.Items, f)
	}
	return out, nil
}

// DisplayName returns the filter's name in the viewer's language (seed 001's precedence:
// the user's own language, else the application's default), else any.
func (s *Service) DisplayName(ctx context.Context, f *Filter) (string, error) {
	texts := make([]settings.LocalizedValue, len(f.Names))
	for i, n := range f.Names {
		texts[i] = settings.LocalizedValue{Language: n.Language, Value: n.Name}
	}
	return s.settings.PickFor(ctx, texts, auth.FromContext(ctx).Language)
}

// Where returns the where of filter id for a list of kind, checked again through
// package filter: NOT_FOUND for a filter the viewer may not use, BAD_USER_INPUT naming
// the filter for one of the other kind or one that no longer compiles.
func (s *Service) Where(ctx context.Context, id int, kind Kind) (any, error) {
	f, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	name, err := s.DisplayName(ctx, f)
	if err != nil {
		return nil, err
	}
	if Kind(f.Kind) != kind {
		return nil, apperr.BadInput("saved filter %q (%d) filters %s, not %s; use it with the %s list",
			name, id, listName(Kind(f.Kind)), listName(kind), strings.TrimSuffix(listName(Kind(f.Kind)), "s"))
	}
	_, v, err := checkWhereText(kind, f.WhereInput)
	if err != nil {
		return nil, apperr.BadInput("saved filter %q (%d) no longer fits the %s filter (%v); change its where with updateSavedFilter or delete it",
			name, id, strings.TrimSuffix(listName(kind), "s"), err)
	}
	return v, nil
}

func listName(k Kind) string {
	if k == Cases {
		return "cases"
	}
	return "tasks"
}

// Combine joins a saved where and a request's where with AND (either may be nil).
func Combine(saved, inline any) any {
	if m, ok := saved.(map[string]any); ok && len(m) == 0 {
		saved = nil
	}
	if m, ok := inline.(map[string]any); ok && len(m) == 0 {
		inline = nil
	}
	switch {
	case saved == nil:
		return inline
	case inline == nil:
		return saved
	}
	return map[string]any{"and": []any{saved, inline}}
}

// TaskWhere returns the where of a task list with saved filter id (nil: none) joined to
// the request's inline where.
func (s *Service) TaskWhere(ctx context.Context, id *int, inline any) (any, error) {
	return s.combined(ctx, id, Tasks, inline)
}

// CaseWhere is TaskWhere for a case list.
func (s *Service) CaseWhere(ctx context.Context, id *int, inline any) (any, error) {
	return s.combined(ctx, id, Cases, inline)
}

func (s *Service) combined(ctx context.Context, id *int, kind Kind, inline any) (any, error) {
	if id == nil {
		return inline, nil
	}
	saved, err := s.Where(ctx, *id, kind)
	if err != nil {
		return nil, err
	}
	return Combine(saved, inline), nil
}

// Own reports whether the viewer saved f.
func (s *Service) Own(ctx context.Context, f *Filter) bool {
	sub, err := s.policy.SubjectFrom(ctx)
	return err == nil && sub.UserID == f.OwnerID
}

// Editable reports whether the viewer may change or delete f: its own, or a public one
// with CreatePublicFilter.
func (s *Service) Editable(ctx context.Context, f *Filter) bool {
	sub, err := s.policy.SubjectFrom(ctx)
	return err == nil && (sub.UserID == f.OwnerID || (f.Public && sub.Has(policy.CreatePublicFilter)))
}
