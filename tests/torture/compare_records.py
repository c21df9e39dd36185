#!/usr/bin/env python3
"""Compare a pipeline's final score records with a clean replay's.

    compare_records.py EXPECTED GOT

Both files hold one JSON score record per line (docs/SCORES.md); order does not
matter. Prints one line "lost=L duplicated=D differ=X accounts=N/M": L posts
missing (an account absent, or its posts_seen lower than the replay's), D posts
counted twice (posts_seen higher, or an account the replay does not have), X
records whose posts_seen agree but whose bytes differ (another score). Exit 0
only when every record is byte-identical; the first difference goes to stderr.
"""
import json
import sys


def load(path):
    out = {}
    with open(path, "rb") as f:
        for line in f.read().splitlines():
            if line:
                out[json.loads(line)["user_id"]] = line
    return out


def main():
    want, got = load(sys.argv[1]), load(sys.argv[2])
    lost = dup = differ = 0
    first = None
    for uid, line in want.items():
        if uid not in got:
            lost += json.loads(line)["posts_seen"]
            first = first or f"account {uid} missing"
            continue
        d = json.loads(got[uid])["posts_seen"] - json.loads(line)["posts_seen"]
        if d < 0:
            lost -= d
        elif d > 0:
            dup += d
        elif got[uid] != line:
            differ += 1
        if got[uid] != line and not first:
            first = f"account {uid}:\n  want {line[:240]!r}\n  got  {got[uid][:240]!r}"
    for uid, line in got.items():
        if uid not in want:
            dup += json.loads(line)["posts_seen"]
            first = first or f"account {uid} not in the replay"
    print(f"lost={lost} duplicated={dup} differ={differ} accounts={len(got)}/{len(want)}")
    if first:
        print("first difference: " + first, file=sys.stderr)
    return 0 if lost == dup == differ == 0 and len(got) == len(want) else 1


if __name__ == "__main__":
    sys.exit(main())
