// Package chat answers questions about an account's audit trail in plain
// language, offline: no model and no network.
//
// Interpret turns a question into a Plan: a search in the query language
// of package query (what a person would type in the explorer), what to do
// with the matches (list them, name who did it, find the last one, count,
// rank actors or actions, count per interval, look for unusual activity)
// and the time it covers, resolved in the asker's time zone. Actions are
// taken from the account's own vocabulary (the actions its log holds), so
// "refunded" finds order.refunded in one account and order_refunded in
// another. A question it does not understand is a plan of KindUnknown: it
// says so and suggests questions, and never guesses.
//
// Run runs a plan through the application layer as the asking user (the
// same ListEvents and analytics operations as the JSON API, so tenant
// scope and roles are the app's) and words the answer, citing the events
// it relies on by ID and seq.
//
// testdata/eval.json is the evaluation set: questions with the query and
// aggregation each must produce, run by TestEvaluationSet, which reports
// the accuracy.
package chat

// The IANA zone database is embedded (about 450 kB), so a question's time
// zone resolves the same on a host or container without one.
import _ "time/tzdata"
