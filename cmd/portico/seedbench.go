package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/portico-dev/portico/benchdata"
	"github.com/portico-dev/portico/database"
)

// runSeedBench fills an empty database with the benchmark data set (10,000 users, 2,000
// roles six deep, 200,000 cases, 1,000,000 tasks at scale 1, the users bench and small;
// fixed seed).
func runSeedBench(ctx context.Context, args []string) error {
	fs := newFlagSet("seed-bench", "usage: portico seed-bench [flags]\n\nFills an empty database with the benchmark data set.\n")
	dbURL := fs.String("database-url", fs.env("PORTICO_DATABASE_URL", database.DefaultURL), "empty database to fill")
	scale := fs.Float64("scale", 1, "multiplies every count (0.001 for a quick try)")
	seed := fs.Uint64("seed", 1, "random seed")
	adminPw := fs.String("admin-password", fs.env("PORTICO_ADMIN_PASSWORD", "admin"), "admin password of the new database")
	if err := parse(fs, args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	return benchdata.Run(ctx, *dbURL, benchdata.Options{Seed: *seed, Scale: *scale, AdminPassword: *adminPw, Logger: log}, log)
}
