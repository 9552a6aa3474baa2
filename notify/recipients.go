package notify

import (
	"context"
	"fmt"
	"net/mail"
	"slices"
	"strconv"

	"github.com/portico-dev/portico/ent/task"
	"github.com/portico-dev/portico/ent/user"
	"github.com/portico-dev/portico/listindex"
	pmail "github.com/portico-dev/portico/mail"
	"github.com/portico-dev/portico/policy"
	"github.com/portico-dev/portico/settings"
)

// EmailChannel is the notification channel (settings.Channels) of these mails.
const EmailChannel = "email"

// userBatch bounds the ids of one users query.
const userBatch = 500

// Headers of every notification mail: RFC 3834's Auto-Submitted (no auto-replies), and
// what it is about.
const (
	headerKind = "X-Portico-Notification"
	headerTask = "X-Portico-Task"
)

// messages is the one rule of who gets which mail about an assignment, and in which
// language. For each task (read as it is now, after the commit):
//
//   - nothing while it is DELAYED (hidden from its responsibles until due) or once it
//     ended (DONE, FAILED, DESTROYED: nothing left to do);
//   - its current responsibles (not the expiry ones): the users named, and the members
//     of the roles named (policy.UsersOfRoles: directly, through a descendant role or a
//     member link), each once;
//   - who may see it: a system task only with SystemTaskReadAll, a hidden task nobody
//     while PortalHiddenTaskCaseExcluded is on (Subject.SeesTask, the visibility rule
//     the live notifications apply too);
//   - enabled users with a well-formed e-mail address whose email channel is on
//     (settings.ChannelOn: on unless the user turned it off in mySettings);
//   - in the user's language: its own setting when the application supports it, else
//     the application's default language (settings.Language, seed 001's precedence);
//     texts in a language texts.go lacks are English.
//
// The substitutes of an absent responsible get no mail for it: absences are out of this
// rule for now.
func (n *Notifier) messages(ctx context.Context, kind string, taskIDs []int) ([]pmail.Message, error) {
	ctx = policy.Elevate(ctx, policy.NotifyAssignment)
	tasks, err := n.client.Task.Query().Where(task.IDIn(taskIDs...)).WithResponsibles().Order(task.ByID()).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("read tasks %v: %w", taskIDs, err)
	}
	langs := map[string]string{} // own setting -> language
	var out []pmail.Message
	for _, t := range tasks {
		switch t.State {
		case task.StateDELAYED, task.StateDONE, task.StateFAILED, task.StateDESTROYED:
			continue
		}
		reach := listindex.TaskReach{ID: t.ID, System: t.System, Hidden: t.Hidden}
		for _, r := range t.Edges.Responsibles {
			switch {
			case r.Expiry:
			case r.UserID != nil:
				reach.Users = append(reach.Users, *r.UserID)
			case r.RoleID != nil:
				reach.Roles = append(reach.Roles, *r.RoleID)
			}
		}
		members, err := n.policy.UsersOfRoles(reach.Roles)
		if err != nil {
			return nil, err
		}
		ids := append(members, reach.Users...)
		slices.Sort(ids)
		ids = slices.Compact(ids)
		for chunk := range slices.Chunk(ids, userBatch) {
			users, err := n.client.User.Query().Where(user.IDIn(chunk...), user.Disabled(false)).Order(user.ByID()).All(ctx)
			if err != nil {
				return nil, fmt.Errorf("read the users of task %d: %w", t.ID, err)
			}
			for _, u := range users {
				to, err := mail.ParseAddress(u.Email)
				if err != nil || !settings.ChannelOn(u.NotificationChannels, EmailChannel) {
					continue
				}
				// A responsible sees an ordinary task through the very responsible that
				// names it; only the system and hidden flags can take it out of sight.
				if t.System || t.Hidden {
					sub, err := n.policy.Subject(u.ID)
					if err != nil {
						return nil, err
					}
					if !sub.SeesTask(nil, reach) {
						continue
					}
				}
				lang, ok := langs[u.Language]
				if !ok {
					if lang, err = n.settings.Language(ctx, u.Language); err != nil {
						return nil, fmt.Errorf("language of user %d: %w", u.ID, err)
					}
					langs[u.Language] = lang
				}
				subject, body := render(kind, lang, u, t)
				out = append(out, pmail.Message{To: to.Address, Subject: subject, HTML: body, Headers: map[string]string{
					"Auto-Submitted": "auto-generated", headerKind: kind, headerTask: strconv.Itoa(t.ID),
					"Content-Language": textLanguage(lang)}})
			}
		}
	}
	return out, nil
}
