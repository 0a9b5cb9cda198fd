package ingest

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/auditlog/auditlog/internal/audit"
)

func TestFieldPath(t *testing.T) {
	for ptr, want := range map[string]string{
		"": "", "/action": "action", "/events/3/actor/user_id": "events[3].actor.user_id", "/changes/0/field": "changes[0].field",
	} {
		if got := fieldPath(ptr); got != want {
			t.Errorf("fieldPath(%q) = %q; want %q", ptr, got, want)
		}
	}
}

// FuzzDecodeEvent checks that no body makes the decoder or the validator
// panic, that every failure is a client error, and that whatever passes
// respects the documented limits.
func FuzzDecodeEvent(f *testing.F) {
	for _, seed := range []string{
		`{"action":"order.refunded"}`,
		`{"event_id":"e1","action":"a.b","actor":{"id":"c","type":"customer"},"metadata":{"k":[1,2]},"changes":[{"field":"f","old":null,"new":1}]}`,
		`{"action":"a.b","occurred_at":"2024-01-01T00:00:00Z","ip_address":"::ffff:1.2.3.4","outcome":"failure"}`,
		`{"action":"a.b","action":"c"}`, `{"action":1}`, `[]`, `{}`, "{\"action\":\"\xff\"}", `{"actor":{"user_id":-1}}`,
	} {
		f.Add([]byte(seed))
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := DecodeEvent(body)
		if err != nil {
			if audit.ErrorCode(err) != audit.EINVALID {
				t.Fatalf("DecodeEvent(%q) = %v; want a client error", body, err)
			}
			return
		}
		e, problems := in.Validate(0, now)
		if len(problems) > 0 {
			return
		}
		switch {
		case !actionPattern.MatchString(e.Action) || len(e.Action) > MaxActionLen:
			t.Fatalf("accepted action %q", e.Action)
		case len(e.Metadata) > MaxMetadataBytes || len(e.Changes) > MaxChangesBytes:
			t.Fatalf("accepted oversize metadata or changes")
		case !utf8.ValidString(e.Details) || strings.ContainsRune(e.ResourceID, 0):
			t.Fatalf("accepted bad text")
		case !e.OccurredAt.IsZero() && e.OccurredAt.After(now.Add(MaxFutureSkew)):
			t.Fatalf("accepted a far-future time")
		}
	})
}

// TestResourceIDPersonalData checks that a resource_id holding an email
// address is refused (it would stay in the leaf in clear text forever),
// and that ordinary identifiers, even with an @, pass.
func TestResourceIDPersonalData(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		id string
		ok bool
	}{
		{"cust_77", true},
		{"order:5001", true},
		{"pkg@1.2.3", true},
		{"team@home", true},
		{"jane@example.net", false},
		{"user:Jane.Roe+shop@mail.example.co.uk", false},
		{"<jane@example.net>", false},
	} {
		in := EventInput{Action: "order.updated", ResourceType: "customer", ResourceID: c.id}
		_, problems := in.Validate(0, now)
		refused := len(problems) == 1 && problems[0].Field == "resource_id"
		if refused == c.ok || (c.ok && len(problems) != 0) {
			t.Errorf("resource_id %q: problems %+v; want ok=%v", c.id, problems, c.ok)
		}
	}
}
