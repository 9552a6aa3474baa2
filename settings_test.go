package portico_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico"
	"github.com/portico-dev/portico/ent/user"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/servertest"
)

type variableOut struct {
	Name, Kind, Value, Default string
	UpdatedAt                  *string
}

func variableValue(t *testing.T, c *servertest.Client, name string) variableOut {
	t.Helper()
	var out struct{ Variables []variableOut }
	c.MustDo(t, `{ variables { name kind value default updatedAt } }`, nil, &out)
	for _, v := range out.Variables {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no variable %s in %+v", name, out.Variables)
	return variableOut{}
}

func wantErr(t *testing.T, r *servertest.Response, code string, contains ...string) {
	t.Helper()
	if r.Code() != code {
		t.Fatalf("code %q, want %s: %+v", r.Code(), code, r.Errors)
	}
	for _, s := range contains {
		if !strings.Contains(r.Errors[0].Message, s) {
			t.Errorf("error %q does not mention %q", r.Errors[0].Message, s)
		}
	}
}

func TestVariables(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		admin, demo := srv.Login(t, "admin", "admin"), srv.Login(t, "demo", "demo")
		set := `mutation($n: String!, $v: String!) { setVariable(input: {name: $n, value: $v}) { variable { name value updatedAt } } }`

		v := variableValue(t, admin, "PortalStartTimeCleanObsoletedUserData")
		if v.Value != "0 0 6 * * ?" || v.Kind != "PLAIN" || v.UpdatedAt != nil {
			t.Fatalf("default cron variable: %+v", v)
		}
		wantErr(t, demo.Do(t, `{ variables { name } }`, nil), "FORBIDDEN", "RoleManagement")
		wantErr(t, demo.Do(t, set, map[string]any{"n": "PortalLoginPageDisplay", "v": "false"}), "FORBIDDEN")

		admin.MustDo(t, set, map[string]any{"n": "PortalStartTimeCleanObsoletedUserData", "v": "0 30 2 * * ?"}, nil)
		if v := variableValue(t, admin, "PortalStartTimeCleanObsoletedUserData"); v.Value != "0 30 2 * * ?" || v.UpdatedAt == nil {
			t.Fatalf("after set: %+v", v)
		}

		// Bad values are refused with a message that says what would do, and change nothing.
		for _, bad := range []struct{ name, value, says string }{
			{"PortalStartTimeCleanObsoletedUserData", "every day", "seconds first"},
			{"PortalLoginPageDisplay", "yes", "true or false"},
			{"Portal.SupportedLanguages", "en, de", "without spaces"},
			{"Portal.NoSuchThing", "1", "unknown variable"},
			{"Portal.StatisticCharts", "[{\"id\": \"a\",\n \"type\": \"PIE\"}]", "TASK_BY_PRIORITY"},
			{"Portal.StatisticCharts", "[{\"id\": \"a\",\n \"typo\": 1}]", "line 2, column"},
			{"Portal.Announcement", "{\"contents\": [{\"language\": \"en\", \"value\": 3}], \"enabled\": true}", "line 1, column"},
			{"Portal.Announcement", "{\"contents\": [", "line 1, column 15"},
			{"Portal.ThirdPartyApplications", `[{"id": "x", "displayName": "{\"en\": 3}"}]`, "displayName"},
			{"Portal.Dashboard.FavoriteProcesses", `[{"id": "x", "processType": "SCRIPT"}]`, "EXPRESS_PROCESS"},
		} {
			var before variableOut
			if bad.says != "unknown variable" {
				before = variableValue(t, admin, bad.name)
			}
			wantErr(t, admin.Do(t, set, map[string]any{"n": bad.name, "v": bad.value}), "BAD_USER_INPUT", bad.says)
			if bad.says == "unknown variable" {
				continue
			}
			if after := variableValue(t, admin, bad.name); after.Value != before.Value {
				t.Errorf("%s changed by a refused value: %q -> %q", bad.name, before.Value, after.Value)
			}
		}

		// JSON values in the seed's models are accepted and kept compact.
		admin.MustDo(t, set, map[string]any{"n": "Portal.ThirdPartyApplications", "v": `[{"id": "284352a5", "displayName": "{\"de\":\"AxonIvy ger\",\"en\":\"AxonIvy\"}",
			"menuIcon": "fa-group", "menuOrdinal": 1, "name": "{\"en\":\"AxonIvy\"}", "link": "https://example.com"}]`}, nil)
		if v := variableValue(t, admin, "Portal.ThirdPartyApplications"); !strings.HasPrefix(v.Value, `[{"id":"284352a5"`) {
			t.Errorf("stored third-party applications: %s", v.Value)
		}
		// An empty value returns a variable to its default.
		admin.MustDo(t, set, map[string]any{"n": "PortalStartTimeCleanObsoletedUserData", "v": ""}, nil)
		if v := variableValue(t, admin, "PortalStartTimeCleanObsoletedUserData"); v.Value != "0 0 6 * * ?" || v.UpdatedAt != nil {
			t.Fatalf("after reset: %+v", v)
		}
	})
}

