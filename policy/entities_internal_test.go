package policy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/ent"
)

// entityTypes lists every entity of the generated schema: the client has one field per
// entity, named for its type.
func entityTypes(t *testing.T) []string {
	var out []string
	ct := reflect.TypeOf(ent.Client{})
	for i := range ct.NumField() {
		f := ct.Field(i)
		if f.IsExported() && f.Type.Kind() == reflect.Pointer && f.Type.Elem().Name() == f.Name+"Client" {
			out = append(out, f.Name)
		}
	}
	if len(out) < 19 {
		t.Fatalf("found %d entities on ent.Client, want at least 19: %v", len(out), out)
	}
	return out
}

// TestEveryEntityHasRules fails for an entity of the schema without a read or a write
// rule: a new entity must say who reads and writes it (nil: the server only).
func TestEveryEntityHasRules(t *testing.T) {
	for _, name := range entityTypes(t) {
		if _, ok := readRules[name]; !ok {
			t.Errorf("entity %s has no read rule in policy/entities.go", name)
		}
		if _, ok := writeRules[name]; !ok {
			t.Errorf("entity %s has no write rule in policy/entities.go", name)
		}
	}
}

// TestUnlistedEntityDenied takes an entity's rules out of the tables: a logged-in viewer
// then can neither read nor write it, the server itself still can.
func TestUnlistedEntityDenied(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open(ctx, "file:"+filepath.Join(t.TempDir(), "p.db"), database.Options{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sys := SystemContext(ctx)
	p, err := Load(sys, db.Client)
	if err != nil {
		t.Fatal(err)
	}
	p.Install(db.Client)
	u := db.Client.User.Create().SetName("u").SaveX(sys)
	db.Client.NewsItem.Create().SetAuthorID(u.ID).SetTranslations("[]").SaveX(sys)
	viewer := auth.NewContext(ctx, &auth.Viewer{UserID: u.ID, Name: "u"})
	if n := db.Client.NewsItem.Query().CountX(viewer); n != 1 {
		t.Fatalf("with its rule the viewer reads %d news items, want 1", n)
	}
	r, w := readRules[ent.TypeNewsItem], writeRules[ent.TypeNewsItem]
	delete(readRules, ent.TypeNewsItem)
	delete(writeRules, ent.TypeNewsItem)
	defer func() { readRules[ent.TypeNewsItem], writeRules[ent.TypeNewsItem] = r, w }()
	code := func(err error) apperr.Code {
		var ae *apperr.Error
		if errors.As(err, &ae) {
			return ae.Code
		}
		return ""
	}
	if _, err := db.Client.NewsItem.Query().All(viewer); code(err) != apperr.CodeForbidden {
		t.Errorf("read without a rule: %v, want FORBIDDEN", err)
	}
	if _, err := db.Client.NewsItem.Create().SetAuthorID(u.ID).SetTranslations("[]").Save(viewer); code(err) != apperr.CodeForbidden {
		t.Errorf("write without a rule: %v, want FORBIDDEN", err)
	}
	if n := db.Client.NewsItem.Query().CountX(sys); n != 1 {
		t.Errorf("the server reads %d news items, want 1", n)
	}
	if _, err := db.Client.NewsItem.Query().All(ctx); code(err) != apperr.CodeUnauthenticated {
		t.Errorf("anonymous read: %v, want UNAUTHENTICATED", err)
	}
}
