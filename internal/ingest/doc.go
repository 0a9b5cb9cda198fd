// Package ingest is how platform services record events: it decodes and
// validates event requests (strictly: unknown fields, duplicate fields and
// invalid UTF-8 are errors, and a batch is judged as a whole), and it writes
// accepted events through a group-commit Writer, which puts the events of
// many concurrent requests into one transaction and acknowledges each only
// after that transaction has committed.
package ingest
