package manifests

import (
	"encoding/json"
	"sort"
	"strconv"

	"github.com/ospbox/ospbox/manifests/jsondoc"
)

// Severity of a finding.
type Severity string

// Severities, in decreasing order of weight. Only errors stop a manifest from being served.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
	SeverityInfo    Severity = "info"
)

// Diagnostic is one finding about one place in one file. Lines and columns are 1-based and count
// characters, as editors do; zero means the finding has no place in the file.
type Diagnostic struct {
	File      string   `json:"file"`
	Pointer   string   `json:"pointer"`
	Line      int      `json:"line,omitempty"`
	Column    int      `json:"column,omitempty"`
	EndLine   int      `json:"end_line,omitempty"`
	EndColumn int      `json:"end_column,omitempty"`
	Rule      string   `json:"rule"`
	Severity  Severity `json:"severity"`
	Message   string   `json:"message"`
	// Related points at the other places a cross-file finding concerns.
	Related []Location `json:"related,omitempty"`
}

// Location is a place in a workspace file.
type Location struct {
	File    string `json:"file"`
	Pointer string `json:"pointer"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message,omitempty"`
}

// Signature is the outcome of checking an authored manifest's signature.
type Signature struct {
	Status string  `json:"status"` // valid, invalid, unsigned, incomplete
	KeyID  *string `json:"key_id"`
}

// Report is the validator's verdict on one file, in the shape of spec/README.md "Validator report".
type Report struct {
	File            string       `json:"file"`
	Protocol        string       `json:"protocol"`
	Dialect         *string      `json:"dialect"`
	Generation      *string      `json:"generation"`
	DeclaredVersion string       `json:"declared_version,omitempty"`
	Signals         []string     `json:"signals"`
	Valid           bool         `json:"valid"`
	Errors          []Diagnostic `json:"errors"`
	Warnings        []Diagnostic `json:"warnings"`
	Signature       *Signature   `json:"signature,omitempty"`
}

// reporter collects findings against one parsed document.
type reporter struct {
	file string
	doc  *jsondoc.Document
	rep  *Report
	// subject names the whole document in findings about its root ("the manifest" when empty).
	subject string
}

func newReporter(file, protocol string) *reporter {
	return &reporter{file: file, rep: &Report{File: file, Protocol: protocol, Signals: []string{}, Errors: []Diagnostic{}, Warnings: []Diagnostic{}}}
}

// at records a finding for the value at pointer; the span covers that value (or the member name
// for a missing member's parent object).
func (r *reporter) at(sev Severity, pointer, rule, msg string) {
	d := Diagnostic{File: r.file, Pointer: pointer, Rule: rule, Severity: sev, Message: msg}
	if r.doc != nil {
		if n := r.doc.Lookup(pointer); n != nil && n.Start >= 0 {
			d.Line, d.Column = r.doc.Position(n.Start)
			d.EndLine, d.EndColumn = r.doc.Position(n.End)
		}
	}
	r.add(d)
}

// where describes the place of pointer for a message: "on line 12" (or the pointer when the
// value has no position).
func (r *reporter) where(pointer string) string {
	if r.doc != nil {
		if n := r.doc.Lookup(pointer); n != nil && n.Start >= 0 {
			line, col := r.doc.Position(n.Start)
			return "at " + strconv.Itoa(line) + ":" + strconv.Itoa(col)
		}
	}
	return "at " + pointer
}

// related records a finding that also concerns another place (possibly another file).
func (r *reporter) related(sev Severity, pointer, rule, msg string, others ...Location) {
	r.at(sev, pointer, rule, msg)
	list := r.rep.Errors
	if sev != SeverityError {
		list = r.rep.Warnings
	}
	if len(list) > 0 && list[len(list)-1].Rule == rule && list[len(list)-1].Pointer == pointer {
		list[len(list)-1].Related = append(list[len(list)-1].Related, others...)
	}
}

// atOffset records a finding at a byte range of the source.
func (r *reporter) atOffset(sev Severity, pointer, rule, msg string, start, end int) {
	d := Diagnostic{File: r.file, Pointer: pointer, Rule: rule, Severity: sev, Message: msg}
	if r.doc != nil {
		d.Line, d.Column = r.doc.Position(start)
		d.EndLine, d.EndColumn = r.doc.Position(end)
	}
	r.add(d)
}

