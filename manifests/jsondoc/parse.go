package jsondoc

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth bounds nesting so hostile input cannot exhaust the stack.
const MaxDepth = 512

// SyntaxError is a JSON syntax error at a byte offset of the source.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string { return e.Msg }

// Duplicate records a member name that occurs twice in one object.
type Duplicate struct {
	Pointer string // JSON Pointer of the second occurrence
	Name    string
	Offset  int // byte offset of the second occurrence's name
	FirstAt int // byte offset of the first occurrence's name
}

// Document is a parsed JSON text with the means to turn offsets into line:column.
type Document struct {
	Root       *Node
	Duplicates []Duplicate
	src        []byte
	lineStarts []int
	lines      sync.Once // lineStarts is built on first use, safely from any goroutine
}

// Parse decodes data strictly: invalid UTF-8, trailing data, control characters in strings and
// nesting deeper than MaxDepth are errors. Duplicate member names do not stop parsing; they are
// listed in Document.Duplicates (the last value wins in Root, as with most decoders, but callers
// treat duplicates as errors).
func Parse(data []byte) (*Document, error) {
	p := &parser{src: data}
	d := &Document{src: data}
	p.doc = d
	p.skipSpace()
	root, err := p.value(0)
	if err != nil {
		return d, err
	}
	p.skipSpace()
	if p.pos < len(p.src) {
		return d, p.errf("unexpected %s after the top-level value", p.describe())
	}
	d.Root = root
	return d, nil
}

// Source returns the bytes the document was parsed from.
func (d *Document) Source() []byte { return d.src }

// Position turns a byte offset into a 1-based line and a 1-based column counted in characters
// (Unicode code points), which is what editors show.
func (d *Document) Position(offset int) (line, col int) {
	d.lines.Do(func() {
		d.lineStarts = []int{0}
		for i, b := range d.src {
			if b == '\n' {
				d.lineStarts = append(d.lineStarts, i+1)
			}
		}
	})
	if offset < 0 {
		offset = 0
	}
	if offset > len(d.src) {
		offset = len(d.src)
	}
	lo, hi := 0, len(d.lineStarts)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if d.lineStarts[mid] <= offset {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	start := d.lineStarts[lo]
	return lo + 1, utf8.RuneCount(d.src[start:offset]) + 1
}

// Lookup resolves a JSON Pointer against the root; nil when it names nothing.
func (d *Document) Lookup(pointer string) *Node {
	n := d.Root
	if pointer == "" {
		return n
	}
	for _, tok := range SplitPointer(pointer) {
		switch {
		case n == nil:
			return nil
		case n.Kind == Object:
			n = n.Get(tok)
		case n.Kind == Array:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n.Items) {
				return nil
			}
			n = n.Items[i]
		default:
			return nil
		}
	}
	return n
}

type parser struct {
	src  []byte
	pos  int
	doc  *Document
	path []pathElem // where the parser is, turned into a JSON Pointer only when needed
	slab []Node     // nodes are carved from slabs: one allocation per 256 values, not one each
}

// node returns a fresh node from the slab.
func (p *parser) node(k Kind, start int) *Node {
	if len(p.slab) == 0 {
		// A small text holds few values (typical JSON spends 10–20 bytes on one), so its first
		// slab is sized to it: a 60-byte request body does not clear 22 KB of nodes. A text
		// denser than that only takes another slab.
		size := 256
		if p.slab == nil {
			size = min(size, len(p.src)/8+4)
		}
		p.slab = make([]Node, size)
	}
	n := &p.slab[0]
	p.slab = p.slab[1:]
	n.Kind, n.Start = k, start
	return n
}

// pathElem is one step of the current location: a member name or an array index.
type pathElem struct {
	name  string
	index int // -1 for a member
}

func (p *parser) pointer() string {
	var b strings.Builder
	for _, e := range p.path {
		b.WriteByte('/')
		if e.index >= 0 {
			b.WriteString(strconv.Itoa(e.index))
		} else {
			b.WriteString(PointerToken(e.name))
		}
	}
	return b.String()
}

