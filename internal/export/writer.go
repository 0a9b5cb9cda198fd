package export

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
)

// writerBuffer is the Writer's buffer: large enough that a write to a
// network connection carries hundreds of events.
const writerBuffer = 256 << 10

// Writer writes an export: the header, the events in seq order, then the end
// line. It buffers; Close flushes. Event lines are encoded by hand (see
// appendEvent), byte for byte as encoding/json encodes an Event, with no
// allocation per event.
type Writer struct {
	bw    *bufio.Writer
	buf   []byte
	count int64
	err   error
}

// NewWriter returns a Writer that writes the header h to w first.
func NewWriter(w io.Writer, h Header) *Writer {
	bw := bufio.NewWriterSize(w, writerBuffer)
	wr := &Writer{bw: bw, buf: make([]byte, 0, 4<<10)}
	h.Type, h.Format = TypeHeader, Format
	wr.err = json.NewEncoder(bw).Encode(h)
	return wr
}

// Write writes one event line. It does not keep e.
func (w *Writer) Write(e *Event) error {
	if w.err != nil {
		return w.err
	}
	w.buf = appendEvent(w.buf[:0], e)
	w.buf = append(w.buf, '\n')
	if _, err := w.bw.Write(w.buf); err != nil {
		w.err = fmt.Errorf("export: write event seq %d: %w", e.Seq, err)
		return w.err
	}
	w.count++
	return nil
}

// Count returns the number of event lines written.
func (w *Writer) Count() int64 { return w.count }

// Close writes the end line and flushes.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if err := json.NewEncoder(w.bw).Encode(End{Type: TypeEnd, Events: w.count}); err != nil {
		return fmt.Errorf("export: write end line: %w", err)
	}
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("export: flush: %w", err)
	}
	return nil
}
