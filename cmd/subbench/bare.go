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
func bareHandler() http.Handler {
	var mu sync.Mutex
	conns := map[*websocket.Conn]bool{}
	var upgrader websocket.Upgrader
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return // Upgrade has answered
		}
		mu.Lock()
		conns[c] = true
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
		mu.Lock()
		defer mu.Unlock()
		for c := range conns {
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
func startBare(ctx context.Context, tmp string) (*target, error) {
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
	t := bareTarget("http://"+addr, c.cmd.Process.Pid)
	t.close = c.stop
	if err := c.waitHealthy(ctx, "http://"+addr+"/healthz"); err != nil {
		return t, err
	}
	return t, nil
}

// bareTarget describes a bare server at base (http://host:port); pid 0 when it runs in
// this process (tests).
func bareTarget(base string, pid int) *target {
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
		publish: func(ctx context.Context, text string) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/broadcast", strings.NewReader(text))
			if err != nil {
				return err
			}
			resp, err := httpClient.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b, _ := io.ReadAll(resp.Body)
				return fmt.Errorf("broadcast: HTTP %d: %.200s", resp.StatusCode, b)
			}
			return nil
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
