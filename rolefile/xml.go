package rolefile

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ParseRolesXML reads a legacy roles.xml: nested <role> elements rooted at
// Everybody, each with <identifier>, an optional <displayName>, optional
// <roleMembers><role>link</role></roleMembers> and child <role> elements.
// Roles come out in pre-order, parents before children. Unknown elements and
// stray text are errors; attributes and comments are ignored.
func ParseRolesXML(r io.Reader) ([]Role, error) {
	x := newXMLReader(r, "roles.xml")
	if err := x.root("role"); err != nil {
		return nil, err
	}
	root, err := x.role(1)
	if err != nil {
		return nil, err
	}
	if err := x.end(); err != nil {
		return nil, err
	}
	var roles []Role
	var wh []where
	flattenRoles(root, "", nil, &roles, &wh)
	if name := roles[0].Name; name != "" && name != Everybody {
		at := wh[0].field("Name")
		return nil, &Error{File: x.file, Line: at.line, Column: at.col, Path: at.path,
			Msg: fmt.Sprintf("the root role must be %s, not %q", Everybody, short(name))}
	}
	if _, p := checkRoles(roles); p != nil {
		return nil, fileError(x.file, wh, p)
	}
	return roles, nil
}

// ParseUsersXML reads a legacy users.xml: <userConfig> holding <user>
// elements with <username>, <password>, <fullName>, <emailAddress>, an
// optional <language>, one or more <role> and optional
// <property name="key">value</property>.
func ParseUsersXML(r io.Reader) ([]User, error) {
	x := newXMLReader(r, "users.xml")
	if err := x.root("userConfig"); err != nil {
		return nil, err
	}
	var users []User
	var wh []where
	err := x.elements(func(se xml.StartElement) error {
		if se.Name.Local != "user" {
			return x.errorf("unknown element <%s>; want <user>", short(se.Name.Local))
		}
		if len(users) == MaxEntries {
			return x.errorf("more than %d users", MaxEntries)
		}
		u, w, err := x.user()
		users = append(users, u)
		wh = append(wh, w)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := x.end(); err != nil {
		return nil, err
	}
	if p := checkUsers(users); p != nil {
		return nil, fileError(x.file, wh, p)
	}
	return users, nil
}

type xmlReader struct {
	d         *xml.Decoder
	file      string
	line, col int      // where the last token began
	path      []string // open elements, for messages
	roles     int
}

func newXMLReader(r io.Reader, file string) *xmlReader {
	br := bufio.NewReader(&capped{r: r, n: MaxBytes})
	// encoding/xml does not skip a byte order mark, which Windows editors add.
	if b, _ := br.Peek(3); bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	d := xml.NewDecoder(br)
	d.CharsetReader = charsetReader
	return &xmlReader{d: d, file: file}
}

func (x *xmlReader) errorf(format string, args ...any) *Error {
	return &Error{File: x.file, Line: x.line, Column: x.col, Path: joinPath(x.path), Msg: fmt.Sprintf(format, args...)}
}

// joinPath joins element names, eliding the middle of deep paths: the line
// number already says where, the path is to help a person recognise it.
func joinPath(path []string) string {
	if len(path) > 8 {
		path = append(append(path[:2:2], "..."), path[len(path)-5:]...)
	}
	return strings.Join(path, "/")
}

// here is where the last token began, with a path relative to its parent.
func (x *xmlReader) here(rel string) pos { return pos{x.line, x.col, rel} }

// next returns the next element start, end or text; it skips comments,
// processing instructions and directives, and returns io.EOF unwrapped.
func (x *xmlReader) next() (xml.Token, error) {
	for {
		x.line, x.col = x.d.InputPos()
		tok, err := x.d.Token()
		var syn *xml.SyntaxError
		switch {
		case err == io.EOF:
			return nil, err
		case errors.Is(err, errTooLarge):
			return nil, x.errorf("file is larger than %d bytes", MaxBytes)
		case errors.As(err, &syn):
			x.line, x.col = x.d.InputPos()
			return nil, x.errorf("XML syntax error: %s", syn.Msg)
		case err != nil:
			return nil, x.errorf("%v", err)
		}
		switch tok.(type) {
		case xml.StartElement, xml.EndElement, xml.CharData:
			return tok, nil
		}
	}
}

// root reads up to the root element and checks its name.
func (x *xmlReader) root(want string) error {
	for {
		tok, err := x.next()
		if err == io.EOF {
			return &Error{File: x.file, Msg: fmt.Sprintf("no <%s> element: the file is empty", want)}
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != want {
				return x.errorf("the root element is <%s>, want <%s>", short(t.Name.Local), want)
			}
			x.path = []string{want}
			return nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return x.errorf("text before the root element")
			}
		}
	}
}

// end checks that nothing but white space and comments follows the root.
func (x *xmlReader) end() error {
	x.path = nil
	for {
		tok, err := x.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return x.errorf("a second root element <%s>", short(t.Name.Local))
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return x.errorf("text after the root element")
			}
		}
	}
}

