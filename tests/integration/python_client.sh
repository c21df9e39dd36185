#!/usr/bin/env bash
# python_client: the Python client in clients/python, installed with pip (tools/pyvenv.sh
# into build/pyvenv, pandas included), against a live `botwatch serve` over a store
# that `botwatch replay` filled from data/demo with the default model:
# check_account(s), the paged export, the DataFrame, explain, the report and errors.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/botwatch
fail() { echo "python_client: $*" >&2; exit 1; }
PY=$(tools/pyvenv.sh) || fail "tools/pyvenv.sh could not install the client (see above)"

tmp=$(mktemp -d /tmp/bw_pyclient_XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

"$BIN" replay --model models/default.model --store "$tmp/store" --out "$tmp/scores.jsonl" \
	data/demo/posts.ndjson.gz 2>"$tmp/replay.log" || fail "replay: $(cat "$tmp/replay.log")"
BOTWATCH_API_TOKEN=tok timeout 120 "$BIN" serve --store "$tmp/store" --model models/default.model \
	--listen 127.0.0.1:0 --port-file "$tmp/port" 2>"$tmp/log" &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || fail "no port file; log: $(cat "$tmp/log")"
# run from the scratch directory: `import botwatch` must find the installed package
(cd "$tmp" && timeout 120 "$PY" "$OLDPWD/tests/integration/python_client.py" \
	"http://127.0.0.1:$(cat port)" tok scores.jsonl) || fail "client"
echo "python_client: ok"
