#!/usr/bin/env bash
# Ingest from a loopback Bluesky Jetstream (tests/tools/jetstream_server.py)
# through drops, a close frame, an HTTP error and a stall, with zstd messages
# and a dictionary: every post, repost and profile the server sent reaches
# Kafka (each reconnection resumes from the cursor less the overlap, so the
# events at the seam arrive twice, as Jetstream's at-least-once allows), the
# broken events reach the DLQ, the request carries wantedCollections and
# compress=true, and the cursor file holds the last event's time_us.
source "$(dirname "$0")/lib/ingest.bash"
JS=tests/tools/jetstream_server.py
FIX=../shared/data/fixtures/bluesky_jetstream

# a zstd dictionary trained on Jetstream events, as Jetstream publishes one
python3 "$JS" --port-file "$T/p0" --log "$T/js0.log" --fixture "$FIX/jetstream_v1_production_window_152_events.jsonl" \
	--generate 600 --accounts 30 --seed 7 --dump "$T/train.ndjson" &
TPID=$!; PIDS+=($TPID)
wait_for "$T/p0"; kill "$TPID"
mkdir "$T/samples" && split -l 1 -a 4 "$T/train.ndjson" "$T/samples/s"
zstd -q --train -o "$T/dict" --maxdict=32768 "$T/samples"/* 2>"$T/train.err" || fail "zstd --train: $(cat "$T/train.err")"

start_broker 3
rm -f "$T/port"
python3 "$JS" --port-file "$T/port" --log "$T/fh.log" --dictionary "$T/dict" --bad-every 97 \
	--fixture "$FIX/jetstream_v1_production_window_152_events.jsonl" --generate 900 --accounts 40 \
	--dump "$T/dump.ndjson" --plan 'send=250,then=drop;send=150,then=close;status=503;send=150,then=stall;send=all,then=hold' &
PIDS+=($!)
wait_for "$T/port" 20
PORT=$(cat "$T/port")
start_ingest --source "ws://127.0.0.1:$PORT/subscribe" --brokers "$BROKER" --set ingest.lag_groups= "${FAST[@]}" \
	--set ingest.idle_timeout_ws_ms=500 --set ingest.jetstream.compress=true \
	--set "ingest.jetstream.zstd_dictionary=$T/dict" --set "ingest.jetstream.cursor_file=$T/cursor" \
	--set ingest.jetstream.cursor_overlap_ms=5 --set ingest.jetstream.cursor_every_ms=100
wait_log 'conn=5 sent' 30
sleep 1.5 # three stall periods: the server's pings keep conn 5 open
last=$(awk '$2 == "conn=5" && $3 == "sent" { sub("last=", "", $6); print $6 }' "$T/fh.log")
for _ in $(seq 100); do grep -qx "cursor $last" "$T/cursor" 2>/dev/null && break; sleep 0.1; done
grep -qx "cursor $last" "$T/cursor" || fail "cursor file holds '$(cat "$T/cursor" 2>/dev/null)', want 'cursor $last'"
stop_ingest
[ "$ISTATUS" -eq 0 ] || { tail -5 "$T/ingest.err" >&2; fail "ingest exited $ISTATUS after SIGTERM"; }
wait_log 'conn=5 pong' 5
[ "$(grep -c ' request ' "$T/fh.log")" -eq 5 ] || fail "$(grep -c ' request ' "$T/fh.log") connections, expected 5"
ok "five connections, the last kept open by ping/pong; the cursor file holds the last event's time_us ($last); exit 0 on SIGTERM"

# requests: the wanted collections, compression, and from the 2nd on a cursor
grep -q 'conn=1 request /subscribe?wantedCollections=app.bsky.feed.post&wantedCollections=app.bsky.feed.repost&wantedCollections=app.bsky.actor.profile&compress=true ua=botwatch/' "$T/fh.log" ||
	fail "first request: $(grep 'conn=1 request' "$T/fh.log")"
python3 - "$T/fh.log" <<'PY'

import re, sys
log = open(sys.argv[1]).read().splitlines()
sent = {int(m.group(1)): int(m.group(2)) for l in log
        for m in [re.search(r"conn=(\d+) sent \d+ first=\d+ last=(\d+)", l)] if m}
asked = {int(m.group(1)): int(m.group(2)) for l in log
         for m in [re.search(r"conn=(\d+) request \S*cursor=(\d+)", l)] if m}
# conn 2 resumes 5 ms before conn 1's last event; 3 (503) and 4 before conn 2's last
assert asked[2] == sent[1] - 5000, (asked, sent)
assert asked[3] == sent[2] - 5000 and asked[4] == sent[2] - 5000, (asked, sent)
assert asked[5] == sent[4] - 5000, (asked, sent)
PY
[ $? -eq 0 ] || { cat "$T/fh.log" >&2; fail "cursor resume"; }
ok "each reconnection asks for cursor = last event read - 5 ms (the overlap)"

# the ladder: drop and close at once, 503 back-off, stall after 500 ms
g=$(gap_ms 'conn=1 end drop' 'conn=2 request'); [ "$g" -lt 150 ] || fail "drop → reconnect took ${g} ms"
g=$(gap_ms 'conn=3 end status' 'conn=4 request'); [ "$g" -ge 190 ] || fail "503 → reconnect after only ${g} ms"
g=$(gap_ms 'conn=4 sent' 'conn=5 request'); [ "$g" -ge 480 ] && [ "$g" -lt 4000 ] || fail "stall detected after ${g} ms"
grep -q 'stream ended (stall)' "$T/ingest.err" || fail "stall not reported"
ok "drop → reconnect at once, 503 → 200 ms back-off, stall detected after 500 ms"

# Kafka holds every record the dump decodes to (posts, reposts, profiles), the
# seam events at most twice; the DLQ holds exactly the broken events
"$BW" decode "$T/dump.ndjson" 2>/dev/null | python3 -c '
import json, sys
for l in sys.stdin:
    j = json.loads(l)
    print(j.get("id") or "-", j["author"]["id"], j["kind"])' | sort -u >"$T/want"
n=$(wc -l <"$T/want")
[ "$n" -gt 500 ] || fail "the dump decodes to only $n records"
timeout 60 "$KCONSUME" -b "$BROKER" -t posts --list --idle-ms 3000 --timeout-ms 30000 >"$T/got.raw" 2>"$T/kc.err" ||
	fail "kconsume: $(cat "$T/kc.err")"
sort "$T/got.raw" >"$T/got.all"
sort -u "$T/got.all" >"$T/got"
cmp -s "$T/want" "$T/got" || { diff "$T/want" "$T/got" | head >&2; fail "records in Kafka differ from the dump's"; }
# (profile snapshots have no id: an account's several snapshots are not duplicates)
dups=$(( $(grep -vc '^- ' "$T/got.all") - $(grep -vc '^- ' "$T/got") ))
[ "$dups" -le 24 ] || fail "$dups duplicate posts: more than the 4 seams x 6 events of overlap"
bad=$(grep -c '"commit":{"rev":$' "$T/dump.ndjson")
timeout 30 "$KCONSUME" -b "$BROKER" -t posts.dlq --raw --idle-ms 2000 --timeout-ms 20000 >"$T/dlq" 2>"$T/kc.err"
got_bad=$(grep -c '"reason":"invalid_json"' "$T/dlq")
[ "$got_bad" -ge "$bad" ] && [ "$got_bad" -le $((bad + 4)) ] && [ "$(wc -l <"$T/dlq")" -eq "$got_bad" ] ||
	fail "DLQ: $got_bad invalid_json records of $(wc -l <"$T/dlq") for $bad broken events"
ok "Kafka holds exactly the dump's $n records (+$dups at the resume seams), all $bad broken events dead-lettered as invalid_json"

# a cursor file is resumed by a new process
rm -f "$T/fh.log"
start_ingest --source "ws://127.0.0.1:$PORT/subscribe" --brokers "$BROKER" --topic posts.resume \
	--set ingest.lag_groups= "${FAST[@]}" --set ingest.jetstream.compress=true \
	--set "ingest.jetstream.zstd_dictionary=$T/dict" --set "ingest.jetstream.cursor_file=$T/cursor" \
	--set ingest.jetstream.cursor_overlap_ms=5
wait_log " sent " 20
stop_ingest
grep -m1 ' request ' "$T/fh.log" | grep -q "request /subscribe?.*&cursor=$((last - 5000)) " ||
	fail "restart did not resume: $(grep -m1 ' request ' "$T/fh.log")"
ok "a restarted ingest resumes from the cursor file less the overlap"

# wss://: TLS with certificate and host-name verification (OpenSSL's default
# verify paths honour SSL_CERT_FILE); an untrusted certificate is refused
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 2 \
	-subj /CN=localhost -addext subjectAltName=DNS:localhost 2>/dev/null || fail "openssl req"
rm -f "$T/tport" "$T/fh.log"
python3 "$JS" --port-file "$T/tport" --log "$T/fh.log" --tls-cert "$T/cert.pem" --tls-key "$T/key.pem" \
	--generate 60 --accounts 6 --plan 'send=all,then=hold' &
PIDS+=($!)
wait_for "$T/tport" 20
SSL_CERT_FILE="$T/cert.pem" start_ingest --source "wss://localhost:$(cat "$T/tport")/subscribe" --brokers "$BROKER" \
	--topic posts.tls --set ingest.lag_groups= "${FAST[@]}"
wait_log 'conn=1 pong' 20
stop_ingest
[ "$ISTATUS" -eq 0 ] || fail "wss ingest exited $ISTATUS"
sent=$(awk '$3 == "sent" { print $4 }' "$T/fh.log")
grep -q "botwatch ingest: [1-9][0-9]* post(s), 0 dead-lettered" "$T/ingest.err" || fail "wss: $(tail -1 "$T/ingest.err")"
start_ingest --source "wss://localhost:$(cat "$T/tport")/subscribe" --brokers "$BROKER" --topic posts.tls2 \
	--set ingest.lag_groups= "${FAST[@]}"
for _ in $(seq 40); do grep -q 'certificate verify failed' "$T/ingest.err" && break; sleep 0.1; done
stop_ingest
grep -q 'TLS handshake with localhost failed: certificate verify failed' "$T/ingest.err" ||
	fail "an untrusted certificate was not refused: $(tail -2 "$T/ingest.err")"
ok "wss:// reads the $sent events over TLS from a trusted certificate and refuses an untrusted one"
