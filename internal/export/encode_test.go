package export

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/auditlog/auditlog/internal/tlog"
)

// TestAppendEventMatchesJSON holds the hand-written event encoder to
// encoding/json's output, byte for byte: the format's bytes did not change
// when the encoder did.
func TestAppendEventMatchesJSON(t *testing.T) {
	texts := []string{
		"", "plain", `quote " backslash \ slash /`, "<script>&amp;</script>", "tab\tnl\ncr\rbs\bff\f",
		"\x00\x01\x1f\x7f", "é日本語🙂", "bad \xff\xfe utf8 \xc3", "line\u2028para\u2029", "\u00a0\ufeff\ufffd",
		`{"k":"v","n":[1,2]}`,
	}
	var h tlog.Hash
	for i := range h {
		h[i] = byte(i * 7)
	}
	for i, s := range texts {
		e := Event{
			Type: TypeEvent, ID: int64(i) + 1<<40, Seq: int64(i), CreatedAt: s, OccurredAt: s, UserID: -int64(i), ActorType: s,
			EventID: s, Action: s, ResourceType: s, ResourceID: s, Outcome: s, ActorID: s, ActorEmail: s, ActorName: s,
			IPAddress: s, UserAgent: s, Details: s, Metadata: s, Changes: s, Commitment: h, LeafHash: h,
		}
		if i%2 == 0 {
			e.Salt = []byte(s)
			e.Proof = []tlog.Hash{h, {}, h}
		}
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendEvent(nil, &e); !bytes.Equal(got, want) {
			t.Errorf("text %q:\n got %s\nwant %s", s, got, want)
		}
	}
}

func FuzzAppendEvent(f *testing.F) {
	f.Add("x", []byte("salt"))
	f.Add("\xff<\u2028", []byte(nil))
	f.Fuzz(func(t *testing.T, s string, salt []byte) {
		e := Event{Type: TypeEvent, Details: s, ActorName: s, Metadata: s, Salt: salt}
		want, _ := json.Marshal(e)
		if got := appendEvent(nil, &e); !bytes.Equal(got, want) {
			t.Errorf("text %q:\n got %s\nwant %s", s, got, want)
		}
	})
}

func BenchmarkWriter(b *testing.B) {
	e := Event{ID: 123456, Seq: 99999, CreatedAt: "2026-11-30T12:00:00.000000Z", ActorType: "user", Action: "order_refunded",
		ResourceType: "order", ResourceID: "ord_123456", Outcome: "success", ActorID: "42", ActorEmail: "jane@acme.example",
		ActorName: "Jane Doe", IPAddress: "203.0.113.5", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", Details: "Refunded order ord_123456 for 42.00 EUR",
		Metadata: `{"amount":"42.00","currency":"EUR"}`, Salt: make([]byte, 16)}
	w := NewWriter(discard{}, Header{})
	b.ReportAllocs()
	for b.Loop() {
		if err := w.Write(&e); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
