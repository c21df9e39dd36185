#!/usr/bin/env bash
# ingest_hostile_input: issue 20's hostile inputs, end to end through the CLI.
#  - author ids that are not ids ("abc", "../../etc/passwd", 10,000 digits, one
#    with a newline) and a post dated 9999 go to the DLQ with their reason;
#  - "\u0000" in a text keeps the text after it (as U+FFFD);
#  - a 450-character (750-byte) screen name: `replay --store` (which exited 1
#    with nothing stored) and the streaming path (`run --exit-when-idle`, which
#    dropped the account) both store it, and agree record for record;
#  - a .gz cut before its trailer makes decode and replay exit 1 naming it.
source "$(dirname "$0")/lib/pipeline.bash"

python3 - "$T/hostile.ndjson" <<'PY'
import json, sys
LONG = "a" * 300 + "\u00e9" * 150
def post(pid, uid, text="hello", sn=None, when="Wed Oct 10 20:19:24 +0000 2018"):
    u = {"id_str": uid, "screen_name": sn or "user%s" % uid[:8], "followers_count": 5,
         "friends_count": 7, "created_at": "Mon Jan 01 00:00:00 +0000 2018"}
    return json.dumps({"id_str": pid, "text": text, "created_at": when, "user": u},
                      ensure_ascii=False)
lines = [post("1", "11", sn=LONG), post("2", "11", sn=LONG), post("3", "abc"),
         post("4", "../../etc/passwd"), post("5", "7" * 10000), post("6", "12\n34"),
         post("7", "22", text="before\u0000after"),
         post("8", "33", when="Fri Dec 31 23:59:59 +0000 9999"), post("9", "33")]
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY

# decode: the DLQ and the kept text
"$BW" decode --dlq "$T/dlq.ndjson" "$T/hostile.ndjson" >"$T/posts.ndjson" 2>"$T/decode.log" ||
	fail "decode exit $?"
python3 - "$T/dlq.ndjson" "$T/posts.ndjson" <<'PY' || fail "decode: $(cat "$T/dlq.ndjson")"
import json, sys
dlq = [json.loads(l) for l in open(sys.argv[1])]
assert [(r["line"], r["reason"]) for r in dlq] == [
    (3, "bad_account_id"), (4, "bad_account_id"), (5, "bad_account_id"), (6, "bad_account_id"),
    (8, "future_time")], dlq
assert all(len(r["detail"]) < 200 for r in dlq)
posts = [json.loads(l) for l in open(sys.argv[2])]
assert [p["id"] for p in posts] == ["1", "2", "7", "9"], posts
assert posts[2]["text"] == "before\ufffdafter", posts[2]["text"]
PY
ok "bad author ids and a post dated 9999 dead-lettered with their reason; text after \\u0000 kept"

# replay --store keeps the long-named account
"$BW" replay --out "$T/replay.ndjson" --store "$T/store_replay" --set store.map_size_mb=16 \
	"$T/hostile.ndjson" 2>"$T/replay.log" || fail "replay --store exit $?"
[ "$(wc -l <"$T/replay.ndjson")" -eq 3 ] || fail "replay wrote $(wc -l <"$T/replay.ndjson") records"
grep -q '"user_id":"11","screen_name":"aaaa' "$T/replay.ndjson" || fail "account 11 missing"
ok "replay --store keeps the account with a 750-byte screen name"

# the streaming path stores the same records
"$BW" run --exit-when-idle --source "$T/hostile.ndjson" --listen 127.0.0.1:0 \
	--store "$T/store_run" "${KAFKA_FAST[@]}" --set store.map_size_mb=16 \
	--set "features.state_dir=$T/state" 2>"$T/run.log" &
RUN=$!
PIDS+=($RUN)
wait_exit $RUN 60
[ "$RC" -eq 0 ] || fail "run --exit-when-idle exited $RC"
"$BW" serve --store "$T/store_run" --listen 127.0.0.1:0 --port-file "$T/port" \
	--set store.map_size_mb=16 2>"$T/serve.log" &
PIDS+=($!)
wait_for "$T/port"
curl -sf -m 10 "http://127.0.0.1:$(cat "$T/port")/v1/accounts" >"$T/export.ndjson" || fail "export"
python3 - "$T/export.ndjson" "$T/replay.ndjson" <<'PY' || fail "run and replay disagree"
import json, sys
strip = lambda r: {k: v for k, v in r.items() if k != "scored_at"}
got = [strip(json.loads(l)) for l in open(sys.argv[1])]
want = [strip(json.loads(l)) for l in open(sys.argv[2])]
assert got == want, (got, want)
PY
ok "the streaming path stores the same 3 accounts as replay"

# a .gz cut before its trailer
gzip -c "$T/hostile.ndjson" >"$T/full.gz"
head -c $(($(stat -c %s "$T/full.gz") - 4)) "$T/full.gz" >"$T/cut.gz"
"$BW" decode "$T/cut.gz" >/dev/null 2>"$T/cut.log"
rc=$?
[ $rc -eq 1 ] && grep -q "cut.gz: read error: truncated gzip input" "$T/cut.log" ||
	fail "decode of a truncated .gz: rc $rc, $(cat "$T/cut.log")"
"$BW" replay --out "$T/cut.ndjson" "$T/cut.gz" 2>"$T/cut.log"
rc=$?
[ $rc -eq 1 ] && grep -q "truncated gzip input" "$T/cut.log" ||
	fail "replay of a truncated .gz: rc $rc, $(cat "$T/cut.log")"
ok "a truncated .gz: decode and replay exit 1 naming it"
