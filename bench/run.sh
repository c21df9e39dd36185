#!/usr/bin/env bash
# botwatch benchmarks (`make bench`). Each section prints its figures and the
# command that produced them. BUILD names the build directory. Keep each
# section under about a minute: the machine is shared.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}

# median of the numbers on stdin
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

div() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.4f\n", a / b}'; }

# "wall cpu" seconds of a command (output discarded; cpu = user + sys)
secs() {
	local TIMEFORMAT='%R %U %S' t
	t=$( { time "$@" >/dev/null 2>&1; } 2>&1 )
	echo "$t" | awk '{printf "%.4f %.4f\n", $1, $2 + $3}'
}

# the same with the command's stderr kept in FILE (first argument)
secs_err() {
	local err=$1; shift
	local TIMEFORMAT='%R %U %S' t
	t=$( { time "$@" >/dev/null 2>"$err"; } 2>&1 )
	echo "$t" | awk '{printf "%.4f %.4f\n", $1, $2 + $3}'
}

# field NAME=value from a bench_decode line
field() { tr ' ' '\n' | sed -n "s|^$1=||p"; }

# --- decoder ------------------------------------------------------------------
# A synthetic v1.1 dump (~4 KB tweets, ~45% retweets with nested
# retweeted_status, 5,000 repeating accounts), generated once and reused.
# The machine is shared, so each figure is given per wall second and per CPU
# second (user + sys of the process: the per-core rate).
bench_decoder() {
	local lines=${BENCH_DECODE_LINES:-100000}
	local dump=$BUILD/bench/v1_dump_$lines.ndjson
	echo "== decoder: synthetic v1.1 dump, $lines lines"
	if [ ! -s "$dump" ] || [ ! -s "$dump.gz" ]; then
		echo "   generating: $BUILD/tests/gen_v1_dump $lines > $dump; gzip -1 -k"
		"$BUILD"/tests/gen_v1_dump "$lines" > "$dump.tmp" && mv "$dump.tmp" "$dump"
		gzip -1 -c "$dump" > "$dump.gz.tmp" && mv "$dump.gz.tmp" "$dump.gz"
	fi
	local mb
	mb=$(stat -c %s "$dump" | awk '{printf "%.1f", $1/1e6}')
	echo "   input: $dump ($mb MB plain, $(stat -c %s "$dump.gz" | awk '{printf "%.1f", $1/1e6}') MB gzip)"
	cat "$dump" > /dev/null # warm the page cache

	local c=() z=() dp=() dz=() dj=() dn=() pa=() js=()
	for _ in 1 2 3; do
		c+=("$(secs cat "$dump")")
		z+=("$(secs zcat "$dump.gz")")
		dp+=("$("$BUILD"/bench/bench_decode --mode decode "$dump")")
		dz+=("$("$BUILD"/bench/bench_decode --mode decode "$dump.gz")")
		dj+=("$("$BUILD"/bench/bench_decode --mode json --limit 20000 "$dump")")
		dn+=("$("$BUILD"/bench/bench_decode --mode ndjson "$dump")")
		pa+=("$("$BUILD"/bench/bench_decode --mode parse "$dump")")
		js+=("$("$BUILD"/bench/bench_decode --mode jansson --limit 20000 "$dump")")
	done
	echo "   median of 3 runs; rates per wall second | per CPU second (one core)"
	printf '   %-50s %7s %7s  %9s %8s | %9s %8s  %s\n' command wall_s cpu_s lines/s MB/s lines/s MB/s posts/cpu_s
	tool() { # label, "wall cpu"...
		local label=$1; shift
		local w cpu
		w=$(printf '%s\n' "$@" | awk '{print $1}' | median)
		cpu=$(printf '%s\n' "$@" | awk '{print $2}' | median)
		printf '   %-50s %7.3f %7.3f  %9.0f %8.1f | %9.0f %8.1f\n' "$label" "$w" "$cpu" \
			"$(div "$lines" "$w")" "$(div "$mb" "$w")" "$(div "$lines" "$cpu")" "$(div "$mb" "$cpu")"
	}
	report() { # label, bench_decode lines...
		local label=$1; shift
		local w cpu n mbx posts
		w=$(printf '%s\n' "$@" | while read -r l; do echo "$l" | field s; done | median)
		cpu=$(printf '%s\n' "$@" | while read -r l; do echo "$l" | field cpu_s; done | median)
		n=$(printf '%s\n' "$1" | field lines)
		mbx=$(printf '%s\n' "$1" | field MB)
		posts=$(printf '%s\n' "$1" | field posts)
		printf '   %-50s %7.3f %7.3f  %9.0f %8.1f | %9.0f %8.1f  %s\n' "$label" "$w" "$cpu" \
			"$(div "$n" "$w")" "$(div "$mbx" "$w")" "$(div "$n" "$cpu")" "$(div "$mbx" "$cpu")" \
			"${posts:+$(div "$posts" "$cpu" | awk '{printf "%.0f", $1}') ($posts posts)}"
	}
	tool "cat $(basename "$dump")" "${c[@]}"
	tool "zcat $(basename "$dump").gz" "${z[@]}"
	report "bench_decode --mode decode $(basename "$dump")" "${dp[@]}"
	report "bench_decode --mode decode $(basename "$dump").gz" "${dz[@]}"
	report "bench_decode --mode ndjson $(basename "$dump")" "${dn[@]}"
	report "bench_decode --mode json --limit 20000 (posts)" "${dj[@]}"
	report "bench_decode --mode parse (simdjson only)" "${pa[@]}"
	report "bench_decode --mode jansson --limit 20000" "${js[@]}"
	echo "   decode = simdjson DOM parse + C normalisation (the hot path); ndjson = decode +"
	echo "   bw_post_append_json (what 'botwatch decode' does for its output); json = decode +"
	echo "   bw_post_to_json + json_dumps (the same bytes via jansson);"
	echo "   parse / jansson = parse each line only, with simdjson / jansson json_loadb."
}

