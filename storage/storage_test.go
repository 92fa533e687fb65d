package storage

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func openTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOpenAppliesMigrationsOnceAndSetsPragmas(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := db.SchemaVersion(ctx)
	if v < 1 {
		t.Fatalf("schema version %d", v)
	}
	var mode string
	var fk int
	db.write.QueryRow(`PRAGMA journal_mode`).Scan(&mode)
	db.write.QueryRow(`PRAGMA foreign_keys`).Scan(&fk)
	if mode != "wal" || fk != 1 {
		t.Errorf("journal_mode=%s foreign_keys=%d", mode, fk)
	}
	if _, err := db.read.Exec(`INSERT INTO events (id, at, protocol, type) VALUES ('x','t','osp','y')`); err == nil {
		t.Error("reader pool must be read-only")
	}
	db.RecordRequest(ctx, Request{At: time.Now(), Protocol: "osp", Method: "GET", Path: "/x", Status: 200})
	db.Close()
	db2, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db2.Close()
	if v2, _ := db2.SchemaVersion(ctx); v2 != v {
		t.Errorf("reopen changed schema version %d -> %d", v, v2)
	}
	if c, _ := db2.Counts(ctx); c.Requests != 1 {
		t.Errorf("data lost across reopen: %+v", c)
	}
}

func TestFeedPublishesOnlyAfterCommit(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	ch, cancel := db.Feed.Subscribe()
	defer cancel()
	failed := db.Update(ctx, func(tx *Tx) error {
		tx.Changed("requests", "1", "insert")
		return context.Canceled
	})
	if failed == nil {
		t.Fatal("want the error back")
	}
	id, err := db.RecordRequest(ctx, Request{At: time.Now(), Protocol: "osp", Provider: "acmedb", Method: "GET", Path: "/.well-known/osp.json", Status: 200})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-ch:
		if c.Table != "requests" || c.ID != "1" || id != 1 {
			t.Errorf("change %+v id %d (a rolled-back change must not be published)", c, id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no change published")
	}
}

func TestRequestLogIsBounded(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	err := db.Update(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < ?)
			INSERT INTO requests (at, protocol, method, path, status, latency_us) SELECT 't', 'osp', 'GET', '/', 200, 1 FROM n`, RequestLogLimit)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	db.RecordRequest(ctx, Request{At: time.Now(), Protocol: "osp", Method: "GET", Path: "/new", Status: 404})
	c, _ := db.Counts(ctx)
	if c.Requests != RequestLogLimit {
		t.Errorf("requests %d, want %d", c.Requests, RequestLogLimit)
	}
	recent, _ := db.RecentRequests(ctx, 1)
	if len(recent) != 1 || recent[0].Path != "/new" {
		t.Errorf("newest request lost: %+v", recent)
	}
}

func TestServedVersionIncrementsOnlyOnChange(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	t0 := time.Date(2026, 4, 10, 8, 0, 0, 0, time.UTC)
	v1, p1, _ := db.ServedVersion(ctx, "acmedb", "h1", t0)
	v1b, p1b, _ := db.ServedVersion(ctx, "acmedb", "h1", t0.Add(time.Hour))
	v2, p2, _ := db.ServedVersion(ctx, "acmedb", "h2", t0.Add(2*time.Hour))
	other, _, _ := db.ServedVersion(ctx, "skyhost", "h1", t0)
	if v1 != 1 || v1b != 1 || !p1b.Equal(p1) || v2 != 2 || !p2.Equal(t0.Add(2*time.Hour)) || other != 1 {
		t.Errorf("versions %d %d %d %d, published %v %v %v", v1, v1b, v2, other, p1, p1b, p2)
	}
}

func TestConcurrentWritesAreSerialised(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 25; j++ {
				if _, err := db.RecordRequest(ctx, Request{At: time.Now(), Protocol: "osp", Method: "GET", Path: "/", Status: 200}); err != nil {
					t.Error(err)
					return
				}
				db.Counts(ctx)
			}
		}()
	}
	wg.Wait()
	if c, _ := db.Counts(ctx); c.Requests != 200 {
		t.Errorf("requests %d, want 200", c.Requests)
	}
}

func TestSharedResponseBodiesAreStoredOnceAndReadBack(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	manifest := `{"osp_version":"1.1"}`
	batch := []Request{
		{At: time.Now(), Protocol: "osp", Method: "GET", Path: "/.well-known/osp.json", Status: 200, ResponseBody: manifest, ResponseRef: "h1",
			RequestID: "req_1", RequestHeaders: `{"Accept":["*/*"]}`, ResponseHeaders: `{"Etag":["\"1\""]}`},
		{At: time.Now(), Protocol: "osp", Method: "GET", Path: "/.well-known/osp.json", Status: 200, ResponseBody: manifest, ResponseRef: "h1",
			RequestID: "req_2", RequestHeaders: `{"Accept":["*/*"]}`, ResponseHeaders: `{"Etag":["\"1\""]}`},
		{At: time.Now(), Protocol: "osp", Method: "POST", Path: "/osp/v1/provision", Status: 201, RequestBody: `{"a":1}`, ResponseBody: `{"b":2}`},
	}
	last, err := db.RecordRequests(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	var stored, inline, headerSets int
	db.read.QueryRow(`SELECT COUNT(*) FROM bodies WHERE hash NOT LIKE 'hdr:%'`).Scan(&stored)
	db.read.QueryRow(`SELECT COUNT(*) FROM requests WHERE response_body = ?`, manifest).Scan(&inline)
	db.read.QueryRow(`SELECT COUNT(*) FROM bodies WHERE hash LIKE 'hdr:%'`).Scan(&headerSets)
	if stored != 1 || inline != 0 {
		t.Errorf("shared bodies %d, inline copies %d; want 1 and 0", stored, inline)
	}
	if headerSets != 2 { // the two GETs share theirs; the POST has none
		t.Errorf("stored header sets %d, want 2", headerSets)
	}
	for i, id := range []int64{last - 2, last - 1} {
		r, _ := db.RequestByID(ctx, id)
		if want := fmt.Sprintf(`{"Etag":["\"1\""],"X-Request-Id":["req_%d"]}`, i+1); r.ResponseHeaders != want || r.RequestHeaders != `{"Accept":["*/*"]}` {
			t.Errorf("request %d headers %s / %s, want the request's own X-Request-Id back: %s", id, r.RequestHeaders, r.ResponseHeaders, want)
		}
	}
	for id := last - 2; id <= last; id++ {
		r, err := db.RequestByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if want := batch[id-last+2].ResponseBody; r.ResponseBody != want {
			t.Errorf("request %d response %q, want %q", id, r.ResponseBody, want)
		}
	}
	if r, _ := db.RequestByID(ctx, last); r.RequestBody != `{"a":1}` || r.Method != "POST" || r.Status != 201 {
		t.Errorf("request %+v", r)
	}
	if _, err := db.RequestByID(ctx, last+1); err != ErrNotFound {
		t.Errorf("missing request: %v", err)
	}
}

func TestUnreferencedSharedBodiesArePruned(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	db.RecordRequest(ctx, Request{At: time.Now(), Protocol: "osp", Method: "GET", Path: "/", Status: 200, ResponseBody: "old", ResponseRef: "old"})
	// The log rolls over: the request referring to "old" is trimmed, and the next sweep drops it.
	batch := make([]Request, pruneEvery)
	for i := range batch {
		batch[i] = Request{At: time.Now(), Protocol: "osp", Method: "GET", Path: "/", Status: 200, ResponseBody: "new", ResponseRef: "new"}
	}
	db.Update(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM requests`)
		return err
	})
	if _, err := db.RecordRequests(ctx, batch); err != nil {
		t.Fatal(err)
	}
	var refs []string
	rows, _ := db.read.Query(`SELECT hash FROM bodies WHERE hash NOT LIKE 'hdr:%' ORDER BY hash`)
	for rows.Next() {
		var h string
		rows.Scan(&h)
		refs = append(refs, h)
	}
	rows.Close()
	if len(refs) != 1 || refs[0] != "new" {
		t.Errorf("shared bodies %v, want [new]", refs)
	}
}

