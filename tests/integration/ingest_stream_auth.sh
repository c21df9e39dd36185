#!/usr/bin/env bash
# Other stream shapes and credentials: X API v2 lines with a Bearer token
# (never logged) and the fields requested automatically, a 420 with
# x-rate-limit-reset, Mastodon SSE with
# heartbeats, v1.1 statuses/filter as a signed OAuth 1.0a POST, and a 406
# that is never retried.
source "$(dirname "$0")/lib/ingest.bash"

start_broker 2
SECRET=tok-$RANDOM-secret

# --- v2 with a bearer token -------------------------------------------------
start_firehose v2 '200,send=120,ctrl,then=close;420,reset=2;200,send=30,then=hold' --accounts 7
BOTWATCH_INGEST_BEARER_TOKEN=$SECRET start_ingest --source "http://127.0.0.1:$PORT/2/tweets/search/stream" \
	--brokers "$BROKER" --topic posts.v2 --set ingest.lag_groups= "${FAST[@]}"
wait_log 'conn=3 completed' 10
sleep 0.3
stop_ingest
[ "$ISTATUS" -eq 0 ] || fail "v2 ingest exited $ISTATUS"
g=$(gap_ms 'conn=2 end error' 'conn=3 request'); [ "$g" -ge 990 ] || fail "420 with x-rate-limit-reset now+2 s waited only ${g} ms"
grep -q 'conn=1 request GET /2/tweets/search/stream?expansions=author_id.*user.fields=created_at.*public_metrics.* auth=Bearer ' "$T/fh.log" \
	|| fail "v2 request lacks expansions/user.fields or the Bearer header: $(grep request "$T/fh.log" | head -1)"
grep -q "$SECRET" "$T/ingest.err" "$T/ingest.out" && fail "the bearer token appears in ingest's output"
g=$(gap_ms 'conn=1 end close' 'conn=2 request'); [ "$g" -lt 150 ] || fail "clean close → reconnect took ${g} ms"
completed_ids >"$T/want"
consume_ids posts.v2 "$(wc -l <"$T/want")"
cmp -s "$T/want" "$T/got" || fail "v2: ids in Kafka differ from the ids completed"
ok "v2: $(wc -l <"$T/got") posts exactly once; Bearer sent, never logged; a clean close is a drop (reconnect at once); 420 honours x-rate-limit-reset"
stop_firehose

# --- credentials in the source URL (issue 20) -----------------------------------
# user:pass@ and access_token= were logged on every connect and written into the
# DLQ records' key and `source`: now redacted everywhere
start_firehose ndjson '200,send=20,bad=3,then=close;200,send=5,then=hold'
start_ingest --source "http://bob:$SECRET-pw@127.0.0.1:$PORT/stream?access_token=$SECRET-at&x=1" \
	--brokers "$BROKER" --topic posts.cred --set ingest.lag_groups= \
	--set ingest.dlq_topic=posts.cred.dlq "${FAST[@]}"
wait_log 'conn=2 completed' 10
sleep 0.3
stop_ingest
[ "$ISTATUS" -eq 0 ] || fail "ingest with credentials in the URL exited $ISTATUS"
grep -q 'conn=1 request GET /stream?access_token='"$SECRET"'-at&x=1' "$T/fh.log" ||
	fail "the token was not sent: $(grep request "$T/fh.log" | head -1)"
grep -q "connecting to http://\*\*\*@127.0.0.1:$PORT/stream?access_token=\*\*\*&x=1" "$T/ingest.err" ||
	fail "connect line not redacted as expected: $(grep connecting "$T/ingest.err" | head -1)"
timeout 60 "$KCONSUME" -b "$BROKER" -t posts.cred.dlq --keyed -n 3 --idle-ms 3000 --timeout-ms 30000 \
	>"$T/dlq" 2>"$T/kc.err" || fail "DLQ: $(cat "$T/kc.err")"
[ "$(wc -l <"$T/dlq")" -eq 3 ] || fail "expected 3 DLQ records: $(cat "$T/dlq")"
grep -q '"source":"http://\*\*\*@127.0.0.1:'"$PORT"'/stream?access_token=\*\*\*&x=1"' "$T/dlq" ||
	fail "DLQ source not redacted: $(head -1 "$T/dlq")"
[ "$(cut -f1 "$T/dlq" | sort -u)" = "http://***@127.0.0.1:$PORT/stream?access_token=***&x=1" ] ||
	fail "DLQ keys not redacted: $(cut -f1 "$T/dlq" | sort -u)"
grep -q "$SECRET" "$T/ingest.err" "$T/ingest.out" "$T/dlq" && fail "a credential of the URL leaked: $(grep -h "$SECRET" "$T/ingest.err" "$T/dlq" | head -2)"
ok "credentials in the source URL: sent to the server, redacted in every log line and in the DLQ key and source"
stop_firehose

