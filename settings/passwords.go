package settings

import (
	"context"
	"fmt"
	"strings"
	"unicode"
)

// PasswordValidation is Portal.PasswordValidation: the rules a new password must meet.
type PasswordValidation struct {
	MinLength               int  `json:"minLength"`
	RequireUppercase        bool `json:"requireUppercase"`
	RequireLowercase        bool `json:"requireLowercase"`
	RequireDigit            bool `json:"requireDigit"`
	RequireSpecialCharacter bool `json:"requireSpecialCharacter"`
	NotContainUsername      bool `json:"notContainUsername"`
}

const defaultPasswordRules = `{"minLength":8,"requireUppercase":false,"requireLowercase":false,"requireDigit":false,"requireSpecialCharacter":false,"notContainUsername":true}`

func checkPasswordRules(text string) error {
	var r PasswordValidation
	if err := decodeStrict(text, &r); err != nil {
		return err
	}
	if r.MinLength < 1 || r.MinLength > 256 {
		return fmt.Errorf("minLength %d must be between 1 and 256", r.MinLength)
	}
	return nil
}

// Problems lists, in words a person can act on, what a password for user name lacks.
func (r PasswordValidation) Problems(name, password string) []string {
	var out []string
	if n := len([]rune(password)); n < r.MinLength {
		out = append(out, fmt.Sprintf("at least %d characters (it has %d)", r.MinLength, n))
	}
	has := func(f func(rune) bool) bool { return strings.IndexFunc(password, f) >= 0 }
	if r.RequireUppercase && !has(unicode.IsUpper) {
		out = append(out, "an uppercase letter")
	}
	if r.RequireLowercase && !has(unicode.IsLower) {
		out = append(out, "a lowercase letter")
	}
	if r.RequireDigit && !has(unicode.IsDigit) {
		out = append(out, "a digit")
	}
	if r.RequireSpecialCharacter && !has(func(c rune) bool { return !unicode.IsLetter(c) && !unicode.IsDigit(c) }) {
		out = append(out, "a character that is neither a letter nor a digit")
	}
	if r.NotContainUsername && name != "" && strings.Contains(strings.ToLower(password), strings.ToLower(name)) {
		out = append(out, "no copy of the user name")
	}
	return out
}

// CheckPassword returns a BAD_USER_INPUT error listing what the password lacks under
// the current rules.
func (s *Service) CheckPassword(ctx context.Context, name, password string) error {
	text, err := s.Value(ctx, PasswordRules)
	if err != nil {
		return err
	}
	var r PasswordValidation
	if err := decodeStrict(text, &r); err != nil {
		return fmt.Errorf("stored %s: %w", PasswordRules, err)
	}
	if p := r.Problems(name, password); len(p) > 0 {
		return badPassword(p)
	}
	return nil
}
