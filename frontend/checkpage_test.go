package frontend

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestCheckPageRunsTheCheckerLive(t *testing.T) {
	f := newFixture(t)
	target := httptest.NewServer(f.sb)
	defer target.Close()
	_, page := f.get(t, "/ui/check", authed())
	if !strings.Contains(page, "/providers/acmedb") || !strings.Contains(page, "No run yet") {
		t.Errorf("check page: %.400s", page)
	}
	if _, frag := f.postForm(t, "/ui/check", url.Values{"url": {"not a url"}}); !strings.Contains(frag, "enter the provider") {
		t.Errorf("bad URL: %.300s", frag)
	}
	if st, _ := f.postForm(t, "/ui/check", url.Values{"url": {target.URL + "/providers/acmedb"}, "level": {"all"}}); st != 200 {
		t.Fatalf("start: %d", st)
	}
	res := f.finishedCheck(t)
	if !strings.Contains(res, `badge ok">conformant`) || strings.Contains(res, `data-status="fail"`) ||
		!strings.Contains(res, `data-check="osp.sandbox.round-trip" data-status="pass"`) {
		t.Errorf("results: %.1500s", res)
	}
}

// finishedCheck waits for the Check page's run to end and returns its results fragment.
func (f *fixture) finishedCheck(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, res := f.get(t, "/ui/check/results", authed())
		if !strings.Contains(res, ">running<") && strings.Contains(res, "passed,") {
			return res
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run did not finish: %.800s", res)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestCheckPageChecksBSPWithTheGivenKey(t *testing.T) {
	f := newFixture(t)
	target := httptest.NewServer(f.sb)
	defer target.Close()
	key := f.sb.Snapshot().Config.BSP.Credentials[0].Token
	if st, _ := f.postForm(t, "/ui/check", url.Values{"url": {target.URL}, "protocol": {"bsp"}, "api_key": {key}, "level": {"all"}}); st != 200 {
		t.Fatalf("start: %d", st)
	}
	res := f.finishedCheck(t)
	if !strings.Contains(res, `badge ok">conformant`) || strings.Contains(res, `data-status="fail"`) ||
		!strings.Contains(res, `data-check="bsp.auth.required" data-status="pass"`) || strings.Contains(res, key) {
		t.Errorf("results: %.2500s", res)
	}
}
