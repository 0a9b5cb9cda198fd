package stream_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/password"
	"github.com/auditlog/auditlog/internal/server"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
	"github.com/auditlog/auditlog/internal/stream"
)

// waitFor bounds every wait of these tests.
const waitFor = 30 * time.Second

var origin = app.NewClient("192.0.2.7", "stream-test/1.0")

// fixture is an App over a database whose configuration lets streams
// reach this machine's test receivers (loopback, plain HTTP), as the
// operator's STREAMS_ALLOW_* settings do.
type fixture struct {
	t   testing.TB
	db  *sqlstore.DB
	app *app.App
	enc stream.Encoder
}

func newFixture(t testing.TB, db *sqlstore.DB) *fixture {
	t.Helper()
	cfg := config.Default()
	cfg.StreamsAllowHTTP, cfg.StreamsAllowPrivate = true, true
	a := app.New(app.Deps{
		Store: db, Signer: sqltest.Signer(t), Config: cfg, SecretKey: []byte("stream-test-secret"),
		Hasher: password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}),
	})
	t.Cleanup(func() { a.Close(context.Background()) })
	return &fixture{t: t, db: db, app: a, enc: server.New(server.Deps{App: a, Store: db, Config: cfg}).StreamEncoder()}
}

// tenant creates an account and returns its ID and its owner's principal.
func (f *fixture) tenant(name string) (int64, *app.Principal) {
	f.t.Helper()
	ctx := f.t.Context()
	acct, _, err := f.app.CreateAccount(ctx, origin, app.NewAccount{
		Name: name, Domain: name + ".example.com", OwnerEmail: "owner@" + name + ".example.com",
		OwnerPassword: "owner-password-1", OwnerFirstName: "O", OwnerLastName: name,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	res, err := f.app.Login(ctx, origin, app.Credentials{Email: "owner@" + name + ".example.com", Password: "owner-password-1"})
	if err != nil {
		f.t.Fatal(err)
	}
	p, err := f.app.AuthenticateSession(ctx, res.Token)
	if err != nil {
		f.t.Fatal(err)
	}
	return acct.ID, p
}

// engine starts a delivery engine over db with short timings.
func (f *fixture) engine(db *sqlstore.DB, opts stream.Options) *stream.Engine {
	f.t.Helper()
	if opts.Policy == (stream.Policy{}) && !opts.Policy.AllowHTTP {
		opts.Policy = f.app.StreamPolicy()
	}
	opts.Open, opts.Encoder = f.app.OpenStreamSecret, f.enc
	if opts.Claim == 0 {
		opts.Claim = 20 * time.Millisecond
	}
	if opts.Poll == 0 {
		opts.Poll = 20 * time.Millisecond
	}
	if opts.RetryBase == 0 {
		opts.RetryBase, opts.RetryMax = 20*time.Millisecond, 200*time.Millisecond
	}
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Lease == 0 {
		opts.Lease = 10 * time.Second
	}
	e := stream.New(db, opts)
	f.t.Cleanup(e.Close)
	return e
}

// appendEvents commits n events of the account, named action, in one
// transaction.
func (f *fixture) appendEvents(db *sqlstore.DB, accountID int64, action string, n int) {
	f.t.Helper()
	ctx := f.t.Context()
	evs := make([]*audit.Event, n)
	for i := range evs {
		evs[i] = &audit.Event{AccountID: accountID, Action: action}
	}
	if err := db.Update(ctx, func(tx *sqlstore.Tx) error {
		_, err := tx.AppendEvents(ctx, sqltest.Signer(f.t), evs...)
		return err
	}); err != nil {
		f.t.Fatal(err)
	}
}

// receiver is a webhook endpoint that checks each delivery's signature as
// docs/streams.md shows, and keeps what it accepted.
type receiver struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	secret   string
	batches  []stream.WebhookBody
	attempts []time.Time
	// arrived is when each accepted batch arrived.
	arrived []time.Time
	// failNext answers the next requests with status fail; failAll every
	// request.
	failNext, fail int
	failAll        bool
	delay          time.Duration
	inFlight, most int
	badSignatures  int
	// script answers the next requests, one function each, before any
	// other rule.
	script []func(w http.ResponseWriter)
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{t: t, fail: http.StatusServiceUnavailable}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.attempts = append(r.attempts, time.Now())
	r.inFlight++
	r.most = max(r.most, r.inFlight)
	delay := r.delay
	r.mu.Unlock()
	time.Sleep(delay)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inFlight--
	if len(r.script) > 0 {
		answer := r.script[0]
		r.script = r.script[1:]
		answer(w)
		return
	}
	if r.failAll || r.failNext > 0 {
		r.failNext--
		w.WriteHeader(r.fail)
		return
	}
	if !verify(r.secret, req.Header.Get(stream.SignatureHeader), body) {
		r.badSignatures++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var b stream.WebhookBody
	if err := json.Unmarshal(body, &b); err != nil {
		r.t.Errorf("delivery is not JSON: %v", err)
	}
	r.batches = append(r.batches, b)
	r.arrived = append(r.arrived, time.Now())
}

// verify is docs/streams.md's algorithm (without the clock check).
func verify(secret, header string, body []byte) bool {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	want, err := hex.DecodeString(sig)
	if err != nil || ts == "" {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return hmac.Equal(m.Sum(nil), want)
}

// createStream creates a webhook stream of p's account to r.
func (f *fixture) createStream(p *app.Principal, r *receiver) *audit.Stream {
	f.t.Helper()
	s, secret, err := f.app.CreateStream(f.t.Context(), p, origin, app.NewStream{Name: "test", Type: audit.StreamWebhook, URL: r.srv.URL + "/hook"})
	if err != nil {
		f.t.Fatal(err)
	}
	r.mu.Lock()
	r.secret = secret
	r.mu.Unlock()
	return s
}

// received is what r accepted: the events' seqs and actions, in order.
type received struct {
	seqs    []int64
	actions []string
	batches int
}

func (r *receiver) received() received {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out received
	for _, b := range r.batches {
		out.batches++
		for _, raw := range b.Events {
			var ev struct {
				Seq    int64  `json:"seq"`
				Action string `json:"action"`
			}
			json.Unmarshal(raw, &ev)
			out.seqs = append(out.seqs, ev.Seq)
			out.actions = append(out.actions, ev.Action)
		}
	}
	return out
}

// waitUntil polls cond until it holds, failing after waitFor.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// caughtUp waits until r has received every event of the account up to
// its log's size.
func (f *fixture) caughtUp(db *sqlstore.DB, r *receiver, accountID int64) received {
	f.t.Helper()
	size, err := db.LogSize(f.t.Context(), accountID)
	if err != nil {
		f.t.Fatal(err)
	}
	var got received
	waitUntil(f.t, "the receiver to catch up", func() bool {
		got = r.received()
		return len(got.seqs) > 0 && got.seqs[len(got.seqs)-1] >= size
	})
	return got
}

// cursorAt waits until the stream's cursor is at seq (the receiver has a
// batch before the engine records it) and returns the stream.
func (f *fixture) cursorAt(p *app.Principal, id, seq int64) *audit.Stream {
	f.t.Helper()
	var st *audit.Stream
	waitUntil(f.t, "the cursor to move", func() bool {
		var err error
		st, err = f.app.Stream(f.t.Context(), p, id)
		return err == nil && st.Cursor == seq
	})
	return st
}

// inOrder checks that seqs run from first, with no gap and nothing out of
// order; a batch sent again (at least once) may repeat seqs already seen,
// never skip one.
func inOrder(t testing.TB, seqs []int64, first int64) {
	t.Helper()
	next := first
	for i, s := range seqs {
		switch {
		case s > next:
			t.Fatalf("seq %d at position %d: gap, want at most %d", s, i, next)
		case s == next:
			next++
		}
	}
}

// TestDelivery: each account's stream gets exactly its account's events,
// in seq order, signed, each batch with a checkpoint that covers it.
func TestDelivery(t *testing.T) {
	t.Parallel()
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		a, pa := f.tenant("alpha")
		b, pb := f.tenant("beta")
		ra, rb := newReceiver(t), newReceiver(t)
		sa, sb := f.createStream(pa, ra), f.createStream(pb, rb)
		e := f.engine(db, stream.Options{Batch: 100})
		db.OnCommit = e.Committed
		for range 10 {
			f.appendEvents(db, a, "alpha.thing", 40)
			f.appendEvents(db, b, "beta.thing", 30)
		}
		for _, c := range []struct {
			r       *receiver
			s       *audit.Stream
			account int64
			prefix  string
		}{{ra, sa, a, "alpha."}, {rb, sb, b, "beta."}} {
			got := f.caughtUp(db, c.r, c.account)
			inOrder(t, got.seqs, c.s.Cursor+1)
			if got.seqs[0] != c.s.Cursor+1 || got.actions[0] != audit.ActionStreamCreated {
				t.Errorf("first event %d %s; want %d stream_created", got.seqs[0], got.actions[0], c.s.Cursor+1)
			}
			for i, action := range got.actions[1:] {
				if !strings.HasPrefix(action, c.prefix) {
					t.Fatalf("event %d of account %d's stream is %q: another account's", got.seqs[i+1], c.account, action)
				}
			}
			c.r.mu.Lock()
			for _, bt := range c.r.batches {
				var cp struct {
					TreeSize int64 `json:"tree_size"`
				}
				json.Unmarshal(bt.Checkpoint, &cp)
				if bt.AccountID != c.account || bt.StreamID != c.s.ID || len(bt.Events) > 100 || len(bt.Events) == 0 ||
					bt.FirstSeq > bt.LastSeq || cp.TreeSize < bt.LastSeq {
					t.Errorf("batch account %d stream %d, %d events %d..%d, checkpoint size %d", bt.AccountID, bt.StreamID, len(bt.Events), bt.FirstSeq, bt.LastSeq, cp.TreeSize)
				}
			}
			if c.r.badSignatures != 0 {
				t.Errorf("%d deliveries failed the signature check", c.r.badSignatures)
			}
			c.r.mu.Unlock()
			st := f.cursorAt(map[int64]*app.Principal{a: pa, b: pb}[c.account], c.s.ID, got.seqs[len(got.seqs)-1])
			if st.Failures != 0 || st.LastDeliveredAt.IsZero() {
				t.Errorf("stream after delivery: cursor %d, failures %d, last delivered %v", st.Cursor, st.Failures, st.LastDeliveredAt)
			}
		}
	})
}

// TestRetries: a receiver that is down for a while gets everything, in
// order, once back; the attempts in between wait longer and longer.
func TestRetries(t *testing.T) {
	t.Parallel()
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		a, p := f.tenant("alpha")
		r := newReceiver(t)
		r.failNext = 5
		s := f.createStream(p, r)
		f.engine(db, stream.Options{RetryBase: 40 * time.Millisecond, RetryMax: 10 * time.Second, MaxAttempts: 10, Batch: 50})
		for range 5 {
			f.appendEvents(db, a, "order.paid", 30)
		}
		got := f.caughtUp(db, r, a)
		inOrder(t, got.seqs, s.Cursor+1)
		r.mu.Lock()
		// Waits after failures 1..5: at least half of 40 ms·2ⁿ⁻¹.
		for i := 1; i <= 5; i++ {
			gap := r.attempts[i].Sub(r.attempts[i-1])
			if min := 20 * time.Millisecond << (i - 1); gap < min {
				t.Errorf("attempt %d came %v after the one before; want at least %v", i+1, gap, min)
			}
		}
		r.mu.Unlock()
		st, _ := f.app.Stream(t.Context(), p, s.ID)
		if st.Failures != 0 || st.State != audit.StreamActive || !strings.Contains(st.LastError, "503") || st.LastErrorAt.IsZero() {
			t.Errorf("stream after recovery: failures %d, state %s, last error %q", st.Failures, st.State, st.LastError)
		}
	})
}

