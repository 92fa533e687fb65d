package frontend

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestNamespacesPage: the page lists the namespaces with their counts; its forms create,
// snapshot, reset and delete through the registry the control API uses, and a mistake is
// shown on the page, not as a bare error.
func TestNamespacesPage(t *testing.T) {
	f := newFixture(t)
	post := func(form url.Values) string {
		t.Helper()
		st, frag := f.postForm(t, "/ui/namespaces", form)
		if st != 200 {
			t.Fatalf("%v: %d %s", form, st, frag)
		}
		return frag
	}
	frag := post(url.Values{"op": {"create"}, "id": {"team-a"}, "from": {"empty"}, "ttl_seconds": {"3600"}})
	if !strings.Contains(frag, "Namespace team-a is made") || !strings.Contains(frag, `data-namespace="team-a"`) {
		t.Fatalf("create: %s", frag)
	}
	if st, res := f.api(t, "POST", "/ns/team-a/providers/acmedb/osp/v1/provision", `{"offering_id":"acmedb/redis","tier_id":"free"}`); st != 201 {
		t.Fatalf("provision in team-a: %d %v", st, res)
	}
	_, page := f.get(t, "/ui/namespaces", authed())
	if !strings.Contains(page, `id="namespace-quota"`) || !strings.Contains(page, ">2 of ") {
		t.Errorf("the page does not show how many namespaces of namespaces.max exist")
	}
	row := rowOf(page, `data-namespace="team-a"`)
	if !strings.Contains(row, "1 resource ") || !strings.Contains(page, `data-namespace="default"`) {
		t.Errorf("team-a's row does not count its resource: %s", row)
	}
	frag = post(url.Values{"op": {"snapshot"}, "id": {"team-a"}, "name": {"one redis"}})
	if !strings.Contains(frag, "Snapshot ") || !strings.Contains(frag, "one redis") {
		t.Errorf("snapshot: %s", frag)
	}
	frag = post(url.Values{"op": {"reset"}, "id": {"team-a"}, "to": {"empty"}})
	if row := rowOf(frag, `data-namespace="team-a"`); !strings.Contains(frag, "is back to empty") || strings.Contains(row, "1 resource ") {
		t.Errorf("reset: %s", row)
	}
	frag = post(url.Values{"op": {"create"}, "id": {"team-a"}})
	if !strings.Contains(frag, `class="notice err"`) || !strings.Contains(frag, "in use") {
		t.Errorf("a taken id is not shown as an error: %s", frag)
	}
	frag = post(url.Values{"op": {"create"}, "id": {"Bad Id"}})
	if !strings.Contains(frag, `class="notice err"`) {
		t.Errorf("an invalid id is not shown as an error: %s", frag)
	}
	frag = post(url.Values{"op": {"delete"}, "id": {"team-a"}})
	if !strings.Contains(frag, "team-a is deleted") || strings.Contains(frag, `data-namespace="team-a"`) {
		t.Errorf("delete: %s", frag)
	}
	if st, _ := f.api(t, "GET", "/ospbox/v1/namespaces/team-a", ""); st != 404 {
		t.Errorf("the API still has team-a after the page deleted it: %d", st)
	}
	if frag := post(url.Values{"op": {"delete"}, "id": {"default"}}); !strings.Contains(frag, "cannot be deleted") {
		t.Errorf("deleting the default namespace: %s", frag)
	}
	if st, _ := f.postForm(t, "/ui/namespaces", url.Values{"op": {"explode"}}); st != 400 {
		t.Errorf("an unknown action: %d", st)
	}
}

// rowOf is the table row of page that carries attr.
func rowOf(page, attr string) string { return cutOut(page, attr, "</tr>") }

// TestManagingTheShownNamespace: resetting or deleting the namespace the pages show, from its
// own Namespaces page, answers (it used to wait forever on its own request holding the
// namespace open) and the page then says what happened.
func TestManagingTheShownNamespace(t *testing.T) {
	f := newFixture(t)
	f.api(t, "POST", "/ospbox/v1/namespaces", `{"id": "team-a", "from": "empty"}`)
	client := &http.Client{Timeout: 10 * time.Second}
	for _, op := range []string{"reset", "snapshot", "delete"} {
		req, _ := http.NewRequest("POST", f.srv.URL+"/ui/namespaces", strings.NewReader(url.Values{"op": {op}, "id": {"team-a"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(TokenHeader, testToken)
		req.Header.Set(CSRFHeader, csrfFor(testToken))
		req.Header.Set("HX-Request", "true")
		req.Header.Set("Cookie", namespaceCookie+"=team-a") // the pages show team-a
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s of the shown namespace: %v", op, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), `class="notice ok"`) {
			t.Errorf("%s of the shown namespace: %d %s", op, resp.StatusCode, b)
		}
		if op != "delete" && !strings.Contains(rowOf(string(b), `data-namespace="team-a"`), "shown") {
			t.Errorf("%s: the list does not mark team-a as shown", op)
		}
	}
}
