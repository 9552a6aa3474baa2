package listindex

import (
	"encoding/binary"
	"unsafe"
)

// A table's rows hold no pointers: their texts live in the table's store, as offsets
// into one byte array, and the values many rows share (states, categories, custom-field
// names) as numbers of the store's words. The garbage collector then marks a million
// rows as a few large objects instead of walking millions of strings and slices at
// every cycle, which made 1-client requests that met a collection several times slower.
type store struct {
	b      []byte
	dead   int             // bytes of b that no row holds any more
	words  []string        // word → its text; 0 is ""
	wordOf map[string]word // text → its word
}

// text is a stretch of a store's bytes.
type text struct{ off, n uint32 }

// word is a value many rows share, stored once.
type word uint32

func newStore() store { return store{words: []string{""}, wordOf: map[string]word{"": 0}} }

// str returns a text. The string points into the store's bytes, which are never
// changed once written (compact copies them into new ones).
func (st *store) str(t text) string {
	if t.n == 0 {
		return ""
	}
	return unsafe.String(&st.b[t.off], int(t.n))
}

// bytes returns a text's bytes, not a copy: read them only.
func (st *store) bytes(t text) []byte { return st.b[t.off : t.off+t.n : t.off+t.n] }

func (st *store) word(s string) word {
	if w, ok := st.wordOf[s]; ok {
		return w
	}
	w := word(len(st.words))
	st.words = append(st.words, s)
	st.wordOf[s] = w
	return w
}

// own appends the bytes of one row and returns the text of them; the row's texts are
// parts of it (part).
func (st *store) own(b []byte) text {
	t := text{uint32(len(st.b)), uint32(len(b))}
	st.b = append(st.b, b...)
	return t
}

// part is the text of b[from:from+n] of a row whose bytes are at own.
func part(own text, from, n int) text { return text{own.off + uint32(from), uint32(n)} }

// drop records that a row no longer holds its bytes.
func (st *store) drop(own text) { st.dead += int(own.n) }

// wasteful says whether compact would free much: dead bytes past 16 MB and half the
// array.
func (st *store) wasteful() bool { return st.dead > 16<<20 && st.dead > len(st.b)/2 }

// moved returns t as it stands after its row's bytes moved from own to at.
func moved(t, own, at text) text {
	if t.n == 0 {
		return t
	}
	return text{t.off - own.off + at.off, t.n}
}

// appendField appends a custom field: its name's word and its value.
func appendField(b []byte, name word, value string) []byte {
	b = binary.AppendUvarint(b, uint64(name))
	b = binary.AppendUvarint(b, uint64(len(value)))
	return append(b, value...)
}

// field returns the value of the custom field name in fields (a row's custom text).
func (st *store) field(fields text, name string) (string, bool) {
	w, ok := st.wordOf[name]
	if !ok {
		return "", false
	}
	b := st.bytes(fields)
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		b = b[k:]
		l, k := binary.Uvarint(b)
		b = b[k:]
		if word(n) == w {
			if l == 0 {
				return "", true
			}
			return unsafe.String(&b[0], int(l)), true
		}
		b = b[l:]
	}
	return "", false
}

// appendResponsible appends one responsible of a task.
func appendResponsible(b []byte, r Responsible) []byte {
	var flags byte
	id := r.UserID
	if r.RoleID != 0 {
		flags, id = 1, r.RoleID
	}
	if r.Expiry {
		flags |= 2
	}
	b = append(b, flags)
	return binary.AppendUvarint(b, uint64(id))
}

// responsibles calls f for each responsible in resp (a row's responsibles text).
func (st *store) responsibles(resp text, f func(Responsible)) {
	b := st.bytes(resp)
	for len(b) > 0 {
		flags := b[0]
		id, k := binary.Uvarint(b[1:])
		b = b[1+k:]
		r := Responsible{Expiry: flags&2 != 0}
		if flags&1 != 0 {
			r.RoleID = int(id)
		} else {
			r.UserID = int(id)
		}
		f(r)
	}
}
