#!/usr/bin/env python3
"""Rewrite a gzip NDJSON dump of v1.1 statuses into a shifted copy, for the
drift tests (tests/integration/drift_monitor.sh, docs/DRIFT.md):

  shift_dump.py drop SRC DST      every user object loses followers_count
  shift_dump.py inflate SRC DST   every followers_count is multiplied by ten
"""
import gzip
import json
import sys


def shift(o, mode):
    if isinstance(o, dict):
        u = o.get("user")
        if isinstance(u, dict):
            if mode == "drop":
                u.pop("followers_count", None)
            elif isinstance(u.get("followers_count"), int):
                u["followers_count"] *= 10
        for v in o.values():
            shift(v, mode)
    elif isinstance(o, list):
        for v in o:
            shift(v, mode)


def main():
    mode, src, dst = sys.argv[1:4]
    if mode not in ("drop", "inflate"):
        sys.exit("shift_dump.py: mode is drop or inflate")
    with gzip.open(src, "rt", encoding="utf-8") as f, gzip.open(dst, "wt", encoding="utf-8") as g:
        for line in f:
            o = json.loads(line)
            shift(o, mode)
            g.write(json.dumps(o, separators=(",", ":")) + "\n")


main()
