package lsp

import (
	"encoding/json"
	"strconv"
)

// cursor says where in the JSON structure an offset is, found by a scanner that tolerates the
// broken text of a document being typed (completion is asked for exactly then).
type cursor struct {
	// path leads to the object or array the cursor is directly in.
	path []string
	// key: the cursor is where a member name goes (in a name's quotes or between members).
	key bool
	// member is the name of the member whose value the cursor is in (when !key), or the name
	// the cursor is on (when key and inString).
	member string
	// inString: the cursor is inside a string; tokenStart/tokenEnd are its content's bytes.
	inString             bool
	tokenStart, tokenEnd int
	// prefix is what the string holds before the cursor.
	prefix string
	// inArray: the cursor is at an element of the array at path; index says which.
	inArray bool
	index   int
	// objectStart is the offset of the '{' of the object the cursor is in (-1 for none).
	objectStart int
}

type scanFrame struct {
	start     int
	object    bool
	expectKey bool
	key       string
	index     int
}

// cursorAt scans src up to off.
func cursorAt(src []byte, off int) cursor {
	off = max(0, min(off, len(src)))
	var stack []scanFrame
	top := func() *scanFrame {
		if len(stack) == 0 {
			return nil
		}
		return &stack[len(stack)-1]
	}
	result := func() cursor {
		c := cursor{objectStart: -1}
		for i, f := range stack {
			if i == len(stack)-1 {
				break
			}
			if f.object {
				c.path = append(c.path, f.key)
			} else {
				c.path = append(c.path, strconv.Itoa(f.index))
			}
		}
		if f := top(); f != nil {
			if f.object {
				c.key = f.expectKey
				c.member = f.key
				c.objectStart = f.start
			} else {
				c.inArray, c.index = true, f.index
			}
		}
		return c
	}
	for i := 0; i < off; i++ {
		switch ch := src[i]; ch {
		case '{':
			stack = append(stack, scanFrame{start: i, object: true, expectKey: true})
		case '[':
			stack = append(stack, scanFrame{start: i})
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case ',':
			if f := top(); f != nil {
				if f.object {
					f.expectKey, f.key = true, ""
				} else {
					f.index++
				}
			}
		case ':':
			if f := top(); f != nil && f.object {
				f.expectKey = false
			}
		case '"':
			start := i + 1
			end := stringEnd(src, start)
			if off <= end {
				// The cursor is inside this string.
				c := result()
				c.inString, c.tokenStart, c.tokenEnd = true, start, end
				c.prefix = string(src[start:off])
				if c.key {
					c.member = unquote(src[start:end])
				}
				return c
			}
			if f := top(); f != nil && f.object && f.expectKey {
				f.key = unquote(src[start:end])
			}
			i = end // the closing quote
		}
	}
	return result()
}

// stringEnd is the offset of the closing quote of the string whose content starts at start (the
// end of the line or text for an unterminated one).
func stringEnd(src []byte, start int) int {
	for i := start; i < len(src); i++ {
		switch src[i] {
		case '\\':
			i++
		case '"', '\n':
			return i
		}
	}
	return len(src)
}

func unquote(raw []byte) string {
	var s string
	if err := json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &s); err != nil {
		return string(raw)
	}
	return s
}

// memberNames are the names the object starting at start has, read as leniently as cursorAt
// reads (the text may be broken anywhere around the cursor).
func memberNames(src []byte, start int) map[string]bool {
	out := map[string]bool{}
	if start < 0 || start >= len(src) || src[start] != '{' {
		return out
	}
	depth, expectKey := 0, true
	for i := start + 1; i < len(src); i++ {
		switch src[i] {
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return out
			}
			depth--
		case ',':
			if depth == 0 {
				expectKey = true
			}
		case ':':
			if depth == 0 {
				expectKey = false
			}
		case '"':
			end := stringEnd(src, i+1)
			if depth == 0 && expectKey {
				out[unquote(src[i+1:end])] = true
			}
			i = end
		}
	}
	return out
}
