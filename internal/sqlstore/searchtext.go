package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/netip"
	"strconv"
	"strings"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/query"
)

// searchTokens returns the tokens that free words are matched against:
// those of the action, resource type and ID, details, and actor name and
// email, in that order, by query.Tokenize (the function that splits the
// words of a search), so that every engine indexes the same tokens.
func searchTokens(e *audit.Event) []string {
	var toks []string
	for _, s := range []string{e.Action, e.ResourceType, e.ResourceID, e.Details, e.ActorName, e.ActorEmail} {
		toks = append(toks, query.Tokenize(s)...)
	}
	return toks
}

// plainSearchText joins tokens with single spaces: the form SQLite's FTS5
// (ascii tokenizer) and PostgreSQL's to_tsvector('simple', …) read back
// as exactly these tokens.
func plainSearchText(tokens []string) string { return strings.Join(tokens, " ") }

// mysqlTokenMax is innodb_ft_max_token_size's default: InnoDB leaves longer
// tokens out of a FULLTEXT index. A token spelled longer is written as its
// first mysqlTokenCut spelled characters, "_" and 16 hex digits of a hash of
// the whole token (81 characters).
const (
	mysqlTokenMax = 84
	mysqlTokenCut = 64
)

// mysqlToken writes a token so that InnoDB's FULLTEXT parser reads it back
// as one token whatever its length or letters: "xx" (so no token is shorter
// than innodb_ft_min_token_size or a stop word), then a-z and 0-9 as they
// are and every other character as _hex_ ("_" is a word character to
// InnoDB, and Tokenize never produces it). The spelling of a prefix of a
// token is a prefix of the token's spelling, so prefix search works on it.
// A spelling longer than mysqlTokenMax is cut and completed by a hash (see
// mysqlTokenMax), so a long token is still found whole.
func mysqlToken(tok string) string {
	s := mysqlSpell(tok)
	if len(s) <= mysqlTokenMax {
		return s
	}
	h := sha256.Sum256([]byte(tok))
	return s[:mysqlTokenCut] + "_" + hex.EncodeToString(h[:8])
}

// mysqlPrefix writes the prefix of a prefix search: a prefix spelled longer
// than mysqlTokenCut is cut there, as long tokens are stored, so it matches
// every token it should and may match more.
func mysqlPrefix(tok string) string {
	s := mysqlSpell(tok)
	if len(s) > mysqlTokenCut {
		s = s[:mysqlTokenCut]
	}
	return s
}

// mysqlSpell is "xx" and tok with every character but a-z and 0-9 spelled
// _hex_.
func mysqlSpell(tok string) string {
	var b strings.Builder
	b.WriteString("xx")
	for _, r := range tok {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			continue
		}
		b.WriteByte('_')
		b.WriteString(strconv.FormatInt(int64(r), 16))
		b.WriteByte('_')
	}
	return b.String()
}

// mysqlSearchText is search_text on MySQL: the tokens spelled by mysqlToken.
func mysqlSearchText(tokens []string) string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		out[i] = mysqlToken(t)
	}
	return strings.Join(out, " ")
}

// ipBin returns the comparable form of a stored client address, the
// ip_bin column: 4 and the 4 bytes of an IPv4 address (IPv4-mapped IPv6
// unmapped), or 6 and the 16 bytes of an IPv6 one; nil when s is not an
// address. Byte order is address order within a family, so a CIDR range
// is a range of ip_bin values, and the family byte keeps IPv4 and IPv6
// ranges apart.
func ipBin(s string) any {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return nil
	}
	return addrBin(a.Unmap())
}

func addrBin(a netip.Addr) []byte {
	if a.Is4() {
		b := a.As4()
		return append([]byte{4}, b[:]...)
	}
	b := a.As16()
	return append([]byte{6}, b[:]...)
}

// prefixBounds returns the first and last ip_bin of a CIDR range.
func prefixBounds(p netip.Prefix) (lo, hi []byte) {
	p = p.Masked()
	lo = addrBin(p.Addr())
	hi = append([]byte(nil), lo...)
	bits := p.Bits()
	for i := 1; i < len(hi); i++ {
		// Byte i holds address bits 8(i-1) to 8i-1.
		first := 8 * (i - 1)
		switch {
		case first >= bits:
			hi[i] = 0xff
		case first+8 > bits:
			hi[i] |= byte(0xff >> (bits - first))
		}
	}
	return lo, hi
}

// backfillChunk is how many events one backfill transaction fills.
const backfillChunk = 500

// backfillSearch fills search_text and ip_bin of the events stored before
// migration 0004 (new events get them from the write path). Open runs it
// after migrating. It works from the newest such event down, in
// transactions of backfillChunk events, so the events still to fill are
// always those with the lowest ids: one look at the oldest event tells
// whether anything is left, and an interrupted backfill resumes at the
// next Open.
func (db *DB) backfillSearch(ctx context.Context) error {
	var pending bool
	err := db.wr.queryRow(ctx, `SELECT CASE WHEN search_text IS NULL THEN 1 ELSE 0 END FROM events ORDER BY id LIMIT 1`).Scan(&pending)
	if errors.Is(err, sql.ErrNoRows) || err == nil && !pending {
		return nil
	} else if err != nil {
		return db.wrap(err, "look for events to index")
	}
	last := int64(1<<63 - 1)
	for {
		rows, err := db.wr.queryBuilt(ctx, `SELECT `+eventColumns+` FROM events e WHERE e.id < ? AND e.search_text IS NULL ORDER BY e.id DESC LIMIT ?`, last, backfillChunk)
		if err != nil {
			return db.wrap(err, "select events to index")
		}
		events, err := db.scanEvents(rows, nil, nil)
		if err != nil || len(events) == 0 {
			return err
		}
		err = db.Update(ctx, func(tx *Tx) error {
			for _, e := range events {
				if _, err := tx.run.exec(ctx, `UPDATE events SET search_text = ?, ip_bin = ? WHERE account_id = ? AND id = ?`,
					db.dialect.searchText(searchTokens(e)), ipBin(e.IPAddress), e.AccountID, e.ID); err != nil {
					return db.wrap(err, "index event")
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		last = events[len(events)-1].ID
	}
}