func TestImportVariables(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		admin := srv.Login(t, "admin", "admin")
		imp := `mutation($y: String!) { importVariables(input: {yaml: $y}) { variables { name value } } }`
		var out struct {
			ImportVariables struct{ Variables []variableOut }
		}
		admin.MustDo(t, imp, map[string]any{"y": `Variables:
  PortalDeleteAllFinishedHiddenCases: true
  Portal:
    DefaultLanguage: de
    Announcement:
      contents:
        - language: en
          value: Downtime on Sunday
      enabled: true
`}, &out)
		if len(out.ImportVariables.Variables) != 3 {
			t.Fatalf("imported %+v", out.ImportVariables.Variables)
		}
		if v := variableValue(t, admin, "Portal.Announcement"); v.Value != `{"contents":[{"language":"en","value":"Downtime on Sunday"}],"enabled":true}` {
			t.Errorf("announcement from YAML: %s", v.Value)
		}
		// One broken variable: nothing of the file is set, and the error names it.
		wantErr(t, admin.Do(t, imp, map[string]any{"y": "PortalLoginPageDisplay: false\nPortalStartTimeCleanObsoletedUserData: often\n"}),
			"BAD_USER_INPUT", "PortalStartTimeCleanObsoletedUserData")
		if v := variableValue(t, admin, "PortalLoginPageDisplay"); v.Value != "true" {
			t.Errorf("a refused file set PortalLoginPageDisplay to %s", v.Value)
		}
		wantErr(t, admin.Do(t, imp, map[string]any{"y": "Variables:\n  a: [1,\n"}), "BAD_USER_INPUT", "variables.yaml")
	})
}

func TestAnnouncement(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		ctx := policy.SystemContext(context.Background())
		srv.DB.Client.User.Update().Where(user.Name("alice")).SetLanguage("de").ExecX(ctx)
		srv.DB.Client.User.Update().Where(user.Name("bob")).SetLanguage("xx").ExecX(ctx)
		admin, alice, bob := srv.Login(t, "admin", "admin"), srv.Login(t, "alice", "alice"), srv.Login(t, "bob", "bob")
		read := `{ announcement { enabled value contents { language value } } }`
		var out struct {
			Announcement struct {
				Enabled  bool
				Value    string
				Contents []struct{ Language, Value string }
			}
		}
		alice.MustDo(t, read, nil, &out)
		if out.Announcement.Enabled || out.Announcement.Value != "" {
			t.Fatalf("initial announcement %+v", out.Announcement)
		}
		sub := subscribe(t, srv, alice.Token, `subscription { announcementChanged { enabled value } }`)
		setA := `mutation($c: [LocalizedValueInput!]!, $e: Boolean!) { setAnnouncement(input: {contents: $c, enabled: $e}) { announcement { enabled value } } }`
		contents := []map[string]any{{"language": "en", "value": "Downtime on Sunday"}, {"language": "de", "value": "Wartung am Sonntag"}}
		wantErr(t, alice.Do(t, setA, map[string]any{"c": contents, "e": true}), "FORBIDDEN")
		wantErr(t, admin.Do(t, setA, map[string]any{"c": []map[string]any{{"language": "", "value": "x"}}, "e": true}), "BAD_USER_INPUT", "language")
		admin.MustDo(t, setA, map[string]any{"c": contents, "e": true}, nil)

		for _, c := range []struct {
			who  *servertest.Client
			want string
		}{{alice, "Wartung am Sonntag"}, {bob, "Downtime on Sunday"}, {admin, "Downtime on Sunday"}} {
			c.who.MustDo(t, read, nil, &out)
			if !out.Announcement.Enabled || out.Announcement.Value != c.want || len(out.Announcement.Contents) != 2 {
				t.Errorf("announcement as seen: %+v, want %q", out.Announcement, c.want)
			}
		}
		if m := sub.next(); m.Payload.Data.AnnouncementChanged == nil || m.Payload.Data.AnnouncementChanged.Value != "Wartung am Sonntag" {
			t.Fatalf("announcementChanged: %+v", m)
		}
		// A change of another variable sends nothing; the next announcement change does.
		admin.MustDo(t, `mutation { setVariable(input: {name: "PortalLoginPageDisplay", value: "false"}) { variable { name } } }`, nil, nil)
		admin.MustDo(t, setA, map[string]any{"c": contents, "e": false}, nil)
		if m := sub.next(); m.Payload.Data.AnnouncementChanged == nil || m.Payload.Data.AnnouncementChanged.Enabled {
			t.Fatalf("announcementChanged after disabling: %+v", m)
		}
	})
}

