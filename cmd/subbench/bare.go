package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// bareHandler is the limit Portico is measured against: websocket fan-out and nothing
// else (no GraphQL, no database, no auth). It upgrades with gorilla/websocket's default
// buffers, as a plain gorilla server does (Portico pools its write buffers and reads
// through 1 KiB); each connection costs one goroutine (the handler's,
// reading so that pings and closes are processed), and POST /broadcast writes one
// prepared message, shaped like Portico's graphql-transport-ws "next", to every
// connection in turn. GET /stats answers the goroutine count.
//
// So that it delivers what Portico must (see audience), a connection may name its role
// and filter (/ws?role=R&filter=F), and a broadcast the role it is for and the filter it
// does not match (/broadcast?role=R&exclude=F); without them it reaches everybody.
func bareHandler() http.Handler {
	var mu sync.Mutex
	type sub struct{ role, filter int }
	conns := map[*websocket.Conn]sub{}
	var upgrader websocket.Upgrader
	mux := http.NewServeMux()
	param := func(r *http.Request, name string) int {
		n, err := strconv.Atoi(r.URL.Query().Get(name))
		if err != nil {
			return -1
		}
		return n
	}
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		me := sub{param(r, "role"), param(r, "filter")}
		c, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return // Upgrade has answered
		}
		mu.Lock()
		conns[c] = me
		mu.Unlock()
		for {
			if _, _, err := c.NextReader(); err != nil {
				break
			}
		}
		mu.Lock()
		delete(conns, c)
		mu.Unlock()
		c.Close()
	})
	mux.HandleFunc("POST /broadcast", func(w http.ResponseWriter, r *http.Request) {
		text, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		msg, _ := json.Marshal(map[string]any{"id": "1", "type": "next", "payload": map[string]any{
			"data": map[string]any{"announcementChanged": map[string]any{"value": string(text)}}}})
		pm, err := websocket.NewPreparedMessage(websocket.TextMessage, msg)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		role, exclude := param(r, "role"), param(r, "exclude")
		mu.Lock()
		defer mu.Unlock()
		for c, s := range conns {
			if role >= 0 && s.role != role || exclude >= 0 && s.filter == exclude {
				continue
			}
			// A failed write ends that connection: its reader sees the error.
			c.SetWriteDeadline(time.Now().Add(10 * time.Second))
			c.WritePreparedMessage(pm)
		}
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, runtime.NumGoroutine())
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	return mux
}

// serveBare runs the bare server (subbench -bare-serve ADDR) until ctx ends.
func serveBare(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: bareHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		hs.Close() // also drops the hijacked websockets' listener; the process exits next
	}()
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// httpClient publishes events and reads server statistics.
var httpClient = &http.Client{Timeout: 30 * time.Second}

// startBare runs this binary again as the bare server.
func startBare(ctx context.Context, cfg config, tmp string) (*target, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	c, err := startChild(ctx, filepath.Join(tmp, "bare.log"), exe, "-bare-serve", addr)
	if err != nil {
		return nil, err
	}
	t := bareTarget("http://"+addr, c.cmd.Process.Pid, cfg.audience())
	t.close = c.stop
	if err := c.waitHealthy(ctx, "http://"+addr+"/healthz"); err != nil {
		return t, err
	}
	return t, nil
}

// bareTarget describes a bare server at base (http://host:port) delivering to aud; pid 0
// when it runs in this process (tests).
func bareTarget(base string, pid int, aud audience) *target {
	return &target{
		name: "bare",
		instances: []*instance{{
			wsURL: "ws" + strings.TrimPrefix(base, "http") + "/ws",
			pid:   pid,
			goroutines: func(ctx context.Context) (int, error) {
				b, err := get(ctx, base+"/stats")
				if err != nil {
					return 0, err
				}
				return strconv.Atoi(strings.TrimSpace(string(b)))
			},
		}},
		hello: func(i int) (string, []byte, []byte) {
			return fmt.Sprintf("?role=%d&filter=%d", aud.subRole(i), aud.subFilter(i)), nil, nil
		},
		key: seqKey,
		publish: func(ctx context.Context, seq int, text string) ([]int64, error) {
			role, exclude := -1, -1
			if seq > 0 {
				role, exclude = aud.eventRole(seq), aud.eventMarker(seq)
			}
			url := fmt.Sprintf("%s/broadcast?role=%d&exclude=%d", base, role, exclude)
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(text))
			if err != nil {
				return nil, err
			}
			resp, err := httpClient.Do(req)
			if err != nil {
				return nil, err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b, _ := io.ReadAll(resp.Body)
				return nil, fmt.Errorf("broadcast: HTTP %d: %.200s", resp.StatusCode, b)
			}
			return []int64{int64(seq)}, nil
		},
		close: func() {},
	}
}

// get returns the body of a GET answered with 200.
func get(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: HTTP %d: %.200s", url, resp.StatusCode, b)
	}
	return b, err
}
