// Command portico runs the Portico GraphQL server and its maintenance tasks.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

const usage = `usage: portico <command> [flags]

commands:
  serve       run the GraphQL server (the default command)
  migrate     show (status) or apply (up [--dry-run]) the database migrations
  import      merge roles, users and variables from files
  export      write roles and users files
  seed-bench  fill an empty database with the benchmark data set (--scale, --seed)
  health      ask a running server's /healthz (exit 0 when healthy): the image's HEALTHCHECK
  version     print the version, commit and build time
  help        print this help, or "help COMMAND" for a command's flags and environment

Each command also takes -h or --help. Flags may come from PORTICO_* environment
variables (listed in each command's help); a flag on the command line wins.
`

// commands run each command; help for one is its --help.
var commands = map[string]func(context.Context, []string) error{
	"serve":      runServe,
	"migrate":    runMigrate,
	"import":     runImport,
	"export":     runExport,
	"seed-bench": runSeedBench,
	"health":     runHealth,
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "portico:", err)
		os.Exit(1)
	}
}

// errUsage: an unknown command (its usage is printed).
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, out io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "help":
		if len(args) > 0 {
			if c, ok := commands[args[0]]; ok {
				return c(ctx, []string{"--help"})
			}
		}
		fmt.Fprint(out, usage)
		return flag.ErrHelp
	case "version":
		fmt.Fprintln(out, version())
		return nil
	}
	if cmd == "serve" && len(args) > 0 && (args[0] == "--version" || args[0] == "-version") {
		fmt.Fprintln(out, version())
		return nil
	}
	c, ok := commands[cmd]
	if !ok {
		fmt.Fprintf(os.Stderr, "portico: unknown command %q\n\n%s", cmd, usage)
		return errUsage
	}
	return c(ctx, args)
}

// version is the module version, the commit and its time, from the build info Go
// records in the binary (go build in a git checkout; "(devel)" and no commit otherwise).
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "portico (no build info)"
	}
	commit, at, dirty := "unknown", "unknown", ""
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = " (modified)"
			}
		}
	}
	return fmt.Sprintf("portico %s commit %s%s built from a commit of %s with %s", info.Main.Version, commit, dirty, at, info.GoVersion)
}
