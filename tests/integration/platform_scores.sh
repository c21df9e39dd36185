#!/usr/bin/env bash
# Mastodon and Bluesky accounts scored by the default model through the same
# profile features as Twitter's (docs/MODEL.md, "Platforms"):
# - Mastodon: the real status of ../shared/data/fixtures/mastodon
#   (mastodonpy_status_get.json) as it is, with its account's `bot` flag set,
#   and as a remote account (acct user@server): the flag raises the score, the
#   server part changes no feature and no score;
# - Bluesky: Jetstream identity + profile events of account pairs identical
#   but for the `bot` self-label: in every pair the labelled one scores higher;
#   a handle's domain (alice.bsky.social) reads as the bare name.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BW=$BUILD/botwatch
MODEL=${MODEL:-models/default.model}
FIX=../shared/data/fixtures/mastodon/mastodonpy_status_get.json
T=$(mktemp -d /tmp/bw_platform_scores.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "platform_scores: $*" >&2; exit 1; }
ok() { echo "  ok: $*"; }
[ -f "$FIX" ] || fail "$FIX missing"

# --- Mastodon: one status per variant of the fixture's account ---------------
python3 - "$FIX" >"$T/masto.ndjson" <<'PY'
import json, sys
st = json.load(open(sys.argv[1]))
for i, (bot, acct) in enumerate([(False, None), (True, None), (False, "@server.example"),
                                 (True, "@server.example")]):
    s = json.loads(json.dumps(st))
    a = s["account"]
    a["id"] = str(int(a["id"]) + i)
    s["id"] = str(int(s["id"]) + i)
    a["bot"] = bot
    if acct:
        a["acct"] = a["username"] + acct
    print(json.dumps(s))
PY
"$BW" replay --model "$MODEL" --out "$T/masto.out" --features-out "$T/masto.feat" \
	"$T/masto.ndjson" 2>"$T/masto.log" || fail "replay (Mastodon) exit $?"
python3 - "$T/masto.out" "$T/masto.feat" <<'PY' || fail "Mastodon scores"
import json, sys
rec = [json.loads(l) for l in open(sys.argv[1])]
feat = [json.loads(l)["features"] for l in open(sys.argv[2])]
assert len(rec) == 4 and len(feat) == 4, (len(rec), len(feat))
s = [r["score"] for r in rec]  # ids in order: plain, bot, remote, remote bot
assert all(x is not None for x in s), rec
assert "profile_counts" in rec[0]["evidence"], rec[0]
assert feat[1]["user.self_declared_bot"] == 1 and feat[0]["user.self_declared_bot"] == 0
assert s[1] > s[0] and s[3] > s[2], s
sn = [k for k in feat[0] if k.startswith("user.") and "screen_name" in k]
assert all(feat[0][k] == feat[2][k] for k in sn), [(k, feat[0][k], feat[2][k]) for k in sn]
assert s[2] == s[0] and s[3] == s[1], s
print("  mastodon: score %.3f, bot-flagged %.3f, as a remote account %.3f / %.3f" % tuple(s))
PY
ok "Mastodon: the bot flag raises the score; the acct's server part changes nothing"

# --- Bluesky: pairs of profiles differing only in the bot self-label ---------
python3 - >"$T/bsky.ndjson" <<'PY'
import json
names = [("Tide maps", "tidemaps", "A new tide map every day"),
         ("Maria Lopez", "marialopez", "teacher, runner, coffee"),
         ("Daily Haiku", "dailyhaiku", "haiku about the weather"),
         ("Jon", "jon1987", ""),
         ("Train times", "traintimes", "departures of the 8:15 and more")]
t = 1779719000000000
for i, (disp, handle, desc) in enumerate(names):
    for bot in (0, 1):
        did = "did:plc:pair%02d%s%s" % (i, "b" if bot else "h", "x" * 16)
        t += 1000
        print(json.dumps({"did": did, "time_us": t, "kind": "identity", "identity": {
            "did": did, "handle": "%s%s.bsky.social" % (handle, "b" * bot), "seq": t,
            "time": "2026-05-25T14:23:29.950Z"}}))
        rec = {"$type": "app.bsky.actor.profile", "displayName": disp, "description": desc,
               "createdAt": "2026-02-14T23:48:34.991Z"}
        if bot:
            rec["labels"] = {"$type": "com.atproto.label.defs#selfLabels",
                             "values": [{"val": "bot"}]}
        t += 1000
        print(json.dumps({"did": did, "time_us": t, "kind": "commit", "commit": {
            "rev": "r%d%d" % (i, bot), "operation": "create",
            "collection": "app.bsky.actor.profile", "rkey": "self", "record": rec,
            "cid": "bafyprof%d%d" % (i, bot)}}))
PY
"$BW" replay --model "$MODEL" --out "$T/bsky.out" --features-out "$T/bsky.feat" \
	"$T/bsky.ndjson" 2>"$T/bsky.log" || fail "replay (Bluesky) exit $?"
python3 - "$T/bsky.out" "$T/bsky.feat" <<'PY' || fail "Bluesky scores"
import json, sys
rec = {json.loads(l)["user_id"]: json.loads(l) for l in open(sys.argv[1])}
feat = {json.loads(l)["user_id"]: json.loads(l)["features"] for l in open(sys.argv[2])}
assert len(rec) == 10, len(rec)
lines = []
for i in range(5):
    h, b = ("did:plc:pair%02d%s%s" % (i, c, "x" * 16) for c in "hb")
    assert rec[h]["score"] is not None and rec[b]["score"] is not None, (rec[h], rec[b])
    assert feat[b]["user.self_declared_bot"] == 1 and feat[h]["user.self_declared_bot"] == 0
    assert rec[b]["score"] > rec[h]["score"], (rec[h], rec[b])
    # the handle's domain is not read: "tidemaps.bsky.social" has 8 characters
    assert feat[h]["user.screen_name_length"] == len(rec[h]["screen_name"].split(".")[0])
    lines.append("%s %.3f / %.3f" % (rec[h]["screen_name"].split(".")[0], rec[h]["score"],
                                     rec[b]["score"]))
print("  bluesky (unlabelled / bot-labelled): " + ", ".join(lines))
PY
ok "Bluesky: in each of 5 pairs the bot-labelled account scores higher; handles read without their domain"
