package storetest

import (
	"context"
	"testing"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

func testEmailDomainInUse(t *testing.T, db *sqlstore.DB) {
	a := newAccount(t, db, "shop.example.com")
	newUser(t, db, a.ID, "owner@shop.example.com", audit.RoleOwner)
	// An address outside its account's domain, as accounts made before the
	// domain rule may hold.
	newUser(t, db, a.ID, "jane@mail.example.net", audit.RoleAnalyst)
	for _, tt := range []struct {
		domain string
		want   bool
	}{
		{"shop.example.com", true},
		{"mail.example.net", true},
		{"example.net", false},         // a parent domain
		{"eu.shop.example.com", false}, // a subdomain
		{"hop.example.com", false},     // a suffix of the domain, not the domain
		{"shop.example.co", false},     // a prefix
		{"shop-example.com", false},    // - is no wildcard
		{"nobody.example.org", false},  // nobody at all
		{"shop.example.com.au", false}, // longer
		{"mail.example.net.", false},   // not normalized
		{"example.com", false},         // parent of the claimed domain
	} {
		var got bool
		update(t, db, func(ctx context.Context, tx *sqlstore.Tx) error {
			var err error
			got, err = tx.EmailDomainInUse(ctx, tt.domain)
			return err
		})
		if got != tt.want {
			t.Errorf("EmailDomainInUse(%q) = %t; want %t", tt.domain, got, tt.want)
		}
	}
}
