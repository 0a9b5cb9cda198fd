package server

import (
	"container/list"
	"sync"
)

// pageCache keeps rendered event-listing pages (the JSON bodies of GET
// /api/audit-logs) by account and version (app.ListingVersion), within a
// byte budget, the least recently used leaving first. Equal versions are
// equal pages, so a hit is served as it was rendered; a page of an older
// log size is never asked for again and ages out. The cache saves the
// page's read and its rendering only: the request is still authenticated,
// rate-limited and scoped, and its version is computed from the log size
// read from the database, so processes sharing a database never serve a
// page older than the log. A nil *pageCache caches nothing.
type pageCache struct {
	mu      sync.Mutex
	max     int64 // budget in bytes
	size    int64 // bytes held, as entryCost counts them
	lru     *list.List
	entries map[pageKey]*list.Element

	// hits and misses count lookups, for tests.
	hits, misses int64
}

// pageKey names a page: the account it belongs to and its version.
type pageKey struct {
	account int64
	version string
}

type pageEntry struct {
	key  pageKey
	body []byte
}

// entryOverhead approximates the bytes an entry costs beyond its body and
// version: the list element, the map slot and the headers of its slices.
const entryOverhead = 160

func entryCost(k pageKey, body []byte) int64 {
	return int64(len(body) + len(k.version) + entryOverhead)
}

// newPageCache returns a cache of at most maxBytes, or nil (no cache)
// when maxBytes is 0 or less.
func newPageCache(maxBytes int64) *pageCache {
	if maxBytes <= 0 {
		return nil
	}
	return &pageCache{max: maxBytes, lru: list.New(), entries: map[pageKey]*list.Element{}}
}

// get returns the page cached under k, or nil. The caller must not change
// the bytes.
func (c *pageCache) get(k pageKey) []byte {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el := c.entries[k]
	if el == nil {
		c.misses++
		return nil
	}
	c.hits++
	c.lru.MoveToFront(el)
	return el.Value.(*pageEntry).body
}

// put caches body under k, evicting the least recently used pages to
// stay within the budget; a page larger than an eighth of the budget is
// not cached. The cache keeps body: the caller must not change it after.
func (c *pageCache) put(k pageKey, body []byte) {
	if c == nil {
		return
	}
	cost := entryCost(k, body)
	if cost > c.max/8 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el := c.entries[k]; el != nil {
		c.lru.MoveToFront(el)
		return
	}
	c.entries[k] = c.lru.PushFront(&pageEntry{key: k, body: body})
	c.size += cost
	for c.size > c.max {
		el := c.lru.Back()
		e := el.Value.(*pageEntry)
		c.lru.Remove(el)
		delete(c.entries, e.key)
		c.size -= entryCost(e.key, e.body)
	}
}
