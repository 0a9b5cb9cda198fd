// Package tlog is the verifiable log: everything that makes each account's
// events an append-only log that anyone can check. It holds
//
//   - the leaf encoding of an event and the commitment to its personal data
//     (leaf.go), derived from an audit.Event in one place (event.go: LeafOf,
//     PersonalOf, Sealed);
//   - the RFC 6962 tree, stored as tiles (tiles.go), its roots and its
//     inclusion and consistency proofs (proof.go, prove.go);
//   - checkpoints: C2SP signed notes, their signing and opening
//     (checkpoint.go);
//   - the append algorithm (append.go): for each account, lock the log
//     head, set replays aside, give new events the next seq values, seal
//     them (salt, commitment, leaf hash), extend the tiles, compute the root
//     and sign the checkpoint;
//   - the one log walker (walk.go) and the check of a stored log built on
//     it (stored.go).
//
// The tree hashing and proofs are those of golang.org/x/mod/sumdb/tlog (the
// Go checksum database's); checkpoints are golang.org/x/mod/sumdb/note
// signed notes. docs/verification.md specifies every byte, so a verifier can
// be written without this code; its test vectors are checked here
// (vectors_test.go).
//
// # Storage
//
// tlog owns no database. Append writes through the Store interface, which a
// write transaction of the SQL store implements (sqlstore's txLog): lock the
// heads and read the sizes, load tiles, find stored event IDs, insert the
// events, read back their IDs, save tiles, advance the heads, insert the
// checkpoints. Each method is one statement (or one bulk path, COPY on
// PostgreSQL) for every account of the append together, so an append
// mixing a hundred accounts costs the same round trips as one. Proofs read
// tiles through TileStore, and VerifyStored reads a snapshot through
// StoredLog. The signer is the caller's: the store holds no key, so code
// that cannot append (a read-only command) cannot create or use one.
//
// # Why one walker
//
// A log is checked in two places: the server re-checks the stored log
// (GET /api/audit-logs/verify) and auditlog verify checks an export file
// offline. Both feed their events to a Walker, which checks seq order, each
// event's commitment and leaf hash, recomputes the tree and checks every
// signed checkpoint it meets (signature, origin, size, root). What only one
// of them has plugs in around it: the stored tree hashes, right-edge tiles
// and log head (VerifyStored), and the export's header, end line and the
// inclusion proofs of filtered exports (package export). So the service
// and an owner's offline check cannot come to disagree about what a valid
// log is, and a check added to one is a check in both.
package tlog
