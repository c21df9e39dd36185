#!/usr/bin/env bash
# Ingest from a v1.1 length-delimited stream through drops, errors, a rate
# limit and a stall: every completed post arrives exactly once, bad lines go
# to the DLQ, and reconnect waits follow the ladder.
source "$(dirname "$0")/lib/ingest.bash"

start_broker 4
start_firehose v1 '200,send=300,bad=3,ctrl,then=dropmid;503;503;200,send=200,then=reset;429,retry-after=1;200,send=100,then=stall;200,send=50,then=hold' --accounts 40
start_ingest --source "http://127.0.0.1:$PORT/1.1/statuses/sample.json" --brokers "$BROKER" \
	--set ingest.lag_groups= "${FAST[@]}"
wait_log 'conn=7 completed' 20
sleep 0.5
stop_ingest
[ "$ISTATUS" -eq 0 ] || { cat "$T/ingest.err" >&2; fail "ingest exited $ISTATUS after SIGTERM"; }
ok "ingest exits 0 on SIGTERM with everything delivered"

# request shape
grep -q 'request GET /1.1/statuses/sample.json?delimited=length&stall_warnings=true auth=none ua=botwatch/' "$T/fh.log" \
	|| fail "v1.1 request lacks delimited=length / stall_warnings / user agent"
ok "delimited=length, stall_warnings=true, versioned User-Agent, no Authorization without credentials"

# exactly the completed posts, once each
completed_ids >"$T/want"
n=$(wc -l <"$T/want")
[ "$n" -eq 650 ] || fail "firehose completed $n posts, expected 650"
consume_ids posts "$n"
dups=$(uniq -d "$T/got" | wc -l)
[ "$dups" -eq 0 ] || fail "$dups duplicate post ids in Kafka"
cmp -s "$T/want" "$T/got" || { diff "$T/want" "$T/got" | head >&2; fail "ids in Kafka differ from the ids completed"; }
partial=$(awk '$3 == "partial" { print $4 }' "$T/fh.log")
grep -qx "$partial" "$T/got" && fail "the post cut mid-message ($partial) reached Kafka"
ok "$n posts in Kafka, exactly the ids completed before each drop, each once; the partial one absent"

# DLQ: exactly the bad lines
timeout 30 "$KCONSUME" -b "$BROKER" -t posts.dlq --raw -n 3 --idle-ms 2000 >"$T/dlq" 2>"$T/kc.err" || fail "DLQ: $(cat "$T/kc.err")"
[ "$(wc -l <"$T/dlq")" -eq 3 ] || fail "DLQ holds $(wc -l <"$T/dlq") records, expected 3"
[ "$(grep -c '"reason":"invalid_json"' "$T/dlq")" -eq 3 ] || fail "DLQ reasons: $(cat "$T/dlq")"
ok "DLQ holds exactly the 3 bad lines with reason invalid_json"

# ladder (order and bounds, not tight timings)
g0=$(gap_ms "conn=1 end dropmid" "conn=2 request"); [ "$g0" -lt 150 ] || fail "drop → reconnect took ${g0} ms (should be at once)"
g1=$(gap_ms 'conn=2 end error' 'conn=3 request'); g2=$(gap_ms 'conn=3 end error' 'conn=4 request')
[ "$g1" -ge 190 ] && [ "$g2" -ge 390 ] && [ "$g2" -gt "$g1" ] || fail "HTTP back-off not 200 then 400 ms: $g1, $g2"
g=$(gap_ms 'conn=4 end reset' 'conn=5 request'); [ "$g" -lt 150 ] || fail "reset → reconnect took ${g} ms"
g=$(gap_ms 'conn=5 end error' 'conn=6 request'); [ "$g" -ge 990 ] || fail "429 with Retry-After: 1 waited only ${g} ms"
g=$(gap_ms 'conn=6 completed' 'conn=7 request'); [ "$g" -ge 480 ] && [ "$g" -lt 4000 ] || fail "stall detected after ${g} ms (idle 500 ms)"
grep -q 'stream ended (stall)' "$T/ingest.err" || fail "stall not reported"
ok "waits: drop → ${g0} ms; 503 ${g1}/${g2} ms doubling; 429 honours Retry-After; stall detected"

# network errors (nothing listens on the port): +50 ms linear up to the 200 ms cap
closed=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
start_ingest --source "http://127.0.0.1:$closed/1.1/statuses/sample.json" --brokers "$BROKER" \
	--set ingest.lag_groups= "${FAST[@]}"
sleep 2
stop_ingest
waits=$(grep -o 'reconnecting in [0-9]* ms' "$T/ingest.err" | awk '{ print $3 }' | head -5 | tr '\n' ' ')
[ "$waits" = "50 100 150 200 200 " ] || fail "TCP-error waits were '$waits'"
[ "$ISTATUS" -eq 0 ] || fail "ingest exited $ISTATUS after SIGTERM while reconnecting"
ok "connection refused: waits 50, 100, 150, 200, 200 ms (linear to the cap); SIGTERM while waiting exits 0"

# regression (issue 20): Retry-After / x-rate-limit-reset were trusted without
# bound (86400000 s = a 1,000-day wait; 9223372036854775 overflowed); now a
# server's wait counts up to ingest.backoff.ratelimit_max_ms (1,200 ms here)
stop_firehose
start_firehose v1 '429,retry-after=9223372036854775;503,retry-after=86400000;420,reset=9000000000000000;200,send=5,then=hold'
start_ingest --source "http://127.0.0.1:$PORT/1.1/statuses/sample.json" --brokers "$BROKER" \
	--set ingest.lag_groups= "${FAST[@]}"
wait_log 'conn=4 completed' 15
stop_ingest
[ "$ISTATUS" -eq 0 ] || fail "ingest exited $ISTATUS after huge rate-limit hints"
waits=$(grep -o 'reconnecting in [0-9]* ms' "$T/ingest.err" | awk '{ print $3 }' | tr '\n' ' ')
[ "$waits" = "1200 1200 1200 " ] || fail "waits after huge Retry-After / x-rate-limit-reset were '$waits'"
g=$(gap_ms 'conn=1 end error' 'conn=2 request'); [ "$g" -ge 1150 ] && [ "$g" -lt 3000 ] ||
	fail "429 with Retry-After 9223372036854775 waited ${g} ms"
ok "huge Retry-After and x-rate-limit-reset values wait ratelimit_max_ms (1200 ms), no overflow"
