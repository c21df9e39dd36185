#!/usr/bin/env bash
# The features stage's downstream watch on the embedded broker (5 MiB per
# partition): a watched group that never reads loses feature updates once the
# broker prunes them, and the stage stops with a one-line error naming the
# group, topic and partition (exit 1) instead of running on. Generated input,
# one partition, about 6 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/botwatch
TMP=$(mktemp -d /tmp/bw_features_bp.XXXXXX)
BROKER=
cleanup() {
	[ -n "$BROKER" ] && kill "$BROKER" 2>/dev/null && wait "$BROKER" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

fail() { echo "features_backpressure: $*" >&2; for f in "$TMP"/*.log; do echo "--- $f"; tail -5 "$f"; done >&2; exit 1; }

"$BUILD"/tests/gen_v1_dump 4000 > "$TMP/dump.ndjson"
"$BIN" broker --partitions 1 > "$TMP/addr" 2> "$TMP/broker.log" &
BROKER=$!
for _ in $(seq 100); do [ -s "$TMP/addr" ] && break; sleep 0.1; done
B=$(head -1 "$TMP/addr")
[ -n "$B" ] || fail "broker did not start"
timeout 60 "$BIN" ingest --source "$TMP/dump.ndjson" --brokers "$B" --set ingest.lag_groups= \
	2> "$TMP/ingest.log" || fail "ingest exit $?"

# no pausing (max_update_lag 0): the absent group falls behind until updates are pruned
rc=0
timeout -k 5 60 "$BIN" features --brokers "$B" --set "features.state_dir=$TMP/state" \
	--set features.lag_groups=bw-test-never-reads --set features.max_update_lag=0 \
	--set features.batch=200 \
	--idle-exit-ms 3000 2> "$TMP/features.log" || rc=$?
[ "$rc" = 1 ] || fail "features exit $rc, expected 1"
grep -q 'features output lost: consumer group bw-test-never-reads had not read [0-9]* update(s) of features\[0\] before the broker pruned them' \
	"$TMP/features.log" || fail "no loss message: $(tail -2 "$TMP/features.log")"
echo "features_backpressure: ok"
