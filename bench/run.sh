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

sections=("$@")
[ ${#sections[@]} -eq 0 ] && sections=(decoder)
for s in "${sections[@]}"; do
	case $s in
	decoder) bench_decoder ;;
	*) echo "unknown bench section $s" >&2; exit 2 ;;
	esac
done
