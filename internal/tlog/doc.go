// Package tlog turns each account's events into a verifiable log: an
// RFC 6962 Merkle tree whose leaves are canonical encodings of the events,
// with Ed25519-signed checkpoints in the C2SP signed-note format, inclusion
// and consistency proofs, and the verification of all of these.
//
// The tree hashing and proofs are those of golang.org/x/mod/sumdb/tlog (the
// Go checksum database's); checkpoints are golang.org/x/mod/sumdb/note
// signed notes. docs/verification.md specifies every byte, so a verifier can
// be written without this code.
//
// Everything here is pure computation over values and small interfaces: the
// server, the store and the offline verifier (auditlog verify) share it.
package tlog
