package kernel

import (
	"bytes"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/ospbox/ospbox/manifests/jsondoc"
)

// The request log redacts every body it keeps, so redaction runs once per request. A copier that
// walks the bytes once, validating as strictly as jsondoc.Parse and writing the compact form as it
// goes, does it without building a tree. Anything it does not handle itself (an escape in a value
// it must write, a duplicate member name, a very wide object, a non-ASCII member name, invalid
// JSON) sends the body to the tree-based redactor, so both give the same bytes for every input
// (FuzzRedactCopyMatchesTree holds them to it).

// errTreePath says the tree-based redactor must handle this body.
var errTreePath = errors.New("redact: needs the tree")

// maxCopiedMembers bounds the duplicate check's linear scan; wider objects take the tree path.
const maxCopiedMembers = 64

type redactCopier struct {
	src   []byte
	pos   int
	out   []byte
	names [][2]int // spans in src of the member names of the objects being copied, innermost last
}

// redactCopy is RedactJSON without a tree; errTreePath when the body needs one.
func redactCopy(body []byte) (string, error) {
	c := redactCopier{src: body, out: make([]byte, 0, len(body)+16)}
	c.skipSpace()
	if err := c.value(0, true); err != nil {
		return "", err
	}
	c.skipSpace()
	if c.pos != len(c.src) {
		return "", errTreePath
	}
	return string(c.out), nil
}

func (c *redactCopier) skipSpace() {
	for c.pos < len(c.src) {
		switch c.src[c.pos] {
		case ' ', '\t', '\n', '\r':
			c.pos++
		default:
			return
		}
	}
}

// value copies (emit) or only validates (a value being replaced by the marker) one JSON value.
func (c *redactCopier) value(depth int, emit bool) error {
	if depth > jsondoc.MaxDepth || c.pos >= len(c.src) {
		return errTreePath
	}
	start := c.pos
	var err error
	switch ch := c.src[c.pos]; {
	case ch == '{':
		return c.object(depth, emit)
	case ch == '[':
		return c.array(depth, emit)
	case ch == '"':
		var raw []byte
		if raw, err = c.str(emit); err != nil {
			return err
		}
		if emit {
			c.appendStringValue(raw)
		}
		return nil
	case ch == '-' || (ch >= '0' && ch <= '9'):
		err = c.number()
	case ch == 't':
		err = c.literal("true")
	case ch == 'f':
		err = c.literal("false")
	case ch == 'n':
		err = c.literal("null")
	default:
		return errTreePath
	}
	if err == nil && emit {
		c.out = append(c.out, c.src[start:c.pos]...)
	}
	return err
}

// appendStringValue writes a string without escapes, hiding a password inside a URL.
func (c *redactCopier) appendStringValue(raw []byte) {
	if bytes.Contains(raw, []byte("://")) && bytes.IndexByte(raw, '@') >= 0 {
		s := string(raw)
		if r := RedactURL(s); r != s {
			c.out = jsondoc.AppendString(c.out, r)
			return
		}
	}
	c.out = append(c.out, '"')
	c.out = append(c.out, raw...)
	c.out = append(c.out, '"')
}

func (c *redactCopier) literal(word string) error {
	if !bytes.HasPrefix(c.src[c.pos:], []byte(word)) {
		return errTreePath
	}
	c.pos += len(word)
	return nil
}

// number steps over a number by jsondoc's own grammar.
func (c *redactCopier) number() error {
	end, problem := jsondoc.NumberEnd(c.src, c.pos)
	c.pos = end
	if problem != "" {
		return errTreePath
	}
	return nil
}

// str scans a string and returns its raw bytes between the quotes. Escapes are validated; a
// string with escapes that is to be written or compared (emit) takes the tree path, whose decoder
// normalises them.
func (c *redactCopier) str(emit bool) ([]byte, error) {
	c.pos++ // opening quote
	start := c.pos
	ascii := true
	for c.pos < len(c.src) {
		ch := c.src[c.pos]
		switch {
		case ch == '"':
			raw := c.src[start:c.pos]
			c.pos++
			if !ascii && !utf8.Valid(raw) {
				return nil, errTreePath
			}
			return raw, nil
		case ch == '\\':
			if emit || !c.escape() {
				return nil, errTreePath
			}
		case ch < 0x20:
			return nil, errTreePath
		default:
			ascii = ascii && ch < utf8.RuneSelf
			c.pos++
		}
	}
	return nil, errTreePath
}