func (p *parser) errf(format string, args ...any) error {
	return &SyntaxError{Offset: p.pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) describe() string {
	if p.pos >= len(p.src) {
		return "end of input"
	}
	r, _ := utf8.DecodeRune(p.src[p.pos:])
	if r == utf8.RuneError {
		return "invalid UTF-8"
	}
	return strconv.QuoteRune(r)
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value(depth int) (*Node, error) {
	if depth > MaxDepth {
		return nil, p.errf("nesting deeper than %d levels", MaxDepth)
	}
	if p.pos >= len(p.src) {
		return nil, p.errf("unexpected end of input, expected a value")
	}
	start := p.pos
	switch c := p.src[p.pos]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		n := p.node(String, start)
		n.Text, n.End = s, p.pos
		return n, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == 't':
		return p.literal("true", Bool)
	case c == 'f':
		return p.literal("false", Bool)
	case c == 'n':
		return p.literal("null", Null)
	default:
		return nil, p.errf("unexpected %s, expected a value", p.describe())
	}
}

func (p *parser) literal(word string, k Kind) (*Node, error) {
	start := p.pos
	if len(p.src)-p.pos < len(word) || string(p.src[p.pos:p.pos+len(word)]) != word {
		return nil, p.errf("invalid literal, expected %q", word)
	}
	p.pos += len(word)
	n := p.node(k, start)
	n.End = p.pos
	if k == Bool {
		n.Text = word
	}
	return n, nil
}

func (p *parser) number() (*Node, error) {
	start := p.pos
	end, problem := NumberEnd(p.src, p.pos)
	p.pos = end
	if problem != "" {
		return nil, p.errf("%s", problem)
	}
	n := p.node(Number, start)
	n.Text, n.End = string(p.src[start:p.pos]), p.pos
	return n, nil
}

// NumberEnd scans the JSON number (RFC 8259 §6) that starts at src[pos] and returns where it ends,
// or where it goes wrong and why. The parser and the request log's redactor (which copies bodies
// without a tree) share it, so both accept the same numbers.
func NumberEnd(src []byte, pos int) (int, string) {
	digits := func() int {
		n := 0
		for pos < len(src) && src[pos] >= '0' && src[pos] <= '9' {
			pos++
			n++
		}
		return n
	}
	if pos < len(src) && src[pos] == '-' {
		pos++
	}
	if pos < len(src) && src[pos] == '0' {
		pos++
		if pos < len(src) && src[pos] >= '0' && src[pos] <= '9' {
			return pos, "numbers must not have leading zeros"
		}
	} else if digits() == 0 {
		return pos, "invalid number: expected a digit"
	}
	if pos < len(src) && src[pos] == '.' {
		pos++
		if digits() == 0 {
			return pos, "invalid number: expected a digit after the decimal point"
		}
	}
	if pos < len(src) && (src[pos] == 'e' || src[pos] == 'E') {
		pos++
		if pos < len(src) && (src[pos] == '+' || src[pos] == '-') {
			pos++
		}
		if digits() == 0 {
			return pos, "invalid number: expected a digit in the exponent"
		}
	}
	return pos, ""
}

func (p *parser) str() (string, error) {
	p.pos++ // opening quote
	var out []byte
	runStart := p.pos
	for {
		if p.pos >= len(p.src) {
			return "", p.errf("unterminated string")
		}
		c := p.src[p.pos]
		switch {
		case c == '"':
			var s string
			if out == nil {
				s = string(p.src[runStart:p.pos]) // no escapes: one allocation
			} else {
				s = string(append(out, p.src[runStart:p.pos]...))
			}
			p.pos++
			return s, nil
		case c == '\\':
			out = append(out, p.src[runStart:p.pos]...)
			if err := p.escape(&out); err != nil {
				return "", err
			}
			runStart = p.pos
		case c < 0x20:
			return "", p.errf("control character U+%04X must be escaped in a string", c)
		case c < utf8.RuneSelf:
			p.pos++
		default:
			r, size := utf8.DecodeRune(p.src[p.pos:])
			if r == utf8.RuneError && size <= 1 {
				return "", p.errf("invalid UTF-8 in string")
			}
			p.pos += size
		}
	}
}

func (p *parser) escape(out *[]byte) error {
	p.pos++ // backslash
	if p.pos >= len(p.src) {
		return p.errf("unterminated escape")
	}
	c := p.src[p.pos]
	p.pos++
	switch c {
	case '"', '\\', '/':
		*out = append(*out, c)
	case 'b':
		*out = append(*out, '\b')
	case 'f':
		*out = append(*out, '\f')
	case 'n':
		*out = append(*out, '\n')
	case 'r':
		*out = append(*out, '\r')
	case 't':
		*out = append(*out, '\t')
	case 'u':
		r, err := p.hex4()
		if err != nil {
			return err
		}
		if utf16.IsSurrogate(r) {
			r2 := rune(-1)
			if p.pos+1 < len(p.src) && p.src[p.pos] == '\\' && p.src[p.pos+1] == 'u' {
				save := p.pos
				p.pos += 2
				if r2, err = p.hex4(); err != nil {
					return err
				}
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					r = dec
				} else {
					p.pos = save
					r = utf8.RuneError
				}
			} else {
				r = utf8.RuneError
			}
		}
		*out = utf8.AppendRune(*out, r)
	default:
		p.pos--
		return p.errf("invalid escape \\%c", c)
	}
	return nil
}

