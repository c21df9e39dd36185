#!/usr/bin/env bash
# (a) Every stage as its own process against the 3-node cluster — ingest,
# features, score, serve — ends with exactly the records `botwatch replay`
# writes for the demo sample; `replay --via-kafka` on the cluster writes the
# same bytes. (d) The compacted scores topic exists with
# cleanup.policy=compact, read back through the admin API.
source "$(dirname "$0")/lib/kafka.bash"
expected
make_topics 4

"$BW" features "${NAMES[@]}" --set "features.state_dir=$T/state" --set features.batch_ms=50 \
	2>"$T/features.log" &
FEAT=$!
PIDS+=($FEAT)
"$BW" score "${NAMES[@]}" --set "store.path=$T/store" 2>"$T/score.log" &
SCORE=$!
PIDS+=($SCORE)
wait_for "$T/store/data.mdb" 30
"$BW" serve --store "$T/store" --listen 127.0.0.1:0 --port-file "$T/port" 2>"$T/serve.log" &
SERVE=$!
PIDS+=($SERVE)
wait_for "$T/port"
timeout -k 5 60 "$BW" ingest "${NAMES[@]}" --source "$DEMO" 2>"$T/ingest.log" || fail "ingest exit $?"
ok "ingest delivered the demo sample to posts.$S"

poll_export "http://127.0.0.1:$(cat "$T/port")" 60 "$T/expected.ndjson"
same_records "$T/export.ndjson" "$T/expected.ndjson"
ok "ingest, features, score, serve as processes on 3 brokers: the replay's $N_EXPECTED records"

for p in $FEAT $SCORE $SERVE; do kill -TERM "$p"; done
for p in $FEAT $SCORE $SERVE; do
	wait_exit "$p" 40
	[ "$RC" -eq 0 ] || fail "stage $p exited $RC after SIGTERM"
done
ok "every stage stopped cleanly on SIGTERM"

got=$("$KADMIN" -b "$B" config "scores.$S" cleanup.policy) || fail "describe scores.$S"
[ "$got" = "cleanup.policy=compact" ] || fail "scores.$S has $got"
ok "scores.$S: $got (DescribeConfigs)"

timeout -k 5 120 "$BW" replay --via-kafka --set "kafka.bootstrap.servers=$B" \
	--out "$T/via.ndjson" "$DEMO" 2>"$T/via.log" || fail "replay --via-kafka exit $?"
cmp -s "$T/via.ndjson" "$T/expected.ndjson" || fail "replay --via-kafka on the cluster differs"
ok "replay --via-kafka on the cluster: the same $N_EXPECTED records, byte for byte"