func (r *reporter) add(d Diagnostic) {
	// Two checks (a schema and a semantic rule) may find the same thing: report it once. Rules
	// about members of an object legitimately repeat at one pointer, once per member.
	if d.Rule != "required" && d.Rule != "unknown_member" && d.Rule != "unknown_field" {
		for _, list := range [][]Diagnostic{r.rep.Errors, r.rep.Warnings} {
			for _, e := range list {
				if e.Pointer == d.Pointer && e.Rule == d.Rule {
					return
				}
			}
		}
	}
	if d.Severity == SeverityError {
		r.rep.Errors = append(r.rep.Errors, d)
	} else {
		r.rep.Warnings = append(r.rep.Warnings, d)
	}
}

// parse parses data strictly and records syntax and duplicate-key errors. It returns false when
// there is no tree to check further.
func (r *reporter) parse(data []byte) bool {
	if len(data) > MaxManifestBytes {
		r.at(SeverityError, "", "file_too_large", "file is larger than 1 MiB")
		return false
	}
	doc, err := jsondoc.Parse(data)
	r.doc = doc
	if err != nil {
		off := 0
		if se, ok := err.(*jsondoc.SyntaxError); ok {
			off = se.Offset
		}
		r.atOffset(SeverityError, "", "json_syntax", err.Error(), off, off)
		return false
	}
	for _, dup := range doc.Duplicates {
		l1, c1 := doc.Position(dup.FirstAt)
		r.atOffset(SeverityError, dup.Pointer, "duplicate_key",
			"member \""+dup.Name+"\" appears twice; the first is at "+strconv.Itoa(l1)+":"+strconv.Itoa(c1)+" — remove one", dup.Offset, dup.Offset+len(dup.Name)+2)
	}
	if doc.Root.Kind != jsondoc.Object {
		r.at(SeverityError, "", "not_an_object", "a manifest must be a JSON object, not "+doc.Root.Kind.String())
		return false
	}
	return true
}

// fork returns a reporter for the same document that collects findings of its own, so checks
// can run concurrently; merge brings them back.
func (r *reporter) fork() *reporter {
	return &reporter{file: r.file, doc: r.doc, rep: &Report{File: r.file, Protocol: r.rep.Protocol}}
}

// merge adds another reporter's findings, errors first, as if they had been found here.
func (r *reporter) merge(o *reporter) {
	for _, d := range o.rep.Errors {
		r.add(d)
	}
	for _, d := range o.rep.Warnings {
		r.add(d)
	}
}

// finish orders the findings by place, then rule and message, so output is stable whatever
// order the checks ran in.
func (r *reporter) finish() Report {
	for _, ds := range [][]Diagnostic{r.rep.Errors, r.rep.Warnings} {
		sort.SliceStable(ds, func(i, j int) bool {
			a, b := ds[i], ds[j]
			if a.Line != b.Line {
				return a.Line < b.Line
			}
			if a.Column != b.Column {
				return a.Column < b.Column
			}
			if a.Rule != b.Rule {
				return a.Rule < b.Rule
			}
			return a.Message < b.Message
		})
	}
	r.rep.Valid = len(r.rep.Errors) == 0
	return *r.rep
}

// MaxManifestBytes is the largest manifest file ospbox reads.
const MaxManifestBytes = 1 << 20

// MarshalJSON writes the report in the shape of spec/README.md with one addition: findings of
// severity info go under "infos", so a client reading "warnings" gets warnings only (the report
// keeps them beside the warnings in memory, where everything but an error is a notice).
func (r Report) MarshalJSON() ([]byte, error) {
	type plain Report // without this method
	out := struct {
		plain
		Infos []Diagnostic `json:"infos"`
	}{plain: plain(r), Infos: []Diagnostic{}}
	out.Warnings = []Diagnostic{}
	for _, d := range r.Warnings {
		if d.Severity == SeverityInfo {
			out.Infos = append(out.Infos, d)
		} else {
			out.Warnings = append(out.Warnings, d)
		}
	}
	if r.Errors == nil {
		out.Errors = []Diagnostic{}
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads what MarshalJSON writes, infos back among the warnings.
func (r *Report) UnmarshalJSON(b []byte) error {
	type plain Report
	var in struct {
		plain
		Infos []Diagnostic `json:"infos"`
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*r = Report(in.plain)
	r.Warnings = append(r.Warnings, in.Infos...)
	return nil
}
