package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// HTTP validators. A response with an ETag carries Cache-Control: private,
// no-cache instead of the default no-store, so that a client may keep it
// and must revalidate it (If-None-Match) before each use, and Vary names
// the credentials, so that no cache serves one caller's page to another.
// A request whose If-None-Match names the current tag gets 304 Not
// Modified with no body.

// cacheRevalidate is the Cache-Control of a response with an ETag.
const cacheRevalidate = "private, no-cache"

// setValidator sets the ETag and the caching headers that go with it.
func setValidator(w http.ResponseWriter, tag string) {
	h := w.Header()
	h.Set("ETag", tag)
	h.Set("Cache-Control", cacheRevalidate)
	h.Set("Vary", "Authorization, Cookie")
}

// notModified reports whether the request's If-None-Match matches tag, by
// the weak comparison RFC 9110 prescribes for it: the opaque tags are
// equal, whether or not either is weak; "*" matches any current entity.
func notModified(r *http.Request, tag string) bool {
	inm := r.Header.Values("If-None-Match")
	if len(inm) == 0 {
		return false
	}
	want := opaqueTag(tag)
	for _, line := range inm {
		for c := range strings.SplitSeq(line, ",") {
			c = strings.TrimSpace(c)
			if c == "*" || c != "" && opaqueTag(c) == want {
				return true
			}
		}
	}
	return false
}

// opaqueTag returns an entity tag without its weakness indicator.
func opaqueTag(t string) string { return strings.TrimPrefix(t, "W/") }

// writeNotModified answers 304 for a response that set its validator.
func writeNotModified(w http.ResponseWriter) error {
	w.WriteHeader(http.StatusNotModified)
	return nil
}

// encodeJSON returns v as writeJSON writes it.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(true)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeJSONBody writes body, JSON that encodeJSON made, with the status.
func writeJSONBody(w http.ResponseWriter, status int, body []byte) error {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, err := w.Write(body)
	return err
}

// writeJSONTagged writes v with 200 and a strong ETag of its bytes, or 304
// when the request's If-None-Match names that tag: for a response that is
// read whole anyway, the tag costs a hash of the body.
func writeJSONTagged(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := encodeJSON(v)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	tag := `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
	setValidator(w, tag)
	if notModified(r, tag) {
		return writeNotModified(w)
	}
	return writeJSONBody(w, http.StatusOK, body)
}
