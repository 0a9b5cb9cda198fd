package server

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// analyticsTenant creates a tenant on 2024-03-21 and appends events to it
// dated from 2024-03-01 over 12 days, and events to a second tenant.
func analyticsTenant(t *testing.T, e *testEnv) (tn, other *tenant) {
	start := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	e.setNow(start.AddDate(0, 0, 20)) // the tenants sign up after the events
	e.db.Now = func() time.Time { return e.now() }
	tn, other = e.newTenant("acme"), e.newTenant("other")
	actions := []string{"order.refunded", "login_failed", "product.updated", "order.refunded"}
	outcomes := []string{audit.OutcomeSuccess, audit.OutcomeFailure, ""}
	for day := range 12 {
		at := start.Add(time.Duration(day)*24*time.Hour + time.Duration(day*5)*time.Hour)
		e.db.Now = func() time.Time { return at }
		var evs []*audit.Event
		for i := range day + 2 {
			evs = append(evs, &audit.Event{
				AccountID: tn.accountID, Action: actions[(day+i)%len(actions)], ResourceType: []string{"order", "product"}[i%2],
				Outcome: outcomes[(day*i)%3], ActorEmail: fmt.Sprintf("clerk%d@acme.example.com", i%3), IPAddress: fmt.Sprintf("192.0.2.%d", day%4),
			})
		}
		evs = append(evs, &audit.Event{AccountID: other.accountID, Action: "order.refunded", ResourceType: "order", Outcome: audit.OutcomeFailure})
		e.appendEvents(evs...)
	}
	e.db.Now = func() time.Time { return e.now() }
	if err := e.app.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	return tn, other
}

