#!/usr/bin/env bash
# (c) A broker stopped and restarted mid-stream: `replay --via-kafka` of a
# synthetic dump on the 3-node cluster, node 2 stopped (SIGTERM) while posts
# flow, started again 6 s later. Replication 3 with min.insync.replicas 2
# keeps the topics writable meanwhile; leaders and the group coordinators
# move and the clients follow by themselves. Nothing is lost: the records are
# the plain replay's, byte for byte, and the run exits 0.
source "$(dirname "$0")/lib/kafka.bash"
DUMP=$T/dump.ndjson.gz
"$BUILD/tests/gen_v1_dump" 6000 11 | gzip -1 >"$DUMP"
"$BW" replay --out "$T/expected.ndjson" "$DUMP" 2>"$T/replay.log" || fail "replay exit $?"
N=$(wc -l <"$T/expected.ndjson")

# ingest paced by the features stage (at most 50 posts unread per partition),
# so that the stream outlasts the broker's 6 s away on a fast machine too
"$BW" replay --via-kafka --set "kafka.bootstrap.servers=$B" --set ingest.max_consumer_lag=50 \
	--out "$T/via.ndjson" "$DUMP" 2>"$T/via.log" &
VIA=$!
PIDS+=($VIA)
# mid-stream: once the features stage has folded a first batch
for ((i = 0; i < 600; i++)); do
	grep -aq '"features: assigned' "$T/via.log" && break
	sleep 0.1
done
sleep 1
kill -0 $VIA 2>/dev/null || fail "the replay ended before the broker was stopped"
node_ctl stop 2
ok "node 2 stopped mid-stream"
sleep 6
kill -0 $VIA 2>/dev/null || fail "the replay ended while the broker was down (too short to test)"
node_ctl start 2
ok "node 2 restarted"
wait_exit $VIA 300
[ "$RC" -eq 0 ] || fail "replay --via-kafka exited $RC"
cmp -s "$T/via.ndjson" "$T/expected.ndjson" ||
	fail "records differ after the broker restart ($(wc -l <"$T/via.ndjson") vs $N)"
ok "the pipeline resumed by itself: the replay's $N records, byte for byte"
