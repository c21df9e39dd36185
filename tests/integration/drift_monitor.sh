#!/usr/bin/env bash
# Drift monitor and data expectations (docs/DRIFT.md, docs/EXPECTATIONS.md):
#  1. a model trained on one simulated population carries baselines; replaying
#     another draw of the same population (unshifted) raises no alarm;
#  2. three shifted dumps each raise a logged alarm (a warn JSON log line) with
#     the reason expected: followers_count disappears (presence), follower
#     counts inflate tenfold (PSI), a new bot wave (bot rate, score PSI);
#  3. a model without the baselines section still loads and says "no baselines";
#  4. `botwatch run` on the dump without followers_count: GET /v1/drift shows the
#     monitor and the expectation violations, /metrics counts them, and the
#     scoring stage logs the alarm when it judges its windows.
source "$(dirname "$0")/lib/pipeline.bash"
SIM=(--posts-per-account 20)
YEAR=(--set drift.window_ms=31536000000)

"$BW" simulate --accounts 1500 --bot-share 0.3 --seed 3 "${SIM[@]}" --out "$T/train.gz" \
	--labels "$T/train.csv" 2>/dev/null || fail "simulate train"
"$BW" simulate --accounts 1500 --bot-share 0.3 --seed 4 "${SIM[@]}" --out "$T/same.gz" \
	--labels "$T/same.csv" 2>/dev/null || fail "simulate same"
"$BW" simulate --accounts 1500 --bot-share 0.8 --seed 5 "${SIM[@]}" --out "$T/wave.gz" \
	--labels "$T/wave.csv" 2>/dev/null || fail "simulate wave"
python3 tests/tools/shift_dump.py drop "$T/same.gz" "$T/drop.gz" || fail "shift drop"
python3 tests/tools/shift_dump.py inflate "$T/same.gz" "$T/inflate.gz" || fail "shift inflate"
"$BW" train --kernel linear --no-type-heads --folds 3 --max-rows 1000 --posts "$T/train.gz" \
	--labels "$T/train.csv" --out "$T/m.model" >/dev/null 2>"$T/train.log" || fail "train"
python3 -c 'import json,sys; b=json.load(open(sys.argv[1]))["baselines"]; assert b["rows"] == 1500 and len(b["features"]) > 1000, b["rows"]' \
	"$T/m.model" || fail "the model has no baselines section"
ok "train writes the baselines section"

# replay NAME: replay $T/NAME.gz with the model; log in $T/NAME.log, document in $T/NAME.drift
replay() {
	"$BW" replay --model "$T/m.model" "${YEAR[@]}" --out /dev/null --drift-out "$T/$1.drift" \
		"$T/$1.gz" 2>"$T/$1.log" || fail "replay $1"
}
# judged NAME ALARM REASON: one window was judged (the others hold too few scores), its alarm is ALARM
# (True/False) and, when alarmed, a reason matches the regular expression REASON
judged() {
	python3 - "$T/$1.drift" "$2" "${3:-}" <<'PY' || fail "$1: drift document: see above"
import json, re, sys
d = json.load(open(sys.argv[1]))
assert d["monitor"] == "running" and d["baselines"] is True, d
w = [x for x in d["windows"] if x["evaluated"]]  # (a few accounts end in earlier windows)
assert len(w) == 1 and w[0]["scores"] >= 1000, d["windows"]
assert str(w[0]["alarm"]) == sys.argv[2] == str(d["alarm"]), (w[0]["alarm"], w[0]["reasons"])
if sys.argv[3]:
    assert any(re.search(sys.argv[3], r) for r in w[0]["reasons"]), w[0]["reasons"]
assert any(e["field"] == "author.followers_count" for e in d["expectations"]), d["expectations"]
PY
}
alarm_logged() { # NAME: a warn JSON log line with the alarm
	python3 - "$T/$1.log" <<'PY' || fail "$1: no drift alarm log line"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
hits = [l for l in lines if "drift alarm" in l["msg"]]
assert hits and all(l["level"] == "warn" for l in hits), lines[-3:]
json.loads(hits[0]["msg"].split("drift alarm: ", 1)[1])
PY
}

replay same
judged same False
! grep -q "drift alarm" "$T/same.log" || fail "unshifted replay logged an alarm"
ok "unshifted population: windows judged, no alarm"

