package server

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

func TestPageCacheBudget(t *testing.T) {
	if c := newPageCache(0); c != nil {
		t.Fatal("a cache of 0 bytes exists")
	}
	var off *pageCache
	off.put(pageKey{1, "a"}, []byte("x"))
	if off.get(pageKey{1, "a"}) != nil {
		t.Fatal("a nil cache returned a page")
	}

	c := newPageCache(8 << 10)
	body := bytes.Repeat([]byte("x"), 800)
	for i := range 20 {
		c.put(pageKey{1, fmt.Sprint(i)}, body)
	}
	if c.size > c.max {
		t.Errorf("cache holds %d bytes; budget %d", c.size, c.max)
	}
	if c.get(pageKey{1, "19"}) == nil || c.get(pageKey{1, "0"}) != nil {
		t.Error("want the newest page kept and the oldest evicted")
	}
	if c.get(pageKey{2, "19"}) != nil {
		t.Error("a page served under another account")
	}
	c.put(pageKey{1, "big"}, bytes.Repeat([]byte("x"), 2<<10))
	if c.get(pageKey{1, "big"}) != nil {
		t.Error("a page over an eighth of the budget was cached")
	}
}

// TestPageCacheEquivalence serves the same listings from a server with the
// page cache and one without, over one database, and wants the same bytes,
// including after events are appended behind the cached server's back (as
// another process would).
func TestPageCacheEquivalence(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		cached := newTestEnv(t, db)
		plain := newTestEnv(t, db, func(d *testDeps) { d.Config.ListCacheMB = 0 })
		now := time.Now()
		cached.setNow(now)
		plain.setNow(now)
		if cached.srv.pages == nil || plain.srv.pages != nil {
			t.Fatal("want one server with the cache and one without")
		}
		tn := cached.newTenant("acme")
		other := cached.newTenant("other")
		viaPlain := plain.client()
		viaPlain.setCookie(t, tn.owner.cookie(t))
		base := now.Add(-time.Hour)
		add := func(n int) {
			var evs []*audit.Event
			for i := range n {
				evs = append(evs, &audit.Event{AccountID: tn.accountID, Action: "order_created", ResourceType: "order", ResourceID: fmt.Sprint(i), CreatedAt: base.Add(time.Duration(i) * time.Second)})
			}
			cached.appendEvents(evs...)
		}
		add(40)
		queries := []string{"", "per_page=10", "page=2&per_page=10", "action=order_created", "q=" + url.QueryEscape("resource:order -action:user_login"), "q=created:>-2h"}
		compare := func(round string) {
			t.Helper()
			for _, q := range queries {
				first := tn.owner.do("GET", "/api/audit-logs?"+q, nil).want(t, http.StatusOK)
				again := tn.owner.do("GET", "/api/audit-logs?"+q, nil).want(t, http.StatusOK)
				fresh := viaPlain.do("GET", "/api/audit-logs?"+q, nil).want(t, http.StatusOK)
				if !bytes.Equal(first.raw, fresh.raw) || !bytes.Equal(again.raw, fresh.raw) {
					t.Errorf("%s ?%s: the cached server's pages differ from the plain one's\n%s\n%s\n%s", round, q, first.raw, again.raw, fresh.raw)
				}
				if first.header.Get("ETag") != fresh.header.Get("ETag") {
					t.Errorf("%s ?%s: ETags differ", round, q)
				}
			}
		}
		compare("first")
		hits := cached.srv.pages.hits
		if hits < int64(len(queries)-1) {
			t.Errorf("%d cache hits; want one per taggable listing asked again", hits)
		}
		add(5)
		compare("after an append")
		// Another account's owner never gets acme's cached pages.
		r := other.owner.do("GET", "/api/audit-logs", nil).want(t, http.StatusOK)
		if n := num(r.obj("pagination"), "total"); n != 3 {
			t.Errorf("other account lists %d events; want its own 3", n)
		}
	})
}
