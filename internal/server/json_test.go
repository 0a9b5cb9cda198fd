package server

import (
	"net/http"
	"testing"

	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// TestStrictJSONBodies checks the rules every JSON body follows: one
// object, each member once, exact member names, valid UTF-8; unknown
// members are ignored.
func TestStrictJSONBodies(t *testing.T) {
	e := newTestEnv(t, sqltest.OpenSQLite(t))
	tn := e.newTenant("acme")
	tests := []struct {
		name, path, body string
		status           int
		field, message   string
	}{
		{"duplicate member", "/api/auth/login", `{"email": "owner@acme.example.com", "email": "x@y.com", "password": "owner-password"}`,
			400, "email", "email appears twice in the request body."},
		{"duplicate after unknown", "/api/auth/login", `{"extra": 1, "password": "a", "password": "owner-password", "email": "owner@acme.example.com"}`,
			400, "password", "password appears twice in the request body."},
		{"invalid UTF-8", "/api/auth/login", "{\"email\": \"owner@acme.example.com\", \"password\": \"a\xffb\"}",
			400, "", "Request body holds text that is not valid UTF-8."},
		{"names match exactly", "/api/auth/login", `{"Email": "owner@acme.example.com", "password": "owner-password"}`,
			400, "email", "email is required."},
		{"trailing value", "/api/auth/login", `{"email": "owner@acme.example.com", "password": "owner-password"} {}`,
			400, "", "Request body must hold a single JSON object."},
		{"not an object", "/api/auth/login", `["owner@acme.example.com"]`, 400, "", "Request body must be a JSON object."},
		{"malformed", "/api/auth/login", `{"email": `, 400, "", "Request body is not valid JSON."},
		{"empty", "/api/auth/login", ` `, 400, "", "Request body is required: send a JSON object."},
		{"wrong type", "/api/auth/login", `{"email": 5, "password": "x"}`, 400, "email", "email must be a JSON string."},
		{"account_id wrong type", "/api/users", `{"email": "a@acme.example.com", "password": "user-password", "role": "analyst", "account_id": "1"}`,
			400, "account_id", "account_id must be a JSON number."},
		{"account_id fraction", "/api/users", `{"email": "a@acme.example.com", "password": "user-password", "role": "analyst", "account_id": 1.5}`,
			400, "account_id", "account_id must be a JSON number."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tn.owner.do("POST", tt.path, tt.body)
			r.wantError(t, tt.status, "invalid", tt.field)
			if got := r.body["error"]; got != tt.message {
				t.Errorf("message %q; want %q", got, tt.message)
			}
		})
	}
	// Unknown members are ignored, and a null account_id is no account_id.
	tn.owner.do("POST", "/api/users", `{"email": "b@acme.example.com", "password": "user-password", "role": "analyst", "account_id": null, "team": "x"}`).
		want(t, http.StatusCreated)
	tn.owner.do("POST", "/api/auth/login", `{"email": "owner@acme.example.com", "password": "owner-password", "remember": true}`).want(t, http.StatusOK)
}
