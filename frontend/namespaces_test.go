package frontend

import (
	"net/url"
	"strings"
	"testing"
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
func rowOf(page, attr string) string { return rowOfTag(page, attr, "</tr>") }
