#!/usr/bin/env bash
# replay_manners: what `botwatch replay` does around the scoring, as a user meets it:
# outputs written atomically (a missing input or a bad model leaves a previous
# --out / --features-out byte for byte, no temporary file left behind), --dlq FILE,
# exit 1 with one summary line when every input line is rejected, every stderr line
# a JSON log line when stderr is not a terminal, and the progress line on a terminal.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/botwatch
DEMO=data/demo/posts.ndjson.gz
fail() { echo "replay_manners: $*" >&2; exit 1; }
tmp=$(mktemp -d /tmp/bw_replay_manners_XXXXXX)
trap 'rm -rf "$tmp"' EXIT

json_lines() { # FILE: every line is a JSON log object
	python3 - "$1" <<'PY' || fail "not JSON log lines: $(head -c 600 "$1")"
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    assert set(o) >= {"ts", "level", "src", "msg"}, o
PY
}

# a previous run's outputs
"$BIN" replay --out "$tmp/scores.ndjson" --features-out "$tmp/feat.ndjson" "$DEMO" 2>"$tmp/ok.log"
json_lines "$tmp/ok.log"
cp "$tmp/scores.ndjson" "$tmp/scores.before"
cp "$tmp/feat.ndjson" "$tmp/feat.before"

# 1. a mistyped input path: exit 1, the outputs untouched
if "$BIN" replay --out "$tmp/scores.ndjson" --features-out "$tmp/feat.ndjson" \
	"$DEMO" "$tmp/no-such-file.jsonl" 2>"$tmp/missing.log"; then fail "missing input: exit 0"; fi
cmp -s "$tmp/scores.ndjson" "$tmp/scores.before" || fail "missing input: --out changed"
cmp -s "$tmp/feat.ndjson" "$tmp/feat.before" || fail "missing input: --features-out changed"
grep -q 'no-such-file.jsonl: No such file or directory; nothing written' "$tmp/missing.log" ||
	fail "missing input: $(cat "$tmp/missing.log")"
json_lines "$tmp/missing.log"
if "$BIN" replay --via-kafka --out "$tmp/scores.ndjson" "$DEMO" "$tmp/no-such-file.jsonl" \
	2>"$tmp/missing2.log"; then fail "missing input, --via-kafka: exit 0"; fi
cmp -s "$tmp/scores.ndjson" "$tmp/scores.before" || fail "missing input, --via-kafka: --out changed"
echo "  ok: a missing input: exit 1, --out and --features-out unchanged (with --via-kafka too)"

# 2. a model that does not load: the same
echo 'not a model' >"$tmp/bad.model"
if "$BIN" replay --model "$tmp/bad.model" --out "$tmp/scores.ndjson" "$DEMO" 2>"$tmp/model.log"; then
	fail "bad model: exit 0"; fi
cmp -s "$tmp/scores.ndjson" "$tmp/scores.before" || fail "bad model: --out changed"
json_lines "$tmp/model.log"
ls "$tmp" | grep -q '\.tmp\.' && fail "temporary files left: $(ls "$tmp")"
echo "  ok: a bad model: exit 1, --out unchanged, no temporary file left"

# 3. --dlq: the rejected lines as NDJSON, the good ones scored
zcat "$DEMO" >"$tmp/demo.jsonl"
{ sed -n 1,50p "$tmp/demo.jsonl"; echo 'not json'; echo '{"no": "shape"}'; sed -n 51,60p "$tmp/demo.jsonl"; } >"$tmp/mixed.jsonl"
"$BIN" replay --out "$tmp/mixed.ndjson" --dlq "$tmp/dlq.ndjson" "$tmp/mixed.jsonl" 2>"$tmp/mixed.log" ||
	fail "mixed input: $(tail -n 2 "$tmp/mixed.log")"
json_lines "$tmp/mixed.log"
python3 - "$tmp/dlq.ndjson" "$tmp/mixed.jsonl" <<'PY' || fail "--dlq: $(cat "$tmp/dlq.ndjson")"
import json, sys
d = [json.loads(l) for l in open(sys.argv[1])]
assert [(x["reason"], x["line"], x["source"]) for x in d] == [
    ("invalid_json", 51, sys.argv[2]), ("unknown_shape", 52, sys.argv[2])], d
assert d[0]["excerpt"] == "not json" and d[0]["detail"], d
PY
[ "$(wc -l <"$tmp/mixed.ndjson")" -gt 0 ] || fail "mixed input: nothing scored"
echo "  ok: --dlq holds the 2 rejected lines with reason, source and line; the rest scored"

# 4. every line rejected: exit 1, one summary line, --out untouched, --dlq written
printf 'garbage\n{"y": 2}\n{"x": 1}\n' >"$tmp/bad.jsonl"
if "$BIN" replay --out "$tmp/scores.ndjson" --dlq "$tmp/bad.dlq" "$tmp/bad.jsonl" 2>"$tmp/bad.log"; then
	fail "all rejected: exit 0"; fi
cmp -s "$tmp/scores.ndjson" "$tmp/scores.before" || fail "all rejected: --out changed"
[ "$(wc -l <"$tmp/bad.dlq")" -eq 3 ] || fail "all rejected: --dlq has $(wc -l <"$tmp/bad.dlq") lines"
[ "$(grep -c '"level":"error"' "$tmp/bad.log")" -eq 1 ] || fail "all rejected: $(cat "$tmp/bad.log")"
grep -q 'every input unit was dead-lettered, nothing written: 3 units, 0 records, 3 dead-lettered' \
	"$tmp/bad.log" || fail "all rejected: summary: $(tail -n 1 "$tmp/bad.log")"
json_lines "$tmp/bad.log"
echo "  ok: every line rejected: exit 1, one error summary, --out unchanged, 3 dead letters"

# 5. on a terminal, a progress line with the rate and ETA (script(1) gives the pty;
#    150,000 statuses take 3 s or more even on two idle cores: several redraws, 0.5 s
#    apart; 30,000 once finished before the first redraw on a quiet machine);
#    never in a file or a pipe (checked above: every line was JSON)
if command -v script >/dev/null; then
	"$BUILD"/tests/gen_v1_dump 150000 1 3000 | gzip -1 >"$tmp/dump.gz"
	script -qec "$BIN replay --out $tmp/dump.ndjson $tmp/dump.gz" /dev/null >"$tmp/tty.out" ||
		fail "replay on a pty: $(tr '\r' '\n' <"$tmp/tty.out" | tail -n 3)"
	tr '\r' '\n' <"$tmp/tty.out" | grep -Eq '^replay: [0-9.]+ of [0-9.]+ MB read \([0-9]+%\), [0-9.]+ MB/s, elapsed [0-9:]+, ETA [0-9:]+' ||
		fail "no progress line on a terminal: $(tr '\r' '\n' <"$tmp/tty.out" | head -n 5)"
	echo "  ok: on a terminal: $(tr '\r' '\n' <"$tmp/tty.out" | grep -m1 '^replay: ')"
else
	fail "script(1) (util-linux) is missing"
fi
echo "replay_manners: ok"
