package portico_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/role"
	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/mail/mailtest"
	"github.com/portico-dev/portico/notify"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/servertest"
)

// Issue 15, item 4: ASSIGNED, DELEGATED and EXPIRING by mail.

// waitStats waits until ok holds for the notifier's counters.
func waitStats(t *testing.T, srv *servertest.Server, what string, ok func(notify.Stats) bool) notify.Stats {
	t.Helper()
	end := time.Now().Add(60 * time.Second)
	for {
		s := srv.Notifier.Stats()
		if ok(s) {
			return s
		}
		if time.Now().After(end) {
			t.Fatalf("%s: not within 60 s; stats %+v", what, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// settled: every message built was sent, refused or given up.
func settled(s notify.Stats) bool {
	return s.Sent+s.Refused+s.Failed == s.Messages
}

// startFor creates an express process whose one task goes to responsible and starts it
// as c; it returns the task's id.
func startFor(t *testing.T, c *servertest.Client, name, responsible string) string {
	t.Helper()
	var created struct {
		CreateExpressProcess struct{ Process struct{ ID string } }
	}
	c.MustDo(t, `mutation($n: String!, $r: String!) { createExpressProcess(input: {processName: $n, processPermissions: ["Everybody"],
		taskDefinitions: [{type: "USER_TASK", responsibles: [$r], subject: "Review the budget", taskPosition: 1}]}) { process { id } } }`,
		map[string]any{"n": name, "r": responsible}, &created)
	return startProcess(t, c, created.CreateExpressProcess.Process.ID)
}

func startProcess(t *testing.T, c *servertest.Client, process string) string {
	t.Helper()
	var started struct {
		StartProcess struct{ Task struct{ ID string } }
	}
	c.MustDo(t, `mutation($p: ID!) { startProcess(input: {processId: $p}) { task { id } } }`, map[string]any{"p": process}, &started)
	return started.StartProcess.Task.ID
}

// byRecipient returns the messages by their one recipient.
func byRecipient(t *testing.T, msgs []mailtest.Message) map[string]mailtest.Message {
	t.Helper()
	out := map[string]mailtest.Message{}
	for _, m := range msgs {
		if len(m.To) != 1 {
			t.Fatalf("a message to %v: want one recipient each", m.To)
		}
		if _, dup := out[m.To[0]]; dup {
			t.Fatalf("two messages to %s", m.To[0])
		}
		out[m.To[0]] = m
	}
	return out
}

// TestAssignmentMails: a task for a role mails its members whose email channel is on, in
// their language (own setting, else the application's), after the commit; users without
// an address, with the channel off or disabled get nothing. Delegation and the expiry
// warning mail the new responsibles.
func TestAssignmentMails(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		fake := mailtest.Start(t, mailtest.Accept)
		srv := servertest.Start(t, dialect, portico.Config{Demo: true, SMTPURL: "smtp://" + fake.Addr + "?from=portal@example.com",
			Notify: notify.Config{Backoff: 10 * time.Millisecond}})
		admin, demo, bob, carol := srv.Login(t, "admin", "admin"), srv.Login(t, "demo", "demo"), srv.Login(t, "bob", "bob"), srv.Login(t, "carol", "carol")

		// Development's members: demo (Team A), bob (Team B), carol, and two more.
		var ids struct {
			TeamA struct{ ID string } `json:"teamA"`
			TeamB struct{ ID string } `json:"teamB"`
		}
		admin.MustDo(t, `{ teamA: role(name: "Team A") { id } teamB: role(name: "Team B") { id } }`, nil, &ids)
		admin.MustDo(t, `mutation($r: ID!) { createUser(input: {name: "dora", fullName: "Dora Mailless", roleIds: [$r]}) { user { id } } }`,
			map[string]any{"r": ids.TeamB.ID}, nil)
		var erin struct {
			CreateUser struct{ User struct{ ID string } }
		}
		admin.MustDo(t, `mutation($r: ID!) { createUser(input: {name: "erin", email: "erin@example.com", roleIds: [$r]}) { user { id } } }`,
			map[string]any{"r": ids.TeamA.ID}, &erin)
		admin.MustDo(t, `mutation($u: ID!) { disableUser(input: {id: $u}) { user { id } } }`, map[string]any{"u": erin.CreateUser.User.ID}, nil)
		bob.MustDo(t, `mutation { updateMySettings(input: {notificationChannels: [{channel: "email", enabled: false}]}) { settings { language } } }`, nil, nil)
		// demo takes the application's language, German from now on; carol chose English.
		demo.MustDo(t, `mutation { updateMySettings(input: {language: ""}) { settings { language } } }`, nil, nil)
		carol.MustDo(t, `mutation { updateMySettings(input: {language: "en"}) { settings { language } } }`, nil, nil)
		admin.MustDo(t, `mutation { setVariable(input: {name: "Portal.DefaultLanguage", value: "de"}) { variable { name } } }`, nil, nil)

		taskID := startFor(t, demo, "Budget", "Development")
		s := waitStats(t, srv, "the ASSIGNED mails", func(s notify.Stats) bool { return s.Assignments >= 1 && s.Messages > 0 && settled(s) })
		got := byRecipient(t, fake.Messages())
		if len(got) != 2 || s.Sent != 2 || s.Sessions != 1 {
			t.Fatalf("mails to %v (stats %+v); want demo and carol only, in one session", got, s)
		}
		de, en := got["demo@example.com"], got["carol@example.com"]
		if de.Header("Subject") != "Neue Aufgabe: Review the budget" || de.Header("Content-Language") != "de" ||
			!strings.Contains(de.Data, "Hallo Demo User") || de.Header("X-Portico-Notification") != "ASSIGNED" {
			t.Errorf("demo's mail is not the German ASSIGNED mail:\n%s", de.Data)
		}
		if en.Header("Subject") != "New task: Review the budget" || !strings.Contains(en.Data, "Hello Carol Clark") ||
			en.Header("Auto-Submitted") != "auto-generated" || en.From != "portal@example.com" {
			t.Errorf("carol's mail is not the English ASSIGNED mail:\n%s", en.Data)
		}

		// Delegated to alice and bob: alice only (bob's channel is off).
		var who struct {
			Alice struct{ ID string } `json:"alice"`
			Bob   struct{ ID string } `json:"bob"`
		}
		srv.Login(t, "alice", "alice").MustDo(t, `{ alice: viewer { id } }`, nil, &who)
		bob.MustDo(t, `{ bob: viewer { id } }`, nil, &who)
		admin.MustDo(t, `mutation($t: ID!, $a: ID!, $b: ID!) { delegateTask(input: {id: $t, userIds: [$a, $b]}) { task { id } } }`,
			map[string]any{"t": taskID, "a": who.Alice.ID, "b": who.Bob.ID}, nil)
		s = waitStats(t, srv, "the DELEGATED mail", func(s notify.Stats) bool { return s.Assignments >= 2 && s.Messages > 2 && settled(s) })
		msgs := fake.Messages()
		if len(msgs) != 3 || s.Messages != 3 || msgs[2].To[0] != "alice@example.com" ||
			msgs[2].Header("Subject") != "Task delegated to you: Review the budget" {
			t.Fatalf("after the delegation %d mails, the last %+v; want one to alice", len(msgs), msgs[len(msgs)-1])
		}

		// Expiring within the hour: the timer warns alice.
		sys := policy.SystemContext(context.Background())
		var tid int
		fmt.Sscan(taskID, &tid)
		srv.DB.Client.Task.UpdateOneID(tid).SetExpiryTimestamp(time.Now().UTC().Add(30 * time.Minute)).ExecX(sys)
		if _, err := srv.Work.FireDue(context.Background()); err != nil {
			t.Fatal(err)
		}
		s = waitStats(t, srv, "the EXPIRING mail", func(s notify.Stats) bool { return s.Assignments >= 3 && s.Messages > 3 && settled(s) })
		msgs = fake.Messages()
		if last := msgs[len(msgs)-1]; len(msgs) != 4 || last.To[0] != "alice@example.com" ||
			last.Header("Subject") != "Task expires soon: Review the budget" || !strings.Contains(last.Data, "Expires: ") {
			t.Fatalf("after the expiry warning %d mails, the last:\n%s", len(msgs), last.Data)
		}
		if s.Refused+s.Failed+s.Dropped+s.Unresolved+s.Retries != 0 {
			t.Errorf("stats %+v: want nothing refused, failed, dropped or retried", s)
		}
	})
}

// TestAssignmentMailsRefusedOrDown: a server refusing (5xx) costs one session and no
// retry; a server that is down is tried Attempts times with backoff, then given up.
// Either way every message is counted and logged, and nothing is tried again later.
func TestAssignmentMailsRefusedOrDown(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		for _, tc := range []struct {
			name string
			addr func(t *testing.T) string
			log  string
			want func(s notify.Stats) bool
		}{
			{"refused", func(t *testing.T) string { return mailtest.Start(t, mailtest.Refuse).Addr }, "refused by the SMTP server",
				func(s notify.Stats) bool { return s.Refused == 3 && s.Sessions == 1 && s.Retries == 0 && s.Sent == 0 }},
			{"down", func(t *testing.T) string { return mailtest.Down(t) }, "gave up after 3 attempts",
				func(s notify.Stats) bool { return s.Failed == 3 && s.Sessions == 3 && s.Retries == 6 && s.Sent == 0 }},
			{"temporary failure", func(t *testing.T) string { return mailtest.Start(t, mailtest.TempFail).Addr }, "gave up after 3 attempts",
				func(s notify.Stats) bool { return s.Failed == 3 && s.Sessions == 3 && s.Retries == 6 && s.Sent == 0 }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var logs logBuffer
				srv := servertest.Start(t, dialect, portico.Config{Demo: true, SMTPURL: "smtp://" + tc.addr(t) + "?from=portal@example.com",
					Logger: slog.New(slog.NewTextHandler(&logs, nil)), Notify: notify.Config{Attempts: 3, Backoff: 20 * time.Millisecond}})
				demo := srv.Login(t, "demo", "demo")
				startFor(t, demo, "Budget", "Development") // demo, bob, carol
				s := waitStats(t, srv, "the mails given up", func(s notify.Stats) bool { return s.Messages == 3 && settled(s) })
				if !tc.want(s) {
					t.Fatalf("stats %+v", s)
				}
				if !strings.Contains(logs.String(), tc.log) {
					t.Errorf("the log does not say %q:\n%s", tc.log, logs.String())
				}
				time.Sleep(200 * time.Millisecond) // ten backoffs: nothing is tried again
				if later := srv.Notifier.Stats(); later != s {
					t.Errorf("stats moved after giving up: %+v, then %+v", s, later)
				}
			})
		}
	})
}

