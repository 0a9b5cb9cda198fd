// Package sqlstore stores accounts, users, sessions and audit events in a SQL
// database through database/sql.
//
// One set of queries, written with ? placeholders, serves every engine; the
// differences between engines (placeholders, locking clauses, time storage,
// error codes, migrations) live behind the unexported dialect type and in the
// per-engine migration folders. Every method that reads or writes account data
// takes the account ID as an explicit argument and puts it in its WHERE clause.
//
// Writes run in a Tx (see DB.Update). Tx.AppendEvents is the only way an event
// enters the log: it locks the account's log head, assigns the next gapless
// seq values and inserts the rows, so events written together with the change
// they describe commit or roll back with it.
package sqlstore
