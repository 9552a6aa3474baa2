package graph

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/99designs/gqlgen/graphql"

	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/filter"
	"github.com/portico-dev/portico/live"
)

// MaxSubscriptionsPerConnection bounds the operations one websocket may run at once
// (the transport's MaxOperations).
const MaxSubscriptionsPerConnection = 50

// forgetArgs drops the field context's arguments once the resolver has compiled them.
// A subscription's field context lives as long as its socket, and a parsed where input
// is large (ent's TaskWhereInput is about 2 KB, one more per nesting): kept, it was
// about 4 KB of heap per filtered subscriber ({not: {…}}), and the arguments' map alone
// about 300 bytes per subscriber. Nothing reads a field's arguments after its resolver.
func forgetArgs(ctx context.Context) {
	if fc := graphql.GetFieldContext(ctx); fc != nil {
		fc.Args = nil
	}
}

// liveTaskFilter turns taskUpdated's where argument (raw: as the client wrote it) into
// the hub's filter: a condition of the list index evaluated on each event's row when the
// index holds what it reads, else the ent where input, evaluated by the database.
// Subscribers with equal filters share one evaluation per event.
func liveTaskFilter(raw any, where *ent.TaskWhereInput) (*live.TaskFilter, error) {
	if where == nil || raw == nil {
		return nil, nil
	}
	cond, inMemory, err := filter.TaskCondInMemory(raw, "")
	if err != nil {
		return nil, err
	}
	key, err := json.Marshal(raw) // maps marshal with sorted keys: equal filters, equal keys
	if err != nil {
		return nil, fmt.Errorf("filter key: %w", err)
	}
	if inMemory && cond == nil {
		return nil, nil // a filter that keeps every task
	}
	if inMemory {
		return &live.TaskFilter{Key: string(key), Cond: cond}, nil
	}
	if _, err := where.P(); err != nil {
		return nil, err
	}
	return &live.TaskFilter{Key: string(key), DB: where.Filter}, nil
}
