package check

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// throwawayNamespace creates a namespace for the run when target is the root of an ospbox
// sandbox host, and returns its base URL and a function that deletes it; "" when target is
// anything else (another provider, or already a namespace).
func throwawayNamespace(ctx context.Context, opts Options) (string, func()) {
	if opts.InPlace {
		return "", nil
	}
	api := opts.Target + "/ospbox/v1/namespaces"
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	body, _ := json.Marshal(map[string]any{"from": "empty", "ttl_seconds": 3600, "labels": map[string]string{"purpose": "ospbox check"}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, api, bytes.NewReader(body))
	if err != nil {
		return "", nil
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := opts.Client.Do(req)
	if err != nil {
		return "", nil
	}
	defer resp.Body.Close()
	var ns struct {
		ID      string `json:"id"`
		BaseURL string `json:"base_url"`
	}
	if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&ns) != nil || ns.BaseURL == "" {
		return "", nil
	}
	return ns.BaseURL, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if req, err := http.NewRequestWithContext(ctx, http.MethodDelete, api+"/"+ns.ID, nil); err == nil {
			if resp, err := opts.Client.Do(req); err == nil {
				resp.Body.Close()
			}
		}
	}
}
