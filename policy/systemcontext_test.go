package policy_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// systemContextAllowed are the files that may derive the full system context: jobs,
// bootstrap and the command line. Request paths use a named privilege (policy.Elevate).
var systemContextAllowed = map[string]string{
	"policy/visibility.go":   "its definition",
	"cleanup/cleanup.go":     "the cleanup job",
	"workflow/timers.go":     "the timer job",
	"server.go":              "bootstrap at start and the policy follower job",
	"live/hub.go":            "the hub's audience computation",
	"benchdata/benchdata.go": "bootstrap of benchmark data",
	"cmd/portico/files.go":   "the command line",
}

// TestSystemContextOnlyInJobs fails when SystemContext is called outside the files that
// may (tests excepted), so a new request path cannot quietly lift every rule.
func TestSystemContextOnlyInJobs(t *testing.T) {
	root := ".."
	fset := token.NewFileSet()
	seen := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "ent" || strings.HasPrefix(d.Name(), ".") && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			name := ""
			switch fn := call.Fun.(type) {
			case *ast.SelectorExpr:
				name = fn.Sel.Name
			case *ast.Ident:
				name = fn.Name
			}
			if name == "SystemContext" {
				seen[rel] = true
				if _, ok := systemContextAllowed[rel]; !ok {
					t.Errorf("%s: SystemContext on what may be a request path; use a named policy.Elevate privilege, or add a job/bootstrap/command-line file to systemContextAllowed", fset.Position(call.Pos()))
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !seen["cleanup/cleanup.go"] || !seen["server.go"] {
		t.Fatalf("the scan found no SystemContext in the known jobs (%v): it scans nothing", seen)
	}
}
