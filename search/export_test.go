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