// elements calls fn for each child element of the element just opened,
// until that element ends. fn must consume the child up to its end. Text
// between children must be white space.
func (x *xmlReader) elements(fn func(xml.StartElement) error) error {
	for {
		tok, err := x.next()
		if err == io.EOF {
			return x.errorf("unexpected end of file")
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			x.path = append(x.path, cut(t.Name.Local))
			if err := fn(t); err != nil {
				return err
			}
			x.path = x.path[:len(x.path)-1]
		case xml.EndElement:
			return nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return x.errorf("unexpected text %q", short(bytes.TrimSpace(t)))
			}
		}
	}
}

// text reads the content of a text-only element up to its end.
func (x *xmlReader) text() (string, error) {
	var b strings.Builder
	for {
		tok, err := x.next()
		if err == io.EOF {
			return "", x.errorf("unexpected end of file")
		}
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			b.Write(t)
		case xml.StartElement:
			return "", x.errorf("unexpected element <%s> inside <%s>", short(t.Name.Local), x.path[len(x.path)-1])
		case xml.EndElement:
			return b.String(), nil
		}
	}
}

// field reads a text element that may appear once, recording where it was.
func (x *xmlReader) field(fields map[string]pos, key string) (string, error) {
	elem := x.path[len(x.path)-1]
	if _, dup := fields[key]; dup {
		return "", x.errorf("<%s> given twice", elem)
	}
	fields[key] = x.here(elem)
	return x.text()
}

// xmlRole is a parsed <role> before flattening.
type xmlRole struct {
	role     Role
	w        where
	children []*xmlRole
}

func (x *xmlReader) role(depth int) (*xmlRole, error) {
	if x.roles++; x.roles > MaxEntries {
		return nil, x.errorf("more than %d roles", MaxEntries)
	}
	if depth > MaxDepth {
		return nil, x.errorf("roles nested deeper than %d levels", MaxDepth)
	}
	n := &xmlRole{w: where{at: x.here(""), sep: "/", fields: map[string]pos{}, lists: map[string][]pos{}}}
	self := len(x.path) - 1
	err := x.elements(func(se xml.StartElement) error {
		var err error
		switch se.Name.Local {
		case "identifier":
			n.role.Name, err = x.field(n.w.fields, "Name")
			x.path[self] = label("role", n.role.Name)
		case "displayName":
			n.role.DisplayName, err = x.field(n.w.fields, "DisplayName")
		case "roleMembers":
			err = x.elements(func(se xml.StartElement) error {
				if se.Name.Local != "role" {
					return x.errorf("unknown element <%s>; <roleMembers> holds <role> links", short(se.Name.Local))
				}
				n.w.lists["Members"] = append(n.w.lists["Members"], x.here("roleMembers/role"))
				m, err := x.text()
				n.role.Members = append(n.role.Members, m)
				return err
			})
		case "role":
			var c *xmlRole
			c, err = x.role(depth + 1)
			n.children = append(n.children, c)
		default:
			err = x.errorf("unknown element <%s>; want identifier, displayName, roleMembers or role", short(se.Name.Local))
		}
		return err
	})
	return n, err
}

// flattenRoles lists the tree in pre-order and completes the paths.
func flattenRoles(n *xmlRole, parent string, path []string, roles *[]Role, wh *[]where) {
	n.role.Parent = parent
	path = append(path, label("role", n.role.Name))
	n.w.at.path = joinPath(path)
	*roles = append(*roles, n.role)
	*wh = append(*wh, n.w)
	for _, c := range n.children {
		flattenRoles(c, n.role.Name, path[:len(path):len(path)], roles, wh)
	}
}

func (x *xmlReader) user() (User, where, error) {
	var u User
	w := where{at: x.here(""), sep: "/", fields: map[string]pos{}, lists: map[string][]pos{}}
	self := len(x.path) - 1
	err := x.elements(func(se xml.StartElement) error {
		var err error
		switch se.Name.Local {
		case "username":
			u.Name, err = x.field(w.fields, "Name")
			x.path[self] = label("user", u.Name)
		case "password":
			u.Password, err = x.field(w.fields, "Password")
		case "fullName":
			u.FullName, err = x.field(w.fields, "FullName")
		case "emailAddress":
			u.Email, err = x.field(w.fields, "Email")
		case "language":
			u.Language, err = x.field(w.fields, "Language")
		case "role":
			w.lists["Roles"] = append(w.lists["Roles"], x.here("role"))
			var r string
			r, err = x.text()
			u.Roles = append(u.Roles, r)
		case "property":
			at := x.here("")
			var k string
			ok := false
			for _, a := range se.Attr {
				if a.Name.Local == "name" {
					k, ok = a.Value, true
				}
			}
			if !ok {
				return x.errorf("<property> without a name attribute")
			}
			if _, dup := u.Properties[k]; dup {
				return x.errorf("property %q given twice", short(k))
			}
			var v string
			if v, err = x.text(); err != nil {
				return err
			}
			at.path = label("property", k)
			w.fields["Properties["+k+"]"] = at
			if u.Properties == nil {
				u.Properties = map[string]string{}
			}
			u.Properties[k] = v
		default:
			err = x.errorf("unknown element <%s>; want username, password, fullName, emailAddress, language, role or property", short(se.Name.Local))
		}
		return err
	})
	w.at.path = "userConfig/" + label("user", u.Name)
	return u, w, err
}

