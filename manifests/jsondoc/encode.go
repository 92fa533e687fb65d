package jsondoc

import (
	"bytes"
	"sort"
	"strings"
)

// Canonical writes n in OSP's canonical form (OSP spec App. D): members sorted by code point at
// every depth, no whitespace, minimal string escaping, number literals as written.
func Canonical(n *Node) []byte {
	var b bytes.Buffer
	writeCompact(&b, n, true)
	return b.Bytes()
}

// Compact writes n without whitespace, keeping member order.
func Compact(n *Node) []byte {
	var b bytes.Buffer
	writeCompact(&b, n, false)
	return b.Bytes()
}

func writeCompact(b *bytes.Buffer, n *Node, sorted bool) {
	switch n.Kind {
	case Object:
		ms := n.Members
		if sorted {
			ms = append([]Member(nil), n.Members...)
			// Code-point order equals byte order of the UTF-8 encodings.
			sort.SliceStable(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
		}
		b.WriteByte('{')
		for i, m := range ms {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, m.Name)
			b.WriteByte(':')
			writeCompact(b, m.Value, sorted)
		}
		b.WriteByte('}')
	case Array:
		b.WriteByte('[')
		for i, it := range n.Items {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCompact(b, it, sorted)
		}
		b.WriteByte(']')
	default:
		writeScalar(b, n)
	}
}

// Indent writes n with two-space indentation, keeping member order. Short arrays of scalars stay
// on one line, so price lists and method lists read the way people write them.
func Indent(n *Node) []byte {
	var b bytes.Buffer
	writeIndent(&b, n, 0)
	b.WriteByte('\n')
	return b.Bytes()
}

func writeIndent(b *bytes.Buffer, n *Node, depth int) {
	pad := strings.Repeat("  ", depth+1)
	switch n.Kind {
	case Object:
		if len(n.Members) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteString("{\n")
		for i, m := range n.Members {
			b.WriteString(pad)
			writeString(b, m.Name)
			b.WriteString(": ")
			writeIndent(b, m.Value, depth+1)
			if i < len(n.Members)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(strings.Repeat("  ", depth))
		b.WriteByte('}')
	case Array:
		if len(n.Items) == 0 {
			b.WriteString("[]")
			return
		}
		if scalarsOnly(n.Items) {
			b.WriteByte('[')
			for i, it := range n.Items {
				if i > 0 {
					b.WriteString(", ")
				}
				writeScalar(b, it)
			}
			b.WriteByte(']')
			return
		}
		b.WriteString("[\n")
		for i, it := range n.Items {
			b.WriteString(pad)
			writeIndent(b, it, depth+1)
			if i < len(n.Items)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(strings.Repeat("  ", depth))
		b.WriteByte(']')
	default:
		writeScalar(b, n)
	}
}

func scalarsOnly(items []*Node) bool {
	for _, it := range items {
		if it.Kind == Object || it.Kind == Array {
			return false
		}
	}
	return true
}

func writeScalar(b *bytes.Buffer, n *Node) {
	switch n.Kind {
	case Null:
		b.WriteString("null")
	case Bool, Number:
		b.WriteString(n.Text)
	case String:
		writeString(b, n.Text)
	}
}

const hexDigits = "0123456789abcdef"

func writeString(b *bytes.Buffer, s string) { b.Write(AppendString(b.AvailableBuffer(), s)) }

// AppendString appends s as a JSON string the way Compact writes strings: the two characters
// JSON requires and the control characters escaped, everything else as is. Callers that copy
// JSON through without a tree (the request log's redactor) use it to write identical bytes.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			b = append(b, `\"`...)
		case c == '\\':
			b = append(b, `\\`...)
		case c == '\b':
			b = append(b, `\b`...)
		case c == '\f':
			b = append(b, `\f`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '\r':
			b = append(b, `\r`...)
		case c == '\t':
			b = append(b, `\t`...)
		case c < 0x20:
			b = append(b, `\u00`...)
			b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
