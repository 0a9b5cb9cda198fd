#!/usr/bin/env bash
# bench-flask.sh: GET /api/audit-logs?per_page=50 on the sample data, served
# by auditlog and by the Flask reference (scripts/flask-reference/app.py,
# gunicorn with 2 workers), measured side by side in one run with wrk, and
# the ratio printed.
#
#   scripts/bench-flask.sh [-d SECONDS] [-c CONNECTIONS] [-r ROUNDS] [-b BASE]
#
# Each round measures, one after another:
#   flask        the Flask reference, signed in with its session cookie
#   auditlog     auditlog with the listing page cache on (LIST_CACHE_MB=16)
#   nocache      auditlog with the page cache off (LIST_CACHE_MB=0)
#   poll         auditlog, each request sending If-None-Match with the page's
#                ETag (answered 304), as a polling client does
# and prints requests per second, the server's CPU milliseconds per request
# (user + system time of its processes, from /proc, over the run), and
# auditlog's ratio to Flask by each: on a busy machine the second ratio says
# more, as it does not depend on how much of the cores each server got.
# Both auditlog processes serve one SQLite database; the read rate limit is
# off (RATE_LIMIT_READS=off), as one session makes every request.
#
# -b BASE names another auditlog binary (say, the previous main built with
# go build -o /tmp/auditlog-base ./cmd/auditlog) to compare with: it serves
# the same database without the page cache, is measured in each round
# beside nocache (which of the two goes first alternates), and two more
# columns show its rate and CPU per request, and nocache's CPU per request
# as a fraction of its own.
#
# Needs: go, wrk, curl, and Debian's gunicorn, python3-flask,
# python3-flask-sqlalchemy and python3-flask-login:
#   apt-get install -y wrk gunicorn python3-flask python3-flask-sqlalchemy python3-flask-login
set -euo pipefail

duration=10 conns=16 rounds=2 base=
while getopts d:c:r:b: opt; do
	case $opt in
	d) duration=$OPTARG ;;
	c) conns=$OPTARG ;;
	r) rounds=$OPTARG ;;
	b) base=$(realpath "$OPTARG") ;;
	*) sed -n 2,28p "$0"; exit 2 ;;
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
ports="$port_a $port_n $port_f"
if [ -n "$base" ]; then
	port_b=$(free_port)
	LIST_CACHE_MB=0 "$base" serve --port "$port_b" --log-level error >"$work/base.log" 2>&1 &
	pids+=($!)
	ports="$ports $port_b"
fi
for p in $ports; do wait_up "http://127.0.0.1:$p/api/audit-logs"; done

path='/api/audit-logs?per_page=50'
cookie_a=$(login "http://127.0.0.1:$port_a" owner@sample-store.com owner123)
cookie_f=$(login "http://127.0.0.1:$port_f" owner@sample-store.com owner123)
etag=$(curl -s -o /dev/null -D - -H "Cookie: session=$cookie_a" "http://127.0.0.1:$port_a$path" | awk 'tolower($1) == "etag:" { sub(/\r$/, ""); print $2 }')
checks=("$port_a $cookie_a" "$port_n $cookie_a" "$port_f $cookie_f")
[ -z "$base" ] || checks+=("$port_b $cookie_a")
for check in "${checks[@]}"; do
	set -- $check
	n=$(curl -s -H "Cookie: session=$2" "http://127.0.0.1:$1$path" | grep -o '"action"' | wc -l)
	[ "$n" -ge 50 ] || { echo "bench-flask: port $1 listed $n events, want 50" >&2; exit 1; }
done

pid_a=${pids[0]} pid_n=${pids[1]} pid_f=${pids[2]} pid_b=${pids[3]:-}
# ticks PID...: CPU time (user + system, in clock ticks) the processes and
# their children have used so far.
ticks() {
	local t=0 p
	for p in "$@" $(for q in "$@"; do pgrep -P "$q" || true; done); do
		[ -r "/proc/$p/stat" ] || continue
		t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{ print $12 + $13 }')))
	done
	echo "$t"
}
hz=$(getconf CLK_TCK)

