// Command portico runs the Portico GraphQL server and its maintenance tasks.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: portico <command> [flags]

commands:
  serve     run the GraphQL server (default)
  migrate   apply pending migrations; "migrate diff NAME" writes new ones from ent/schema
  import    merge roles and users from files: --format xml|yaml --roles FILE --users FILE
  export    write roles and users files: --format xml|yaml --roles FILE --users FILE
  seed-bench  fill an empty database with the benchmark data set (--scale, --seed)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd, args := "serve", os.Args[1:]
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = runServe(ctx, args)
	case "migrate":
		err = runMigrate(ctx, args)
	case "import":
		err = runImport(ctx, args)
	case "export":
		err = runExport(ctx, args)
	case "seed-bench":
		err = runSeedBench(ctx, args)
	case "help":
		fmt.Print(usage)
	default:
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "portico:", err)
		os.Exit(1)
	}
}

// envOr returns the environment variable's value, or def when it is unset.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}
