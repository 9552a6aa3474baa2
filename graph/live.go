package graph

import (
	"context"
	"sync/atomic"

	"github.com/portico-dev/portico/apperr"
)

// MaxSubscriptionsPerConnection bounds what one websocket may hold open.
const MaxSubscriptionsPerConnection = 50

type slotsKey struct{}

// WithSubscriptionSlots gives a websocket connection its subscription counter; the
// websocket init function calls it.
func WithSubscriptionSlots(ctx context.Context) context.Context {
	return context.WithValue(ctx, slotsKey{}, new(atomic.Int32))
}

// takeSlot counts a subscription against its connection's limit and frees the slot when
// the subscription ends.
func takeSlot(ctx context.Context) error {
	n, ok := ctx.Value(slotsKey{}).(*atomic.Int32)
	if !ok {
		return nil
	}
	if n.Add(1) > MaxSubscriptionsPerConnection {
		n.Add(-1)
		return apperr.BadInput("this connection already has %d subscriptions; close some or open another connection", MaxSubscriptionsPerConnection)
	}
	context.AfterFunc(ctx, func() { n.Add(-1) })
	return nil
}
