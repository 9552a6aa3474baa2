package directory

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/auth"
	"github.com/portico-dev/portico/database"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/passwordreset"
	"github.com/portico-dev/portico/ent/user"
	"github.com/portico-dev/portico/policy"
)

// The rules of a user's own password: changing it with the current one, and "forgot my
// password" (a reset token mailed to the user). One home for both; the GraphQL
// resolvers only call these.

// Accounts are the parts of package auth a password change needs: the current password
// checked under the login throttle, and a fresh token.
type Accounts interface {
	VerifyPassword(ctx context.Context, id int, name, password, addr string) error
	Issue(id, version int) (string, time.Time, error)
}

// Mailer sends one HTML message (package mail's Sender).
type Mailer interface {
	Send(ctx context.Context, to []string, replyTo, subject, html string) error
}

// Reset defaults and limits.
const (
	DefaultResetTTL = 30 * time.Minute
	// resetsPerHour bounds the reset mails per user and per mailbox in an hour.
	resetsPerHour = 3
	// resetRequestsPerAddr requests an hour from one client address, any names.
	resetRequestsPerAddr = 10
	// resetQueue is how many reset requests wait for the worker before more are dropped.
	resetQueue = 256
	// maxResetName is the longest usernameOrEmail looked up (users' names and e-mail
	// addresses are at most 200 and 500 characters).
	maxResetName = 500
	// resetTokenBytes of randomness per token: 256 bits, 43 characters of base64url.
	resetTokenBytes = 32
)

// Resets configures "forgot my password".
type Resets struct {
	// TTL is how long a reset token works (DefaultResetTTL when zero).
	TTL time.Duration
	// URL, when set, is the page of the reset form: the mail links to it with the token
	// as its token parameter. Without it the mail carries the token alone.
	URL string
	// Mailer sends the mails; without it requests are logged and nothing is sent.
	Mailer Mailer
	// throttle counts requests per client address (every request, any name).
	throttle *auth.Throttle
	queue    chan string
	now      func() time.Time
}

// ChangePassword sets the viewer's own password after checking the current one (under
// the login throttle), ends the viewer's other sessions and pending reset tokens, and
// returns a fresh token for the caller.
func (d *Directory) ChangePassword(ctx context.Context, current, next string) (string, time.Time, *ent.User, error) {
	v := auth.FromContext(ctx)
	if v == nil {
		if err := auth.TokenError(ctx); err != nil {
			return "", time.Time{}, nil, err
		}
		return "", time.Time{}, nil, apperr.Unauthenticated()
	}
	if err := passwordLength("newPassword", next); err != nil {
		return "", time.Time{}, nil, err
	}
	if err := d.Accounts.VerifyPassword(ctx, v.UserID, v.Name, current, auth.ClientAddrFrom(ctx)); err != nil {
		return "", time.Time{}, nil, err
	}
	if next == current {
		return "", time.Time{}, nil, apperr.BadInput("the new password is the current one; choose another").WithExtension("field", "newPassword")
	}
	if err := d.checkPassword(ctx, v.Name, next); err != nil {
		return "", time.Time{}, nil, err
	}
	hash, err := hashBeforeWriting(&next)
	if err != nil {
		return "", time.Time{}, nil, err
	}
	var u *ent.User
	err = database.InTx(ctx, d.client, func(ctx context.Context, tx *ent.Tx) error {
		c := tx.Client()
		// The viewer's own row: the write rule of User allows it.
		if u, err = c.User.UpdateOneID(v.UserID).SetPasswordHash(hash).AddTokenVersion(1).Save(ctx); err != nil {
			return fmt.Errorf("change password of user %d: %w", v.UserID, err)
		}
		d.sessionsEnded(ctx, u.ID)
		return d.voidResets(ctx, c, u.ID)
	})
	if err != nil {
		return "", time.Time{}, nil, err
	}
	token, exp, err := d.Accounts.Issue(u.ID, u.TokenVersion)
	if err != nil {
		return "", time.Time{}, nil, err
	}
	return token, exp, u, nil
}

// RequestPasswordReset takes a "forgot my password" request for a user name or e-mail
// address. Its answer never depends on whether the user exists: beyond the size of the
// input and the throttle of the client address (the same for any name), it only queues
// the name; the worker (StartResets) looks the user up, stores a token and mails it.
func (d *Directory) RequestPasswordReset(ctx context.Context, nameOrEmail string) error {
	name := strings.TrimSpace(nameOrEmail)
	if name == "" {
		return apperr.BadInput("usernameOrEmail is empty; give your user name or e-mail address").WithExtension("field", "usernameOrEmail")
	}
	if len(name) > maxResetName {
		return apperr.BadInput("usernameOrEmail is %d characters long; at most %d are allowed", len(name), maxResetName).WithExtension("field", "usernameOrEmail")
	}
	r := &d.Resets
	addr := auth.ClientAddrFrom(ctx)
	if ok, wait := r.throttle.Allowed("", addr); !ok {
		return apperr.Forbidden("too many password reset requests from your address; try again in %d s", int(wait.Seconds())+1).
			WithExtension("retryAfterSeconds", int(wait.Seconds())+1)
	}
	r.throttle.Failed("", addr)
	select {
	case r.queue <- name:
	default:
		d.log.Warn("password reset request dropped: the queue is full or the worker is not running")
	}
	return nil
}

