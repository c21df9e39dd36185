#!/usr/bin/env bash
# audit_trail: the audit trail end to end (docs/AUDIT.md) on the bundled demo
# sample with the default model —
#   - model registry: the replay registers its model; `models list|show|export`
#     give it back byte for byte; `models import` adds another;
#   - history: one decision per account per distinct input; a second identical
#     replay appends nothing; store.history_keep bounds it;
#   - re-performance: every decision of a replay (`replay --store`) AND of the
#     streaming path (`replay --via-kafka --store`, the Kafka scoring stage)
#     re-performs identically; both paths record the same vector and record
#     hashes; another model answers `different`, feature by feature;
#   - the API: /v1/models, /history, /audit, POST /v1/whatif, explain's reason;
#   - `botwatch whatif` from the command line.
set -euo pipefail
BUILD=${BUILD:-build}
BIN=$BUILD/botwatch
DEMO=data/demo/posts.ndjson.gz
tmp=$(mktemp -d /tmp/bw_audit_trail_XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "audit_trail: $*" >&2; exit 1; }
[ -f models/default.model ] || fail "models/default.model missing (make model)"
model_id="sha256:$(sha256sum models/default.model | cut -d' ' -f1)"
S=(--set store.map_size_mb=256)

# ---- replay path
"$BIN" replay --store "$tmp/r" "${S[@]}" "$DEMO" 2>"$tmp/log" || fail "replay: $(cat "$tmp/log")"
[ "$("$BIN" models --store "$tmp/r" list | cut -f1)" = "$model_id" ] || fail "models list"
show=$("$BIN" models --store "$tmp/r" show "$model_id") || fail "models show exit"
grep -q '"hash": "f980cafb85cfe684"' <<<"$show" || fail "models show: $show"
"$BIN" models --store "$tmp/r" export "$model_id" "$tmp/exported.model"
cmp -s "$tmp/exported.model" models/default.model || fail "exported model differs"
stats() { "$BIN" history --store "$1" --stats | awk -v k="$2" '$1 == k { print $2 }'; }
[ "$(stats "$tmp/r" decisions)" = 108 ] || fail "decisions after one replay: $(stats "$tmp/r" decisions)"
out=$("$BIN" rescore --store "$tmp/r" --all) || fail "rescore --all (replay): $out"
[ "$out" = "identical: 108 of 108 decisions re-performed identically" ] || fail "rescore --all: $out"
"$BIN" rescore --store "$tmp/r" 678033 > "$tmp/one" || fail "rescore 678033 exit $?"
tail -1 "$tmp/one" | grep -q '^identical' || fail "last line: $(tail -1 "$tmp/one")"
echo "  ok: replay path: 108 decisions, every one identical"