# --- Mastodon SSE -------------------------------------------------------------
start_firehose sse '200,send=80,ctrl,then=dropmid;200,send=20,then=hold' --accounts 5
start_ingest --source "http://127.0.0.1:$PORT/api/v1/streaming/public" --brokers "$BROKER" \
	--topic posts.sse --set ingest.lag_groups= "${FAST[@]}"
wait_log 'conn=2 completed' 10
sleep 0.3
stop_ingest
[ "$ISTATUS" -eq 0 ] || fail "SSE ingest exited $ISTATUS"
completed_ids >"$T/want"
consume_ids posts.sse "$(wc -l <"$T/want")"
cmp -s "$T/want" "$T/got" || fail "SSE: ids in Kafka differ from the ids completed"
ok "SSE: $(wc -l <"$T/got") Mastodon posts exactly once across a mid-event drop"
stop_firehose

# --- v1.1 statuses/filter with OAuth 1.0a --------------------------------------
start_firehose v1 '200,send=10,then=hold'
start_ingest --source "http://127.0.0.1:$PORT/1.1/statuses/filter.json" --brokers "$BROKER" \
	--topic posts.v1f --set ingest.lag_groups= --set ingest.track=bots,#elections \
	--set ingest.oauth.consumer_key=ck --set ingest.oauth.consumer_secret=cs \
	--set ingest.oauth.token=tk --set ingest.oauth.token_secret=ts "${FAST[@]}"
wait_log 'conn=1 completed' 10
stop_ingest
grep -q 'request POST /1.1/statuses/filter.json auth=OAuth .* body=track=bots%2C%23elections&delimited=length&stall_warnings=true' "$T/fh.log" \
	|| fail "filter request: $(grep request "$T/fh.log")"
ok "statuses/filter: OAuth-signed POST with track, delimited=length, stall_warnings"
stop_firehose

# --- 406 is never retried --------------------------------------------------------
start_firehose ndjson '406;200,send=5,then=hold'
timeout 20 "$BW" ingest --source "http://127.0.0.1:$PORT/stream" --brokers "$BROKER" \
	--set ingest.lag_groups= "${FAST[@]}" >"$T/ingest.out" 2>"$T/ingest.err"
st=$?
[ "$st" -eq 1 ] || fail "406: ingest exited $st, expected 1"
grep -q 'not retried' "$T/ingest.err" || fail "406: no clear message"
[ "$(grep -c ' request ' "$T/fh.log")" -eq 1 ] || fail "406 was retried"
ok "406: one request, exit 1 with a clear message"

# --- botwatch rules against the filtered-stream rules endpoint ----------------------
R=(--set "ingest.rules_url=http://127.0.0.1:$PORT/2/tweets/search/stream/rules")
BOTWATCH_INGEST_BEARER_TOKEN=$SECRET "$BW" rules add "${R[@]}" --dry-run 'cats lang:en' --tag cats >"$T/r" 2>&1 || fail "rules add --dry-run: $(cat "$T/r")"
grep -q '"created":1' "$T/r" || fail "dry run summary: $(cat "$T/r")"
BOTWATCH_INGEST_BEARER_TOKEN=$SECRET "$BW" rules list "${R[@]}" >"$T/r" 2>&1 || fail "rules list: $(cat "$T/r")"
[ ! -s "$T/r" ] || fail "a dry run changed the rules: $(cat "$T/r")"
BOTWATCH_INGEST_BEARER_TOKEN=$SECRET "$BW" rules add "${R[@]}" 'cats lang:en' --tag cats '#bots' >"$T/r" 2>&1 || fail "rules add: $(cat "$T/r")"
BOTWATCH_INGEST_BEARER_TOKEN=$SECRET "$BW" rules list "${R[@]}" >"$T/r" 2>&1 || fail "rules list: $(cat "$T/r")"
[ "$(wc -l <"$T/r")" -eq 2 ] && grep -qP '^\d+\tcats lang:en\tcats$' "$T/r" || fail "rules list: $(cat "$T/r")"
id=$(awk -F'\t' '$2 == "#bots" { print $1 }' "$T/r")
BOTWATCH_INGEST_BEARER_TOKEN=$SECRET "$BW" rules delete "${R[@]}" "$id" >"$T/r" 2>&1 || fail "rules delete: $(cat "$T/r")"
BOTWATCH_INGEST_BEARER_TOKEN=$SECRET "$BW" rules list "${R[@]}" >"$T/r" 2>&1
[ "$(wc -l <"$T/r")" -eq 1 ] || fail "after delete: $(cat "$T/r")"
[ "$(grep -c 'rules POST' "$T/fh.log")" -eq 3 ] && ! grep -q 'request .*/rules.* auth=none' "$T/fh.log" || fail "rules requests: $(grep rules "$T/fh.log")"
grep -q "$SECRET" "$T/r" && fail "rules printed the token"
"$BW" rules frobnicate >"$T/r" 2>&1; [ $? -eq 2 ] || fail "unknown rules action is not a usage error"
ok "rules: dry-run changes nothing; add, list, delete with the Bearer token"
