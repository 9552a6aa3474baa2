package auth

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/user"
)

// Service logs users in and turns bearer tokens back into viewers.
type Service struct {
	client   *ent.Client
	drv      dialect.Driver // the client's, for the two hand-written reads
	tokens   *Tokens
	throttle *Throttle
	sessions sessions
}

// NewService returns the auth service over the database (its ent client and that
// client's driver) with the given token issuer.
func NewService(client *ent.Client, drv dialect.Driver, tokens *Tokens) *Service {
	return &Service{client: client, drv: drv, tokens: tokens, throttle: NewThrottle(),
		sessions: sessions{byUser: map[int]map[*session]struct{}{}}}
}

// Login checks a user name and password from a client address and returns a token.
func (s *Service) Login(ctx context.Context, name, password, addr string) (string, time.Time, *ent.User, error) {
	if ok, wait := s.throttle.Allowed(name, addr); !ok {
		return "", time.Time{}, nil, apperr.Forbidden("too many failed logins; try again in %d s", int(wait.Seconds())+1).
			WithExtension("retryAfterSeconds", int(wait.Seconds())+1)
	}
	u, err := s.client.User.Query().Where(user.Name(name)).Only(Elevate(ctx, ReadForLogin))
	if err != nil && !ent.IsNotFound(err) {
		return "", time.Time{}, nil, fmt.Errorf("login %q: %w", name, err)
	}
	hash := ""
	if u != nil && !u.Disabled {
		hash = u.PasswordHash
	}
	if !CheckPassword(hash, password) {
		s.throttle.Failed(name, addr)
		return "", time.Time{}, nil, &apperr.Error{Code: apperr.CodeUnauthenticated, Message: "wrong user name or password"}
	}
	token, exp, err := s.tokens.Issue(u.ID, u.TokenVersion)
	if err != nil {
		return "", time.Time{}, nil, err
	}
	return token, exp, u, nil
}

// LoginStats counts failed logins and password checks (Failures) and those refused
// by the login throttle (Refused).
func (s *Service) LoginStats() ThrottleStats { return s.throttle.Stats() }

// Authenticate turns an Authorization header value ("Bearer <token>") into a viewer.
// It returns an UNAUTHENTICATED error for a bad or expired token, a disabled user, or a
// token whose version is no longer the user's (its sessions were ended).
func (s *Service) Authenticate(ctx context.Context, header string) (*Viewer, time.Time, error) {
	token, ok := strings.CutPrefix(strings.TrimSpace(header), "Bearer ")
	if !ok {
		return nil, time.Time{}, &apperr.Error{Code: apperr.CodeUnauthenticated, Message: "the Authorization header must be 'Bearer <token>'"}
	}
	id, version, exp, err := s.tokens.Verify(strings.TrimSpace(token))
	if err != nil {
		return nil, time.Time{}, &apperr.Error{Code: apperr.CodeUnauthenticated, Message: "the token is invalid or expired; log in again"}
	}
	v, err := s.loadViewer(ctx, id, version)
	if err != nil {
		return nil, time.Time{}, err
	}
	return v, exp, nil
}

// The statement behind every request and websocket: the token's user, and whom it
// stands in for right now (permanent substitutions, and those of users absent at this
// moment), one row per substitution (one with NULLs for none). One statement, one round
// trip before every request. Written out rather than built by ent on each call, which
// allocated about 17 KB per request; a fixed text also lets the driver keep one
// prepared statement. $n placeholders work on SQLite too (numbered parameters).
const viewerSQL = `SELECT u.name, u.language, u.disabled, u.token_version, s.user_id, s.role_id
FROM users u LEFT JOIN substitutes s ON s.substitute_id = u.id
AND (s.permanent OR EXISTS (SELECT 1 FROM absences a WHERE a.user_id = s.user_id AND a."from" <= $2 AND a.until > $2))
WHERE u.id = $1`

