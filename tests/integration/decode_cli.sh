#!/usr/bin/env bash
# `botwatch decode` end to end: NDJSON out, DLQ file, summary, exit codes,
# gzip on stdin, --probe-time, config caps. Reads ../shared/data in place
# (or $BOTWATCH_DATA).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/botwatch
DATA=${BOTWATCH_DATA:-../shared/data}
TMP=$(mktemp -d /tmp/bw_decode_cli.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

fail() { echo "decode_cli: $*" >&2; exit 1; }

# 1. a real v1.1 stream file: 72 statuses + 8 embedded quoted statuses
timeout 30 "$BIN" decode "$DATA/fixtures/twitter_v1_stream/python-twitter_streaming_lines.ndjson" \
	> "$TMP/out.ndjson" 2> "$TMP/err.txt" || fail "exit $? on a good file"
[ "$(wc -l < "$TMP/out.ndjson")" -eq 80 ] || fail "expected 80 posts, got $(wc -l < "$TMP/out.ndjson")"
grep -q '^decode: 72 units, 353012 bytes, 80 posts (8 embedded' "$TMP/err.txt" || fail "summary: $(cat "$TMP/err.txt")"
python3 - "$TMP/out.ndjson" <<'PY' || fail "output is not the documented NDJSON"
import json, sys
for line in open(sys.argv[1]):
    p = json.loads(line)
    assert p["v"] == 1 and p["platform"] == "twitter" and p["author"]["id"], p
    assert p["kind"] in ("original", "retweet", "reply", "quote"), p["kind"]
PY

# 2. bad lines: exit 0, DLQ records with reasons and line numbers, good lines kept
printf '%s\n' '{"id_str":"1","text":"a","user":{"id_str":"2"}}' '{"broken' '{"foo":1}' \
	'{"errors":[{"title":"operational-disconnect"}]}' '{"id_str":"3","text":"b","user":{"id_str":"2"}}' \
	> "$TMP/mixed.ndjson"
timeout 30 "$BIN" decode --dlq "$TMP/dlq.ndjson" "$TMP/mixed.ndjson" > "$TMP/out.ndjson" 2> "$TMP/err.txt" \
	|| fail "exit $? with dead-lettered lines (want 0)"
[ "$(wc -l < "$TMP/out.ndjson")" -eq 2 ] || fail "good lines lost"
python3 - "$TMP/dlq.ndjson" <<'PY' || fail "DLQ file: $(cat "$TMP/dlq.ndjson")"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert [(r["reason"], r["line"]) for r in recs] == [("invalid_json", 2), ("unknown_shape", 3), ("stream_error", 4)], recs
assert all(set(r) == {"reason", "detail", "source", "line", "excerpt"} for r in recs)
PY
grep -q 'invalid_json=1 .*unknown_shape=1 stream_error=1' "$TMP/err.txt" || fail "summary lacks DLQ counts"

# 3. gzip on stdin, profile-only records with --probe-time
python3 -c "import gzip,sys,itertools; sys.stdout.buffer.write(gzip.compress(b\"\".join(itertools.islice(gzip.open(sys.argv[1]), 100))))" "$DATA/dev/posts.ndjson.gz" > "$TMP/profiles.gz"
timeout 30 "$BIN" decode --probe-time 2017-01-01T00:00:00Z - < "$TMP/profiles.gz" > "$TMP/out.ndjson" 2> "$TMP/err.txt" \
	|| fail "exit $? on gzip stdin"
[ "$(grep -c '"kind":"profile","created_at":"2017-01-01T00:00:00Z"' "$TMP/out.ndjson")" -eq 100 ] \
	|| fail "profile records without the given probe time"

# 4. caps from the config: a 2000-byte line over ingest.max_line_bytes=1024
python3 -c 'print("{\"id_str\":\"1\",\"text\":\"" + "x" * 2000 + "\",\"user\":{\"id_str\":\"2\"}}")' > "$TMP/long.ndjson"
timeout 30 "$BIN" decode --set ingest.max_line_bytes=1024 "$TMP/long.ndjson" > /dev/null 2> "$TMP/err.txt" \
	|| fail "exit $? on a long line"
grep -q 'too_large=1' "$TMP/err.txt" || fail "long line not dead-lettered: $(cat "$TMP/err.txt")"

# 5. --format (ingest.format): the v1.1 fixture as v1.1 is unchanged; as v2 every line is
#    dead-lettered as wrong_format naming the format expected; a bad name is a usage error
V1=$DATA/fixtures/twitter_v1_stream/python-twitter_streaming_lines.ndjson
timeout 30 "$BIN" decode --format v1.1 "$V1" > "$TMP/out.ndjson" 2> "$TMP/err.txt" || fail "--format v1.1: exit $?"
[ "$(wc -l < "$TMP/out.ndjson")" -eq 80 ] || fail "--format v1.1 changed the posts"
timeout 30 "$BIN" decode --set ingest.format=v2 --dlq "$TMP/dlq.ndjson" "$V1" > "$TMP/out.ndjson" 2> "$TMP/err.txt" \
	|| fail "ingest.format=v2: exit $?"
[ -s "$TMP/out.ndjson" ] && fail "ingest.format=v2 decoded v1.1 posts"
grep -q 'wrong_format=72' "$TMP/err.txt" || fail "summary: $(cat "$TMP/err.txt")"
python3 - "$TMP/dlq.ndjson" <<'PY' || fail "wrong_format records: $(head -c 400 "$TMP/dlq.ndjson")"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert [r["line"] for r in recs] == list(range(1, 73)), [r["line"] for r in recs]
assert all(r["reason"] == "wrong_format" and r["detail"].startswith("ingest.format is v2: expected a v2 stream line")
           for r in recs), recs[0]
PY

# 6. a saved delimited=length capture: the length lines are framing, not dead letters
python3 - "$V1" > "$TMP/capture.txt" <<'PY'
import sys
for line in open(sys.argv[1], "rb"):
    body = line.rstrip(b"\n") + b"\r\n"
    sys.stdout.buffer.write(b"%d\r\n" % len(body) + body)
PY
timeout 30 "$BIN" decode --dlq "$TMP/dlq.ndjson" "$TMP/capture.txt" > "$TMP/out.ndjson" 2> "$TMP/err.txt" || fail "capture: exit $?"
[ "$(wc -l < "$TMP/out.ndjson")" -eq 80 ] || fail "capture: $(wc -l < "$TMP/out.ndjson") posts, want 80"
[ -s "$TMP/dlq.ndjson" ] && fail "capture: length lines dead-lettered: $(head -2 "$TMP/dlq.ndjson")"
grep -q 'length lines (delimited=length): 72;' "$TMP/err.txt" || fail "capture summary: $(cat "$TMP/err.txt")"

# 7. exit codes: unreadable file 1 (with a one-line message), usage errors 2
set +e
timeout 30 "$BIN" decode /nonexistent/file.ndjson > /dev/null 2> "$TMP/err.txt"; rc=$?
[ $rc -eq 1 ] || fail "unreadable file: exit $rc, want 1"
grep -q '^botwatch decode: /nonexistent/file.ndjson: No such file or directory$' "$TMP/err.txt" || fail "message: $(cat "$TMP/err.txt")"
timeout 30 "$BIN" decode > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "no files: exit $rc, want 2"
timeout 30 "$BIN" decode --probe-time yesterday x > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "bad --probe-time: exit $rc, want 2"
timeout 30 "$BIN" decode --format v3 x > /dev/null 2> "$TMP/err.txt"; rc=$?
[ $rc -eq 2 ] || fail "bad --format: exit $rc, want 2"
grep -q "ingest.format: 'v3' is not one of auto|v1.1|v2|twarc2|sse|ndjson" "$TMP/err.txt" || fail "bad --format: $(cat "$TMP/err.txt")"
timeout 30 "$BIN" decode --help > /dev/null 2>&1; rc=$?
[ $rc -eq 0 ] || fail "--help: exit $rc"
set -e
echo "decode_cli: ok"
