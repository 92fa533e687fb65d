package jsondoc

import (
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"
)

func TestCanonicalSortsMembersAndKeepsLiterals(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"zebra":1,"apple":{"banana":true,"aardvark":[3,1,2]},"mango":null}`,
			`{"apple":{"aardvark":[3,1,2],"banana":true},"mango":null,"zebra":1}`},
		{`{"a": 1.50, "b": 1e3}`, `{"a":1.50,"b":1e3}`},
		{`{"s":"<tag> & \u2028 é \u0001 \n"}`, "{\"s\":\"<tag> & \u2028 é \\u0001 \\n\"}"},
		{`{"é":1,"z":2,"Z":3}`, `{"Z":3,"z":2,"é":1}`},
		{`["\ud83d\ude00"]`, "[\"\U0001F600\"]"},
	}
	for _, tt := range tests {
		d, err := Parse([]byte(tt.in))
		if err != nil {
			t.Fatalf("Parse(%s): %v", tt.in, err)
		}
		if got := string(Canonical(d.Root)); got != tt.want {
			t.Errorf("Canonical(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestParseRejectsWhatStrictJSONRejects(t *testing.T) {
	tests := []struct {
		name, in  string
		line, col int
	}{
		{"trailing data", "{}\n{}", 2, 1},
		{"trailing comma", "{\n  \"a\": 1,\n}", 3, 1},
		{"single quotes", "{'a':1}", 1, 2},
		{"leading zero", "[01]", 1, 3},
		{"raw newline in string", "[\"a\nb\"]", 1, 4},
		{"invalid utf-8", "[\"\xff\"]", 1, 3},
		{"unterminated", "{\"a\": [1, 2", 1, 12},
		{"empty", "", 1, 1},
		{"bad escape", `["\x"]`, 1, 4},
		{"column counts characters", "{\"é\": tru}", 1, 7},
	}
	for _, tt := range tests {
		d, err := Parse([]byte(tt.in))
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%s: want a SyntaxError, got %v", tt.name, err)
			continue
		}
		line, col := d.Position(se.Offset)
		if line != tt.line || col != tt.col {
			t.Errorf("%s: error at %d:%d, want %d:%d (%s)", tt.name, line, col, tt.line, tt.col, se.Msg)
		}
	}
}

func TestParseReportsDuplicatesAtTheSecondOccurrence(t *testing.T) {
	src := "{\n  \"offerings\": [{\"tiers\": [], \"tiers\": [1]}],\n  \"a\": 1,\n  \"a\": 2\n}"
	d, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Duplicates) != 2 {
		t.Fatalf("got %d duplicates, want 2: %+v", len(d.Duplicates), d.Duplicates)
	}
	first := d.Duplicates[0]
	if first.Pointer != "/offerings/0/tiers" {
		t.Errorf("pointer %q", first.Pointer)
	}
	if l, c := d.Position(first.Offset); l != 2 || c != 31 {
		t.Errorf("duplicate at %d:%d, want 2:31", l, c)
	}
	if l, _ := d.Position(d.Duplicates[1].Offset); l != 4 {
		t.Errorf("second duplicate on line %d, want 4", l)
	}
	if got := d.Lookup("/a"); got == nil || got.Text != "2" {
		t.Errorf("last duplicate should win, got %+v", got)
	}
}

func TestLookupFollowsEscapedPointers(t *testing.T) {
	d, err := Parse([]byte(`{"a/b":{"m~n":[10,20]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if n := d.Lookup("/a~1b/m~0n/1"); n == nil || n.Text != "20" {
		t.Errorf("Lookup = %+v", n)
	}
	if d.Lookup("/a~1b/m~0n/2") != nil || d.Lookup("/nope") != nil {
		t.Error("Lookup of a missing path must be nil")
	}
}

func TestIndentRoundTripsThroughEncodingJSON(t *testing.T) {
	src := `{"b":[1,{"x":"y"}],"a":{"p":[]},"c":"\"q\""}`
	d, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	out := Indent(d.Root)
	var got, want any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("Indent output is not JSON: %v\n%s", err, out)
	}
	_ = json.Unmarshal([]byte(src), &want)
	if gb, _ := json.Marshal(got); string(gb) != mustMarshal(want) {
		t.Errorf("round trip changed the value: %s", out)
	}
	if d.Root.Members[0].Name != "b" {
		t.Error("member order not kept")
	}
}

func mustMarshal(v any) string { b, _ := json.Marshal(v); return string(b) }

func FuzzParse(f *testing.F) {
	for _, s := range []string{`{}`, `[1,2,{"a":"b"}]`, `{"a":1,"a":2}`, `"\ud800"`, `-0.5e+3`, `{"x":[[[[]]]]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("non-syntax error %v", err)
			}
			d.Position(se.Offset)
			if json.Valid(data) && utf8.Valid(data) && len(data) < 1000 && !hasDeepNesting(data) {
				t.Fatalf("rejected valid JSON %q: %v", data, err)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		// Canonical output must itself parse and be stable.
		c := Canonical(d.Root)
		d2, err := Parse(c)
		if err != nil {
			t.Fatalf("canonical output does not parse: %q: %v", c, err)
		}
		if string(Canonical(d2.Root)) != string(c) {
			t.Fatalf("canonical form not stable for %q", data)
		}
	})
}

func hasDeepNesting(data []byte) bool {
	depth, max := 0, 0
	for _, b := range data {
		switch b {
		case '[', '{':
			depth++
			if depth > max {
				max = depth
			}
		case ']', '}':
			depth--
		}
	}
	return max > MaxDepth
}
