#!/usr/bin/env bash
# demo_live: `botwatch demo` — `simulate --serve` streaming a simulated dump in
# each framing (v1.1 delimited=length, v2 NDJSON, Jetstream over WebSocket) into
# `botwatch run` — ends with one JSON line whose figures are real: posts
# ingested, accounts stored and scored, every API request answered, and scores
# that separate the simulator's bots from its humans (AUC > 0.75). Also the
# served stream itself: each framing's first unit, a 404 for other paths. The
# Jetstream run is also the regression test for the WebSocket client's RFC 6455
# accept GUID (it had a wrong one, which only a server with the same typo accepted).
set -euo pipefail
BUILD=${BUILD:-build}
BIN=$BUILD/botwatch
tmp=$(mktemp -d /tmp/bw_demo_live_XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "demo_live: $*" >&2; exit 1; }
[ -f models/default.model ] || fail "models/default.model missing (make model)"

# the stream server on its own
"$BIN" simulate --accounts 30 --seed 2 --posts-per-account 5 --serve 127.0.0.1:0 --rate 0 \
	--port-file "$tmp/port" 2>"$tmp/sim.log" &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || fail "simulate --serve did not start: $(cat "$tmp/sim.log")"
base="127.0.0.1:$(cat "$tmp/port")"
curl -s -m 2 "http://$base/1.1/statuses/sample.json" > "$tmp/v1" || true
python3 - "$tmp/v1" <<'PY' || fail "v1.1 framing"
import json, sys
b = open(sys.argv[1], "rb").read()
n, rest = b.split(b"\r\n", 1)
unit = rest[:int(n)]
assert unit.endswith(b"\r\n"), "length covers the JSON and its CRLF"
assert "id_str" in json.loads(unit)
PY
curl -s -m 2 "http://$base/2/tweets/search/stream" > "$tmp/v2" || true
head -1 "$tmp/v2" | python3 -c 'import json,sys; d=json.loads(sys.stdin.readline()); assert d["data"]["author_id"] and d["includes"]["users"][0]["id"] == d["data"]["author_id"]' ||
	fail "v2 framing"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$base/")" = 404 ] || fail "/ must be 404"
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=

# the demo in each framing
for f in v1.1 v2 jetstream; do
	"$BIN" demo --duration 12 --accounts 120 --rate 400 --framing $f --dir "$tmp/demo-$f" \
		> "$tmp/out-$f" 2>"$tmp/err-$f" || fail "$f: exit $? ($(tail -3 "$tmp/err-$f"))"
	grep -q '^demo: ' "$tmp/out-$f" || fail "$f: no progress lines"
	tail -1 "$tmp/out-$f" | python3 -c '
import json, sys
d = json.loads(sys.stdin.readline())
f = sys.argv[1]
assert d["framing"] == f and d["api_ok"] is True, d
assert d["posts"] > 1000 and d["accounts"] >= 100 and d["scored"] >= 100, d
assert d["labelled"] >= 100 and d["auc"] > 0.75, d
print(f"demo_live: {f}: {d}")' $f || fail "$f: summary $(tail -1 "$tmp/out-$f")"
	grep -q "client 1 ($f) connected" "$tmp/demo-$f/simulate.log" || fail "$f: simulate log"
done
echo "demo_live: ok"
