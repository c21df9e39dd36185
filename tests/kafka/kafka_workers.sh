#!/usr/bin/env bash
# (b) Scale-out with state handover: two `features` workers in one group,
# each with its own local state directory; one is killed with SIGKILL
# mid-stream (its partitions move to the survivor, which restores their
# account states from the compacted features.changelog topic before
# processing them) and a third is started later (the cooperative rebalance
# hands it partitions, restored the same way). Accounts that share a bio sit
# on different workers: each worker reads the others' population moves from
# the population log, so every count is replay's. Two `score` workers share the
# feature updates, each with its own store, and an API replica (`serve
# --follow`) keeps its store from the compacted scores topic. The replica
# serves the plain replay's records, byte for byte: no post lost, none
# counted twice.
source "$(dirname "$0")/lib/kafka.bash"
DUMP=${DATA_B:-$T/dump.ndjson.gz}
# bios shared by runs of accounts (the generator's templates): accounts of one
# bio fall to different workers, whose population counts must still be
# replay's (the population log, docs/STATE.md)
[ -n "${DATA_B:-}" ] || "$BUILD/tests/gen_v1_dump" "${LINES_B:-4000}" 5 | gzip -1 >"$DUMP"
"$BW" replay --out "$T/expected.ndjson" "$DUMP" 2>"$T/replay.log" || fail "replay exit $?"
N_EXPECTED=$(wc -l <"$T/expected.ndjson")
make_topics 4
# small batches and checkpoints so the kill lands between many of them
FEATS=("${NAMES[@]}" --set features.batch_ms=50 --set features.commit_ms=200)

worker() { # N: start features worker N with its own state directory; sets W<N>
	"$BW" features "${FEATS[@]}" --set "features.state_dir=$T/state$1" 2>"$T/features$1.log" &
	PIDS+=($!)
	eval "W$1=$!"
}
worker 1
[ "${ONE_WORKER:-0}" = 1 ] || worker 2
for k in 1 2; do
	"$BW" score "${NAMES[@]}" --set "store.path=$T/store$k" 2>"$T/score$k.log" &
	PIDS+=($!)
done
wait_for "$T/store1/data.mdb" 30
for ((i = 0; i < 300; i++)); do # both workers hold partitions
	grep -aq '"features: assigned' "$T/features1.log" &&
		{ [ "${ONE_WORKER:-0}" = 1 ] || grep -aq '"features: assigned' "$T/features2.log"; } && break
	sleep 0.1
done
# ingest paced by the workers (at most 200 posts unread per partition), so
# the kill lands mid-stream
"$BW" ingest "${NAMES[@]}" --set ingest.max_consumer_lag=200 --source "$DUMP" 2>"$T/ingest.log" &
ING=$!
PIDS+=($ING)
sleep "${KILL_AFTER_S:-3}"
kill -0 $ING 2>/dev/null || fail "ingest finished before the kill (too short to test)"
if [ "${NO_KILL:-0}" = 1 ]; then :; else
kill -9 "$W2"
ok "worker 2 killed with SIGKILL mid-stream"
sleep 4
worker 3
ok "worker 3 started"
fi
wait_exit $ING 240
[ "$RC" -eq 0 ] || fail "ingest exit $RC"
"$BW" serve --follow "${NAMES[@]}" --store "$T/replica" --listen 127.0.0.1:0 \
	--port-file "$T/port" 2>"$T/serve.log" &
PIDS+=($!)
wait_for "$T/port"
poll_export "http://127.0.0.1:$(cat "$T/port")" 120 "$T/expected.ndjson"
same_records "$T/export.ndjson" "$T/expected.ndjson"
ok "records identical to the replay's ($N_EXPECTED), served by a replica of the scores topic"
grep -a '"features: restored' "$T"/features*.log | sed 's/.*"msg":"//; s/"}$//' | head -8
