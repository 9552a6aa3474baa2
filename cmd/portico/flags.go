package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"time"
)

// flagSet is one command's flags. Defaults may come from PORTICO_* environment
// variables; a value that does not parse is an error like a bad flag (not silently the
// default), and --help lists the variables with the flags.
type flagSet struct {
	*flag.FlagSet
	usage    string
	envNames []string // the environment variables the defaults come from
	envErrs  []error  // environment values that do not parse
}

func newFlagSet(name, usage string) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), usage: usage}
	fs.Usage = func() { fs.printUsage(fs.Output()) }
	return fs
}

func (fs *flagSet) printUsage(w io.Writer) {
	fmt.Fprint(w, fs.usage)
	fmt.Fprintln(w, "\nflags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
	if len(fs.envNames) > 0 {
		fmt.Fprintln(w, "\nenvironment variables (a flag on the command line wins):")
		for _, name := range fs.envNames {
			fmt.Fprintf(w, "  %s\n", name)
		}
	}
}

// parse parses args. -h, -help or --help prints the usage to stdout and returns
// flag.ErrHelp (main exits 0); a bad flag or environment value returns an error.
func parse(fs *flagSet, args []string) error {
	if slices.ContainsFunc(args, func(a string) bool { return a == "-h" || a == "-help" || a == "--help" || a == "--h" }) {
		fs.printUsage(os.Stdout)
		return flag.ErrHelp
	}
	fs.SetOutput(os.Stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	return errors.Join(fs.envErrs...)
}

// usageError prints the usage after err.
func usageError(err error, fs *flagSet) error {
	fs.printUsage(os.Stderr)
	return err
}

func (fs *flagSet) lookup(name string) (string, bool) {
	if !slices.Contains(fs.envNames, name) {
		fs.envNames = append(fs.envNames, name)
	}
	return os.LookupEnv(name)
}

// env returns the environment variable's value, or def when it is unset.
func (fs *flagSet) env(name, def string) string {
	if v, ok := fs.lookup(name); ok {
		return v
	}
	return def
}

func (fs *flagSet) bad(name, value, want string) {
	fs.envErrs = append(fs.envErrs, fmt.Errorf("environment variable %s=%q: want %s", name, value, want))
}

// envBool reads a boolean as a flag does (1, t, true, 0, f, false, …).
func (fs *flagSet) envBool(name string, def bool) bool {
	v, ok := fs.lookup(name)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		fs.bad(name, v, "true or false")
		return def
	}
	return b
}

func (fs *flagSet) envInt(name string, def int) int {
	v, ok := fs.lookup(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		fs.bad(name, v, "a whole number")
		return def
	}
	return n
}

func (fs *flagSet) envDuration(name string, def time.Duration) time.Duration {
	v, ok := fs.lookup(name)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		fs.bad(name, v, "a duration such as 90s, 30m or 12h")
		return def
	}
	return d
}