// TestRetryAfter: a destination that answers 429 or 503 with Retry-After
// (in seconds or as an HTTP date) is not tried again before that time, a
// wait longer than RetryMax is cut to it, and the wait shows in the
// stream's last error.
func TestRetryAfter(t *testing.T) {
	t.Parallel()
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		a, p := f.tenant("alpha")
		r := newReceiver(t)
		answer := func(code int, retryAfter func() string) func(http.ResponseWriter) {
			return func(w http.ResponseWriter) {
				w.Header().Set("Retry-After", retryAfter())
				w.WriteHeader(code)
			}
		}
		r.script = []func(http.ResponseWriter){
			answer(http.StatusTooManyRequests, func() string { return "1" }),
			answer(http.StatusServiceUnavailable, func() string { return time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat) }),
			answer(http.StatusServiceUnavailable, func() string { return "3600" }),
		}
		s := f.createStream(p, r)
		const retryMax = 1500 * time.Millisecond
		f.engine(db, stream.Options{RetryBase: 20 * time.Millisecond, RetryMax: retryMax, MaxAttempts: 10})
		f.appendEvents(db, a, "order.paid", 5)
		got := f.caughtUp(db, r, a)
		inOrder(t, got.seqs, s.Cursor+1)
		r.mu.Lock()
		attempts := r.attempts
		r.mu.Unlock()
		if len(attempts) < 4 {
			t.Fatalf("%d attempts; want the 3 refused and one accepted", len(attempts))
		}
		// Without Retry-After the waits would be about 20, 40 and 80 ms.
		for i, want := range []struct{ least, most time.Duration }{
			{time.Second, waitFor},               // "1"
			{time.Second, waitFor},               // a date 2 s ahead, to the second
			{retryMax, 2*retryMax + time.Second}, // "3600", cut to RetryMax
		} {
			gap := attempts[i+1].Sub(attempts[i])
			if gap < want.least || gap > want.most {
				t.Errorf("attempt %d came %v after the one before; want between %v and %v", i+2, gap, want.least, want.most)
			}
		}
		st, _ := f.app.Stream(t.Context(), p, s.ID)
		if want := "503 Service Unavailable and asked to retry after 1h0m0s"; !strings.Contains(st.LastError, want) {
			t.Errorf("last error %q; want it to say %q", st.LastError, want)
		}
	})
}

