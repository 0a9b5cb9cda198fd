// Package faults holds the fault suite: tests that run the service on
// private database and Redis servers of their own (never the shared test
// servers), break those servers during ingest, and check what clients see
// and what the log holds.
//
// Each case starts its own server process on a spare port (PostgreSQL on
// 15432 with initdb and pg_ctl, MariaDB on 13306 with mariadb-install-db and
// mariadbd, Redis on 16379), drives the JSON API with
// concurrent clients sending events with event IDs, breaks the server
// (restart, connections killed, gone), and requires, in every case:
//
//   - while the fault lasts, every refused request is a 503 (or 507) with
//     Retry-After and a JSON error, never a 500;
//   - once the fault ends the same service records again, without a
//     restart;
//   - after every unacknowledged event is retried with its event ID, the
//     log holds each event exactly once: nothing acknowledged is lost,
//     nothing is duplicated;
//   - the server's verify and offline verification of a full export pass.
//
// The short version (the default, as CI runs it) runs each case for a few
// seconds; -faults.long runs each for a minute with more fault cycles.
// Starting servers needs their binaries and, for PostgreSQL, root (to run
// initdb as the postgres user): without them the cases skip with a message,
// except under CI=true, where they fail.
//
// Cases: PostgreSQL stopped at once (immediate mode) and restarted during
// ingest, PostgreSQL connections terminated (pg_terminate_backend) during
// ingest, a PostgreSQL lock held past the service's commit deadline, MariaDB killed (SIGKILL) and restarted during ingest, MariaDB
// sessions ended (KILL CONNECTION) during ingest, Redis killed and
// restarted while the rate limits use it. The disk-full case lives in
// internal/server (TestDiskFull: SQLite on a tmpfs the test mounts); SIGTERM
// and kill -9 of a real auditlog serve process during ingest live in
// cmd/auditlog (TestServeKilledDuringIngest), which builds the binary.
package faults
