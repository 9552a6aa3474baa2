package policy_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/servertest"
)

// TestTwentyDeepChain builds chains of nested roles (Casbin's default role manager stops
// at 10 levels without a word), grants a permission on the top role and checks it
// reaches the bottom, then that a deny in the middle cuts it off below the deny only.
// The final state is checked again on a second server that loads the policy from the
// database, so both the incremental and the full build of the role graph are covered.
func TestTwentyDeepChain(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		url := servertest.DatabaseURL(t, dialect)
		srv := servertest.Start(t, dialect, portico.Config{DatabaseURL: url, Demo: true})
		admin := srv.Login(t, "admin", "admin")
		perm := string(policy.TaskReadAll) // not an Everybody default

		type chain struct {
			depth, mid int
			roles      []string       // ids, top first; roles[i] is level i+1
			users      map[int]string // level -> id of a user with that role only
		}
		var chains []*chain
		// final is the state after the deny, checked again after the reload.
		final := func(c *chain) []expectation {
			var rows []expectation
			for level := range c.users {
				e := expectation{row: fmt.Sprintf("level %d of %d", level, c.depth), user: fmt.Sprint(level),
					allowed: true, effect: "ALLOW", by: fmt.Sprintf("Role D%d-1", c.depth)}
				if level >= c.mid {
					e.allowed, e.effect, e.by = false, "DENY", fmt.Sprintf("Role D%d-%d", c.depth, c.mid)
				}
				rows = append(rows, e)
			}
			return rows
		}
		check := func(t *testing.T, admin *servertest.Client, c *chain, rows []expectation) {
			t.Helper()
			keyed := map[string]string{}
			var ids []string
			for level, id := range c.users {
				keyed[fmt.Sprint(level)] = id
				ids = append(ids, id)
			}
			checkRows(t, decide(t, admin, perm, ids...), keyed, rows)
		}

		for _, depth := range []int{20, 60} {
			c := &chain{depth: depth, mid: depth / 2, users: map[int]string{}}
			chains = append(chains, c)
			t.Run(fmt.Sprintf("%d levels", depth), func(t *testing.T) {
				parent := ""
				for level := 1; level <= depth; level++ {
					name := fmt.Sprintf("D%d-%d", depth, level)
					parent = createRoles(t, admin, roleSpec{name, parent})[name]
					c.roles = append(c.roles, parent)
				}
				// The chain really is that deep: the bottom role's parent chain.
				var bottom struct {
					Role struct{ Parent struct{ Name string } }
				}
				admin.MustDo(t, `query($n: String!) { role(name: $n) { parent { name } } }`,
					map[string]any{"n": fmt.Sprintf("D%d-%d", depth, depth)}, &bottom)
				if want := fmt.Sprintf("D%d-%d", depth, depth-1); bottom.Role.Parent.Name != want {
					t.Fatalf("bottom role's parent is %q, want %q", bottom.Role.Parent.Name, want)
				}

				fields := map[string]string{}
				levels := []int{1, c.mid - 1, c.mid, c.mid + 1, depth}
				for i, level := range levels {
					fields[fmt.Sprintf("u%d", i)] = fmt.Sprintf("createUser(input: {name: %s, roleIds: [%s]}) { user { id } }",
						lit(fmt.Sprintf("d%d-level-%d", depth, level)), lit(c.roles[level-1]))
				}
				fields["grant"] = grantField("grantPermission", perm, "roleId", c.roles[0])
				data := batch(t, admin, "mutation", fields)
				for i, level := range levels {
					var out struct{ User struct{ ID string } }
					json.Unmarshal(data[fmt.Sprintf("u%d", i)], &out)
					c.users[level] = out.User.ID
				}

				var reached []expectation
				for _, level := range levels {
					reached = append(reached, expectation{row: fmt.Sprintf("grant on top reaches level %d", level), user: fmt.Sprint(level),
						allowed: true, effect: "ALLOW", by: fmt.Sprintf("Role D%d-1", depth)})
				}
				check(t, admin, c, reached)

				batch(t, admin, "mutation", map[string]string{"deny": grantField("denyPermission", perm, "roleId", c.roles[c.mid-1])})
				check(t, admin, c, final(c))
			})
		}

		t.Run("reloaded from the database", func(t *testing.T) {
			second := servertest.Start(t, dialect, portico.Config{DatabaseURL: url})
			admin2 := second.Client()
			admin2.Token = admin.Token // the signing key lives in the database
			for _, c := range chains {
				if len(c.users) == 0 {
					t.Fatalf("chain of %d was not built", c.depth)
				}
				check(t, admin2, c, final(c))
			}
		})
	})
}
