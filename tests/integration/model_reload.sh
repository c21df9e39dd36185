#!/usr/bin/env bash
# model_reload: SIGHUP reloads score.model in `serve` and `run` (its scoring stage
# and its API) atomically: the old and new model ids are logged, requests after
# the reload use the new model, a file that does not load leaves the old model in
# place, and the process keeps running until SIGTERM (exit 0).
source "$(dirname "$0")/lib/pipeline.bash"

cp models/default.model "$T/a.model"
printf '\n' | cat models/default.model - >"$T/b.model" # same model, other bytes: other id
idof() { "$BW" version --set "score.model=$1" | sed -n 's/^default model \(sha256:[0-9a-f]*\) .*/\1/p'; }
A=$(idof "$T/a.model")
B=$(idof "$T/b.model")
[ -n "$A" ] && [ -n "$B" ] && [ "$A" != "$B" ] || fail "model ids: '$A' '$B'"
cp "$T/a.model" "$T/live.model"

models_id() { curl -sf "$1/v1/models" | python3 -c 'import json,sys; print(json.load(sys.stdin)["models"][0]["id"])'; }
wait_log() { # FILE PATTERN
	for _ in $(seq 300); do grep -q "$2" "$1" && return 0; sleep 0.1; done
	fail "no '$2' in $1: $(tail -n 3 "$1")"
}

# 1. serve
"$BUILD"/tests/bw_mkstore "$T/store" 10 >/dev/null
"$BW" serve --store "$T/store" --model "$T/live.model" --listen 127.0.0.1:0 \
	--port-file "$T/port" 2>"$T/serve.log" &
SERVE=$!
PIDS+=($SERVE)
wait_for "$T/port"
URL=http://127.0.0.1:$(cat "$T/port")
[ "$(models_id "$URL")" = "$A" ] || fail "serve started with $(models_id "$URL"), want $A"
cp "$T/b.model" "$T/live.tmp" && mv "$T/live.tmp" "$T/live.model"
kill -HUP $SERVE
wait_log "$T/serve.log" "model reloaded from $T/live.model: $A -> $B"
[ "$(models_id "$URL")" = "$B" ] || fail "after SIGHUP: $(models_id "$URL"), want $B"
ok "serve: SIGHUP swapped $A for $B (logged; /v1/models shows it)"
echo 'not a model' >"$T/live.model"
kill -HUP $SERVE
wait_log "$T/serve.log" "model reload from $T/live.model failed, keeping $B"
[ "$(models_id "$URL")" = "$B" ] || fail "a bad file replaced the model"
curl -sf "$URL/healthz" >/dev/null || fail "serve died"
ok "serve: a file that does not load leaves $B in place, serving on"
kill -TERM $SERVE
wait_exit $SERVE 20
[ "$RC" -eq 0 ] || fail "serve exited $RC after SIGTERM"

# 2. run: the scoring stage and the API both reload
cp "$T/a.model" "$T/live.model"
"$BW" run --listen 127.0.0.1:0 --store "$T/store1" "${KAFKA_FAST[@]}" \
	--set "score.model=$T/live.model" --set "features.state_dir=$T/state1" 2>"$T/run.log" &
RUN=$!
PIDS+=($RUN)
wait_log "$T/run.log" '"run: API listening'
wait_log "$T/run.log" "score: consuming .*model $A"
cp "$T/b.model" "$T/live.tmp" && mv "$T/live.tmp" "$T/live.model"
kill -HUP $RUN
wait_log "$T/run.log" "score: model reloaded from $T/live.model: $A -> $B"
wait_log "$T/run.log" "\"model reloaded from $T/live.model: $A -> $B"
kill -0 $RUN 2>/dev/null || fail "run died on SIGHUP"
ok "run: SIGHUP reloaded the scoring stage's and the API's model ($A -> $B), still running"
kill -TERM $RUN
wait_exit $RUN 40
[ "$RC" -eq 0 ] || fail "run exited $RC after SIGTERM"
# 3. score as its own process (against a standalone embedded broker)
cp "$T/a.model" "$T/live.model"
"$BW" broker >"$T/broker.out" 2>"$T/broker.log" &
PIDS+=($!)
wait_for "$T/broker.out"
"$BW" score --brokers "$(head -n 1 "$T/broker.out")" --store "$T/store3" "${KAFKA_FAST[@]}" \
	--set "score.model=$T/live.model" 2>"$T/score.log" &
SCORE=$!
PIDS+=($SCORE)
wait_log "$T/score.log" "score: consuming .*model $A"
cp "$T/b.model" "$T/live.tmp" && mv "$T/live.tmp" "$T/live.model"
kill -HUP $SCORE
wait_log "$T/score.log" "score: model reloaded from $T/live.model: $A -> $B"
kill -TERM $SCORE
wait_exit $SCORE 30
[ "$RC" -eq 0 ] || fail "score exited $RC after SIGTERM"
ok "score: SIGHUP reloaded its model ($A -> $B), SIGTERM stopped it (exit 0)"

# version names the commit it was built from and the default model's id
if git rev-parse --short=12 HEAD >/dev/null 2>&1; then
	"$BW" version | head -n 1 | grep -q "(commit $(git rev-parse --short=12 HEAD))" ||
		fail "version: $("$BW" version | head -n 1), HEAD is $(git rev-parse --short=12 HEAD)"
fi
"$BW" version --set "score.model=$T/a.model" | grep -q "^default model $A ($T/a.model)" ||
	fail "version: $("$BW" version --set "score.model=$T/a.model")"
ok "version: $("$BW" version | head -n 1)"
echo "model_reload: ok"