func TestCachedStatementsSeeEachUpdatesOwnEffects(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	count := func(tx *Tx) (n int) {
		tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM requests WHERE path = ?`, "/cached").Scan(&n)
		return n
	}
	insert := func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO requests (at, protocol, method, path, status, latency_us) VALUES ('t', 'osp', 'GET', ?, 200, 1)`, "/cached")
		return err
	}
	// The first rounds prepare the statements; the later ones run them from the cache, including
	// after an update that failed and was rolled back to its savepoint.
	for round := 1; round <= 4; round++ {
		db.Update(ctx, func(tx *Tx) error {
			insert(tx)
			return errors.New("changed my mind")
		})
		var seen int
		if err := db.Update(ctx, func(tx *Tx) error {
			if err := insert(tx); err != nil {
				return err
			}
			seen = count(tx)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if seen != round {
			t.Fatalf("round %d: the update saw %d rows", round, seen)
		}
	}
}

func TestFilterRequests(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	db.RecordRequests(ctx, []Request{
		{At: time.Now(), Protocol: "osp", Provider: "acmedb", Method: "GET", Path: "/.well-known/osp.json", Status: 200, Agent: "curl/8"},
		{At: time.Now(), Protocol: "osp", Provider: "acmedb", Method: "POST", Path: "/osp/v1/provision", Status: 402, RequestID: "req_cap"},
		{At: time.Now(), Protocol: "osp", Provider: "skyhost", Method: "POST", Path: "/osp/v1/provision", Status: 201},
		{At: time.Now(), Protocol: "osp", Provider: "skyhost", Method: "GET", Path: "/100%_done", Status: 404},
	})
	paths := func(f RequestFilter) string {
		rs, err := db.FilterRequests(ctx, f, 10)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rs {
			out = append(out, r.Provider+" "+r.Method+" "+strconv.Itoa(r.Status))
		}
		return strings.Join(out, ", ")
	}
	for f, want := range map[RequestFilter]string{
		{}:                                    "skyhost GET 404, skyhost POST 201, acmedb POST 402, acmedb GET 200",
		{Provider: "acmedb"}:                  "acmedb POST 402, acmedb GET 200",
		{Method: "POST", StatusClass: 4}:      "acmedb POST 402",
		{Text: "req_cap"}:                     "acmedb POST 402",
		{Text: "curl"}:                        "acmedb GET 200",
		{Text: "%_"}:                          "skyhost GET 404",
		{Provider: "skyhost", StatusClass: 2}: "skyhost POST 201",
	} {
		if got := paths(f); got != want {
			t.Errorf("%+v: %s, want %s", f, got, want)
		}
	}
}