// loadViewer reads the viewer of user id for a token of the version; UNAUTHENTICATED
// when the user is gone or disabled, or its sessions were ended since the token was issued.
func (s *Service) loadViewer(ctx context.Context, id, version int) (*Viewer, error) {
	v := &Viewer{UserID: id}
	found, disabled, current := false, false, 0
	err := s.query(ctx, viewerSQL, []any{id, time.Now().UTC()}, func(rows *entsql.Rows) error {
		found = true
		var user, role sql.NullInt64
		if err := rows.Scan(&v.Name, &v.Language, &disabled, &current, &user, &role); err != nil {
			return err
		}
		switch {
		case role.Valid:
			v.SubstituteRoles = append(v.SubstituteRoles, int(role.Int64))
		case user.Valid:
			v.SubstituteFor = append(v.SubstituteFor, int(user.Int64))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load user %d: %w", id, err)
	}
	if !found || disabled {
		return nil, &apperr.Error{Code: apperr.CodeUnauthenticated, Message: "the token's user no longer exists or is disabled"}
	}
	if current != version {
		return nil, &apperr.Error{Code: apperr.CodeUnauthenticated, Message: "the session has ended (logout, password change or revocation); log in again"}
	}
	v.TokenVersion = version
	return v, nil
}

// query runs a read and calls row for each row.
func (s *Service) query(ctx context.Context, query string, args []any, row func(*entsql.Rows) error) error {
	var rows entsql.Rows
	if err := s.drv.Query(ctx, query, args, &rows); err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(&rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

type tokenErrKey struct{}

// Middleware puts the viewer of a valid bearer token into the request context. A request
// without a token goes on anonymous; one with a bad token carries the error, which
// TokenError returns to whatever needs a viewer.
func (s *Service) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			next.ServeHTTP(w, r)
			return
		}
		ctx := r.Context()
		v, _, err := s.Authenticate(ctx, h)
		if err != nil {
			ctx = context.WithValue(ctx, tokenErrKey{}, err)
		} else {
			ctx = NewContext(ctx, v)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// TokenError returns why the request's token was refused, if it was.
func TokenError(ctx context.Context) error {
	err, _ := ctx.Value(tokenErrKey{}).(error)
	return err
}

type addrKey struct{}

// WithClientAddr stores the client address (package access finds it) in the context,
// for the login throttle.
func WithClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, addrKey{}, addr)
}

// ClientAddrFrom returns the address stored by WithClientAddr.
func ClientAddrFrom(ctx context.Context) string { a, _ := ctx.Value(addrKey{}).(string); return a }

// VerifyPassword checks the password of user id (named name) given from a client
// address, as a login would: under the login throttle of that name and address, and a
// wrong password counts as a failed login there, so a check of the current password
// (changePassword) is no way around the throttle. A wrong password is FORBIDDEN with
// extensions.field "currentPassword".
func (s *Service) VerifyPassword(ctx context.Context, id int, name, password, addr string) error {
	if ok, wait := s.throttle.Allowed(name, addr); !ok {
		return apperr.Forbidden("too many failed password checks; try again in %d s", int(wait.Seconds())+1).
			WithExtension("retryAfterSeconds", int(wait.Seconds())+1)
	}
	u, err := s.client.User.Get(Elevate(ctx, ReadForLogin), id)
	if err != nil && !ent.IsNotFound(err) {
		return fmt.Errorf("verify password of user %d: %w", id, err)
	}
	hash := ""
	if u != nil && !u.Disabled {
		hash = u.PasswordHash
	}
	if !CheckPassword(hash, password) {
		s.throttle.Failed(name, addr)
		return apperr.Forbidden("the current password is wrong").WithExtension("field", "currentPassword")
	}
	return nil
}

// Issue returns a token for user id at its token version, as a login does.
func (s *Service) Issue(id, version int) (string, time.Time, error) {
	return s.tokens.Issue(id, version)
}
