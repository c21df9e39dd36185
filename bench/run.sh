#!/usr/bin/env bash
# botwatch benchmarks (`make bench`). Each section prints its figures and the
# command that produced them. BUILD names the build directory. Keep each
# section under about a minute: the machine is shared.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}

# median of the numbers on stdin
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# wall seconds of a command (output discarded)
secs() {
	local t0 t1
	t0=$(date +%s.%N)
	"$@" >/dev/null
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f\n", b - a}'
}

div() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.4f\n", a / b}'; }

# field NAME=value from a bench_decode line
field() { tr ' ' '\n' | sed -n "s|^$1=||p"; }

# --- decoder ------------------------------------------------------------------
# A synthetic v1.1 dump (~4 KB tweets, ~45% retweets with nested
# retweeted_status, 5,000 repeating accounts), generated once and reused.
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

	local c=() z=() dp=() dz=() dj=() js=() out posts
	for _ in 1 2 3; do
		c+=("$(secs cat "$dump")")
		z+=("$(secs zcat "$dump.gz")")
		out=$("$BUILD"/bench/bench_decode --mode decode "$dump"); dp+=("$out")
		out=$("$BUILD"/bench/bench_decode --mode decode "$dump.gz"); dz+=("$out")
		out=$("$BUILD"/bench/bench_decode --mode json "$dump"); dj+=("$out")
		out=$("$BUILD"/bench/bench_decode --mode jansson --limit 20000 "$dump"); js+=("$out")
	done
	posts=$(printf '%s\n' "${dp[0]}" | field posts)
	local cs zs
	cs=$(printf '%s\n' "${c[@]}" | median)
	zs=$(printf '%s\n' "${z[@]}" | median)
	echo "   median of 3 runs, one core each:"
	printf '   %-44s %8.3f s  %9.0f lines/s  %7.1f MB/s\n' "cat $dump" "$cs" \
		"$(div "$lines" "$cs")" "$(div "$mb" "$cs")"
	printf '   %-44s %8.3f s  %9.0f lines/s  %7.1f MB/s\n' "zcat $dump.gz" "$zs" \
		"$(div "$lines" "$zs")" "$(div "$mb" "$zs")"
	report() { # label, runs...
		local label=$1; shift
		local s ps lps mbs
		s=$(printf '%s\n' "$@" | while read -r l; do echo "$l" | field s; done | median)
		ps=$(printf '%s\n' "$@" | while read -r l; do echo "$l" | field posts/s; done | median)
		lps=$(printf '%s\n' "$@" | while read -r l; do echo "$l" | field lines/s; done | median)
		mbs=$(printf '%s\n' "$@" | while read -r l; do echo "$l" | field MB/s; done | median)
		printf '   %-44s %8.3f s  %9.0f lines/s  %7.1f MB/s  %9.0f posts/s\n' "$label" "$s" "$lps" "$mbs" "${ps:-0}"
	}
	report "bench_decode --mode decode $(basename "$dump")" "${dp[@]}"
	report "bench_decode --mode decode $(basename "$dump").gz" "${dz[@]}"
	report "bench_decode --mode json $(basename "$dump")" "${dj[@]}"
	report "bench_decode --mode jansson --limit 20000" "${js[@]}"
	echo "   posts = $posts per run ($lines statuses + their embedded retweeted statuses)"
	echo "   decode = simdjson DOM + C normalisation; json = decode + bw_post_to_json + json_dumps"
	echo "   (the CLI's output cost); jansson = json_loadb per line only, no normalisation."
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

sections=("$@")
[ ${#sections[@]} -eq 0 ] && sections=(decoder features)
for s in "${sections[@]}"; do
	case $s in
	decoder) bench_decoder ;;
	features) bench_features ;;
	*) echo "unknown bench section $s" >&2; exit 2 ;;
	esac
done
