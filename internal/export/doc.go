// Package export writes and verifies the NDJSON export of an account's audit
// log. An export carries its own proof: a signed checkpoint in its first line
// and, for each event, what a verifier needs to recompute the event's leaf
// (and, in a filtered export, its inclusion proof), so that Verify can check
// the file with the service's public key alone, offline.
//
// The format is specified in docs/verification.md.
package export
