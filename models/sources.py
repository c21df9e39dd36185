#!/usr/bin/env python3
"""Prepare the six one-sided collections of ../shared/data/extra for training.

Each collection is a profile-only dump of one class, made at its own time and
carrying its own set of user fields (extra/README.md). A model that learns
which fields exist, or the time an account was looked at, learns the
collection, not automation. So every set gets:

- a probe time: its collection date, written as every record's top-level
  "created_at" (the decoder's event time, docs/POST.md), so account ages and
  growth rates are those the counts were observed at. The date is the latest
  record time of the set where the records carry one (the user objects were
  fetched at collection time, their READMEs say), else the README's date;
- a labels file user_id,label,class,dataset,evidence,fields: dataset = the
  set's name, class = the bot kind (Botometer's type names where one fits),
  fields = the user fields the set really has, so that every profile column
  reading another field is masked for its rows (docs/MODEL.md, "Sources");
- pronbots2019 (17,882 accounts of one kind, four fields) is sampled down to
  SAMPLE[...] accounts by a hash of the id, so that it does not swamp the
  rest; the sample is the same on every run.

    sources.py DATA_DIR OUT_DIR

writes OUT_DIR/<set>.ndjson.gz and OUT_DIR/<set>.csv for each set (into the
build directory, never the repository). Output is byte-reproducible.
"""
import csv
import gzip
import hashlib
import json
import os
import sys

# set: (class of its bots or "human", fixed probe time or None = latest record
# time, fields column, sample size or None). Classes are named as Botometer's
# bot types where one fits (its type heads fill the Botometer-compatible
# raw scores by name): botwiki = self_declared, vendor = fake_follower,
# political amplification = astroturf, adult-content spam = spammer; the IRA
# trolls keep a class of their own (largely human-operated).
SETS = {
    "botwiki2019": ("self_declared", None, "all", None),
    "verified2019": ("human", None, "all", None),
    "vendor2019": ("fake_follower", None, "all", None),
    "politicalbots2019": ("astroturf", None, "all", None),
    # four fields; no creation time, so no account age and no counts evidence
    "pronbots2019": ("spammer", "2019-06-01T00:00:00Z",
                     "screen_name+followers_count+friends_count", 1000),
    # 15 fields; profiles as of 2016-17, before the 2017 suspensions: mid-2017
    "ira2018": ("ira_troll", "2017-06-30T00:00:00Z",
                "screen_name+name+description+followers_count+friends_count+"
                "statuses_count+listed_count+favourites_count+created_at", None),
}

MONTHS = {m: i + 1 for i, m in enumerate(
    "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split())}


def iso(twitter_time):
    """'Tue Aug 18 23:08:40 +0000 2015' -> '2015-08-18T23:08:40Z'."""
    p = twitter_time.split()
    return f"{p[5]}-{MONTHS[p[1]]:02d}-{int(p[2]):02d}T{p[3]}Z"


def read_records(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_gz(path, lines):
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
        for line in lines:
            f.write((line + "\n").encode("utf-8"))


def id_key(uid):
    return hashlib.sha256(f"botwatch-sample/{uid}".encode()).hexdigest()


def prepare(data, out, name):
    cls, probe, fields, sample = SETS[name]
    src = os.path.join(data, "extra", name)
    recs = read_records(os.path.join(src, "posts.ndjson.gz"))
    with open(os.path.join(src, "labels.csv"), newline="") as f:
        labels = [row for row in csv.DictReader(f)]
    if probe is None:
        times = [iso(r["created_at"]) for r in recs if r.get("created_at")]
        if not times:
            sys.exit(f"sources: {name}: no record time and no fixed probe time")
        probe = max(times)
    keep = {row["user_id"] for row in labels}
    if sample is not None and len(keep) > sample:
        keep = set(sorted(keep, key=id_key)[:sample])
    lines = []
    for r in recs:
        uid = str(r.get("user", {}).get("id_str") or r.get("user", {}).get("id") or "")
        if uid not in keep:
            continue
        r["created_at"] = probe
        lines.append(json.dumps(r, ensure_ascii=False, separators=(",", ":")))
    write_gz(os.path.join(out, name + ".ndjson.gz"), lines)
    with open(os.path.join(out, name + ".csv"), "w", newline="") as f:
        f.write("user_id,label,class,dataset,evidence,fields\n")
        n = 0
        for row in labels:
            if row["user_id"] not in keep:
                continue
            label = row["label"]
            c = cls if label == "1" else "human"
            f.write(f"{row['user_id']},{label},{c},{name},all,{fields}\n")
            n += 1
    print(f"sources: {name}: {n} accounts, {len(lines)} records, probe time {probe}, "
          f"fields {fields}", file=sys.stderr)


def main(data, out):
    os.makedirs(out, exist_ok=True)
    for name in SETS:
        prepare(data, out, name)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
