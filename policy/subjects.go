package policy

import (
	"fmt"
	"strconv"
	"strings"
)

// UserSubject and RoleSubject name users and roles in Casbin lines.
func UserSubject(id int) string { return "u:" + strconv.Itoa(id) }

// RoleSubject names a role in Casbin lines.
func RoleSubject(id int) string { return "r:" + strconv.Itoa(id) }

// parseSubject splits a Casbin subject into its kind ('u' or 'r') and id.
func parseSubject(s string) (kind byte, id int, err error) {
	k, rest, ok := strings.Cut(s, ":")
	if !ok || (k != "u" && k != "r") {
		return 0, 0, fmt.Errorf("bad subject %q", s)
	}
	id, err = strconv.Atoi(rest)
	if err != nil {
		return 0, 0, fmt.Errorf("bad subject %q: %w", s, err)
	}
	return k[0], id, nil
}
