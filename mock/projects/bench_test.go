package projects_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ospbox/ospbox/mock/agenttest"
	"github.com/ospbox/ospbox/mock/mocktest"
	"github.com/ospbox/ospbox/mock/projects"
)

// roomyCaps lets every token of a benchmark through: the figure is the issue path, not refusals.
const roomyCaps = `{"name": "bench", "orchestrator": {"caps": {"per_provider": {"amount": "100000000.00", "currency": "USD"}, "user": {"amount": "300000000.00", "currency": "USD"}},
	"providers": {"skyhost": {"account_creation": "oauth"}}}}`

// BenchmarkOrchestrator measures, in one run and against one sandbox over loopback with 32
// concurrent clients: provisioning a free resource alone (the baseline), issuing a payment token
// (spread over three providers), and the whole `projects add` of a free service (catalog,
// attestation, account, provisioning, vault), each as throughput and p99, and each as a ratio to
// the baseline.
func BenchmarkOrchestrator(b *testing.B) {
	f := mocktest.NewWith(b, map[string]string{"ospbox.json": roomyCaps})
	provision, provisionP99 := agenttest.LoadParallel(b, []string{f.URL + "/providers/acmedb/osp/v1/provision"},
		func() string { return `{"offering_id":"acmedb/redis","tier_id":"free"}` }, 201)
	providers := []string{"acmedb.example", "skyhost.example", "third.example"}
	var n int
	var mu sync.Mutex
	issue, issueP99 := agenttest.LoadParallel(b, []string{f.URL + "/orchestrator/v1/payment_tokens"}, func() string {
		mu.Lock()
		n++
		p := providers[n%3]
		mu.Unlock()
		return `{"provider_id":"` + p + `","max_amount":{"amount":"1.00","currency":"USD"}}`
	}, 201)

	c := &projects.Client{Target: f.URL, StateFile: filepath.Join(b.TempDir(), "projects.json"), Wait: time.Minute}
	if _, err := c.Init(context.Background(), "bench"); err != nil {
		b.Fatal(err)
	}
	add, addP99 := agenttest.LoadParallelFunc(b, func() func() error {
		return func() error {
			_, err := c.Add(context.Background(), "acmedb/redis")
			return err
		}
	})
	if add == 0 {
		b.Fatal("no add finished")
	}
	// The OAuth consent, answered for the user as --approve does: the two metadata documents, the
	// authorization request, the consent form, the callback, the code exchange and a token read.
	metadata := f.URL + "/providers/skyhost/.well-known/oauth-protected-resource"
	consent, consentP99 := agenttest.LoadParallelFunc(b, func() func() error {
		var p struct{ ID, Token string }
		if err := post(f.URL+"/orchestrator/v1/projects", "", `{"name":"bench"}`, &p); err != nil {
			return func() error { return err }
		}
		return func() error {
			var c struct {
				ID string `json:"consent_id"`
			}
			if err := post(f.URL+"/orchestrator/v1/projects/"+p.ID+"/consents", p.Token, `{"provider_id":"skyhost.example","resource_metadata":"`+metadata+`"}`, &c); err != nil {
				return err
			}
			if err := post(f.URL+"/orchestrator/v1/consents/"+c.ID+"/approve", p.Token, `{}`, nil); err != nil {
				return err
			}
			return post(f.URL+"/orchestrator/v1/consents/"+c.ID+"/token", p.Token, `{}`, nil)
		}
	})
	b.ReportMetric(provision, "provision-req/s")
	b.ReportMetric(ms(provisionP99), "provision-p99-ms")
	b.ReportMetric(issue, "token-req/s")
	b.ReportMetric(ms(issueP99), "token-p99-ms")
	b.ReportMetric(issue/provision, "token/provision")
	b.ReportMetric(add, "add-per-s")
	b.ReportMetric(ms(addP99), "add-p99-ms")
	b.ReportMetric(add/provision, "add/provision")
	b.ReportMetric(consent, "consent-per-s")
	b.ReportMetric(ms(consentP99), "consent-p99-ms")
	b.ReportMetric(consent/provision, "consent/provision")
}

// post sends a JSON POST and decodes the answer into out; an answer of 300 or more is an error.
func post(url, token, body string, out any) error {
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("POST %s: %d %s", url, resp.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
