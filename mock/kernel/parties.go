// What one party of the agent-provisioning pattern needs to reach another: the documents it
// fetches, and where the UI page for a namespace is.

package kernel

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// UIPage is the address of a UI page for the namespace whose origin is origin (…/ns/<id> for
// one that is not the default): the UI lives at the root and takes the namespace as ?ns=.
func UIPage(origin, page string, query url.Values) string {
	root, ns, found := strings.Cut(origin, "/ns/")
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	if found && ns != "default" {
		q.Set("ns", ns)
	}
	u := root + "/ui/" + page
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// GetJSON reads the JSON document at url with client (at most 1 MiB), for the documents one
// party fetches from another: discovery, key sets, OAuth metadata. Anything but 200 is an error.
func GetJSON(ctx context.Context, client *http.Client, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s answered %d", url, resp.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
}
