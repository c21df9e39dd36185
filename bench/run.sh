#!/usr/bin/env bash
# botwatch benchmarks (`make bench`). Each section prints its figures and the
# command that produced them. BUILD names the build directory. Sections can be
# picked by name: bench/run.sh api
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
sections=("$@")
[ ${#sections[@]} -eq 0 ] && sections=(api)

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
	trap 'kill $pid 2>/dev/null; rm -rf "$tmp"' RETURN
	for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
	port=$(cat "$tmp/port" 2>/dev/null) || { echo "serve did not start: $(cat "$tmp/log")"; return 1; }
	export BW_BENCH_ACCOUNTS=$n
	# warm the server's mapping of the store so the figures are not page faults
	wrk -t1 -c50 -d3s -s bench/api_lookup.lua "http://127.0.0.1:$port" >/dev/null
	local cmd="wrk -t1 -c50 -d5s --latency http://127.0.0.1:$port/v1/accounts/10000005"
	echo "\$ $cmd   (one fixed id: the HTTP floor on this machine right now)"
	$cmd | grep -E "Requests/sec|99%|Non-2xx"
	cmd="wrk -t1 -c50 -d${secs}s --latency -s bench/api_lookup.lua http://127.0.0.1:$port"
	echo "\$ botwatch serve --threads $threads & $cmd"
	$cmd | grep -E "Requests/sec|Latency  |50%|90%|99%|non-2xx|Socket errors"
	cmd="wrk -t1 -c50 -d${secs}s --latency -s bench/api_batch.lua http://127.0.0.1:$port"
	echo "\$ $cmd   (100 ids per request)"
	$cmd | grep -E "Requests/sec|Latency  |50%|90%|99%|non-2xx|Socket errors"
	echo "machine load while measuring: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
}

rc=0
for s in "${sections[@]}"; do
	case $s in
	api) bench_api || rc=1 ;;
	*) echo "unknown bench section $s" >&2; rc=2 ;;
	esac
done
exit $rc
