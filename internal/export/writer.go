package export

import (
	"bufio"
	"encoding/json"
	"io"
)

// Writer writes an export: the header, the events in seq order, then the end
// line. It buffers; Close flushes.
type Writer struct {
	bw    *bufio.Writer
	enc   *json.Encoder
	count int64
	err   error
}

// NewWriter returns a Writer that writes the header h to w first.
func NewWriter(w io.Writer, h Header) *Writer {
	bw := bufio.NewWriterSize(w, 64<<10)
	wr := &Writer{bw: bw, enc: json.NewEncoder(bw)}
	h.Type, h.Format = TypeHeader, Format
	wr.err = wr.enc.Encode(h)
	return wr
}

// Write writes one event line.
func (w *Writer) Write(e Event) error {
	if w.err != nil {
		return w.err
	}
	e.Type = TypeEvent
	w.err = w.enc.Encode(e)
	w.count++
	return w.err
}

// Close writes the end line and flushes.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if err := w.enc.Encode(End{Type: TypeEnd, Events: w.count}); err != nil {
		return err
	}
	return w.bw.Flush()
}