// TestRetryAfterHeader: both forms of Retry-After, and what is ignored.
func TestRetryAfterHeader(t *testing.T) {
	now := time.Date(2026, 12, 2, 13, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"120", 2 * time.Minute},
		{" 7 ", 7 * time.Second},
		{"-5", 0},
		{"1.5", 0},
		{"soon", 0},
		{"99999999999", 366 * 24 * time.Hour},
		{"Wed, 02 Dec 2026 13:00:30 GMT", 30 * time.Second}, // IMF-fixdate
		{"Wednesday, 02-Dec-26 13:01:00 GMT", time.Minute},  // RFC 850
		{"Wed Dec  2 13:00:10 2026", 10 * time.Second},      // asctime
		{"Wed, 02 Dec 2026 12:59:00 GMT", 0},                // past
	} {
		if got := stream.RetryAfter(c.value, now); got != c.want {
			t.Errorf("RetryAfter(%q) = %v; want %v", c.value, got, c.want)
		}
	}
}

// TestDeadLetter: after MaxAttempts failures in a row the stream is dead,
// with the error shown, and tried no more; resumed, it delivers from its
// cursor.
func TestDeadLetter(t *testing.T) {
	t.Parallel()
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		a, p := f.tenant("alpha")
		r := newReceiver(t)
		r.failAll, r.fail = true, http.StatusInternalServerError
		s := f.createStream(p, r)
		f.engine(db, stream.Options{MaxAttempts: 3})
		f.appendEvents(db, a, "order.paid", 10)
		var st *audit.Stream
		waitUntil(t, "the stream to die", func() bool {
			st, _ = f.app.Stream(t.Context(), p, s.ID)
			return st.State == audit.StreamDead
		})
		if st.Failures != 3 || !strings.Contains(st.LastError, "500 Internal Server Error") || st.Cursor != s.Cursor {
			t.Errorf("dead stream: failures %d, last error %q, cursor %d (was %d)", st.Failures, st.LastError, st.Cursor, s.Cursor)
		}
		time.Sleep(300 * time.Millisecond) // more than any retry wait
		r.mu.Lock()
		if n := len(r.attempts); n != 3 {
			t.Errorf("%d attempts; want 3, then none", n)
		}
		r.failAll = false
		r.mu.Unlock()
		if _, err := f.app.ResumeStream(t.Context(), p, origin, s.ID); err != nil {
			t.Fatal(err)
		}
		got := f.caughtUp(db, r, a)
		inOrder(t, got.seqs, s.Cursor+1)
		if got.actions[len(got.actions)-1] != audit.ActionStreamResumed {
			t.Errorf("last event delivered %q; want the stream_resumed that resumed it", got.actions[len(got.actions)-1])
		}
	})
}