# --- ingest -----------------------------------------------------------------------
# Post encoding (binary codec vs JSON) on the decoder's synthetic dump, then
# the whole ingest path: firehose (loopback HTTP, v1.1 length-delimited) ->
# botwatch ingest -> botwatch broker, with a consumer group reading
# concurrently (ingest pauses whenever that group lags by more than
# ingest.max_consumer_lag). Count in must equal count consumed.
bench_ingest() {
	local n=${BENCH_INGEST_POSTS:-1000000}
	local dump=$BUILD/bench/v1_dump_20000.ndjson
	local d
	d=$(mktemp -d /tmp/bw-bench-ingest.XXXXXX)
	local pids=()
	# shellcheck disable=SC2317
	cleanup_ingest() {
		for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
		rm -rf "$d"
		trap - RETURN
	}
	trap cleanup_ingest RETURN

	echo "== ingest: post encoding (Kafka value), $dump"
	[ -s "$dump" ] || "$BUILD"/tests/gen_v1_dump 20000 > "$dump"
	echo "   $BUILD/bench/bench_postcodec $dump"
	"$BUILD"/bench/bench_postcodec "$dump" | sed 's/^/   /'

	echo "== ingest: $n synthetic posts, firehose -> botwatch ingest -> botwatch broker -> consumer group"
	"$BUILD"/botwatch broker --partitions 4 > "$d/broker.out" 2> "$d/broker.err" &
	pids+=($!)
	"$BUILD"/tests/firehose --framing v1 --plan "200,send=$n,then=hold" --accounts 100000 \
		--port-file "$d/port" --log "$d/fh.log" &
	pids+=($!)
	for _ in $(seq 200); do [ -s "$d/broker.out" ] && [ -s "$d/port" ] && break; sleep 0.05; done
	local broker port
	broker=$(head -1 "$d/broker.out"); port=$(cat "$d/port")
	local t0 t1
	t0=$(date +%s.%N)
	"$BUILD"/tests/kconsume -b "$broker" -t posts -g bench-consumers -n "$n" --idle-ms 20000 \
		--timeout-ms 170000 > /dev/null 2> "$d/kc.err" &
	local kpid=$!
	pids+=($kpid)
	"$BUILD"/botwatch ingest --source "http://127.0.0.1:$port/1.1/statuses/sample.json" \
		--brokers "$broker" --set ingest.lag_groups=bench-consumers > /dev/null 2> "$d/ingest.err" &
	local ipid=$!
	pids+=($ipid)
	wait "$kpid" || true
	t1=$(date +%s.%N)
	kill -TERM "$ipid"; wait "$ipid" || echo "   ingest exited non-zero: $(tail -2 "$d/ingest.err")"
	local consumed produced
	consumed=$(sed -n 's/^count=\([0-9]*\).*/\1/p' "$d/kc.err")
	produced=$(sed -n 's/.* \([0-9]*\) post(s) produced.*/\1/p' "$d/ingest.err" | tail -1)
	echo "   $BUILD/botwatch broker --partitions 4; $BUILD/tests/firehose --framing v1 --plan '200,send=$n,then=hold'"
	echo "   $BUILD/botwatch ingest --source http://127.0.0.1:PORT/1.1/statuses/sample.json --brokers B --set ingest.lag_groups=bench-consumers"
	echo "   $BUILD/tests/kconsume -b B -t posts -g bench-consumers -n $n   (started first, reads concurrently)"
	printf '   completed by firehose %s, produced %s, consumed %s, lag pauses %s\n' \
		"$(awk '$3 == "completed" { s += substr($5, 7) } END { print s + 0 }' "$d/fh.log")" \
		"${produced:-?}" "${consumed:-?}" \
		"$(sed -n 's/.* \([0-9]*\) lag pause(s).*/\1/p' "$d/ingest.err" | tail -1)"
	printf '   %.1f s end to end, %.0f posts/s (consumer-group join ~3 s included)\n' \
		"$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
		"$(awk -v a="$t0" -v b="$t1" -v n="${consumed:-0}" 'BEGIN { print n / (b - a) }')"
	if [ "${consumed:-0}" != "$n" ] || [ "${produced:-0}" != "$n" ]; then
		echo "   MISMATCH: count in != count consumed"
		return 1
	fi
	return 0
}

