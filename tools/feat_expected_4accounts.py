#!/usr/bin/env python3
"""Independent reference values for tests/unit/test_feat_data.c.

Reads the 4-account tweet sample (cresci-2017, see ../shared/data/dev/README.md)
with Python's json/gzip only -- no botwatch code -- and prints, per account, the
required features as the feature registry defines them (docs/FEATURES.md):

  profile values   from the latest tweet by created_at (its embedded user object)
  probe time       the account's latest tweet time
  account_age_days (probe - user.created_at) / 86400 s
  rates            count / max(age_days, 1); followers_friends_ratio = followers / max(friends, 1)
  lengths          code points; digits = 0-9 in the screen name
  likelihood       geometric mean of add-one-smoothed bigram probabilities, model
                   refitted here from /usr/share/dict/words
  shares           retweet: retweeted_status_id set; reply: in_reply_to_status_id set
                   and not a retweet; over distinct tweet ids
  per-post means   num_hashtags, num_urls
  gaps             consecutive created_at differences (s) of distinct tweets sorted
                   by time; mean, median, population std

usage: tools/feat_expected_4accounts.py [PATH] > constants (pasted into the test)
"""
import gzip
import json
import math
import statistics
import sys
from datetime import datetime

PATH = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/dev/tweets_partial_4accounts.ndjson.gz"
ALPHA = "abcdefghijklmnopqrstuvwxyz0123456789_"


def tw_time(s):
    return datetime.strptime(s, "%a %b %d %H:%M:%S %z %Y").timestamp()


def bigram_model():
    idx = {c: i for i, c in enumerate(ALPHA)}
    counts = {}
    total = 0
    with open("/usr/share/dict/words", encoding="utf-8", errors="replace") as f:
        for line in f:
            w = line.strip().lower()
            if not w or any(c not in idx for c in w):
                continue
            for a, b in zip(w, w[1:]):
                counts[a + b] = counts.get(a + b, 0) + 1
                total += 1
    return counts, total


def likelihood(sn, model):
    counts, total = model
    denom = total + len(ALPHA) ** 2
    logs = [math.log((counts.get(a + b, 0) + 1) / denom)
            for a, b in zip(sn.lower(), sn.lower()[1:]) if a in ALPHA and b in ALPHA]
    return math.exp(sum(logs) / len(logs)) if logs else 0.0


def main():
    model = bigram_model()
    accts = {}
    with gzip.open(PATH, "rt", encoding="utf-8") as f:
        for line in f:
            t = json.loads(line)
            a = accts.setdefault(t["user"]["id_str"], {})
            a[t["id_str"]] = t
    for uid, tweets in accts.items():
        ts = sorted(tweets.values(), key=lambda t: (tw_time(t["created_at"])))
        u = ts[-1]["user"]
        probe = tw_time(ts[-1]["created_at"])
        age = max(probe - tw_time(u["created_at"]), 0) / 86400.0
        age1 = max(age, 1.0)
        c = {k: (u.get(k) or 0) for k in ("statuses_count", "followers_count", "friends_count",
                                           "favourites_count", "listed_count")}
        n = len(ts)
        rt = sum(1 for t in ts if t.get("retweeted_status_id") is not None)
        rp = sum(1 for t in ts if t.get("retweeted_status_id") is None
                 and t.get("in_reply_to_status_id") is not None)
        times = sorted(tw_time(t["created_at"]) for t in ts)
        gaps = [b - a for a, b in zip(times, times[1:])]
        vals = {
            "user.statuses_count": c["statuses_count"],
            "user.followers_count": c["followers_count"],
            "user.friends_count": c["friends_count"],
            "user.favourites_count": c["favourites_count"],
            "user.listed_count": c["listed_count"],
            "user.tweet_freq": c["statuses_count"] / age1,
            "user.followers_growth_rate": c["followers_count"] / age1,
            "user.friends_growth_rate": c["friends_count"] / age1,
            "user.followers_friends_ratio": c["followers_count"] / max(c["friends_count"], 1),
            "user.screen_name_length": len(u.get("screen_name") or ""),
            "user.num_digits_in_screen_name": sum(ch.isdigit() for ch in (u.get("screen_name") or "")),
            "user.name_length": len(u.get("name") or ""),
            "user.description_length": len(u.get("description") or ""),
            "user.screen_name_likelihood": likelihood(u.get("screen_name") or "", model),
            "user.account_age_days": age,
            "content.retweet_share": rt / n,
            "content.reply_share": rp / n,
            "content.hashtags_per_post.mean": sum(t.get("num_hashtags") or 0 for t in ts) / n,
            "content.urls_per_post.mean": sum(t.get("num_urls") or 0 for t in ts) / n,
            "temporal.post_gap_seconds.mean": statistics.fmean(gaps) if gaps else 0.0,
            "temporal.post_gap_seconds.median": statistics.median(gaps) if gaps else 0.0,
            "temporal.post_gap_seconds.std": statistics.pstdev(gaps) if gaps else 0.0,
        }
        print('\t{ "%s", "%s", %d, {' % (uid, u["screen_name"], n))
        for k, v in vals.items():
            print('\t\t{ "%s", %.17g },' % (k, v))
        print("\t} },")


if __name__ == "__main__":
    main()