func label(elem, name string) string {
	if name == "" {
		return elem
	}
	return fmt.Sprintf("%s[%s]", elem, short(name))
}

// WriteRolesXML writes roles as a legacy roles.xml tree rooted at
// Everybody, children in list order. The list must pass the same rules as
// a parsed file and, since XML holds the whole tree, contain every parent.
func WriteRolesXML(w io.Writer, roles []Role) error {
	if _, p := checkRoles(roles); p != nil {
		return listError("roles", p)
	}
	nodes := make(map[string]*xmlRoleOut, len(roles))
	for _, r := range roles {
		nodes[r.Name] = &xmlRoleOut{Identifier: r.Name, DisplayName: r.DisplayName}
		if len(r.Members) > 0 {
			nodes[r.Name].Members = &xmlMembers{r.Members}
		}
	}
	for i, r := range roles {
		if r.Parent == "" {
			continue
		}
		parent, ok := nodes[r.Parent]
		if !ok {
			return listError("roles", prob(i, "Parent", "parent role %q is not in the list; XML needs the whole tree", short(r.Parent)))
		}
		parent.Children = append(parent.Children, nodes[r.Name])
	}
	return writeXML(w, nodes[Everybody])
}

type xmlRoleOut struct {
	XMLName     xml.Name      `xml:"role"`
	Identifier  string        `xml:"identifier"`
	DisplayName string        `xml:"displayName"`
	Members     *xmlMembers   `xml:"roleMembers"`
	Children    []*xmlRoleOut `xml:"role"`
}

// xmlMembers is a pointer field of xmlRoleOut because the encoder writes
// an empty <roleMembers> for "roleMembers>role,omitempty".
type xmlMembers struct {
	Roles []string `xml:"role"`
}

// WriteUsersXML writes users as a legacy users.xml, in list order with
// properties sorted by name.
func WriteUsersXML(w io.Writer, users []User) error {
	if p := checkUsers(users); p != nil {
		return listError("users", p)
	}
	out := xmlUsersOut{Users: make([]xmlUserOut, len(users))}
	for i, u := range users {
		o := xmlUserOut{Name: u.Name, Password: u.Password, FullName: u.FullName,
			Email: u.Email, Language: u.Language, Roles: u.Roles}
		for _, k := range sortedKeys(u.Properties) {
			o.Properties = append(o.Properties, xmlProperty{k, u.Properties[k]})
		}
		out.Users[i] = o
	}
	return writeXML(w, out)
}

type xmlUsersOut struct {
	XMLName xml.Name     `xml:"userConfig"`
	Users   []xmlUserOut `xml:"user"`
}

type xmlUserOut struct {
	Name       string        `xml:"username"`
	Password   string        `xml:"password"`
	FullName   string        `xml:"fullName"`
	Email      string        `xml:"emailAddress"`
	Language   string        `xml:"language,omitempty"`
	Roles      []string      `xml:"role"`
	Properties []xmlProperty `xml:"property"`
}

type xmlProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:",chardata"`
}

func writeXML(w io.Writer, v any) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// charsetReader lets legacy files declare ISO-8859-1, which older tools
// wrote; encoding/xml itself only reads UTF-8.
func charsetReader(label string, r io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "iso-8859-1", "iso8859-1", "latin1", "us-ascii":
		return &latin1{r: bufio.NewReader(r)}, nil
	}
	return nil, fmt.Errorf("unsupported encoding %q; use UTF-8", label)
}

type latin1 struct {
	r   *bufio.Reader
	buf []byte
}

func (l *latin1) Read(p []byte) (int, error) {
	for len(l.buf) == 0 {
		c, err := l.r.ReadByte()
		if err != nil {
			return 0, err
		}
		l.buf = append(l.buf, string(rune(c))...)
	}
	n := copy(p, l.buf)
	l.buf = l.buf[n:]
	return n, nil
}

var errTooLarge = errors.New("input too large")

// capped reads at most n bytes and fails rather than truncate silently.
type capped struct {
	r io.Reader
	n int64
}

func (c *capped) Read(p []byte) (int, error) {
	if c.n < 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > c.n+1 {
		p = p[:c.n+1]
	}
	n, err := c.r.Read(p)
	c.n -= int64(n)
	if c.n < 0 {
		return n, errTooLarge
	}
	return n, err
}
