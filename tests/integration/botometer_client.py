#!/usr/bin/env python3
"""Talk to botwatch's Botometer-compatible routes exactly as botometer-python does.

Botometer.check_account(user) builds {"mentions": search["statuses"], "timeline":
user_timeline, "user": {"id_str", "screen_name"}} from tweepy responses and sends it
with requests.post(url + "/4/check_account", json=payload, headers={"x-rapidapi-key":
key}); then raise_for_status() and .json(). BotometerLite.check_accounts_from_tweets
posts the list of tweets to /litev1/check_accounts_in_bulk the same way.
The tweepy responses are the recorded fixtures in $BOTWATCH_DATA/fixtures.

usage: botometer_client.py BASE_URL KEY DATA_DIR
"""
import collections
import json
import sys
import urllib.error
import urllib.request


def post(url, key, payload):
    # what requests.post(url, json=payload, headers={"x-rapidapi-key": key}) sends
    body = json.dumps(payload).encode("utf-8")
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "x-rapidapi-key": key, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:  # raises on >= 400
        return json.loads(resp.read().decode("utf-8"))


def check_account(base, key, data):
    rest = data + "/fixtures/twitter_v1_rest/"
    with open(rest + "tweepy_user_timeline_screen_name_Twitter.json") as f:
        user_timeline = json.load(f)
    with open(rest + "tweepy_search_tweets_q_tweepy.json") as f:
        search = json.load(f)
    user_data = user_timeline[0]["user"]
    payload = {"mentions": search["statuses"], "timeline": user_timeline,
               "user": {"id_str": user_data["id_str"], "screen_name": user_data["screen_name"]}}
    result = post(base + "/4/check_account", key, payload)
    # how client code reads it
    for lang in ("english", "universal"):
        cap = result["cap"][lang]
        raw = result["raw_scores"][lang]
        disp = result["display_scores"][lang]
        assert 0.0 <= cap <= 1.0, cap
        assert 0.0 <= raw["overall"] <= 1.0, raw
        assert abs(disp["overall"] - round(raw["overall"] * 5, 1)) < 1e-9, (disp, raw)
        for t in ("astroturf", "fake_follower", "financial", "other", "self_declared", "spammer"):
            assert t in raw and t in disp, (t, raw)
    assert result["user"]["user_data"] == {"id_str": user_data["id_str"],
                                           "screen_name": user_data["screen_name"]}, result["user"]
    # Botometer's majority_lang: the most common lang value of the timeline, "und"
    # counted like any other (@Twitter's recorded timeline: 13 und, 6 en, 1 in)
    langs = collections.Counter(t["lang"] for t in user_timeline if t.get("lang"))
    assert result["user"]["majority_lang"] == langs.most_common(1)[0][0] == "und", result["user"]
    # every Botometer type is a number, so max() over a score set works
    assert all(isinstance(v, float) for v in result["display_scores"]["english"].values())
    bw = result["botwatch"]
    assert bw["units_rejected"] == 0, bw
    assert bw["status"] == "ok", bw
    assert bw["posts_seen"] == len(user_timeline), bw
    print("check_account @%s: overall %.3f (display %.1f), cap %.3f, status %s"
          % (user_data["screen_name"], result["raw_scores"]["english"]["overall"],
             result["display_scores"]["english"]["overall"], result["cap"]["english"],
             bw["status"]))
    # a full-size request (the client asks for 200 tweets and 100 mentions) fits the
    # default body cap; the repeated tweets are the same posts, so nothing changes
    full = dict(payload, timeline=(user_timeline * 10)[:200],
                mentions=(search["statuses"] * 7)[:100])
    size = len(json.dumps(full))
    again = post(base + "/4/check_account", key, full)
    assert again["raw_scores"] == result["raw_scores"], (again["raw_scores"], result["raw_scores"])
    assert again["botwatch"]["posts_seen"] == len(user_timeline), again["botwatch"]
    print("check_account, full-size request (%d bytes): same scores" % size)


def check_lite(base, key, data):
    with open(data + "/fixtures/twitter_v1_rest/tweepy_search_tweets_q_tweepy.json") as f:
        tweets = json.load(f)["statuses"]
    result = post(base + "/litev1/check_accounts_in_bulk", key, tweets)
    assert isinstance(result, list) and len(result) == len(tweets), result
    for tw, r in zip(tweets, result):
        assert r["tweet_id"] == tw["id_str"], (r, tw["id_str"])
        # as BotometerLite answers: user_id a number, tweet_id a string
        assert r["user_id"] == int(tw["user"]["id_str"]), r
        assert 0.0 <= r["botscore"] <= 1.0, r
    print("check_accounts_in_bulk: %d tweets scored" % len(result))
    # too many inputs is refused with a JSON error, as documented
    try:
        post(base + "/litev1/check_accounts_in_bulk", key, tweets * 7)
        raise AssertionError("101+ inputs accepted")
    except urllib.error.HTTPError as e:
        assert e.code == 400 and json.loads(e.read())["status"] == "error"


def main():
    base, key, data = sys.argv[1:4]
    check_account(base, key, data)
    check_lite(base, key, data)


if __name__ == "__main__":
    main()
