#!/usr/bin/env python3
"""Cut TweepFake's 40 timelines into labelled sub-timelines for training.

TweepFake (../shared/data/tweepfake) holds 25,572 tweets of 23 text-generating
bots and the 17 humans they imitate: text and screen name only. 40 accounts are
too few rows to train a group on, so every account is split into "chunks":
consecutive runs of CHUNK (30) tweets in file order, each a pseudo-account with
its own synthetic id. A remainder shorter than MIN_LAST (15) is merged into the
account's previous chunk (chunks hold 15..44 tweets); an account with fewer
than CHUNK tweets is one chunk. Nothing is dropped.

Text normalisation (docs/MODEL.md, "Real labelled timelines"): the source's
preprocessing left surface artefacts whose frequency differs by class
(README "Caveats"), so before the text reaches the features:
  * literal "<U+XXXX>" escapes are decoded to the character they name (emoji
    survive only in this form; an escape naming no valid character is dropped);
  * literal backslash sequences (\\n, \\r, \\t; only in rnn output) become a
    space, \\" becomes ", \\\\ becomes \\;
  * runs of white space, real line breaks included, become one space, and the
    text is trimmed;
  * a trailing "..." (U+2026, the source's truncation mark) is removed.
HTML entities (&amp; &lt; &gt;) are left: the decoder unescapes them for every
v1.1 status, so no feature sees them (tested in tests/integration/tweepfake_chunks.sh).
--raw skips the normalisation (to measure its effect).

    tweepfake_chunks.py [--raw] [--chunk N] TWEEPFAKE_DIR PAIRS.csv OUTDIR

Writes into OUTDIR (bytes are a pure function of the inputs: gzip mtime 0):
  tf_chunks.ndjson.gz  the chunks: {"text", "user": {id, id_str, _synthetic_id,
                       screen_name}} in account then file order
  tf_chunks.csv        user_id,label,class,dataset,evidence: class
                       "text_generator" for bots, "human"; dataset =
                       "tweepfake/<pair>" (PAIRS.csv); evidence "posts" (the chunks train only the
                       activity groups, not the profile ones: docs/MODEL.md)
  tf_whole.ndjson.gz   the 40 whole accounts, same normalisation, original ids
  tf_whole.csv         their labels, dataset "tweepfake/<pair>", evidence "all"
  tf_folds.csv         pair,fold,tweets: the pairs dealt into FOLDS (5)
                       evaluation folds, largest pair first, each to the fold
                       with the fewest tweets so far (ties: lowest fold)
Fails (exit 1) on an account missing from PAIRS.csv or labels.csv, a line
without text or screen name, or a chunk id colliding with another id.
"""
import csv
import gzip
import hashlib
import json
import os
import re
import sys

CHUNK = 30
MIN_LAST = 15
FOLDS = 5

U_ESC = re.compile(r"<U\+([0-9A-Fa-f]{4,8})>")
BS_ESC = re.compile(r"\\([nrt\"\\])")
WS = re.compile(r"\s+")


def fail(msg):
    sys.stderr.write("tweepfake_chunks: %s\n" % msg)
    sys.exit(1)


def decode_u(m):
    cp = int(m.group(1), 16)
    if cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF:
        return ""
    return chr(cp)


def normalise(text):
    text = U_ESC.sub(decode_u, text)
    text = BS_ESC.sub(lambda m: {"n": " ", "r": " ", "t": " "}.get(m.group(1), m.group(1)), text)
    text = WS.sub(" ", text).strip()
    while text.endswith("\u2026"):
        text = text[:-1].rstrip()
    return text


def synthetic_id(key):
    return int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:15], 16)


def read_pairs(path):
    pairs = {}
    with open(path, newline="") as f:
        rows = [l for l in f if not l.startswith("#")]
    for r in csv.DictReader(rows):
        pairs[r["screen_name"]] = r["pair"]
    return pairs


def read_accounts(path):
    """Tweets per screen name in file order, with each account's id."""
    acc, order = {}, []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            r = json.loads(line)
            u = r.get("user") or {}
            sn, text = u.get("screen_name"), r.get("text")
            if not sn or not isinstance(text, str) or not u.get("id_str"):
                fail("%s:%d: no text, screen name or id" % (path, n))
            if sn not in acc:
                acc[sn] = {"id": u["id_str"], "texts": []}
                order.append(sn)
            acc[sn]["texts"].append(text)
    return acc, order


