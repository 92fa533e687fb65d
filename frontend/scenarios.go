package frontend

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/manifests/jsondoc"
	"github.com/ospbox/ospbox/manifests/scenariofile"
	"github.com/ospbox/ospbox/mock"
	"github.com/ospbox/ospbox/mock/scenario"
	"github.com/ospbox/ospbox/storage"
)

// scenariosView is the Scenarios page: the shown namespace's rules with their counters, and the
// rule editor (empty, a rule being edited, or one made from a logged request).
type scenariosView struct {
	Rules   []scenario.Rule
	Draft   string // the editor's text
	EditID  string // the rule the editor replaces; "" adds a new one
	Message string
	Error   string
}

// ruleTemplate is the editor's text for a new rule.
const ruleTemplate = `{
  "name": "provider down for the next two provisions",
  "match": {"operation": "osp.provision"},
  "when": {"first": 2},
  "effect": {"error": "provider_unavailable", "retry_after_seconds": 5}
}`

func (u *UI) scenariosView(r *http.Request) (scenariosView, error) {
	v := scenariosView{Rules: u.Sandbox.Scenarios().List(), Draft: ruleTemplate}
	q := r.URL.Query()
	switch {
	case q.Get("edit") != "":
		rule, err := u.Sandbox.Scenarios().Get(q.Get("edit"))
		if err != nil {
			v.Error = "There is no rule " + q.Get("edit") + " in this namespace."
			break
		}
		v.EditID, v.Draft = rule.ID, ruleText(rule)
	case q.Get("from_request") != "":
		id, err := strconv.ParseInt(q.Get("from_request"), 10, 64)
		if err != nil {
			break
		}
		req, err := u.DB.RequestByID(r.Context(), id)
		if errors.Is(err, storage.ErrNotFound) {
			v.Error = "Request " + q.Get("from_request") + " is no longer in the log."
			break
		} else if err != nil {
			return v, err
		}
		v.Draft = ruleLike(req)
	}
	return v, nil
}

// ruleText is a rule as the editor shows it: without its counters and where it came from.
func ruleText(r scenario.Rule) string {
	r.Hits, r.Matched, r.Source = 0, 0, ""
	b, _ := json.Marshal(r)
	doc, err := jsondoc.Parse(b)
	if err != nil {
		return string(b)
	}
	for _, k := range []string{"hits", "matched", "source"} {
		doc.Root.Delete(k)
	}
	if r.ID == "" {
		doc.Root.Delete("id")
	}
	return string(jsondoc.Indent(doc.Root))
}

// ruleLike is a rule that fails the next call like req, once, with the protocol's "unavailable".
func ruleLike(req storage.Request) string {
	path, _, _ := strings.Cut(req.Path, "?")
	if req.Provider != "" {
		path = strings.TrimPrefix(path, "/providers/"+req.Provider)
	}
	m := scenario.Match{Protocol: req.Protocol, Provider: req.Provider, Operation: mock.OperationOf(req.Protocol, req.Method, path), Method: req.Method, Path: path}
	five := 5
	effect := scenario.Effect{Error: "provider_unavailable", RetryAfterSeconds: &five}
	if req.Protocol == "bsp" || req.Protocol == "oap" {
		effect.Error = "MANIFEST_UNAVAILABLE"
	}
	return ruleText(scenario.Rule{Name: "fail the next " + req.Method + " " + path + " (like request " + strconv.FormatInt(req.ID, 10) + ")",
		Enabled: true, Match: m, When: scenario.When{Times: 1}, Effect: effect})
}

func (u *UI) scenarios(w http.ResponseWriter, r *http.Request) {
	v, err := u.scenariosView(r)
	if err != nil {
		u.fail(w, err)
		return
	}
	u.render(w, r, scenariosPage(u.meta("Scenarios", "scenarios"), v))
}

func (u *UI) scenariosFragment(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, scenariosLive(scenariosView{Rules: u.Sandbox.Scenarios().List()}))
}

