package frontend

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/ospbox/ospbox/manifests"
	"github.com/ospbox/ospbox/mock/kernel"
	"github.com/ospbox/ospbox/mock/osp"
	"github.com/ospbox/ospbox/storage"
)

// resourceDetailView is one resource as the inspector shows it.
type resourceDetailView struct {
	Resource  storage.Resource
	Events    []storage.Event
	Data      string // the stored state, redacted and indented
	StatusURL string
	Now       time.Time // the workspace clock
	Frozen    bool
	SeedFrom  string             // the resource this sandbox was seeded from
	SeedMode  string             //
	Children  []storage.Resource // sandboxes seeded from this resource
	Usage     []usageRow
	// UsageHistory is the period's usage per metered dimension, day by day, for the charts.
	UsageHistory []osp.DimensionHistory
	// PaidWith is the orchestrator payment token that paid the resource's charges, if one did.
	PaidWith string
	Cost     resourceCost
	Tiers    []manifests.Tier // the offering's tiers, for a tier change
	Message  string           // the outcome of the last action
	Error    string
}

// usageRow is one metered dimension of the usage report.
type usageRow struct {
	Dimension, Quantity, Unit, Included, Overage, Cost string
}

// resourceCost is what the resource cost this period, from the cost endpoints' lines.
type resourceCost struct {
	Base, Metered, Total, Currency string
}

// Live reports whether actions apply: the resource is not gone.
func (v resourceDetailView) Live() bool { return v.Resource.Status != "deprovisioned" }

func (u *UI) resourceDetailViewOf(ctx context.Context, id string) (resourceDetailView, error) {
	res, err := u.DB.ResourceByID(ctx, id)
	if err != nil {
		return resourceDetailView{}, err
	}
	clock := u.Sandbox.Clock()
	v := resourceDetailView{Resource: res, Data: prettyJSON(kernel.RedactJSON(res.Data)), Now: clock.Now, Frozen: clock.Frozen,
		StatusURL: u.SandboxURL + "/providers/" + res.Provider + "/osp/v1/resources/" + res.ID}
	if v.Events, err = u.DB.EventsOf(ctx, id); err != nil {
		return v, err
	}
	var data struct {
		Metadata map[string]string `json:"metadata"`
	}
	json.Unmarshal(res.Data, &data)
	v.SeedFrom, v.SeedMode = data.Metadata["osp_seed_from"], data.Metadata["osp_seed_mode"]
	if v.Children, err = u.DB.SeededFrom(ctx, id); err != nil {
		return v, err
	}
	var c resourceCost
	if c.Base, c.Metered, c.Total, c.Currency, err = u.Sandbox.OSP().Ledger().ResourceCost(ctx, res); err != nil {
		return v, err
	}
	v.Cost = c
	charges, err := u.DB.ResourceCharges(ctx, res.ID, time.Time{}, clock.Now.AddDate(1, 0, 0))
	if err != nil {
		return v, err
	}
	for _, ch := range charges {
		if ch.PaymentToken != "" {
			v.PaidWith = ch.PaymentToken
		}
	}
	if p := u.Sandbox.Snapshot().Provider(res.Provider); p != nil && p.Serving != nil {
		for _, o := range p.Serving.Manifest.Offerings {
			if o.ID == res.OfferingID {
				v.Tiers = o.Tiers
			}
		}
	}
	if res.Status == "provisioned" || res.Status == "suspended" {
		if st, body := u.operatorCall(ctx, res, "GET", "/resources/"+res.ID+"/usage", nil); st == http.StatusOK {
			v.Usage = usageRows(body)
		}
	}
	// After the usage report, which settles the accrued usage the last day shows.
	if v.UsageHistory, err = u.Sandbox.OSP().Ledger().UsageHistory(ctx, res); err != nil {
		return v, err
	}
	return v, nil
}

// usageChartOf charts one dimension's usage over the period against its included quantity.
func usageChartOf(h osp.DimensionHistory) chart {
	s := series{Start: h.PeriodStart, End: h.PeriodEnd.AddDate(0, 0, -1), Values: h.Daily, Projected: h.Projected,
		Format: func(v float64) string { return withUnit(v, h.Unit) }, AxisFormat: quantity, Unit: h.Unit}
	if h.Included > 0 {
		s.Limit, s.LimitLabel, s.LimitClass = h.Included, "included: "+withUnit(h.Included, h.Unit), "included"
	}
	return s.chart()
}

func usageChartLabel(h osp.DimensionHistory) string {
	last := 0.0
	if len(h.Daily) > 0 {
		last = h.Daily[len(h.Daily)-1]
	}
	out := h.Dimension + " used this period: " + withUnit(last, h.Unit) + " so far, projected " + withUnit(h.Projected, h.Unit) + " by the period's end"
	if h.Included > 0 {
		out += ", " + withUnit(h.Included, h.Unit) + " included"
	}
	return out
}

