package sqlstore

import (
	"context"
	"fmt"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/tlog"
	sumdb "golang.org/x/mod/sumdb/tlog"
)

// VerifyReport is the outcome of re-checking an account's stored log.
type VerifyReport struct {
	AccountID          int64
	TreeSize           int64 // the size the log head records
	CheckedEvents      int64
	CheckedCheckpoints int64
	CheckedTreeHashes  int64
	// Failure is the first problem found, or nil when the log checked out.
	Failure *VerifyFailure
}

// VerifyFailure locates a problem in a stored log.
type VerifyFailure struct {
	Index  int64 // 0-based leaf index (seq-1) where it was found; -1 when not tied to one
	Reason string
}

// verifyPage is how many events and checkpoints VerifyLog reads per query.
const verifyPage = 1000

// VerifyLog re-checks the account's stored log from its first event: each
// event's personal data against its commitment and its fields against its
// leaf hash, every stored tree hash against the hashes recomputed from the
// events, every checkpoint's signature (with the verifier key vkey) and root,
// and the log head. It reads in pages, in constant memory, from one snapshot.
// It returns an error only when it could not check; a log that fails a check
// is a report with a Failure.
func (db *DB) VerifyLog(ctx context.Context, accountID int64, vkey string) (*VerifyReport, error) {
	rep := &VerifyReport{AccountID: accountID}
	err := db.view(ctx, func(tx runner) error {
		var headRoot []byte
		err := tx.queryRow(ctx, `SELECT size, root_hash FROM log_heads WHERE account_id = ?`, accountID).Scan(&rep.TreeSize, &headRoot)
		if err != nil {
			return db.wrap(err, "select log head")
		}
		v := &logVerifier{db: db, ctx: ctx, q: tx, accountID: accountID, vkey: vkey, rep: rep, tiles: map[int]*tileWindow{}}
		rep.Failure, err = v.run(headRoot)
		return err
	})
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// logVerifier holds the state of one VerifyLog run.
type logVerifier struct {
	db        *DB
	ctx       context.Context
	q         runner
	accountID int64
	vkey      string
	rep       *VerifyReport

	b      tlog.Builder
	groups [][]tlog.Hash       // per tile level, the recomputed hashes of the current tile
	tiles  map[int]*tileWindow // per tile level, a window of stored tiles
	cps    []*Checkpoint       // next checkpoints to check, in size order
	cpNext int64               // checkpoints with a larger size remain to be read
}

func (v *logVerifier) fail(index int64, format string, args ...any) (*VerifyFailure, error) {
	return &VerifyFailure{Index: index, Reason: fmt.Sprintf(format, args...)}, nil
}

func (v *logVerifier) run(headRoot []byte) (*VerifyFailure, error) {
	var last int64
	for {
		events, err := v.events(last)
		if err != nil {
			return nil, err
		}
		for _, e := range events {
			if f, err := v.event(e, last); f != nil || err != nil {
				return f, err
			}
			last = e.Seq
		}
		if len(events) < verifyPage {
			break
		}
	}
	size := v.b.Size()
	if size != v.rep.TreeSize {
		return v.fail(size, "the log head records %d events but the log holds %d: the newest events are missing", v.rep.TreeSize, size)
	}
	if f, err := v.checkpointsUpTo(size); f != nil || err != nil {
		return f, err
	}
	if more, err := v.nextCheckpoint(); err != nil {
		return nil, err
	} else if more != nil {
		return v.fail(size, "a checkpoint covers %d events but the log holds %d: events are missing", more.Size, size)
	}
	if f, err := v.partialTiles(); f != nil || err != nil {
		return f, err
	}
	root := v.b.Root()
	if size > 0 && (len(headRoot) != len(root) || tlog.Hash(headRoot) != root) {
		return v.fail(-1, "the log head's root hash differs from the root of the stored events")
	}
	return nil, nil
}

// events reads the next page of events after seq last.
func (v *logVerifier) events(last int64) ([]*audit.Event, error) {
	rows, err := v.q.query(v.ctx, `SELECT `+eventColumns+` FROM events e
		WHERE e.account_id = ? AND e.seq > ? ORDER BY e.seq LIMIT ?`, v.accountID, last, verifyPage)
	if err != nil {
		return nil, v.db.wrap(err, "select events")
	}
	return v.db.scanEvents(rows, nil, nil)
}

func (v *logVerifier) event(e *audit.Event, last int64) (*VerifyFailure, error) {
	idx := e.Seq - 1
	if e.Seq != last+1 {
		return v.fail(last, "the event with seq %d is missing (the next stored event has seq %d)", last+1, e.Seq)
	}
	if e.Salt != nil && tlog.PersonalOf(e).Commit(e.Salt) != e.Commitment {
		return v.fail(idx, "the event's personal data (actor, IP address, user agent or details) differs from its commitment: it was altered")
	}
	h := tlog.LeafOf(e).Hash()
	if h != e.LeafHash {
		return v.fail(idx, "the event's fields differ from its leaf hash: it was altered")
	}
	if f, err := v.treeHash(0, idx, h); f != nil || err != nil {
		return f, err
	}
	v.b.Add(h)
	v.rep.CheckedEvents++
	return v.checkpointsUpTo(v.b.Size())
}

// treeHash checks a recomputed hash of tile level `level`, node n, against
// the stored tile, and folds it into the hashes of the level above.
func (v *logVerifier) treeHash(level int, n int64, h tlog.Hash) (*VerifyFailure, error) {
	first := n << (tlog.TileHeight * level) // first leaf under the node
	stored, err := v.storedHash(level, n)
	if err != nil {
		return nil, err
	}
	if stored == nil || *stored != h {
		return v.fail(first, "the stored tree hash at level %d, node %d differs from the one computed from the events", level*tlog.TileHeight, n)
	}
	v.rep.CheckedTreeHashes++
	for len(v.groups) <= level {
		v.groups = append(v.groups, nil)
	}
	v.groups[level] = append(v.groups[level], h)
	if len(v.groups[level]) == 1<<tlog.TileHeight {
		parent := perfectRoot(v.groups[level])
		v.groups[level] = v.groups[level][:0]
		return v.treeHash(level+1, n>>tlog.TileHeight, parent)
	}
	return nil, nil
}

// partialTiles checks that the stored right-edge tiles hold exactly the
// hashes recomputed for them, no more.
func (v *logVerifier) partialTiles() (*VerifyFailure, error) {
	size := v.b.Size()
	for level := 0; size>>(tlog.TileHeight*level) > 0; level++ {
		nodes := size >> (tlog.TileHeight * level) // complete nodes at this tile level
		tileIdx := nodes >> tlog.TileHeight
		want := nodes & (1<<tlog.TileHeight - 1)
		data, err := v.tile(level, tileIdx)
		if err != nil {
			return nil, err
		}
		if int64(len(data)) != want*sumdb.HashSize {
			return v.fail(size, "the stored tree at level %d holds %d hashes past the last complete tile; the events need %d", level*tlog.TileHeight, len(data)/sumdb.HashSize, want)
		}
	}
	return nil, nil
}

func perfectRoot(hs []tlog.Hash) tlog.Hash {
	level := append([]tlog.Hash(nil), hs...)
	for len(level) > 1 {
		for i := 0; i < len(level)/2; i++ {
			level[i] = sumdb.NodeHash(level[2*i], level[2*i+1])
		}
		level = level[:len(level)/2]
	}
	return level[0]
}

// tileWindow caches a run of consecutive stored tiles of one level.
type tileWindow struct {
	lo, hi int64 // tiles [lo, hi) are loaded
	data   map[int64][]byte
}

// tileWindowSize is how many tiles of a level one query loads.
const tileWindowSize = 128

func (v *logVerifier) tile(level int, idx int64) ([]byte, error) {
	w := v.tiles[level]
	if w == nil || idx < w.lo || idx >= w.hi {
		w = &tileWindow{lo: idx, hi: idx + tileWindowSize, data: map[int64][]byte{}}
		rows, err := v.q.query(v.ctx, `SELECT tile_index, hashes FROM log_tiles
			WHERE account_id = ? AND tile_level = ? AND tile_index >= ? AND tile_index < ?`, v.accountID, level, w.lo, w.hi)
		if err != nil {
			return nil, v.db.wrap(err, "select tiles")
		}
		defer rows.Close()
		for rows.Next() {
			var i int64
			var d []byte
			if err := rows.Scan(&i, &d); err != nil {
				return nil, v.db.wrap(err, "scan tile")
			}
			w.data[i] = d
		}
		if err := rows.Err(); err != nil {
			return nil, v.db.wrap(err, "select tiles")
		}
		v.tiles[level] = w
	}
	return w.data[idx], nil
}

// storedHash returns the stored hash of tile level `level`, node n, or nil
// when it is not stored.
func (v *logVerifier) storedHash(level int, n int64) (*tlog.Hash, error) {
	data, err := v.tile(level, n>>tlog.TileHeight)
	if err != nil {
		return nil, err
	}
	off := (n & (1<<tlog.TileHeight - 1)) * sumdb.HashSize
	if int64(len(data)) < off+sumdb.HashSize {
		return nil, nil
	}
	h := tlog.Hash(data[off : off+sumdb.HashSize])
	return &h, nil
}

// nextCheckpoint returns the next unchecked checkpoint, or nil.
func (v *logVerifier) nextCheckpoint() (*Checkpoint, error) {
	if len(v.cps) > 0 {
		return v.cps[0], nil
	}
	rows, err := v.q.query(v.ctx, `SELECT account_id, tree_size, root_hash, note, created_at FROM checkpoints
		WHERE account_id = ? AND tree_size >= ? ORDER BY tree_size LIMIT ?`, v.accountID, v.cpNext, verifyPage)
	if err != nil {
		return nil, v.db.wrap(err, "select checkpoints")
	}
	defer rows.Close()
	for rows.Next() {
		c := &Checkpoint{}
		var root []byte
		if err := rows.Scan(&c.AccountID, &c.Size, &root, &c.Note, timeValue{&c.CreatedAt}); err != nil {
			return nil, v.db.wrap(err, "scan checkpoint")
		}
		copy(c.Root[:], root)
		v.cps = append(v.cps, c)
		v.cpNext = c.Size + 1
	}
	if err := rows.Err(); err != nil {
		return nil, v.db.wrap(err, "select checkpoints")
	}
	if len(v.cps) == 0 {
		return nil, nil
	}
	return v.cps[0], nil
}

// checkpointsUpTo checks every checkpoint of the given size: its signature,
// its origin, and its root against the root recomputed from the events.
func (v *logVerifier) checkpointsUpTo(size int64) (*VerifyFailure, error) {
	for {
		c, err := v.nextCheckpoint()
		if err != nil || c == nil || c.Size > size {
			return nil, err
		}
		v.cps = v.cps[1:]
		if c.Size < size {
			// The walk checks after every event, so this means a checkpoint
			// row was inserted out of order: never skip it silently.
			return v.fail(c.Size-1, "the checkpoint at size %d was not met in order", c.Size)
		}
		signed, err := tlog.OpenCheckpoint([]byte(c.Note), v.vkey)
		if err != nil {
			return v.fail(c.Size-1, "the checkpoint at size %d is not validly signed by the service's key", c.Size)
		}
		if signed.Origin != tlog.Origin(tlog.KeyName(v.vkey), v.accountID) || signed.Size != c.Size || signed.Root != c.Root {
			return v.fail(c.Size-1, "the checkpoint at size %d names another log, size or root than its row", c.Size)
		}
		if c.Root != v.b.Root() {
			return v.fail(c.Size-1, "the events up to size %d do not hash to the signed checkpoint's root: an event before index %d was altered", c.Size, c.Size)
		}
		v.rep.CheckedCheckpoints++
	}
}
