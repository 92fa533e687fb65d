package mock

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
)

// Redacted replaces secret values in logs.
const Redacted = "[redacted]"

// secretParts are fragments of member names whose values are secrets wherever they appear.
var secretParts = []string{"password", "secret", "token", "api_key", "apikey", "private_key", "ciphertext", "authorization", "passphrase"}

// secretNames are whole member names whose values hold secrets.
var secretNames = map[string]bool{"credentials": true, "credentials_bundle": true, "d": true}

// isSecretName reports whether a JSON member or header name carries a secret.
func isSecretName(name string) bool {
	n := strings.ToLower(name)
	if secretNames[n] {
		return true
	}
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

// RedactJSON returns body with every value under a secret-looking member name replaced, so the
// request log can keep bodies without keeping secrets. A body that is not JSON is replaced
// whole when it is not empty, since its secrets cannot be located.
func RedactJSON(body []byte) string {
	if len(body) == 0 {
		return ""
	}
	var v any
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return "[non-JSON body, " + strconv.Itoa(len(body)) + " bytes, not logged]"
	}
	out, err := json.Marshal(redactValue(v))
	if err != nil {
		return Redacted
	}
	return string(out)
}

func redactValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			if isSecretName(k) {
				t[k] = Redacted
			} else {
				t[k] = redactValue(val)
			}
		}
	case []any:
		for i := range t {
			t[i] = redactValue(t[i])
		}
	case string:
		return redactURL(t)
	}
	return v
}
