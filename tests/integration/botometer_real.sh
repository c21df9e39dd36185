#!/usr/bin/env bash
# botometer_real: the real botometer-python package (from the package index,
# pinned in tools/requirements-test.txt, with the tweepy 3.x it needs, installed
# by tools/pyvenv.sh into build/pyvenv) runs unchanged against `botwatch serve`:
# check_account with full_user_object False and True, check_accounts_in, and
# BotometerLite from tweets, user ids and screen names. Its Twitter calls are
# answered over TLS by a loopback server replaying the recorded REST fixtures
# (botometer_real.py says how). Every answer must equal `botwatch replay` of the
# same inputs. No pip, no test: this fails (it never skips) when the packages
# cannot be installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/botwatch
DATA=${BOTWATCH_DATA:-../shared/data}
MODEL=models/default.model
fail() { echo "botometer_real: $*" >&2; exit 1; }
[ -d "$DATA/fixtures/twitter_v1_rest" ] || fail "no $DATA/fixtures/twitter_v1_rest (set BOTWATCH_DATA)"
PY=$(tools/pyvenv.sh) || fail "tools/pyvenv.sh could not install botometer-python (see above)"

tmp=$(mktemp -d /tmp/bw_bom_real_XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# a throw-away CA and a certificate for the Twitter API hosts, signed by it
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=botwatch test CA" \
	-keyout "$tmp/ca.key" -out "$tmp/ca.pem" 2>/dev/null || fail "openssl: CA"
openssl req -newkey rsa:2048 -nodes -subj "/CN=api.twitter.com" \
	-keyout "$tmp/tw.key" -out "$tmp/tw.csr" 2>/dev/null || fail "openssl: request"
printf 'subjectAltName=DNS:api.twitter.com,DNS:search.twitter.com\nbasicConstraints=CA:FALSE\n' >"$tmp/ext"
openssl x509 -req -in "$tmp/tw.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial \
	-days 2 -extfile "$tmp/ext" -out "$tmp/tw.pem" 2>/dev/null || fail "openssl: sign"

"$BUILD"/tests/bw_mkstore "$tmp/store" 10 >/dev/null
BOTWATCH_API_TOKEN=key123 timeout 300 "$BIN" serve --store "$tmp/store" --model "$MODEL" \
	--listen 127.0.0.1:0 --port-file "$tmp/port" 2>"$tmp/log" &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || fail "no port file; log: $(cat "$tmp/log")"

timeout 240 "$PY" tests/integration/botometer_real.py "http://127.0.0.1:$(cat "$tmp/port")" key123 \
	"$DATA" "$BIN" "$MODEL" "$tmp" "$tmp/tw.pem" "$tmp/tw.key" "$tmp/ca.pem" || fail "client"
echo "botometer_real: ok"
