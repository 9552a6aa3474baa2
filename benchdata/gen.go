package benchdata

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"

	"github.com/portico-dev/portico/ent/schema"
)

// gen generates the data set and writes it through a sink. Roles, users, cases, tasks and
// responsibles are numbered from 0; their ids are the table's base plus the number.
type gen struct {
	rng       *rand.Rand
	extra     *rand.Rand // descriptions and custom fields
	c         Counts
	now       time.Time
	log       *slog.Logger
	pg        bool
	d         string // ent dialect
	hash      string
	everybody int64
	base      map[string]int64

	// The role graph: role i's parent (-1: Everybody), level (1..6) and top-level branch,
	// and the holders each role is a member of.
	parent  []int
	level   []int
	branch  []int
	holders [][]int
	links   [][2]int // member, holder

	roleTasks  [][]int32 // tasks each role is responsible for
	benchTasks []int32   // tasks the bench user is responsible for by name

	benchEff, benchVis int
}

func (g *gen) roleID(i int) int64 { return g.base["roles"] + int64(i) }
func (g *gen) userID(i int) int64 { return g.base["users"] + int64(i) }
func (g *gen) caseID(i int) int64 { return g.base["cases"] + int64(i) }
func (g *gen) taskID(i int) int64 { return g.base["tasks"] + int64(i) }

// levelShare is the share of each level of the role tree, per 2,000 roles.
var levelShare = [6]float64{5, 15, 45, 135, 400, 1400}

// levelSizes splits n roles over six levels, each at least as large as the one above so
// that every branch reaches the sixth level.
func levelSizes(n int) ([6]int, error) {
	var s [6]int
	sum := 0
	for k := range 5 {
		s[k] = max(2, int(math.Round(float64(n)*levelShare[k]/2000)))
		if k > 0 {
			s[k] = max(s[k], s[k-1])
		}
		sum += s[k]
	}
	s[5] = n - sum
	if s[5] < s[4] {
		return s, fmt.Errorf("%d roles are too few for a six-level tree", n)
	}
	return s, nil
}

// buildRoles lays out the role tree level by level, children of a level spread in blocks
// over the level above, then the member links.
func (g *gen) buildRoles() error {
	sizes, err := levelSizes(g.c.Roles)
	if err != nil {
		return err
	}
	first := 0
	for k, size := range sizes {
		for j := range size {
			p, b := -1, j
			if k > 0 {
				above := sizes[k-1]
				p = first - above + j*above/size
				b = g.branch[p]
			}
			g.parent = append(g.parent, p)
			g.level = append(g.level, k+1)
			g.branch = append(g.branch, b)
		}
		first += size
	}
	g.holders = make([][]int, g.c.Roles)
	g.roleTasks = make([][]int32, g.c.Roles)
	// byBranch lists the roles of each top-level branch below its top.
	byBranch := make([][]int, sizes[0])
	for i := sizes[0]; i < g.c.Roles; i++ {
		byBranch[g.branch[i]] = append(byBranch[g.branch[i]], i)
	}
	// A member always sits in a lower-numbered branch than its holder, and parents stay
	// in their branch, so no walk up the graph can come back: no cycles.
	seen := map[[2]int]bool{}
	for try := 0; len(g.links) < g.c.MemberLinks && try < 100*g.c.MemberLinks; try++ {
		a := g.rng.IntN(sizes[0] - 1)
		b := a + 1 + g.rng.IntN(sizes[0]-a-1)
		m := byBranch[a][g.rng.IntN(len(byBranch[a]))]
		h := byBranch[b][g.rng.IntN(len(byBranch[b]))]
		if g.level[h] == 6 || seen[[2]int{m, h}] {
			continue
		}
		seen[[2]int{m, h}] = true
		g.links = append(g.links, [2]int{m, h})
		g.holders[m] = append(g.holders[m], h)
	}
	return nil
}

// effective returns the roles reached from roles through parents and member links
// (Everybody not included) and whether a member link was used.
func (g *gen) effective(roles []int) (map[int]bool, bool) {
	seen := map[int]bool{}
	linked := false
	stack := append([]int(nil), roles...)
	for len(stack) > 0 {
		r := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if r < 0 || seen[r] {
			continue
		}
		seen[r] = true
		stack = append(stack, g.parent[r])
		stack = append(stack, g.holders[r]...)
		linked = linked || len(g.holders[r]) > 0
	}
	return seen, linked
}

