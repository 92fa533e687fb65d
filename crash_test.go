package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ospbox/ospbox/storage"
)

// TestKillMidLoadLosesNothingAcknowledged provisions from 16 clients against the real binary,
// kills it with SIGKILL in the middle, restarts it on the same workspace, and checks that every
// provisioning the clients saw acknowledged is there and the database is sound.
func TestKillMidLoadLosesNothingAcknowledged(t *testing.T) {
	bin := buildBinary(t)
	ws := t.TempDir()
	cmd, base, _, _ := startServe(t, bin, "serve", "--workspace", ws, "--addr", "127.0.0.1:0")
	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Post(base+"/providers/acmedb/osp/v1/provision", "application/json",
					strings.NewReader(`{"offering_id":"acmedb/redis","tier_id":"free"}`))
				if err != nil {
					return // the server is gone
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 201 {
					var r struct {
						ID string `json:"resource_id"`
					}
					if json.Unmarshal(body, &r) == nil && r.ID != "" {
						mu.Lock()
						acked = append(acked, r.ID)
						mu.Unlock()
					}
				}
			}
		}()
	}
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 150 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	close(stop)
	wg.Wait()

	// Restart: every acknowledged resource answers.
	_, base2, _, _ := startServe(t, bin, "serve", "--workspace", ws, "--addr", "127.0.0.1:0")
	mu.Lock()
	ids := append([]string(nil), acked...)
	mu.Unlock()
	for _, id := range ids {
		resp, err := http.Get(base2 + "/providers/acmedb/osp/v1/resources/" + id)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("acknowledged resource %s lost after SIGKILL: %d", id, resp.StatusCode)
		}
	}
	db, err := storage.Open(context.Background(), filepath.Join(ws, ".ospbox", "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, err := db.IntegrityCheck(context.Background()); err != nil || v != "ok" {
		t.Errorf("integrity_check: %q %v", v, err)
	}
	t.Logf("%d acknowledged provisions survived SIGKILL", len(ids))
}
