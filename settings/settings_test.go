package settings

import (
	"strings"
	"testing"
)

func TestDecodeStrictSaysWhere(t *testing.T) {
	for _, tt := range []struct{ text, want string }{
		{"{\"contents\": [],\n \"enabled\": tru}", "line 2, column"},
		{"{\"contents\": [],\n \"enable\": true}", "unknown field \"enable\""},
		{"{\"contents\": 3, \"enabled\": true}", "field contents must be"},
		{"{\"contents\": [], \"enabled\": true} {}", "after the JSON value"},
		{"{\"contents\": [", "ends too early"},
	} {
		err := checkAnnouncement(tt.text)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want it to say %q", tt.text, err, tt.want)
		}
	}
	if err := checkAnnouncement(`{"contents":[{"language":"en","value":"x"}],"enabled":true}`); err != nil {
		t.Errorf("the seed's model: %v", err)
	}
}

func TestDefaultsAreValid(t *testing.T) {
	for _, d := range Definitions {
		if err := d.Check(d.Default); err != nil {
			t.Errorf("%s: default refused: %v", d.Name, err)
		}
	}
}

func TestQuartzCron(t *testing.T) {
	for expr, ok := range map[string]bool{"0 0 6 * * ?": true, "0 30 2 ? * MON-FRI": true, "0 0 6 * *": false, "every day": false} {
		if _, err := ParseCron(expr); (err == nil) != ok {
			t.Errorf("%q: %v, want ok %v", expr, err, ok)
		}
	}
}

func TestPick(t *testing.T) {
	texts := []LocalizedValue{{"en", "Hello"}, {"de", "Hallo"}, {"fr", "Bonjour"}}
	for _, tt := range []struct{ lang, fallback, want string }{
		{"de", "en", "Hallo"}, {"de-CH", "en", "Hallo"}, {"it", "fr", "Bonjour"}, {"it", "es", "Hello"},
	} {
		if got := Pick(texts, tt.lang, tt.fallback); got != tt.want {
			t.Errorf("Pick(%s, %s) = %q, want %q", tt.lang, tt.fallback, got, tt.want)
		}
	}
}

func TestPasswordProblems(t *testing.T) {
	r := PasswordValidation{MinLength: 8, RequireDigit: true, RequireUppercase: true, NotContainUsername: true}
	if p := r.Problems("alice", "Alice2024!"); len(p) != 1 || p[0] != "no copy of the user name" {
		t.Errorf("problems %v", p)
	}
	if p := r.Problems("bob", "Secret-2024"); len(p) != 0 {
		t.Errorf("a good password has problems %v", p)
	}
}

// TestDefaultPasswordRulesRefuseWeakOnes: the default rules refuse the passwords an
// attacker tries first, also when they are long enough, and keep accepting fair ones.
func TestDefaultPasswordRulesRefuseWeakOnes(t *testing.T) {
	var r PasswordValidation
	if err := decodeStrict(defaultPasswordRules, &r); err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{"password", "Password", "PASSWORD1", "12345678", "qwertyuiop", "iloveyou", "aaaaaaaaaa", "demo", "short"} {
		if p := r.Problems("someone", pw); len(p) == 0 {
			t.Errorf("default rules accept %q", pw)
		}
	}
	for _, pw := range []string{"correct horse", "Tr0ub4dor&3", "files-secret"} {
		if p := r.Problems("someone", pw); len(p) != 0 {
			t.Errorf("default rules refuse %q: %v", pw, p)
		}
	}
}