func TestAnalytics(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn, other := analyticsTenant(t, e)
		get := func(c *client, path string, q url.Values) *response {
			t.Helper()
			return c.do("GET", "/api/analytics/"+path+"?"+q.Encode(), nil)
		}
		// listTotal is what GET /api/audit-logs counts for q.
		listTotal := func(q url.Values) int64 {
			t.Helper()
			r := tn.events(t, q.Encode())
			if r.obj("pagination")["total_exact"] != true {
				t.Fatalf("list total inexact")
			}
			return num(r.obj("pagination"), "total")
		}
		ranges := []url.Values{
			{"start_date": {"2024-03-01"}, "end_date": {"2024-03-10"}},
			{"start_date": {"2024-03-03T14:00:00Z"}, "end_date": {"2024-03-08T03:59:59Z"}},
			{"start_date": {"2024-03-01"}},
			{},
		}
		for _, rq := range ranges {
			for _, filter := range []url.Values{{}, {"action": {"order.refunded"}}, {"resource_type": {"product"}, "action": {"login_failed"}}} {
				q := url.Values{}
				for k, v := range rq {
					q[k] = v
				}
				for k, v := range filter {
					q[k] = v
				}
				want := listTotal(q)
				sum := get(tn.owner, "summary", q).want(t, http.StatusOK)
				o := sum.obj("outcomes")
				if num(sum.body, "total") != want || num(o, "success")+num(o, "failure")+num(o, "unspecified") != want {
					t.Errorf("summary %v = %s; want total %d", q, sum.raw, want)
				}
				if len(rq) == 0 && (sum.body["start"] != "2024-02-20T10:00:00.000000Z" || sum.body["end"] != "2024-03-21T10:00:00.000000Z") {
					t.Errorf("summary %v: range %v..%v; want the 30 days up to the end of now's hour", q, sum.body["start"], sum.body["end"])
				}
				for _, interval := range []string{"hour", "day", "week", "month"} {
					q.Set("interval", interval)
					ser := get(tn.owner, "timeseries", q).want(t, http.StatusOK)
					var total int64
					for _, p := range ser.list("points") {
						total += num(p.(map[string]any), "count")
					}
					if total != want || ser.body["interval"] != interval {
						t.Errorf("timeseries %v sums to %d; want %d", q, total, want)
					}
				}
				q.Del("interval")
				top := get(tn.owner, "top", q).want(t, http.StatusOK)
				var listed int64
				for _, v := range top.list("values") {
					m := v.(map[string]any)
					aq := url.Values{}
					for k, v := range q {
						aq[k] = v
					}
					aq.Set("action", m["value"].(string))
					if n := num(m, "count"); n != listTotal(aq) {
						t.Errorf("top %v: %s counts %d; the list %d", q, m["value"], n, listTotal(aq))
					}
					listed += num(m, "count")
				}
				if num(top.body, "total") != want || num(top.body, "other") != want-listed {
					t.Errorf("top %v = %s; want total %d", q, top.raw, want)
				}
			}
		}

		// A day series has a point per day, empty days included.
		q := url.Values{"start_date": {"2024-03-01"}, "end_date": {"2024-03-03"}, "interval": {"day"}}
		ser := get(tn.owner, "timeseries", q).want(t, http.StatusOK)
		if pts := ser.list("points"); len(pts) != 3 || pts[0].(map[string]any)["start"] != "2024-03-01T00:00:00.000000Z" || pts[2].(map[string]any)["start"] != "2024-03-03T00:00:00.000000Z" {
			t.Errorf("day series: %s", ser.raw)
		}
		// Actors and addresses are counted per day.
		top := get(tn.owner, "top", url.Values{"dimension": {"actor"}, "start_date": {"2024-03-01T10:00:00Z"}, "limit": {"2"}}).want(t, http.StatusOK)
		if v := top.list("values"); len(v) != 2 || top.body["start"] != "2024-03-01T00:00:00.000000Z" || v[0].(map[string]any)["value"] != "clerk0@acme.example.com" {
			t.Errorf("top actors: %s", top.raw)
		}
		if n := num(get(other.owner, "summary", url.Values{"start_date": {"2024-01-01"}}).want(t, 200).body, "total"); n != listTotalOf(t, other, "start_date=2024-01-01") {
			t.Errorf("other tenant's total %d", n)
		}

		// Who may ask: owners, admins and keys with events:read.
		admin, _ := e.addUser(tn, audit.RoleAdmin)
		analyst, _ := e.addUser(tn, audit.RoleAnalyst)
		creator, _ := e.addUser(tn, audit.RoleContentCreator)
		reader, _ := e.newKey(tn, "reader", "events:read")
		writer, _ := e.newKey(tn, "writer", "events:write")
		for _, path := range []string{"summary", "timeseries", "top"} {
			get(admin, path, nil).want(t, http.StatusOK)
			get(reader, path, nil).want(t, http.StatusOK)
			get(analyst, path, nil).wantError(t, http.StatusForbidden, "forbidden", "")
			get(creator, path, nil).wantError(t, http.StatusForbidden, "forbidden", "")
			get(writer, path, nil).wantError(t, http.StatusForbidden, "forbidden", "")
			get(e.client(), path, nil).wantError(t, http.StatusUnauthorized, "unauthorized", "")
		}

		// Bad input: a 400 naming the parameter.
		for _, tt := range []struct {
			path, query, field string
		}{
			{"summary", "user_id=1", "user_id"},
			{"top", "q=refund", "q"},
			{"timeseries", "q=", "q"},
			{"timeseries", "interval=year", "interval"},
			{"timeseries", "interval=hour&start_date=2020-01-01", "interval"},
			{"top", "dimension=user", "dimension"},
			{"top", "limit=0", "limit"},
			{"top", "limit=101", "limit"},
			{"summary", "outcome=maybe", "outcome"},
			{"top", "dimension=actor&resource_type=order", "resource_type"},
			{"top", "dimension=ip_address&outcome=failure", "outcome"},
			{"summary", "start_date=2024-03-05&end_date=2024-03-04", "start_date"},
			{"summary", "start_date=2099-01-01", "start_date"},
			{"summary", "end_date=yesterday", "end_date"},
		} {
			get(tn.owner, tt.path, mustQuery(tt.query)).wantError(t, http.StatusBadRequest, "invalid", tt.field)
		}
	})
}

func listTotalOf(t *testing.T, tn *tenant, q string) int64 {
	t.Helper()
	return num(tn.events(t, q).obj("pagination"), "total")
}

func mustQuery(s string) url.Values {
	q, err := url.ParseQuery(s)
	if err != nil {
		panic(err)
	}
	return q
}
