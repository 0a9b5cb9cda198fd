// Package exportfile is the NDJSON export of an account's log: its lines
// (Header, Event, End) and Verify, which checks a file offline with the
// service's verifier key alone. docs/verification.md specifies the format
// byte by byte, with test vectors.
//
// It is public so that programs outside the service, such as the Go SDK
// (package client), verify exports with the same code as the service and
// `auditlog verify`; there is one implementation of the algorithm. It
// builds on the service's log code (the Merkle tree, leaves, signed
// checkpoints), which imports the standard library, golang.org/x/mod's
// sumdb packages and nothing of the service's storage or servers.
package exportfile