// TestRestart: a stream stopped with its process resumes from its cursor
// in another: no gap, order kept, including the events committed while no
// process ran.
func TestRestart(t *testing.T) {
	t.Parallel()
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		a, p := f.tenant("alpha")
		r := newReceiver(t)
		s := f.createStream(p, r)
		e := f.engine(db, stream.Options{Batch: 20})
		db.OnCommit = e.Committed
		for range 5 {
			f.appendEvents(db, a, "before.stop", 20)
		}
		r.mu.Lock()
		r.delay = 20 * time.Millisecond // so the stop falls mid-stream
		r.mu.Unlock()
		for range 5 {
			f.appendEvents(db, a, "during.stop", 20)
		}
		time.Sleep(50 * time.Millisecond)
		e.Close()
		db.OnCommit = nil
		for range 3 {
			f.appendEvents(db, a, "while.stopped", 20)
		}
		other := sqltest.Reopen(t, db) // another process, on the same database
		f.engine(other, stream.Options{Batch: 20})
		got := f.caughtUp(db, r, a)
		inOrder(t, got.seqs, s.Cursor+1)
		size, _ := db.LogSize(t.Context(), a)
		f.cursorAt(p, s.ID, size)
	})
}

// TestPrunedBeforeDelivery: events that retention removed before a stream
// delivered them are skipped, not waited for: delivery goes on from the
// oldest event kept, and the batch's checkpoint names it (first_seq).
func TestPrunedBeforeDelivery(t *testing.T) {
	t.Parallel()
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		a, p := f.tenant("alpha")
		r := newReceiver(t)
		s := f.createStream(p, r)
		f.appendEvents(db, a, "old.event", 40)
		step, err := db.PruneBatch(t.Context(), a, time.Now().Add(time.Hour), 30)
		if err != nil || step.To < s.Cursor+2 {
			t.Fatalf("PruneBatch = %+v, %v; want events past the stream's cursor %d removed", step, err, s.Cursor)
		}
		e := f.engine(db, stream.Options{Batch: 20})
		db.OnCommit = e.Committed
		defer func() { db.OnCommit = nil }()
		f.appendEvents(db, a, "new.event", 5)
		got := f.caughtUp(db, r, a)
		if got.seqs[0] != step.To+1 {
			t.Fatalf("first seq delivered = %d; want %d, the oldest kept", got.seqs[0], step.To+1)
		}
		inOrder(t, got.seqs, step.To+1)
		r.mu.Lock()
		var cp struct {
			FirstSeq int64 `json:"first_seq"`
		}
		err = json.Unmarshal(r.batches[0].Checkpoint, &cp)
		r.mu.Unlock()
		if err != nil || cp.FirstSeq != step.To+1 {
			t.Errorf("batch checkpoint first_seq = %d (%v); want %d", cp.FirstSeq, err, step.To+1)
		}
		size, _ := db.LogSize(t.Context(), a)
		f.cursorAt(p, s.ID, size)
	})
}

