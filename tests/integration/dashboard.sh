#!/usr/bin/env bash
# dashboard: the page at / and the routes it reads, in a headless Chromium.
#   - GET /v1/report answers what `botwatch report` prints (JSON and CSV) and
#     400 with a JSON error on a bad parameter; /v1/summary counts every record;
#   - / is served without the token (it holds no data), the data routes are not;
#   - Chromium (--headless --no-sandbox --disable-gpu --disable-background-networking)
#     renders /?q=ID: the DOM holds that account's score exactly as stored, the
#     report table and the drift panel are filled; a screenshot is kept as
#     $BUILD/artifacts/dashboard.png.
set -euo pipefail
BUILD=${BUILD:-build}
BIN=$BUILD/botwatch
tmp=$(mktemp -d /tmp/bw_dashboard_XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "dashboard: $*" >&2; exit 1; }
command -v chromium >/dev/null || fail "chromium is not installed (tools/install-deps.sh)"
[ -f models/default.model ] || fail "models/default.model missing (make model)"

"$BIN" simulate --accounts 300 --bot-share 0.3 --seed 11 --posts-per-account 30 \
	--out "$tmp/sim.jsonl.gz" --labels "$tmp/labels.csv" 2>/dev/null
"$BIN" replay --store "$tmp/store" --out "$tmp/scores.ndjson" --set store.map_size_mb=64 \
	"$tmp/sim.jsonl.gz" 2>/dev/null

serve() { # port file, extra args...
	local pf=$1; shift
	"$BIN" serve --store "$tmp/store" --listen 127.0.0.1:0 --port-file "$pf" \
		--set log.level=warn "$@" &
	pids+=($!)
	for _ in $(seq 100); do [ -s "$pf" ] && break; sleep 0.1; done
	[ -s "$pf" ] || fail "serve did not start"
}
serve "$tmp/port"
url="http://127.0.0.1:$(cat "$tmp/port")"

# the report over HTTP equals the command's
"$BIN" report --store "$tmp/store" --by domain --window 1d --top 5 --format json > "$tmp/cli.json"
curl -sf "$url/v1/report?by=domain&window=1d&top=5" > "$tmp/api.json" || fail "GET /v1/report"
"$BIN" report --store "$tmp/store" --window all --top 0 > "$tmp/cli.csv"
curl -sf "$url/v1/report?window=all&top=0&format=csv" > "$tmp/api.csv" || fail "GET /v1/report csv"
cmp -s "$tmp/cli.csv" "$tmp/api.csv" || fail "CSV differs: $(diff "$tmp/cli.csv" "$tmp/api.csv" | head -3)"
for q in "by=rule" "window=5" "threshold=x" "top=-2" "format=xml" "color=red"; do
	code=$(curl -s -o "$tmp/err.json" -w '%{http_code}' "$url/v1/report?$q")
	[ "$code" = 400 ] || fail "?$q: HTTP $code"
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["status"] == "error" and d["error"]' \
		"$tmp/err.json" || fail "?$q: not a JSON error"
done
curl -sf "$url/v1/summary?top=5" > "$tmp/summary.json" || fail "GET /v1/summary"
python3 - "$tmp" <<'EOF' || fail "report/summary checks"
import json, sys
tmp = sys.argv[1]
cli, api = json.load(open(f"{tmp}/cli.json")), json.load(open(f"{tmp}/api.json"))
assert cli == api and cli["rows"], "JSON report differs"
recs = [json.loads(l) for l in open(f"{tmp}/scores.ndjson")]
s = json.load(open(f"{tmp}/summary.json"))
assert s["accounts"] == len(recs), (s["accounts"], len(recs))
for st in ("ok", "profile_only", "posts_only", "insufficient_data"):
    n = sum(r["status"] == st for r in recs)
    assert s["by_status"][st] == n, st
    assert sum(s["histogram"]["counts"][st]) == sum(r["status"] == st and r["score"] is not None for r in recs)
best = sorted((r for r in recs if r["score"] is not None), key=lambda r: -r["score"])[0]["score"]
assert len(s["top"]) == 5 and s["top"][0]["score"] == best
EOF

# with a token, / still opens, the data does not
serve "$tmp/port2" --set api.token=s3cret
url2="http://127.0.0.1:$(cat "$tmp/port2")"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url2/")" = 200 ] || fail "/ with a token set"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url2/v1/report")" = 401 ] || fail "/v1/report without the token"
curl -sI "$url/" | grep -qi '^content-type: text/html' || fail "/ is not text/html"

# the page in a headless browser
id=$(python3 -c 'import json,sys
recs=[json.loads(l) for l in open(sys.argv[1])]
print(min((r for r in recs if r["score"] is not None and r["status"]=="ok"), key=lambda r: abs(r["score"] - 0.5))["user_id"])' "$tmp/scores.ndjson")
chrome() {
	timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
		--user-data-dir="$tmp/chrome" --virtual-time-budget=8000 --window-size=1280,1500 "$@" \
		2>>"$tmp/chrome.log"
}
chrome --dump-dom "$url/?q=$id" > "$tmp/dom.html" || fail "chromium --dump-dom: $(tail -3 "$tmp/chrome.log")"
python3 - "$tmp" "$id" <<'EOF' || fail "DOM checks ($tmp/dom.html)"
import json, re, sys
tmp, ident = sys.argv[1], sys.argv[2]
dom = open(f"{tmp}/dom.html").read()
rec = next(json.loads(l) for l in open(f"{tmp}/scores.ndjson") if json.loads(l)["user_id"] == ident)
m = re.search(r'<span id="lookup-score" data-user-id="(\d+)">([0-9.e-]+)</span>', dom)
assert m, "no rendered lookup score"
assert m.group(1) == ident and float(m.group(2)) == rec["score"], (m.groups(), rec["score"])
assert re.search(r'<table id="report">.*?<tbody><tr><td>', dom, re.S), "report table empty"
assert "<svg" in dom.split('id="report-chart"', 1)[1][:200], "no report chart"
drift = re.search(r'<div id="drift"[^>]*>(.*?)</div>', dom, re.S)
assert drift and "checking" not in drift.group(1), "drift panel not filled"
assert re.search(r'<table id="top">.*?<tbody><tr>', dom, re.S), "top accounts empty"
print(f"dashboard: /?q={ident} shows score {m.group(2)}")
EOF
mkdir -p "$BUILD/artifacts"
chrome --screenshot="$BUILD/artifacts/dashboard.png" "$url/?q=$id" >/dev/null ||
	fail "chromium --screenshot: $(tail -3 "$tmp/chrome.log")"
[ "$(stat -c %s "$BUILD/artifacts/dashboard.png")" -gt 20000 ] || fail "screenshot too small"
echo "dashboard: ok (screenshot $BUILD/artifacts/dashboard.png)"
