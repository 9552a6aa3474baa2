package portico_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/servertest"
)

// BenchmarkIdleSocketHeap measures what an idle taskUpdated subscriber costs in heap and
// goroutine stacks, against a bare gorilla/websocket server holding the same sockets
// with one reading goroutine each (subbench's bare server): both run in this process
// with the same clients, so the clients' share is in both figures and the difference
// is Portico's own. Run it once:
//
//	go test -run '^$' -bench IdleSocketHeap -benchtime 1x .
func BenchmarkIdleSocketHeap(b *testing.B) {
	const sockets = 200
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var up websocket.Upgrader
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			for {
				if _, _, err := c.NextReader(); err != nil {
					return
				}
			}
		}()
	}))
	defer bare.Close()
	bareHeap, bareStack := held(b, sockets, func() *websocket.Conn { return dialWS(b, bare.URL, "") })

	srv := servertest.Start(b, "sqlite", portico.Config{Demo: true, MaxSocketsPerUser: 2 * sockets})
	token := srv.Login(b, "alice", "alice").Token
	subscription := `subscription($w: TaskWhereInput) { taskUpdated(where: $w) { kind id task { id name state priority createdAt } } }`
	for _, tc := range []struct {
		name   string
		filter func(i int) any
	}{
		{"unfiltered", func(int) any { return nil }},
		// As subbench -filters: ten distinct filters over the sockets.
		{"filtered", func(i int) any {
			return map[string]any{"not": map[string]any{"nameContains": fmt.Sprintf("#%d#", i%10)}}
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			i := 0
			heap, stack := held(b, sockets, func() *websocket.Conn {
				c := dialWS(b, srv.URL+"/graphql", "graphql-transport-ws")
				mustWrite(b, c, map[string]any{"type": "connection_init", "payload": map[string]any{"authorization": "Bearer " + token}})
				var ack struct{ Type string }
				if err := c.ReadJSON(&ack); err != nil || ack.Type != "connection_ack" {
					b.Fatalf("connection_init: %v, %+v", err, ack)
				}
				mustWrite(b, c, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
					"query": subscription, "variables": map[string]any{"w": tc.filter(i)}}})
				i++
				return c
			})
			b.ReportMetric(heap, "heap-B/socket")
			b.ReportMetric(stack, "stack-B/socket")
			b.ReportMetric(bareHeap, "bare-heap-B/socket")
			b.ReportMetric(bareStack, "bare-stack-B/socket")
			b.ReportMetric((heap+stack)/(bareHeap+bareStack), "ratio")
		})
	}
}

// held opens n sockets with open and returns the heap and stack they hold each, once
// idle, after a collection; then it closes them.
func held(b *testing.B, n int, open func() *websocket.Conn) (heap, stack float64) {
	b.Helper()
	var before, after runtime.MemStats
	settle := func(m *runtime.MemStats) {
		time.Sleep(500 * time.Millisecond) // the server side finishes subscribing
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(m)
	}
	settle(&before)
	conns := make([]*websocket.Conn, n)
	for i := range conns {
		conns[i] = open()
	}
	settle(&after)
	for _, c := range conns {
		c.Close()
	}
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n),
		float64(int64(after.StackInuse)-int64(before.StackInuse)) / float64(n)
}

func dialWS(b *testing.B, url, subprotocol string) *websocket.Conn {
	b.Helper()
	d := websocket.Dialer{}
	if subprotocol != "" {
		d.Subprotocols = []string{subprotocol}
	}
	c, _, err := d.Dial("ws"+strings.TrimPrefix(url, "http"), nil)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func mustWrite(b *testing.B, c *websocket.Conn, v any) {
	b.Helper()
	if err := c.WriteJSON(v); err != nil {
		b.Fatal(err)
	}
}