// TestErasedBeforeDelivery: a person's data erased while a stream has not
// yet delivered their events is not delivered: the stream, paused when
// the events arrived, is resumed after the erasure, and its batches carry
// the events without the erased fields, and someone else's untouched.
func TestErasedBeforeDelivery(t *testing.T) {
	t.Parallel()
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		a, p := f.tenant("alpha")
		r := newReceiver(t)
		s := f.createStream(p, r)
		if _, err := f.app.PauseStream(t.Context(), p, origin, s.ID); err != nil {
			t.Fatal(err)
		}
		e := f.engine(db, stream.Options{Batch: 20})
		db.OnCommit = e.Committed
		defer func() { db.OnCommit = nil }()
		if err := db.Update(t.Context(), func(tx *sqlstore.Tx) error {
			_, err := tx.AppendEvents(t.Context(), sqltest.Signer(t),
				&audit.Event{AccountID: a, Action: "order.created", ActorType: "customer", ActorID: "cust-42", ActorEmail: "jane.doe@customer.example",
					ActorName: "Jane Doe", IPAddress: "198.51.100.7", UserAgent: "JaneBrowser/1.0", Details: "Order placed by Jane",
					Metadata: []byte(`{"ship_to":"Jane Doe"}`)},
				&audit.Event{AccountID: a, Action: "order.created", ActorType: "customer", ActorID: "cust-7", ActorEmail: "bob@customer.example",
					ActorName: "Bob Roe", IPAddress: "198.51.100.8", Details: "Order placed"})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		// Paused: nothing goes out while the events are there to erase.
		time.Sleep(100 * time.Millisecond)
		if got := r.received(); got.batches != 0 {
			t.Fatalf("a paused stream delivered %d batches", got.batches)
		}
		er, err := f.app.Erase(t.Context(), p, origin, app.ErasureRequest{Email: "jane.doe@customer.example"})
		if err != nil || er.Events != 1 {
			t.Fatalf("Erase = %+v, %v; want her one event", er, err)
		}
		if _, err := f.app.ResumeStream(t.Context(), p, origin, s.ID); err != nil {
			t.Fatal(err)
		}
		got := f.caughtUp(db, r, a)
		inOrder(t, got.seqs, s.Cursor+1)
		r.mu.Lock()
		defer r.mu.Unlock()
		var all []byte
		erased, bob := 0, 0
		for _, b := range r.batches {
			for _, raw := range b.Events {
				all = append(append(all, raw...), '\n')
				var ev map[string]any
				if err := json.Unmarshal(raw, &ev); err != nil {
					t.Fatal(err)
				}
				if ev["action"] != "order.created" {
					continue
				}
				actor, _ := ev["actor"].(map[string]any)
				switch {
				case ev["personal_data_erased"] == true && ev["details"] == nil && ev["ip_address"] == nil && actor["email"] == nil:
					erased++
				case actor["email"] == "bob@customer.example" && ev["ip_address"] == "198.51.100.8":
					bob++
				}
			}
		}
		for _, gone := range []string{"jane", "198.51.100.7", "janebrowser", "cust-42"} {
			if strings.Contains(strings.ToLower(string(all)), gone) {
				t.Errorf("the delivered events carry %q, erased before delivery:\n%s", gone, all)
			}
		}
		if erased != 1 || bob != 1 {
			t.Errorf("delivered %d erased events and %d of bob's; want one each:\n%s", erased, bob, all)
		}
	})
}

