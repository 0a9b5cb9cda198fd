package export

import (
	"io"

	"github.com/auditlog/auditlog/exportfile"
	"github.com/auditlog/auditlog/internal/audit"
)

// The NDJSON export format and its verifier live in package exportfile,
// which is public so that the Go SDK (package client) verifies exports with
// the very code the service and `auditlog verify` use. These names keep
// this package's callers as they were.

type (
	// Header is the first line of an export (exportfile.Header).
	Header = exportfile.Header
	// Event is one event line (exportfile.Event).
	Event = exportfile.Event
	// End is the last line (exportfile.End).
	End = exportfile.End
	// Report says what Verify proved (exportfile.Report).
	Report = exportfile.Report
	// Failure is a verification failure (exportfile.Failure).
	Failure = exportfile.Failure
	// Pruned is the removed prefix of a pruned log (exportfile.Pruned).
	Pruned = exportfile.Pruned
)

// The format's name and its line types (see exportfile).
const (
	Format     = exportfile.Format
	TypeHeader = exportfile.TypeHeader
	TypeEvent  = exportfile.TypeEvent
	TypeEnd    = exportfile.TypeEnd
)

// EventOf returns the export line of a stored event (exportfile.EventOf).
func EventOf(e *audit.Event) Event { return exportfile.EventOf(e) }

// SetEvent sets line to the export line of a stored event
// (exportfile.SetEvent).
func SetEvent(line *Event, e *audit.Event) { exportfile.SetEvent(line, e) }

// Verify checks an export against the service's verifier key
// (exportfile.Verify).
func Verify(r io.Reader, vkey string) (*Report, error) { return exportfile.Verify(r, vkey) }
