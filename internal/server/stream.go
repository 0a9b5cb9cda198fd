package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/live"
)

// The live tail: GET /api/audit-logs/stream upgrades to a WebSocket that
// carries the account's events as they commit (docs/live.md).

// Close codes of the stream, besides the standard 1001 (the server is
// shutting down) and 1011 (an internal error). Each reason ends with the
// after_seq to resume from.
const (
	// CloseTooSlow: the client fell more than the buffer behind.
	CloseTooSlow websocket.StatusCode = 4000
	// CloseUnauthorized: the session ended or expired, the user was
	// deactivated, or the API key was revoked.
	CloseUnauthorized websocket.StatusCode = 4401
	// CloseForbidden: the user's role no longer allows watching.
	CloseForbidden websocket.StatusCode = 4403
	// CloseBadMessage: the client sent a message other than a resume
	// message.
	CloseBadMessage websocket.StatusCode = 4400
)

// Timing of the stream; tests shorten them.
type streamTiming struct {
	// ping is how often an idle connection is pinged, so that proxies keep
	// it open and a dead peer is found.
	ping time.Duration
	// recheck is how often the caller's credentials are checked again.
	recheck time.Duration
	// write bounds each write to the network (the messages a wake-up
	// sends, or a ping): a client that reads nothing for this long is cut
	// off.
	write time.Duration
}

var defaultStreamTiming = streamTiming{ping: 25 * time.Second, recheck: 3 * time.Second, write: 10 * time.Second}

var (
	errNotWebSocket = audit.Errorf(audit.EINVALID, "This endpoint speaks WebSocket: connect with a WebSocket client (Upgrade: websocket).")
	errNoLive       = &audit.Error{Code: audit.EUNAVAILABLE, Message: "The live tail is not available on this server."}
)

// StreamMessage is one message of the stream.
type StreamMessage struct {
	// Type is "ready", "event", "checkpoint" or "alert".
	Type string `json:"type"`
	// Event is an event's JSON as GET /api/audit-logs lists it.
	Event *EventJSON `json:"event,omitempty"`
	// Alert is an alert a rule raised.
	Alert *AlertJSON `json:"alert,omitempty"`
	// Checkpoint is the account's latest signed checkpoint.
	Checkpoint *CheckpointJSON `json:"checkpoint,omitempty"`
	// AfterSeq, in "ready", says that every matching event with seq up to
	// it was sent: resume from the larger of it and the last event's seq.
	AfterSeq *int64 `json:"after_seq,omitempty"`
}

// streamEvents upgrades to a WebSocket and sends the caller's account's
// events that match the list's filters and search as they commit, after
// replaying those after ?after_seq= when given (app.OpenTail).
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		return errNotWebSocket
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		// A browser sends the session cookie with a WebSocket from any
		// page: only the service's own pages may open one.
		if u, err := url.Parse(origin); err != nil || !strings.EqualFold(u.Host, r.Host) {
			return errCrossOrigin
		}
	}
	q := r.URL.Query()
	f, _, err := parseEventQuery(q)
	if err != nil {
		return err
	}
	req := app.TailRequest{Filter: f, Search: q.Get("q")}
	if v := q.Get("after_seq"); v != "" {
		n, ok := canonicalID(v)
		if !ok && v != "0" {
			return audit.FieldError("after_seq", "after_seq must be a whole number, 0 or more: the seq of the last event received.")
		}
		req.Resume, req.After = true, n
	}
	tail, err := s.app.OpenTail(ctx, principalFrom(ctx), credential(r), req)
	if err != nil {
		return err
	}
	if s.live == nil {
		return errNoLive
	}
	sub, err := s.live.Subscribe(ctx, tail.AccountID, tail.Key, tail.Query)
	if errors.Is(err, live.ErrClosed) {
		return errNoLive
	} else if err != nil {
		return err
	}
	defer sub.Close()
	if tail.Alerts {
		sub.WatchAlerts()
	}
	sub.Start(tail.Resume, tail.After)

	// The connection outlives the server's read and write timeouts.
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Time{})
	rc.SetWriteDeadline(time.Time{})
	tw := &tailResponse{ResponseWriter: w, timeout: s.streamTiming.write}
	conn, err := websocket.Accept(tw, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return nil // Accept has answered
	}
	if tw.conn == nil {
		// Accept hijacked another way than through tw: cannot happen.
		conn.CloseNow()
		return nil
	}
	defer conn.CloseNow()
	conn.SetReadLimit(4 << 10) // a resume message, at most
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	resumes := make(chan resumeRequest, 1)
	wake := make(chan struct{}, 1)
	go readTail(ctx, cancel, conn, resumes, wake)
	s.tail(ctx, conn, tw.conn, sub, tail, resumes, wake)
	return nil
}

