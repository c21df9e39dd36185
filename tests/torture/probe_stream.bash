# Stream faults (issue 20, item 3), sourced by tests/torture/torture.sh: one
# `botwatch ingest` per framing against the loopback firehose
# (tests/tools/firehose.c), whose connection plan serves drops, a reset, a
# stall, 401 / 503 / 420 / 429 answers, bad JSON, random bytes, a 10 MB unit,
# posts with invalid UTF-8 and JSON nested 5,000 deep. Checked per framing:
#   - the posts in Kafka are exactly the ids the firehose completed, each once
#     (lost = completed and missing, duplicated = counted twice; a post cut by a
#     drop or a hostile unit that reached Kafka counts as a difference)
#   - the dead letters match what was sent: too_large = the 10 MB units,
#     too_deep = the nested ones, invalid_utf8 >= the bad-UTF-8 posts, and the
#     total = every hostile unit (bad JSON and random bytes land as invalid_json,
#     unknown_shape or invalid_utf8, by their bytes)
#   - every wait between connections follows docs/INGEST.md ("Connection
#     discipline") with the tests' scaled-down settings: a drop or reset of an
#     established stream reconnects at once, HTTP errors wait http_initial_ms
#     then double, 420/429 wait ratelimit_initial_ms and never less than
#     Retry-After, a stall is cut after the idle timeout
#   - ingest exits 0 on SIGTERM and its peak RSS stays far below the 10 MB
#     unit count (skipped, not buffered)
# Uses torture.sh's start_broker, row, log, $BUILD, $BW, $T.

# the scaled-down ladder (the same as tests/integration/lib/ingest.bash)
STREAM_FAST=(--set ingest.backoff.tcp_step_ms=50 --set ingest.backoff.tcp_max_ms=200
	--set ingest.backoff.http_initial_ms=200 --set ingest.backoff.http_max_ms=800
	--set ingest.backoff.ratelimit_initial_ms=300 --set ingest.backoff.ratelimit_max_ms=1200
	--set ingest.idle_timeout_v1_ms=500 --set ingest.idle_timeout_v2_ms=500
	--set ingest.idle_timeout_sse_ms=500 --set ingest.connect_timeout_ms=1000)
# connection 1: posts and every hostile unit, then a drop mid-post; 2: 401; 3: 503;
# 4: posts, reset; 5: 420; 6: 429 Retry-After 1; 7: posts, stall; 8: posts, held open
STREAM_PLAN='200,send=300,bad=2,utf8=2,deep=2,garbage=3,big=1,ctrl,then=dropmid;401;503;200,send=200,big=1,then=reset;420;429,retry-after=1;200,send=200,utf8=1,then=stall;200,send=100,then=hold'
# the waits the ladder gives these seven ends (drop: at once, starting over; 401,
# 503: http_initial_ms doubling; reset: at once; 420: ratelimit_initial_ms;
# 429: Retry-After 1 s over the doubled 600 ms; stall: at once)
STREAM_WAITS="0 200 400 0 300 1000 0"
# "name min max": the wait before connection N+1 (ms) after connection N ended
STREAM_LADDER=("drop 0 400" "401 190 1200" "503 390 1600" "reset 0 400" "420 290 1300"
	"429 990 2500" "stall 480 4000")

# gap_fh LOG A B: ms between the first line matching A and the next matching B
gap_fh() {
	awk -v a="$2" -v b="$3" '
		start == "" && $0 ~ a { sub("t=", "", $1); start = $1; next }
		start != "" && $0 ~ b { sub("t=", "", $1); print $1 - start; exit }' "$1"
}

