package graph

import (
	"entgo.io/contrib/entgql"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/paging"
)

// pageArgs turns a connection's arguments into a page request of package paging. Its
// cursors carry their key as a string in the Value of the schema's Cursor; any other
// cursor (another list's, or no cursor) is BAD_USER_INPUT.
func pageArgs(after *entgql.Cursor[int], first *int, before *entgql.Cursor[int], last *int) (paging.Args, error) {
	a := paging.Args{First: first, Last: last}
	var err error
	if a.After, err = cursorKey("after", after); err != nil {
		return a, err
	}
	a.Before, err = cursorKey("before", before)
	return a, err
}

func cursorKey(field string, c *entgql.Cursor[int]) (paging.Key, error) {
	if c == nil {
		return nil, nil
	}
	s, ok := c.Value.(string)
	if !ok || c.ID != 0 {
		return nil, apperr.BadInput("%s is not a cursor of this list; pass a cursor the same field gave", field)
	}
	return paging.ParseKey(field, s)
}

// edges makes a connection's edges and page info from a page, newEdge making one edge.
func edges[T, E any](p *paging.Page[T], newEdge func(node T, cursor entgql.Cursor[int]) E) ([]E, *entgql.PageInfo[int]) {
	out := make([]E, len(p.Items))
	info := &entgql.PageInfo[int]{HasNextPage: p.HasNextPage, HasPreviousPage: p.HasPreviousPage}
	for i, x := range p.Items {
		c := entgql.Cursor[int]{Value: p.Keys[i].String()}
		out[i] = newEdge(x, c)
		if i == 0 {
			info.StartCursor = &c
		}
		if i == len(p.Items)-1 {
			info.EndCursor = &c
		}
	}
	return out, info
}
