// Package alert evaluates an account's alert rules over its audit log and
// raises their alerts: an alert.triggered event in the account's log,
// which the live tail also sends to the owners and admins watching as a
// message of its own (docs/alerts.md).
//
// A rule selects events by an action pattern and a search in the query
// language (package query), and alerts on every selected event, or when
// more than Threshold of them (per actor, IP address or resource, with
// GroupBy) were recorded within Window: the window that ends at each
// selected event, so a burst that straddles any boundary is seen. An alert
// is raised at most once per rule, group and window (windows aligned on
// the Unix epoch, numbered by bucket), however many processes evaluate the
// rule: the alerts table's key (account_id, rule_id, group_key, bucket)
// admits one row, written in the transaction that appends the
// alert.triggered event.
//
// # Evaluation after commit, from the log
//
// Evaluation never runs on the ingest path. The store's OnCommit hook tells
// the Evaluator which accounts grew (Committed: a map update), and its
// goroutine then reads, for each enabled rule of those accounts, the
// selected events after the rule's position, checks them in seq order and
// moves the position on. Thresholds count the selected events of the window
// in the database, whichever process wrote them, up to the event's seq, so
// the count is the same in every process and after a restart. Every
// process evaluates the rules of its own commits; a sweep every few
// seconds evaluates every rule left behind its account's log: the commits
// of a process that stopped before evaluating them. No match is lost
// (positions are durable and move only past evaluated events), and none
// alerts twice (the alert's key). There is no elected evaluator: two
// processes may evaluate the same events, and the second's inserts are
// refused.
package alert
