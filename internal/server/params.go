package server

import (
	"net/http"

	"github.com/auditlog/auditlog/internal/app"
)

// canonicalID parses a positive whole number written the one way the API
// writes it (app.CanonicalID).
func canonicalID(s string) (int64, bool) { return app.CanonicalID(s) }

// pathID returns the {id} of the request's path, or notFound when it is not
// a canonical ID (see canonicalID): such a path names no resource.
func pathID(r *http.Request, notFound error) (int64, error) {
	id, ok := canonicalID(r.PathValue("id"))
	if !ok {
		return 0, notFound
	}
	return id, nil
}
