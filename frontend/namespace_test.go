package frontend

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPagesShowTheChosenNamespace: ?ns= scopes every page (and, through the cookie it sets,
// the fragments a page loads) to that namespace's state; ?ns=default goes back; the switcher
// lists the namespaces.
func TestPagesShowTheChosenNamespace(t *testing.T) {
	f := newFixture(t)
	if st, b := f.api(t, "POST", "/ospbox/v1/namespaces", `{"id": "team-a", "from": "empty"}`); st != 201 {
		t.Fatalf("create: %d %v", st, b)
	}
	st, res := f.api(t, "POST", "/ns/team-a/providers/acmedb/osp/v1/provision", `{"offering_id":"acmedb/redis","tier_id":"free"}`)
	if st != 201 {
		t.Fatalf("provision in the namespace: %d %v", st, res)
	}
	id := res["resource_id"].(string)
	resp, page := f.get(t, "/ui/resources?ns=team-a", authed())
	if !strings.Contains(page, id) || !strings.Contains(page, `data-ns="team-a"`) || !strings.Contains(page, `<option value="team-a" selected`) {
		t.Errorf("the Resources page of team-a does not show its resource %s", id)
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == namespaceCookie {
			cookie = c
		}
	}
	if cookie == nil || cookie.Value != "team-a" {
		t.Fatalf("?ns= does not set the namespace cookie: %v", resp.Cookies())
	}
	hdr := authed()
	hdr.Set("Cookie", cookie.Name+"="+cookie.Value)
	if _, frag := f.get(t, "/ui/resources/live", hdr); !strings.Contains(frag, id) {
		t.Errorf("a fragment with the cookie is not scoped to the namespace")
	}
	if _, page := f.get(t, "/ui/resources?ns=default", hdr); strings.Contains(page, id) || !strings.Contains(page, `data-ns="default"`) {
		t.Errorf("the default namespace's page shows team-a's resource")
	}
	if _, page := f.get(t, "/ui/resources/"+id+"?ns=team-a", authed()); !strings.Contains(page, "acmedb/redis") {
		t.Errorf("the resource page of a namespaced resource")
	}
	f.api(t, "DELETE", "/ospbox/v1/namespaces/team-a", "")
	if resp, page := f.get(t, "/ui/resources", hdr); resp.StatusCode != 200 || !strings.Contains(page, `data-ns="default"`) {
		t.Errorf("a deleted namespace's cookie: %d", resp.StatusCode)
	}
}

// TestResettingANamespaceEndsItsPagesStreams: a page's live stream holds its namespace open;
// resetting the namespace ends the stream (the page reconnects) instead of waiting for it.
func TestResettingANamespaceEndsItsPagesStreams(t *testing.T) {
	f := newFixture(t)
	f.api(t, "POST", "/ospbox/v1/namespaces", `{"id": "live", "from": "empty"}`)
	req, _ := http.NewRequest("GET", f.srv.URL+"/ui/events?ns=live", nil)
	req.Header.Set(TokenHeader, testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	ended := make(chan struct{})
	go func() {
		io.Copy(io.Discard, resp.Body)
		close(ended)
	}()
	done := make(chan int, 1)
	go func() {
		st, _ := f.api(t, "POST", "/ospbox/v1/namespaces/live/reset", `{}`)
		done <- st
	}()
	select {
	case st := <-done:
		if st != 200 {
			t.Errorf("reset: %d", st)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the reset waits on the page's stream")
	}
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream outlived its namespace's reset")
	}
}

// TestNamespacePagesDuringResets: pages of a namespace keep rendering while it is reset over
// and over; no reset waits forever on a page (the switcher lists the namespaces without the
// registry's lock).
func TestNamespacePagesDuringResets(t *testing.T) {
	f := newFixture(t)
	f.api(t, "POST", "/ospbox/v1/namespaces", `{"id": "busy", "from": "empty"}`)
	stop := make(chan struct{})
	errs := make(chan string, 100)
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("GET", f.srv.URL+"/ui/resources?ns=busy", nil)
				req.Header.Set(TokenHeader, testToken)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					errs <- err.Error()
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs <- resp.Status
				}
			}
		}()
	}
	finished := make(chan struct{})
	go func() {
		for range 10 {
			f.api(t, "POST", "/ospbox/v1/namespaces/busy/reset", `{}`)
		}
		close(finished)
	}()
	select {
	case <-finished:
	case <-time.After(30 * time.Second):
		t.Fatal("resets under page load did not finish")
	}
	close(stop)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("a page during resets: %s", e)
	}
}