// TestOneProcessAtATime: two processes on one database deliver a stream
// one at a time: never two batches in flight, and everything in order.
func TestOneProcessAtATime(t *testing.T) {
	t.Parallel()
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		a, p := f.tenant("alpha")
		r := newReceiver(t)
		r.delay = 5 * time.Millisecond
		s := f.createStream(p, r)
		other := sqltest.Reopen(t, db)
		e1 := f.engine(db, stream.Options{Batch: 10})
		e2 := f.engine(other, stream.Options{Batch: 10})
		db.OnCommit, other.OnCommit = e1.Committed, e2.Committed
		for i := range 20 {
			if i%2 == 0 {
				f.appendEvents(db, a, "one.thing", 15)
			} else {
				f.appendEvents(other, a, "two.thing", 15)
			}
		}
		got := f.caughtUp(db, r, a)
		inOrder(t, got.seqs, s.Cursor+1)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.most != 1 {
			t.Errorf("%d deliveries of one stream were in flight at once; want 1", r.most)
		}
	})
}

// TestDialRefusal: the policy is checked again when connecting, whatever
// the URL was when it was checked: a stream to a loopback receiver fails
// under the production policy without any request reaching it.
func TestDialRefusal(t *testing.T) {
	t.Parallel()
	db := sqltest.OpenSQLite(t)
	f := newFixture(t, db)
	a, p := f.tenant("alpha")
	r := newReceiver(t)
	s := f.createStream(p, r) // allowed: the fixture's policy allows loopback
	f.engine(db, stream.Options{Policy: stream.Policy{AllowHTTP: true}, MaxAttempts: 2})
	f.appendEvents(db, a, "order.paid", 3)
	var st *audit.Stream
	waitUntil(t, "the stream to die", func() bool {
		st, _ = f.app.Stream(t.Context(), p, s.ID)
		return st.State == audit.StreamDead
	})
	if !strings.Contains(st.LastError, "127.0.0.1 is a loopback address") {
		t.Errorf("last error %q; want the policy's refusal of the loopback address", st.LastError)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.attempts) != 0 {
		t.Errorf("%d requests reached the receiver", len(r.attempts))
	}
}

