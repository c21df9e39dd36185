#!/usr/bin/env bash
# `botwatch run --source ws://…/subscribe` against the loopback Jetstream
# (tests/tools/jetstream_server.py: the 152-event production capture plus
# 1,500 generated events over 40 accounts): every account that created a post
# gets a record, and a run stopped halfway and restarted on the same state and
# cursor file (resuming 20 ms of events before it, so the seam arrives twice)
# ends with exactly the records `botwatch replay` writes for the whole stream
# read once — nothing lost, nothing counted twice.
source "$(dirname "$0")/lib/pipeline.bash"
JS=tests/tools/jetstream_server.py
FIX=../shared/data/fixtures/bluesky_jetstream

python3 "$JS" --port-file "$T/port" --log "$T/js.log" --fixture "$FIX/jetstream_v1_production_window_152_events.jsonl" \
	--generate 1500 --accounts 40 --plan 'send=700,then=hold;send=all,then=hold' --dump "$T/dump.ndjson" &
PIDS+=($!)
wait_for "$T/port" 20
SRC=ws://127.0.0.1:$(cat "$T/port")/subscribe

# what the stream must come to: the dump replayed in one pass
"$BW" replay --out "$T/expected.ndjson" "$T/dump.ndjson" 2>"$T/replay.log" || fail "replay exit $?"
N_EXPECTED=$(wc -l <"$T/expected.ndjson")
python3 - "$T/dump.ndjson" "$T/expected.ndjson" <<'PY' || fail "replay does not cover every posting account"
import json, sys
posters = {json.loads(l)["did"] for l in open(sys.argv[1]) if '"collection":"app.bsky.feed.post"' in l
           and '"operation":"create"' in l}
recs = {json.loads(l)["user_id"]: json.loads(l) for l in open(sys.argv[2])}
missing = posters - set(recs)
assert not missing, missing
assert sum(r["status"] == "ok" for r in recs.values()) >= 30, [r["status"] for r in recs.values()]
print(f"  {len(posters)} accounts created posts; {len(recs)} records", file=sys.stderr)
PY

RUNARGS=(--listen 127.0.0.1:0 --store "$T/store" --source "$SRC" "${KAFKA_FAST[@]}"
	--set "features.state_dir=$T/state" --set "ingest.jetstream.cursor_file=$T/cursor"
	--set ingest.jetstream.cursor_overlap_ms=20 --set ingest.jetstream.cursor_every_ms=100)

# 1. the first 700 events, then SIGTERM
"$BW" run "${RUNARGS[@]}" 2>"$T/run1.log" &
RUN=$!
PIDS+=($RUN)
for _ in $(seq 100); do grep -q 'conn=1 sent' "$T/js.log" 2>/dev/null && break; sleep 0.1; done
last=$(awk '$2 == "conn=1" && $3 == "sent" { sub("last=", "", $6); print $6 }' "$T/js.log")
[ -n "$last" ] || fail "the server sent nothing"
for _ in $(seq 100); do grep -qx "cursor $last" "$T/cursor" 2>/dev/null && break; sleep 0.1; done
grep -qx "cursor $last" "$T/cursor" || fail "cursor file: '$(cat "$T/cursor" 2>/dev/null)', want 'cursor $last'"
kill -TERM $RUN
wait_exit $RUN 40
[ "$RC" -eq 0 ] || fail "run 1 exited $RC after SIGTERM"
[ -s "$T/cursor.profiles" ] || fail "no Bluesky profile file beside the cursor"
ok "run 1 read 700 events (cursor $last saved, profiles kept) and stopped cleanly"

# 2. restart: resumes 20 ms before the cursor and reads the rest
start=$(date +%s.%N)
"$BW" run "${RUNARGS[@]}" 2>"$T/run2.log" &
RUN=$!
PIDS+=($RUN)
for _ in $(seq 100); do grep -q '"run: API listening' "$T/run2.log" && break; sleep 0.1; done
PORT=$(grep -o '"run: API listening on [^"]*(port [0-9]*)' "$T/run2.log" | grep -o 'port [0-9]*' | cut -d' ' -f2)
[ -n "$PORT" ] || fail "run 2 did not log its API address"
# the API may listen before ingest has connected (a loaded machine): wait for the request
for _ in $(seq 100); do grep -q 'conn=2 request' "$T/js.log" && break; sleep 0.1; done
grep -q "conn=2 request /subscribe?.*&cursor=$((last - 20000)) " "$T/js.log" ||
	fail "run 2 did not resume from the cursor: $(grep 'conn=2 request' "$T/js.log")"
poll_export "http://127.0.0.1:$PORT" 60 "$T/expected.ndjson"
same_records "$T/export.ndjson" "$T/expected.ndjson"
secs=$(python3 -c "import sys; print(f'{float(sys.argv[1]) - float(sys.argv[2]):.1f}')" "$(date +%s.%N)" "$start")
ok "after the restart (the 20 ms before the cursor read twice) the API serves exactly replay's $N_EXPECTED records (in ${secs}s)"
kill -TERM $RUN
wait_exit $RUN 40
[ "$RC" -eq 0 ] || fail "run 2 exited $RC after SIGTERM"
ok "run 2 stopped cleanly"
