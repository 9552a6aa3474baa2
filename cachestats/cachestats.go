// Package cachestats counts a cache's lookups: those that found what they asked for
// (hits) and those that had to make it (misses). The metrics report them as
// portico_cache_lookups_total, so an operator can tell a cache that works from one
// that only costs memory.
package cachestats

import (
	"context"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
)

// Counter counts one cache's lookups. The zero value is ready; a nil Counter counts
// nothing, so a cache built without one (a test's) needs no check.
type Counter struct{ hits, misses atomic.Int64 }

// Counts are a Counter's totals.
type Counts struct{ Hits, Misses int64 }

// Record counts one lookup: found or not.
func (c *Counter) Record(found bool) {
	switch {
	case c == nil:
	case found:
		c.hits.Add(1)
	default:
		c.misses.Add(1)
	}
}

// Counts returns the totals so far.
func (c *Counter) Counts() Counts {
	if c == nil {
		return Counts{}
	}
	return Counts{Hits: c.hits.Load(), Misses: c.misses.Load()}
}

// GraphQL is a gqlgen cache (parsed documents, persisted queries) whose lookups count.
type GraphQL[T any] struct {
	graphql.Cache[T]
	Counter
}

// Get looks key up and counts the lookup.
func (c *GraphQL[T]) Get(ctx context.Context, key string) (T, bool) {
	v, ok := c.Cache.Get(ctx, key)
	c.Record(ok)
	return v, ok
}
