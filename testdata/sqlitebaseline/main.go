// Command sqlitebaseline is the write limit provisioning is measured against (scripts/load.sh):
// an HTTP server whose POST does the inserts of one ospbox provisioning — the resource, its
// credential, its access token and its event in one transaction through storage's group-commit
// writer, then the request-log row in a batch — and answers fixed bytes, with nothing else: no
// manifest, validation, routing or JSON work. Provisioning as a ratio to it says how much of the
// machine's SQLite write capacity ospbox's own code leaves unused.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ospbox/ospbox/storage"
)

func main() {
	file := flag.String("file", "", "the provision response to answer with")
	dir := flag.String("dir", "", "directory for the state database")
	flag.Parse()
	body, err := os.ReadFile(*file)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx := context.Background()
	db, err := storage.Open(ctx, filepath.Join(*dir, "state.db"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	log := newBatcher(db)
	var seq atomic.Int64
	http.HandleFunc("POST /x", func(w http.ResponseWriter, r *http.Request) {
		now := time.Now().UTC()
		n := seq.Add(1)
		id := "res_" + strconv.FormatInt(n, 36) + randomHex(8)
		err := db.Update(r.Context(), func(tx *storage.Tx) error {
			res := storage.Resource{ID: id, Provider: "acmedb", OfferingID: "acmedb/redis", TierID: "free", ProjectID: "proj_default",
				Status: "provisioned", CreatedAt: now, UpdatedAt: now, Data: []byte(`{"region":"us-east-1","client":"127.0.0.1"}`)}
			if err := tx.PutResource(r.Context(), res); err != nil {
				return err
			}
			cred := storage.Credential{ID: "bnd_" + id, ResourceID: id, Version: 1, CreatedAt: now, Data: body}
			if err := tx.PutCredential(r.Context(), cred); err != nil {
				return err
			}
			if err := tx.PutAccessToken(r.Context(), randomHex(32), id, cred.ID); err != nil {
				return err
			}
			return tx.PutEvent(r.Context(), storage.Event{ID: "evt_" + id, At: now, Protocol: "osp", Provider: "acmedb", ResourceID: id,
				Type: "resource.provisioned", Data: []byte(`{"status":"provisioned"}`)})
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write(body)
		log.add(storage.Request{At: now, Protocol: "osp", Provider: "acmedb", Method: "POST", Path: "/osp/v1/provision", Status: 201,
			Latency: time.Since(now), RequestID: id, RequestBody: `{"offering_id":"acmedb/redis","tier_id":"free"}`, ResponseBody: string(body),
			RequestHeaders: "{}", ResponseHeaders: "{}"})
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("  sandbox host  http://%s\n", l.Addr())
	http.Serve(l, nil)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// batcher writes request-log rows in batches, lingering 5 ms as ospbox's request log does.
type batcher struct {
	mu      sync.Mutex
	pending []storage.Request
}

func newBatcher(db *storage.DB) *batcher {
	b := &batcher{}
	go func() {
		for range time.Tick(5 * time.Millisecond) {
			b.mu.Lock()
			batch := b.pending
			b.pending = nil
			b.mu.Unlock()
			if len(batch) > 0 {
				db.RecordRequests(context.Background(), batch)
			}
		}
	}()
	return b
}

func (b *batcher) add(r storage.Request) {
	b.mu.Lock()
	b.pending = append(b.pending, r)
	b.mu.Unlock()
}
