package settings

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
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

// commonPasswords are among the most used passwords (of public breach lists) and the
// obvious guesses for this product, lower case: the first an attacker tries, refused
// whatever the rules say.
var commonPasswords = map[string]bool{}

func init() {
	for _, p := range strings.Fields(`
password password1 password12 password123 password1234 passw0rd p@ssw0rd p@ssword pa55word
123456 1234567 12345678 123456789 1234567890 0123456789 12341234 11223344 123123123 87654321
11111111 00000000 12121212 123qweasd 1q2w3e4r 1q2w3e4r5t 1qaz2wsx zaq12wsx zaq1zaq1 q1w2e3r4
qwerty qwerty12 qwerty123 qwertyui qwertyuiop asdfghjk asdfghjkl asdfasdf zxcvbnm zxcvbnm1
abc12345 abcd1234 abcdefgh 1234abcd qwer1234 1234qwer aa123456 a1234567 iloveyou iloveyou1
sunshine princess football baseball basketball superman batman starwars pokemon whatever
trustno1 letmein letmein1 welcome welcome1 welcome123 changeme changeme1 secret secret123
admin admin123 admin1234 administrator root toor test test1234 testtest guest master
master123 dragon monkey shadow michael jennifer jordan23 computer internet charlie freedom
mustang hello123 helloworld loveme lovely flower chocolate cheese summer2024 winter2024
portico portico1 portico123 demo demo1234`) {
		commonPasswords[p] = true
	}
}

// Problems lists, in words a person can act on, what a password for user name lacks.
// Whatever the rules, it refuses the most common passwords and a single repeated character.
func (r PasswordValidation) Problems(name, password string) []string {
	var out []string
	if n := len([]rune(password)); n < r.MinLength {
		out = append(out, fmt.Sprintf("at least %d characters (it has %d)", r.MinLength, n))
	}
	if lower := strings.ToLower(password); commonPasswords[lower] {
		out = append(out, "to differ from the most common passwords")
	} else if first, _ := utf8.DecodeRuneInString(lower); lower != "" && strings.Trim(lower, string(first)) == "" {
		out = append(out, "more than one distinct character")
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