def cut(n, chunk):
    """[start, end) ranges of the chunks of an n-tweet timeline."""
    if n <= chunk:
        return [(0, n)]
    bounds = [(s, min(s + chunk, n)) for s in range(0, n, chunk)]
    if bounds[-1][1] - bounds[-1][0] < MIN_LAST:
        last = bounds.pop()
        bounds[-1] = (bounds[-1][0], last[1])
    return bounds


def record(uid, sn, text):
    u = {"id": int(uid), "id_str": str(uid), "_synthetic_id": True, "screen_name": sn}
    return json.dumps({"text": text, "user": u}, ensure_ascii=False, sort_keys=True) + "\n"


def gz_writer(path):
    return gzip.GzipFile(filename="", mode="wb", compresslevel=6, mtime=0,
                         fileobj=open(path, "wb"))


def deal_folds(pairs, tweets):
    """Pair -> fold: largest first (ties by name) to the least-loaded fold."""
    load, fold = [0] * FOLDS, {}
    for p in sorted(set(pairs.values()), key=lambda p: (-tweets.get(p, 0), p)):
        f = min(range(FOLDS), key=lambda k: (load[k], k))
        fold[p] = f + 1
        load[f] += tweets.get(p, 0)
    return fold


def main(argv):
    raw, chunk = False, CHUNK
    while argv and argv[0].startswith("--"):
        opt = argv.pop(0)
        if opt == "--raw":
            raw = True
        elif opt == "--chunk" and argv and argv[0].isdigit() and int(argv[0]) >= 3:
            chunk = int(argv.pop(0))
        else:
            fail("usage: tweepfake_chunks.py [--raw] [--chunk N>=3] TWEEPFAKE_DIR PAIRS.csv OUTDIR")
    if len(argv) != 3:
        fail("usage: tweepfake_chunks.py [--raw] [--chunk N>=3] TWEEPFAKE_DIR PAIRS.csv OUTDIR")
    src, pairs_path, out = argv
    pairs = read_pairs(pairs_path)
    with open(os.path.join(src, "labels.csv"), newline="") as f:
        labels = {r["user_id"]: r for r in csv.DictReader(f)}
    acc, order = read_accounts(os.path.join(src, "posts.ndjson.gz"))
    ids = {a["id"] for a in acc.values()}
    norm = (lambda t: t) if raw else normalise
    os.makedirs(out, exist_ok=True)
    tweets = {}
    with gz_writer(os.path.join(out, "tf_chunks.ndjson.gz")) as cz, \
            open(os.path.join(out, "tf_chunks.csv"), "w", newline="") as cl, \
            gz_writer(os.path.join(out, "tf_whole.ndjson.gz")) as wz, \
            open(os.path.join(out, "tf_whole.csv"), "w", newline="") as wl:
        cl.write("user_id,label,class,dataset,evidence\n")
        wl.write("user_id,label,class,dataset,evidence\n")
        for sn in order:
            a = acc[sn]
            if sn not in pairs:
                fail("%s: account %s not in %s" % (src, sn, pairs_path))
            if a["id"] not in labels:
                fail("%s: account %s (%s) not in labels.csv" % (src, sn, a["id"]))
            label = labels[a["id"]]["label"]
            cls = "text_generator" if label == "1" else "human"
            pair = pairs[sn]
            texts = [norm(t) for t in a["texts"]]
            tweets[pair] = tweets.get(pair, 0) + len(texts)
            wl.write("%s,%s,%s,tweepfake/%s,all\n" % (a["id"], label, cls, pair))
            for t in texts:
                wz.write(record(a["id"], sn, t).encode("utf-8"))
            for k, (s, e) in enumerate(cut(len(texts), chunk)):
                cid = synthetic_id("tweepfake-chunk/%s/%d" % (sn.lower(), k))
                if str(cid) in ids:
                    fail("chunk id %d of %s collides" % (cid, sn))
                ids.add(str(cid))
                cl.write("%d,%s,%s,tweepfake/%s,posts\n" % (cid, label, cls, pair))
                for t in texts[s:e]:
                    cz.write(record(cid, sn, t).encode("utf-8"))
    fold = deal_folds(pairs, tweets)
    with open(os.path.join(out, "tf_folds.csv"), "w", newline="") as f:
        f.write("pair,fold,tweets\n")
        for p in sorted(fold):
            f.write("%s,%d,%d\n" % (p, fold[p], tweets.get(p, 0)))


if __name__ == "__main__":
    main(sys.argv[1:])
