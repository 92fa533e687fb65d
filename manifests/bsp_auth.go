package manifests

import (
	"net/http"
	"strings"

	"github.com/ospbox/ospbox/manifests/jsondoc"
)

// BSPScheme is where a BSP authentication block puts the credential (spec/bsp.md §5).
type BSPScheme struct {
	In   string // "" (nothing declared), "header", "query" or "authorization"
	Name string // the header or query parameter, or the Authorization scheme
}

// BSPSchemeOf reads an authentication block: bearer with its scheme (default Bearer), apiKey in
// a header or the query under its scheme (default X-Api-Key), oauth2 as a Bearer token.
func BSPSchemeOf(auth *jsondoc.Node) BSPScheme {
	scheme := auth.Str("scheme")
	switch auth.Str("type") {
	case "", "none":
		return BSPScheme{}
	case "apiKey":
		if scheme == "" {
			scheme = "X-Api-Key"
		}
		if auth.Str("in") == "query" {
			return BSPScheme{"query", scheme}
		}
		return BSPScheme{"header", scheme}
	case "oauth2":
		scheme = "Bearer"
	}
	if scheme == "" {
		scheme = "Bearer"
	}
	return BSPScheme{"authorization", scheme}
}

// Presented is the credential a request carries, or "".
func (s BSPScheme) Presented(r *http.Request) string {
	switch s.In {
	case "query":
		return r.URL.Query().Get(s.Name)
	case "header":
		return r.Header.Get(s.Name)
	case "authorization":
		got, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if ok && strings.EqualFold(got, s.Name) {
			return strings.TrimSpace(tok)
		}
	}
	return ""
}

// Present adds token to a request as the scheme asks (clients: the MCP binding, the checker).
func (s BSPScheme) Present(r *http.Request, token string) {
	switch s.In {
	case "query":
		q := r.URL.Query()
		q.Set(s.Name, token)
		r.URL.RawQuery = q.Encode()
	case "header":
		r.Header.Set(s.Name, token)
	case "authorization":
		r.Header.Set("Authorization", s.Name+" "+token)
	}
}

// Challenge is the WWW-Authenticate value of a 401.
func (s BSPScheme) Challenge() string {
	if s.In == "authorization" {
		return s.Name + ` realm="bsp"`
	}
	return `ApiKey realm="bsp"`
}

// Hint says where the credential goes.
func (s BSPScheme) Hint() string {
	switch s.In {
	case "query":
		return "the query parameter " + s.Name
	case "header":
		return "the header " + s.Name
	}
	return "Authorization: " + s.Name + " <token>"
}

// Vary is the request header a response depends on through the credential, or "".
func (s BSPScheme) Vary() string {
	switch s.In {
	case "header":
		return s.Name
	case "authorization":
		return "Authorization"
	}
	return ""
}

// QueryParam is the query parameter the credential travels in, or "": it may ride along with a
// route's own parameters.
func (s BSPScheme) QueryParam() string {
	if s.In == "query" {
		return s.Name
	}
	return ""
}
