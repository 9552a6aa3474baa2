package policy_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/ent/user"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/servertest"
)

// TestEveryEntityDeniesAnonymous loops over every entity client of the server's ent
// client: without a viewer each query and each delete fails with UNAUTHENTICATED before
// reaching the database; the server itself reads them all; a plain user cannot read the
// server secrets nor write another user.
func TestEveryEntityDeniesAnonymous(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		c := srv.DB.Client
		anon, sys := context.Background(), policy.SystemContext(context.Background())
		code := func(err error) apperr.Code {
			var ae *apperr.Error
			if errors.As(err, &ae) {
				return ae.Code
			}
			return ""
		}
		cv := reflect.ValueOf(c).Elem()
		n := 0
		for i := range cv.NumField() {
			f := cv.Type().Field(i)
			if !f.IsExported() || f.Type.Kind() != reflect.Pointer || f.Type.Elem().Name() != f.Name+"Client" {
				continue
			}
			n++
			ec := cv.Field(i)
			all := func(ctx context.Context) error {
				q := ec.MethodByName("Query").Call(nil)[0]
				out := q.MethodByName("All").Call([]reflect.Value{reflect.ValueOf(ctx)})
				err, _ := out[1].Interface().(error)
				return err
			}
			if err := all(anon); code(err) != apperr.CodeUnauthenticated {
				t.Errorf("anonymous %s query: %v, want UNAUTHENTICATED", f.Name, err)
			}
			if err := all(sys); err != nil {
				t.Errorf("system %s query: %v", f.Name, err)
			}
			del := ec.MethodByName("Delete").Call(nil)[0]
			out := del.MethodByName("Exec").Call([]reflect.Value{reflect.ValueOf(anon)})
			if err, _ := out[1].Interface().(error); code(err) != apperr.CodeUnauthenticated {
				t.Errorf("anonymous %s delete: %v, want UNAUTHENTICATED", f.Name, err)
			}
		}
		if n < 19 {
			t.Fatalf("looped over %d entities, want at least 19", n)
		}
		demo := c.User.Query().Where(user.Name("demo")).OnlyX(sys)
		alice := c.User.Query().Where(user.Name("alice")).OnlyX(sys)
		viewer := auth.NewContext(context.Background(), &auth.Viewer{UserID: demo.ID, Name: demo.Name})
		if _, err := c.ServerSecret.Query().All(viewer); code(err) != apperr.CodeForbidden {
			t.Errorf("demo reads the server secrets: %v, want FORBIDDEN", err)
		}
		if err := c.User.UpdateOne(alice).SetEmail("x@example.com").Exec(viewer); code(err) != apperr.CodeForbidden {
			t.Errorf("demo writes alice: %v, want FORBIDDEN", err)
		}
		if err := c.User.UpdateOne(demo).SetLanguage("de").Exec(viewer); err != nil {
			t.Errorf("demo writes its own row: %v", err)
		}
	})
}