# an identical second replay appends nothing; a new probe time appends one each
"$BIN" replay --store "$tmp/r" "${S[@]}" "$DEMO" 2>/dev/null
[ "$(stats "$tmp/r" decisions)" = 108 ] || fail "a repeated replay appended decisions"
"$BIN" replay --store "$tmp/r" "${S[@]}" --probe-time 2020-01-01T00:00:00Z "$DEMO" 2>/dev/null
[ "$(stats "$tmp/r" decisions)" = 216 ] || fail "a new probe time: $(stats "$tmp/r" decisions)"
out=$("$BIN" rescore --store "$tmp/r" --all) || fail "rescore --all after two replays: $out"
first=$("$BIN" history --store "$tmp/r" 678033 | python3 -c '
import json, sys
d = json.load(sys.stdin)["decisions"]
assert [x["seq"] for x in d] == [1, 2], d
assert d[0]["model_id"] == sys.argv[1] and d[0]["feature_schema_version"] == 2
print(d[0]["scored_at"])' "$model_id") || fail "history 678033"
"$BIN" rescore --store "$tmp/r" 678033 --at "$first" | tail -1 | grep -q '^identical: account 678033 decision 1 ' ||
	fail "--at picks decision 1"
set +e
"$BIN" rescore --store "$tmp/r" 678033 --at 2001-01-01T00:00:00Z >/dev/null 2>&1; rc=$?
"$BIN" rescore --store "$tmp/r" 1 >/dev/null 2>&1; rc2=$?
"$BIN" rescore --store "$tmp/r" >/dev/null 2>&1; rc3=$?
set -e
[ $rc -eq 2 ] && [ $rc2 -eq 2 ] && [ $rc3 -eq 2 ] || fail "errors must exit 2 ($rc $rc2 $rc3)"
echo "  ok: repeats cost nothing, --at, errors exit 2"

# retention: one decision kept per account
"$BIN" replay --store "$tmp/keep" "${S[@]}" --set store.history_keep=1 "$DEMO" 2>/dev/null
"$BIN" replay --store "$tmp/keep" "${S[@]}" --set store.history_keep=1 --probe-time 2020-01-01T00:00:00Z "$DEMO" 2>/dev/null
[ "$(stats "$tmp/keep" decisions)" = 108 ] && [ "$(stats "$tmp/keep" vectors)" = 108 ] ||
	fail "history_keep=1: $(stats "$tmp/keep" decisions) decisions, $(stats "$tmp/keep" vectors) vectors"
echo "  ok: store.history_keep"

# another model: different, feature by feature
python3 - "$tmp/other.model" <<'EOF'
import json, sys
d = json.load(open("models/default.model"))
for e in d["stacks"][0]["entries"]:
    e["b"] += 1.0
json.dump(d, open(sys.argv[1], "w"))
EOF
other=$("$BIN" models --store "$tmp/r" import "$tmp/other.model") || fail "models import"
[ "$("$BIN" models --store "$tmp/r" list | wc -l)" = 2 ] || fail "two models registered"
set +e
"$BIN" rescore --store "$tmp/r" 678033 --model "$other" > "$tmp/diff"; rc=$?
set -e
[ $rc -eq 1 ] || fail "another model must exit 1 (got $rc)"
tail -1 "$tmp/diff" | grep -q '^different' || fail "last line: $(tail -1 "$tmp/diff")"
head -n -1 "$tmp/diff" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["result"] == "different"
df = d["differences"]
assert abs(df["logit_rescored"] - df["logit_archived"] - 1.0) < 1e-9, df
' || fail "differences"
echo "  ok: another model: different, with the differences"

# ---- streaming path: the Kafka scoring stage
"$BIN" replay --via-kafka --store "$tmp/k" "${S[@]}" "$DEMO" 2>"$tmp/klog" || fail "via-kafka: $(tail -3 "$tmp/klog")"
out=$("$BIN" rescore --store "$tmp/k" --all) || fail "rescore --all (stream): $out"
[ "$out" = "identical: 108 of 108 decisions re-performed identically" ] || fail "stream: $out"
for id in 678033 722623; do
	a=$("$BIN" history --store "$tmp/r" "$id" | python3 -c 'import json,sys; d=json.load(sys.stdin)["decisions"][0]; print(d["vector"], d["record_sha256"])')
	b=$("$BIN" history --store "$tmp/k" "$id" | python3 -c '
import json, sys
d = json.load(sys.stdin)["decisions"][0]
assert d["watermark"]["kafka"]["topic"] == "features" and d["watermark"]["kafka"]["offset"] >= 0, d
print(d["vector"], d["record_sha256"])')
	[ "$a" = "$b" ] || fail "$id: replay and stream decisions differ: $a / $b"
done
echo "  ok: streaming path: 108 decisions identical, same hashes as the replay, Kafka watermark"

# the stream scoring accounts again as more posts arrive: decisions append, all re-perform
zcat "$DEMO" | sed -n 1,352p > "$tmp/half.ndjson"
"$BIN" replay --via-kafka --store "$tmp/k2" "${S[@]}" "$tmp/half.ndjson" 2>/dev/null || fail "via-kafka half"
"$BIN" replay --via-kafka --store "$tmp/k2" "${S[@]}" "$DEMO" 2>/dev/null || fail "via-kafka whole"
n=$(stats "$tmp/k2" decisions)
[ "$n" -gt 108 ] || fail "a second stream run appended nothing ($n decisions)"
out=$("$BIN" rescore --store "$tmp/k2" --all) || fail "rescore --all (two stream runs): $out"
[ "$out" = "identical: $n of $n decisions re-performed identically" ] || fail "two stream runs: $out"
echo "  ok: streaming path, two runs: $n decisions, every one identical"

# ---- the API
"$BIN" serve --store "$tmp/r" --listen 127.0.0.1:0 --model models/default.model \
	--port-file "$tmp/port" "${S[@]}" 2>"$tmp/slog" &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || fail "serve did not start: $(cat "$tmp/slog")"
url="http://127.0.0.1:$(cat "$tmp/port")"
c() { curl -s -m 30 "$@"; }
code() { curl -s -m 30 -o /dev/null -w '%{http_code}' "$@"; }
J=(-H "Content-Type: application/json")
c "$url/v1/models" | python3 -c '
import json, sys
m = {x["id"]: x for x in json.load(sys.stdin)["models"]}
assert len(m) == 2 and m[sys.argv[1]].get("loaded") is True, m.keys()' "$model_id" || fail "/v1/models"
c "$url/v1/accounts/678033/history" | python3 -c '
import json, sys; assert json.load(sys.stdin)["count"] == 2' || fail "/history"
[ "$(code "$url/v1/accounts/1/history")" = 404 ] || fail "history of an unknown account"
c "$url/v1/accounts/678033/audit" | python3 -c '
import json, sys; d = json.load(sys.stdin); assert d["result"] == "identical", d' || fail "/audit"
c "$url/v1/accounts/678033/audit?model=$other" | python3 -c '
import json, sys; d = json.load(sys.stdin); assert d["result"] == "different", d' || fail "/audit?model"
[ "$(code "$url/v1/accounts/678033/audit?at=tomorrow")" = 400 ] || fail "bad at"
c "${J[@]}" -X POST "$url/v1/whatif" -d '{"user_id": "678033", "overrides": {"user.followers_count": 5}}' |
	python3 -c '
import json, sys
d = json.load(sys.stdin)
assert [c["name"] for c in d["changed_features"]] == ["user.followers_count"], d["changed_features"]
assert d["before"]["score"] != d["score"] and "nearest_flips" in d and d["reason"]["text"], d
for f in d["nearest_flips"]:
    assert (f["score"] >= 0.5) != (d["score"] >= 0.5), f' || fail "whatif stored"
c "${J[@]}" -X POST "$url/v1/whatif" -d '{"user": {"id_str": "42", "screen_name": "bot12345",
	"followers_count": 3, "friends_count": 2000, "statuses_count": 50000,
	"created_at": "Mon Dec 21 16:00:00 +0000 2020"}, "overrides": {"followers_count": 50000}}' |
	python3 -c '
