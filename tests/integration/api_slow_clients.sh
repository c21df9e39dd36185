#!/usr/bin/env bash
# api_slow_clients: `botwatch serve` with its default limits keeps /healthz
# answering (each probe within 2 s, none failing) while 10,000 idle connections
# and 1,100 slowloris clients (one header byte a second, back once a second
# when dropped) hold on to it for 15 s — the guard evicts the longest waiters
# at api.connection_limit and enforces api.request_timeout_s. Regression test
# for issue 20 (api.timeout_s alone let them keep /healthz unreachable).
set -euo pipefail
BUILD=${BUILD:-build}
BIN=$BUILD/botwatch
tmp=$(mktemp -d /tmp/bw_api_slow_XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "api_slow_clients: $*" >&2; exit 1; }

"$BUILD"/tests/bw_mkstore "$tmp/store" 100 5000 0 16 >/dev/null
"$BIN" serve --store "$tmp/store" --listen 127.0.0.1:0 --set store.map_size_mb=16 \
	--port-file "$tmp/port" 2>"$tmp/log" &
pid=$!
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || fail "no port file; log: $(cat "$tmp/log")"
port=$(cat "$tmp/port")

python3 tests/integration/slow_clients.py "$port" --idle 10000 --slow 1100 --seconds 15 \
	--bound 2 || fail "/healthz did not keep answering under slow and idle clients"
m=$(curl -s -m 10 "http://127.0.0.1:$port/metrics")
grep -Eq '^botwatch_api_connections_dropped_total\{reason="evicted"\} [1-9]' <<<"$m" ||
	fail "no eviction counted: $(grep dropped <<<"$m")"
grep -Eq '^botwatch_api_connections_dropped_total\{reason="deadline"\} [1-9]' <<<"$m" ||
	fail "no deadline drop counted: $(grep dropped <<<"$m")"
kill -0 "$pid" || fail "server died"
echo "api_slow_clients: ok"
