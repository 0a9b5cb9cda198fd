// Package export writes an account's audit events as files, and verifies
// the verifiable one (the format and its verifier are package exportfile):
//
//   - NDJSON (Writer): the self-proving export. It carries its own proof: a
//     signed checkpoint in its first line and, for each event, what a
//     verifier needs to recompute the event's leaf (and, in a filtered
//     export, its inclusion proof), so that Verify can check the file with
//     the service's public key alone, offline. The format is specified in
//     docs/verification.md.
//   - CSV (CSVWriter): one row per event for spreadsheets and scripts, with
//     text a spreadsheet would run as a formula made inert (NeutralizeCell).
//   - PDF (PDFReport): a report for people, with a summary of every event,
//     a table capped at PDFOptions.MaxRows rows, and the signed checkpoint.
//
// Each writer takes events one at a time in seq order. NDJSON and CSV hold
// one event at a time and stream; a PDF report keeps its table's rows until
// it is written. CSV and PDF are described in docs/exports.md, with how the
// API and the command line serve all three (app.Export).
package export
