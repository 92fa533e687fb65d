package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestProjectsFromLiteralZero drives `ospbox projects` as an agent would, through the binary,
// against a fresh `serve --ephemeral`: a project, a free service and a paid one (an account made
// from the attested identity, a payment token redeemed for the paid tier), the credentials
// redacted unless --reveal, the spend against the orchestrator's caps, and revoke, after which
// the credential handed to the agent answers 401. No secret reaches the request log or the
// process log.
func TestProjectsFromLiteralZero(t *testing.T) {
	bin := buildBinary(t)
	_, base, _, serveLog := startServe(t, bin, "serve", "--ephemeral", "--addr", "127.0.0.1:0")
	config := t.TempDir()
	run := func(args ...string) (string, string) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"projects", "--target", base}, args...)...)
		cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+config, "OSPBOX_PROJECT_TOKEN=", "OSPBOX_PROJECT_ID=")
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("ospbox projects %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
		}
		return stdout.String(), stderr.String()
	}
	decode := func(out string, v any) {
		t.Helper()
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
	}
	var project struct {
		ProjectID string `json:"project_id"`
		Token     string `json:"token"`
	}
	out, _ := run("init", "shop", "--json")
	decode(out, &project)
	if !strings.HasPrefix(project.ProjectID, "prj_") || !strings.HasPrefix(project.Token, "opt_") {
		t.Fatalf("init: %s", out)
	}
	var cat struct {
		Catalog struct {
			Services []struct {
				OfferingID string `json:"offering_id"`
			} `json:"services"`
		} `json:"catalog"`
	}
	out, _ = run("catalog", "--json")
	decode(out, &cat)
	if len(cat.Catalog.Services) < 5 {
		t.Fatalf("catalog: %s", out)
	}
	var free, paid struct {
		ResourceID string   `json:"resource_id"`
		AccountID  string   `json:"account_id"`
		Status     string   `json:"status"`
		PaidWith   string   `json:"payment_token"`
		Stored     []string `json:"stored_credentials"`
	}
	out, progress := run("add", "acmedb/redis", "--json")
	decode(out, &free)
	if free.Status != "provisioned" || free.PaidWith != "" || !strings.HasPrefix(free.AccountID, "acct_") || !strings.Contains(progress, "created from the attestation") {
		t.Fatalf("add free: %s\n%s", out, progress)
	}
	out, _ = run("add", "acmedb/redis:pay-as-you-go", "--json")
	decode(out, &paid)
	if !strings.HasPrefix(paid.PaidWith, "spt_") || paid.AccountID != free.AccountID {
		t.Fatalf("add paid: %s", out)
	}
	// env: redacted by default, the secrets with --reveal.
	redacted, note := run("env")
	revealed, _ := run("env", "--reveal")
	var secrets []string
	for _, line := range strings.Split(strings.TrimSpace(revealed), "\n") {
		name, value, _ := strings.Cut(line, "=")
		if strings.HasSuffix(name, "_RESOURCE_ACCESS_TOKEN") {
			secrets = append(secrets, value)
		}
		if strings.Contains(redacted, value) {
			t.Errorf("env without --reveal prints %s", name)
		}
	}
	if len(secrets) != 2 || !strings.Contains(note, "--reveal") {
		t.Fatalf("env --reveal: %s", revealed)
	}
	var spend struct {
		User struct {
			Redeemed struct{ Amount string } `json:"redeemed"`
		} `json:"user"`
	}
	out, _ = run("spend", "--json")
	decode(out, &spend)
	if spend.User.Redeemed.Amount != "5.00" {
		t.Errorf("spend: %s", out)
	}
	var list struct {
		Resources []struct {
			ResourceID string `json:"resource_id"`
		} `json:"resources"`
	}
	out, _ = run("list", "--json")
	decode(out, &list)
	if len(list.Resources) != 2 {
		t.Fatalf("list: %s", out)
	}
	out, _ = run("revoke")
	if strings.Count(out, "rotated true, deprovisioned true") != 2 {
		t.Fatalf("revoke: %s", out)
	}
	req, _ := http.NewRequest("GET", base+"/providers/acmedb/osp/v1/resources/"+free.ResourceID, nil)
	req.Header.Set("Authorization", "Bearer "+secrets[0])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("a revoked credential answers %d", resp.StatusCode)
	}
	resp, err = http.Get(base + "/ospbox/v1/requests?limit=500")
	if err != nil {
		t.Fatal(err)
	}
	journal, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, secret := range append(secrets, project.Token) {
		if strings.Contains(string(journal), secret) || strings.Contains(serveLog.String(), secret) {
			t.Errorf("a secret (%.12s…) is in the request log or the process log", secret)
		}
	}
}

// TestProjectsAddWithConsent is the OAuth path through the binary: skyhost (the sample's provider
// that asks for consent) answers the account request with 401 resource_metadata; `projects add
// --approve` answers the consent, the orchestrator exchanges the code and holds the grant, and
// the service is provisioned with the grant's access token. A second add uses the same grant;
// revoke ends it at the provider. Neither the access or refresh token nor the authorization
// code reaches the request log or the process log.
func TestProjectsAddWithConsent(t *testing.T) {
	bin := buildBinary(t)
	_, base, _, serveLog := startServe(t, bin, "serve", "--ephemeral", "--addr", "127.0.0.1:0")
	config := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"projects", "--target", base}, args...)...)
		cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+config, "OSPBOX_PROJECT_TOKEN=", "OSPBOX_PROJECT_ID=")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("ospbox projects %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	var project struct {
		ProjectID string `json:"project_id"`
		Token     string `json:"token"`
	}
	json.Unmarshal([]byte(run("init", "site", "--json")), &project)
	type added struct {
		Authorization string `json:"authorization"`
		Consent       string `json:"consent_id"`
		AccountID     string `json:"account_id"`
		ResourceID    string `json:"resource_id"`
	}
	var first, second added
	json.Unmarshal([]byte(run("add", "skyhost/static-site", "--approve", "--json")), &first)
	json.Unmarshal([]byte(run("add", "skyhost/static-site", "--approve", "--json")), &second)
	if first.Authorization != "oauth" || !strings.HasPrefix(first.Consent, "cns_") || second.Consent != first.Consent || second.AccountID != first.AccountID {
		t.Fatalf("adds: %+v %+v", first, second)
	}
	// The grant's access token, as the orchestrator hands it out.
	tokReq, _ := http.NewRequest("POST", base+"/orchestrator/v1/consents/"+first.Consent+"/token", strings.NewReader("{}"))
	tokReq.Header.Set("Authorization", "Bearer "+project.Token)
	resp, err := http.DefaultClient.Do(tokReq)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if tok.AccessToken == "" {
		t.Fatal("no access token for the consent")
	}
	run("revoke")
	acct, _ := http.NewRequest("POST", base+"/providers/skyhost/osp/v1/accounts", strings.NewReader("{}"))
	acct.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	if resp, err = http.DefaultClient.Do(acct); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("the revoked grant's access token answers %d", resp.StatusCode)
	}
	if resp, err = http.Get(base + "/ospbox/v1/requests?limit=500"); err != nil {
		t.Fatal(err)
	}
	journal, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, leak := range []string{tok.AccessToken, "osp_oauth_rt_", "code=ey", project.Token} {
		if strings.Contains(string(journal), leak) || strings.Contains(serveLog.String(), leak) {
			t.Errorf("%.16s… is in the request log or the process log", leak)
		}
	}
}
