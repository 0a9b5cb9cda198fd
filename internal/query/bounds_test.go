package query

import (
	"testing"
	"time"
)

func TestCreatedBounds(t *testing.T) {
	tests := []struct {
		in           string
		since, until string // RFC 3339, "" for none
	}{
		{"", "", ""},
		{"action:x refund", "", ""},
		{"created:2026-01-31", "2026-01-31T00:00:00Z", "2026-01-31T23:59:59.999999Z"},
		{"created:>=2026-01-01 created:<2026-02-01", "2026-01-01T00:00:00Z", "2026-01-31T23:59:59.999999Z"},
		{"created:2026-01-01..2026-03-31 created:2026-02-01..*", "2026-02-01T00:00:00Z", "2026-03-31T23:59:59.999999Z"},
		{"created:2026-01-05,2026-01-01", "2026-01-01T00:00:00Z", "2026-01-05T23:59:59.999999Z"},
		{"created:2026-01-05,>=2026-03-01", "2026-01-05T00:00:00Z", ""},
		{"created:-7d", "2026-11-24T07:30:00Z", ""},
		{"-created:-7d", "", ""},
		{"created:*..2026-01-31 -created:2026-01-01..2026-01-15", "", "2026-01-31T23:59:59.999999Z"},
	}
	for _, tt := range tests {
		q, err := Parse(tt.in, testNow)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.in, err)
		}
		since, until := q.CreatedBounds()
		var wantSince, wantUntil time.Time
		if tt.since != "" {
			wantSince = ts(tt.since)
		}
		if tt.until != "" {
			wantUntil = ts(tt.until)
		}
		if !since.Equal(wantSince) || !until.Equal(wantUntil) {
			t.Errorf("Parse(%q).CreatedBounds() = %v, %v; want %v, %v", tt.in, since, until, wantSince, wantUntil)
		}
	}
}