// escape steps over one valid escape sequence.
func (c *redactCopier) escape() bool {
	c.pos++ // backslash
	if c.pos >= len(c.src) {
		return false
	}
	ch := c.src[c.pos]
	c.pos++
	switch ch {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return true
	case 'u':
		if len(c.src)-c.pos < 4 {
			return false
		}
		for _, h := range c.src[c.pos : c.pos+4] {
			if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
				return false
			}
		}
		c.pos += 4
		return true
	}
	return false
}

func (c *redactCopier) object(depth int, emit bool) error {
	c.pos++
	if emit {
		c.out = append(c.out, '{')
	}
	firstName := len(c.names)
	defer func() { c.names = c.names[:firstName] }()
	c.skipSpace()
	if c.pos < len(c.src) && c.src[c.pos] == '}' {
		c.pos++
		if emit {
			c.out = append(c.out, '}')
		}
		return nil
	}
	for members := 0; ; members++ {
		c.skipSpace()
		if c.pos >= len(c.src) || c.src[c.pos] != '"' {
			return errTreePath
		}
		nameAt := c.pos + 1
		name, err := c.str(emit)
		if err != nil {
			return err
		}
		c.skipSpace()
		if c.pos >= len(c.src) || c.src[c.pos] != ':' {
			return errTreePath
		}
		c.pos++
		c.skipSpace()
		if !emit {
			if err := c.value(depth+1, false); err != nil {
				return err
			}
		} else {
			if members >= maxCopiedMembers {
				return errTreePath
			}
			for _, span := range c.names[firstName:] {
				if bytes.Equal(c.src[span[0]:span[1]], name) {
					return errTreePath // a duplicate: the tree keeps the last value in the first place
				}
			}
			c.names = append(c.names, [2]int{nameAt, nameAt + len(name)})
			if members > 0 {
				c.out = append(c.out, ',')
			}
			c.out = append(c.out, '"')
			c.out = append(c.out, name...)
			c.out = append(c.out, '"', ':')
			if err := c.member(name, depth); err != nil {
				return err
			}
		}
		c.skipSpace()
		if c.pos >= len(c.src) {
			return errTreePath
		}
		switch c.src[c.pos] {
		case ',':
			c.pos++
		case '}':
			c.pos++
			if emit {
				c.out = append(c.out, '}')
			}
			return nil
		default:
			return errTreePath
		}
	}
}

// member writes one member's value, or the marker in its place, by the rules of redactNode.
func (c *redactCopier) member(name []byte, depth int) error {
	var lower [32]byte
	var n string
	for i, ch := range name {
		if ch >= utf8.RuneSelf || i == len(lower) {
			n = strings.ToLower(string(name)) // Unicode case rules, as the tree path applies them
			break
		}
		if ch >= 'A' && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		lower[i] = ch
	}
	if n == "" {
		n = string(lower[:len(name)]) // does not escape: the compiler keeps it on the stack
	}
	if c.pos >= len(c.src) {
		return errTreePath
	}
	first := c.src[c.pos]
	replace := wholeSecrets[n] && first != 'n'
	if !replace && first != '{' && first != '[' && first != 'n' {
		for _, w := range secretParts {
			if strings.Contains(n, w) {
				replace = true
				break
			}
		}
	}
	if !replace {
		return c.value(depth+1, true)
	}
	// "null" starting with n is the one value kept; anything else starting with n is invalid
	// and fails in value below.
	c.out = append(c.out, `"`+Redacted+`"`...)
	return c.value(depth+1, false)
}

func (c *redactCopier) array(depth int, emit bool) error {
	c.pos++
	if emit {
		c.out = append(c.out, '[')
	}
	c.skipSpace()
	if c.pos < len(c.src) && c.src[c.pos] == ']' {
		c.pos++
		if emit {
			c.out = append(c.out, ']')
		}
		return nil
	}
	for items := 0; ; items++ {
		c.skipSpace()
		if emit && items > 0 {
			c.out = append(c.out, ',')
		}
		if err := c.value(depth+1, emit); err != nil {
			return err
		}
		c.skipSpace()
		if c.pos >= len(c.src) {
			return errTreePath
		}
		switch c.src[c.pos] {
		case ',':
			c.pos++
		case ']':
			c.pos++
			if emit {
				c.out = append(c.out, ']')
			}
			return nil
		default:
			return errTreePath
		}
	}
}