func TestAnnouncementReachesEveryServer(t *testing.T) {
	url := servertest.DatabaseURL(t, "postgres")
	a := servertest.Start(t, "postgres", portico.Config{DatabaseURL: url, Demo: true})
	b := servertest.Start(t, "postgres", portico.Config{DatabaseURL: url})
	sub := subscribe(t, b, b.Login(t, "bob", "bob").Token, `subscription { announcementChanged { enabled value } }`)
	bob := b.Login(t, "bob", "bob")
	var before struct{ Announcement struct{ Value string } }
	bob.MustDo(t, `{ announcement { value } }`, nil, &before) // fills b's cache
	a.Login(t, "admin", "admin").MustDo(t, `mutation { setAnnouncement(input: {contents: [{language: "en", value: "from a"}], enabled: true}) { announcement { value } } }`, nil, nil)
	if m := sub.next(); m.Payload.Data.AnnouncementChanged == nil || m.Payload.Data.AnnouncementChanged.Value != "from a" {
		t.Fatalf("subscriber on b got %+v", m)
	}
	// b's cached settings were refreshed too.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var out struct{ Announcement struct{ Value string } }
		bob.MustDo(t, `{ announcement { value } }`, nil, &out)
		if out.Announcement.Value == "from a" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("b still serves %q", out.Announcement.Value)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestPasswordValidation(t *testing.T) {
	servertest.EachDialect(t, func(t *testing.T, dialect string) {
		srv := servertest.Start(t, dialect, portico.Config{Demo: true})
		admin := srv.Login(t, "admin", "admin")
		create := `mutation($n: String!, $p: String!) { createUser(input: {name: $n, password: $p}) { user { id } } }`
		wantErr(t, admin.Do(t, create, map[string]any{"n": "pv1", "p": "short"}), "BAD_USER_INPUT", "at least 8 characters (it has 5)")
		wantErr(t, admin.Do(t, create, map[string]any{"n": "pv1", "p": "my-pv1-password"}), "BAD_USER_INPUT", "no copy of the user name")
		admin.MustDo(t, create, map[string]any{"n": "pv1", "p": "long enough"}, nil)

		// PasswordValidation alone opens the rules, and only them.
		var u struct {
			CreateUser struct{ User struct{ ID string } }
		}
		admin.MustDo(t, create, map[string]any{"n": "pv-admin", "p": "pw-secret-1"}, &u)
		admin.MustDo(t, `mutation($u: ID!) { grantPermission(input: {permission: "PasswordValidation", userId: $u}) { ok } }`,
			map[string]any{"u": u.CreateUser.User.ID}, nil)
		pv := srv.Login(t, "pv-admin", "pw-secret-1")
		set := `mutation($n: String!, $v: String!) { setVariable(input: {name: $n, value: $v}) { variable { value } } }`
		wantErr(t, pv.Do(t, set, map[string]any{"n": "PortalLoginPageDisplay", "v": "false"}), "FORBIDDEN")
		wantErr(t, pv.Do(t, set, map[string]any{"n": "Portal.PasswordValidation", "v": `{"minLength": 0}`}), "BAD_USER_INPUT", "minLength")
		pv.MustDo(t, set, map[string]any{"n": "Portal.PasswordValidation",
			"v": `{"minLength": 10, "requireDigit": true, "requireUppercase": true, "requireSpecialCharacter": true, "notContainUsername": true}`}, nil)
		wantErr(t, admin.Do(t, create, map[string]any{"n": "pv2", "p": "long enuf"}), "BAD_USER_INPUT",
			"at least 10 characters", "an uppercase letter", "a digit")
		admin.MustDo(t, create, map[string]any{"n": "pv2", "p": "Long enough 2"}, nil)
		wantErr(t, admin.Do(t, `mutation($id: ID!) { updateUser(input: {id: $id, password: "nodigitsHERE!"}) { user { id } } }`,
			map[string]any{"id": u.CreateUser.User.ID}), "BAD_USER_INPUT", "a digit")
	})
}
