#!/usr/bin/env bash
# make fuzz-long: run every libFuzzer target (build-fuzz/fuzz/fuzz_*) for a
# bounded budget each, then merge the inputs that raise coverage into
# fuzz/corpus/<target>/ (libFuzzer -merge=1 keeps only inputs that add
# coverage over what the corpus already has, the smallest first), where
# `make test` replays them.
#
#   FUZZ_RUNS     executions per target (default 10,000,000)
#   FUZZ_SECONDS  time cap per target (default 3600: one CPU-hour for the slow
#                 targets); the first limit reached ends the target
#   FUZZ_TARGETS  names to run (default: every fuzz/fuzz_*.c)
#
# Prints one line per target: executions, seconds, crashes, new corpus
# entries; exits 1 if any target crashed (the input is kept as
# build-fuzz/crash-<target>-*).
set -uo pipefail
cd "$(dirname "$0")/.."
B=${BUILD_FUZZ:-build-fuzz}
RUNS=${FUZZ_RUNS:-10000000}
SECS=${FUZZ_SECONDS:-3600}
targets=${FUZZ_TARGETS:-$(for s in fuzz/fuzz_*.c; do s=${s#fuzz/fuzz_}; echo "${s%.c}"; done)}
tmp=$(mktemp -d /tmp/bw-fuzz-long.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failed=0
printf '%-10s %12s %8s %8s %6s\n' target executions seconds crashes new
for t in $targets; do
	bin=$B/fuzz/fuzz_$t corpus=fuzz/corpus/$t
	[ -x "$bin" ] || { echo "$bin missing: run make fuzz" >&2; exit 2; }
	mkdir -p "$corpus" "$tmp/$t"
	start=$SECONDS
	"$bin" -runs="$RUNS" -max_total_time="$SECS" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$B/crash-$t-" "$tmp/$t" "$corpus" \
		>"$tmp/$t.log" 2>&1
	rc=$?
	execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$tmp/$t.log" | grep -o '[0-9]*$')
	crashes=0
	[ $rc -eq 0 ] || { crashes=1; failed=1; grep -m3 'ERROR\|SUMMARY' "$tmp/$t.log" >&2; }
	before=$(ls "$corpus" | wc -l)
	"$bin" -merge=1 -max_len=65536 -timeout=10 "$corpus" "$tmp/$t" >"$tmp/$t.merge.log" 2>&1
	new=$(( $(ls "$corpus" | wc -l) - before ))
	printf '%-10s %12s %8s %8s %6s\n' "$t" "${execs:-?}" "$((SECONDS - start))" "$crashes" "$new"
done
exit $failed
