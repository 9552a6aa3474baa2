package graph

import "context"

// relay converts a hub channel into a subscription channel, ending with ctx. Sends to the
// client never block the hub: the hub's channel is buffered and drops when full.
func relay[C, E any](ctx context.Context, in <-chan C, conv func(C) E) <-chan E {
	out := make(chan E, 1)
	go func() {
		defer close(out)
		for c := range in {
			select {
			case out <- conv(c):
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}
