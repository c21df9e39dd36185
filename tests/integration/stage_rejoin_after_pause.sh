#!/usr/bin/env bash
# Regression (torture run, outage/pause): with the broker stopped (SIGSTOP)
# longer than the session timeout, the group dropped the features and score
# members and the embedded broker never admitted them again: both sat for 5+
# minutes logging "offset commit failed: Unknown member" (5,109 times), neither
# resuming nor exiting. Now each stage either is admitted again (resumes by
# itself) or, not admitted within kafka.max.poll.interval.ms, stops with exit 1
# and a message saying so; none may stay stuck. Restarted, the stages finish and
# the store holds the plain replay's records.
source "$(dirname "$0")/lib/pipeline.bash"
expected

start_broker
COMMON=(--brokers "$B" "${KAFKA_FAST[@]}" --set kafka.max.poll.interval.ms=10000
	--set "store.path=$T/store" --set "features.state_dir=$T/state" --set features.batch_ms=50)

"$BW" features "${COMMON[@]}" 2>"$T/features.log" &
FEAT=$!
PIDS+=($FEAT)
"$BW" score "${COMMON[@]}" 2>"$T/score.log" &
SCORE=$!
PIDS+=($SCORE)
for ((i = 0; i < 200; i++)); do
	grep -qs 'score: assigned' "$T/score.log" && grep -qs 'features: assigned' "$T/features.log" && break
	sleep 0.1
done
timeout -k 5 60 "$BW" ingest --source "$DEMO" --brokers "$B" 2>"$T/ingest.log" || fail "ingest exit $?"
kill -STOP "$BROKER"
sleep 8
kill -CONT "$BROKER"
# settled: exited, or assigned partitions again after the outage
settled() { # pid log
	! kill -0 "$1" 2>/dev/null || [ "$(grep -c ': assigned' "$2")" -ge 2 ]
}
for ((i = 0; i < 450; i++)); do
	settled $FEAT "$T/features.log" && settled $SCORE "$T/score.log" && break
	sleep 0.1
done
outcome=""
for s in features score; do
	[ $s = features ] && p=$FEAT || p=$SCORE
	if kill -0 "$p" 2>/dev/null; then
		[ "$(grep -c ': assigned' "$T/$s.log")" -ge 2 ] || fail "$s neither resumed nor stopped 45 s after the outage"
		kill -TERM "$p"
		wait_exit "$p" 30
		[ "$RC" -eq 0 ] || fail "$s exit $RC on SIGTERM after resuming"
		outcome+=" $s resumed;"
	else
		wait_exit "$p" 1
		[ "$RC" -eq 1 ] && grep -q "dropped from consumer group botwatch-$s" "$T/$s.log" ||
			fail "$s exit $RC without the clear error: $(tail -1 "$T/$s.log")"
		outcome+=" $s stopped with the error;"
	fi
done
ok "after an 8 s broker stop:$outcome"
# the refused commits are logged once per loss of membership, not at every cut
for s in features score; do
	n=$(grep -c 'offset commit failed' "$T/$s.log")
	[ "$n" -le 4 ] || fail "$s logged $n refused commits"
done
ok "refused commits logged once per loss of membership"

"$BW" features "${COMMON[@]}" --idle-exit-ms 4000 2>"$T/features2.log" &
FEAT=$!
PIDS+=($FEAT)
"$BW" score "${COMMON[@]}" --idle-exit-ms 8000 2>"$T/score2.log" &
SCORE=$!
PIDS+=($SCORE)
wait_exit "$FEAT" 60
[ "$RC" -eq 0 ] || fail "restarted features exit $RC"
wait_exit "$SCORE" 60
[ "$RC" -eq 0 ] || fail "restarted score exit $RC"
"$BUILD/tests/bw_dumpstore" "$T/store" >"$T/got.ndjson" 2>/dev/null || fail "store unreadable"
same_records "$T/got.ndjson" "$T/expected.ndjson"
ok "restarted, the store holds the replay's $N_EXPECTED records"