// TestAssignmentMailsOffTheRequest: starting a process for a role of 500 users answers
// before the mail sender gives up on an SMTP server that hangs; the 500 mails are then
// counted as failed, and a full queue drops (and counts) what does not fit.
func TestAssignmentMailsOffTheRequest(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		hang := mailtest.Start(t, mailtest.Hang)
		var logs logBuffer
		srv := servertest.Start(t, dialect, portico.Config{Demo: true, SMTPURL: "smtp://" + hang.Addr + "?from=portal@example.com",
			Logger: slog.New(slog.NewTextHandler(&logs, nil)),
			Notify: notify.Config{Queue: 1, Batch: 250, Workers: 2, Attempts: 2, Backoff: 100 * time.Millisecond, SessionTimeout: 3 * time.Second}})
		sys := policy.SystemContext(context.Background())
		c := srv.DB.Client
		everybody := c.Role.Query().Where(role.Name("Everybody")).OnlyX(sys)
		big := c.Role.Create().SetName("Big").SetParent(everybody).SaveX(sys)
		users := make([]*ent.UserCreate, 500)
		for i := range users {
			users[i] = c.User.Create().SetName(fmt.Sprintf("big%03d", i)).SetEmail(fmt.Sprintf("big%03d@example.com", i)).AddRoles(big)
		}
		c.User.CreateBulk(users...).ExecX(sys)
		if err := srv.Policy.Reload(sys, c); err != nil {
			t.Fatal(err)
		}
		demo := srv.Login(t, "demo", "demo")

		startFor(t, demo, "Big one", "Big")
		if s := srv.Notifier.Stats(); s.Failed != 0 || s.Sent != 0 {
			t.Fatalf("startProcess answered after the sender gave up (stats %+v): the request waited for SMTP", s)
		}
		// While both senders hang, the queue holds one assignment: more are dropped.
		var proc struct {
			CreateExpressProcess struct{ Process struct{ ID string } }
		}
		demo.MustDo(t, `mutation { createExpressProcess(input: {processName: "Small", processPermissions: ["Everybody"],
			taskDefinitions: [{type: "USER_TASK", responsibles: ["Team A"], subject: "Small", taskPosition: 1}]}) { process { id } } }`, nil, &proc)
		for range 4 {
			startProcess(t, demo, proc.CreateExpressProcess.Process.ID)
		}
		if s := srv.Notifier.Stats(); s.Failed != 0 {
			t.Fatalf("the sender gave up before the last request answered: %+v", s)
		}
		s := waitStats(t, srv, "the 500 mails given up", func(s notify.Stats) bool { return s.Failed >= 500 })
		if s.Dropped == 0 || s.Sent != 0 || s.Messages < 500 {
			t.Errorf("stats %+v: want 500 messages failed and assignments dropped from the full queue", s)
		}
		if !strings.Contains(logs.String(), "queue is full") || !strings.Contains(logs.String(), "gave up after 2 attempts") {
			t.Errorf("the log does not tell the drops and the failures:\n%s", logs.String())
		}
		if n := c.Task.Query().Where(task.Name("Review the budget")).CountX(sys); n != 1 {
			t.Errorf("%d tasks for the big role, want 1", n)
		}
	})
}
