#!/usr/bin/env bash
# bench-flask.sh: GET /api/audit-logs?per_page=50 on the sample data, served
# by auditlog and by the Flask reference (scripts/flask-reference/app.py,
# gunicorn with 2 workers), measured side by side in one run with wrk, and
# the ratio printed.
#
#   scripts/bench-flask.sh [-d SECONDS] [-c CONNECTIONS] [-r ROUNDS]
#
# Each round measures, one after another:
#   flask        the Flask reference, signed in with its session cookie
#   auditlog     auditlog with the listing page cache on (LIST_CACHE_MB=16)
#   nocache      auditlog with the page cache off (LIST_CACHE_MB=0)
#   poll         auditlog, each request sending If-None-Match with the page's
#                ETag (answered 304), as a polling client does
# Both auditlog processes serve one SQLite database; the read rate limit is
# off (RATE_LIMIT_READS=off), as one session makes every request.
#
# Needs: go, wrk, curl, and Debian's gunicorn, python3-flask,
# python3-flask-sqlalchemy and python3-flask-login:
#   apt-get install -y wrk gunicorn python3-flask python3-flask-sqlalchemy python3-flask-login
set -euo pipefail

duration=10 conns=16 rounds=2
while getopts d:c:r: opt; do
	case $opt in
	d) duration=$OPTARG ;;
	c) conns=$OPTARG ;;
	r) rounds=$OPTARG ;;
	*) sed -n 2,20p "$0"; exit 2 ;;
	esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

for tool in wrk curl go /usr/bin/gunicorn /usr/bin/python3; do
	command -v "$tool" >/dev/null || { echo "bench-flask: $tool is missing (see the header of $0)" >&2; exit 1; }
done

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "bench-flask: $1 did not come up" >&2; exit 1; }
# login URL EMAIL PASSWORD: signs in and prints the session cookie's value.
login() {
	curl -s -o /dev/null -c "$work/jar" -X POST "$1/api/auth/login" -H 'Content-Type: application/json' \
		-d "{\"email\":\"$2\",\"password\":\"$3\"}"
	awk '$6 == "session" { print $7 }' "$work/jar"
}

echo "building auditlog…" >&2
(cd "$root" && go build -o "$work/auditlog" ./cmd/auditlog)

export SECRET_KEY=bench-flask-secret-key-0123456789abcdef RATE_LIMIT_READS=off
export DATABASE_URL="sqlite:///$work/auditlog.db"
"$work/auditlog" init-db --sample >/dev/null

port_a=$(free_port) port_n=$(free_port) port_f=$(free_port)
LIST_CACHE_MB=16 "$work/auditlog" serve --port "$port_a" --log-level error >"$work/auditlog.log" 2>&1 &
pids+=($!)
LIST_CACHE_MB=0 "$work/auditlog" serve --port "$port_n" --log-level error >"$work/nocache.log" 2>&1 &
pids+=($!)
DB_PATH="$work/flask.db" /usr/bin/python3 "$root/scripts/flask-reference/app.py" init >/dev/null
(cd "$root/scripts/flask-reference" && DB_PATH="$work/flask.db" exec /usr/bin/gunicorn -w 2 -b "127.0.0.1:$port_f" app:app) >"$work/flask.log" 2>&1 &
pids+=($!)
for p in $port_a $port_n $port_f; do wait_up "http://127.0.0.1:$p/api/audit-logs"; done

path='/api/audit-logs?per_page=50'
cookie_a=$(login "http://127.0.0.1:$port_a" owner@sample-store.com owner123)
cookie_f=$(login "http://127.0.0.1:$port_f" owner@sample-store.com owner123)
etag=$(curl -s -o /dev/null -D - -H "Cookie: session=$cookie_a" "http://127.0.0.1:$port_a$path" | awk 'tolower($1) == "etag:" { sub(/\r$/, ""); print $2 }')
for check in "$port_a $cookie_a" "$port_n $cookie_a" "$port_f $cookie_f"; do
	set -- $check
	n=$(curl -s -H "Cookie: session=$2" "http://127.0.0.1:$1$path" | grep -o '"action"' | wc -l)
	[ "$n" -ge 50 ] || { echo "bench-flask: port $1 listed $n events, want 50" >&2; exit 1; }
done

# run NAME URL HEADER...: one wrk run; prints requests per second.
run() {
	local name=$1 url=$2
	shift 2
	local args=()
	for h in "$@"; do args+=(-H "$h"); done
	local out
	out=$(wrk -t2 -c"$conns" -d"${duration}s" "${args[@]}" "$url")
	if grep -q 'Non-2xx' <<<"$out" && [ "$name" != poll ]; then
		echo "bench-flask: $name answered errors:" >&2
		echo "$out" >&2
		exit 1
	fi
	grep 'Socket errors' <<<"$out" | sed "s/^ */bench-flask: $name: /" >&2 || true
	awk '/Requests\/sec/ { printf "%.0f", $2 }' <<<"$out"
}

echo "GET $path, wrk -t2 -c$conns -d${duration}s, $rounds round(s), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %10s %10s %10s %10s %9s %9s %9s\n' round flask auditlog nocache poll 'x cache' 'x nocache' 'x poll'
for r in $(seq "$rounds"); do
	f=$(run flask "http://127.0.0.1:$port_f$path" "Cookie: session=$cookie_f")
	a=$(run auditlog "http://127.0.0.1:$port_a$path" "Cookie: session=$cookie_a")
	n=$(run nocache "http://127.0.0.1:$port_n$path" "Cookie: session=$cookie_a")
	p=$(run poll "http://127.0.0.1:$port_a$path" "Cookie: session=$cookie_a" "If-None-Match: $etag")
	awk -v r="$r" -v f="$f" -v a="$a" -v n="$n" -v p="$p" 'BEGIN {
		printf "%-6s %10d %10d %10d %10d %8.1fx %8.1fx %8.1fx\n", r, f, a, n, p, a/f, n/f, p/f }'
done