// resumeRequest is a client's resume message, or what was wrong with a
// message that was not one.
type resumeRequest struct {
	after int64
	bad   string
}

// readTail reads the client's messages until the connection ends (then it
// cancels the tail's context), passing each resume message on (and
// signalling wake). A message
// that is not {"type":"resume","after_seq":N} is passed on as bad, and
// ends the reading.
func readTail(ctx context.Context, cancel context.CancelFunc, conn *websocket.Conn, resumes chan<- resumeRequest, wake chan struct{}) {
	defer cancel()
	for {
		typ, b, err := conn.Read(ctx)
		if err != nil {
			return
		}
		var m struct {
			Type     string `json:"type"`
			AfterSeq *int64 `json:"after_seq"`
		}
		r := resumeRequest{}
		switch {
		case typ != websocket.MessageText || json.Unmarshal(b, &m) != nil:
			r.bad = "a message must be JSON text"
		case m.Type != "resume":
			r.bad = `the only message a client sends is {"type":"resume","after_seq":N}`
		case m.AfterSeq == nil || *m.AfterSeq < 0:
			r.bad = "after_seq must be a whole number, 0 or more"
		default:
			r.after = *m.AfterSeq
		}
		select {
		case resumes <- r:
			live.Signal(wake)
		case <-ctx.Done():
			return
		}
		if r.bad != "" {
			// The tail closes the connection; read on so that the close
			// handshake completes.
			continue
		}
	}
}

// credential returns what authenticated the request: the bearer API key,
// else the session cookie.
func credential(r *http.Request) string {
	if key, ok := bearerToken(r); ok {
		return key
	}
	return sessionToken(r)
}

// tail sends what sub has until the connection or sub ends, pinging the
// client and checking its credentials on the way, and starting over from
// the position each resume message asks for. Its goroutine waits on one
// channel, wake, that everything it waits for signals: the sub when it has
// something to send, a timer when a ping or recheck is due, readTail
// with a resume message, and the end of ctx (a wait on one channel is
// cheaper than a select among several, and a tail wakes for every event).
func (s *Server) tail(ctx context.Context, conn *websocket.Conn, tc *corkConn, sub *live.Sub, t *app.Tail, resumes <-chan resumeRequest, wake chan struct{}) {
	defer func() { sub.Close() }() // the last of the subs
	sub.Notify(wake)
	defer context.AfterFunc(ctx, func() { live.Signal(wake) })()
	timing := s.streamTiming
	// The first ping and recheck come at a random point of their period,
	// so that streams opened together do not all check at once. One timer
	// serves both: it fires at the earlier of the two.
	now := time.Now()
	pingAt, recheckAt := now.Add(jitter(timing.ping)), now.Add(jitter(timing.recheck))
	timer := time.AfterFunc(time.Until(earlier(pingAt, recheckAt)), func() { live.Signal(wake) })
	defer timer.Stop()
	resume := func() string { return fmt.Sprintf("resume with after_seq=%d", sub.Position()) }
	// The writes go to memory (tc is corked: sendQueued) and the write to
	// the network has the connection's deadline: a context without a
	// deadline spares the library a timer per message.
	wctx := context.WithoutCancel(ctx)
	for {
		<-wake
		if ctx.Err() != nil {
			return
		}
		select {
		case r := <-resumes:
			if !s.resumeTail(ctx, conn, &sub, t, r, resume, wake) {
				return
			}
		default:
		}
		if now := time.Now(); !now.Before(earlier(pingAt, recheckAt)) {
			if !now.Before(pingAt) {
				if !s.pingTail(ctx, conn) {
					return
				}
				pingAt = time.Now().Add(timing.ping)
			}
			if !now.Before(recheckAt) {
				if code, reason := s.recheckTail(ctx, t); code != 0 {
					conn.Close(code, reason)
					return
				}
				recheckAt = time.Now().Add(timing.recheck)
			}
			timer.Reset(time.Until(earlier(pingAt, recheckAt)))
		}
		sent, err := s.sendQueued(ctx, wctx, conn, tc, sub)
		switch {
		case errors.Is(err, errTailWrite):
			return
		case errors.Is(err, live.ErrOverflow):
			conn.Close(CloseTooSlow, "too far behind: "+resume())
			return
		case errors.Is(err, live.ErrClosed):
			conn.Close(websocket.StatusGoingAway, "server shutting down: "+resume())
			return
		case ctx.Err() != nil:
			return
		case err != nil:
			s.log.ErrorContext(ctx, "live tail failed", "account", t.AccountID, "err", err)
			conn.Close(websocket.StatusInternalError, "internal error: "+resume())
			return
		}
		if sent >= tailBatch {
			// More may be waiting: go round again (past the timers and
			// the client's messages) without waiting.
			live.Signal(wake)
		}
	}
}

