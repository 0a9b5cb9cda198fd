package query_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/query"
)

func ExampleParse() {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	q, err := query.Parse(`action:order.refunded,order.* -actor:"Adam Admin" created:>-24h ip:10.0.0.0/8 "Refund issued"`, now)
	if err != nil {
		panic(err)
	}
	for _, c := range q.Clauses {
		fmt.Printf("%s negated=%v\n", c.Field, c.Negated)
		for _, v := range c.Values {
			switch c.Field {
			case query.FieldCreated:
				fmt.Printf("  %s%s: since %s\n", v.Op, v.Text, v.Since.Format(time.RFC3339Nano))
			case query.FieldIP:
				fmt.Printf("  %s %s\n", v.Op, v.Prefix)
			default:
				fmt.Printf("  %s %q\n", v.Op, v.Text)
			}
		}
	}
	for _, w := range q.Words {
		fmt.Printf("words %q phrase=%v\n", w.Tokens, w.Phrase)
	}
	// Output:
	// action negated=false
	//   = "order.refunded"
	//   * "order."
	// actor negated=true
	//   = "Adam Admin"
	// created negated=false
	//   >-24h: since 2026-11-30T12:00:00.000001Z
	// ip negated=false
	//   / 10.0.0.0/8
	// words ["refund" "issued"] phrase=true
}

func ExampleError() {
	_, err := query.Parse("action:user_login acton:x", time.Now())
	var qe *query.Error
	if errors.As(err, &qe) {
		fmt.Println(qe.Pos, qe.Column)
		fmt.Println(qe)
		ae := qe.AuditError()
		fmt.Println(ae.Code, ae.Field)
	}
	// Output:
	// 18 19
	// unknown qualifier "acton" at column 19: did you mean "action"?
	// invalid q
}

func ExampleQuery_String() {
	q, _ := query.Parse(`refund  ACTION:Order.Refunded ip:::ffff:192.0.2.1 created:>-007d actor:"adam" AND user_id:0042`, time.Now())
	fmt.Println(q)
	// Output:
	// action:order.refunded ip:192.0.2.1 created:>-7d actor:adam user_id:42 refund
}

func ExampleFromFilter() {
	// The seed's parameters ?user_id=42&start_date=2026-01-01, as the HTTP
	// layer parses them, and a q.
	f := audit.EventFilter{UserID: 42, Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	q, _ := query.Parse("action:order.*", time.Now())
	fmt.Println(query.FromFilter(f).And(q))
	// Output:
	// user_id:42 created:2026-01-01T00:00:00Z..* action:order.*
}
