#!/usr/bin/env bash
# Profile enrichment: `botwatch run` on the loopback Jetstream with
# ingest.bluesky.appview pointing at the loopback AppView
# (tests/tools/appview_server.py, answering every third call 429): every
# account that created a post ends up scored with profile counts in its
# evidence, calls carry at most 25 actors, and a rate-limited batch is asked
# for again (no account is left out).
source "$(dirname "$0")/lib/pipeline.bash"
JS=tests/tools/jetstream_server.py
FIX=../shared/data/fixtures/bluesky_jetstream

python3 tests/tools/appview_server.py --port-file "$T/aport" --log "$T/av.log" --fail-every 3 &
PIDS+=($!)
python3 "$JS" --port-file "$T/port" --log "$T/js.log" --fixture "$FIX/jetstream_v1_production_window_152_events.jsonl" \
	--generate 800 --accounts 60 --seed 3 --plan 'send=all,then=hold' --dump "$T/dump.ndjson" &
PIDS+=($!)
wait_for "$T/aport"
wait_for "$T/port" 20
python3 - "$T/dump.ndjson" >"$T/posters" <<'PY'
import json, sys
for d in sorted({json.loads(l)["did"] for l in open(sys.argv[1])
                 if '"collection":"app.bsky.feed.post"' in l and '"operation":"create"' in l}):
    print(d)
PY
N=$(wc -l <"$T/posters")
[ "$N" -gt 60 ] || fail "only $N accounts created posts"

# without enrichment the captured accounts (one post, no profile) cannot be scored
"$BW" replay --out "$T/plain.ndjson" "$T/dump.ndjson" 2>"$T/replay.log" || fail "replay exit $?"
grep -q '"status":"insufficient_data"' "$T/plain.ndjson" || fail "expected unscorable accounts without enrichment"

"$BW" run --listen 127.0.0.1:0 --store "$T/store" --source "ws://127.0.0.1:$(cat "$T/port")/subscribe" \
	"${KAFKA_FAST[@]}" --set "features.state_dir=$T/state" \
	--set "ingest.bluesky.appview=http://127.0.0.1:$(cat "$T/aport")" --set ingest.bluesky.enrich_rate=20 \
	2>"$T/run.log" &
RUN=$!
PIDS+=($RUN)
for _ in $(seq 100); do grep -q '"run: API listening' "$T/run.log" && break; sleep 0.1; done
PORT=$(grep -o '"run: API listening on [^"]*(port [0-9]*)' "$T/run.log" | grep -o 'port [0-9]*' | cut -d' ' -f2)
[ -n "$PORT" ] || fail "run did not log its API address"
for _ in $(seq 240); do
	curl -sf "http://127.0.0.1:$PORT/v1/accounts" >"$T/export.ndjson" 2>/dev/null &&
		python3 - "$T/export.ndjson" "$T/posters" 2>/dev/null <<'PY' && break
import json, sys
recs = {json.loads(l)["user_id"]: json.loads(l) for l in open(sys.argv[1])}
for d in open(sys.argv[2]).read().split():
    r = recs[d]
    assert r["score"] is not None and "profile_counts" in r["evidence"], r
PY
	sleep 0.25
done
python3 - "$T/export.ndjson" "$T/posters" <<'PY' || fail "not every posting account was scored with profile counts"
import json, sys
recs = {json.loads(l)["user_id"]: json.loads(l) for l in open(sys.argv[1])}
bad = [d for d in open(sys.argv[2]).read().split()
       if d not in recs or recs[d]["score"] is None or "profile_counts" not in recs[d]["evidence"]]
assert not bad, (len(bad), bad[:3], [recs.get(d) for d in bad[:1]])
PY
ok "all $N accounts that created a post are scored, each with profile counts from the AppView"
awk '{ sub("actors=", "", $3); if ($3 + 0 > 25) exit 1 }' "$T/av.log" || fail "a call asked for more than 25 actors"
grep -q 'status=429' "$T/av.log" || fail "the AppView never rate-limited (test setup)"
ok "$(grep -c 'status=200' "$T/av.log") getProfiles calls of at most 25 actors; the $(grep -c 'status=429' "$T/av.log") rate-limited batches were asked again"
kill -TERM $RUN
wait_exit $RUN 40
[ "$RC" -eq 0 ] || fail "run exited $RC after SIGTERM"
grep -q 'AppView enrichment: [0-9]* call(s), [0-9]* profile(s)' "$T/run.log" || fail "no enrichment summary"
ok "SIGTERM: clean shutdown, enrichment summary logged"
