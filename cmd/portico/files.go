package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/directory"
	"github.com/portico-dev/portico/policy"
)

// fileFlags are the flags shared by import and export.
type fileFlags struct {
	fs                   *flagSet
	dbURL, format        *string
	roles, users, adminP *string
	variables            *string
}

func newFileFlags(name string) *fileFlags {
	fs := newFlagSet(name, fmt.Sprintf("usage: portico %s --format xml|yaml [--roles FILE] [--users FILE] [--variables FILE] [flags]\n", name))
	return &fileFlags{
		fs:        fs,
		dbURL:     fs.String("database-url", fs.env("PORTICO_DATABASE_URL", database.DefaultURL), "database"),
		format:    fs.String("format", "yaml", "xml (roles.xml/users.xml) or yaml (roles.yaml/users.yaml)"),
		roles:     fs.String("roles", "", "roles file"),
		users:     fs.String("users", "", "users file"),
		variables: fs.String("variables", "", "variables.yaml of portal settings (import only)"),
		adminP:    fs.String("admin-password", fs.env("PORTICO_ADMIN_PASSWORD", ""), "admin password, needed when the database is empty"),
	}
}

func (f *fileFlags) open(ctx context.Context, args []string) (*portico.Server, directory.Format, error) {
	if err := parse(f.fs, args); err != nil {
		return nil, "", err
	}
	format := directory.Format(strings.ToUpper(*f.format))
	if format != directory.FormatXML && format != directory.FormatYAML {
		return nil, "", fmt.Errorf("--format must be xml or yaml, not %q", *f.format)
	}
	if *f.roles == "" && *f.users == "" && *f.variables == "" {
		return nil, "", fmt.Errorf("give --roles FILE, --users FILE and/or --variables FILE")
	}
	srv, err := portico.New(ctx, portico.Config{DatabaseURL: *f.dbURL, AdminPassword: *f.adminP})
	return srv, format, err
}

// runImport merges roles and users files into the database, all or nothing, and sets
// the variables of a variables.yaml, all or nothing.
func runImport(ctx context.Context, args []string) error {
	f := newFileFlags("import")
	srv, format, err := f.open(ctx, args)
	if err != nil {
		return err
	}
	defer srv.Close()
	if *f.variables != "" {
		text, err := os.ReadFile(*f.variables)
		if err != nil {
			return err
		}
		names, err := srv.Settings.Import(policy.SystemContext(ctx), text)
		if err != nil {
			return fmt.Errorf("no variables set: %w", err)
		}
		fmt.Printf("variables: %d set\n", len(names))
		if *f.roles == "" && *f.users == "" {
			return nil
		}
	}
	var roles, users io.Reader
	for _, in := range []struct {
		path string
		r    *io.Reader
	}{{*f.roles, &roles}, {*f.users, &users}} {
		if in.path == "" {
			continue
		}
		file, err := os.Open(in.path)
		if err != nil {
			return err
		}
		defer file.Close()
		*in.r = file
	}
	res, err := srv.Dir.Import(policy.SystemContext(ctx), format, roles, users)
	if err != nil {
		return fmt.Errorf("nothing imported: %w", err)
	}
	fmt.Printf("roles: %d created, %d updated; users: %d created, %d updated\n",
		res.RolesCreated, res.RolesUpdated, res.UsersCreated, res.UsersUpdated)
	return nil
}

// runExport writes the roles and/or users files.
func runExport(ctx context.Context, args []string) error {
	f := newFileFlags("export")
	srv, format, err := f.open(ctx, args)
	if err != nil {
		return err
	}
	defer srv.Close()
	sys := policy.SystemContext(ctx)
	for _, out := range []struct {
		path   string
		export func(context.Context, directory.Format) (string, error)
	}{{*f.roles, srv.Dir.ExportRoles}, {*f.users, srv.Dir.ExportUsers}} {
		if out.path == "" {
			continue
		}
		text, err := out.export(sys, format)
		if err != nil {
			return err
		}
		if err := os.WriteFile(out.path, []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}
