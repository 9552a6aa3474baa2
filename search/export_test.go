package search

import "entgo.io/ent/dialect/sql"

// SetCandidates lowers the cap of ranked matches per kind, for tests of the cap.
func (s *Service) SetCandidates(n int) { s.candidates = n }

// MatchStatement returns the statement that selects the ids of the rows of kind k (in
// Kind order) that match text, with the search's match predicate and nothing else.
func MatchStatement(d string, k Kind, text string) (string, []any, error) {
	q, err := parse(text)
	if err != nil {
		return "", nil, err
	}
	s := &Service{dialect: d, candidates: MaxCandidates}
	sel := sql.Dialect(d).Select("id").From(sql.Table(kinds[k].table))
	s.match(kinds[k], q)(sel)
	query, args := sel.Query()
	return query, args, nil
}

// Match returns the predicate of the rows of kind k that match text, the search's text
// match alone (the visibility comes from the query's interceptor).
func (s *Service) Match(k Kind, text string) (func(*sql.Selector), error) {
	q, err := parse(text)
	if err != nil {
		return nil, err
	}
	return s.match(kinds[k], q), nil
}
