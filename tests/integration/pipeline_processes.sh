#!/usr/bin/env bash
# The pipeline as separate processes against one broker address, as it runs
# under systemd against a real cluster: `botwatch broker` + `ingest` +
# `features` + `score` + `serve`. The API ends up serving exactly the records
# `botwatch replay --out` writes for the demo sample; SIGTERM stops every
# stage with exit status 0.
source "$(dirname "$0")/lib/pipeline.bash"
expected

start_broker
COMMON=(--brokers "$B" "${KAFKA_FAST[@]}" --set "store.path=$T/store")

"$BW" features "${COMMON[@]}" --set "features.state_dir=$T/state" --set features.batch_ms=50 \
	2>"$T/features.log" &
FEAT=$!
PIDS+=($FEAT)
"$BW" score "${COMMON[@]}" 2>"$T/score.log" &
SCORE=$!
PIDS+=($SCORE)
# the scoring stage created the store and committed its tables (data.mdb alone
# appears before that commit: a serve started then found "not a botwatch store")
for _ in $(seq 400); do grep -q '"score: consuming' "$T/score.log" && break; sleep 0.05; done
grep -q '"score: consuming' "$T/score.log" || fail "the scoring stage did not start"
"$BW" serve --store "$T/store" --listen 127.0.0.1:0 --port-file "$T/port" 2>"$T/serve.log" &
SERVE=$!
PIDS+=($SERVE)
wait_for "$T/port"
timeout -k 5 60 "$BW" ingest --source "$DEMO" --brokers "$B" 2>"$T/ingest.log" || fail "ingest exit $?"
ok "ingest delivered the demo sample"

poll_export "http://127.0.0.1:$(cat "$T/port")" 40 "$T/expected.ndjson"
same_records "$T/export.ndjson" "$T/expected.ndjson"
ok "separate processes serve the replay's $N_EXPECTED records"

for p in $FEAT $SCORE $SERVE; do kill -TERM "$p"; done
for p in $FEAT $SCORE $SERVE; do
	wait_exit "$p" 30
	[ "$RC" -eq 0 ] || fail "stage $p exited $RC after SIGTERM"
done
grep -q '"score: [0-9]* updates, [0-9]* scored' "$T/score.log" || fail "score printed no summary"
! grep '"level":"\(warn\|error\)"' "$T/score.log" | grep -qv CONFWARN ||
	fail "score warned: $(grep -m2 '"warn\|"error' "$T/score.log")"
ok "every stage stopped cleanly on SIGTERM"