# stream_round FRAMING PATH: one ingest against one firehose; adds a row
stream_round() {
	local fr=$1 path=$2 d=$T/stream-$1 lost dup extra bad="" rss=0 rc i
	mkdir -p "$d"
	"$BUILD/tests/firehose" --framing "$fr" --plan "$STREAM_PLAN" --port-file "$d/port" \
		--log "$d/fh.log" --accounts 60 --big-bytes 10485760 &
	local fpid=$!
	ALLPIDS+=($fpid)
	for ((i = 0; i < 100; i++)); do [ -s "$d/port" ] && break; sleep 0.05; done
	"$BW" ingest --source "http://127.0.0.1:$(cat "$d/port")$path" --brokers "$B" \
		--topic "posts.$fr" --set "ingest.dlq_topic=posts.$fr.dlq" --set ingest.lag_groups= \
		"${STREAM_FAST[@]}" >"$d/ingest.out" 2>"$d/ingest.err" &
	local ipid=$!
	ALLPIDS+=($ipid)
	for ((i = 0; i < 600; i++)); do grep -q 'conn=8 completed' "$d/fh.log" 2>/dev/null && break; sleep 0.05; done
	sleep 0.5
	rss=$(awk '/VmHWM/ { print int($2 / 1024) }' "/proc/$ipid/status" 2>/dev/null)
	kill -TERM "$ipid"; wait "$ipid"; rc=$?
	kill "$fpid" 2>/dev/null; wait "$fpid" 2>/dev/null

	local crashes=0
	[ "$rc" -eq 0 ] || { crashes=$((rc > 128)); bad+=" ingest exit $rc after SIGTERM;"; }
	grep -q 'conn=8 completed' "$d/fh.log" || bad+=" the plan did not reach connection 8;"

	# posts: exactly the completed ids, once each
	awk '$3 == "completed" { split($4, r, "-"); for (i = r[1]; i <= r[2]; i++) print i }' \
		"$d/fh.log" | sort >"$d/want"
	local n; n=$(wc -l <"$d/want")
	# dead letters: what was sent (summed from the firehose log)
	local sent_big sent_deep sent_utf8 sent_all
	sum() { awk -v k="$1" '$3 == k { s += $4 } END { print s + 0 }' "$d/fh.log"; }
	sent_big=$(sum big) sent_deep=$(sum deep) sent_utf8=$(sum utf8)
	sent_all=$((sent_big + sent_deep + sent_utf8 + $(sum bad) + $(sum garbage)))
	# both topics at once, each asked for one more than expected: an extra
	# record shows (the read then ends after 1.5 s without one)
	timeout 60 "$BUILD/tests/kconsume" -b "$B" -t "posts.$fr" --list -n "$((n + 1))" --idle-ms 1500 \
		--timeout-ms 30000 >"$d/got.raw" 2>"$d/kc.err" &
	local kc=$!
	timeout 60 "$BUILD/tests/kconsume" -b "$B" -t "posts.$fr.dlq" --raw -n "$((sent_all + 1))" \
		--idle-ms 1500 --timeout-ms 30000 >"$d/dlq" 2>"$d/kcd.err"
	wait "$kc"
	awk '{ print $1 }' "$d/got.raw" | sort >"$d/got"
	lost=$(comm -23 "$d/want" <(sort -u "$d/got") | wc -l)
	dup=$(( $(wc -l <"$d/got") - $(sort -u "$d/got" | wc -l) ))
	extra=$(comm -13 "$d/want" <(sort -u "$d/got") | wc -l)
	[ "$extra" -eq 0 ] || bad+=" $extra posts in Kafka the firehose never completed;"

	local dl_all dl_big dl_deep dl_utf8
	dl_all=$(wc -l <"$d/dlq")
	dl_big=$(grep -c '"reason":"too_large"' "$d/dlq")
	dl_deep=$(grep -c '"reason":"too_deep"' "$d/dlq")
	dl_utf8=$(grep -c '"reason":"invalid_utf8"' "$d/dlq")
	[ "$dl_all" -eq "$sent_all" ] && [ "$dl_big" -eq "$sent_big" ] && [ "$dl_deep" -eq "$sent_deep" ] &&
		[ "$dl_utf8" -ge "$sent_utf8" ] ||
		bad+=" DLQ $dl_all (too_large $dl_big, too_deep $dl_deep, invalid_utf8 $dl_utf8) for $sent_all sent ($sent_big big, $sent_deep deep, $sent_utf8 bad UTF-8);"

	# the ladder: connection k's end to connection k+1's request
	local k=1 spec name lo hi g waits=""
	for spec in "${STREAM_LADDER[@]}"; do
		read -r name lo hi <<<"$spec"
		if [ "$name" = stall ]; then
			g=$(gap_fh "$d/fh.log" "conn=$k completed" "conn=$((k + 1)) request")
		else
			g=$(gap_fh "$d/fh.log" "conn=$k end" "conn=$((k + 1)) request")
		fi
		waits+=" $name ${g:-?}"
		[ -n "$g" ] && [ "$g" -ge "$lo" ] && [ "$g" -le "$hi" ] ||
			bad+=" wait after $name ${g:-?} ms, not in [$lo, $hi];"
		k=$((k + 1))
	done
	grep -q 'stream ended (stall)' "$d/ingest.err" || bad+=" stall not reported;"
	# the waits ingest chose, exactly the ladder of docs/INGEST.md
	local chose
	chose=$(grep -o 'reconnecting in [0-9]* ms' "$d/ingest.err" | awk '{ printf "%s ", $3 }' | cut -d' ' -f1-7)
	[ "$chose" = "$STREAM_WAITS" ] || bad+=" waits chosen '$chose', the ladder says '$STREAM_WAITS';"
	# a 10 MB unit is skipped without being buffered
	[ "${rss:-0}" -gt 0 ] && [ "$rss" -lt 200 ] || bad+=" peak RSS ${rss:-?} MB;"

	local v=pass
	[ "$lost" -eq 0 ] && [ "$dup" -eq 0 ] && [ "$crashes" -eq 0 ] && [ -z "$bad" ] || v=FAIL
	[ -z "$bad" ] || log "stream/$fr:$bad"
	row "stream/$fr" 8 "$lost" "$dup" "$crashes" "$v" \
		"$n posts, DLQ $dl_all/$sent_all (too_large $dl_big, too_deep $dl_deep, invalid_utf8 $dl_utf8); waits ms:$waits; peak RSS ${rss:-?} MB"
}