# --- api: lookup API on a 1M-account store (wrk, 50 connections) ---------------
bench_api() {
	local n=${BW_BENCH_ACCOUNTS:-1000000} secs=${BW_BENCH_SECONDS:-10}
	local threads=${BW_BENCH_API_THREADS:-2}
	local store=$BUILD/bench/store-${n}
	echo "== api: lookups against $n accounts"
	if [ ! -e "$store/complete" ]; then
		echo "generating $store (once; reused afterwards)"
		rm -rf "$store"
		"$BUILD"/tests/bw_mkstore "$store" "$n" || return 1
		touch "$store/complete"
	fi
	echo "\$ $BUILD/bench/bench_api $store $n 3"
	"$BUILD"/bench/bench_api "$store" "$n" 3 || return 1

	local tmp pid port
	tmp=$(mktemp -d /tmp/bw_bench_api_XXXXXX)
	"$BUILD"/botwatch serve --store "$store" --listen 127.0.0.1:0 --threads "$threads" \
		--port-file "$tmp/port" 2>"$tmp/log" &
	pid=$!
	trap 'kill $pid 2>/dev/null || true; rm -rf "$tmp"; trap - RETURN' RETURN
	for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
	port=$(cat "$tmp/port" 2>/dev/null) || { echo "serve did not start: $(cat "$tmp/log")"; return 1; }
	export BW_BENCH_ACCOUNTS=$n
	# warm the server's mapping of the store so the figures are not page faults
	wrk -t1 -c50 -d3s -s bench/api_wrk.lua "http://127.0.0.1:$port" >/dev/null
	local cmd="wrk -t1 -c50 -d5s --latency http://127.0.0.1:$port/v1/accounts/10000005"
	echo "\$ $cmd   (one fixed id: the HTTP floor on this machine right now)"
	$cmd | grep -E "Requests/sec|99%|Non-2xx"
	cmd="wrk -t1 -c50 -d${secs}s --latency -s bench/api_wrk.lua http://127.0.0.1:$port"
	echo "\$ botwatch serve --threads $threads & $cmd"
	$cmd | grep -E "Requests/sec|Latency  |50%|90%|99%|non-2xx|Socket errors"
	echo "\$ BW_BENCH_BATCH=100 $cmd   (100 ids per request)"
	BW_BENCH_BATCH=100 $cmd | grep -E "Requests/sec|Latency  |50%|90%|99%|non-2xx|Socket errors"
	local fpid fport
	"$BUILD"/bench/bench_mhd_floor "$tmp/floor.port" 1 & fpid=$!
	for _ in $(seq 50); do [ -s "$tmp/floor.port" ] && break; sleep 0.1; done
	fport=$(cat "$tmp/floor.port")
	cmd="wrk -t1 -c50 -d5s --latency http://127.0.0.1:$fport/"
	echo "\$ $BUILD/bench/bench_mhd_floor PORT_FILE 1 & $cmd   (bare libmicrohttpd: this machine's HTTP ceiling)"
	$cmd | grep -E "Requests/sec|99%"
	kill "$fpid" 2>/dev/null || true; wait "$fpid" 2>/dev/null || true
	echo "machine load while measuring: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
}

# --- features -----------------------------------------------------------------
# Update + extract throughput and serialised state bytes per account over a
# synthetic heavy-tailed population (bench/bench_features.c; median of 3 runs
# inside the binary).
bench_features() {
	echo "== features: synthetic population, 20000 accounts"
	echo "   \$ $BUILD/bench/bench_features 20000"
	"$BUILD"/bench/bench_features 20000 | sed 's/^/   /'
}

# --- classifier: accounts scored per second per core -------------------------
bench_classifier() {
	echo "== classifier: accounts scored per second, one core"
	if [ -f models/default.model ]; then
		echo "   \$ $BUILD/bench/bench_clf models/default.model"
		"$BUILD"/bench/bench_clf models/default.model | sed 's/^/   /'
	fi
	echo "   \$ $BUILD/bench/bench_clf   # synthetic 1,200-column linear model, 3 bot types"
	"$BUILD"/bench/bench_clf | sed 's/^/   /'
	# end to end: decode + features + score + write the records, the dev profiles
	local data=${BOTWATCH_DATA:-../shared/data} tmp
	if [ -f models/default.model ] && [ -f "$data/dev/posts.ndjson.gz" ]; then
		tmp=$(mktemp -d /tmp/bw_bench_replay_XXXXXX)
		echo "== replay: profiles decoded, featurised, scored and written per second"
		echo "   \$ $BUILD/botwatch replay --probe-time 2016-01-01T00:00:00Z --out FILE $data/dev/posts.ndjson.gz"
		read -r wall cpu < <(secs "$BUILD"/botwatch replay --probe-time 2016-01-01T00:00:00Z \
			--out "$tmp/scores.ndjson" "$data/dev/posts.ndjson.gz")
		n=$(wc -l < "$tmp/scores.ndjson")
		echo "   $n accounts in ${wall}s wall, ${cpu}s CPU: $(div "$n" "$wall") accounts/s wall, $(div "$n" "$cpu") accounts/s per CPU second"
		echo "   \$ ... same with --store DIR (LMDB, records + 1,453-double feature vectors)"
		read -r wall cpu < <(secs "$BUILD"/botwatch replay --probe-time 2016-01-01T00:00:00Z \
			--store "$tmp/store" "$data/dev/posts.ndjson.gz")
		echo "   $n accounts in ${wall}s wall, ${cpu}s CPU: $(div "$n" "$wall") accounts/s wall, $(div "$n" "$cpu") accounts/s per CPU second"
		rm -rf "$tmp"
	fi
}

