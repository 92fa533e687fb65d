package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// PrepareNamespace makes namespace id of the ospbox at host fresh for a run — created empty, or
// reset to empty when it exists — and returns its base URL: the demo runs there, so it can run
// any number of times and never touches the user's own state (spec/control.md §1). It returns
// "" and no error when host has no namespaces (an older ospbox, or not the root of one).
func PrepareNamespace(ctx context.Context, client *http.Client, host, id string) (string, error) {
	if client == nil {
		client = &http.Client{}
	}
	host = strings.TrimRight(host, "/")
	post := func(path string, body any) (int, map[string]any, error) {
		raw, _ := json.Marshal(body)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, host+path, bytes.NewReader(raw))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, fmt.Errorf("%s: %w (is ospbox running at %s?)", path, err, host)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out, nil
	}
	st, out, err := post("/ospbox/v1/namespaces", map[string]any{"id": id, "from": "empty", "labels": map[string]string{"purpose": "ospbox demo"}})
	switch {
	case err != nil:
		return "", err
	case st == http.StatusCreated:
	case st == http.StatusConflict:
		if st, out, err = post("/ospbox/v1/namespaces/"+id+"/reset", map[string]any{"to": "empty"}); err != nil {
			return "", err
		} else if st != http.StatusOK {
			return "", fmt.Errorf("resetting the namespace %s answered %d %s", id, st, describe(out))
		}
	case st == http.StatusNotFound:
		return "", nil
	default:
		return "", fmt.Errorf("creating the namespace %s answered %d %s", id, st, describe(out))
	}
	base, _ := out["base_url"].(string)
	if base == "" {
		base = host + "/ns/" + id
	}
	return base, nil
}
