package server

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"time"
)

// The live tail's network connection. github.com/coder/websocket writes
// every message as a frame and flushes it to the connection at once: one
// system call per message. A tail often has several messages to send at
// the same moment (an event and the checkpoint after it, or the events of
// several commits when it was not scheduled for a while), so the tail
// gathers what the library flushes while it writes them (corked) and
// writes it to the network with one system call at the end (uncork). The
// write deadline is the connection's own, set before each system call,
// instead of a context with a timeout around each message.

// corkLimit bounds what a corked connection gathers: past it, what was
// gathered goes to the network at once, so that a long replay does not
// hold its pages in memory.
const corkLimit = 32 << 10

// corkBuffers are the buffers of corked connections, shared, so that an
// idle tail holds none.
var corkBuffers = sync.Pool{New: func() any { b := make([]byte, 0, corkLimit); return &b }}

// corkConn is a hijacked connection that gathers writes while corked.
type corkConn struct {
	net.Conn
	// timeout bounds each write to the network: a client that reads
	// nothing for this long is cut off.
	timeout time.Duration

	mu     sync.Mutex
	corked bool
	buf    *[]byte // while corked
	err    error   // the first failed write: every later one fails too
}

// cork starts gathering writes.
func (c *corkConn) cork() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = true
}

// uncork writes what was gathered, with one system call, and stops
// gathering.
func (c *corkConn) uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	err := c.flushLocked()
	if c.buf != nil {
		corkBuffers.Put(c.buf)
		c.buf = nil
	}
	return err
}

// Write writes p to the network, or gathers it while corked.
func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if !c.corked {
		return c.writeLocked(p)
	}
	if c.buf == nil {
		c.buf = corkBuffers.Get().(*[]byte)
	}
	if len(*c.buf)+len(p) > corkLimit {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) > corkLimit {
			return c.writeLocked(p)
		}
	}
	*c.buf = append(*c.buf, p...)
	return len(p), nil
}

// flushLocked writes what was gathered.
func (c *corkConn) flushLocked() error {
	if c.err != nil {
		return c.err
	}
	if c.buf == nil || len(*c.buf) == 0 {
		return nil
	}
	_, err := c.writeLocked(*c.buf)
	*c.buf = (*c.buf)[:0]
	return err
}

// writeLocked writes p to the network within the timeout.
func (c *corkConn) writeLocked(p []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		c.err = err
		return 0, err
	}
	n, err := c.Conn.Write(p)
	if err != nil {
		c.err = err
	}
	return n, err
}

// tailResponse is the tail's http.ResponseWriter: when the WebSocket
// library hijacks the connection, it gets a corkConn, whose writes the
// tail can gather (conn).
type tailResponse struct {
	http.ResponseWriter
	timeout time.Duration
	conn    *corkConn
}

// Hijack hands the connection over as a corkConn.
func (w *tailResponse) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if err := brw.Writer.Flush(); err != nil {
		nc.Close()
		return nil, nil, err
	}
	w.conn = &corkConn{Conn: nc, timeout: w.timeout}
	brw.Writer.Reset(w.conn)
	return w.conn, brw, nil
}

// Unwrap returns the ResponseWriter it wraps, for http.ResponseController.
func (w *tailResponse) Unwrap() http.ResponseWriter { return w.ResponseWriter }
