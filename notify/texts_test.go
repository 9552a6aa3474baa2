package notify

import (
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/workflow"
)

// TestTexts: every kind has its text in every language of the table; other languages
// read English, a regional one its base language; names are escaped in the body and
// kept on one line in the subject.
func TestTexts(t *testing.T) {
	for lang, kinds := range texts {
		for _, k := range []string{workflow.AssignedNew, workflow.AssignedDelegated, workflow.AssignedExpiring} {
			tx, ok := kinds[k]
			if !ok || tx.Subject == "" || tx.Greeting == "" || tx.Lead == "" || tx.Task == "" || tx.Expires == "" || tx.Footer == "" {
				t.Errorf("%s: the %s text is missing or incomplete", lang, k)
			}
		}
	}
	for in, want := range map[string]string{"de": "de", "de-CH": "de", "fr": "en", "": "en", "EN": "en"} {
		if got := textLanguage(in); got != want {
			t.Errorf("textLanguage(%q) = %q, want %q", in, got, want)
		}
	}
	exp := time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC)
	subject, body := render(workflow.AssignedExpiring, "de-AT", &ent.User{Name: "x"}, &ent.Task{ID: 7, Name: "<b>Pay</b>\r\nBcc: y@z", ExpiryTimestamp: &exp})
	if subject != "Aufgabe läuft bald ab: <b>Pay</b> Bcc: y@z" {
		t.Errorf("subject %q", subject)
	}
	for _, want := range []string{"Hallo x,", "&lt;b&gt;Pay&lt;/b&gt;", "Aufgabe: 7", "Läuft ab: 2030-01-02 03:04 UTC"} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
}
