package generate

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/ingest"
	"github.com/go-json-experiment/json/jsontext"
)

// kind is one kind of event of the catalogue: its action, how often it
// happens relative to the others, and how to make one.
type kind struct {
	action string
	weight int
	make   func(s *shop, in *ingest.EventInput)
}

// catalogue is what a shop's log holds, by weight: mostly orders, payments,
// inventory and customers sent by the platform's services, then staff work
// in the admin, and rarely the sensitive changes an audit looks for
// (payout destinations, staff roles, settings).
var catalogue = []kind{
	{"order.created", 160, func(s *shop, in *ingest.EventInput) {
		n := s.newOrder()
		items, cents := 1+s.r.IntN(5), 500+s.r.IntN(40000)
		s.customer(in)
		in.ResourceType, in.ResourceID = "order", "#"+strconv.Itoa(n)
		in.Details = fmt.Sprintf("Order #%d placed: %d items, %s", n, items, money(cents))
		in.Metadata = obj("order_number", n, "total_cents", cents, "currency", s.currency, "items", items, "channel", pick(s.r, channels))
	}},
	{"order.paid", 140, func(s *shop, in *ingest.EventInput) {
		n, cents := s.order(), 500+s.r.IntN(40000)
		s.service(in, "svc_payments", "Payments")
		in.ResourceType, in.ResourceID = "order", "#"+strconv.Itoa(n)
		gw := pick(s.r, gateways)
		in.Details = fmt.Sprintf("Payment of %s captured for order #%d via %s", money(cents), n, gw)
		in.Metadata = obj("amount_cents", cents, "currency", s.currency, "gateway", gw)
		in.Changes = change("financial_status", "pending", "paid")
	}},
	{"order.fulfilled", 120, func(s *shop, in *ingest.EventInput) {
		n, carrier := s.order(), pick(s.r, carriers)
		if s.r.IntN(3) == 0 {
			s.staff(in, audit.RoleAdmin, audit.RoleOwner)
		} else {
			s.service(in, "svc_fulfillment", "Fulfillment")
		}
		in.ResourceType, in.ResourceID = "order", "#"+strconv.Itoa(n)
		tracking := fmt.Sprintf("%s%010d", strings.ToUpper(carrier[:2]), s.r.Int64N(1e10))
		in.Details = fmt.Sprintf("Fulfilled order #%d via %s, tracking %s", n, carrier, tracking)
		in.Metadata = obj("carrier", carrier, "tracking_number", tracking)
		in.Changes = change("fulfillment_status", "unfulfilled", "fulfilled")
	}},
	{"order.refunded", 30, func(s *shop, in *ingest.EventInput) {
		n, cents, reason := s.order(), 200+s.r.IntN(20000), pick(s.r, refundReasons)
		s.staff(in, audit.RoleAdmin, audit.RoleOwner)
		in.ResourceType, in.ResourceID = "order", "#"+strconv.Itoa(n)
		in.Details = fmt.Sprintf("Refunded %s on order #%d: %s", money(cents), n, reason)
		in.Metadata = obj("amount_cents", cents, "currency", s.currency, "reason", reason)
		in.Changes = change("financial_status", "paid", pick(s.r, []string{"refunded", "partially_refunded"}))
	}},
	{"order.cancelled", 20, func(s *shop, in *ingest.EventInput) {
		n, reason := s.order(), pick(s.r, cancelReasons)
		if s.r.IntN(2) == 0 {
			s.customer(in)
		} else {
			s.staff(in, audit.RoleAdmin, audit.RoleOwner)
		}
		in.ResourceType, in.ResourceID = "order", "#"+strconv.Itoa(n)
		in.Details = fmt.Sprintf("Cancelled order #%d: %s", n, reason)
		in.Metadata = obj("reason", reason)
		in.Changes = change("status", "open", "cancelled")
	}},
	{"payment.failed", 20, func(s *shop, in *ingest.EventInput) {
		n, cents, why := s.order(), 500+s.r.IntN(40000), pick(s.r, declines)
		s.service(in, "svc_payments", "Payments")
		in.Outcome = audit.OutcomeFailure
		in.ResourceType, in.ResourceID = "order", "#"+strconv.Itoa(n)
		in.Details = fmt.Sprintf("Payment of %s for order #%d declined: %s", money(cents), n, why)
		in.Metadata = obj("amount_cents", cents, "currency", s.currency, "decline_code", strings.ReplaceAll(why, " ", "_"))
	}},
	{"inventory.adjusted", 80, func(s *shop, in *ingest.EventInput) {
		p, old := s.product(), s.r.IntN(200)
		delta := s.r.IntN(41) - 20
		if s.r.IntN(2) == 0 {
			s.service(in, "svc_inventory", "Inventory sync")
		} else {
			s.staff(in, audit.RoleAdmin, audit.RoleOwner)
		}
		in.ResourceType, in.ResourceID = "product", p.id
		in.Details = fmt.Sprintf("Adjusted stock of %q by %+d units", p.name, delta)
		in.Metadata = obj("sku", p.sku, "location", pick(s.r, locations))
		in.Changes = change("available", old, max(old+delta, 0))
	}},
	{"product.updated", 60, func(s *shop, in *ingest.EventInput) {
		p, field := s.product(), pick(s.r, []string{"title", "description", "tags", "images", "seo_title"})
		s.staff(in, audit.RoleContentCreator, audit.RoleAdmin)
		in.ResourceType, in.ResourceID = "product", p.id
		in.Details = fmt.Sprintf("Updated %s of product %q", field, p.name)
		in.Metadata = obj("sku", p.sku)
		in.Changes = change(field, "v"+strconv.Itoa(1+s.r.IntN(9)), "v"+strconv.Itoa(10+s.r.IntN(9)))
	}},
	{"product.price_changed", 40, func(s *shop, in *ingest.EventInput) {
		p, old := s.product(), 500+s.r.IntN(20000)
		now := old * (80 + s.r.IntN(41)) / 100
		s.staff(in, audit.RoleAdmin, audit.RoleOwner)
		in.ResourceType, in.ResourceID = "product", p.id
		in.Details = fmt.Sprintf("Changed the price of %q from %s to %s", p.name, money(old), money(now))
		in.Metadata = obj("sku", p.sku, "currency", s.currency)
		in.Changes = change("price", decimal(old), decimal(now))
	}},
	{"product.created", 20, func(s *shop, in *ingest.EventInput) {
		p := s.product()
		s.staff(in, audit.RoleContentCreator, audit.RoleAdmin)
		in.ResourceType, in.ResourceID = "product", p.id
		in.Details = fmt.Sprintf("Created product %q", p.name)
		in.Metadata = obj("sku", p.sku, "vendor", pick(s.r, vendors))
	}},
	{"product.deleted", 8, func(s *shop, in *ingest.EventInput) {
		p := s.product()
		s.staff(in, audit.RoleAdmin, audit.RoleOwner)
		in.ResourceType, in.ResourceID = "product", p.id
		in.Details = fmt.Sprintf("Deleted product %q", p.name)
		in.Metadata = obj("sku", p.sku)
	}},
	{"customer.created", 60, func(s *shop, in *ingest.EventInput) {
		c := s.customer(in)
		in.ResourceType, in.ResourceID = "customer", c
		in.Details = "Customer account created at checkout"
		in.Metadata = obj("accepts_marketing", s.r.IntN(3) == 0, "source", pick(s.r, channels))
	}},
	{"customer.updated", 30, func(s *shop, in *ingest.EventInput) {
		c := s.customer(in)
		field := pick(s.r, []string{"phone", "first_name", "accepts_marketing", "email"})
		in.ResourceType, in.ResourceID = "customer", c
		in.Details = fmt.Sprintf("Customer updated their %s", strings.ReplaceAll(field, "_", " "))
		in.Changes = change(field, "previous", "updated")
	}},
	{"customer.address_changed", 20, func(s *shop, in *ingest.EventInput) {
		c, from, to := s.customer(in), pick(s.r, cities), pick(s.r, cities)
		in.ResourceType, in.ResourceID = "customer", c
		in.Details = fmt.Sprintf("Default shipping address changed from %s to %s", from, to)
		in.Changes = change("default_address.city", from, to)
	}},
	{"user_login", 60, func(s *shop, in *ingest.EventInput) {
		u := s.staff(in)
		in.ResourceType, in.ResourceID = "user", u
		in.Outcome = audit.OutcomeSuccess
		in.Details = "User logged in successfully"
		in.Metadata = obj("method", pick(s.r, []string{"password", "password", "password+totp"}))
	}},
	{"user_logout", 30, func(s *shop, in *ingest.EventInput) {
		u := s.staff(in)
		in.ResourceType, in.ResourceID = "user", u
		in.Details = "User logged out"
	}},
	{"login_failed", 10, func(s *shop, in *ingest.EventInput) {
		u := s.staff(in)
		in.ResourceType, in.ResourceID = "user", u
		in.Outcome = audit.OutcomeFailure
		in.Details = "Failed login attempt: wrong password"
		in.IPAddress = s.randomIP()
	}},
	{"discount.created", 10, func(s *shop, in *ingest.EventInput) {
		pct := 5 * (1 + s.r.IntN(6))
		code := fmt.Sprintf("%s%d", pick(s.r, discountCodes), pct)
		s.staff(in, audit.RoleAdmin, audit.RoleOwner)
		in.ResourceType, in.ResourceID = "discount", code
		in.Details = fmt.Sprintf("Created discount code %s (%d%% off)", code, pct)
		in.Metadata = obj("code", code, "percent_off", pct, "usage_limit", 100*(1+s.r.IntN(10)))
	}},
	{"payout.sent", 10, func(s *shop, in *ingest.EventInput) {
		cents := 10000 + s.r.IntN(2000000)
		s.service(in, "svc_payouts", "Payouts")
		in.ResourceType, in.ResourceID = "payout", "po_"+strconv.FormatInt(s.r.Int64N(1e12), 36)
		in.Details = fmt.Sprintf("Payout of %s sent to the bank account ending %s", money(cents), s.bankLast4)
		in.Metadata = obj("amount_cents", cents, "currency", s.currency, "destination_last4", s.bankLast4)
	}},
	{"settings.updated", 5, func(s *shop, in *ingest.EventInput) {
		field := pick(s.r, settingsFields)
		s.staff(in, audit.RoleOwner)
		in.ResourceType, in.ResourceID = "settings", strings.SplitN(field, ".", 2)[0]
		in.Details = fmt.Sprintf("Changed setting %s", field)
		b := s.r.IntN(2) == 0
		in.Changes = change(field, b, !b)
	}},
	{"theme.published", 3, func(s *shop, in *ingest.EventInput) {
		theme := pick(s.r, themes)
		s.staff(in, audit.RoleContentCreator, audit.RoleAdmin)
		in.ResourceType, in.ResourceID = "theme", strings.ToLower(theme)
		in.Details = fmt.Sprintf("Published theme %q", theme)
	}},
	{"app.installed", 2, func(s *shop, in *ingest.EventInput) {
		name := pick(s.r, apps)
		s.staff(in, audit.RoleOwner)
		in.ResourceType, in.ResourceID = "app", strings.ToLower(strings.ReplaceAll(name, " ", "-"))
		in.Details = fmt.Sprintf("Installed app %q", name)
		in.Metadata = obj("scopes", "read_orders,write_products")
	}},
	{"staff.invited", 2, func(s *shop, in *ingest.EventInput) {
		first, last := pick(s.r, firstNames), pick(s.r, lastNames)
		role := pick(s.r, []audit.Role{audit.RoleAdmin, audit.RoleAnalyst, audit.RoleContentCreator})
		s.staff(in, audit.RoleOwner)
		email := strings.ToLower(first+"."+last) + "@" + s.domain
		// The invitation's own ID, not the address: a resource ID stays
		// in the leaf for good, so ingest refuses one holding an email.
		in.ResourceType, in.ResourceID = "invitation", fmt.Sprintf("inv_%d", s.r.Int64N(1e9))
		in.Details = fmt.Sprintf("Invited %s %s as %s", first, last, role)
		in.Metadata = obj("email", email, "role", string(role))
	}},
	{"staff.role_changed", 2, func(s *shop, in *ingest.EventInput) {
		from := pick(s.r, []audit.Role{audit.RoleAnalyst, audit.RoleContentCreator, audit.RoleAdmin})
		to := pick(s.r, []audit.Role{audit.RoleAdmin, audit.RoleAnalyst, audit.RoleContentCreator})
		s.staff(in, audit.RoleOwner)
		target := s.anyUser()
		in.ResourceType, in.ResourceID = "user", target
		in.Details = fmt.Sprintf("Changed the role of user %s from %s to %s", target, from, to)
		in.Changes = change("role", string(from), string(to))
	}},
	{"staff.removed", 1, func(s *shop, in *ingest.EventInput) {
		s.staff(in, audit.RoleOwner)
		target := s.anyUser()
		in.ResourceType, in.ResourceID = "user", target
		in.Details = fmt.Sprintf("Removed user %s from the account", target)
		in.Changes = change("is_active", true, false)
	}},
	{"payout.destination_changed", 1, func(s *shop, in *ingest.EventInput) {
		old := s.bankLast4
		s.bankLast4 = fmt.Sprintf("%04d", s.r.IntN(10000))
		s.staff(in, audit.RoleOwner)
		in.ResourceType, in.ResourceID = "payout_settings", "bank_account"
		in.Details = fmt.Sprintf("Changed the payout bank account from ••%s to ••%s", old, s.bankLast4)
		in.Metadata = obj("verified_with", pick(s.r, []string{"totp", "email_code"}))
		in.Changes = change("bank_account_last4", old, s.bankLast4)
	}},
}

