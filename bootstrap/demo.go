package bootstrap

import (
	"context"
	"fmt"
	"time"

	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/businesscase"
	"github.com/portico-dev/portico/ent/process"
	"github.com/portico-dev/portico/ent/task"
)

// demoRoles is the role tree of seed 003: name, parent, member roles.
var demoRoles = []struct {
	name, parent string
	members      []string
}{
	{"Support Group", "Everybody", nil},
	{"First Level", "Support Group", nil},
	{"Second Level", "Support Group", nil},
	{"Development", "Everybody", nil},
	{"Team A", "Development", nil},
	{"Team B", "Development", nil},
	{"Application Permissions", "Everybody", nil},
	{"Process M", "Application Permissions", []string{"First Level", "Team B"}},
	{"Process N", "Application Permissions", []string{"Support Group"}},
}

// DemoUsers are the demo users, each with its password equal to its name. These are
// system seeding for trying Portico out, and bypass the password rules on purpose (no
// demo password would pass them); passwords set through the API or an import meet them.
var DemoUsers = []struct {
	Name, FullName string
	Roles          []string
}{
	{"demo", "Demo User", []string{"Team A"}},
	{"alice", "Alice Adams", []string{"First Level"}},
	{"bob", "Bob Brown", []string{"Team B"}},
	{"carol", "Carol Clark", []string{"Second Level", "Development"}},
}

// loadDemo creates the role tree, the demo users, a sample express process and a running
// case with open tasks.
func loadDemo(ctx context.Context, c *ent.Client, everybody *ent.Role) error {
	roles := map[string]*ent.Role{everybody.Name: everybody}
	for _, r := range demoRoles {
		created, err := c.Role.Create().SetName(r.name).SetDisplayName(r.name).SetParent(roles[r.parent]).Save(ctx)
		if err != nil {
			return fmt.Errorf("demo role %s: %w", r.name, err)
		}
		roles[r.name] = created
	}
	for _, r := range demoRoles {
		for _, m := range r.members {
			if err := roles[r.name].Update().AddMembers(roles[m]).Exec(ctx); err != nil {
				return fmt.Errorf("demo member role %s in %s: %w", m, r.name, err)
			}
		}
	}
	users := map[string]*ent.User{}
	for _, u := range DemoUsers {
		hash, err := auth.HashPassword(u.Name)
		if err != nil {
			return err
		}
		q := c.User.Create().SetName(u.Name).SetFullName(u.FullName).SetEmail(u.Name + "@example.com").
			SetLanguage("en").SetPasswordHash(hash)
		for _, rn := range u.Roles {
			q.AddRoles(roles[rn])
		}
		if users[u.Name], err = q.Save(ctx); err != nil {
			return fmt.Errorf("demo user %s: %w", u.Name, err)
		}
	}
	if err := demoWork(ctx, c, roles, users); err != nil {
		return err
	}
	return demoPortal(ctx, c, users["demo"])
}

// demoPortal adds a public start dashboard and a news item, so the portal's pages show
// something on a fresh demo database.
func demoPortal(ctx context.Context, c *ent.Client, author *ent.User) error {
	if err := c.Dashboard.Create().SetOwnerID(author.ID).SetPublic(true).SetPermissions([]string{}).
		SetDocument(demoDashboard).Exec(ctx); err != nil {
		return fmt.Errorf("demo dashboard: %w", err)
	}
	if err := c.NewsItem.Create().SetAuthorID(author.ID).SetTranslations(demoNews).Exec(ctx); err != nil {
		return fmt.Errorf("demo news: %w", err)
	}
	return nil
}

// demoDashboard is a dashboard in domain.md's model: a welcome tile, my open tasks, the
// tasks-by-priority chart and the news.
const demoDashboard = `{"id":"demo-start","version":1,"titles":[{"locale":"en","value":"Start"},{"locale":"de","value":"Start"}],
"icon":"fa-home","description":"Your work at a glance","isPublic":true,"widgets":[
{"id":"welcome","type":"welcome","names":[{"locale":"en","value":"Welcome"}],"layout":{"x":0,"y":0,"w":12,"h":2}},
{"id":"my-tasks","type":"task","names":[{"locale":"en","value":"My open tasks"}],"layout":{"x":0,"y":2,"w":8,"h":6},
 "columns":[{"field":"name","visible":true},{"field":"priority","visible":true},{"field":"expiryTimestamp","visible":true}],
 "filters":[{"field":"businessState","operator":"in","values":["OPEN","IN_PROGRESS"]},{"field":"responsible","operator":"current_user"}]},
{"id":"by-priority","type":"statistic","chartId":"task-by-priority","layout":{"x":8,"y":2,"w":4,"h":3}},
{"id":"news","type":"news","layout":{"x":8,"y":5,"w":4,"h":3}}]}`

