package frontend

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/ospbox/ospbox/mock/bsp"
	"github.com/ospbox/ospbox/mock/oap"
)

// agentsView is the Agents page: the OAP registry with memory and traces, and the BSP agents
// the manifest declares.
type agentsView struct {
	OAP       oap.State
	BSPAgents []bsp.AgentView
	BSPFile   string
	BSPTokens []string // the workspace's BSP credentials (bsp.credentials)
	Message   string
	Error     string
}

func (u *UI) agentsViewOf() agentsView {
	snap := u.Sandbox.Snapshot()
	message, failure := u.flashOf("agents")
	v := agentsView{OAP: u.Sandbox.OAP().State(), BSPAgents: u.Sandbox.BSP().Agents(context.Background()), BSPFile: snap.BSP.Disk.File, Message: message, Error: failure}
	for _, c := range snap.Config.BSP.Credentials {
		v.BSPTokens = append(v.BSPTokens, c.Token)
	}
	return v
}

func (u *UI) agents(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, agentsPage(u.meta("Agents", "agents"), u.agentsViewOf()))
}

func (u *UI) agentsFragment(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, agentsLive(u.agentsViewOf()))
}

// agentsAfter answers an Agents action.
func (u *UI) agentsAfter(w http.ResponseWriter, r *http.Request, message string, err error) {
	u.notify()
	if u.recordAction(w, r, "agents", "/ui/agents", message, err) {
		u.render(w, r, agentsLive(u.agentsViewOf()))
	}
}

// agentLifecycle pauses or resumes an OAP agent (the lifecycle routes' rules).
func (u *UI) agentLifecycle(w http.ResponseWriter, r *http.Request) {
	id, op := r.PathValue("id"), r.PostFormValue("op")
	status, code := u.Sandbox.OAP().SetAgentState(id, op)
	if status >= 300 {
		u.agentsAfter(w, r, "", errors.New(op+" "+id+": "+code))
		return
	}
	u.agentsAfter(w, r, id+": "+op+"d.", nil)
}

// sendAgentEvent posts an event to the OAP events route, as a client would.
func (u *UI) sendAgentEvent(w http.ResponseWriter, r *http.Request) {
	data := strings.TrimSpace(r.PostFormValue("data"))
	if data == "" {
		data = "{}"
	}
	var payload map[string]any
	if err := json.Unmarshal([]byte(data), &payload); err != nil {
		u.agentsAfter(w, r, "", errors.New("the event data is not a JSON object: "+err.Error()))
		return
	}
	status, out := u.operatorRequest(r.Context(), "POST", "/oap/events",
		map[string]any{"type": strings.TrimSpace(r.PostFormValue("type")), "data": payload, "metadata": map[string]any{}})
	if status != http.StatusAccepted {
		u.agentsAfter(w, r, "", apiError(status, out))
		return
	}
	traces, _ := out["traceIds"].([]any)
	u.agentsAfter(w, r, str(out["eventId"])+" accepted: "+plural(len(traces), "trace")+".", nil)
}

func agentClass(status string) string {
	switch status {
	case "running":
		return "ok"
	case "paused":
		return "warn"
	case "error":
		return "err"
	}
	return ""
}

// firstAccepted suggests an event type: the first one an agent accepts.
func firstAccepted(v agentsView) string {
	for _, a := range v.OAP.Agents {
		if len(a.Accepts) > 0 {
			return a.Accepts[0]
		}
	}
	return ""
}

// prettyAny indents a value as JSON.
func prettyAny(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// bspScope names where a BSP agent lives: its service, and its tenant when it has one.
func bspScope(a bsp.AgentView) string {
	if a.Tenant != "" {
		return a.Tenant + " / " + a.Service
	}
	return a.Service
}

// maskToken shows a credential's prefix and last four characters.
func maskToken(t string) string {
	if len(t) <= 12 {
		return "…"
	}
	return t[:7] + "…" + t[len(t)-4:]
}
