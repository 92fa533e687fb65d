package mock

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/ospbox/ospbox/manifests/jsondoc"
)

// Redacted replaces secret values in logs.
const Redacted = "[redacted]"

// secretParts are fragments of member names whose scalar values are secrets.
var secretParts = []string{"password", "secret", "token", "api_key", "apikey", "private_key", "ciphertext", "authorization", "passphrase"}

// wholeSecrets are member names whose entire value, object or not, holds secrets: credential
// bundles and the private part of a JWK.
var wholeSecrets = map[string]bool{"credentials": true, "credentials_bundle": true, "d": true}

func isSecretName(name string) bool {
	n := strings.ToLower(name)
	for _, w := range secretParts {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// redactURL hides the password of a URL with user information (postgres://u:pw@host/db).
func redactURL(s string) string {
	if !strings.Contains(s, "://") || !strings.Contains(s, "@") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "redacted")
	}
	return u.String()
}

// RedactJSON returns body with secrets replaced, so the request log can keep bodies without
// keeping secrets: scalar values under secret-looking names, whole credential bundles, and
// passwords inside URLs. Member order is kept. A body that is not JSON is not logged, since its
// secrets cannot be located.
func RedactJSON(body []byte) string {
	if len(body) == 0 {
		return ""
	}
	doc, err := jsondoc.Parse(body)
	if err != nil {
		return "[non-JSON body, " + strconv.Itoa(len(body)) + " bytes, not logged]"
	}
	redactNode(doc.Root)
	return string(jsondoc.Compact(doc.Root))
}

func redactNode(n *jsondoc.Node) {
	switch n.Kind {
	case jsondoc.Object:
		for i := range n.Members {
			m := &n.Members[i]
			switch {
			case wholeSecrets[strings.ToLower(m.Name)]:
				m.Value = jsondoc.NewString(Redacted)
			case isSecretName(m.Name) && m.Value.Kind != jsondoc.Object && m.Value.Kind != jsondoc.Array && m.Value.Kind != jsondoc.Null:
				m.Value = jsondoc.NewString(Redacted)
			default:
				redactNode(m.Value)
			}
		}
	case jsondoc.Array:
		for _, it := range n.Items {
			redactNode(it)
		}
	case jsondoc.String:
		n.Text = redactURL(n.Text)
	}
}