const demoNews = `[{"language":"en","title":"Welcome to Portico","content":"Start a leave request from the process list."},` +
	`{"language":"de","title":"Willkommen bei Portico","content":"Starten Sie einen Urlaubsantrag aus der Prozessliste."}]`

// demoWork creates the sample process with one running case and a few open tasks.
func demoWork(ctx context.Context, c *ent.Client, roles map[string]*ent.Role, users map[string]*ent.User) error {
	p, err := c.Process.Create().SetName("Leave request").SetDescription("Ask for days off; your team lead approves.").
		SetKey("demo-leave-request").SetCategory("HR").SetIcon("fa-plane").SetKind(process.KindEXPRESS_PROCESS).
		SetPermissions([]string{"Everybody"}).SetDefinition([]byte(leaveRequest)).Save(ctx)
	if err != nil {
		return fmt.Errorf("demo process: %w", err)
	}
	if err := c.ProcessStarter.Create().SetProcessID(p.ID).SetRoleID(roles["Everybody"].ID).Exec(ctx); err != nil {
		return fmt.Errorf("demo process starters: %w", err)
	}
	cs, err := c.BusinessCase.Create().SetName("Leave request: demo, 3 days").SetCategory("HR").
		SetState(businesscase.StateRUNNING).SetProcess(p).SetCreator(users["demo"]).SetOwner(users["demo"]).Save(ctx)
	if err != nil {
		return fmt.Errorf("demo case: %w", err)
	}
	due := time.Now().UTC().Add(48 * time.Hour)
	tasks := []struct {
		name     string
		prio     task.Priority
		user     *ent.User
		role     *ent.Role
		position int
	}{
		{"Approve leave request", task.PriorityHIGH, nil, roles["Development"], 1},
		{"Check remaining holidays", task.PriorityNORMAL, nil, roles["Support Group"], 2},
		{"Plan handover", task.PriorityLOW, users["demo"], nil, 3},
	}
	for _, t := range tasks {
		created, err := c.Task.Create().SetName(t.name).SetCategory("HR").SetPriority(t.prio).
			SetState(task.StateSUSPENDED).SetCase(cs).SetCreator(users["demo"]).SetPosition(t.position).
			SetExpiryTimestamp(due).Save(ctx)
		if err != nil {
			return fmt.Errorf("demo task %s: %w", t.name, err)
		}
		r := c.TaskResponsible.Create().SetTask(created)
		if t.user != nil {
			r.SetUser(t.user)
		} else {
			r.SetRole(t.role)
		}
		if err := r.Exec(ctx); err != nil {
			return fmt.Errorf("demo task %s responsible: %w", t.name, err)
		}
	}
	return nil
}

// leaveRequest is the demo's express process in the seed's model: the requester fills a
// form, Development approves, Support Group checks the remaining holidays.
const leaveRequest = `{"id":"demo-leave-request","processName":"Leave request","processDescription":"Ask for days off; your team lead approves.",
"processType":"AHWF","processPermissions":["Everybody"],"readyToExecute":true,"icon":"fa-plane","taskDefinitions":[
{"type":"USER_TASK","responsibles":["Everybody"],"subject":"Fill in the leave request","description":"Dates and reason","taskPosition":1,"untilDays":2,
 "formElements":[{"elementID":"days","label":"Days","required":true,"elementType":"InputNumber"},{"elementID":"reason","label":"Reason","required":false,"elementType":"InputTextArea"}]},
{"type":"APPROVAL","responsibles":["Development"],"subject":"Approve leave request","taskPosition":2,"untilDays":3},
{"type":"EMAIL","responsibles":[],"taskPosition":3,"email":{"recipients":"hr@example.com","subject":"Leave approved","content":"<p>Approved</p>"}},
{"type":"USER_TASK","responsibles":["Support Group"],"subject":"Check remaining holidays","taskPosition":4,"untilDays":5}]}`
