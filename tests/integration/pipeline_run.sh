#!/usr/bin/env bash
# `botwatch run` on its embedded defaults over the bundled demo sample:
#  1. long-lived: the API (port 0, read from the log) ends up serving exactly the
#     records `botwatch replay --out` writes, GET /v1/accounts/{id} of a demo
#     account included; SIGTERM then stops it cleanly (exit 0, drain logged);
#  2. --exit-when-idle, on the same feature state (whose stored offsets belong to
#     the first run's broker), exits 0 by itself once everything is scored, and
#     its new store (served by `botwatch serve`) holds the same records.
source "$(dirname "$0")/lib/pipeline.bash"
expected

# 1. long-lived run, then SIGTERM
# (no `timeout` wrapper: it would answer the SIGTERM itself; the trap bounds the run)
"$BW" run --listen 127.0.0.1:0 --store "$T/store1" "${KAFKA_FAST[@]}" \
	--set "features.state_dir=$T/state1" 2>"$T/run1.log" &
RUN=$!
PIDS+=($RUN)
for _ in $(seq 100); do grep -q '"run: API listening' "$T/run1.log" && break; sleep 0.1; done
PORT=$(grep -o '"run: API listening on [^"]*(port [0-9]*)' "$T/run1.log" | grep -o 'port [0-9]*' | cut -d' ' -f2)
[ -n "$PORT" ] || fail "run did not log its API address"
URL=http://127.0.0.1:$PORT
poll_export "$URL" 40 "$T/expected.ndjson"
same_records "$T/export.ndjson" "$T/expected.ndjson"
cmp -s "$T/export.ndjson" "$T/expected.ndjson" || fail "export order differs from replay's id order"
ok "run serves the replay's $N_EXPECTED records"
ID=$(python3 -c 'import json,sys; print(next(json.loads(l)["user_id"] for l in open(sys.argv[1]) if json.loads(l)["status"] == "ok"))' "$T/expected.ndjson")
curl -sf "$URL/v1/accounts/$ID" >"$T/one.json" || fail "GET /v1/accounts/$ID"
python3 - "$T/one.json" "$T/expected.ndjson" "$ID" <<'PY' || fail "GET /v1/accounts/$ID differs from replay"
import json, sys
got = json.load(open(sys.argv[1]))
want = next(json.loads(l) for l in open(sys.argv[2]) if json.loads(l)["user_id"] == sys.argv[3])
assert got == want and got["score"] is not None, (got, want)
PY
ok "GET /v1/accounts/$ID has replay's score"
# (the counter moves once the batch is also delivered to the scores topic, just after
# the store commit the export saw)
for _ in $(seq 40); do
	curl -sf "$URL/metrics" >"$T/metrics.txt" || fail "GET /metrics"
	grep -q "^botwatch_score_accounts_scored_total $N_EXPECTED\$" "$T/metrics.txt" && break
	sleep 0.25
done
grep -q "^botwatch_score_accounts_scored_total $N_EXPECTED\$" "$T/metrics.txt" ||
	fail "/metrics: $(grep botwatch_score_accounts "$T/metrics.txt")"
ok "/metrics counts $N_EXPECTED accounts scored"
kill -TERM $RUN
wait_exit $RUN 40
[ "$RC" -eq 0 ] || fail "run exited $RC after SIGTERM"
grep -q '"run: signal: stopping ingest, draining' "$T/run1.log" || fail "no ordered shutdown logged"
ok "SIGTERM: clean shutdown"

# 2. --exit-when-idle
"$BW" run --exit-when-idle --listen 127.0.0.1:0 --store "$T/store2" "${KAFKA_FAST[@]}" \
	--set "features.state_dir=$T/state1" 2>"$T/run2.log" &
RUN=$!
PIDS+=($RUN)
wait_exit $RUN 50
[ "$RC" -eq 0 ] || fail "run --exit-when-idle exited $RC"
grep -q "accounts scored" "$T/run2.log" || fail "no summary"
"$BW" serve --store "$T/store2" --listen 127.0.0.1:0 --port-file "$T/port" 2>"$T/serve.log" &
PIDS+=($!)
wait_for "$T/port"
poll_export "http://127.0.0.1:$(cat "$T/port")" 5
cmp -s "$T/export.ndjson" "$T/expected.ndjson" || fail "--exit-when-idle store differs from replay"
ok "run --exit-when-idle stores the replay's records"