probe_stream() {
	log "stream: drops, stalls, 401/503/420/429, garbage, 10 MB units, bad UTF-8, deep nesting"
	start_broker
	stream_round v1 /1.1/statuses/sample.json
	if [ "$QUICK" -eq 0 ]; then
		stream_round ndjson /stream
		stream_round sse /api/v1/streaming/public
	fi
	kill "$BPID" 2>/dev/null; wait "$BPID" 2>/dev/null
}

# durable/run-live (issue 20): `botwatch run` on a live stream with the
# embedded broker, killed with -9 mid-stream. What the broker held in memory
# and the features stage had not folded is lost, by design (docs/PIPELINE.md,
# Failures): the row checks that run says so at start-up ("NOT DURABLE") and
# prints how many completed posts the store lacks after the kill (a measured
# figure, not a failure). The durable alternative, the stages as separate
# processes against `botwatch broker`, is what crash/stages probes.
probe_durable() {
	local d=$T/durable i seen sent rc v=documented note
	log "durable/run-live: kill -9 of run on a live stream (embedded broker)"
	mkdir -p "$d"
	"$BUILD/tests/firehose" --framing ndjson --plan '200,send=40000,then=hold' --rate 4000 \
		--port-file "$d/port" --log "$d/fh.log" --accounts 3000 &
	local fpid=$!
	ALLPIDS+=($fpid)
	for ((i = 0; i < 100; i++)); do [ -s "$d/port" ] && break; sleep 0.05; done
	"$BW" run --source "http://127.0.0.1:$(cat "$d/port")/stream" --listen 127.0.0.1:0 \
		--set "store.path=$d/store" --set "features.state_dir=$d/state" \
		"${STREAM_FAST[@]}" 2>"$d/run.log" &
	local rpid=$!
	ALLPIDS+=($rpid)
	# mid-stream: once run started ingesting (--quick: 1 s later, full: 6 s)
	for ((i = 0; i < 200; i++)); do grep -q 'NOT DURABLE\|connecting to' "$d/run.log" && break; sleep 0.05; done
	sleep "$([ "$QUICK" -eq 1 ] && echo 1 || echo 6)"
	kill -9 "$rpid"; wait "$rpid" 2>/dev/null
	# the posts written so far (the connection is still open: count the sends)
	kill "$fpid" 2>/dev/null; wait "$fpid" 2>/dev/null
	sent=$(awk '$3 == "completed" { split($4, r, "-"); n += r[2] - r[1] + 1 } END { print n + 0 }' "$d/fh.log")
	[ "$sent" -gt 0 ] || sent=$(awk '$3 == "request" { c++ } END { print c + 0 }' "$d/fh.log")
	seen=0
	if "$BUILD/tests/bw_dumpstore" "$d/store" >"$d/got.ndjson" 2>/dev/null; then
		seen=$(python3 -c 'import json,sys; print(sum(json.loads(l).get("posts_seen", 0) for l in open(sys.argv[1]) if l.strip()))' "$d/got.ndjson")
	fi
	note="posts_seen in the store after the kill: $seen"
	if ! grep -q 'NOT DURABLE' "$d/run.log"; then
		v=FAIL note+="; no NOT DURABLE warning at start-up"
	fi
	row durable/run-live 1 "$([ "$sent" -gt 0 ] && echo "$((sent > seen ? sent - seen : 0))" || echo "≥0")" 0 0 "$v" \
		"$note; the embedded broker is not durable for live sources (logged at start-up, docs/PIPELINE.md)"
}
