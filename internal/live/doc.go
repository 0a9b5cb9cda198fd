// Package live delivers an account's events as they commit to the
// surfaces that watch them: the WebSocket tail of the JSON API
// (GET /api/audit-logs/stream), and later streams to SIEM tools.
//
// One Hub serves a process. It learns that an account's log has grown
// (Hub.Committed, the store's OnCommit hook, for this process's commits;
// PostgreSQL LISTEN/NOTIFY or a poll of the log heads for other
// processes'), reads the new events from the database once for every
// watcher of the same selection, and queues them to each watcher (Sub).
// Events are published only once committed, and only in seq order.
//
// A Sub never misses an event and never sees one twice, whatever the
// timing: it tracks the position in the account's log up to which it has
// delivered everything that matches, skips events at or below it and, when
// a batch starts past it (it subscribed while a batch was being read, or
// resumed from an earlier position), reads the events in between from the
// database itself first. A Sub's queue is bounded: a watcher that falls
// too far behind gets ErrOverflow, never slows ingest or the other
// watchers, and resumes from its position with a new Sub.
//
// A Sub that asks for alerts (Sub.WatchAlerts: the tails of owners and
// admins) also gets the account's alert.triggered events as Items with
// Alert set, whatever its selection, read once per batch for every such
// Sub of the account.
//
// See docs/live.md for the protocol the surfaces speak.
package live