# --- replay: speed against zcat, memory for 1M accounts ---------------------------
# Plain `botwatch replay --out` of the decoder's gzip dump (100,000 ~4 KB v1.1
# statuses, 5,000 accounts) side by side with `zcat` of the same file, medians
# of 3 (each round runs zcat, replay with 2 threads, replay with 1 thread):
# the ratio is zcat's wall time over replay's (replay's speed as a fraction of
# zcat's; issue 14 asks >= 0.5). The two replays must write the same bytes.
# Then the memory of a replay of 1M accounts: a generated dump of 500,000
# statuses over a pool of 2,000,000 accounts (~1.0M tracked: authors,
# retweeted authors, mentioned accounts), piped from the generator (no file),
# --report giving peak RSS, peak anonymous (heap) and file-backed memory.
bench_replay() {
	local lines=${BENCH_DECODE_LINES:-100000}
	local dump=$BUILD/bench/v1_dump_$lines.ndjson
	local tmp
	tmp=$(mktemp -d /tmp/bw_bench_replay_XXXXXX)
	trap 'rm -rf "$tmp"; trap - RETURN' RETURN
	if [ ! -s "$dump.gz" ]; then
		echo "   generating: $BUILD/tests/gen_v1_dump $lines | gzip -1 > $dump.gz"
		"$BUILD"/tests/gen_v1_dump "$lines" | gzip -1 > "$dump.gz.tmp" && mv "$dump.gz.tmp" "$dump.gz"
	fi
	echo "== replay vs zcat: $dump.gz ($lines lines), medians of 3, side by side"
	echo "   \$ zcat $dump.gz > /dev/null"
	echo "   \$ $BUILD/botwatch replay --report --out FILE $dump.gz     (--threads 2, the default)"
	echo "   \$ $BUILD/botwatch replay --threads 1 --out FILE $dump.gz"
	cat "$dump.gz" > /dev/null
	local z=() r2=() r1=() cp=()
	for k in 1 2 3; do
		z+=("$(secs zcat "$dump.gz")")
		r2+=("$(secs_err "$tmp/r$k.log" "$BUILD"/botwatch replay --report --out "$tmp/t2.ndjson" "$dump.gz")")
		r1+=("$(secs "$BUILD"/botwatch replay --threads 1 --out "$tmp/t1.ndjson" "$dump.gz")")
	done
	# the critical path on two free cores, from --report's per-thread cpu seconds:
	# everything the main thread did (start, folding, extraction/scoring/output
	# share, end), plus the time it would wait for a slower reader
	for k in 1 2 3; do
		cp+=("$(sed -n 's/.*reader thread \([0-9.]*\) s cpu, folding thread \([0-9.]*\) s cpu.*main thread \([0-9.]*\) s cpu in all.*/\1 \2 \3/p' "$tmp/r$k.log" |
			awk '{printf "%.3f\n", $3 + ($1 > $2 ? $1 - $2 : 0)}')")
	done
	local zw zc w2 c2 w1 c1
	zw=$(printf '%s\n' "${z[@]}" | awk '{print $1}' | median)
	zc=$(printf '%s\n' "${z[@]}" | awk '{print $2}' | median)
	w2=$(printf '%s\n' "${r2[@]}" | awk '{print $1}' | median)
	c2=$(printf '%s\n' "${r2[@]}" | awk '{print $2}' | median)
	w1=$(printf '%s\n' "${r1[@]}" | awk '{print $1}' | median)
	c1=$(printf '%s\n' "${r1[@]}" | awk '{print $2}' | median)
	printf '   %-28s %7s %7s  %s\n' "" wall_s cpu_s "zcat wall / wall"
	printf '   %-28s %7.3f %7.3f\n' "zcat" "$zw" "$zc"
	printf '   %-28s %7.3f %7.3f  %.2f\n' "replay (2 threads)" "$w2" "$c2" "$(div "$zw" "$w2")"
	printf '   %-28s %7.3f %7.3f  %.2f\n' "replay --threads 1" "$w1" "$c1" "$(div "$zw" "$w1")"
	echo "   runs (wall cpu): zcat ${z[*]}; replay ${r2[*]}; --threads 1 ${r1[*]}"
	local cpm
	cpm=$(printf '%s\n' "${cp[@]}" | median)
	echo "   replay --report, per thread (cpu s): $(sed -n 's/.*"msg":"time: \(.*\)"}$/\1/p' "$tmp/r1.log")"
	printf '   critical path on two free cores (main thread cpu + any wait for a slower reader): median %.3f s (%s); zcat cpu / that = %.2f\n' \
		"$cpm" "${cp[*]}" "$(div "$zc" "$cpm")"
	cmp -s "$tmp/t1.ndjson" "$tmp/t2.ndjson" && echo "   records of 1 and 2 threads: identical ($(wc -l < "$tmp/t1.ndjson") accounts)" ||
		echo "   records of 1 and 2 threads: DIFFERENT"
	echo "   machine load while measuring: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"

	echo "== replay spill store: the spill file against the LMDB feature store, same states"
	local sp=$BUILD/bench/v1_dump_40000_60000.ndjson
	[ -s "$sp" ] || "$BUILD"/tests/gen_v1_dump 40000 1 60000 > "$sp"
	echo "   \$ $BUILD/bench/bench_spill $sp 3   ($BUILD/tests/gen_v1_dump 40000 1 60000)"
	TMPDIR=$tmp "$BUILD"/bench/bench_spill "$sp" 3 | sed 's/^/   /'

	local n=${BENCH_REPLAY_MEM_LINES:-500000} pool=${BENCH_REPLAY_MEM_POOL:-2000000}
	local budget=${BENCH_REPLAY_MEM_BUDGET:-256}
	echo "== replay memory: $n statuses over a pool of $pool accounts (~1M tracked), --mem-budget $budget"
	echo "   \$ $BUILD/tests/gen_v1_dump $n 1 $pool | $BUILD/botwatch replay --mem-budget $budget --report --spill-dir $tmp --out FILE -"
	local TIMEFORMAT='%R %U %S' t
	t=$( { time "$BUILD"/tests/gen_v1_dump "$n" 1 "$pool" | "$BUILD"/botwatch replay --mem-budget "$budget" \
		--report --spill-dir "$tmp" --out "$tmp/m.ndjson" - 2> "$tmp/m.log"; } 2>&1 )
	sed -n 's/.*"level":"info".*"msg":"\(.*\)"}$/   \1/p' "$tmp/m.log"
	echo "   $(echo "$t" | awk '{printf "%.1f s wall, %.1f s cpu (generator and replay)", $1, $2 + $3}')"
}

