#!/usr/bin/env bash
# The embedded broker keeps only 100,000 message sets / 5 MiB per partition
# (60,000 uncompressed posts, ~170 bytes each, are well over 5 MiB).
# Ingest must pause while a watched consumer group lags (and lose nothing),
# and must fail loudly when it finds messages pruned before a group read them.
source "$(dirname "$0")/lib/ingest.bash"

hwm() { # high watermark of $1 partition 0
	kcat -Q -b "$BROKER" -t "$1:0:-1" 2>/dev/null | awk '{ print $NF }'
}

# --- pause on lag, resume when the group catches up -----------------------------
start_broker 1
start_firehose ndjson '200,send=10000,then=hold' --accounts 300
start_ingest --source "http://127.0.0.1:$PORT/stream" --brokers "$BROKER" \
	--set ingest.lag_groups=bp-group --set ingest.max_consumer_lag=1000 "${FAST[@]}"
for i in $(seq 1 100); do grep -q 'paused: consumer group bp-group' "$T/ingest.err" && break; sleep 0.1; done
grep -q 'paused: consumer group bp-group' "$T/ingest.err" || fail "ingest did not pause on lag"
sleep 1
h=$(hwm posts)
[ -n "$h" ] && [ "$h" -gt 0 ] && [ "$h" -le 1500 ] || fail "with nobody consuming, $h messages were produced (limit 1000)"
kill -0 "$IPID" || fail "ingest died while paused"
ok "paused at $h messages while group bp-group had read nothing"
timeout 60 "$KCONSUME" -b "$BROKER" -t posts -g bp-group -n 10000 --list --idle-ms 5000 --timeout-ms 50000 \
	>"$T/got.raw" 2>"$T/kc.err" || fail "group bp-group: $(cat "$T/kc.err")"
awk '{ print $1 }' "$T/got.raw" | sort -u | wc -l >"$T/n"
[ "$(cat "$T/n")" -eq 10000 ] || fail "group read $(cat "$T/n") distinct posts, expected 10000"
stop_ingest
[ "$ISTATUS" -eq 0 ] || fail "ingest exited $ISTATUS"
ok "resumed as the group consumed: 10000 of 10000 posts, none lost"
stop_firehose

# --- pruning is detected and fatal ------------------------------------------------
kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null
start_broker 1
start_firehose ndjson '200,send=60000,then=hold' --accounts 1000
timeout 60 "$BW" ingest --source "http://127.0.0.1:$PORT/stream" --brokers "$BROKER" \
	--set ingest.lag_groups=absent-group --set ingest.max_consumer_lag=0 \
	--set kafka.compression.codec=none "${FAST[@]}" \
	>"$T/ingest.out" 2>"$T/ingest.err"
st=$?
[ "$st" -eq 1 ] || fail "ingest exited $st after the broker pruned unread posts (expected 1)"
grep -q 'posts lost: consumer group absent-group had not read' "$T/ingest.err" || fail "no loud loss message: $(tail -3 "$T/ingest.err")"
ok "messages pruned before group absent-group read them: ingest stops with exit 1 and says so"
