package manifests

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Counts of findings across reports.
type Tally struct{ Files, Errors, Warnings, Infos int }

// Count adds up the findings of reports.
func Count(reports []Report) Tally {
	t := Tally{Files: len(reports)}
	for _, r := range reports {
		t.Errors += len(r.Errors)
		for _, w := range r.Warnings {
			if w.Severity == SeverityInfo {
				t.Infos++
			} else {
				t.Warnings++
			}
		}
	}
	return t
}

// sortedFindings returns a report's findings in file order: by line, then column.
func sortedFindings(r Report) []Diagnostic {
	all := append(append([]Diagnostic{}, r.Errors...), r.Warnings...)
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].Line != all[j].Line {
			return all[i].Line < all[j].Line
		}
		return all[i].Column < all[j].Column
	})
	return all
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
	ansiGreen  = "\x1b[32m"
)

// WriteText writes compiler-style lines, `path:line:col: severity: message [rule]`, grouped by
// file in file order, then a summary. colour adds ANSI colours and a blank line between files.
func WriteText(w io.Writer, reports []Report, colour bool) {
	paint := func(code, s string) string {
		if !colour {
			return s
		}
		return code + s + ansiReset
	}
	for i, r := range reports {
		findings := sortedFindings(r)
		if colour && i > 0 && len(findings) > 0 {
			fmt.Fprintln(w)
		}
		for _, d := range findings {
			where := d.File
			if d.Line > 0 {
				where = fmt.Sprintf("%s:%d:%d", d.File, d.Line, d.Column)
			}
			sev := string(d.Severity)
			switch d.Severity {
			case SeverityError:
				sev = paint(ansiRed+ansiBold, sev)
			case SeverityWarning:
				sev = paint(ansiYellow, sev)
			default:
				sev = paint(ansiCyan, sev)
			}
			fmt.Fprintf(w, "%s: %s: %s [%s]\n", paint(ansiBold, where), sev, d.Message, d.Rule)
		}
	}
	t := Count(reports)
	summary := fmt.Sprintf("%s checked: %s, %s, %s", Plural(t.Files, "file"), Plural(t.Errors, "error"), Plural(t.Warnings, "warning"), Plural(t.Infos, "notice"))
	if t.Errors == 0 {
		fmt.Fprintln(w, paint(ansiGreen, summary))
		return
	}
	fmt.Fprintln(w, paint(ansiRed+ansiBold, summary))
}

// WriteJSON writes the reports as a JSON array, one validator report per file.
func WriteJSON(w io.Writer, reports []Report) error {
	if reports == nil {
		reports = []Report{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(reports)
}

// SARIF 2.1.0, the subset code-scanning uploads read.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID               string       `json:"id"`
	ShortDescription sarifMessage `json:"shortDescription"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Message   sarifMessage    `json:"message"`
	Locations []sarifLocation `json:"locations"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn"`
	EndLine     int `json:"endLine,omitempty"`
	EndColumn   int `json:"endColumn,omitempty"`
}

// WriteSARIF writes the findings as a SARIF 2.1.0 log for code-scanning tools.
func WriteSARIF(w io.Writer, reports []Report, version string) error {
	run := sarifRun{Tool: sarifTool{Driver: sarifDriver{Name: "ospbox", Version: version, Rules: []sarifRule{}}}, Results: []sarifResult{}}
	ruleIndex := map[string]int{}
	for _, r := range reports {
		for _, d := range sortedFindings(r) {
			idx, ok := ruleIndex[d.Rule]
			if !ok {
				idx = len(run.Tool.Driver.Rules)
				ruleIndex[d.Rule] = idx
				run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{ID: d.Rule, ShortDescription: sarifMessage{Text: RuleDoc(d.Rule)}})
			}
			level := map[Severity]string{SeverityError: "error", SeverityWarning: "warning", SeverityInfo: "note"}[d.Severity]
			loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: d.File}}}
			if d.Line > 0 {
				loc.PhysicalLocation.Region = &sarifRegion{StartLine: d.Line, StartColumn: d.Column, EndLine: d.EndLine, EndColumn: d.EndColumn}
			}
			run.Results = append(run.Results, sarifResult{RuleID: d.Rule, RuleIndex: idx, Level: level, Message: sarifMessage{Text: d.Message}, Locations: []sarifLocation{loc}})
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}})
}

// Plural writes "1 request", "3 requests", "2 boxes": every count ospbox prints reads as English.
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "x") || strings.HasSuffix(noun, "s") {
		return strconv.Itoa(n) + " " + noun + "es"
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
