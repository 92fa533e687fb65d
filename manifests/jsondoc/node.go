// Package jsondoc parses JSON strictly into an ordered tree that remembers where every value
// came from, and writes such trees back out, either indented (member order kept) or canonical
// (OSP's signing form). Manifests need all three: diagnostics point at line:column, the served
// manifest keeps a chosen member order, and signatures cover canonical bytes. It imports nothing
// of ospbox.
package jsondoc

import (
	"encoding/json"
	"strings"
)

// Kind is the JSON type of a Node.
type Kind uint8

// The JSON value kinds.
const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object
)

func (k Kind) String() string {
	return [...]string{"null", "boolean", "number", "string", "array", "object"}[k]
}

// Node is one JSON value. Numbers keep their literal text so nothing is rounded through float64.
type Node struct {
	Kind Kind
	// Text is the decoded string for String, the literal for Number, "true"/"false" for Bool.
	Text    string
	Members []Member // Object members in document order
	Items   []*Node  // Array elements
	// Start and End are byte offsets of the value in the source ([Start, End)); -1 for built nodes.
	Start, End int
}

// Member is one name/value pair of an object.
type Member struct {
	Name   string
	NameAt int // byte offset of the name's opening quote, -1 for built nodes
	Value  *Node
}

// Get returns the value of the first member called name, or nil.
func (n *Node) Get(name string) *Node {
	if n == nil || n.Kind != Object {
		return nil
	}
	for _, m := range n.Members {
		if m.Name == name {
			return m.Value
		}
	}
	return nil
}

// Has reports whether an object has a member called name.
func (n *Node) Has(name string) bool { return n.Get(name) != nil }

// Str returns the string value of member name, or "" when absent or not a string.
func (n *Node) Str(name string) string {
	if v := n.Get(name); v != nil && v.Kind == String {
		return v.Text
	}
	return ""
}

// Set replaces the value of member name, or appends the member when absent.
func (n *Node) Set(name string, v *Node) {
	for i := range n.Members {
		if n.Members[i].Name == name {
			n.Members[i].Value = v
			return
		}
	}
	n.Members = append(n.Members, Member{Name: name, NameAt: -1, Value: v})
}

// Delete removes every member called name.
func (n *Node) Delete(name string) {
	out := n.Members[:0]
	for _, m := range n.Members {
		if m.Name != name {
			out = append(out, m)
		}
	}
	n.Members = out
}

// Clone returns a deep copy of n.
func (n *Node) Clone() *Node {
	if n == nil {
		return nil
	}
	c := *n
	if n.Members != nil {
		c.Members = make([]Member, len(n.Members))
		for i, m := range n.Members {
			c.Members[i] = Member{Name: m.Name, NameAt: m.NameAt, Value: m.Value.Clone()}
		}
	}
	if n.Items != nil {
		c.Items = make([]*Node, len(n.Items))
		for i, it := range n.Items {
			c.Items[i] = it.Clone()
		}
	}
	return &c
}

// NewString builds a string node.
func NewString(s string) *Node { return &Node{Kind: String, Text: s, Start: -1, End: -1} }

// NewNumber builds a number node from a valid JSON number literal.
func NewNumber(lit string) *Node { return &Node{Kind: Number, Text: lit, Start: -1, End: -1} }

// NewBool builds a boolean node.
func NewBool(b bool) *Node {
	t := "false"
	if b {
		t = "true"
	}
	return &Node{Kind: Bool, Text: t, Start: -1, End: -1}
}

// NewNull builds a null node.
func NewNull() *Node { return &Node{Kind: Null, Start: -1, End: -1} }

// NewObject builds an empty object node; add members with Set.
func NewObject() *Node { return &Node{Kind: Object, Members: []Member{}, Start: -1, End: -1} }

// NewArray builds an array node.
func NewArray(items ...*Node) *Node {
	if items == nil {
		items = []*Node{}
	}
	return &Node{Kind: Array, Items: items, Start: -1, End: -1}
}

// NewStrings builds an array of strings.
func NewStrings(ss ...string) *Node {
	a := NewArray()
	for _, s := range ss {
		a.Items = append(a.Items, NewString(s))
	}
	return a
}

// PointerToken escapes one reference token for a JSON Pointer (RFC 6901).
func PointerToken(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return pointerEscaper.Replace(s)
}

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// Pointer is the JSON Pointer of reference tokens (SplitPointer's inverse).
func Pointer(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(PointerToken(t))
	}
	return b.String()
}

// SplitPointer turns a JSON Pointer (RFC 6901) into its unescaped reference tokens; "", the
// whole document, has none.
func SplitPointer(p string) []string {
	if p == "" {
		return nil
	}
	var toks []string
	cur := []byte{}
	for i := 1; i < len(p); i++ {
		switch {
		case p[i] == '/':
			toks = append(toks, string(cur))
			cur = cur[:0]
		case p[i] == '~' && i+1 < len(p) && p[i+1] == '0':
			cur = append(cur, '~')
			i++
		case p[i] == '~' && i+1 < len(p) && p[i+1] == '1':
			cur = append(cur, '/')
			i++
		default:
			cur = append(cur, p[i])
		}
	}
	return append(toks, string(cur))
}

// List returns an array's elements; nil for a missing value or anything but an array.
func (n *Node) List() []*Node {
	if n == nil || n.Kind != Array {
		return nil
	}
	return n.Items
}

// Strings returns the text of an array's elements (empty, never nil, for anything else), the
// form the mock's lists of type names take.
func (n *Node) Strings() []string {
	out := []string{}
	for _, it := range n.List() {
		out = append(out, it.Text)
	}
	return out
}

// Int is a non-negative integer literal's value; 0 for anything else (a missing value, a
// fraction, an exponent, a sign), which is what the mock's optional limits mean by "unset".
func (n *Node) Int() int {
	if n == nil || n.Kind != Number {
		return 0
	}
	var v int
	for _, c := range n.Text {
		if c < '0' || c > '9' {
			return 0
		}
		v = v*10 + int(c-'0')
	}
	return v
}

// RawOr is the value in compact JSON, or fallback when it is missing.
func (n *Node) RawOr(fallback string) json.RawMessage {
	if n == nil {
		return json.RawMessage(fallback)
	}
	return json.RawMessage(Compact(n))
}

// Fields returns an object's members; nil for a missing value or anything but an object.
func (n *Node) Fields() []Member {
	if n == nil || n.Kind != Object {
		return nil
	}
	return n.Members
}