// pickBench chooses the bench user's roles: among random sets of one to three roles,
// the one whose effective roles and visible tasks come closest to the targets among the
// sets that reach a role through a member link (so the benchmark exercises links).
func (g *gen) pickBench() []int {
	target := max(1, targetVisibleShare*float64(g.c.Tasks))
	stamp := make([]int32, g.c.Tasks)
	var best []int
	bestScore := math.Inf(1)
	for try := int32(1); try <= 3000; try++ {
		roles := g.distinct(1+g.rng.IntN(3), g.c.Roles)
		eff, linked := g.effective(roles)
		vis := 0
		count := func(tasks []int32) {
			for _, t := range tasks {
				if stamp[t] != try {
					stamp[t] = try
					vis++
				}
			}
		}
		count(g.benchTasks)
		for r := range eff {
			count(g.roleTasks[r])
		}
		score := math.Abs(float64(len(eff)+1-targetEffectiveRoles))/targetEffectiveRoles +
			math.Abs(float64(vis)-target)/target
		if !linked {
			score += 1000 // a set without a link only wins when no set has one
		}
		if score < bestScore {
			best, bestScore, g.benchEff, g.benchVis = roles, score, len(eff)+1, vis
		}
	}
	return best
}

// weighted picks an index of weights with probability proportional to its weight.
func (g *gen) weighted(weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := g.rng.IntN(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}

// distinct returns k different numbers below n (k <= n).
func (g *gen) distinct(k, n int) []int {
	out := make([]int, 0, k)
	for len(out) < k {
		v := g.rng.IntN(n)
		dup := false
		for _, o := range out {
			dup = dup || o == v
		}
		if !dup {
			out = append(out, v)
		}
	}
	return out
}

var (
	firstNames = []string{"Anna", "Ben", "Clara", "David", "Eva", "Felix", "Greta", "Hugo", "Ida", "Jonas",
		"Klara", "Lukas", "Mia", "Noah", "Olga", "Paul", "Rosa", "Simon", "Tina", "Viktor"}
	lastNames = []string{"Keller", "Meier", "Huber", "Schmid", "Weber", "Fischer", "Brunner", "Baumann",
		"Frei", "Zimmermann", "Moser", "Widmer", "Graf", "Wyss", "Steiner", "Roth", "Suter", "Gerber"}
	caseKinds  = []string{"Purchase order", "Vacation request", "Onboarding", "Expense report", "Contract review", "Incident"}
	categories = []string{"Finance", "HR", "IT", "Legal", "Sales", "Operations"}
	taskVerbs  = []string{"Review", "Approve", "Check", "Sign", "Complete", "Verify", "Update", "Prepare"}
	taskNouns  = []string{"invoice", "contract", "request", "report", "order", "form", "documents", "budget"}
	regions    = []string{"EU", "US", "APAC"}
	customers  = []string{"Acme", "Globex", "Initech", "Umbrella", "Hooli"}

	taskStates      = []string{"SUSPENDED", "RESUMED", "PARKED", "DONE", "DESTROYED"}
	taskStateWeight = []int{62, 8, 5, 20, 5}
	priorities      = schema.Priorities
	priorityWeight  = []int{3, 17, 60, 20}
)

// write generates and writes every table, bench's roles last, once its tasks are known.
func (g *gen) write(ctx context.Context, s sink) (*Summary, error) {
	if err := g.buildRoles(); err != nil {
		return nil, err
	}
	sum := &Summary{BenchUser: BenchUser}
	old := g.now.Add(-400 * 24 * time.Hour)

	g.log.Info("bench data: roles", "roles", g.c.Roles, "memberLinks", len(g.links))
	err := table(ctx, s, "roles", []string{"id", "created_at", "updated_at", "name", "display_name", "parent_id"}, func(row rowFunc) error {
		for i := range g.c.Roles {
			parent := g.everybody
			if g.parent[i] >= 0 {
				parent = g.roleID(g.parent[i])
			}
			name := fmt.Sprintf("bench-l%d-%04d", g.level[i], i+1)
			display := fmt.Sprintf("Level %d role %d (branch %d)", g.level[i], i+1, g.branch[i]+1)
			if err := row(g.roleID(i), old, old, name, display, parent); err != nil {
				return err
			}
		}
		if err := row(g.roleID(g.c.Roles), old, old, SmallRole, "Small benchmark role", g.everybody); err != nil {
			return err
		}
		sum.Roles = g.c.Roles + 1
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = table(ctx, s, "role_members", []string{"role_id", "member_of_id"}, func(row rowFunc) error {
		for _, l := range g.links {
			if err := row(g.roleID(l[1]), g.roleID(l[0])); err != nil { // holder, member
				return err
			}
		}
		sum.MemberLinks = len(g.links)
		return nil
	})
	if err != nil {
		return nil, err
	}

	g.log.Info("bench data: users", "users", g.c.Users+2)
	err = table(ctx, s, "users", []string{"id", "created_at", "updated_at", "name", "full_name", "email", "language", "password_hash"}, func(row rowFunc) error {
		for i := range g.c.Users + 2 {
			name := fmt.Sprintf("user%05d", i+1)
			full := firstNames[g.rng.IntN(len(firstNames))] + " " + lastNames[g.rng.IntN(len(lastNames))]
			if i == g.c.Users {
				name, full = BenchUser, "Bench Mark"
			}
			if i == g.c.Users+1 {
				name, full = SmallUser, "Small Bench"
			}
			lang := []string{"en", "de", "fr", ""}[g.rng.IntN(4)]
			if err := row(g.userID(i), old, old, name, full, name+"@bench.example.com", lang, g.hash); err != nil {
				return err
			}
		}
		sum.Users = g.c.Users + 2
		return nil
	})
	if err != nil {
		return nil, err
	}
	userRoles := []string{"user_id", "role_id"}
	err = table(ctx, s, "user_roles", userRoles, func(row rowFunc) error {
		for i := range g.c.Users {
			for _, r := range g.distinct(1+g.rng.IntN(3), g.c.Roles) {
				if err := row(g.userID(i), g.roleID(r)); err != nil {
					return err
				}
				sum.UserRoles++
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	g.log.Info("bench data: cases", "cases", g.c.Cases)
	yearAgo := g.now.Add(-365 * 24 * time.Hour)
	caseStep := 365 * 24 * time.Hour / time.Duration(g.c.Cases)
	// No descriptions: every responsible row copies the lexemes of its task and case for
	// search (a trigger on task_responsibles), so they would slow seeding and change search.
	err = table(ctx, s, "cases", []string{"id", "created_at", "updated_at", "name", "category", "state", "state_rank", "ended_at", "creator_id",
		"custom_fields"}, func(row rowFunc) error {
		for i := range g.c.Cases {
			created := yearAgo.Add(time.Duration(i) * caseStep).Truncate(time.Microsecond)
			state, updated, ended := "RUNNING", created, any(nil)
			if g.rng.IntN(100) < 12 {
				end := minTime(created.Add(time.Duration(1+g.rng.IntN(30*24))*time.Hour), g.now)
				state, updated, ended = "DONE", end, end
			}
			kind := caseKinds[g.rng.IntN(len(caseKinds))]
			name := fmt.Sprintf("%s %06d", kind, i+1)
			creator := g.userID(g.rng.IntN(g.c.Users))
			custom := fmt.Sprintf(`{"region":%q,"customer":%q}`, regions[g.extra.IntN(len(regions))], customers[g.extra.IntN(len(customers))])
			if err := row(g.caseID(i), created, updated, name, categories[g.rng.IntN(len(categories))], state, int(schema.CaseStateRank(state)), ended, creator,
				custom); err != nil {
				return err
			}
		}
		sum.Cases = g.c.Cases
		return nil
	})
	if err != nil {
		return nil, err
	}

	// Workers, task and case creators are drawn from the other users, never bench or small, and no
	// task is DELAYED or a system task: bench sees exactly the tasks its responsibles name,
	// under the plain responsibles rule and under rules that add own work or own cases.
	g.log.Info("bench data: tasks", "tasks", g.c.Tasks)
	// Task i is created at yearAgo + i*step plus less than half a step: distinct, ascending
	// timestamps, each in a case created shortly before.
	step := 365 * 24 * time.Hour / time.Duration(g.c.Tasks)
	type resp struct {
		task       int
		created    time.Time
		user, role int64
	}
	var resps []resp
	err = table(ctx, s, "tasks", []string{"id", "created_at", "updated_at", "name", "category", "state", "priority",
		"state_rank", "priority_rank", "position", "started_at", "ended_at", "case_id", "worker_id", "creator_id", "custom_fields"}, func(row rowFunc) error {
		for i := range g.c.Tasks {
			created := yearAgo.Add(time.Duration(i)*step + time.Duration(g.rng.Int64N(int64(step/2)))).Truncate(time.Microsecond)
			cs := max(0, i*g.c.Cases/g.c.Tasks-g.rng.IntN(20))
			state := taskStates[g.weighted(taskStateWeight)]
			prio := priorities[g.weighted(priorityWeight)]
			updated, started, ended, worker := created, any(nil), any(nil), any(nil)
			if state != "SUSPENDED" && state != "DESTROYED" {
				st := minTime(created.Add(time.Duration(g.rng.IntN(72*60))*time.Minute), g.now)
				started, worker, updated = st, g.userID(g.rng.IntN(g.c.Users)), st
			}
			if state == "DONE" || state == "DESTROYED" {
				en := minTime(updated.Add(time.Duration(1+g.rng.IntN(7*24*60))*time.Minute), g.now)
				ended, updated = en, en
			}
			name := taskVerbs[g.rng.IntN(len(taskVerbs))] + " " + taskNouns[g.rng.IntN(len(taskNouns))]
			creator := g.userID(g.rng.IntN(g.c.Users))
			custom := fmt.Sprintf(`{"region":%q,"amount":%d}`, regions[g.extra.IntN(len(regions))], 10*(1+g.extra.IntN(10000)))
			if err := row(g.taskID(i), created, updated, name, categories[g.rng.IntN(len(categories))], state, prio,
				int(schema.TaskStateRank(state)), int(schema.PriorityRank(prio)), g.rng.IntN(6), started, ended, g.caseID(cs), worker, creator, custom); err != nil {
				return err
			}
			// One or two responsibles, ~85% roles and ~15% users (bench among them).
			var seen [2]int64
			for k := range 1 + g.rng.IntN(2) {
				for {
					r := resp{task: i, created: created}
					var key int64
					if g.rng.IntN(100) < 85 {
						ri := g.rng.IntN(g.c.Roles)
						r.role, key = g.roleID(ri), g.roleID(ri)
					} else {
						r.user = g.userID(g.rng.IntN(g.c.Users + 1))
						key = r.user
					}
					if k == 0 && g.smallTask(i) { // its first responsible is SmallRole instead
						r.role, r.user, key = g.roleID(g.c.Roles), 0, g.roleID(g.c.Roles)
					}
					if k == 1 && key == seen[0] {
						continue
					}
					seen[k] = key
					resps = append(resps, r)
					break
				}
			}
		}
		sum.Tasks = g.c.Tasks
		return nil
	})
	if err != nil {
		return nil, err
	}

	g.log.Info("bench data: task responsibles", "responsibles", len(resps))
	benchID := g.userID(g.c.Users)
	err = table(ctx, s, "task_responsibles", []string{"id", "expiry", "task_created_at", "task_id", "user_id", "role_id"}, func(row rowFunc) error {
		for n, r := range resps {
			var user, role any
			if r.role != 0 {
				role = r.role
				if ri := r.role - g.base["roles"]; ri < int64(g.c.Roles) { // not SmallRole
					g.roleTasks[ri] = append(g.roleTasks[ri], int32(r.task))
				}
			} else {
				user = r.user
				if r.user == benchID {
					g.benchTasks = append(g.benchTasks, int32(r.task))
				}
			}
			if err := row(g.base["task_responsibles"]+int64(n), false, r.created, g.taskID(r.task), user, role); err != nil {
				return err
			}
		}
		sum.Responsibles = len(resps)
		return nil
	})
	if err != nil {
		return nil, err
	}

	bench := g.pickBench()
	g.log.Info("bench data: bench user", "roles", len(bench), "effectiveRoles", g.benchEff, "visibleTasks", g.benchVis)
	err = table(ctx, s, "user_roles", userRoles, func(row rowFunc) error {
		for _, r := range bench {
			if err := row(benchID, g.roleID(r)); err != nil {
				return err
			}
		}
		return row(g.userID(g.c.Users+1), g.roleID(g.c.Roles)) // small: SmallRole alone
	})
	sum.UserRoles += len(bench) + 1
	sum.BenchDirectRoles = len(bench)
	sum.SmallUser = SmallUser
	return sum, err
}

// smallTask reports whether task i is one of the c.SmallTasks tasks, spread evenly over
// the year, whose first responsible is SmallRole.
func (g *gen) smallTask(i int) bool {
	stride := g.c.Tasks / g.c.SmallTasks
	return i%stride == stride/2 && i/stride < g.c.SmallTasks
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