import json, sys
d = json.load(sys.stdin)
names = {c["name"] for c in d["changed_features"]}
assert {"user.followers_count", "user.followers_friends_ratio"} <= names, names' || fail "whatif inline"
[ "$(code "${J[@]}" -X POST "$url/v1/whatif" -d '{"user_id": "678033", "overrides": {"followers_count": 5}}')" = 400 ] ||
	fail "profile field on a stored account must be a 400"
[ "$(code "${J[@]}" -X POST "$url/v1/whatif" -d '{"user_id": "1"}')" = 404 ] || fail "whatif unknown account"
c "$url/v1/accounts/678033/explain" | python3 -c '
import json, sys; r = json.load(sys.stdin)["reason"]; assert r["conditions"] and "=>" in r["text"], r' ||
	fail "explain reason"
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
echo "  ok: /v1/models, /history, /audit, /v1/whatif, explain reason"

# ---- whatif from the command line
"$BIN" whatif --store "$tmp/r" --model models/default.model 678033 -o user.followers_count=5 |
	python3 -c 'import json, sys; d = json.load(sys.stdin); assert d["changed_features"][0]["after"] == 5' ||
	fail "whatif CLI"
set +e
"$BIN" whatif --store "$tmp/r" 678033 -o followers_count=5 2>"$tmp/err"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "not a feature name" "$tmp/err" || fail "whatif CLI profile field: rc $rc"
printf '%s\n' '{"user": {"id_str": "42", "screen_name": "bot12345", "followers_count": 3,' \
	'"friends_count": 2000, "statuses_count": 50000, "created_at": "Mon Dec 21 16:00:00 +0000 2020"},' \
	'"overrides": {"followers_count": 50000}}' > "$tmp/req.json"
"$BIN" whatif --model models/default.model --input "$tmp/req.json" --threshold 0.4 |
	python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["user_id"] == "42" and d["threshold"] == 0.4, d
assert "user.followers_count" in {c["name"] for c in d["changed_features"]}' || fail "whatif --input"
echo "  ok: whatif CLI"