func usageChartCaption(h osp.DimensionHistory) string {
	out := "Cumulative usage (" + h.Unit + ") at the end of each day; dashed: the projection if the resource stays live"
	if h.Included > 0 {
		out += "; above the included quantity, usage is billed as overage"
	}
	if h.Injected > 0 {
		out += ". Injected usage (" + withUnit(h.Injected, h.Unit) + ") counts from today: ospbox keeps its total, not its time"
	}
	return out + "."
}

// withUnit writes a quantity in its unit: "12.5 GB", or "3 × 100k requests" for a unit that is
// itself a number of something.
func withUnit(v float64, unit string) string {
	if unit != "" && unit[0] >= '0' && unit[0] <= '9' {
		return quantity(v) + " × " + unit
	}
	return quantity(v) + " " + unit
}

// quantity writes a quantity with at most two decimals and no trailing zeros.
func quantity(v float64) string {
	s := strconv.FormatFloat(v, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "" || s == "-" {
		return "0"
	}
	return s
}

// usageRows reads the dimensions of a usage report.
func usageRows(body map[string]any) []usageRow {
	dims, _ := body["dimensions"].([]any)
	var rows []usageRow
	for _, d := range dims {
		m, _ := d.(map[string]any)
		cost, _ := m["cost"].(map[string]any)
		rows = append(rows, usageRow{Dimension: str(m["dimension"]), Quantity: str(m["quantity"]), Unit: str(m["unit"]),
			Included: str(m["included_quantity"]), Overage: str(m["overage_quantity"]), Cost: money(str(cost["amount"]), str(cost["currency"]))})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Dimension < rows[j].Dimension })
	return rows
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func (u *UI) resourceDetail(w http.ResponseWriter, r *http.Request) {
	v, err := u.resourceDetailViewOf(r.Context(), r.PathValue("id"))
	if errors.Is(err, storage.ErrNotFound) {
		http.Error(w, "no resource "+r.PathValue("id")+" in this workspace", http.StatusNotFound)
		return
	}
	if err != nil {
		u.fail(w, err)
		return
	}
	u.render(w, r, resourceDetailPage(u.meta(v.Resource.ID, "resources"), v))
}

func (u *UI) resourceLive(w http.ResponseWriter, r *http.Request) {
	u.resourceAfter(w, r, "", nil)
}

// resourceAfter re-renders the resource's live part with an action's outcome.
func (u *UI) resourceAfter(w http.ResponseWriter, r *http.Request, message string, actionErr error) {
	id := r.PathValue("id")
	if r.Method == http.MethodPost && !u.recordAction(w, r, "resource:"+id, "/ui/resources/"+id, message, actionErr) {
		return
	}
	v, err := u.resourceDetailViewOf(r.Context(), id)
	if errors.Is(err, storage.ErrNotFound) {
		http.Error(w, "no resource "+id+" in this workspace", http.StatusNotFound)
		return
	}
	if err != nil {
		u.fail(w, err)
		return
	}
	v.Message, v.Error = u.flashOf("resource:" + id)
	u.render(w, r, resourceLive(v))
}

// resourceAction runs one action on a resource through the provider API, as its operator.
func (u *UI) resourceAction(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	res, err := u.DB.ResourceByID(ctx, r.PathValue("id"))
	if err != nil {
		u.resourceAfter(w, r, "", err)
		return
	}
	var (
		status int
		body   map[string]any
		msg    string
	)
	switch op := r.PostFormValue("op"); op {
	case "rotate":
		status, body = u.operatorCall(ctx, res, "POST", "/resources/"+res.ID+"/credentials", map[string]any{})
		msg = "Rotated: the bundle is at version " + str(nested(body, "credentials_bundle", "version")) + "; the previous access token works until " + orDash(str(body["old_credentials_valid_until"])) + "."
	case "upgrade":
		req := map[string]any{"tier_id": r.PostFormValue("tier_id")}
		u.payFor(res, r.PostFormValue("tier_id"), req)
		status, body = u.operatorCall(ctx, res, "POST", "/resources/"+res.ID+"/upgrade", req)
		msg = "Tier changed to " + r.PostFormValue("tier_id") + "."
	case "promote":
		status, body = u.operatorCall(ctx, res, "POST", "/promote/"+res.ID, map[string]any{})
		msg = "Promoted: the sandbox is a permanent resource now."
	case "deprovision":
		status, body = u.operatorCall(ctx, res, "DELETE", "/resources/"+res.ID, nil)
		msg = "Deprovisioned."
	case "extend":
		secs, perr := strconv.Atoi(r.PostFormValue("seconds"))
		if perr != nil || secs < 1 {
			u.resourceAfter(w, r, "", errors.New("extend by a whole number of seconds"))
			return
		}
		u.resourceAfter(w, r, "TTL extended by "+offsetText(time.Duration(secs)*time.Second)+".", u.Sandbox.OSP().ExtendTTL(ctx, res.ID, time.Duration(secs)*time.Second))
		return
	default:
		u.resourceAfter(w, r, "", errors.New("unknown action "+strconv.Quote(op)))
		return
	}
	if status >= 300 {
		u.resourceAfter(w, r, "", apiError(status, body))
		return
	}
	u.resourceAfter(w, r, msg, nil)
}

// payFor adds a simulated payment to a tier change to a paid tier, with the provider's first
// accepted payment method.
func (u *UI) payFor(res storage.Resource, tierID string, req map[string]any) {
	p := u.Sandbox.Snapshot().Provider(res.Provider)
	if p == nil || p.Serving == nil {
		return
	}
	for _, o := range p.Serving.Manifest.Offerings {
		for _, t := range o.Tiers {
			if o.ID == res.OfferingID && t.ID == tierID && !t.Free() {
				for _, m := range p.Serving.Manifest.Doc.Root.Get("accepted_payment_methods").List() {
					if m.Text != "free" {
						req["payment_method"], req["payment_proof"] = m.Text, "ospbox-operator"
						return
					}
				}
			}
		}
	}
}

// revealCredentials shows the resource's current credentials (GET …/credentials as operator).
func (u *UI) revealCredentials(w http.ResponseWriter, r *http.Request) {
	res, err := u.DB.ResourceByID(r.Context(), r.PathValue("id"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	status, body := u.operatorCall(r.Context(), res, "GET", "/resources/"+res.ID+"/credentials", nil)
	if status != http.StatusOK {
		u.render(w, r, credentialsRevealed(nil, "", apiError(status, body).Error()))
		return
	}
	bundle, _ := body["credentials_bundle"].(map[string]any)
	var pairs [][2]string
	if creds, ok := bundle["credentials"].(map[string]any); ok {
		for k, v := range creds {
			pairs = append(pairs, [2]string{k, str(v)})
		}
	}
	if meta, ok := bundle["metadata"].(map[string]any); ok {
		if t := str(meta["resource_access_token"]); t != "" {
			pairs = append(pairs, [2]string{"resource_access_token", t})
		}
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i][0] < pairs[j][0] })
	note := ""
	if str(bundle["format"]) == "encrypted" {
		note = "The bundle is encrypted to the agent's key; only the agent can read the secrets."
	}
	u.render(w, r, credentialsRevealed(pairs, note, ""))
}

// operatorCall sends the provider API a request as the sandbox operator (see kernel.AsOperator)
// and decodes its JSON answer.
func (u *UI) operatorCall(ctx context.Context, res storage.Resource, method, path string, body any) (int, map[string]any) {
	return u.operatorRequest(ctx, method, "/providers/"+res.Provider+"/osp/v1"+path, body)
}

// operatorRequest sends the sandbox host one request as its operator and decodes the JSON answer.
func (u *UI) operatorRequest(ctx context.Context, method, path string, body any) (int, map[string]any) {
	var buf bytes.Buffer
	if body != nil {
		json.NewEncoder(&buf).Encode(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://127.0.0.1"+path, &buf)
	if err != nil {
		return http.StatusInternalServerError, nil
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ospbox UI")
	status, answer := u.Sandbox.Do(kernel.AsOperator(req))
	var out map[string]any
	json.Unmarshal(answer, &out)
	return status, out
}

// apiError turns the provider API's error envelope into an error for the page.
func apiError(status int, body map[string]any) error {
	e, _ := body["error"].(map[string]any)
	if e == nil {
		return fmt.Errorf("the provider answered %d", status)
	}
	return fmt.Errorf("the provider answered %d %s: %s", status, str(e["code"]), str(e["message"]))
}

func nested(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

// countdown says how far t is from now: "in 2 h 13 min", "3 min ago".
func countdown(now, t time.Time) string {
	d := t.Sub(now)
	suffix, prefix := "", "in "
	if d < 0 {
		d, suffix, prefix = -d, " ago", ""
	}
	d = d.Round(time.Second)
	var parts []string
	if days := d / (24 * time.Hour); days > 0 {
		parts = append(parts, strconv.Itoa(int(days))+" d")
		d -= days * 24 * time.Hour
	}
	if h := d / time.Hour; h > 0 {
		parts = append(parts, strconv.Itoa(int(h))+" h")
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 && len(parts) < 2 {
		parts = append(parts, strconv.Itoa(int(m))+" min")
		d -= m * time.Minute
	}
	if len(parts) == 0 {
		parts = append(parts, strconv.Itoa(int(d/time.Second))+" s")
	}
	return prefix + strings.Join(parts, " ") + suffix
}

// confirmAttr asks for confirmation before an action when confirm is set.
func confirmAttr(confirm string) templ.Attributes {
	if confirm == "" {
		return templ.Attributes{}
	}
	return templ.Attributes{"hx-confirm": confirm}
}
