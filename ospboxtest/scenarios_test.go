package ospboxtest_test

// The recipes of docs/scenarios.md, each as the test an agent developer would write: a rule
// that makes the provider misbehave, an unmodified agent, and what it must cope with.

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/ospbox/ospbox/ospboxtest"
)

// provisionOnce is one attempt of an agent: the status, and Retry-After when there is one.
func provisionOnce(client *http.Client, base string) (int, string, error) {
	body, _ := json.Marshal(map[string]any{"offering_id": "acmedb/redis", "tier_id": "free"})
	resp, err := client.Post(base+"/osp/v1/provision", "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After"), nil
}

// TestRecipeProviderDownThenBack: the provider answers 503 provider_unavailable with
// Retry-After to the first two provisions; an agent that retries gets its resource on the third.
func TestRecipeProviderDownThenBack(t *testing.T) {
	sb := ospboxtest.Start(t)
	rule := sb.Scenario(`{"name": "provider down, then back",
		"match": {"operation": "osp.provision"}, "when": {"first": 2},
		"effect": {"error": "provider_unavailable", "retry_after_seconds": 1}}`)
	var statuses []int
	for range 5 { // the agent under test: retry on 503, honouring Retry-After
		st, retryAfter, err := provisionOnce(http.DefaultClient, sb.URL)
		if err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, st)
		if st != http.StatusServiceUnavailable {
			break
		}
		if retryAfter != "1" {
			t.Errorf("Retry-After %q, want the rule's 1", retryAfter)
		}
	}
	if len(statuses) != 3 || statuses[2] != http.StatusCreated {
		t.Errorf("statuses %v, want 503 503 201", statuses)
	}
	if sb.Hits(rule) != 2 {
		t.Errorf("the rule changed %d calls, want 2", sb.Hits(rule))
	}
	sb.Verify(ospboxtest.Match{Method: "POST", Path: "/osp/v1/provision", Status: 503}, 2)
}

// TestRecipeSlowProvisioning: provisioning takes 300–500 ms; an agent with a 100 ms budget
// times out instead of hanging, and one with a second succeeds.
func TestRecipeSlowProvisioning(t *testing.T) {
	sb := ospboxtest.Start(t)
	sb.Scenario(`{"match": {"operation": "osp.provision"},
		"effect": {"latency": {"distribution": "uniform", "min_ms": 300, "max_ms": 500}}}`)
	_, _, err := provisionOnce(&http.Client{Timeout: 100 * time.Millisecond}, sb.URL)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("the impatient agent: %v, want its timeout", err)
	}
	start := time.Now()
	if st, _, err := provisionOnce(&http.Client{Timeout: 5 * time.Second}, sb.URL); err != nil || st != http.StatusCreated {
		t.Errorf("the patient agent: %d %v", st, err)
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("provisioning took %v, under the rule's 300 ms", took)
	}
}

// TestRecipeProvisioningFailsLater: the provisioning is accepted (202) and the resource ends in
// error after 30 s of sandbox time; an agent polling the status must report the failure.
func TestRecipeProvisioningFailsLater(t *testing.T) {
	sb := ospboxtest.Start(t)
	sb.Scenario(`{"match": {"operation": "osp.provision"},
		"effect": {"provisioning": "fail", "after_seconds": 30, "error": "capacity_exhausted"}}`)
	body, _ := json.Marshal(map[string]any{"offering_id": "acmedb/redis", "tier_id": "free"})
	resp, err := http.Post(sb.URL+"/osp/v1/provision", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		ResourceID string `json:"resource_id"`
		Status     string `json:"status"`
	}
	json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || res.Status != "provisioning" {
		t.Fatalf("provision: %d %+v", resp.StatusCode, res)
	}
	sb.Advance(31 * time.Second)
	resp, _ = http.Get(sb.URL + "/osp/v1/resources/" + res.ResourceID)
	var status struct {
		Status string `json:"status"`
		Error  struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&status)
	resp.Body.Close()
	if status.Status != "error" || status.Error.Code != "capacity_exhausted" {
		t.Errorf("after 31 sandbox seconds: %+v", status)
	}
}

// TestRecipeFlakyRotation: half the credential rotations fail, drawn from a seed, so the same
// test sees the same failures every run; an agent that retries rotates within a few attempts.
func TestRecipeFlakyRotation(t *testing.T) {
	sb := ospboxtest.Start(t)
	body, _ := json.Marshal(map[string]any{"offering_id": "acmedb/redis", "tier_id": "free"})
	run := func() []int {
		resp, _ := http.Post(sb.URL+"/osp/v1/provision", "application/json", bytes.NewReader(body))
		var res struct {
			ResourceID string `json:"resource_id"`
		}
		json.NewDecoder(resp.Body).Decode(&res)
		resp.Body.Close()
		sb.Scenario(`{"id": "flaky-rotation", "match": {"operation": "osp.rotate"},
			"when": {"probability": 0.5, "seed": 42}, "effect": {"error": "provider_unavailable"}}`)
		var statuses []int
		for range 8 {
			resp, err := http.Post(sb.URL+"/osp/v1/resources/"+res.ResourceID+"/credentials", "application/json", bytes.NewReader([]byte(`{}`)))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			statuses = append(statuses, resp.StatusCode)
		}
		return statuses
	}
	first := run()
	sb.Reset() // drops the rule and the resource: the next run starts the same way
	second := run()
	failed := 0
	for i := range first {
		if first[i] != second[i] {
			t.Fatalf("the seeded failures differ between runs: %v then %v", first, second)
		}
		if first[i] == http.StatusServiceUnavailable {
			failed++
		}
	}
	if failed == 0 || failed == len(first) {
		t.Errorf("rotations %v: a 50 %% rule failed %d of %d", first, failed, len(first))
	}
}
