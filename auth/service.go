package auth

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/portico-dev/portico/apperr"
	"github.com/portico-dev/portico/ent"
	"github.com/portico-dev/portico/ent/absence"
	"github.com/portico-dev/portico/ent/substitute"
	"github.com/portico-dev/portico/ent/user"
)

// Service logs users in and turns bearer tokens back into viewers.
type Service struct {
	client   *ent.Client
	tokens   *Tokens
	throttle *Throttle
}

// NewService returns the auth service over the database with the given token issuer.
func NewService(client *ent.Client, tokens *Tokens) *Service {
	return &Service{client: client, tokens: tokens, throttle: NewThrottle()}
}

// Login checks a user name and password from a client address and returns a token.
func (s *Service) Login(ctx context.Context, name, password, addr string) (string, time.Time, *ent.User, error) {
	if ok, wait := s.throttle.Allowed(name, addr); !ok {
		return "", time.Time{}, nil, apperr.Forbidden("too many failed logins; try again in %d s", int(wait.Seconds())+1).
			WithExtension("retryAfterSeconds", int(wait.Seconds())+1)
	}
	u, err := s.client.User.Query().Where(user.Name(name)).Only(SystemContext(ctx))
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
	token, exp, err := s.tokens.Issue(u.ID)
	if err != nil {
		return "", time.Time{}, nil, err
	}
	return token, exp, u, nil
}

// Authenticate turns an Authorization header value ("Bearer <token>") into a viewer.
// It returns an UNAUTHENTICATED error for a bad or expired token or a disabled user.
func (s *Service) Authenticate(ctx context.Context, header string) (*Viewer, time.Time, error) {
	token, ok := strings.CutPrefix(strings.TrimSpace(header), "Bearer ")
	if !ok {
		return nil, time.Time{}, &apperr.Error{Code: apperr.CodeUnauthenticated, Message: "the Authorization header must be 'Bearer <token>'"}
	}
	id, exp, err := s.tokens.Verify(strings.TrimSpace(token))
	if err != nil {
		return nil, time.Time{}, &apperr.Error{Code: apperr.CodeUnauthenticated, Message: "the token is invalid or expired; log in again"}
	}
	u, err := s.client.User.Get(SystemContext(ctx), id)
	if ent.IsNotFound(err) || err == nil && u.Disabled {
		return nil, time.Time{}, &apperr.Error{Code: apperr.CodeUnauthenticated, Message: "the token's user no longer exists or is disabled"}
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("load user %d: %w", id, err)
	}
	v := &Viewer{UserID: u.ID, Name: u.Name, Language: u.Language}
	if err := s.loadSubstitutions(ctx, v); err != nil {
		return nil, time.Time{}, err
	}
	return v, exp, nil
}

// loadSubstitutions fills in whom the viewer stands in for right now: permanent
// substitutions, and those of users absent at this moment.
func (s *Service) loadSubstitutions(ctx context.Context, v *Viewer) error {
	now := time.Now().UTC()
	subs, err := s.client.Substitute.Query().Where(
		substitute.SubstituteID(v.UserID),
		substitute.Or(
			substitute.Permanent(true),
			substitute.HasUserWith(user.HasAbsencesWith(absence.FromLTE(now), absence.UntilGT(now))),
		),
	).All(SystemContext(ctx))
	if err != nil {
		return fmt.Errorf("substitutions of user %d: %w", v.UserID, err)
	}
	for _, sub := range subs {
		if sub.RoleID != nil {
			v.SubstituteRoles = append(v.SubstituteRoles, *sub.RoleID)
		} else {
			v.SubstituteFor = append(v.SubstituteFor, sub.UserID)
		}
	}
	return nil
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

// ClientAddr returns the client's IP address for throttling.
func ClientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

type addrKey struct{}

// WithClientAddr stores the client address in the context for the login resolver.
func WithClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, addrKey{}, addr)
}

// ClientAddrFrom returns the address stored by WithClientAddr.
func ClientAddrFrom(ctx context.Context) string { a, _ := ctx.Value(addrKey{}).(string); return a }
