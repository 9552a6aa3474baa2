package notify

import (
	"fmt"
	"html"
	"strings"

	"github.com/portico-dev/portico/ent"
)

// text is one kind of mail in one language. Subject and Lead take the task's name.
type text struct {
	Subject, Greeting, Lead, Task, Expires, Footer string
}

// texts are the mails by language and kind: the one table of their wording. A language
// missing here reads English (fallbackLanguage).
var texts = map[string]map[string]text{
	"en": {
		"ASSIGNED": {Subject: "New task: %s", Greeting: "Hello %s,", Lead: "the task “%s” was assigned to you or one of your roles.",
			Task: "Task", Expires: "Expires", Footer: "You get this mail because your e-mail notifications are on; turn them off in your profile."},
		"DELEGATED": {Subject: "Task delegated to you: %s", Greeting: "Hello %s,", Lead: "the task “%s” was delegated to you or one of your roles.",
			Task: "Task", Expires: "Expires", Footer: "You get this mail because your e-mail notifications are on; turn them off in your profile."},
		"EXPIRING": {Subject: "Task expires soon: %s", Greeting: "Hello %s,", Lead: "the task “%s”, assigned to you or one of your roles, expires soon.",
			Task: "Task", Expires: "Expires", Footer: "You get this mail because your e-mail notifications are on; turn them off in your profile."},
	},
	"de": {
		"ASSIGNED": {Subject: "Neue Aufgabe: %s", Greeting: "Hallo %s,", Lead: "die Aufgabe „%s“ wurde Ihnen oder einer Ihrer Rollen zugewiesen.",
			Task: "Aufgabe", Expires: "Läuft ab", Footer: "Sie erhalten diese E-Mail, weil Ihre E-Mail-Benachrichtigungen eingeschaltet sind; Sie können sie in Ihrem Profil ausschalten."},
		"DELEGATED": {Subject: "Aufgabe an Sie delegiert: %s", Greeting: "Hallo %s,", Lead: "die Aufgabe „%s“ wurde an Sie oder eine Ihrer Rollen delegiert.",
			Task: "Aufgabe", Expires: "Läuft ab", Footer: "Sie erhalten diese E-Mail, weil Ihre E-Mail-Benachrichtigungen eingeschaltet sind; Sie können sie in Ihrem Profil ausschalten."},
		"EXPIRING": {Subject: "Aufgabe läuft bald ab: %s", Greeting: "Hallo %s,", Lead: "die Aufgabe „%s“, die Ihnen oder einer Ihrer Rollen zugewiesen ist, läuft bald ab.",
			Task: "Aufgabe", Expires: "Läuft ab", Footer: "Sie erhalten diese E-Mail, weil Ihre E-Mail-Benachrichtigungen eingeschaltet sind; Sie können sie in Ihrem Profil ausschalten."},
	},
}

const fallbackLanguage = "en"

// textLanguage returns the language of texts a user of language lang reads: lang, else
// its base language (de for de-CH), else English.
func textLanguage(lang string) string {
	for _, l := range []string{lang, strings.SplitN(lang, "-", 2)[0]} {
		if _, ok := texts[strings.ToLower(l)]; ok {
			return strings.ToLower(l)
		}
	}
	return fallbackLanguage
}

// render returns the subject and HTML body of a mail of kind about t for u in lang.
func render(kind, lang string, u *ent.User, t *ent.Task) (subject, body string) {
	tx, ok := texts[textLanguage(lang)][kind]
	if !ok {
		tx = texts[fallbackLanguage]["ASSIGNED"]
	}
	name := u.FullName
	if name == "" {
		name = u.Name
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<p>%s</p>\r\n<p>%s</p>\r\n<p>%s: %d", html.EscapeString(fmt.Sprintf(tx.Greeting, name)),
		html.EscapeString(fmt.Sprintf(tx.Lead, t.Name)), tx.Task, t.ID)
	if t.ExpiryTimestamp != nil {
		fmt.Fprintf(&b, "<br>\r\n%s: %s", tx.Expires, t.ExpiryTimestamp.UTC().Format("2006-01-02 15:04 UTC"))
	}
	fmt.Fprintf(&b, "</p>\r\n<p><small>%s</small></p>", html.EscapeString(tx.Footer))
	// The subject is one header line: no line breaks from the task's name.
	subject = strings.Join(strings.Fields(fmt.Sprintf(tx.Subject, t.Name)), " ")
	return subject, b.String()
}