# --- pipeline: the streaming path against the plain replay ----------------------------
# `botwatch replay --via-kafka` runs ingest -> posts -> features stage -> features
# -> scoring stage -> store in one process on the embedded broker; the plain
# replay folds and scores in memory; `botwatch run --source FILE --exit-when-idle`
# reads the dump as a live source through every stage. Same gzip dump (the
# decoder's: 100,000 ~4 KB v1.1 statuses), medians of 3, side by side in each
# round. The streaming records must equal the plain replay's byte for byte.
# Ratios are speeds: plain wall / via-Kafka wall (issue 14 asks >= 0.7);
# statuses per second of `run` (asks >= 20,000). Then freshness under steady
# load: a loopback stream (tests/tools/firehose, small synthetic posts) paced at
# 5,000 posts/s for 12 s into `botwatch run`; the run's summary gives the longest
# wall-clock wait of a post for its account's stored score (asks <= 2 s).
bench_pipeline() {
	local lines=${BENCH_PIPELINE_LINES:-100000} out
	out=$(mktemp -d /tmp/bw_bench_pipeline_XXXXXX)
	trap 'rm -rf "$out"; trap - RETURN' RETURN
	# the decoder's dump (5,000 accounts drawn uniformly) and a heavy-tailed one
	# (a pool of 60,000 drawn P(rank i) ~ 1/i: ~27,000 authors, the busiest with
	# 6 % of the statuses)
	bench_pipeline_dump "$BUILD/bench/v1_dump_$lines.ndjson.gz" "$lines" "$out" "$lines"
	bench_pipeline_dump "$BUILD/bench/v1_zipf_$lines.ndjson.gz" "$lines" "$out" "$lines 1 60000 zipf"
	bench_pipeline_fresh "$out"
	bench_pipeline_demo
	bench_pipeline_stages "$BUILD/bench/v1_dump_$lines.ndjson.gz"
}