// scenarioAction adds, replaces, enables, disables or deletes a rule through the calls the
// control API makes, then shows the page with what happened.
func (u *UI) scenarioAction(w http.ResponseWriter, r *http.Request) {
	set, ctx := u.Sandbox.Scenarios(), r.Context()
	id := r.PostFormValue("id")
	v := scenariosView{Draft: r.PostFormValue("rule"), EditID: r.PostFormValue("edit")}
	var err error
	switch op := r.PostFormValue("op"); op {
	case "save":
		rule, derr := scenario.Decode([]byte(v.Draft), manifests.KnownErrorCode)
		var p *scenario.Problem
		switch {
		case errors.As(derr, &p):
			err = fmt.Errorf("the rule is not saved: %s", p.Error())
		case v.EditID != "":
			rule, err = set.Replace(ctx, v.EditID, rule)
			v.Message = "Rule " + rule.ID + " is replaced; its counters start again."
		default:
			rule, err = set.Create(ctx, rule, "api")
			v.Message = "Rule " + rule.ID + " is added. It applies to this namespace's next matching calls."
		}
		if err == nil {
			v.Draft, v.EditID = ruleTemplate, ""
		}
	case "enable", "disable":
		_, err = set.SetEnabled(ctx, id, op == "enable")
		v.Message = "Rule " + id + " is " + op + "d."
	case "delete":
		err = set.Delete(ctx, id)
		v.Message = "Rule " + id + " is deleted."
	default:
		http.Error(w, "ospbox UI: unknown scenario action "+strconv.Quote(op), http.StatusBadRequest)
		return
	}
	if errors.Is(err, scenario.ErrExists) {
		err = errors.New("a rule with this id exists; edit that one, or give this one another id")
	} else if errors.Is(err, scenario.ErrNotFound) {
		err = errors.New("there is no rule " + id + v.EditID + " in this namespace")
	}
	if err != nil {
		v.Message, v.Error = "", strings.ToUpper(err.Error()[:1])+err.Error()[1:]
	}
	v.Rules = set.List()
	if v.Draft == "" {
		v.Draft = ruleTemplate
	}
	if r.Header.Get("HX-Request") != "" {
		u.render(w, r, scenariosLive(v)) // the editor keeps its text either way
		return
	}
	u.render(w, r, scenariosPage(u.meta("Scenarios", "scenarios"), v))
}

// checkScenario validates the rule editor's text as the API would, with line and column, for the
// editor's live lint.
func (u *UI) checkScenario(w http.ResponseWriter, r *http.Request) {
	req, ok := decodeEditorRequest(w, r)
	if !ok {
		return
	}
	writeJSONResponse(w, http.StatusOK, checkRule([]byte(req.Text)))
}

// checkRule is a one-rule report in the shape the editor's lint reads.
func checkRule(text []byte) manifests.Report {
	rep := manifests.Report{File: "rule", Protocol: "scenarios", Signals: []string{}, Errors: []manifests.Diagnostic{}, Warnings: []manifests.Diagnostic{}}
	doc, err := jsondoc.Parse(text)
	at := func(rule, pointer, msg string, start, end int) {
		d := manifests.Diagnostic{File: "rule", Pointer: pointer, Rule: rule, Severity: manifests.SeverityError, Message: msg}
		if doc != nil && start >= 0 {
			d.Line, d.Column = doc.Position(start)
			d.EndLine, d.EndColumn = doc.Position(end)
		} else {
			d.Line, d.Column = 1, 1
		}
		rep.Errors = append(rep.Errors, d)
	}
	var se *jsondoc.SyntaxError
	switch {
	case errors.As(err, &se):
		at("json_syntax", "", err.Error(), se.Offset, se.Offset)
	case err != nil:
		at("json_syntax", "", err.Error(), -1, -1)
	default:
		_, derr := scenariofile.DecodeNode(doc.Root, "", manifests.KnownErrorCode)
		var p *scenario.Problem
		if errors.As(derr, &p) {
			end := p.Offset
			if n := doc.Lookup(p.Pointer); n != nil && n.Start >= 0 {
				end = n.End
			}
			at("scenario_rule", p.Pointer, p.Message, p.Offset, end)
		}
	}
	rep.Valid = len(rep.Errors) == 0
	return rep
}

