package lsp

import (
	"unicode/utf16"
	"unicode/utf8"

	protocol "github.com/tliron/glsp/protocol_3_16"
)

// text is a document's bytes with its line starts. LSP positions are 0-based lines and UTF-16
// code units within the line; the validator's are 1-based lines and code points. text converts
// between them and byte offsets.
type text struct {
	src        []byte
	lineStarts []int // LSP lines: \n, \r\n and \r end one
	// lfStarts are the validator's lines, which only \n ends; the same slice as lineStarts
	// unless the text has a bare \r.
	lfStarts []int
}

func newText(src []byte) *text {
	t := &text{src: src, lineStarts: []int{0}}
	bareCR := false
	for i := 0; i < len(src); i++ {
		switch src[i] {
		case '\n':
			t.lineStarts = append(t.lineStarts, i+1)
		case '\r':
			if i+1 < len(src) && src[i+1] == '\n' {
				i++
			} else {
				bareCR = true
			}
			t.lineStarts = append(t.lineStarts, i+1)
		}
	}
	t.lfStarts = t.lineStarts
	if bareCR {
		t.lfStarts = []int{0}
		for i, b := range src {
			if b == '\n' {
				t.lfStarts = append(t.lfStarts, i+1)
			}
		}
	}
	return t
}

// lineEnd is the byte offset where line ends, before its line break.
func (t *text) lineEnd(line int) int {
	if line+1 >= len(t.lineStarts) {
		return len(t.src)
	}
	end := t.lineStarts[line+1]
	for end > t.lineStarts[line] && (t.src[end-1] == '\n' || t.src[end-1] == '\r') {
		end--
	}
	return end
}

// offset is the byte offset of an LSP position, clamped to the text (a position past the end of
// a line means its end, as the protocol says).
func (t *text) offset(p protocol.Position) int {
	line := int(p.Line)
	if line >= len(t.lineStarts) {
		return len(t.src)
	}
	i, end := t.lineStarts[line], t.lineEnd(line)
	for units := 0; i < end; {
		r, size := utf8.DecodeRune(t.src[i:end])
		w := utf16.RuneLen(r)
		if w < 0 {
			w = 1
		}
		if units+w > int(p.Character) {
			break
		}
		units += w
		i += size
	}
	return i
}

// position is the LSP position of a byte offset.
func (t *text) position(off int) protocol.Position {
	off = max(0, min(off, len(t.src)))
	lo, hi := 0, len(t.lineStarts)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if t.lineStarts[mid] <= off {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return protocol.Position{Line: uint32(lo), Character: uint32(utf16Len(t.src[t.lineStarts[lo]:off]))}
}

// fromValidator is the LSP position of the validator's 1-based line and code-point column.
func (t *text) fromValidator(line, col int) protocol.Position {
	if line < 1 {
		return protocol.Position{}
	}
	if line > len(t.lfStarts) {
		return t.position(len(t.src))
	}
	i, end := t.lfStarts[line-1], len(t.src)
	for n := 1; n < col && i < end; n++ {
		_, size := utf8.DecodeRune(t.src[i:])
		i += size
	}
	return t.position(i)
}

// end is the position just past the last character.
func (t *text) end() protocol.Position { return t.position(len(t.src)) }

func utf16Len(b []byte) int {
	n := 0
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if w := utf16.RuneLen(r); w > 0 {
			n += w
		} else {
			n++
		}
		b = b[size:]
	}
	return n
}
