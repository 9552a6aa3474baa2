package portico_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/servertest"
)

// TestConcurrentSetAnnouncement: many setAnnouncement mutations at once, more than the
// connection pool holds, all finish. Each runs in a transaction holding a connection;
// one that then read settings through the pool deadlocked with the others, which held
// every other connection while waiting for its row lock.
func TestConcurrentSetAnnouncement(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		admin := srv.Login(t, "admin", "admin")
		setA := `mutation($v: String!) { setAnnouncement(input: {contents: [{language: "en", value: $v}], enabled: true}) { announcement { value } } }`
		client := &http.Client{Timeout: 20 * time.Second} // a deadlock ends as a timeout, not a hung test
		errs := make([]error, 24)
		var wg sync.WaitGroup
		for round := range 3 {
			for i := range errs {
				wg.Go(func() {
					body, _ := json.Marshal(map[string]any{"query": setA, "variables": map[string]any{"v": fmt.Sprint(round, "-", i)}})
					req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, admin.URL, bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", "Bearer "+admin.Token)
					resp, err := client.Do(req)
					if err != nil {
						errs[i] = err
						return
					}
					defer resp.Body.Close()
					var out servertest.Response
					if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
						errs[i] = err
					} else if len(out.Errors) > 0 {
						errs[i] = fmt.Errorf("%s", out.Errors[0].Message)
					}
				})
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("round %d, mutation %d: %v", round, i, err)
				}
			}
		}
	})
}
