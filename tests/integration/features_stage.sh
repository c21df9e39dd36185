#!/usr/bin/env bash
# The Kafka features stage end to end on the embedded broker: ingest the
# 4-account sample, run `botwatch features` until idle, export the LMDB state
# and compare it with `botwatch replay` of the same file (same vectors);
# re-ingest the same posts and restart the stage: it resumes from the offsets
# stored in LMDB and the duplicates change nothing. Reads ../shared/data in
# place (or $BOTWATCH_DATA).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/botwatch
DATA=${BOTWATCH_DATA:-../shared/data}
S=$DATA/dev/tweets_partial_4accounts.ndjson.gz
TMP=$(mktemp -d /tmp/bw_features_stage.XXXXXX)
BROKER= FEAT=
cleanup() {
	[ -n "$FEAT" ] && kill "$FEAT" 2>/dev/null && wait "$FEAT" 2>/dev/null
	[ -n "$BROKER" ] && kill "$BROKER" 2>/dev/null && wait "$BROKER" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

fail() { echo "features_stage: $*" >&2; for f in "$TMP"/*.log; do echo "--- $f"; tail -5 "$f"; done >&2; exit 1; }

"$BIN" broker --partitions 2 > "$TMP/addr" 2> "$TMP/broker.log" &
BROKER=$!
for _ in $(seq 100); do [ -s "$TMP/addr" ] && break; sleep 0.1; done
B=$(head -1 "$TMP/addr")
[ -n "$B" ] || fail "broker did not start"
# short session timeout: the mock coordinator waits for a departed member that long
STATE=(--set "features.state_dir=$TMP/state" --set features.batch_ms=50
	--set kafka.session.timeout.ms=6000 --set kafka.heartbeat.interval.ms=500)

run_once() { # log name
	timeout -k 5 90 "$BIN" features --brokers "$B" "${STATE[@]}" --idle-exit-ms 2500 2> "$TMP/$1.log" &
	FEAT=$!
	timeout 60 "$BIN" ingest --source "$S" --brokers "$B" 2> "$TMP/ingest-$1.log" || fail "ingest exit $?"
	wait $FEAT || fail "features exit $?"
	FEAT=
}

# 1. ingest + stage; the export equals replay
run_once first
# one worker owns every partition: observations are folded at once, not forwarded
grep -q '"features: 7115 messages, 7115 posts, 1287 observations, 0 forwarded, 0 undecodable, 0 late' \
	"$TMP/first.log" || fail "unexpected counts: $(tail -1 "$TMP/first.log")"
# no warnings but librdkafka's note that the test's consumer settings do not apply to the producer
! grep '"level":"warn"' "$TMP/first.log" | grep -qv CONFWARN || fail "warnings: $(grep -m3 warn "$TMP/first.log")"
"$BIN" features --export "${STATE[@]}" > "$TMP/export.ndjson" 2>/dev/null || fail "export exit $?"
"$BIN" replay --features-out "$TMP/replay.ndjson" "$S" 2>/dev/null || fail "replay exit $?"
python3 - "$TMP/export.ndjson" "$TMP/replay.ndjson" <<'PY' || fail "Kafka stage and replay disagree"
import json, sys
a = {d["user_id"]: d for d in map(json.loads, open(sys.argv[1]))}
b = {d["user_id"]: d for d in map(json.loads, open(sys.argv[2]))}
assert a.keys() == b.keys() and len(a) == 4, (a.keys(), b.keys())
for k in a:
    assert a[k]["posts_seen"] == b[k]["posts_seen"], k
    for n, v in a[k]["features"].items():
        w = b[k]["features"][n]
        assert abs(v - w) <= 1e-9 * (1 + abs(w)), (k, n, v, w)
PY

# 2. the same posts again, a restarted stage: resumes from LMDB, duplicates change nothing
run_once second
grep -q '"features: 7115 messages, 7115 posts' "$TMP/second.log" \
	|| fail "restart did not resume from the stored offsets: $(tail -1 "$TMP/second.log")"
"$BIN" features --export "${STATE[@]}" > "$TMP/export2.ndjson" 2>/dev/null || fail "export exit $?"
cmp -s "$TMP/export.ndjson" "$TMP/export2.ndjson" || fail "duplicates changed the state"

# 3. a crash mid-batch loses nothing and counts nothing twice: a fresh group and
#    state, the stage killed (exit 3) after 3000 messages without committing its
#    open batch, then restarted to the end; the result equals replay again. A
#    configured partitioner makes the stage forward every observation through
#    the posts topic, as a worker does for accounts of another worker's partitions.
STATE=(--set "features.state_dir=$TMP/state2" --set features.batch_ms=50
	--set features.batch=400 --set features.group_id=crashtest
	--set kafka.partitioner=consistent_random
	--set kafka.session.timeout.ms=6000 --set kafka.heartbeat.interval.ms=500)
set +e
timeout -k 5 60 "$BIN" features --brokers "$B" "${STATE[@]}" --crash-after 3000 2> "$TMP/crash.log"
rc=$?
set -e
[ $rc -eq 3 ] || fail "the simulated crash exited $rc"
timeout -k 5 90 "$BIN" features --brokers "$B" "${STATE[@]}" --idle-exit-ms 2500 2> "$TMP/resume.log" \
	|| fail "features after the crash exit $?"
grep -q '"features: [0-9]* messages, [0-9]* posts, [0-9]* observations, [1-9][0-9]* forwarded' \
	"$TMP/resume.log" "$TMP/crash.log" || fail "no observation was forwarded"
"$BIN" features --export "${STATE[@]}" > "$TMP/export3.ndjson" 2>/dev/null || fail "export exit $?"
cmp -s "$TMP/export.ndjson" "$TMP/export3.ndjson" || \
	python3 - "$TMP/export3.ndjson" "$TMP/replay.ndjson" <<'PY' || fail "state after a crash differs from replay"
import json, sys
a = {d["user_id"]: d for d in map(json.loads, open(sys.argv[1]))}
b = {d["user_id"]: d for d in map(json.loads, open(sys.argv[2]))}
assert a.keys() == b.keys(), (a.keys(), b.keys())
for k in a:
    assert a[k]["posts_seen"] == b[k]["posts_seen"], (k, a[k]["posts_seen"], b[k]["posts_seen"])
    for n, v in a[k]["features"].items():
        w = b[k]["features"][n]
        assert abs(v - w) <= 1e-9 * (1 + abs(w)), (k, n, v, w)
PY

# 4. no brokers configured: a clear error
set +e
"$BIN" features "${STATE[@]}" 2> "$TMP/err.txt"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "kafka.bootstrap.servers is empty" "$TMP/err.txt" || fail "no-broker error ($rc)"
echo "features_stage: ok"
