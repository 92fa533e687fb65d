package check

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/ospbox/ospbox/manifests"
)

// Progress writes one line per result as a text run goes.
func Progress(w io.Writer) func(Result) {
	return func(r Result) {
		mark := map[Status]string{Pass: "✓", Fail: "✗", Skip: "–"}[r.Status]
		fmt.Fprintf(w, "%s %-6s %-34s %s\n", mark, r.Level, r.ID, r.Description)
		if r.Status != Pass && r.Evidence != "" {
			if r.Request != "" {
				fmt.Fprintf(w, "         request:  %s\n", r.Request)
			}
			fmt.Fprintf(w, "         evidence: %s\n", r.Evidence)
		}
	}
}

// WriteSummary writes the table that ends a text run.
func WriteSummary(w io.Writer, rep *Report) {
	protocols := strings.Split(rep.Protocol, "+")
	for _, p := range protocols {
		counts := map[Level][3]int{}
		needKey := 0
		family := p
		if p == "best" {
			family = "bsp" // BEST's checks are the BSP ones
		}
		for _, r := range rep.Results {
			if len(protocols) > 1 && protocolOf(r) != family {
				continue
			}
			c := counts[r.Level]
			switch r.Status {
			case Pass:
				c[0]++
			case Fail:
				c[1]++
			default:
				c[2]++
				if strings.Contains(r.Evidence, "pass --api-key") {
					needKey++
				}
			}
			counts[r.Level] = c
		}
		fmt.Fprintf(w, "\n%s checks of %s\n", strings.ToUpper(p), rep.Target)
		fmt.Fprintf(w, "  %-7s %6s %6s %7s\n", "level", "passed", "failed", "skipped")
		for _, l := range []Level{Must, Should, May} {
			if c, ok := counts[l]; ok {
				fmt.Fprintf(w, "  %-7s %6d %6d %7d\n", l, c[0], c[1], c[2])
			}
		}
		if needKey > 0 {
			fmt.Fprintf(w, "  %s need the credential the manifest declares: pass --api-key\n", manifests.Plural(needKey, "check"))
		}
	}
	verdict := "conformant: no MUST check failed"
	if rep.MustFailed > 0 {
		verdict = "not conformant: " + manifests.Plural(rep.MustFailed, "MUST check") + " failed"
	}
	fmt.Fprintln(w, verdict)
}

// WriteJSON writes the report as JSON.
func WriteJSON(w io.Writer, rep *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// WriteJUnit writes the report as JUnit XML, one test case per check, for CI systems.
func WriteJUnit(w io.Writer, rep *Report) error {
	type failure struct {
		Message string `xml:"message,attr"`
		Text    string `xml:",chardata"`
	}
	type skipped struct {
		Message string `xml:"message,attr"`
	}
	type testcase struct {
		Name      string   `xml:"name,attr"`
		Classname string   `xml:"classname,attr"`
		Time      string   `xml:"time,attr"`
		Failure   *failure `xml:"failure,omitempty"`
		Skipped   *skipped `xml:"skipped,omitempty"`
	}
	type suite struct {
		XMLName  xml.Name   `xml:"testsuite"`
		Name     string     `xml:"name,attr"`
		Tests    int        `xml:"tests,attr"`
		Failures int        `xml:"failures,attr"`
		Skipped  int        `xml:"skipped,attr"`
		Cases    []testcase `xml:"testcase"`
	}
	s := suite{Name: "ospbox check " + rep.Protocol + " " + rep.Target, Tests: len(rep.Results), Failures: rep.Failed, Skipped: rep.Skipped}
	for _, r := range rep.Results {
		c := testcase{Name: r.ID + ": " + r.Description, Classname: protocolOf(r) + "." + strings.ToLower(string(r.Level)),
			Time: fmt.Sprintf("%.3f", r.Duration.Seconds())}
		switch r.Status {
		case Fail:
			c.Failure = &failure{Message: r.Evidence, Text: r.Request}
		case Skip:
			c.Skipped = &skipped{Message: r.Evidence}
		}
		s.Cases = append(s.Cases, c)
	}
	io.WriteString(w, xml.Header)
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(s); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// protocolOf is the protocol a result's check belongs to: its id's first part (osp, bsp, oap).
func protocolOf(r Result) string {
	p, _, _ := strings.Cut(r.ID, ".")
	return p
}
