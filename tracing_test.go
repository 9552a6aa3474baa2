package portico_test

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
	"testing"

	"log/slog"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/servertest"
)

// syncBuffer is a log output several goroutines write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestTracing: with a tracer provider (the SDK's, over its in-memory exporter) a request
// carrying a W3C traceparent continues that trace: its HTTP span, the GraphQL operation
// span with the operation's name and type, the root resolver's span and the SQL spans
// under them, and the trace id in the request's log line; a failing operation's span
// carries its error code.
func TestTracing(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		exp := tracetest.NewInMemoryExporter()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
		t.Cleanup(func() { tp.Shutdown(t.Context()) })
		var logs syncBuffer
		log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		srv := servertest.Start(t, dialect, portico.Config{Demo: true, Tracing: tp, Logger: log})
		demo := srv.Login(t, "demo", "demo")

		const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
		req, _ := http.NewRequest("POST", srv.URL+"/graphql", strings.NewReader(`{"query":"query MyTasks { tasks(first: 5) { totalCount } }","operationName":"MyTasks"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+demo.Token)
		req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()

		spans := exp.GetSpans()
		byName := map[string]tracetest.SpanStub{}
		var sqlSpans int
		for _, s := range spans {
			if s.SpanContext.TraceID().String() != traceID {
				continue
			}
			if s.Name == "sql" {
				sqlSpans++
				continue
			}
			byName[s.Name] = s
		}
		httpSpan, ok := byName["POST /graphql"]
		if !ok || httpSpan.Parent.SpanID().String() != "00f067aa0ba902b7" {
			t.Fatalf("no HTTP span continuing the traceparent: %v", names(spans))
		}
		op, ok := byName["graphql query MyTasks"]
		if !ok {
			t.Fatalf("no operation span: %v", names(spans))
		}
		if _, ok := byName["Query.tasks"]; !ok {
			t.Errorf("no root resolver span: %v", names(spans))
		}
		if sqlSpans == 0 {
			t.Errorf("no SQL span in the trace: %v", names(spans))
		}
		var hasName bool
		for _, a := range op.Attributes {
			hasName = hasName || string(a.Key) == "graphql.operation.name" && a.Value.AsString() == "MyTasks"
		}
		if !hasName {
			t.Errorf("operation attributes %v", op.Attributes)
		}

		// A failing operation: its span names the code; its log lines carry the trace id.
		exp.Reset()
		demo.Do(t, `mutation Bad { startTask(input: {id: "999999999"}) { task { id } } }`, nil)
		var failed bool
		for _, s := range exp.GetSpans() {
			for _, a := range s.Attributes {
				failed = failed || string(a.Key) == "graphql.error.codes" && strings.Contains(strings.Join(a.Value.AsStringSlice(), ","), "NOT_FOUND")
			}
		}
		if !failed {
			t.Errorf("no span carries the NOT_FOUND code: %v", names(exp.GetSpans()))
		}
		if !strings.Contains(logs.String(), `"trace_id":"`+traceID+`"`) {
			t.Errorf("no log line carries the trace id %s", traceID)
		}
	})
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}
