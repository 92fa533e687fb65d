package kernel

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/ospbox/ospbox/manifests/jsondoc"
)

// Redacted replaces secret values in logs.
const Redacted = "[redacted]"

// secretParts are fragments of member names whose scalar values are secrets.
var secretParts = []string{"password", "secret", "token", "api_key", "apikey", "private_key", "redemption_key", "ciphertext", "authorization", "passphrase"}

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

// RedactURL hides the password of a URL with user information (postgres://u:pw@host/db).
func RedactURL(s string) string {
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
	if s, err := redactCopy(body); err == nil {
		return s
	}
	return redactTree(body)
}

// redactTree is RedactJSON through jsondoc's tree, for the bodies the copier hands over.
func redactTree(body []byte) string {
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
			case wholeSecrets[strings.ToLower(m.Name)] && m.Value.Kind != jsondoc.Null:
				// null stays null: a pending resource has no credentials yet, and the log says so.
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
		n.Text = RedactURL(n.Text)
	}
}

// RedactHeaders renders headers (and the request's Host, which net/http keeps apart) as a JSON
// object of name to values for the request log, with secret values replaced. Credentials in
// Authorization keep their scheme ("Bearer [redacted]"), so the log still says which was used.
// The header named omit is left out (the response's X-Request-Id: the log keeps it in a column
// of its own).
func RedactHeaders(h http.Header, host, omit string) string {
	names := make([]string, 0, len(h)+1)
	for name := range h {
		if name != omit {
			names = append(names, name)
		}
	}
	if _, ok := h["Host"]; host != "" && !ok {
		names = append(names, "Host")
	}
	slices.Sort(names)
	b := make([]byte, 0, 64*len(names))
	b = append(b, '{')
	for i, name := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, name)
		b = append(b, ':', '[')
		values := h[name]
		if name == "Host" && host != "" && values == nil {
			values = []string{host}
		}
		for j, v := range values {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, redactHeaderValue(name, v))
		}
		b = append(b, ']')
	}
	return string(append(b, '}'))
}

// appendJSONString appends s as a JSON string: printable ASCII as is, anything else through
// encoding/json (header values are almost always printable ASCII).
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// plainHeaders are the common headers that never carry a secret, looked up before the slower
// general rule.
var plainHeaders = map[string]bool{
	"Accept": true, "Accept-Encoding": true, "Accept-Language": true, "Access-Control-Allow-Origin": true,
	"Cache-Control": true, "Connection": true, "Content-Length": true, "Content-Type": true, "Etag": true,
	"Host": true, "Idempotency-Key": true, "Location": true, "Origin": true, "Ratelimit-Limit": true,
	"Ratelimit-Remaining": true, "Ratelimit-Reset": true, "Referer": true, "Retry-After": true,
	"User-Agent": true, "X-Osp-Version": true,
}

func redactHeaderValue(name, v string) string {
	if name == "Location" { // a redirect may carry an authorization code
		if u, err := url.Parse(v); err == nil && u.RawQuery != "" {
			return strings.TrimSuffix(u.Scheme+"://"+u.Host, "://") + RedactQuery(u)
		}
	}
	if plainHeaders[name] {
		return v
	}
	n := strings.ToLower(name)
	switch {
	case n == "authorization" || n == "proxy-authorization":
		if scheme, _, ok := strings.Cut(v, " "); ok {
			return scheme + " " + Redacted
		}
		return Redacted
	case n == "cookie" || n == "set-cookie" || isSecretName(strings.ReplaceAll(n, "-", "_")):
		return Redacted
	}
	return v
}

// RedactQuery is the request URI with the values of secret-looking query parameters replaced
// (a token pasted into a URL must not land in the log).
func RedactQuery(u *url.URL) string {
	if u.RawQuery == "" {
		return u.RequestURI()
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		c := *u
		c.RawQuery = Redacted
		return c.RequestURI()
	}
	changed := false
	for name, values := range q {
		if isSecretName(name) || name == "code" { // code: an OAuth authorization code (RFC 6749 §4.1.2)
			for i := range values {
				values[i] = Redacted
			}
			changed = true
		}
	}
	if !changed {
		return u.RequestURI()
	}
	c := *u
	// Keep the marker readable in the log rather than percent-encoded.
	c.RawQuery = strings.ReplaceAll(q.Encode(), url.QueryEscape(Redacted), Redacted)
	return c.RequestURI()
}
