#!/usr/bin/env bash
# api_botometer: `botwatch serve` answers Botometer clients. A small model is
# trained with `botwatch simulate` + `botwatch train`; botometer_client.py then
# sends exactly the requests botometer-python builds (check_account's
# {mentions, timeline, user} and BotometerLite's list of tweets, from recorded
# tweepy responses in $BOTWATCH_DATA/fixtures) with the x-rapidapi-key header,
# and reads the answers as the client's callers do.
set -euo pipefail
BUILD=${BUILD:-build}
BIN=$BUILD/botwatch
DATA=${BOTWATCH_DATA:-../shared/data}
if [ ! -d "$DATA/fixtures/twitter_v1_rest" ]; then
	echo "api_botometer: skipped: no $DATA/fixtures (set BOTWATCH_DATA)"
	exit 0
fi
tmp=$(mktemp -d /tmp/bw_api_bom_XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "api_botometer: $*" >&2; exit 1; }

"$BIN" simulate --accounts 200 --bot-share 0.5 --seed 5 --out "$tmp/sim.jsonl.gz" \
	--labels "$tmp/sim.csv" 2>/dev/null
"$BIN" train --kernel linear --folds 2 --seed 1 --posts "$tmp/sim.jsonl.gz" \
	--labels "$tmp/sim.csv" --out "$tmp/test.model" >/dev/null 2>&1 || fail "train"
"$BUILD"/tests/bw_mkstore "$tmp/store" 10 >/dev/null

BOTWATCH_API_TOKEN=key123 timeout 120 "$BIN" serve --store "$tmp/store" --model "$tmp/test.model" \
	--listen 127.0.0.1:0 --port-file "$tmp/port" 2>"$tmp/log" &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || fail "no port file; log: $(cat "$tmp/log")"
url="http://127.0.0.1:$(cat "$tmp/port")"

timeout 60 python3 tests/integration/botometer_client.py "$url" key123 "$DATA" || fail "client"
# the wrong key is refused as botometer-python would see it: an HTTP error
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H 'x-rapidapi-key: nope' \
	-H 'Content-Type: application/json' -d '[]' "$url/litev1/check_accounts_in_bulk")
[ "$code" = 401 ] || fail "wrong key answered $code"
echo "api_botometer: ok"
