package rolefile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// ParseRolesYAML reads a roles.yaml: a top-level Roles list of mappings
// with Id (the identifier), Name (display name), Parent and Members (a list
// of member-role Ids). An absent or empty Parent means Everybody, except for
// Everybody itself. A Parent not defined in the file is accepted, because
// imports merge into existing roles; the importer must check it. Roles come
// out with parents before children, in file order otherwise: Everybody's
// subtree walked in pre-order, then the subtrees of roles whose parent is
// outside the file.
//
// The YAML is read by walking its syntax tree, not by decoding into structs,
// so that unknown keys, wrong types, anchors, aliases and tags are rejected
// with their line.
func ParseRolesYAML(r io.Reader) ([]Role, error) {
	const file = "roles.yaml"
	items, err := yamlList(r, file, "Roles")
	if err != nil {
		return nil, err
	}
	if len(items) > MaxEntries {
		return nil, &Error{File: file, Msg: fmt.Sprintf("more than %d roles", MaxEntries)}
	}
	roles := make([]Role, len(items))
	wh := make([]where, len(items))
	for i, item := range items {
		path := fmt.Sprintf("Roles[%d]", i)
		ro := &roles[i]
		err := yamlFields(file, path, item, &wh[i], func(key string, v ast.Node, at pos) error {
			var err error
			switch key {
			case "Id":
				ro.Name, err = yamlString(file, at, v)
				wh[i].fields["Name"] = at
			case "Name":
				ro.DisplayName, err = yamlString(file, at, v)
				wh[i].fields["DisplayName"] = at
			case "Parent":
				ro.Parent, err = yamlString(file, at, v)
				wh[i].fields["Parent"] = at
			case "Members":
				ro.Members, err = yamlStrings(file, at, v, "Members", wh[i].fields)
			default:
				return yamlErr(file, at, "unknown key %q; want Id, Name, Parent or Members", short(key))
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		if ro.Parent == "" && ro.Name != Everybody {
			ro.Parent = Everybody
		}
	}
	order, p := checkRoles(roles)
	if p != nil {
		return nil, fileError(file, wh, p)
	}
	sorted := make([]Role, len(order))
	for k, i := range order {
		sorted[k] = roles[i]
	}
	return sorted, nil
}

// ParseUsersYAML reads a users.yaml: a top-level Users list of mappings
// with Name, Password, FullName, Mail, Roles (a list), Language and
// Properties (a mapping of strings). Users come out in file order.
func ParseUsersYAML(r io.Reader) ([]User, error) {
	const file = "users.yaml"
	items, err := yamlList(r, file, "Users")
	if err != nil {
		return nil, err
	}
	if len(items) > MaxEntries {
		return nil, &Error{File: file, Msg: fmt.Sprintf("more than %d users", MaxEntries)}
	}
	users := make([]User, len(items))
	wh := make([]where, len(items))
	for i, item := range items {
		path := fmt.Sprintf("Users[%d]", i)
		u := &users[i]
		err := yamlFields(file, path, item, &wh[i], func(key string, v ast.Node, at pos) error {
			var err error
			switch key {
			case "Name":
				u.Name, err = yamlString(file, at, v)
				wh[i].fields["Name"] = at
			case "Password":
				u.Password, err = yamlString(file, at, v)
				wh[i].fields["Password"] = at
			case "FullName":
				u.FullName, err = yamlString(file, at, v)
				wh[i].fields["FullName"] = at
			case "Mail":
				u.Email, err = yamlString(file, at, v)
				wh[i].fields["Email"] = at
			case "Language":
				u.Language, err = yamlString(file, at, v)
				wh[i].fields["Language"] = at
			case "Roles":
				u.Roles, err = yamlStrings(file, at, v, "Roles", wh[i].fields)
			case "Properties":
				u.Properties, err = yamlStringMap(file, at, v, "Properties", wh[i].fields)
			default:
				return yamlErr(file, at, "unknown key %q; want Name, Password, FullName, Mail, Roles, Language or Properties", short(key))
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	if p := checkUsers(users); p != nil {
		return nil, fileError(file, wh, p)
	}
	return users, nil
}

// yamlList parses a file whose only top-level key is key and returns the
// items of the list under it.
func yamlList(r io.Reader, file, key string) ([]ast.Node, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return nil, &Error{File: file, Msg: err.Error()}
	}
	if len(data) > MaxBytes {
		return nil, &Error{File: file, Msg: fmt.Sprintf("file is larger than %d bytes", MaxBytes)}
	}
	if n := yamlMarks(data); n > maxYAMLMarks {
		return nil, &Error{File: file, Msg: fmt.Sprintf("file too large: %d line breaks and YAML indicators, at most %d; split it", n, maxYAMLMarks)}
	}
	tokens := lexer.Tokenize(string(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	if tk := tooDeep(tokens); tk != nil {
		return nil, yamlErr(file, tokenPos(tk, ""), "nested deeper than %d levels", maxYAMLDepth)
	}
	f, err := parser.Parse(tokens, 0)
	if err != nil {
		var ye yaml.Error
		if errors.As(err, &ye) && ye.GetToken() != nil {
			return nil, yamlErr(file, tokenPos(ye.GetToken(), ""), "YAML syntax error: %s", ye.GetMessage())
		}
		return nil, &Error{File: file, Msg: "YAML syntax error: " + err.Error()}
	}
	var body ast.Node
	for _, doc := range f.Docs {
		if doc.Body == nil {
			continue
		}
		if body != nil {
			return nil, yamlErr(file, nodePos(doc.Body, ""), "more than one YAML document")
		}
		body = doc.Body
	}
	if body == nil {
		return nil, &Error{File: file, Msg: fmt.Sprintf("empty file; want a top-level %q list", key)}
	}
	pairs, ok := mappingPairs(body)
	if !ok {
		return nil, yamlErr(file, nodePos(body, ""), "the top level must be a mapping with the key %q", key)
	}
	if len(pairs) == 0 {
		return nil, yamlErr(file, nodePos(body, ""), "no top-level %q key", key)
	}
	for i, kv := range pairs {
		k, err := yamlKey(file, "", kv)
		if err != nil {
			return nil, err
		}
		if k != key {
			return nil, yamlErr(file, nodePos(kv.Key, fmt.Sprint(short(k))), "unknown top-level key %q; want %q", short(k), key)
		}
		if i > 0 {
			return nil, yamlErr(file, nodePos(kv.Key, key), "key %q given twice", key)
		}
	}
	switch v := pairs[0].Value.(type) {
	case nil, *ast.NullNode:
		return nil, nil
	case *ast.SequenceNode:
		return v.Values, nil
	}
	return nil, yamlErr(file, nodePos(pairs[0].Value, key), "must be a list, not %s", kind(pairs[0].Value))
}

// yamlFields calls fn for each key of the mapping item, with the key's
// position, and records the item's position in w.
func yamlFields(file, path string, item ast.Node, w *where, fn func(key string, v ast.Node, at pos) error) error {
	w.at = nodePos(item, path)
	w.fields = map[string]pos{}
	pairs, ok := mappingPairs(item)
	if !ok {
		return yamlErr(file, w.at, "must be a mapping, not %s", kind(item))
	}
	if len(pairs) > 0 {
		// A mapping's own token is its first colon; point at the first key.
		w.at = nodePos(pairs[0].Key, path)
	}
	seen := map[string]bool{}
	for _, kv := range pairs {
		k, err := yamlKey(file, path, kv)
		if err != nil {
			return err
		}
		at := nodePos(kv.Key, fmt.Sprintf("%s.%s", path, short(k)))
		if seen[k] {
			return yamlErr(file, at, "key %q given twice", short(k))
		}
		seen[k] = true
		if err := fn(k, kv.Value, at); err != nil {
			return err
		}
	}
	return nil
}

func yamlKey(file, path string, kv *ast.MappingValueNode) (string, error) {
	var key ast.Node = kv.Key
	if k, ok := key.(*ast.MappingKeyNode); ok {
		key = k.Value
	}
	s, ok := scalar(key)
	if !ok {
		return "", yamlErr(file, nodePos(kv.Key, path), "a key must be a string, not %s", kind(key))
	}
	return s, nil
}

func yamlString(file string, at pos, v ast.Node) (string, error) {
	s, ok := scalar(v)
	if !ok {
		return "", yamlErr(file, at, "must be a string, not %s", kind(v))
	}
	return s, nil
}

// yamlStrings reads a list of strings, recording each item's position as
// field[j]. An empty list reads as nil.
func yamlStrings(file string, at pos, v ast.Node, field string, fields map[string]pos) ([]string, error) {
	fields[field] = at
	var items []ast.Node
	switch v := v.(type) {
	case nil, *ast.NullNode:
	case *ast.SequenceNode:
		items = v.Values
	default:
		return nil, yamlErr(file, at, "must be a list, not %s", kind(v))
	}
	var out []string
	for j, item := range items {
		p := nodePos(item, fmt.Sprintf("%s[%d]", at.path, j))
		s, ok := scalar(item)
		if !ok {
			return nil, yamlErr(file, p, "must be a string, not %s", kind(item))
		}
		fields[fmt.Sprintf("%s[%d]", field, j)] = p
		out = append(out, s)
	}
	return out, nil
}

// yamlStringMap reads a mapping of strings; an empty one reads as nil.
func yamlStringMap(file string, at pos, v ast.Node, field string, fields map[string]pos) (map[string]string, error) {
	fields[field] = at
	if _, null := v.(*ast.NullNode); v == nil || null {
		return nil, nil
	}
	pairs, ok := mappingPairs(v)
	if !ok {
		return nil, yamlErr(file, at, "must be a mapping, not %s", kind(v))
	}
	var out map[string]string
	for _, kv := range pairs {
		k, err := yamlKey(file, at.path, kv)
		if err != nil {
			return nil, err
		}
		p := nodePos(kv.Key, fmt.Sprintf("%s.%s", at.path, short(k)))
		if _, dup := out[k]; dup {
			return nil, yamlErr(file, p, "key %q given twice", short(k))
		}
		s, ok := scalar(kv.Value)
		if !ok {
			return nil, yamlErr(file, p, "must be a string, not %s", kind(kv.Value))
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = s
		fields[field+"["+k+"]"] = p
	}
	return out, nil
}

func mappingPairs(n ast.Node) ([]*ast.MappingValueNode, bool) {
	switch n := n.(type) {
	case *ast.MappingNode:
		return n.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{n}, true
	}
	return nil, false
}

// scalar returns the text of a scalar node. Numbers, booleans and the like
// keep their source text, so "Id: 007" is the role "007"; null is "".
func scalar(n ast.Node) (string, bool) {
	switch v := n.(type) {
	case nil, *ast.NullNode:
		return "", true
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		if v.Value == nil {
			return "", true
		}
		return v.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return n.GetToken().Value, true
	}
	return "", false
}

// kind names a node for messages; anchors, aliases and tags are refused
// because role files do not need them and aliases can blow up in size.
func kind(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.AnchorNode, *ast.AliasNode:
		return "an anchor or alias (not supported)"
	case *ast.TagNode:
		return "a tagged value (tags are not supported)"
	case *ast.MergeKeyNode:
		return "a merge key (not supported)"
	}
	if _, null := n.(*ast.NullNode); n == nil || null {
		return "null"
	}
	return "a " + strings.ToLower(n.Type().String())
}

func nodePos(n ast.Node, path string) pos {
	if n == nil || n.GetToken() == nil {
		return pos{path: path}
	}
	return tokenPos(n.GetToken(), path)
}

func tokenPos(tk *token.Token, path string) pos {
	if tk.Position == nil {
		return pos{path: path}
	}
	return pos{tk.Position.Line, tk.Position.Column, path}
}

func yamlErr(file string, at pos, format string, args ...any) *Error {
	return &Error{File: file, Line: at.line, Column: at.col, Path: at.path, Msg: fmt.Sprintf(format, args...)}
}

// goccy's parser is costly, so YAML input is bounded before parsing:
//   - maxYAMLDepth bounds nesting. The formats need four levels, and the
//     parser recurses per level and slows down quadratically with depth.
//   - maxYAMLMarks bounds line breaks and indicator characters, which bound
//     the number of tokens; each costs hundreds of bytes to parse. A typical
//     user entry has about 16, so MaxEntries of them fit. At the bound a
//     parse takes about a gigabyte and seconds, as does a legitimate file
//     of MaxEntries users; without it 32 MiB of "a," take 15 GB.
const (
	maxYAMLDepth = 16
	maxYAMLMarks = 20 * MaxEntries
)

func yamlMarks(data []byte) int {
	n := 0
	for _, c := range data {
		switch c {
		case '\n', ',', ':', '-', '?', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
			n++
		}
	}
	return n
}

// tooDeep returns the token at which block or flow nesting first exceeds
// maxYAMLDepth, or nil. Block nesting is estimated from the columns of the
// indicators "-", "?" and the keys before ":".
func tooDeep(tokens token.Tokens) *token.Token {
	flow := 0
	var block []int // columns of open block collections
	for i, tk := range tokens {
		switch tk.Type {
		case token.SequenceStartType, token.MappingStartType:
			flow++
		case token.SequenceEndType, token.MappingEndType:
			if flow > 0 {
				flow--
			}
		case token.DocumentHeaderType, token.DocumentEndType:
			block = block[:0]
			flow = 0
		case token.SequenceEntryType, token.MappingKeyType, token.MappingValueType:
			if flow > 0 {
				continue
			}
			col := tk.Position.Column
			if tk.Type == token.MappingValueType && i > 0 && tokens[i-1].Position.Line == tk.Position.Line {
				col = tokens[i-1].Position.Column
			}
			for len(block) > 0 && block[len(block)-1] >= col {
				block = block[:len(block)-1]
			}
			block = append(block, col)
		default:
			continue
		}
		if flow+len(block) > maxYAMLDepth {
			return tk
		}
	}
	return nil
}

// WriteRolesYAML writes roles as a roles.yaml in list order. Parent is
// written for every role but Everybody. The list must pass the same rules
// as a parsed file.
func WriteRolesYAML(w io.Writer, roles []Role) error {
	if _, p := checkRoles(roles); p != nil {
		return listError("roles", p)
	}
	var b strings.Builder
	b.WriteString("Roles:\n")
	for _, r := range roles {
		fmt.Fprintf(&b, "  - Id: %s\n", yamlQuote(r.Name))
		if r.DisplayName != "" {
			fmt.Fprintf(&b, "    Name: %s\n", yamlQuote(r.DisplayName))
		}
		if r.Parent != "" {
			fmt.Fprintf(&b, "    Parent: %s\n", yamlQuote(r.Parent))
		}
		writeYAMLList(&b, "Members", r.Members)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteUsersYAML writes users as a users.yaml in list order, properties
// sorted by name.
func WriteUsersYAML(w io.Writer, users []User) error {
	if p := checkUsers(users); p != nil {
		return listError("users", p)
	}
	var b strings.Builder
	if len(users) == 0 {
		b.WriteString("Users: []\n")
	} else {
		b.WriteString("Users:\n")
	}
	for _, u := range users {
		fmt.Fprintf(&b, "  - Name: %s\n", yamlQuote(u.Name))
		fmt.Fprintf(&b, "    Password: %s\n", yamlQuote(u.Password))
		for _, f := range []struct{ key, value string }{{"FullName", u.FullName}, {"Mail", u.Email}, {"Language", u.Language}} {
			if f.value != "" {
				fmt.Fprintf(&b, "    %s: %s\n", f.key, yamlQuote(f.value))
			}
		}
		writeYAMLList(&b, "Roles", u.Roles)
		if len(u.Properties) > 0 {
			b.WriteString("    Properties:\n")
			for _, k := range sortedKeys(u.Properties) {
				fmt.Fprintf(&b, "      %s: %s\n", yamlQuote(k), yamlQuote(u.Properties[k]))
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeYAMLList(b *strings.Builder, key string, items []string) {
	if len(items) == 0 {
		return
	}
	fmt.Fprintf(b, "    %s:\n", key)
	for _, s := range items {
		fmt.Fprintf(b, "      - %s\n", yamlQuote(s))
	}
}

// yamlQuote leaves s plain only when it is obviously a plain string: a
// letter followed by letters, digits, spaces and harmless punctuation, not
// ending in a space and not a word YAML tools read as null or boolean.
// Everything else is double-quoted with Go escapes, which YAML shares.
// (goccy's encoder leaves some specials such as "<<" and "?" plain.)
func yamlQuote(s string) string {
	plain := s != ""
	for i, r := range s {
		if !(unicode.IsLetter(r) || i > 0 && (unicode.IsDigit(r) || r == ' ' || strings.ContainsRune("-_.@+/()&'", r))) {
			plain = false
			break
		}
	}
	switch strings.ToLower(s) {
	case "null", "true", "false", "yes", "no", "on", "off", "y", "n":
		plain = false
	}
	if plain && !strings.HasSuffix(s, " ") {
		return s
	}
	return strconv.Quote(s)
}
