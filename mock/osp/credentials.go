package osp

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/ospbox/ospbox/manifests/jsondoc"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randomString draws n base62 characters from crypto/rand (rejection sampling keeps them
// uniform: bytes of 248 and above are skipped).
func randomString(n int) string {
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/4+8)
	for len(out) < n {
		rand.Read(buf)
		for _, b := range buf {
			if b < 248 && len(out) < n {
				out = append(out, base62[b%62])
			}
		}
	}
	return string(out)
}

// NewAccessToken returns a resource access token: osp_rat_ and 32 random characters (§7.4).
func NewAccessToken() string { return "osp_rat_" + randomString(32) }

// tokenHash is how access tokens are stored: never in the clear.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func isSecretProperty(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"password", "secret", "key", "token"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// GenerateCredentials builds the credential object for an offering's credentials_schema
// (spec/osp.md §7.5): one value per property, typed by the schema. On rotation, previous holds
// the old object: identifiers are kept, every secret-like value (and URLs embedding one) is new.
func GenerateCredentials(schema *jsondoc.Node, resourceID, slug string, previous map[string]any) map[string]any {
	out := map[string]any{}
	props := schema.Get("properties")
	host := "https://" + resourceID + "." + slug + ".sandbox.invalid/"
	if props == nil || props.Kind != jsondoc.Object || len(props.Members) == 0 {
		out["API_URL"] = host
		out["API_KEY"] = "osp_sk_" + randomString(32)
		return out
	}
	// One password per version, shared by a password property and the URLs that embed it.
	password := randomString(16 + int(randomByte()%17))
	for _, m := range props.Members {
		if strings.Contains(strings.ToLower(m.Name), "password") {
			out[m.Name] = password
		}
	}
	user := strings.ReplaceAll(slug, "-", "_") + "_" + strings.ToLower(resourceID[max(0, len(resourceID)-6):])
	db := strings.ReplaceAll(slug, "-", "_")
	for _, m := range props.Members {
		name, p := m.Name, m.Value
		if _, done := out[name]; done {
			continue
		}
		lname := strings.ToLower(name)
		switch typ := p.Str("type"); {
		case typ == "integer" || typ == "number":
			out[name] = scalarDefault(p, name, 1)
		case typ == "boolean":
			out[name] = true
			if v := p.Get("const"); v != nil {
				out[name] = v.Text == "true"
			} else if v := p.Get("default"); v != nil {
				out[name] = v.Text == "true"
			}
		case p.Str("format") == "uri" || strings.HasSuffix(lname, "_url") || strings.HasSuffix(lname, "_uri") || lname == "connection_string":
			switch {
			case strings.Contains(lname, "postgres") || strings.Contains(lname, "database") || strings.Contains(lname, "connection"):
				out[name] = "postgresql://" + user + ":" + password + "@127.0.0.1:5432/" + db
			case strings.Contains(lname, "redis"):
				out[name] = "redis://default:" + password + "@127.0.0.1:6379/0"
			default:
				out[name] = host
			}
		case isSecretProperty(name):
			out[name] = randomString(16 + int(randomByte()%17))
		default:
			if e := p.Get("enum"); e != nil && len(e.Items) > 0 {
				out[name] = e.Items[0].Text
			} else if old, ok := previous[name]; ok {
				out[name] = old
			} else {
				out[name] = name + "_" + randomString(8)
			}
		}
	}
	return out
}

func scalarDefault(p *jsondoc.Node, name string, fallback int) any {
	for _, k := range []string{"const", "default"} {
		if v := p.Get(k); v != nil && v.Kind == jsondoc.Number {
			return json.Number(v.Text)
		}
	}
	if strings.EqualFold(name, "port") {
		return 5432
	}
	return fallback
}

func randomByte() byte {
	var b [1]byte
	rand.Read(b[:])
	return b[0]
}
