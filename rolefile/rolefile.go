// Package rolefile reads and writes role and user definitions in the legacy
// XML format (roles.xml, users.xml) and the current YAML format (roles.yaml,
// users.yaml). It only parses and formats; it never touches the database.
//
// Every parser validates the whole file and rejects it on the first problem,
// so an importer never applies half a file. Errors are *Error values that say
// where the problem is. The writers apply the same rules to their input, so
// whatever they write parses back to the same data.
//
// Rules shared by both formats:
//   - Role identifiers, user names, parent, member and user-role references
//     and property names must be non-empty, without leading or trailing
//     white space, valid UTF-8 and free of control characters (tabs and line
//     breaks included).
//   - Other text (display name, password, full name, email, language,
//     property values) may be empty or padded, but must be valid UTF-8
//     without control characters, U+FFFE or U+FFFF, so that every value
//     survives both formats unchanged.
//   - Role identifiers are unique. Member-role links are not definitions:
//     they may name any role, but not the holding role itself, and not twice.
//   - There is exactly one role Everybody and it has no parent; every other
//     role has one. The parents inside a file must not form a cycle, and the
//     tree must not be deeper than MaxDepth.
//   - User names are unique and every user has at least one role, each
//     listed once.
//
// References (Parent, Members, a user's Roles) need not name roles defined
// in the same file: imports merge into the database, so the importer checks
// them there. Only XML, which nests children in parents, cannot express a
// parent outside the file.
//
// Files larger than MaxBytes or with more than MaxEntries roles or users are
// rejected. YAML is also bounded in nesting (16 levels) and in line breaks
// plus indicator characters (20 per entry allowed), because its parser needs
// hundreds of bytes of memory per token.
package rolefile

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Everybody is the identifier of the root role.
const Everybody = "Everybody"

// Limits against hostile input; a file over any of them is rejected.
const (
	MaxBytes   = 32 << 20 // size of one file
	MaxEntries = 100_000  // roles or users in one file
	MaxDepth   = 256      // levels of the role tree
)

// Role is one node of the role tree.
type Role struct {
	Name        string   // unique identifier
	DisplayName string   // may be empty
	Parent      string   // identifier of the parent role; "" only for Everybody
	Members     []string // identifiers of member roles, nil when none
}

// User is one portal user.
type User struct {
	Name       string // login name, unique
	Password   string
	FullName   string
	Email      string
	Language   string
	Roles      []string          // at least one
	Properties map[string]string // nil when none
}

// Error is a problem in a file, with where it is. Line and Column are 1-based
// and zero when unknown. File is the conventional file name (roles.xml,
// users.yaml, ...) because the parsers only see a reader; callers may replace
// it with the real path. Writers return an *Error with File and Line unset
// and Path naming the offending entry, like roles[3].Parent.
type Error struct {
	File   string
	Line   int
	Column int
	Path   string
	Msg    string
}

// Error formats e like "roles.xml:12:5: role[Everybody]/role[Team A]/identifier: empty role identifier".
func (e *Error) Error() string {
	var parts []string
	if loc := e.File; loc != "" || e.Line > 0 {
		if e.Line > 0 {
			loc += fmt.Sprintf(":%d", e.Line)
			if e.Column > 0 {
				loc += fmt.Sprintf(":%d", e.Column)
			}
		}
		parts = append(parts, loc)
	}
	if e.Path != "" {
		parts = append(parts, e.Path)
	}
	return strings.Join(append(parts, e.Msg), ": ")
}

// problem is a rule violation in a flat list, found before we know how the
// list maps onto a file; each format turns it into an *Error.
type problem struct {
	index int    // entry, -1 for the file as a whole
	field string // Go field name, with [j] or [key] for list items
	msg   string
	first int // earlier entry that this one duplicates, -1 if none
}

func prob(i int, field, format string, args ...any) *problem {
	return &problem{index: i, field: field, msg: fmt.Sprintf(format, args...), first: -1}
}

// badText says what is wrong with a free-text value, or "".
func badText(what, s string) string {
	if !utf8.ValidString(s) {
		return what + " is not valid UTF-8"
	}
	for _, r := range s {
		// U+FFFE and U+FFFF cannot appear in XML; controls do not survive
		// XML's line-end normalisation and are never intended in names.
		if unicode.IsControl(r) || r == 0xFFFE || r == 0xFFFF {
			return fmt.Sprintf("%s %q contains the invalid character %U", what, short(s), r)
		}
	}
	return ""
}