# One dump through plain replay, replay --via-kafka and run (see bench_pipeline).
bench_pipeline_dump() {
	local dump=$1 lines=$2 out=$3 gen=$4
	if [ ! -s "$dump" ]; then
		echo "   generating: $BUILD/tests/gen_v1_dump $gen | gzip -1 > $dump"
		mkdir -p "$(dirname "$dump")"
		# shellcheck disable=SC2086
		"$BUILD"/tests/gen_v1_dump $gen | gzip -1 > "$dump.tmp" && mv "$dump.tmp" "$dump"
	fi
	echo "== pipeline: $dump ($lines lines: gen_v1_dump $gen), medians of 3, side by side"
	echo "   \$ $BUILD/botwatch replay --out FILE $dump"
	echo "   \$ $BUILD/botwatch replay --via-kafka --out FILE $dump"
	echo "   \$ $BUILD/botwatch run --source $dump --exit-when-idle --set features.state_dir=D --set store.path=D --set api.listen=127.0.0.1:0"
	cat "$dump" > /dev/null
	local p=() k=() r=() t same=identical
	local TIMEFORMAT='%R %U %S'
	for i in 1 2 3; do
		p+=("$(secs "$BUILD"/botwatch replay --out "$out/plain.ndjson" "$dump")")
		t=$( { time "$BUILD"/botwatch replay --via-kafka --out "$out/kafka.ndjson" "$dump" \
			2> "$out/kafka$i.log" >/dev/null; } 2>&1 )
		k+=("$(echo "$t" | awk '{printf "%.4f %.4f\n", $1, $2 + $3}')")
		cmp -s "$out/kafka.ndjson" "$out/plain.ndjson" || same=DIFFERENT
		rm -rf "$out/run"
		t=$( { time "$BUILD"/botwatch run --source "$dump" --exit-when-idle \
			--set "features.state_dir=$out/run/state" --set "store.path=$out/run/store" \
			--set api.listen=127.0.0.1:0 2> "$out/run$i.log" >/dev/null; } 2>&1 )
		r+=("$(echo "$t" | awk '{printf "%.4f %.4f\n", $1, $2 + $3}')")
	done
	local pw pc kw kc rw rc posts bpp
	pw=$(printf '%s\n' "${p[@]}" | awk '{print $1}' | median)
	pc=$(printf '%s\n' "${p[@]}" | awk '{print $2}' | median)
	kw=$(printf '%s\n' "${k[@]}" | awk '{print $1}' | median)
	kc=$(printf '%s\n' "${k[@]}" | awk '{print $2}' | median)
	rw=$(printf '%s\n' "${r[@]}" | awk '{print $1}' | median)
	rc=$(printf '%s\n' "${r[@]}" | awk '{print $2}' | median)
	posts=$(grep -o '"run: [0-9]* posts folded' "$out/kafka1.log" | tail -1 | grep -o '[0-9]*')
	bpp=$(cat "$out"/kafka*.log | grep -o '[0-9]* per post folded' | cut -d' ' -f1 | median)
	printf '   %-34s %7s %7s  %s\n' "" wall_s cpu_s ""
	printf '   %-34s %7.3f %7.3f\n' "replay (plain)" "$pw" "$pc"
	printf '   %-34s %7.3f %7.3f  %.2fx plain replay (plain wall / wall)\n' "replay --via-kafka" "$kw" "$kc" "$(div "$pw" "$kw")"
	printf '   %-34s %7.3f %7.3f  %.0f statuses/s, %.0f posts/s\n' "run --source FILE --exit-when-idle" "$rw" "$rc" \
		"$(div "$lines" "$rw")" "$(div "${posts:-0}" "$rw")"
	echo "   runs (wall cpu): plain ${p[*]}; via-kafka ${k[*]}; run ${r[*]}"
	echo "   records: via Kafka and plain replay $same ($(wc -l < "$out/plain.ndjson") accounts, $posts posts)"
	echo "   disk written per post in the streaming path (median of the via-Kafka runs): $bpp bytes"
	grep -o '"run: [0-9]* posts folded[^"]*' "$out/kafka1.log" | sed 's/^"/   via Kafka, run 1: /'
	echo "   machine load while measuring: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
}

# Freshness under steady load (see bench_pipeline).
bench_pipeline_fresh() {
	local out=$1 rate=${BENCH_FRESH_RATE:-5000} secs_=${BENCH_FRESH_SECONDS:-12} fh run port
	echo "   \$ $BUILD/tests/firehose --framing v1 --rate $rate --accounts 20000 --plan '200,send=$((rate * secs_)),then=hold' ...; $BUILD/botwatch run --source http://127.0.0.1:PORT/1.1/statuses/sample.json (SIGTERM after $((secs_ + 2)) s)"
	"$BUILD"/tests/firehose --framing v1 --rate "$rate" --accounts 20000 \
		--plan "200,send=$((rate * secs_)),then=hold" --port-file "$out/fh.port" --log "$out/fh.log" &
	fh=$!
	for _ in $(seq 50); do [ -s "$out/fh.port" ] && break; sleep 0.1; done
	port=$(cat "$out/fh.port")
	"$BUILD"/botwatch run --source "http://127.0.0.1:$port/1.1/statuses/sample.json" \
		--set "features.state_dir=$out/fresh/state" --set "store.path=$out/fresh/store" \
		--set api.listen=127.0.0.1:0 2> "$out/fresh.log" >/dev/null &
	run=$!
	sleep $((secs_ + 2))
	kill -TERM "$run"
	wait "$run" || true
	kill "$fh" 2>/dev/null
	wait "$fh" 2>/dev/null || true
	echo "   steady load, $rate posts/s for $secs_ s: $(grep -o '"run: [0-9]* posts folded[^"]*' "$out/fresh.log" | cut -c7-)"
	echo "   $(grep -o 'longest wait of a post[^"]*' "$out/fresh.log")"
}