// matchSummary, whenSummary and effectSummary say in a few words what a rule does, for the
// table.
func matchSummary(m scenario.Rule) string {
	var parts []string
	add := func(label, v string) {
		if v != "" {
			parts = append(parts, label+v)
		}
	}
	x := m.Match
	add("", x.Operation)
	if x.Operation == "" {
		add("", x.Protocol)
	}
	add("", x.Method)
	add("", x.Path)
	add("provider ", x.Provider)
	add("offering ", x.OfferingID)
	add("tier ", x.TierID)
	for k, v := range x.Header {
		parts = append(parts, k+": "+v)
	}
	for k := range x.Body {
		parts = append(parts, "body "+k)
	}
	if len(parts) == 0 {
		return "every call"
	}
	return strings.Join(parts, " · ")
}

func whenSummary(r scenario.Rule) string {
	w := r.When
	var parts []string
	if w.Nth > 0 {
		parts = append(parts, "call "+strconv.Itoa(w.Nth)+" only")
	}
	if w.Every > 0 {
		parts = append(parts, "every "+ordinal(w.Every)+" call")
	}
	if w.First > 0 {
		parts = append(parts, "the first "+strconv.Itoa(w.First))
	}
	if w.After > 0 {
		parts = append(parts, "after the first "+strconv.Itoa(w.After))
	}
	if w.Probability != nil {
		parts = append(parts, strconv.FormatFloat(*w.Probability*100, 'f', -1, 64)+" % (seed "+strconv.FormatUint(w.Seed, 10)+")")
	}
	if w.Times > 0 {
		parts = append(parts, "at most "+strconv.Itoa(w.Times)+"×")
	}
	if w.From != "" || w.Until != "" {
		parts = append(parts, "clock "+orDash(w.From)+" – "+orDash(w.Until))
	}
	if len(parts) == 0 {
		return "every matching call"
	}
	return strings.Join(parts, ", ")
}

func ordinal(n int) string {
	switch {
	case n%100 >= 11 && n%100 <= 13:
		return strconv.Itoa(n) + "th"
	case n%10 == 1:
		return strconv.Itoa(n) + "st"
	case n%10 == 2:
		return strconv.Itoa(n) + "nd"
	case n%10 == 3:
		return strconv.Itoa(n) + "rd"
	}
	return strconv.Itoa(n) + "th"
}

func effectSummary(r scenario.Rule) string {
	e := r.Effect
	switch e.Kind() {
	case "error":
		s := "answers " + e.Error
		if e.RetryAfterSeconds != nil {
			s += ", Retry-After " + strconv.Itoa(*e.RetryAfterSeconds) + " s"
		}
		return s
	case "latency":
		if e.LatencyMS != nil {
			return "waits " + strconv.Itoa(*e.LatencyMS) + " ms"
		}
		l := e.Latency
		if l.Distribution == "lognormal" {
			return fmt.Sprintf("waits ~%d ms (lognormal, σ %.2g)", l.MedianMS, l.Sigma)
		}
		return fmt.Sprintf("waits %d–%d ms", l.MinMS, l.MaxMS)
	case "network":
		switch e.Network {
		case "truncate":
			return "cuts the body after " + strconv.Itoa(e.Bytes) + " bytes"
		case "dribble":
			return "sends " + strconv.Itoa(e.BytesPerSecond) + " bytes a second"
		case "close_after_headers":
			return "closes after the headers"
		case "hang":
			return "never answers"
		}
		return "resets the connection"
	case "provisioning":
		code := e.Error
		if code == "" {
			code = "provisioning_failed"
		}
		return "202, then " + code + " after " + strconv.Itoa(e.AfterSeconds) + " s"
	case "webhook":
		if e.Webhook == "drop" {
			return "drops the webhook"
		}
		status := e.Status
		if status == 0 {
			status = http.StatusInternalServerError
		}
		return "fails the webhook (" + strconv.Itoa(status) + ")"
	case "stream":
		return "cuts the stream after " + strconv.Itoa(e.Events) + " events"
	}
	return ""
}