// StartResets starts the worker handling reset requests until ctx ends.
func (d *Directory) StartResets(ctx context.Context) {
	r := &d.Resets
	if r.TTL <= 0 {
		r.TTL = DefaultResetTTL
	}
	q := make(chan string, resetQueue)
	r.queue = q
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case name := <-q:
				d.handleReset(ctx, name)
			}
		}
	}()
}

// handleReset finds the user of a request, and unless it is throttled stores a new token
// and mails it once stored.
func (d *Directory) handleReset(ctx context.Context, name string) {
	r := &d.Resets
	ectx := policy.Elevate(ctx, policy.RequestPasswordReset)
	u, err := d.client.User.Query().Where(user.Name(name), user.Disabled(false)).Only(ectx)
	if ent.IsNotFound(err) && strings.Contains(name, "@") {
		// An address names a user only when exactly one enabled user has it.
		u, err = d.client.User.Query().Where(user.EmailEqualFold(name), user.Disabled(false)).Only(ectx)
	}
	if ent.IsNotFound(err) || ent.IsNotSingular(err) {
		d.log.Info("password reset requested for no single enabled user; nothing sent")
		return
	}
	if err != nil {
		d.log.Error("password reset: look up the user", "err", err)
		return
	}
	to := ""
	if a, err := mail.ParseAddress(u.Email); err == nil {
		to = strings.ToLower(a.Address)
	}
	if to == "" {
		d.log.Info("password reset requested for a user without an e-mail address; nothing sent", "user", u.ID)
		return
	}
	if r.Mailer == nil {
		d.log.Info("password reset requested, but no SMTP server is configured (--smtp-url); nothing sent", "user", u.ID)
		return
	}
	now := r.clock()
	since := now.Add(-time.Hour)
	for _, q := range []*ent.PasswordResetQuery{
		d.client.PasswordReset.Query().Where(passwordreset.UserID(u.ID), passwordreset.CreatedAtGT(since)),
		d.client.PasswordReset.Query().Where(passwordreset.SentTo(to), passwordreset.CreatedAtGT(since)),
	} {
		n, err := q.Count(ectx)
		if err != nil {
			d.log.Error("password reset: count recent requests", "err", err)
			return
		}
		if n >= resetsPerHour {
			d.log.Info("password reset throttled: enough mails sent to this user or mailbox in the last hour", "user", u.ID)
			return
		}
	}
	token, hash, err := newResetToken()
	if err != nil {
		d.log.Error("password reset: make a token", "err", err)
		return
	}
	err = database.InTx(ectx, d.client, func(ctx context.Context, tx *ent.Tx) error {
		return tx.PasswordReset.Create().SetTokenHash(hash).SetUserID(u.ID).SetSentTo(to).
			SetCreatedAt(now).SetExpiresAt(now.Add(r.TTL)).Exec(ctx)
	})
	if err != nil {
		d.log.Error("password reset: store the token", "user", u.ID, "err", err)
		return
	}
	// Committed: send (without holding up the next request).
	subject, body := resetMail(u, token, r.URL, r.TTL)
	go func() {
		sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := r.Mailer.Send(sendCtx, []string{to}, "", subject, body); err != nil {
			d.log.Error("password reset mail not sent", "user", u.ID, "err", err)
			return
		}
		d.log.Info("password reset mail sent", "user", u.ID)
	}()
}