# `make run`'s demo end to end: embedded broker, 704 posts, every stage, exit when idle.
bench_pipeline_demo() {
	local tmp dw dc
	tmp=$(mktemp -d)
	local args=(run --exit-when-idle --set "features.state_dir=$tmp/state" --set "store.path=$tmp/store"
		--set api.listen=127.0.0.1:0)
	echo "   \$ $BUILD/botwatch ${args[*]}"
	read -r dw dc < <(secs "$BUILD"/botwatch "${args[@]}")
	rm -rf "$tmp"
	echo "   demo (make run, 704 posts): ${dw}s wall, ${dc}s cpu"
}

# Each stage as its own process on `botwatch broker` (4 partitions): posts folded per
# CPU second of the features process and updates scored per CPU second of the score
# process (each with its librdkafka threads, not the broker's), i.e. what one core
# sustains per stage. Their wall time includes the broker's 3 s group join.
bench_pipeline_stages() {
	local dump=$1 tmp B fw fc sw sc posts upd
	tmp=$(mktemp -d)
	"$BUILD"/botwatch broker --partitions 4 > "$tmp/addr" 2>/dev/null &
	local broker=$!
	trap 'kill $broker 2>/dev/null; rm -rf "$tmp"; trap - RETURN' RETURN
	for _ in $(seq 100); do [ -s "$tmp/addr" ] && break; sleep 0.1; done
	B=$(head -1 "$tmp/addr")
	echo "   \$ $BUILD/botwatch broker --partitions 4; $BUILD/botwatch ingest --source $dump --brokers B --set ingest.lag_groups="
	"$BUILD"/botwatch ingest --source "$dump" --brokers "$B" --set ingest.lag_groups= >/dev/null 2>&1
	echo "   \$ $BUILD/botwatch features --brokers B --set features.lag_groups= --idle-exit-ms 1000   (after ingest of the dump)"
	local TIMEFORMAT='%R %U %S' t
	t=$( { time "$BUILD"/botwatch features --brokers "$B" --set features.lag_groups= \
		--set "features.state_dir=$tmp/state" --idle-exit-ms 1000 2> "$tmp/features.log" >/dev/null; } 2>&1 )
	read -r fw fc < <(echo "$t" | awk '{printf "%.4f %.4f\n", $1, $2 + $3}')
	posts=$(grep -o '[0-9]* posts,' "$tmp/features.log" | tail -1 | cut -d' ' -f1)
	echo "   \$ $BUILD/botwatch score --brokers B --idle-exit-ms 1000   (what the broker kept of the updates)"
	t=$( { time "$BUILD"/botwatch score --brokers "$B" --set "store.path=$tmp/store" \
		--idle-exit-ms 1000 2> "$tmp/score.log" >/dev/null; } 2>&1 )
	read -r sw sc < <(echo "$t" | awk '{printf "%.4f %.4f\n", $1, $2 + $3}')
	upd=$(grep -o 'score: [0-9]* updates' "$tmp/score.log" | tail -1 | cut -d' ' -f2)
	echo "   features stage alone: $posts posts, ${fw}s wall, ${fc}s cpu: $(div "$posts" "$fc") posts per cpu second"
	echo "   score stage alone:    $upd updates, ${sw}s wall, ${sc}s cpu: $(div "$upd" "$sc") updates per cpu second"
}

