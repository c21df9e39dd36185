#!/usr/bin/env bash
# replay_spill: `botwatch replay` writes the same bytes whatever its memory
# budget and thread count. The demo sample, the fixtures' timeline and a
# generated v1.1 dump (2,000 lines over a pool of 3,000 accounts, so that
# accounts come back after being spilled) are replayed with one thread and no
# budget (all states in memory: the reference), then with the spill forced
# on (--mem-budget 1: 1 MB of states, far less than the dump needs), with two
# threads, and both; --out and --features-out (with --include-observed) must
# be byte-identical, and --report must show that states were spilled and
# read back. Also the usage errors of the new options.
set -euo pipefail
BUILD=${BUILD:-build}
BIN=$BUILD/botwatch
tmp=$(mktemp -d /tmp/bw_replay_spill_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "replay_spill: $*" >&2; exit 1; }

"$BUILD"/tests/gen_v1_dump 2000 7 3000 > "$tmp/dump.ndjson"
gzip -1 -c "$tmp/dump.ndjson" > "$tmp/dump.ndjson.gz"

run() { # name, input, options...
	local name=$1 input=$2; shift 2
	"$BIN" replay "$@" --report --out "$tmp/$name.out" --features-out "$tmp/$name.feat" \
		--include-observed "$input" 2> "$tmp/$name.log" || fail "$name: $(cat "$tmp/$name.log")"
}

for input in data/demo/posts.ndjson.gz "$tmp/dump.ndjson.gz" "$tmp/dump.ndjson"; do
	run ref "$input" --threads 1 --mem-budget 0
	grep -q "spilled 0 states" "$tmp/ref.log" || fail "no budget, yet spilled: $(cat "$tmp/ref.log")"
	[ -s "$tmp/ref.out" ] && [ -s "$tmp/ref.feat" ] || fail "$input: empty output"
	for opts in "--threads 2 --mem-budget 0" "--threads 1 --mem-budget 1" \
		"--threads 2 --mem-budget 1" "--threads 2"; do
		# shellcheck disable=SC2086
		run alt "$input" $opts --spill-dir "$tmp"
		cmp -s "$tmp/ref.out" "$tmp/alt.out" || fail "$input, $opts: score records differ"
		cmp -s "$tmp/ref.feat" "$tmp/alt.feat" || fail "$input, $opts: features differ"
	done
done
# the last dump run with a 1 MB budget spilled states and read them back
run tiny "$tmp/dump.ndjson.gz" --mem-budget 1 --spill-dir "$tmp"
spilled=$(sed -n 's/.*spilled \([0-9]*\) states.*/\1/p' "$tmp/tiny.log")
loaded=$(sed -n 's/.*read back \([0-9]*\),.*/\1/p' "$tmp/tiny.log")
[ "${spilled:-0}" -gt 1000 ] && [ "${loaded:-0}" -gt 100 ] ||
	fail "--mem-budget 1 should spill and reload states: $(cat "$tmp/tiny.log")"
[ -z "$(ls "$tmp" | grep botwatch-spill)" ] || fail "the spill file was left behind"

# usage errors
set +e
"$BIN" replay --threads 3 --out "$tmp/x" "$tmp/dump.ndjson" 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q "threads must be 1 or 2" "$tmp/err" || fail "--threads 3: rc $rc"
"$BIN" replay --mem-budget lots --out "$tmp/x" "$tmp/dump.ndjson" 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q "mem-budget needs an integer" "$tmp/err" || fail "--mem-budget lots: rc $rc"
"$BIN" replay --mem-budget 1 --spill-dir "$tmp/missing/dir" --out "$tmp/x" "$tmp/dump.ndjson" \
	2>"$tmp/err"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "cannot create the spill file" "$tmp/err" ||
	fail "missing spill dir: rc $rc, $(cat "$tmp/err")"
echo "replay_spill: ok"