# run NAME URL PID HEADER...: one wrk run against the server PID; prints
# requests per second and the server's CPU milliseconds per request.
run() {
	local name=$1 url=$2 pid=$3
	shift 3
	local args=()
	for h in "$@"; do args+=(-H "$h"); done
	local out t0 t1
	t0=$(ticks "$pid")
	out=$(wrk -t2 -c"$conns" -d"${duration}s" "${args[@]}" "$url")
	t1=$(ticks "$pid")
	if grep -q 'Non-2xx' <<<"$out" && [ "$name" != poll ]; then
		echo "bench-flask: $name answered errors:" >&2
		echo "$out" >&2
		exit 1
	fi
	grep 'Socket errors' <<<"$out" | sed "s/^ */bench-flask: $name: /" >&2 || true
	awk -v ms="$(( (t1 - t0) * 1000 / hz ))" '/ requests in / { n = $1 } /Requests\/sec/ { printf "%.0f %.3f\n", $2, ms / n }' <<<"$out"
}

echo "GET $path, wrk -t2 -c$conns -d${duration}s, $rounds round(s), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "requests/s (and the server's CPU ms per request), and auditlog's ratio to Flask in the same round: by requests/s, and by CPU per request"
[ -z "$base" ] || echo "base: $base without the page cache; 'n/base' is nocache's CPU per request over base's"
printf '%-5s %16s %16s %16s %16s | %7s %7s %7s | %7s %7s %7s' round flask auditlog nocache poll 'x cache' 'x nocch' 'x poll' 'cpu' 'cpu' 'cpu'
[ -z "$base" ] && echo || printf ' | %16s %7s %7s\n' base 'x cpu' 'n/base'
for r in $(seq "$rounds"); do
	read -r f fc < <(run flask "http://127.0.0.1:$port_f$path" "$pid_f" "Cookie: session=$cookie_f")
	read -r a ac < <(run auditlog "http://127.0.0.1:$port_a$path" "$pid_a" "Cookie: session=$cookie_a")
	b=0 bc=0
	if [ -n "$base" ] && [ $((r % 2)) = 0 ]; then
		read -r b bc < <(run base "http://127.0.0.1:$port_b$path" "$pid_b" "Cookie: session=$cookie_a")
	fi
	read -r n nc < <(run nocache "http://127.0.0.1:$port_n$path" "$pid_n" "Cookie: session=$cookie_a")
	if [ -n "$base" ] && [ $((r % 2)) = 1 ]; then
		read -r b bc < <(run base "http://127.0.0.1:$port_b$path" "$pid_b" "Cookie: session=$cookie_a")
	fi
	read -r p pc < <(run poll "http://127.0.0.1:$port_a$path" "$pid_a" "Cookie: session=$cookie_a" "If-None-Match: $etag")
	awk -v r="$r" -v f="$f" -v a="$a" -v n="$n" -v p="$p" -v fc="$fc" -v ac="$ac" -v nc="$nc" -v pc="$pc" -v b="$b" -v bc="$bc" -v base="$base" 'BEGIN {
		printf "%-5s %7d (%5.2f) %7d (%5.2f) %7d (%5.2f) %7d (%5.2f) | %6.1fx %6.1fx %6.1fx | %6.1fx %6.1fx %6.1fx",
			r, f, fc, a, ac, n, nc, p, pc, a/f, n/f, p/f, (ac > 0 ? fc/ac : 0), (nc > 0 ? fc/nc : 0), (pc > 0 ? fc/pc : 0)
		if (base != "") printf " | %7d (%5.2f) %6.1fx %7.2f", b, bc, (bc > 0 ? fc/bc : 0), (bc > 0 ? nc/bc : 0)
		printf "\n" }'
done
