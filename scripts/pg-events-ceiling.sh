#!/usr/bin/env bash
# pg-events-ceiling.sh: how fast PostgreSQL alone can write auditlog's
# events, with no client, no analytics counts and no tree: INSERT … SELECT
# of the rows of a database filled by `auditlog generate` into copies of
# the events table, timed four ways (see docs/performance.md, "The ceiling:
# PostgreSQL alone"):
#
#   1. every index, one session;
#   2. every index, two sessions at once (the largest account, the rest);
#   3. no index, two sessions (the tsvector column still computed);
#   4. then the fourteen indexes built on 3's table, two sessions.
#
# Usage: scripts/pg-events-ceiling.sh DATABASE   (a generated PostgreSQL
# database on 127.0.0.1:5432, user postgres; it is read, and two scratch
# tables, ev_all and ev_bare, are made and dropped in it)
set -euo pipefail
db=${1:?usage: $0 DATABASE}
p=(psql -h 127.0.0.1 -U postgres -d "$db" -v ON_ERROR_STOP=1 -q)
cols=$("${p[@]}" -Atc "SELECT string_agg(attname, ', ' ORDER BY attnum) FROM pg_attribute
  WHERE attrelid = 'events'::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''")
largest=$("${p[@]}" -Atc "SELECT account_id FROM events GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")

# copy TABLE WHERE: insert the events that WHERE selects into TABLE, in log order.
copy() {
	"${p[@]}" -c "INSERT INTO $1 ($cols) OVERRIDING SYSTEM VALUE SELECT $cols FROM events WHERE $2 ORDER BY account_id, seq"
}
# timed LABEL COMMAND…: run COMMAND and print how long it took.
timed() {
	local label=$1 start
	shift
	start=$(date +%s.%N)
	"$@"
	printf '%-40s %6.1f s   (load average %s)\n' "$label" "$(echo "$(date +%s.%N) - $start" | bc)" "$(cut -d' ' -f1 /proc/loadavg)"
}
both() { copy "$1" "account_id = $largest" & copy "$1" "account_id <> $largest" & wait; }
build() {
	local mem="SET maintenance_work_mem = '512MB'"
	"${p[@]}" -c "$mem" \
		-c 'CREATE UNIQUE INDEX ON ev_bare (account_id, seq)' -c 'CREATE UNIQUE INDEX ON ev_bare (account_id, event_id)' \
		-c 'CREATE INDEX ON ev_bare (account_id, created_at, seq)' -c 'CREATE INDEX ON ev_bare (account_id, user_id, created_at, seq)' \
		-c 'CREATE INDEX ON ev_bare (account_id, action, created_at, seq)' -c 'CREATE INDEX ON ev_bare (account_id, resource_type, created_at, seq)' \
		-c 'CREATE UNIQUE INDEX ON ev_bare (account_id, id)' -c 'CREATE INDEX ON ev_bare (id)' &
	"${p[@]}" -c "$mem" \
		-c 'CREATE INDEX ON ev_bare USING gin (search_tsv)' -c 'CREATE INDEX ON ev_bare (account_id, ip_bin, created_at, seq)' \
		-c 'CREATE INDEX ON ev_bare (account_id, resource_id, created_at, seq)' -c 'CREATE INDEX ON ev_bare (account_id, actor_id, created_at, seq)' \
		-c 'CREATE INDEX ON ev_bare (account_id, actor_email, created_at, seq)' -c 'CREATE INDEX ON ev_bare (account_id, actor_name, created_at, seq)' &
	wait
}

"${p[@]}" -c 'DROP TABLE IF EXISTS ev_all, ev_bare' \
	-c 'CREATE TABLE ev_all (LIKE events INCLUDING ALL)' \
	-c 'CREATE TABLE ev_bare (LIKE events INCLUDING DEFAULTS INCLUDING GENERATED)'
echo "$("${p[@]}" -Atc 'SELECT count(*) FROM events') events, largest account $largest"
timed "every index, one session" copy ev_all true
"${p[@]}" -c 'TRUNCATE ev_all'
timed "every index, two sessions" both ev_all
timed "no index, two sessions" both ev_bare
timed "then the 14 indexes built, two sessions" build
"${p[@]}" -c 'DROP TABLE ev_all, ev_bare'
