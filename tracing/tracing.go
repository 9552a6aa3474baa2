// Package tracing is Portico's OpenTelemetry tracing: the provider configured by the
// standard OTEL_* environment variables (off unless an OTLP endpoint or exporter is
// named), spans for HTTP requests (otelhttp, honouring a W3C traceparent), GraphQL
// operations and root resolvers (a gqlgen extension) and SQL statements (a driver
// wrapper), and the trace id in the log lines of a traced request.
package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// FromEnv returns the tracer provider the OTEL_* variables configure, with its shutdown
// (which flushes the spans still buffered), or nil when tracing is off: it is on when
// OTEL_TRACES_EXPORTER is otlp, or an OTLP endpoint is set
// (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) and
// OTEL_TRACES_EXPORTER is not none; OTEL_SDK_DISABLED=true turns it off. The exporter
// speaks OTLP over HTTP and reads its own variables (endpoint, headers, timeout, …);
// the SDK reads the sampler's (OTEL_TRACES_SAMPLER) and the resource's
// (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES; the service is "portico" by default).
func FromEnv(ctx context.Context) (trace.TracerProvider, func(context.Context) error, error) {
	exporter := strings.ToLower(os.Getenv("OTEL_TRACES_EXPORTER"))
	endpoint := os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") + os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	switch {
	case strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true"), exporter == "none":
		return nil, nil, nil
	case exporter == "" && endpoint == "":
		return nil, nil, nil
	case exporter != "" && exporter != "otlp":
		return nil, nil, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: Portico exports traces with otlp (or none)", exporter)
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	res, err := resource.New(ctx, resource.WithAttributes(semconv.ServiceName("portico")), resource.WithFromEnv())
	if err != nil {
		return nil, nil, fmt.Errorf("trace resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return tp, tp.Shutdown, nil
}

// scope names Portico's tracers.
const scope = "github.com/portico-dev/portico"

// Handler traces every HTTP request, continuing a trace a W3C traceparent header names.
// The span is named by its method until NameByRoute names it by the route that matched.
func Handler(next http.Handler, tp trace.TracerProvider) http.Handler {
	return otelhttp.NewHandler(next, "http",
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithPropagators(propagation.TraceContext{}),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return "HTTP " + r.Method }))
}

// NameByRoute names the request's span by the mux pattern that matched it (never the
// raw path: span names must not grow with the data); a no-op when it is not traced.
func NameByRoute(ctx context.Context, method, pattern string) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	switch {
	case pattern == "":
		pattern = method + " unmatched"
	case !strings.Contains(pattern, " "): // a pattern without its method: /graphql
		pattern = method + " " + pattern
	}
	span.SetName(pattern)
}

// LogHandler adds the trace and span ids of a log call's context to its line, so that
// the lines of a traced request can be found from its trace.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (l logHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return l.Handler.Handle(ctx, r)
}

func (l logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return logHandler{l.Handler.WithAttrs(as)}
}
func (l logHandler) WithGroup(name string) slog.Handler { return logHandler{l.Handler.WithGroup(name)} }