func (p *parser) hex4() (rune, error) {
	if len(p.src)-p.pos < 4 {
		return 0, p.errf("invalid \\u escape: expected four hex digits")
	}
	v, err := strconv.ParseUint(string(p.src[p.pos:p.pos+4]), 16, 32)
	if err != nil {
		return 0, p.errf("invalid \\u escape: expected four hex digits")
	}
	p.pos += 4
	return rune(v), nil
}

func (p *parser) object(depth int) (*Node, error) {
	n := p.node(Object, p.pos)
	n.Members = []Member{}
	p.pos++
	var seen map[string]int // only for large objects; small ones are scanned
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		p.pos++
		n.End = p.pos
		return n, nil
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != '"' {
			return nil, p.errf("unexpected %s, expected a member name in double quotes", p.describe())
		}
		nameAt := p.pos
		name, err := p.str()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != ':' {
			return nil, p.errf("unexpected %s, expected ':' after member name %q", p.describe(), name)
		}
		p.pos++
		p.skipSpace()
		p.path = append(p.path, pathElem{name: name, index: -1})
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		first, dup := seen[name]
		if seen == nil {
			for _, m := range n.Members {
				if m.Name == name {
					first, dup = m.NameAt, true
					break
				}
			}
		}
		if dup {
			p.doc.Duplicates = append(p.doc.Duplicates, Duplicate{Pointer: p.pointer(), Name: name, Offset: nameAt, FirstAt: first})
			for i := range n.Members {
				if n.Members[i].Name == name {
					n.Members[i].Value = v
				}
			}
		} else {
			if seen == nil && len(n.Members) >= 16 {
				seen = make(map[string]int, 32)
				for _, m := range n.Members {
					seen[m.Name] = m.NameAt
				}
			}
			if seen != nil {
				seen[name] = nameAt
			}
			n.Members = append(n.Members, Member{Name: name, NameAt: nameAt, Value: v})
		}
		p.path = p.path[:len(p.path)-1]
		p.skipSpace()
		if p.pos >= len(p.src) {
			return nil, p.errf("unexpected end of input, expected ',' or '}'")
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			n.End = p.pos
			return n, nil
		default:
			return nil, p.errf("unexpected %s, expected ',' or '}'", p.describe())
		}
	}
}

func (p *parser) array(depth int) (*Node, error) {
	n := p.node(Array, p.pos)
	n.Items = []*Node{}
	p.pos++
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == ']' {
		p.pos++
		n.End = p.pos
		return n, nil
	}
	for {
		p.skipSpace()
		p.path = append(p.path, pathElem{index: len(n.Items)})
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		p.path = p.path[:len(p.path)-1]
		n.Items = append(n.Items, v)
		p.skipSpace()
		if p.pos >= len(p.src) {
			return nil, p.errf("unexpected end of input, expected ',' or ']'")
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			n.End = p.pos
			return n, nil
		default:
			return nil, p.errf("unexpected %s, expected ',' or ']'", p.describe())
		}
	}
}