// earlier returns the earlier of a and b.
func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// tailBatch is how many items, about, sendQueued writes before the tail
// lets its timers and the client's messages in.
const tailBatch = 512

// errTailWrite marks a failed write to the client: the connection is gone.
var errTailWrite = errors.New("write to the live tail's client failed")

// sendQueued writes the items sub has to send now, as many as Next
// returns until it has none (or tailBatch), gathered into one write to the
// network (up to corkLimit bytes at a time), with wctx, which has no
// deadline: the connection's deadline bounds the write to the network. It
// returns how many it wrote, and Next's error, or errTailWrite when a
// write failed. What it wrote before Next failed reaches the client before
// any close frame.
func (s *Server) sendQueued(ctx, wctx context.Context, conn *websocket.Conn, tc *corkConn, sub *live.Sub) (sent int, err error) {
	tc.cork()
	defer func() {
		if werr := tc.uncork(); werr != nil && err == nil {
			err = fmt.Errorf("%w: %w", errTailWrite, werr)
		}
	}()
	for sent < tailBatch {
		items, err := sub.Next(ctx)
		if err != nil || len(items) == 0 {
			return sent, err
		}
		for _, it := range items {
			if err := conn.Write(wctx, websocket.MessageText, it.Frame(s.encodeStreamItem)); err != nil {
				return sent, fmt.Errorf("%w: %w", errTailWrite, err)
			}
			sent++
		}
	}
	return sent, nil
}

// resumeTail answers a resume message: *sub is replaced by a new Sub that
// replays the matching events after r.after, sends ready, and continues
// live, and signals wake. It reports whether the tail goes on; when not, it has closed the
// connection (a bad message: CloseBadMessage).
func (s *Server) resumeTail(ctx context.Context, conn *websocket.Conn, sub **live.Sub, t *app.Tail, r resumeRequest, resume func() string, wake chan struct{}) bool {
	if r.bad != "" {
		conn.Close(CloseBadMessage, r.bad+": "+resume())
		return false
	}
	next, err := s.live.Subscribe(ctx, t.AccountID, t.Key, t.Query)
	switch {
	case errors.Is(err, live.ErrClosed):
		conn.Close(websocket.StatusGoingAway, "server shutting down: "+resume())
		return false
	case ctx.Err() != nil:
		return false
	case err != nil:
		s.log.ErrorContext(ctx, "live tail failed", "account", t.AccountID, "err", err)
		conn.Close(websocket.StatusInternalError, "internal error: "+resume())
		return false
	}
	(*sub).Close()
	if t.Alerts {
		next.WatchAlerts()
	}
	next.Start(true, r.after)
	next.Notify(wake)
	*sub = next
	return true
}

// jitter returns a random duration in (0, d].
func jitter(d time.Duration) time.Duration { return time.Duration(rand.Int64N(int64(d))) + 1 }

// pingTail pings the client and reports whether it answered in time.
func (s *Server) pingTail(ctx context.Context, conn *websocket.Conn) bool {
	ctx, cancel := context.WithTimeout(ctx, s.streamTiming.write)
	defer cancel()
	return conn.Ping(ctx) == nil
}

// recheckTail checks that whoever opened t may still watch; a close code
// and reason when not.
func (s *Server) recheckTail(ctx context.Context, t *app.Tail) (websocket.StatusCode, string) {
	err := s.app.RecheckTail(ctx, t)
	switch audit.ErrorCode(err) {
	case "":
		return 0, ""
	case audit.EUNAUTHORIZED:
		return CloseUnauthorized, "the session ended or the API key was revoked"
	case audit.EFORBIDDEN, audit.EMFAREQUIRED:
		return CloseForbidden, "your role no longer allows watching the audit log"
	}
	if ctx.Err() == nil {
		// The database could not be reached: check again later.
		s.log.WarnContext(ctx, "could not recheck a live tail's credentials", "account", t.AccountID, "err", err)
	}
	return 0, ""
}

// encodeStreamItem encodes one stream message.
func (s *Server) encodeStreamItem(it *live.Item) []byte {
	var m StreamMessage
	switch {
	case it.Event != nil:
		e := eventJSON(it.Event)
		m = StreamMessage{Type: "event", Event: &e}
	case it.Checkpoint != nil:
		c := s.checkpointJSON(it.Checkpoint)
		m = StreamMessage{Type: "checkpoint", Checkpoint: &c}
	case it.Alert != nil:
		m = StreamMessage{Type: "alert", Alert: alertJSON(it.Alert)}
	default:
		pos := it.Position
		m = StreamMessage{Type: "ready", AfterSeq: &pos}
	}
	b, err := json.Marshal(m)
	if err != nil {
		// Every field is a plain value: this cannot happen.
		panic(fmt.Sprintf("encode stream message: %v", err))
	}
	return b
}
