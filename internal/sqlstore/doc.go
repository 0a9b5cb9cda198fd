// Package sqlstore stores accounts, users, sessions and audit events in a SQL
// database through database/sql.
//
// One set of queries, written with ? placeholders, serves every engine; the
// differences between engines (placeholders, locking clauses, time storage,
// error codes, migrations) live behind the unexported dialect type and in the
// per-engine migration folders. Every method that reads or writes account data
// takes the account ID as an explicit argument and puts it in its WHERE clause.
//
// Open returns a store ready for use: it applies pending migrations itself.
// The store holds no signing key.
//
// Writes run in a Tx (see DB.Update). Tx.AppendEvents is the only way an event
// enters the log: it runs tlog.Append over the transaction (which locks the
// account's log head, assigns the next gapless seq values, inserts the rows
// and stores the checkpoint signed with the caller's signer), so events
// written together with the change they describe commit or roll back with it.
// The event columns are listed once, in eventTable.
//
// SearchEvents compiles a search (package query) to one WHERE clause per
// engine (search.go): qualifiers on columns, free words by each engine's
// full-text index over search_text, a column the write path fills with the
// tokens query.Tokenize finds in the event (searchtext.go), so that every
// engine matches the same tokens. Events stored before the search columns
// existed are filled when the store opens the database.
package sqlstore
