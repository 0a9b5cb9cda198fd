package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/auditlog/auditlog/internal/audit"
)

// thousands is n as the console writes a count: 1,234,567.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func TestCount(t *testing.T) {
	for _, tt := range []struct {
		n    any
		want string
	}{
		{0, "0"},
		{999, "999"},
		{1000, "1,000"},
		{int64(1234567), "1,234,567"},
		{int64(10_000_000), "10,000,000"},
		{-4200, "-4,200"},
	} {
		got, err := count(tt.n)
		if err != nil || got != tt.want {
			t.Errorf("count(%v) = %q, %v; want %q", tt.n, got, err, tt.want)
		}
		if n, ok := tt.n.(int64); ok && thousands(n) != tt.want {
			t.Errorf("the test's thousands(%d) = %q", n, thousands(n))
		}
	}
	if _, err := count("12"); err == nil {
		t.Error("count of a string: no error")
	}
}

// TestPagesCountInThousands checks that the pages that show counts write
// them with thousands separators once an account holds more than 999
// events: the explorer's status line, the dashboard, the account page.
func TestPagesCountInThousands(t *testing.T) {
	e := newTestEnv(t)
	var b strings.Builder
	b.WriteString(`{"events":[`)
	for i := range 1000 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"action":"order.created","resource_type":"order","resource_id":"%d"}`, 9000+i)
	}
	b.WriteString(`]}`)
	var out map[string]any
	e.ingest("/api/audit-logs/batch", b.String(), &out)
	size, err := e.db.LogSize(t.Context(), e.accountID)
	if err != nil || size < 1000 {
		t.Fatalf("log size %d, %v", size, err)
	}
	owner := e.client()
	owner.signIn(audit.RoleOwner) // the sign-in is an event too
	size++
	for _, tt := range []struct{ path, want string }{
		{"/events", thousands(size) + " events"},
		{"/events?action=order.created", "1,0"},
		{"/dashboard?range=30d", "<strong>" + thousands(size) + "</strong> events"},
		{"/account", `<dd class="mono">` + thousands(size) + `</dd>`},
	} {
		page := owner.get(tt.path)
		if page.status != http.StatusOK || !strings.Contains(page.body, tt.want) {
			t.Errorf("%s: status %d, no %q in the page", tt.path, page.status, tt.want)
		}
	}
}
