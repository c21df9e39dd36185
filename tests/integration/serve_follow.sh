#!/usr/bin/env bash
# Scale-out of the scoring stage and API replicas: two `score` workers in one
# group, each with its own store, and a `serve --follow` replica that keeps a
# third store from the compacted scores topic. The workers' stores split the
# accounts between them (no account in both) and together hold exactly the
# replay's records; the replica serves every one of them. Restarted on its
# store, the replica resumes from the positions kept there (reads nothing
# again) and serves the same; a replica started on an empty store after the
# fact catches up from the topic's beginning.
source "$(dirname "$0")/lib/pipeline.bash"
expected

start_broker
COMMON=(--brokers "$B" "${KAFKA_FAST[@]}")
replica() { # DIR LOG: a `serve --follow` replica on store DIR; sets SERVE and URL
	rm -f "$T/port"
	"$BW" serve --follow "${COMMON[@]}" --store "$1" --listen 127.0.0.1:0 \
		--port-file "$T/port" 2>"$2" &
	SERVE=$!
	PIDS+=($SERVE)
	wait_for "$T/port"
	URL="http://127.0.0.1:$(cat "$T/port")"
}

"$BW" features "${COMMON[@]}" --set "features.state_dir=$T/state" --set features.batch_ms=50 \
	2>"$T/features.log" &
FEAT=$!
PIDS+=($FEAT)
"$BW" score "${COMMON[@]}" --set "store.path=$T/store1" 2>"$T/score1.log" &
S1=$!
PIDS+=($S1)
"$BW" score "${COMMON[@]}" --set "store.path=$T/store2" 2>"$T/score2.log" &
S2=$!
PIDS+=($S2)
replica "$T/replica" "$T/serve.log"
# both workers joined the group before the first update: each gets partitions
for _ in $(seq 100); do
	grep -q 'assigned\|assign' "$T/score1.log" && grep -q 'assigned\|assign' "$T/score2.log" && break
	sleep 0.1
done
timeout -k 5 60 "$BW" ingest --source "$DEMO" --brokers "$B" 2>"$T/ingest.log" || fail "ingest exit $?"
ok "ingest delivered the demo sample"

poll_export "$URL" 60 "$T/expected.ndjson"
ok "the replica serves the replay's $N_EXPECTED records, read from the scores topic"

for p in $FEAT $S1 $S2; do kill -TERM "$p"; done
for p in $FEAT $S1 $S2; do
	wait_exit "$p" 30
	[ "$RC" -eq 0 ] || fail "stage $p exited $RC after SIGTERM"
done
"$BUILD/tests/bw_dumpstore" "$T/store1" >"$T/w1.ndjson" 2>"$T/dump1.log" || fail "dump store1"
"$BUILD/tests/bw_dumpstore" "$T/store2" >"$T/w2.ndjson" 2>"$T/dump2.log" || fail "dump store2"
n1=$(wc -l <"$T/w1.ndjson")
n2=$(wc -l <"$T/w2.ndjson")
[ "$n1" -gt 0 ] && [ "$n2" -gt 0 ] || fail "one worker scored nothing ($n1 + $n2): the work did not split"
cat "$T/w1.ndjson" "$T/w2.ndjson" >"$T/union.ndjson"
same_records "$T/union.ndjson" "$T/expected.ndjson"
ok "two score workers split the accounts ($n1 + $n2), together the replay's records"

kill -TERM "$SERVE"
wait_exit "$SERVE" 30
[ "$RC" -eq 0 ] || fail "serve --follow exited $RC after SIGTERM"
copied=$(grep -o 'follow: [0-9]* records' "$T/serve.log" | grep -o '[0-9]*')
[ "${copied:-0}" -ge "$N_EXPECTED" ] || fail "the replica copied ${copied:-no} records of $N_EXPECTED"

# restart on the same store: resumes from its positions, reads nothing again
replica "$T/replica" "$T/serve2.log"
poll_export "$URL" 20 "$T/expected.ndjson"
sleep 1
kill -TERM "$SERVE"
wait_exit "$SERVE" 30
[ "$RC" -eq 0 ] || fail "restarted serve --follow exited $RC"
grep -q 'follow: 0 records' "$T/serve2.log" ||
	fail "the restarted replica read records again: $(grep -o 'follow: [0-9]* records' "$T/serve2.log")"
ok "a restarted replica resumes from the positions in its store"

# a new replica on an empty store catches up from the beginning of the topic
replica "$T/replica3" "$T/serve3.log"
poll_export "$URL" 30 "$T/expected.ndjson"
kill -TERM "$SERVE"
wait_exit "$SERVE" 30
[ "$RC" -eq 0 ] || fail "third replica exited $RC"
ok "a replica started later catches up from the topic"

# without a broker to follow: a clear error, not a silent empty API
timeout -k 5 20 "$BW" serve --follow --store "$T/replica4" --listen 127.0.0.1:0 \
	--set kafka.bootstrap.servers= 2>"$T/serve4.log"
rc=$?
[ "$rc" -eq 1 ] || fail "serve --follow without brokers exited $rc"
grep -q 'needs kafka.bootstrap.servers' "$T/serve4.log" || fail "no clear error: $(tail -2 "$T/serve4.log")"
ok "serve --follow without brokers stops with a clear error"
