#!/usr/bin/env python3
"""Give each profile-only record of a cresci dump its own probe time.

A profile record's counts were observed when the account was crawled, so its
account age and growth rates must be computed at that time (BotometerLite's
probe time). The cresci dumps keep the crawl times out of the user objects, in
source_meta.csv; this writes a copy of the dump (into the build directory, never
the repository) where every line gets a top-level "created_at" — which the
decoder takes as the record's probe time (docs/POST.md) — from, in order, the
account's `crawled_at`, its `updated`, else the latest of those in its group.

    probe_times.py POSTS.ndjson.gz SOURCE_META.csv OUT.ndjson.gz

Fails (exit 1) when a record has no id or no probe time can be found for it.
Output is byte-reproducible (gzip mtime 0).
"""
import csv
import gzip
import json
import sys


def main(posts, meta, out):
    own, group_of, latest = {}, {}, {}
    with open(meta, newline="") as f:
        for row in csv.DictReader(f):
            t = row.get("crawled_at") or row.get("updated") or ""
            group_of[row["user_id"]] = row.get("source_file_group", "")
            if t:
                own[row["user_id"]] = t
                g = row.get("source_file_group", "")
                latest[g] = max(latest.get(g, t), t)
    n = 0
    with gzip.open(posts, "rt", encoding="utf-8") as fin, \
            open(out, "wb") as raw, \
            gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as fout:
        for ln, line in enumerate(fin, 1):
            if not line.strip():
                continue
            rec = json.loads(line)
            uid = str(rec.get("user", {}).get("id_str") or "")
            t = own.get(uid) or latest.get(group_of.get(uid))
            if not uid or not t:
                sys.exit(f"{posts}:{ln}: no crawl time for account '{uid}'")
            rec["created_at"] = t.replace(" ", "T") + "Z"
            fout.write((json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
                       .encode("utf-8"))
            n += 1
    print(f"probe_times: {n} records of {posts} -> {out}", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
