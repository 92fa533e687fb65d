package frontend

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"html"
	"net/http"
	"net/url"
)

// Names of what carries the per-launch token.
const (
	CookieName  = "ospbox_ui"
	TokenHeader = "X-Ospbox-Token"
	CSRFHeader  = "X-CSRF-Token"
)

// NewToken returns a fresh per-launch token.
func NewToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// csrfFor derives the CSRF token from the launch token, so nothing extra needs storing.
func csrfFor(token string) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("ospbox csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// guard enforces the UI's rules before any page runs: a same-origin request (Origin and
// Sec-Fetch-Site), the launch token (header or cookie; a ?token= link is traded for a cookie),
// and a CSRF token on every state-changing method. It reports whether to continue.
func (u *UI) guard(w http.ResponseWriter, r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" && !sameOrigin(o, r) {
		http.Error(w, "ospbox UI: cross-origin request refused ("+o+")", http.StatusForbidden)
		return false
	}
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		http.Error(w, "ospbox UI: cross-site request refused", http.StatusForbidden)
		return false
	}
	if t := r.URL.Query().Get("token"); t != "" && r.Method == http.MethodGet {
		if !equal(t, u.token) {
			u.unauthorized(w, "the token in this link is not the current one; ospbox makes a new token at every start")
			return false
		}
		http.SetCookie(w, &http.Cookie{Name: CookieName, Value: u.token, Path: "/ui/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		clean := *r.URL
		q := clean.Query()
		q.Del("token")
		clean.RawQuery = q.Encode()
		http.Redirect(w, r, clean.RequestURI(), http.StatusSeeOther)
		return false
	}
	authed := equal(r.Header.Get(TokenHeader), u.token)
	if c, err := r.Cookie(CookieName); err == nil && equal(c.Value, u.token) {
		authed = true
	}
	if !authed {
		u.unauthorized(w, "open the link ospbox printed when it started; it carries the launch token")
		return false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return true
	}
	if !equal(r.Header.Get(CSRFHeader), u.csrf) && !equal(r.PostFormValue("csrf"), u.csrf) {
		http.Error(w, "ospbox UI: missing or wrong CSRF token; reload the page", http.StatusForbidden)
		return false
	}
	return true
}

func (u *UI) unauthorized(w http.ResponseWriter, why string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusUnauthorized)
	w.Write([]byte(`<!DOCTYPE html><meta charset="utf-8"><title>ospbox: token needed</title>` +
		`<body style="font-family:system-ui;max-width:40em;margin:4em auto"><h1>ospbox needs its launch token</h1><p>` +
		html.EscapeString(why) + `.</p><p>The UI runs on your machine and only answers the link with the token (or a browser that already used it).</p></body>`))
}

// sameOrigin reports whether an Origin header names the host the request was sent to.
func sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	return u.Host == r.Host && (u.Scheme == "http" || u.Scheme == "https")
}
