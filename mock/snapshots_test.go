package mock

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// TestSnapshots: a namespace's whole state, clock included, kept as a snapshot; new namespaces
// made from it and resets to it; export as an SQLite file and import again; a file that is not
// an ospbox state is refused with 400 and changes nothing (spec/control.md §2).
func TestSnapshots(t *testing.T) {
	f := newFixture(t)
	ctl := agent{T: t, Base: f.srv.URL + "/ospbox/v1"}
	ctl.Call("POST", "/namespaces", "", map[string]any{"id": "s1", "from": "empty"})
	ns := agent{T: t, Base: f.srv.URL + "/ns/s1"}
	ns.Call("POST", "/osp/v1/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "free"})
	ns.Call("POST", "/ospbox/v1/clock/advance", "", map[string]any{"seconds": 3600})
	st, _, snap := ctl.Call("POST", "/namespaces/s1/snapshots", "", map[string]any{"name": "one resource"})
	if st != 201 || snap["namespace"] != "s1" || snap["bytes"].(float64) < 1000 {
		t.Fatalf("snapshot: %d %v", st, snap)
	}
	id := snap["id"].(string)
	ns.Call("POST", "/osp/v1/provision", "", map[string]any{"offering_id": "acmedb/redis", "tier_id": "free"})
	counts := func(ns string) (float64, float64) {
		t.Helper()
		_, _, v := ctl.Call("GET", "/namespaces/"+ns, "", nil)
		return v["counts"].(map[string]any)["resources"].(float64), v["clock"].(map[string]any)["offset_seconds"].(float64)
	}
	// A namespace from the snapshot has its state and its clock.
	ctl.Call("POST", "/namespaces", "", map[string]any{"id": "s2", "from": "snapshot:" + id})
	if res, off := counts("s2"); res != 1 || off < 3599 {
		t.Errorf("from the snapshot: %v resources, clock +%vs", res, off)
	}
	// A reset to it has its state, at wall-clock time.
	if st, _, b := ctl.Call("POST", "/namespaces/s1/reset", "", map[string]any{"to": "snapshot:" + id}); st != 200 {
		t.Fatalf("reset to the snapshot: %d %v", st, b)
	}
	if res, off := counts("s1"); res != 1 || off != 0 {
		t.Errorf("reset to the snapshot: %v resources, clock +%vs", res, off)
	}
	// Export and import give the same state back.
	resp, err := http.Get(f.srv.URL + "/ospbox/v1/snapshots/" + id + "/export")
	if err != nil {
		t.Fatal(err)
	}
	file, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.HasPrefix(file, []byte("SQLite format 3")) || resp.Header.Get("Content-Type") != "application/vnd.sqlite3" {
		t.Fatalf("export: %d %s %.20q", resp.StatusCode, resp.Header.Get("Content-Type"), file)
	}
	resp, _ = http.Post(f.srv.URL+"/ospbox/v1/snapshots?name=imported", "application/vnd.sqlite3", bytes.NewReader(file))
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Errorf("import: %d", resp.StatusCode)
	}
	resp, _ = http.Post(f.srv.URL+"/ospbox/v1/snapshots", "application/vnd.sqlite3", bytes.NewReader([]byte("not a database at all")))
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("a file that is not a state: %d %s", resp.StatusCode, body)
	}
	if _, _, list := ctl.Call("GET", "/snapshots", "", nil); len(list["snapshots"].([]any)) != 2 {
		t.Errorf("snapshots after one refused import: %v", list)
	}
	if st, _, _ := ctl.Call("DELETE", "/snapshots/"+id, "", nil); st != 200 {
		t.Errorf("delete: %d", st)
	}
	if st, _, b := ctl.Call("GET", "/snapshots/"+id, "", nil); st != 404 || errCode(b) != "not_found" {
		t.Errorf("a deleted snapshot: %d %v", st, b)
	}
	if st, _, b := ctl.Call("POST", "/namespaces", "", map[string]any{"from": "snapshot:" + id}); st != 400 || errCode(b) != "invalid_request" {
		t.Errorf("from a deleted snapshot: %d %v", st, b)
	}
}