replay drop
judged drop True "presence moved.*followers"
alarm_logged drop
python3 -c 'import json,sys; e=[x for x in json.load(open(sys.argv[1]))["expectations"] if x["field"] == "author.followers_count"][0]; assert e["absent"] > 20000 and e["absent"] == e["checked"], e' \
	"$T/drop.drift" || fail "drop: followers_count absences not counted"
ok "followers_count disappears: alarm (presence), every record counted absent"

replay inflate
judged inflate True "feature\\(s\\) with PSI"
alarm_logged inflate
ok "follower counts inflated tenfold: alarm (PSI)"

replay wave
judged wave True "bot rate"
alarm_logged wave
python3 -c 'import json,sys; w=[x for x in json.load(open(sys.argv[1]))["windows"] if x["evaluated"]][0]; assert w["mixture_bot_share"] > 0.6 and w["mixture_psi"] < w["score_psi"] / 3, w' \
	"$T/wave.drift" || fail "wave: the training score mix does not explain the new bot share"
ok "new bot wave: alarm (bot rate)"

# 3. an older model: no baselines section
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); del d["baselines"]; json.dump(d, open(sys.argv[2], "w"))' \
	"$T/m.model" "$T/old.model"
"$BW" replay --model "$T/old.model" --out "$T/old.out" --drift-out "$T/old.drift" "$T/drop.gz" \
	2>"$T/old.log" || fail "a model without baselines does not load"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["baselines"] is False and "no baselines" in d["message"] and d["windows"] == [], d' \
	"$T/old.drift" || fail "old model: drift document"
ok "a model without baselines loads; drift says no baselines"

# 4. the pipeline: run on a smaller dump without followers_count
"$BW" simulate --accounts 300 --bot-share 0.3 --seed 6 "${SIM[@]}" --out "$T/small.gz" \
	--labels "$T/small.csv" 2>/dev/null || fail "simulate small"
python3 tests/tools/shift_dump.py drop "$T/small.gz" "$T/smalldrop.gz" || fail "shift small"
"$BW" run --listen 127.0.0.1:0 --store "$T/store" "${KAFKA_FAST[@]}" --source "$T/smalldrop.gz" \
	--set "score.model=$T/m.model" --set "features.state_dir=$T/state" \
	--set drift.window_ms=31536000000 --set drift.min_scores=50 2>"$T/run.log" &
RUN=$!
PIDS+=($RUN)
for _ in $(seq 100); do grep -q '"run: API listening' "$T/run.log" && break; sleep 0.1; done
PORT=$(grep -o '"run: API listening on [^"]*(port [0-9]*)' "$T/run.log" | grep -o 'port [0-9]*' | cut -d' ' -f2)
[ -n "$PORT" ] || fail "run did not log its API address"
URL=http://127.0.0.1:$PORT
# (at least drift.min_scores decisions in the window, so that it is judged at shutdown)
for _ in $(seq 480); do
	curl -sf "$URL/v1/drift" >"$T/live.json" && python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["monitor"] == "running" and max([w["scores"] for w in d["open"]] + [0]) >= 50' "$T/live.json" 2>/dev/null && break
	sleep 0.25
done
python3 - "$T/live.json" <<'PY' || fail "GET /v1/drift"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["monitor"] == "running" and d["source"] == "score" and d["baselines"] is True, d
assert max([w["scores"] for w in d["open"]] + [0]) >= 50, d["open"]
e = [x for x in d["expectations"] if x["field"] == "author.followers_count"][0]
assert e["absent"] > 0, e
PY
ok "GET /v1/drift: the scoring stage's monitor and the expectation violations"
curl -sf "$URL/metrics" >"$T/metrics.txt" || fail "GET /metrics"
grep -q '^botwatch_ingest_expectation_violations_total{field="author.followers_count",kind="absent"} [1-9]' \
	"$T/metrics.txt" || fail "/metrics: no followers_count absences"
grep -q '^botwatch_ingest_expectation_checks_total{field="author.followers_count"} [1-9]' \
	"$T/metrics.txt" || fail "/metrics: no expectation checks"
ok "/metrics counts the expectation violations per field"
kill -TERM $RUN
wait_exit $RUN 40
[ "$RC" -eq 0 ] || fail "run exited $RC after SIGTERM"
grep -q '"score: drift alarm: ' "$T/run.log" || fail "the scoring stage logged no drift alarm"
ok "the scoring stage judges its open window at shutdown: alarm logged"
echo "drift_monitor: ok"
