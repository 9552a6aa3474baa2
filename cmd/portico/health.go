package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

const healthUsage = `usage: portico health [flags]

Asks a running server's health endpoint and exits 0 when it answers 200, 1 otherwise:
the container image's HEALTHCHECK (the image has no shell or curl). Without --url it asks
http://127.0.0.1:PORT/healthz, PORT from --addr / PORTICO_ADDR as serve reads it.
`

func runHealth(ctx context.Context, args []string) error {
	fs := newFlagSet("health", healthUsage)
	addr := fs.String("addr", fs.env("PORTICO_ADDR", ":8080"), "the server's listen address, as given to serve")
	target := fs.String("url", fs.env("PORTICO_HEALTH_URL", ""), "URL to ask (http://127.0.0.1:8080/readyz, say); empty: /healthz on --addr's port at 127.0.0.1")
	timeout := fs.Duration("timeout", fs.envDuration("PORTICO_HEALTH_TIMEOUT", 3*time.Second), "longest wait for the answer")
	if err := parse(fs, args); err != nil {
		return err
	}
	u := *target
	if u == "" {
		_, port, err := net.SplitHostPort(*addr)
		if err != nil {
			return fmt.Errorf("health: address %q: %w", *addr, err)
		}
		u = "http://" + net.JoinHostPort("127.0.0.1", port) + "/healthz"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %s answered %s: %s", u, resp.Status, strings.TrimSpace(string(body)))
	}
	fmt.Fprintf(os.Stdout, "%s: %s\n", u, strings.TrimSpace(string(body)))
	return nil
}
