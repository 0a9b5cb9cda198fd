package audit

import (
	"testing"
	"time"
)

func TestParseTimeBound(t *testing.T) {
	utc := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			panic(err)
		}
		return t.UTC()
	}
	tests := []struct {
		in   string
		end  bool
		want time.Time
	}{
		{"2024-01-31", false, utc("2024-01-31T00:00:00Z")},
		{"2024-01-31", true, utc("2024-01-31T23:59:59.999999Z")},
		{"2024-01-31T12:00:00Z", true, utc("2024-01-31T12:00:00Z")},
		{"2024-01-31t12:00:00z", false, utc("2024-01-31T12:00:00Z")},
		{"2024-01-31T12:00:00.123456+02:00", false, utc("2024-01-31T10:00:00.123456Z")},
		{"2024-01-31T12:00:00+0200", false, utc("2024-01-31T10:00:00Z")},
		{"2024-01-31T12:00:00", false, utc("2024-01-31T12:00:00Z")},
		{"2024-01-31T12:00", false, utc("2024-01-31T12:00:00Z")},
		{"2024-01-31T12:00Z", false, utc("2024-01-31T12:00:00Z")},
		{"2024-01-31T12:00-05:00", false, utc("2024-01-31T17:00:00Z")},
		{"2024-01-31 12:00:00", false, utc("2024-01-31T12:00:00Z")},
	}
	for _, tt := range tests {
		got, err := ParseTimeBound(tt.in, tt.end)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("ParseTimeBound(%q, %v) = %v, %v; want %v", tt.in, tt.end, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "yesterday", "2024-13-01", "2024-02-30", "31/01/2024", "2024-01-31T25:00", "1706702400"} {
		if got, err := ParseTimeBound(bad, false); err == nil {
			t.Errorf("ParseTimeBound(%q) = %v; want an error", bad, got)
		}
	}
}