// observed records what an engine's Observer is told.
type observed struct {
	mu        sync.Mutex
	events    int
	batches   int
	failures  map[string]int
	deadTypes []string
}

func (o *observed) Delivered(typ string, events int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events += events
	o.batches++
}

func (o *observed) Failed(typ, class string, dead bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.failures[typ+" "+class]++
	if dead {
		o.deadTypes = append(o.deadTypes, typ)
	}
}

// TestObserverAndBacklog: the engine tells its Observer of every batch
// delivered and every failure, by class; the store's StreamBacklogs says
// how far each stream is behind (events, and when the oldest waiting one
// was recorded), and nothing once it caught up.
func TestObserverAndBacklog(t *testing.T) {
	t.Parallel()
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		a, p := f.tenant("alpha")
		r := newReceiver(t)
		r.failNext = 2
		s := f.createStream(p, r)
		f.appendEvents(db, a, "order.paid", 30)
		backlog := func() []sqlstore.StreamBacklog {
			t.Helper()
			bl, err := db.StreamBacklogs(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			return bl
		}
		before := time.Now()
		bl := backlog()
		if len(bl) != 1 || bl[0].Type != audit.StreamWebhook || bl[0].State != audit.StreamActive || bl[0].Events != 31 ||
			bl[0].Oldest.IsZero() || bl[0].Oldest.After(before) || before.Sub(bl[0].Oldest) > time.Minute {
			t.Fatalf("backlog %+v; want one active webhook 31 events behind (stream_created and 30), the oldest just recorded", bl)
		}
		o := &observed{failures: map[string]int{}}
		f.engine(db, stream.Options{Batch: 10, Observer: o})
		got := f.caughtUp(db, r, a)
		size, _ := db.LogSize(t.Context(), a)
		f.cursorAt(p, s.ID, size)
		if bl := backlog(); len(bl) != 1 || bl[0].Events != 0 {
			t.Errorf("backlog once caught up %+v; want 0 events", bl)
		}
		// The engine tells the observer after the receiver has answered,
		// so the last batch may reach it a moment after the receiver.
		waitUntil(t, "the observer to hear of every batch", func() bool {
			o.mu.Lock()
			defer o.mu.Unlock()
			return o.events >= len(got.seqs) && o.batches >= got.batches
		})
		o.mu.Lock()
		defer o.mu.Unlock()
		if o.events != len(got.seqs) || o.batches != got.batches || o.failures["webhook http_5xx"] != 2 || len(o.deadTypes) != 0 {
			t.Errorf("observed %d events in %d batches, failures %v, dead %v; want %d in %d, 2 webhook http_5xx, none dead",
				o.events, o.batches, o.failures, o.deadTypes, len(got.seqs), got.batches)
		}
	})
}

// TestFailureClass: each way a delivery fails has its class.
func TestFailureClass(t *testing.T) {
	for _, c := range []struct {
		err      error
		want     string
		describe string // what Describe says of it begins so
	}{
		{&stream.StatusError{Code: 429}, "http_429", ""},
		{&stream.StatusError{Code: 404}, "http_4xx", ""},
		{&stream.StatusError{Code: 503}, "http_5xx", ""},
		{&stream.StatusError{Code: 302}, "http_other", ""},
		{context.DeadlineExceeded, "timeout", "the destination did not answer within 10s"},
		{&stream.RefusedError{}, "refused", "the stream policy refused to connect"},
		{&net.DNSError{Name: "siem.invalid"}, "dns", "the destination's host siem.invalid does not resolve"},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, "connect", "cannot connect to the destination: connection refused"},
		{errors.New("something else"), "other", "the delivery failed: something else"},
	} {
		if got := stream.FailureClass(c.err); got != c.want || !slices.Contains(stream.FailureClasses, got) {
			t.Errorf("FailureClass(%v) = %q; want %q", c.err, got, c.want)
		}
		if got := stream.Describe(c.err, 10*time.Second); got == "" || !strings.HasPrefix(got, c.describe) {
			t.Errorf("Describe(%v) = %q; want it to begin %q", c.err, got, c.describe)
		}
	}
}
