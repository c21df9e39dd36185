#!/usr/bin/env bash
# api_serve: `botwatch serve` as a process — start on a free port over a
# generated store, answer lookups with the token from the environment, export,
# stop cleanly on SIGTERM; and its usage / startup errors and exit codes.
set -euo pipefail
BUILD=${BUILD:-build}
BIN=$BUILD/botwatch
tmp=$(mktemp -d /tmp/bw_api_serve_XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "api_serve: $*" >&2; exit 1; }

# a 16 MiB map; a second writer grows it below while serve runs
"$BUILD"/tests/bw_mkstore "$tmp/store" 100 5000 0 16 >/dev/null

# usage and startup errors
grep -q "usage: botwatch serve" <<<"$("$BIN" serve --help)" || fail "--help"
set +e
"$BIN" serve --bogus 2>/dev/null; [ $? -eq 2 ] || fail "unknown option must exit 2"
"$BIN" serve --store "$tmp/none" --listen 127.0.0.1:0 2>"$tmp/err"; rc=$?
set -e
[ $rc -eq 1 ] || fail "missing store must exit 1 (got $rc)"
grep -q "no such store directory" "$tmp/err" || fail "missing store message: $(cat "$tmp/err")"
set +e
"$BIN" serve --store "$tmp/store" --listen nonsense 2>"$tmp/err"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "expected HOST:PORT" "$tmp/err" || fail "bad listen: rc $rc $(cat "$tmp/err")"
set +e
"$BIN" serve --store "$tmp/store" --listen 127.0.0.1:99999 2>"$tmp/err"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "port '99999' is not a number from 0 to 65535" "$tmp/err" ||
	fail "port out of range: rc $rc $(cat "$tmp/err")"

# serve
BOTWATCH_API_TOKEN=sekrit "$BIN" serve --store "$tmp/store" --listen 127.0.0.1:0 --set store.map_size_mb=16 \
	--port-file "$tmp/port" 2>"$tmp/log" &
pid=$!
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || fail "no port file; log: $(cat "$tmp/log")"
url="http://127.0.0.1:$(cat "$tmp/port")"
c() { curl -s -m 10 "$@"; }

[ "$(c "$url/healthz")" = '{"status":"ok","accounts":100}' ] || fail "healthz"
[ "$(c -o /dev/null -w '%{http_code}' "$url/v1/accounts/5003")" = 401 ] || fail "token not enforced"
auth=(-H "Authorization: Bearer sekrit")
grep -q '"user_id":"5003","screen_name":"user3"' <<<"$(c "${auth[@]}" "$url/v1/accounts/5003")" ||
	fail "lookup"
[ "$(c "${auth[@]}" -o /dev/null -w '%{http_code}' "$url/v1/accounts/4999")" = 404 ] || fail "404"
[ "$(c "${auth[@]}" "$url/v1/accounts" | wc -l)" = 100 ] || fail "ndjson export count"
[ "$(c "${auth[@]}" "$url/v1/accounts?format=csv&status=insufficient_data" | wc -l)" = 11 ] ||
	fail "csv export: header + 10 insufficient_data rows"
c "${auth[@]}" -X POST "$url/v1/accounts:lookup" -H "Content-Type: application/json" -d '{"ids":["5001","1"],"screen_names":["USER2"]}' |
	python3 -c 'import json,sys; r=json.load(sys.stdin)["results"]; assert [x.get("user_id", x.get("status")) for x in r] == ["5001","not_found","5002"], r' ||
	fail "batch lookup"
# a request is counted when libmicrohttpd reports it complete, which may be
# just after the client has its answer: poll briefly
for _ in $(seq 20); do
	m=$(c "${auth[@]}" "$url/metrics")
	grep -q '^botwatch_api_requests_total{route="/v1/accounts/{id}",status="404"} 1$' <<<"$m" && break
	sleep 0.1
done
grep -q '^botwatch_api_requests_total{route="/v1/accounts/{id}",status="404"} 1$' <<<"$m" ||
	fail "metrics: $(grep requests_total <<<"$m")"

# another process writes 40,000 more accounts with a 128 MiB map (past the
# 16 MiB serve mapped): the running server must adopt the grown map
"$BUILD"/tests/bw_mkstore "$tmp/store" 40000 100000 0 128 >/dev/null
grep -q '"user_id":"139999"' <<<"$(c "${auth[@]}" "$url/v1/accounts/139999")" ||
	fail "record written after the map grew is not served"
[ "$(c "$url/healthz")" = '{"status":"ok","accounts":40100}' ] || fail "healthz after growth"

kill -TERM "$pid"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "serve did not stop on SIGTERM"
set +e; wait "$pid"; rc=$?; set -e; pid=
[ $rc -eq 0 ] || fail "serve exit status $rc"
grep -q '"msg":"signal 15: stopping"' "$tmp/log" || fail "no stop log line"
echo "api_serve: ok"
