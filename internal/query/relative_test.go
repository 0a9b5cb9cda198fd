package query

import (
	"testing"
	"time"
)

func TestRelative(t *testing.T) {
	now := time.Date(2026, 12, 1, 7, 30, 0, 0, time.UTC)
	for _, tt := range []struct {
		q    string
		want bool
	}{
		{"", false},
		{"action:order.*", false},
		{"created:2026-01-01..2026-01-31", false},
		{"created:>=2026-01-01", false},
		{"created:>-24h", true},
		{"created:-7d", true},
		{"refund created:2026-01-01..-1d", true},
		{"-created:>-1h", true},
		{"-action:x created:<2026-01-01", false},
	} {
		q, err := Parse(tt.q, now)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.q, err)
		}
		if got := q.Relative(); got != tt.want {
			t.Errorf("Parse(%q).Relative() = %v; want %v", tt.q, got, tt.want)
		}
	}
}