# --- real Apache Kafka ------------------------------------------------------------
# The pipeline on a 3-node KRaft cluster on loopback (tools/kafka.sh) against
# the embedded broker, and the features stage with 1 and 2 workers in one
# group on a backlog (ingested first; each worker exits 2 s after its input
# dries up, so 2 s of each wall time is that wait). The dump has distinct bios
# (gen_v1_dump distinct-bios) so 1 and 2 workers compute the same features.
bench_kafka() {
	local lines=${BENCH_KAFKA_LINES:-10000} tmp dump B TIMEFORMAT='%R %U %S' t ew ec kw kc
	tmp=$(mktemp -d /tmp/bw_bench_kafka_XXXXXX)
	trap 'tools/kafka.sh down --dir "$tmp/cluster" >/dev/null 2>&1; rm -rf "$tmp"; trap - RETURN' RETURN
	dump=$tmp/dump.ndjson.gz
	"$BUILD"/tests/gen_v1_dump "$lines" 3 distinct-bios | gzip -1 > "$dump"
	echo "== kafka: a 3-node Apache Kafka on loopback vs the embedded broker ($lines lines, distinct bios)"
	echo "   \$ tools/kafka.sh up --nodes 3 --heap 320m"
	B=$(tools/kafka.sh up --nodes 3 --dir "$tmp/cluster" --heap 320m 2>"$tmp/up.log" | tail -1)
	[ -n "$B" ] || { echo "   cluster did not start: $(tail -1 "$tmp/up.log")"; return 0; }
	"$BUILD"/botwatch replay --out "$tmp/plain.ndjson" "$dump" 2>/dev/null
	echo "   \$ $BUILD/botwatch replay --via-kafka [--set kafka.bootstrap.servers=B] --out FILE DUMP"
	t=$( { time "$BUILD"/botwatch replay --via-kafka --out "$tmp/emb.ndjson" "$dump" 2>"$tmp/emb.log" >/dev/null; } 2>&1 )
	read -r ew ec < <(echo "$t" | awk '{printf "%.3f %.3f\n", $1, $2 + $3}')
	t=$( { time "$BUILD"/botwatch replay --via-kafka --set "kafka.bootstrap.servers=$B" --out "$tmp/real.ndjson" "$dump" 2>"$tmp/real.log" >/dev/null; } 2>&1 )
	read -r kw kc < <(echo "$t" | awk '{printf "%.3f %.3f\n", $1, $2 + $3}')
	local posts
	posts=$(grep -o '"run: [0-9]* posts folded' "$tmp/real.log" | tail -1 | grep -o '[0-9]*')
	printf '   %-30s %8s %8s %10s  %s\n' "" wall_s cpu_s posts/s records
	printf '   %-30s %8s %8s %10.0f  %s\n' "embedded broker" "$ew" "$ec" "$(div "${posts:-0}" "$ew")" \
		"$(cmp -s "$tmp/emb.ndjson" "$tmp/plain.ndjson" && echo "= replay" || echo DIFFERENT)"
	printf '   %-30s %8s %8s %10.0f  %s\n' "3-node Kafka" "$kw" "$kc" "$(div "${posts:-0}" "$kw")" \
		"$(cmp -s "$tmp/real.ndjson" "$tmp/plain.ndjson" && echo "= replay" || echo DIFFERENT)"
	for n in 1 2; do
		local S=bench$n-$$ i ws=() line
		local names=(--brokers "$B" --set "ingest.topic=posts.$S" --set "features.topic=features.$S"
			     --set "features.group_id=f.$S" --set ingest.lag_groups= --set features.lag_groups=)
		"$BUILD"/tests/kadmin -b "$B" create "posts.$S" 4 && "$BUILD"/tests/kadmin -b "$B" create "features.$S" 4
		"$BUILD"/botwatch ingest "${names[@]}" --source "$dump" >/dev/null 2>&1
		t=$( { time {
			for ((i = 1; i <= n; i++)); do
				"$BUILD"/botwatch features "${names[@]}" --set "features.state_dir=$tmp/s$S$i" \
					--idle-exit-ms 2000 2>"$tmp/f$S$i.log" >/dev/null &
				ws+=($!)
			done
			wait "${ws[@]}"; }; } 2>&1 )
		line="   features, $n worker(s): $(echo "$t" | awk '{printf "%.2f s wall, %.2f s cpu", $1, $2 + $3}')"
		for ((i = 1; i <= n; i++)); do
			line+="; worker $i $(grep -o '[0-9]* posts,' "$tmp/f$S$i.log" | tail -1 | cut -d' ' -f1) posts"
		done
		echo "$line"
	done
	echo "   machine load while measuring: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
}

# the audit trail (docs/AUDIT.md): what appending each decision costs the scorer,
# the bytes per decision, and re-performance latency, on the accounts of a
# replayed bench dump; then a CLI rescore (its own process, parsing the archived
# model) timed over 11 runs
bench_audit() {
	local lines=${BENCH_AUDIT_LINES:-20000}
	local dump=$BUILD/bench/v1_dump_$lines.ndjson
	local tmp
	tmp=$(mktemp -d /tmp/bw_bench_audit_XXXXXX)
	trap 'rm -rf "$tmp"; trap - RETURN' RETURN
	[ -s "$dump" ] || "$BUILD"/tests/gen_v1_dump "$lines" > "$dump"
	echo "== audit trail: $dump ($lines lines)"
	echo "   \$ $BUILD/botwatch replay --store STORE $dump; $BUILD/bench/bench_audit STORE models/default.model 5"
	"$BUILD"/botwatch replay --store "$tmp/store" "$dump" 2>/dev/null
	"$BUILD"/botwatch history --store "$tmp/store" --stats | sed 's/^/   /'
	"$BUILD"/bench/bench_audit "$tmp/store" models/default.model 5 | sed 's/^/   /'
	local id ts=()
	id=$("$BUILD"/botwatch history --store "$tmp/store" 1000 >/dev/null 2>&1 && echo 1000)
	if [ -n "$id" ]; then
		for _ in $(seq 11); do
			ts+=("$( { /usr/bin/time -f '%e %U' "$BUILD"/botwatch rescore --store "$tmp/store" "$id" > /dev/null; } 2>&1 | tail -1)")
		done
		echo "   \$ botwatch rescore --store STORE $id: median $(printf '%s\n' "${ts[@]}" | awk '{print $1}' | median) s wall, $(printf '%s\n' "${ts[@]}" | awk '{print $2}' | median) s user (11 runs)"
	fi
	echo "   machine load while measuring: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
}

sections=("$@")
[ ${#sections[@]} -eq 0 ] && sections=(decoder ingest features classifier api replay pipeline kafka audit)
for s in "${sections[@]}"; do
	case $s in
	decoder) bench_decoder ;;
	ingest) bench_ingest ;;
	features) bench_features ;;
	classifier) bench_classifier ;;
	api) bench_api ;;
	replay) bench_replay ;;
	pipeline) bench_pipeline ;;
	kafka) bench_kafka ;;
	audit) bench_audit ;;
	*) echo "unknown bench section $s" >&2; exit 2 ;;
	esac
done
