package server

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
)

// FuzzDecodeJSON checks that no request body makes the decoder panic, and
// that every failure is an application error a client can act on (never an
// internal error).
func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		`{"email":"a@b.co","password":"x"}`, `{}`, `[]`, `null`, ``, `{"email":5}`, `{"email":"a"}{}`,
		`{"name":"x","domain":"y.com","owner_email":"o@y.com","owner_password":"12345678"}`,
		`{"account_id":"1"}`, `{"account_id":1e400}`, "{\"email\":\"\xff\"}", `{"a":` + strings.Repeat("[", 1000),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, dst := range []any{&loginRequest{}, &createAccountRequest{}, &createUserRequest{}} {
			r := httptest.NewRequest("POST", "/", strings.NewReader(body))
			err := decodeJSON(httptest.NewRecorder(), r, dst)
			if code := audit.ErrorCode(err); err != nil && code == audit.EINTERNAL {
				t.Fatalf("decodeJSON(%q) = internal error %v", body, err)
			}
		}
	})
}

// FuzzParseEventQuery checks that any query string either parses into a
// filter within the documented limits or fails with a 400 naming a field.
func FuzzParseEventQuery(f *testing.F) {
	for _, seed := range []string{
		"", "page=2&per_page=10", "per_page=1000", "user_id=1&action=user_login&resource_type=user",
		"start_date=2024-01-01&end_date=2024-01-31", "start_date=2024-01-01T00:00:00Z", "end_date=2024-01-01T00:00:00.123456789+05:30",
		"page=-1", "per_page=abc", "start_date=9999-12-31&end_date=0001-01-01", "action=%00",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		filter, page, err := parseEventQuery(q)
		if err != nil {
			if audit.ErrorCode(err) != audit.EINVALID || audit.ErrorField(err) == "" {
				t.Fatalf("parseEventQuery(%q) = %v; want an invalid-field error", raw, err)
			}
			return
		}
		if page.Page < 1 || page.PerPage < 1 || page.PerPage > app.MaxPerPage {
			t.Fatalf("parseEventQuery(%q) page %+v outside limits", raw, page)
		}
		if filter.UserID < 0 || (!filter.Start.IsZero() && !filter.End.IsZero() && filter.Start.After(filter.End)) {
			t.Fatalf("parseEventQuery(%q) filter %+v invalid", raw, filter)
		}
		if page.Offset() < 0 {
			t.Fatalf("parseEventQuery(%q) offset overflows: %d", raw, page.Offset())
		}
	})
}