// Actions lists the catalogue's actions, most frequent first.
func Actions() []string {
	out := make([]string, len(catalogue))
	for i, k := range catalogue {
		out[i] = k.action
	}
	return out
}

var (
	channels       = []string{"online_store", "online_store", "online_store", "pos", "mobile_app", "marketplace"}
	gateways       = []string{"stripe", "stripe", "paypal", "adyen", "shop_pay"}
	carriers       = []string{"UPS", "USPS", "FedEx", "DHL", "Royal Mail"}
	refundReasons  = []string{"damaged item", "wrong size", "not as described", "arrived late", "customer changed mind"}
	cancelReasons  = []string{"customer request", "payment declined", "out of stock", "suspected fraud"}
	declines       = []string{"insufficient funds", "card expired", "do not honor", "incorrect cvc", "fraud suspected"}
	locations      = []string{"Main warehouse", "Downtown store", "East fulfillment center"}
	vendors        = []string{"Acme Goods", "Northwind Traders", "Blue Harbor", "Fern & Field", "Copper Kettle Co."}
	discountCodes  = []string{"SPRING", "WELCOME", "VIP", "FLASH", "BFCM", "FREESHIP"}
	cities         = []string{"Austin", "Berlin", "Toronto", "Lyon", "Osaka", "Melbourne", "Denver", "Leeds", "Porto", "Seattle"}
	themes         = []string{"Dawn", "Refresh", "Craft", "Sense", "Studio"}
	apps           = []string{"Review Stars", "Ship Smart", "Loyalty Lion", "Back in Stock", "Tax Helper"}
	settingsFields = []string{"checkout.guest_checkout", "checkout.require_phone", "taxes.include_in_prices", "shipping.free_over_50", "notifications.order_confirmation", "store.password_protected"}
	productWords   = []string{"Classic", "Organic", "Merino", "Ceramic", "Leather", "Canvas", "Bamboo", "Linen", "Recycled", "Vintage"}
	productNouns   = []string{"T-Shirt", "Weekender Bag", "Pour-Over Set", "Beanie", "Sneakers", "Cutting Board", "Throw Blanket", "Water Bottle", "Notebook", "Candle"}
	firstNames     = []string{"Olivia", "Liam", "Emma", "Noah", "Ava", "Mateo", "Sofia", "Lucas", "Mia", "Amir", "Yuki", "Chloe", "Kofi", "Priya", "Jonas", "Elena", "Omar", "Hana", "Diego", "Zoe"}
	lastNames      = []string{"Smith", "Garcia", "Chen", "Muller", "Okafor", "Rossi", "Kim", "Novak", "Silva", "Haddad", "Tanaka", "Dubois", "Patel", "Larsen", "Moreau", "Khan"}
	mailDomains    = []string{"example.com", "example.net", "example.org", "mail.example", "inbox.example"}
	browsers       = []string{
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
		"Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
	}
	shopWords = []string{"Northwind", "Blue Harbor", "Fern & Field", "Copper Kettle", "Juniper", "Saltwater", "Maple Lane", "Ironwood", "Paper Crane", "Golden Hour", "Wild Oat", "Silver Birch"}
	shopNouns = []string{"Outfitters", "Goods", "Supply Co.", "Studio", "Market", "Mercantile", "Trading", "Provisions"}
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// money renders cents as dollars: 4200 → $42.00.
func money(cents int) string { return "$" + decimal(cents) }

// decimal renders cents as a decimal number: 4200 → 42.00.
func decimal(cents int) string { return fmt.Sprintf("%d.%02d", cents/100, cents%100) }

// obj encodes alternating keys and values (strings, ints, bools) as a
// compact JSON object.
func obj(kv ...any) jsontext.Value {
	b := []byte{'{'}
	for i := 0; i < len(kv); i += 2 {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, kv[i].(string))
		b = append(b, ':')
		b = appendValue(b, kv[i+1])
	}
	return append(b, '}')
}

// change is a one-entry list of changes.
func change(field string, old, new any) []ingest.ChangeInput {
	return []ingest.ChangeInput{{Field: field, Old: appendValue(nil, old), New: appendValue(nil, new)}}
}

// appendValue appends v as JSON. Strings hold no characters that Go's
// quoting would escape differently from JSON's.
func appendValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		return strconv.AppendQuote(b, v)
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case bool:
		return strconv.AppendBool(b, v)
	}
	panic(fmt.Sprintf("generate: no JSON for %T", v))
}
