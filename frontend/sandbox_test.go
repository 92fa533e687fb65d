package frontend

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/url"
	"strings"
	"testing"
)

func (f *fixture) liveResources(t *testing.T) int {
	t.Helper()
	c, err := f.db.Counts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return c.Resources
}

func TestStateExportImportResetAndSeed(t *testing.T) {
	f := newFixture(t)
	free := `{"offering_id":"acmedb/redis","tier_id":"free"}`
	for range 2 {
		f.api(t, "POST", "/providers/acmedb/osp/v1/provision", free)
	}
	resp, exported := f.get(t, "/ui/sandbox/export", authed())
	if resp.StatusCode != 200 || !strings.HasPrefix(exported, "SQLite format 3") || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Disposition"), exported[:min(20, len(exported))])
	}
	f.api(t, "POST", "/providers/acmedb/osp/v1/provision", free)
	if n := f.liveResources(t); n != 3 {
		t.Fatalf("resources before import: %d", n)
	}

	upload := func(content string) (int, string) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("state", "state.db")
		io.WriteString(fw, content)
		mw.Close()
		return f.htmxPost(t, "/ui/sandbox/import", mw.FormDataContentType(), &body)
	}
	if st, frag := upload(exported); st != 200 || !strings.Contains(frag, "Imported") {
		t.Fatalf("import: %d %.300s", st, frag)
	}
	if n := f.liveResources(t); n != 2 {
		t.Errorf("resources after importing the export: %d, want 2", n)
	}
	// The mock serves the imported state: a new provision works and counts on from it.
	if st, b := f.api(t, "POST", "/providers/acmedb/osp/v1/provision", free); st != 201 {
		t.Errorf("provision after import: %d %v", st, b)
	}
	if st, frag := upload("definitely not a database"); st != 200 || !strings.Contains(frag, "not an ospbox state file") {
		t.Errorf("bad import: %d %.300s", st, frag)
	}
	if n := f.liveResources(t); n != 3 {
		t.Errorf("a refused import changed the state: %d resources", n)
	}

	// No seed yet: reset empties. Then save a seed, change the state, and reset back to it.
	if st, frag := f.postForm(t, "/ui/sandbox/reset", url.Values{}); st != 200 || !strings.Contains(frag, "empty again") || f.liveResources(t) != 0 {
		t.Errorf("reset without a seed: %d, %d resources", st, f.liveResources(t))
	}
	f.api(t, "POST", "/providers/acmedb/osp/v1/provision", free)
	if st, frag := f.postForm(t, "/ui/sandbox/seed", url.Values{}); st != 200 || !strings.Contains(frag, "seed.db") {
		t.Errorf("save seed: %d %.300s", st, frag)
	}
	f.api(t, "POST", "/providers/acmedb/osp/v1/provision", free)
	f.api(t, "POST", "/providers/acmedb/osp/v1/provision", free)
	if st, frag := f.postForm(t, "/ui/sandbox/reset", url.Values{}); st != 200 || !strings.Contains(frag, "back to the seed") || f.liveResources(t) != 1 {
		t.Errorf("reset to seed: %d, %d resources, want 1", st, f.liveResources(t))
	}
}

// TestEveryPageShowsAMovedClock: when the sandbox clock is not at real time, every page's
// sidebar says by how much, exactly (+4h, not +3h 59m).
func TestEveryPageShowsAMovedClock(t *testing.T) {
	f := newFixture(t)
	if _, page := f.get(t, "/ui/catalog", authed()); strings.Contains(page, "clock +") {
		t.Errorf("a clock at real time is flagged")
	}
	f.api(t, "POST", "/ospbox/v1/clock/advance", `{"seconds": 14400}`)
	for _, p := range []string{"/ui/", "/ui/catalog", "/ui/spend", "/ui/requests"} {
		if _, page := f.get(t, p, authed()); !strings.Contains(page, "clock +4h<") {
			t.Errorf("%s does not show the clock +4h", p)
		}
	}
}
