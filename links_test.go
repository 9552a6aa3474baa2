package portico_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/servertest"
)

// TestExternalLinks: private links for their creator, public ones for everybody with
// CreatePublicExternalLink, favorites, deletion rights, and hostile addresses refused.
func TestExternalLinks(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		admin, alice, bob := srv.Login(t, "admin", "admin"), srv.Login(t, "alice", "alice"), srv.Login(t, "bob", "bob")
		create := func(c *servertest.Client, name, link string, public bool) (string, string) {
			r := c.Do(t, `mutation($in: CreateExternalLinkInput!) { createExternalLink(input: $in) { process { id kind link } } }`,
				map[string]any{"in": map[string]any{"name": name, "link": link, "public": public}})
			if r.Code() != "" {
				return "", r.Code()
			}
			var out struct {
				CreateExternalLink struct {
					Process struct{ ID, Kind, Link string }
				}
			}
			if err := json.Unmarshal(r.Data, &out); err != nil {
				t.Fatal(err)
			}
			if out.CreateExternalLink.Process.Kind != "EXTERNAL_LINK" || out.CreateExternalLink.Process.Link != link {
				t.Errorf("created %+v", out.CreateExternalLink.Process)
			}
			return out.CreateExternalLink.Process.ID, ""
		}
		names := func(c *servertest.Client) []string {
			var out struct {
				Processes struct {
					Edges []struct{ Node struct{ Name string } }
				}
			}
			c.MustDo(t, `{ processes(first: 100) { edges { node { name } } } }`, nil, &out)
			var ns []string
			for _, e := range out.Processes.Edges {
				ns = append(ns, e.Node.Name)
			}
			return ns
		}
		private, code := create(alice, "Alice's wiki", "https://wiki.example.com/alice", false)
		if code != "" {
			t.Fatalf("a private link: %q", code)
		}
		if !slices.Contains(names(alice), "Alice's wiki") || slices.Contains(names(bob), "Alice's wiki") {
			t.Errorf("a private link: alice sees %v, bob sees %v", names(alice), names(bob))
		}
		if code := bob.Do(t, fmt.Sprintf(`mutation { deleteExternalLink(input: {id: "%s"}) { ok } }`, private), nil).Code(); code != "NOT_FOUND" {
			t.Errorf("bob deleting alice's private link: %q, want NOT_FOUND", code)
		}
		if _, code := create(alice, "Public wiki", "https://wiki.example.com", true); code != "FORBIDDEN" {
			t.Errorf("a public link without CreatePublicExternalLink: %q, want FORBIDDEN", code)
		}
		public, code := create(admin, "Company wiki", "https://wiki.example.com", true)
		if code != "" {
			t.Fatalf("a public link as admin: %q", code)
		}
		if !slices.Contains(names(bob), "Company wiki") {
			t.Errorf("bob does not see the public link: %v", names(bob))
		}
		var fav struct {
			AddFavoriteProcess struct{ Processes []struct{ Name string } }
		}
		bob.MustDo(t, fmt.Sprintf(`mutation { addFavoriteProcess(input: {processId: "%s"}) { processes { name } } }`, public), nil, &fav)
		if len(fav.AddFavoriteProcess.Processes) != 1 || fav.AddFavoriteProcess.Processes[0].Name != "Company wiki" {
			t.Errorf("bob's favorites: %+v", fav.AddFavoriteProcess.Processes)
		}
		if code := bob.Do(t, fmt.Sprintf(`mutation { deleteExternalLink(input: {id: "%s"}) { ok } }`, public), nil).Code(); code != "FORBIDDEN" {
			t.Errorf("bob deleting the public link: %q, want FORBIDDEN", code)
		}
		admin.MustDo(t, fmt.Sprintf(`mutation { deleteExternalLink(input: {id: "%s"}) { ok } }`, public), nil, nil)
		if slices.Contains(names(bob), "Company wiki") {
			t.Error("the deleted link is still listed")
		}
		alice.MustDo(t, fmt.Sprintf(`mutation { deleteExternalLink(input: {id: "%s"}) { ok } }`, private), nil, nil)
		for _, link := range []string{"javascript:alert(1)", "ftp://files.example.com", "https://", "') OR 1=1 --", "wiki.example.com",
			"https://example.com/" + strings.Repeat("a", 3000), ""} {
			if _, code := create(alice, "bad", link, false); code != "BAD_USER_INPUT" {
				t.Errorf("link %.40q: %q, want BAD_USER_INPUT", link, code)
			}
		}
		if _, code := create(alice, "  ", "https://example.com", false); code != "BAD_USER_INPUT" {
			t.Errorf("a blank name: %q, want BAD_USER_INPUT", code)
		}
		if code := srv.Client().Do(t, `mutation { createExternalLink(input: {name: "x", link: "https://x.example"}) { process { id } } }`, nil).Code(); code != "UNAUTHENTICATED" {
			t.Errorf("no token: %q", code)
		}
	})
}
