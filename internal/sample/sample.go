// Package sample loads the seed's sample data: the "Sample Ecommerce Store"
// account on sample-store.com, its four users with the documented passwords,
// and 100 audit events spread over the last 30 days.
//
// The events are drawn from a fixed pseudo-random sequence, so every load
// makes the same events at the same offsets from the time of loading. They
// enter the log through sqlstore's one write path, in time order.
package sample

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/password"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/tlog"
)

// The sample account.
const (
	AccountName   = "Sample Ecommerce Store"
	AccountDomain = "sample-store.com"
	EventCount    = 100
	Days          = 30
)

// Credential is a sample user and the password documented for it.
type Credential struct {
	Email, Password, FirstName, LastName string
	Role                                 audit.Role
}

// Users are the sample users, as the seed documents them.
var Users = []Credential{
	{"owner@sample-store.com", "owner123", "Olivia", "Owner", audit.RoleOwner},
	{"admin@sample-store.com", "admin123", "Adam", "Admin", audit.RoleAdmin},
	{"analyst@sample-store.com", "analyst123", "Anna", "Analyst", audit.RoleAnalyst},
	{"creator@sample-store.com", "creator123", "Carlos", "Creator", audit.RoleContentCreator},
}

// Load creates the sample data unless an account on AccountDomain already
// exists, and reports whether it created it. now is the end of the 30 days
// the events are spread over; signer signs the log's checkpoint.
func Load(ctx context.Context, db *sqlstore.DB, signer *tlog.Signer, hasher *password.Hasher, now time.Time) (created bool, err error) {
	users := make([]*audit.User, len(Users))
	for i, c := range Users {
		hash, err := hasher.Hash(ctx, c.Password)
		if err != nil {
			return false, err
		}
		users[i] = &audit.User{Email: c.Email, PasswordHash: hash, FirstName: c.FirstName, LastName: c.LastName, Role: c.Role, IsActive: true}
	}
	err = db.Update(ctx, func(tx *sqlstore.Tx) error {
		created = false
		_, err := tx.AccountByDomain(ctx, AccountDomain)
		switch {
		case err == nil:
			return nil
		case !errors.Is(err, audit.ErrNotFound):
			return err
		}
		acct := &audit.Account{Name: AccountName, Domain: AccountDomain}
		if err := tx.CreateAccount(ctx, acct); err != nil {
			return err
		}
		for _, u := range users {
			u.AccountID = acct.ID
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		created = true
		_, err = tx.AppendEvents(ctx, signer, Events(acct.ID, users, now)...)
		return err
	})
	return created, err
}

// activity is one kind of sample event: an action, the resource it touches,
// the roles that plausibly perform it, and how its details read.
type activity struct {
	action, resourceType string
	roles                []audit.Role
	details              func(r *rand.Rand, id string) string
}

var staff = []audit.Role{audit.RoleOwner, audit.RoleAdmin}

var activities = []activity{
	{"user_login", "user", []audit.Role{audit.RoleOwner, audit.RoleAdmin, audit.RoleAnalyst, audit.RoleContentCreator},
		func(*rand.Rand, string) string { return "User logged in successfully" }},
	{"user_logout", "user", []audit.Role{audit.RoleOwner, audit.RoleAdmin, audit.RoleAnalyst, audit.RoleContentCreator},
		func(*rand.Rand, string) string { return "User logged out" }},
	{"product_created", "product", []audit.Role{audit.RoleAdmin, audit.RoleContentCreator},
		func(r *rand.Rand, id string) string { return fmt.Sprintf("Created product %q", pick(r, products)) }},
	{"product_updated", "product", []audit.Role{audit.RoleAdmin, audit.RoleContentCreator},
		func(r *rand.Rand, id string) string {
			return fmt.Sprintf("Updated %s of product %q", pick(r, []string{"price", "description", "images", "title", "tags"}), pick(r, products))
		}},
	{"product_deleted", "product", staff,
		func(r *rand.Rand, id string) string { return fmt.Sprintf("Deleted product %q", pick(r, products)) }},
	{"inventory_adjusted", "product", staff,
		func(r *rand.Rand, id string) string { return fmt.Sprintf("Adjusted stock by %+d units", r.IntN(41)-20) }},
	{"order_created", "order", staff,
		func(r *rand.Rand, id string) string {
			return fmt.Sprintf("Created draft order #%s for $%d.%02d", id, 10+r.IntN(490), r.IntN(100))
		}},
	{"order_fulfilled", "order", staff,
		func(r *rand.Rand, id string) string {
			return fmt.Sprintf("Fulfilled order #%s via %s", id, pick(r, []string{"UPS", "USPS", "FedEx", "DHL"}))
		}},
	{"order_refunded", "order", staff,
		func(r *rand.Rand, id string) string {
			return fmt.Sprintf("Refunded $%d.%02d on order #%s", 5+r.IntN(200), r.IntN(100), id)
		}},
	{"order_cancelled", "order", staff,
		func(r *rand.Rand, id string) string {
			return fmt.Sprintf("Cancelled order #%s: %s", id, pick(r, []string{"customer request", "payment declined", "out of stock"}))
		}},
	{"customer_updated", "customer", staff,
		func(r *rand.Rand, id string) string { return "Updated customer shipping address" }},
	{"discount_created", "discount", staff,
		func(r *rand.Rand, id string) string {
			return fmt.Sprintf("Created discount code %s (%d%% off)", pick(r, []string{"SPRING", "WELCOME", "VIP", "FLASH"}), 5*(1+r.IntN(6)))
		}},
	{"collection_updated", "collection", []audit.Role{audit.RoleAdmin, audit.RoleContentCreator},
		func(r *rand.Rand, id string) string {
			return fmt.Sprintf("Added products to collection %q", pick(r, []string{"Summer Sale", "New Arrivals", "Best Sellers"}))
		}},
	{"page_published", "page", []audit.Role{audit.RoleContentCreator},
		func(r *rand.Rand, id string) string {
			return fmt.Sprintf("Published page %q", pick(r, []string{"About Us", "Shipping Policy", "FAQ", "Size Guide"}))
		}},
	{"blog_post_published", "blog_post", []audit.Role{audit.RoleContentCreator},
		func(r *rand.Rand, id string) string {
			return fmt.Sprintf("Published blog post %q", pick(r, []string{"Spring lookbook", "Care guide", "Behind the brand"}))
		}},
	{"report_exported", "report", []audit.Role{audit.RoleAnalyst, audit.RoleOwner},
		func(r *rand.Rand, id string) string {
			return fmt.Sprintf("Exported %s report as CSV", pick(r, []string{"sales", "inventory", "customers", "traffic"}))
		}},
	{"settings_updated", "settings", []audit.Role{audit.RoleOwner},
		func(r *rand.Rand, id string) string {
			return fmt.Sprintf("Changed %s settings", pick(r, []string{"checkout", "tax", "shipping", "notifications"}))
		}},
}

var products = []string{"Classic Cotton T-Shirt", "Leather Weekender Bag", "Ceramic Pour-Over Set", "Merino Wool Beanie", "Canvas Sneakers", "Bamboo Cutting Board"}

var userAgents = []string{
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
	"Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// Events returns the EventCount sample events for the given account and
// users, oldest first, at fixed pseudo-random offsets within the Days days
// before now. Each user keeps one address and browser.
func Events(accountID int64, users []*audit.User, now time.Time) []*audit.Event {
	r := rand.New(rand.NewPCG(2024, 1))
	ips := map[int64]string{}
	uas := map[int64]string{}
	for i, u := range users {
		ips[u.ID] = "203.0.113." + strconv.Itoa(10+i*17)
		uas[u.ID] = userAgents[i%len(userAgents)]
	}
	byRole := map[audit.Role][]*audit.User{}
	for _, u := range users {
		byRole[u.Role] = append(byRole[u.Role], u)
	}
	span := time.Duration(Days) * 24 * time.Hour
	events := make([]*audit.Event, EventCount)
	for i := range events {
		a := pick(r, activities)
		actor := pick(r, byRole[pick(r, a.roles)])
		var id string
		if a.resourceType == "user" {
			id = strconv.FormatInt(actor.ID, 10)
		} else {
			id = strconv.Itoa(1000 + r.IntN(9000))
		}
		at := now.Add(-time.Duration(r.Int64N(int64(span)))).UTC().Truncate(time.Microsecond)
		events[i] = &audit.Event{
			AccountID: accountID, UserID: actor.ID, ActorType: audit.ActorUser, ActorEmail: actor.Email, ActorName: actor.FullName(), Action: a.action, ResourceType: a.resourceType, ResourceID: id,
			Details: a.details(r, id), IPAddress: ips[actor.ID], UserAgent: uas[actor.ID], CreatedAt: at,
		}
	}
	slices.SortStableFunc(events, func(a, b *audit.Event) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return events
}