// badName is badText for identifiers, which also must not be empty or padded.
func badName(what, s string) string {
	if s == "" {
		return "missing or empty " + what
	}
	if msg := badText(what, s); msg != "" {
		return msg
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		return fmt.Sprintf("%s %q has leading or trailing white space", what, short(s))
	}
	return ""
}

// short is a value quoted in a message, cut to a readable length.
type short string

func (s short) Format(f fmt.State, verb rune) {
	v := cut(string(s))
	if verb == 'q' {
		v = strconv.Quote(v)
	}
	io.WriteString(f, v)
}

// cut shortens s to a length fit for a message.
func cut(s string) string {
	if len(s) <= 64 {
		return s
	}
	if utf8.RuneCountInString(s) > 64 {
		s = string([]rune(s)[:60]) + "..."
	}
	return s
}

// checkRoles applies the role rules and returns the indexes of roles in
// pre-order: Everybody's subtree, then the subtrees of roles whose parent is
// not in the list, in list order; children in list order.
func checkRoles(roles []Role) ([]int, *problem) {
	if len(roles) > MaxEntries {
		return nil, prob(-1, "", "more than %d roles", MaxEntries)
	}
	byName := make(map[string]int, len(roles))
	everybody := false
	for i, r := range roles {
		if msg := badName("role identifier", r.Name); msg != "" {
			return nil, prob(i, "Name", "%s", msg)
		}
		if msg := badText("display name", r.DisplayName); msg != "" {
			return nil, prob(i, "DisplayName", "%s", msg)
		}
		if j, dup := byName[r.Name]; dup {
			p := prob(i, "Name", "duplicate role %q", short(r.Name))
			p.first = j
			return nil, p
		}
		byName[r.Name] = i
		switch {
		case r.Name == Everybody:
			everybody = true
			if r.Parent != "" {
				return nil, prob(i, "Parent", "%s is the root role and cannot have a parent", Everybody)
			}
		case r.Parent == "":
			return nil, prob(i, "Parent", "role %q has no parent", short(r.Name))
		case r.Parent == r.Name:
			return nil, prob(i, "Parent", "role %q is its own parent", short(r.Name))
		default:
			if msg := badName("parent role", r.Parent); msg != "" {
				return nil, prob(i, "Parent", "%s", msg)
			}
		}
		seen := make(map[string]bool, len(r.Members))
		for j, m := range r.Members {
			field := fmt.Sprintf("Members[%d]", j)
			if msg := badName("member role", m); msg != "" {
				return nil, prob(i, field, "%s", msg)
			}
			if m == r.Name {
				return nil, prob(i, field, "role %q cannot be a member role of itself", short(m))
			}
			if seen[m] {
				return nil, prob(i, field, "member role %q listed twice", short(m))
			}
			seen[m] = true
		}
	}
	if !everybody {
		return nil, prob(-1, "", "no %s role: it must be the root of the role tree", Everybody)
	}
	return orderRoles(roles, byName)
}

// orderRoles walks the tree iteratively (a file may describe a long chain)
// and reports parent cycles and trees deeper than MaxDepth.
func orderRoles(roles []Role, byName map[string]int) ([]int, *problem) {
	children := make(map[int][]int)
	type item struct{ index, depth int }
	roots := []item{{byName[Everybody], 1}}
	for i, r := range roles {
		if p, ok := byName[r.Parent]; ok {
			children[p] = append(children[p], i)
		} else if r.Parent != "" {
			// The parent is outside the list, so at least below Everybody.
			roots = append(roots, item{i, 2})
		}
	}
	order := make([]int, 0, len(roles))
	for _, root := range roots {
		stack := []item{root}
		for len(stack) > 0 {
			it := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if it.depth > MaxDepth {
				return nil, prob(it.index, "Parent", "role %q is nested deeper than %d levels", short(roles[it.index].Name), MaxDepth)
			}
			order = append(order, it.index)
			kids := children[it.index]
			for k := len(kids) - 1; k >= 0; k-- {
				stack = append(stack, item{kids[k], it.depth + 1})
			}
		}
	}
	if len(order) == len(roles) {
		return order, nil
	}
	// Roles not reached from a root lead up into a cycle. Find the cycle from
	// the first of them and report it at its first role in list order.
	visited := make([]bool, len(roles))
	for _, i := range order {
		visited[i] = true
	}
	i := 0
	for visited[i] {
		i++
	}
	step := map[int]int{}
	for n := 0; ; n++ {
		if _, again := step[i]; again {
			break
		}
		step[i] = n
		i = byName[roles[i].Parent]
	}
	var cycle []int
	for j := range step {
		if step[j] >= step[i] {
			cycle = append(cycle, j)
		}
	}
	sort.Ints(cycle)
	start := cycle[0]
	names := []string{string(short(roles[start].Name))}
	for j := byName[roles[start].Parent]; ; j = byName[roles[j].Parent] {
		if len(names) == 10 && len(cycle) > 11 {
			names = append(names, fmt.Sprintf("(%d more)", len(cycle)-10))
			j = start
		}
		names = append(names, string(short(roles[j].Name)))
		if j == start {
			break
		}
	}
	return nil, prob(start, "Parent", "parent cycle: %s", strings.Join(names, " -> "))
}

