// Package api holds the OpenAPI 3.1 document of the service's JSON API,
// openapi.json: every route, its parameters, request and response bodies,
// status codes, the shared error shape and the two ways to authenticate
// (the session cookie and an API key as a bearer token).
//
// The server serves it at GET /api/openapi.json. internal/server's
// TestOpenAPI drives every route through the real server and checks each
// response against it, and checks that the router and the document name
// the same routes, so the document cannot drift from the code.
// docs/api.md stays the readable reference.
package api

import _ "embed"

// OpenAPI is the OpenAPI 3.1 document of the API, as JSON.
//
//go:embed openapi.json
var OpenAPI []byte