// ResetPassword sets a new password with a reset token: it consumes the token (one use;
// of two concurrent uses one wins), voids the user's other tokens and ends its sessions.
func (d *Directory) ResetPassword(ctx context.Context, token, next string) error {
	if err := passwordLength("newPassword", next); err != nil {
		return err
	}
	hash, err := hashBeforeWriting(&next) // before the first statement (and for a bad token alike)
	if err != nil {
		return err
	}
	th, ok := resetTokenHash(token)
	if !ok {
		return badResetToken()
	}
	now := d.Resets.clock()
	return database.InTx(ctx, d.client, func(txCtx context.Context, tx *ent.Tx) error {
		ectx := policy.Elevate(txCtx, policy.ResetPassword)
		c := tx.Client()
		r, err := c.PasswordReset.Query().Where(passwordreset.TokenHash(th)).WithUser().Only(ectx)
		if ent.IsNotFound(err) {
			return badResetToken()
		}
		if err != nil {
			return fmt.Errorf("find reset token: %w", err)
		}
		u := r.Edges.User
		if r.UsedAt != nil || !now.Before(r.ExpiresAt) || u == nil || u.Disabled {
			return badResetToken()
		}
		if err := d.checkPassword(txCtx, u.Name, next); err != nil {
			return err
		}
		// Consume the token only if nobody did meanwhile: on PostgreSQL a concurrent use
		// waits for this row and then finds used_at set; SQLite runs writers one by one.
		n, err := c.PasswordReset.Update().
			Where(passwordreset.ID(r.ID), passwordreset.UsedAtIsNil(), passwordreset.ExpiresAtGT(now)).
			SetUsedAt(now).Save(ectx)
		if err != nil {
			return fmt.Errorf("consume reset token: %w", err)
		}
		if n == 0 {
			return badResetToken()
		}
		if err := c.User.UpdateOneID(u.ID).SetPasswordHash(hash).AddTokenVersion(1).Exec(ectx); err != nil {
			return fmt.Errorf("reset password of user %d: %w", u.ID, err)
		}
		d.sessionsEnded(txCtx, u.ID)
		return d.voidResets(txCtx, c, u.ID)
	})
}

// voidResets marks the user's unused reset tokens used: its password just changed.
func (d *Directory) voidResets(ctx context.Context, c *ent.Client, id int) error {
	_, err := c.PasswordReset.Update().Where(passwordreset.UserID(id), passwordreset.UsedAtIsNil()).
		SetUsedAt(d.Resets.clock()).Save(policy.Elevate(ctx, policy.ResetPassword))
	if err != nil {
		return fmt.Errorf("void reset tokens of user %d: %w", id, err)
	}
	return nil
}

// sessionsEnded announces, once the transaction of ctx commits, that user id's token
// version moved on (see endSessions).
func (d *Directory) sessionsEnded(ctx context.Context, id int) {
	if tx := ent.TxFromContext(ctx); tx != nil && d.SessionsEnded != nil {
		database.AfterCommit(tx, func() { d.SessionsEnded(ctx, []int{id}) })
	}
}

func (r *Resets) clock() time.Time {
	if r.now != nil {
		return r.now()
	}
	return time.Now().UTC()
}

func passwordLength(field, p string) error {
	if p == "" || len(p) > auth.MaxPasswordLength {
		return apperr.BadInput("the password must be 1 to %d bytes long", auth.MaxPasswordLength).WithExtension("field", field)
	}
	return nil
}

func badResetToken() error {
	return apperr.BadInput("this password reset token is unknown, expired or already used; request a new one with \"forgot my password\"").
		WithExtension("field", "token")
}

// newResetToken returns a random token and the hash stored for it.
func newResetToken() (token, hash string, err error) {
	b := make([]byte, resetTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	h, _ := resetTokenHash(token)
	return token, h, nil
}

// resetTokenHash returns the stored hash of a token, and false for anything that is no
// token's shape (so a hostile string never reaches the database, not even bound).
func resetTokenHash(token string) (string, bool) {
	token = strings.TrimSpace(token)
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) != resetTokenBytes {
		return "", false
	}
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:]), true
}

// resetMail is the subject and HTML body of a reset mail.
func resetMail(u *ent.User, token, page string, ttl time.Duration) (string, string) {
	who := u.FullName
	if who == "" {
		who = u.Name
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<p>Hello %s,</p>\n<p>someone, hopefully you, asked to reset the Portico password of the user <b>%s</b>.</p>\n",
		html.EscapeString(who), html.EscapeString(u.Name))
	if page != "" {
		link := page + "?token=" + url.QueryEscape(token)
		if strings.Contains(page, "?") {
			link = page + "&token=" + url.QueryEscape(token)
		}
		fmt.Fprintf(&b, "<p><a href=\"%s\">Choose a new password</a> within %s.</p>\n", html.EscapeString(link), ttlWords(ttl))
		fmt.Fprintf(&b, "<p>Or enter this reset token: <code>%s</code></p>\n", token)
	} else {
		fmt.Fprintf(&b, "<p>Enter this reset token to choose a new password within %s:</p>\n<p><code>%s</code></p>\n", ttlWords(ttl), token)
	}
	b.WriteString("<p>The token works once. If you did not ask for it, ignore this mail: your password stays as it is.</p>\n")
	return "Reset your Portico password", b.String()
}

func ttlWords(d time.Duration) string {
	if d == time.Hour {
		return "1 hour"
	}
	if d%time.Hour == 0 && d > time.Hour {
		return fmt.Sprintf("%d hours", int(d.Hours()))
	}
	return fmt.Sprintf("%d minutes", int(d.Round(time.Minute).Minutes()))
}