// checkUsers applies the user rules.
func checkUsers(users []User) *problem {
	if len(users) > MaxEntries {
		return prob(-1, "", "more than %d users", MaxEntries)
	}
	byName := make(map[string]int, len(users))
	for i, u := range users {
		if msg := badName("user name", u.Name); msg != "" {
			return prob(i, "Name", "%s", msg)
		}
		if j, dup := byName[u.Name]; dup {
			p := prob(i, "Name", "duplicate user %q", short(u.Name))
			p.first = j
			return p
		}
		byName[u.Name] = i
		for _, f := range []struct{ field, what, value string }{
			{"Password", "password", u.Password},
			{"FullName", "full name", u.FullName},
			{"Email", "email", u.Email},
			{"Language", "language", u.Language},
		} {
			if msg := badText(f.what, f.value); msg != "" {
				return prob(i, f.field, "%s", msg)
			}
		}
		if len(u.Roles) == 0 {
			return prob(i, "Roles", "user %q has no roles; every user needs at least one", short(u.Name))
		}
		seen := make(map[string]bool, len(u.Roles))
		for j, r := range u.Roles {
			field := fmt.Sprintf("Roles[%d]", j)
			if msg := badName("role", r); msg != "" {
				return prob(i, field, "%s", msg)
			}
			if seen[r] {
				return prob(i, field, "role %q listed twice", short(r))
			}
			seen[r] = true
		}
		for _, k := range sortedKeys(u.Properties) {
			field := "Properties[" + k + "]"
			if msg := badName("property name", k); msg != "" {
				return prob(i, field, "%s", msg)
			}
			if msg := badText("property value", u.Properties[k]); msg != "" {
				return prob(i, field, "%s", msg)
			}
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// where is the position of an entry and of its fields in a parsed file,
// for turning problems into errors.
type where struct {
	at     pos
	sep    string           // joins at.path and a field's path; "" if those are absolute
	fields map[string]pos   // keyed like problem.field
	lists  map[string][]pos // items of Members or Roles, when kept apart (XML)
}

type pos struct {
	line, col int
	path      string
}

func (w where) field(f string) pos {
	p, ok := w.fields[f]
	if name, index, isItem := strings.Cut(f, "["); !ok && isItem {
		j, err := strconv.Atoi(strings.TrimSuffix(index, "]"))
		if list := w.lists[name]; err == nil && j < len(list) {
			p, ok = list[j], true
		} else {
			// A list item without its own position falls back to the list.
			p, ok = w.fields[name]
		}
	}
	if !ok {
		return w.at
	}
	if w.sep != "" {
		p.path = w.at.path + w.sep + p.path
	}
	return p
}

// fileError places p in a parsed file using the positions of its entries.
func fileError(file string, wh []where, p *problem) *Error {
	if p.index < 0 || p.index >= len(wh) {
		return &Error{File: file, Msg: p.msg}
	}
	at := wh[p.index].field(p.field)
	msg := p.msg
	if p.first >= 0 && p.first < len(wh) {
		first := wh[p.first].field(p.field)
		if first.line == at.line {
			msg += fmt.Sprintf(" (first defined at line %d, column %d)", first.line, first.col)
		} else {
			msg += fmt.Sprintf(" (first defined at line %d)", first.line)
		}
	}
	return &Error{File: file, Line: at.line, Column: at.col, Path: at.path, Msg: msg}
}

// listError places p in a list given to a writer.
func listError(list string, p *problem) *Error {
	if p.index < 0 {
		return &Error{Msg: p.msg}
	}
	path := fmt.Sprintf("%s[%d]", list, p.index)
	if p.field != "" {
		path += "." + p.field
	}
	msg := p.msg
	if p.first >= 0 {
		msg += fmt.Sprintf(" (first at %s[%d])", list, p.first)
	}
	return &Error{Path: path, Msg: msg}
}
