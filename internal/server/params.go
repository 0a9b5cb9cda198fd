package server

import (
	"net/http"
	"strconv"
)

// canonicalID parses a positive whole number written the one way the API
// writes it: decimal digits without a sign or leading zeros. "01", "+1"
// and " 1" name nothing, so that each resource has exactly one URL.
func canonicalID(s string) (int64, bool) {
	if s == "" || s[0] < '1' || s[0] > '9' {
		return 0, false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// pathID returns the {id} of the request's path, or notFound when it is not
// a canonical ID (see canonicalID): such a path names no resource.
func pathID(r *http.Request, notFound error) (int64, error) {
	id, ok := canonicalID(r.PathValue("id"))
	if !ok {
		return 0, notFound
	}
	return id, nil
}
