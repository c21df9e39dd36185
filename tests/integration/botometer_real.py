#!/usr/bin/env python3
"""The real botometer-python (unchanged, with tweepy 3.10) against `botwatch serve`.

Botometer's client fetches an account's timeline and mentions from Twitter's REST API
with tweepy, then posts them to <botometer_api_url>/4/check_account. Here:
  - botometer_api_url / botometerlite_api_url (its documented settings) point at the
    botwatch server under test;
  - Twitter's API is a loopback server that replays the recorded tweepy responses in
    $BOTWATCH_DATA/fixtures/twitter_v1_rest. tweepy always speaks HTTPS to its
    hosts, so the client reaches it the way a site's proxy is reached: HTTPS_PROXY
    names this server, which accepts CONNECT to the Twitter API hosts only (nothing
    leaves the machine) and answers over TLS with a certificate from a throw-away CA
    that REQUESTS_CA_BUNDLE trusts. Neither package is patched or configured beyond
    its public settings.
Every answer is then compared with `botwatch replay` of the same inputs (the request
botometer-python built: its user object as a profile record, the timeline, the
mentions; each BotometerLite input alone), to the 6 significant digits replay writes.

usage: botometer_real.py BOTWATCH_URL KEY DATA_DIR BOTWATCH_BIN MODEL WORKDIR CERT KEYFILE CA
"""
import collections
import json
import math
import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TWITTER_HOSTS = {"api.twitter.com", "search.twitter.com"}
BOM_TYPES = ("astroturf", "fake_follower", "financial", "other", "self_declared", "spammer")


class Fixtures:
    """The recorded REST responses, indexed as the Twitter API would serve them."""

    def __init__(self, data):
        rest = os.path.join(data, "fixtures", "twitter_v1_rest")

        def load(name):
            with open(os.path.join(rest, name)) as f:
                return json.load(f)

        self.timelines = {}   # lower-case screen name and id_str -> timeline (newest first)
        self.users = {}       # the same keys -> user object (as embedded in its timeline)
        for name in ("tweepy_user_timeline_screen_name_Twitter.json",
                     "python-twitter_get_user_timeline.json",
                     "tweepy_user_timeline_authenticated_user.json"):
            tl = load(name)
            u = tl[0]["user"]
            for key in (u["screen_name"].lower(), u["id_str"]):
                self.timelines[key] = tl
                self.users[key] = u
        # the one recorded search response answers every search
        self.search = load("tweepy_search_tweets_q_tweepy.json")
        self.served = []      # (path, params) of every request answered

    def account(self, params):
        for k in ("screen_name", "user_id", "id"):
            if k in params:
                return params[k].lstrip("@").lower()
        return None


class TwitterHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_CONNECT(self):
        host, _, port = self.path.rpartition(":")
        if host not in TWITTER_HOSTS or port != "443":
            self.send_response(403)
            self.send_header("Content-Length", "0")
            self.end_headers()
            self.close_connection = True
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        conn = self.server.tls.wrap_socket(self.connection, server_side=True)
        self.connection = conn
        self.rfile = conn.makefile("rb")
        self.wfile = conn.makefile("wb")
        self.close_connection = False

    def reply(self, code, obj):
        body = json.dumps(obj).encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def answer(self, params):
        fx = self.server.fixtures
        path = urllib.parse.urlsplit(self.path).path
        if not isinstance(self.connection, ssl.SSLSocket):
            return self.reply(400, {"errors": [{"message": "plain HTTP"}]})
        if not self.headers.get("Authorization", "").startswith("OAuth "):
            return self.reply(401, {"errors": [{"code": 215, "message": "Bad Authentication data."}]})
        fx.served.append((path, params))
        not_found = {"errors": [{"code": 34, "message": "Sorry, that page does not exist."}]}
        if path == "/1.1/statuses/user_timeline.json":
            tl = fx.timelines.get(fx.account(params))
            return self.reply(200, tl) if tl is not None else self.reply(404, not_found)
        if path == "/1.1/users/show.json":
            u = fx.users.get(fx.account(params))
            return self.reply(200, u) if u is not None else self.reply(404, not_found)
        if path == "/1.1/search/tweets.json":
            return self.reply(200, fx.search)
        if path == "/1.1/users/lookup.json":
            keys = []
            for k in ("user_id", "screen_name"):
                keys += [x.lower() for x in params.get(k, "").split(",") if x]
            found = [fx.users[k] for k in keys if k in fx.users]
            return self.reply(200, found) if found else self.reply(404, not_found)
        return self.reply(404, not_found)

    def do_GET(self):
        q = urllib.parse.urlsplit(self.path).query
        self.answer(dict(urllib.parse.parse_qsl(q)))

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8") if n else ""
        params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
        params.update(urllib.parse.parse_qsl(body))
        self.answer(params)


def start_twitter(fixtures, cert, key):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), TwitterHandler)
    srv.daemon_threads = True
    srv.fixtures = fixtures
    srv.tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    srv.tls.load_cert_chain(cert, key)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


# ---- replay, the reference -------------------------------------------------------

class Replay:
    def __init__(self, binary, model, workdir):
        self.binary, self.model, self.workdir = binary, model, workdir
        self.n = 0

    def run(self, units):
        """Score records by user_id of `units` (JSON values, one input line each)."""
        self.n += 1
        src = os.path.join(self.workdir, "replay%d.jsonl" % self.n)
        out = os.path.join(self.workdir, "replay%d.out" % self.n)
        with open(src, "w") as f:
            for u in units:
                f.write(json.dumps(u) + "\n")
        r = subprocess.run([self.binary, "replay", "--model", self.model, "--out", out, src],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        if r.returncode:
            raise AssertionError("replay failed: %s" % r.stderr.decode()[-2000:])
        with open(out) as f:
            return {rec["user_id"]: rec for rec in map(json.loads, f)}


def close(a, b):
    """Equal to the 6 significant digits replay prints."""
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=5.000001e-6)


def expected_type(raw, t):
    """A Botometer type from the model's raw scores (docs/API.md)."""
    if t in raw:
        return raw[t]
    if t + "s" in raw:
        return raw[t + "s"]
    if t != "other":
        return 0.0
    named = {n for n in raw for b in BOM_TYPES if b != "other" and n in (b, b + "s")}
    rest = [v for n, v in raw.items() if n not in named and v is not None]
    return max(rest) if rest else 0.0


def same_as_replay(result, rec, what):
    """A v4 answer against replay's score record of the account."""
    assert rec is not None, "%s: replay wrote no record" % what
    bw = result["botwatch"]
    assert bw["status"] == rec["status"], (what, bw["status"], rec["status"])
    for lang in ("english", "universal"):
        raw, disp = result["raw_scores"][lang], result["display_scores"][lang]
        assert close(raw["overall"], rec[lang]), (what, lang, raw["overall"], rec[lang])
        assert close(result["cap"][lang], rec["cap"][lang]), (what, lang, result["cap"], rec["cap"])
        for t in BOM_TYPES:
            want = expected_type(rec["raw_scores"], t)
            assert isinstance(raw[t], float) and close(raw[t], want), (what, t, raw[t], want)
            assert isinstance(disp[t], float) and abs(disp[t] - round(raw[t] * 5, 1)) < 1e-9
        assert abs(disp["overall"] - round(raw["overall"] * 5, 1)) < 1e-9
        max(disp.values())  # what client code does: every value is a number
    for t, v in rec["raw_scores"].items():
        assert close(bw["raw_scores"][t], v), (what, t, bw["raw_scores"][t], v)
    assert bw["posts_seen"] == rec["posts_seen"], (what, bw["posts_seen"], rec["posts_seen"])


def majority_lang(timeline):
    """Botometer's: the most common lang value of the timeline, und included."""
    c = collections.Counter(t.get("lang") for t in timeline if t.get("lang"))
    return c.most_common(1)[0][0] if c else "und"


# ---- the checks ------------------------------------------------------------------

def check_v4(bom_cls, auth, url, key, fx, replay):
    import botometer
    bom = bom_cls(botometer_api_url=url, rapidapi_key=key, **auth)
    seen = {}
    for account in ("@Twitter", "dewitt", 783214):
        for full in (False, True):
            before = len(fx.served)
            result = bom.check_account(account, full_user_object=full)
            served = fx.served[before:]
            assert [p for p, _ in served] == ["/1.1/statuses/user_timeline.json",
                                             "/1.1/search/tweets.json"], served
            tl = fx.timelines[str(account).lstrip("@").lower()]
            u = tl[0]["user"]
            sent = u if full else {"id_str": u["id_str"], "screen_name": u["screen_name"]}
            mentions = fx.search["statuses"]
            recs = replay.run([{"user": sent}] + tl + mentions)
            what = "check_account(%r, full_user_object=%s)" % (account, full)
            same_as_replay(result, recs.get(u["id_str"]), what)
            # the user object comes back as sent (Botometer returns it untouched)
            assert result["user"]["user_data"] == sent, result["user"]["user_data"]
            assert result["user"]["majority_lang"] == majority_lang(tl), result["user"]
            if not full:
                # the stub adds nothing: the same as replaying timeline and mentions alone
                alone = replay.run(tl + mentions)[u["id_str"]]
                same_as_replay(result, alone, what + " vs no user record")
            seen[(u["id_str"], full)] = result
            print("  %s: overall %.6g, cap %.4g, status %s, majority_lang %s = replay"
                  % (what, result["raw_scores"]["english"]["overall"], result["cap"]["english"],
                     result["botwatch"]["status"], result["user"]["majority_lang"]))
    # check_accounts_in: the same answers, in order, and an unknown account as an error entry
    names = ["@Twitter", "@nosuchaccount_bw", "@dewitt", "@TweepyDev"]
    got = list(bom.check_accounts_in(names))
    assert [a for a, _ in got] == names, got
    assert "error" in got[1][1] and "TweepError" in got[1][1]["error"], got[1]
    for (name, res), uid in zip([got[0], got[2]], ("783214", "673483")):
        assert res["raw_scores"] == seen[(uid, False)]["raw_scores"], (name, res["raw_scores"])
    tl = fx.timelines["tweepydev"]
    u = tl[0]["user"]
    rec = replay.run([{"user": {"id_str": u["id_str"], "screen_name": u["screen_name"]}}] + tl +
                     fx.search["statuses"]).get(u["id_str"])
    same_as_replay(got[3][1], rec, "check_accounts_in @TweepyDev")
    print("  check_accounts_in(%s): %d answers in order, the unknown one an error entry"
          % (", ".join(names), len(got)))
    return seen


def same_lite(entry, rec, tweet_id, uid, what):
    assert entry["tweet_id"] == tweet_id, (what, entry)
    assert isinstance(entry["user_id"], int) and str(entry["user_id"]) == uid, (what, entry)
    assert rec is not None and close(entry["botscore"], rec["english"]), (what, entry, rec)


def rounds(units, uid_of):
    """Split units into replay inputs that name each account at most once."""
    out = []
    for u in units:
        for r in out:
            if all(uid_of(x) != uid_of(u) for x in r):
                r.append(u)
                break
        else:
            out.append([u])
    return out


def check_lite(auth, url, key, fx, replay):
    import botometer
    tweets = fx.search["statuses"]
    blt = botometer.BotometerLite(rapidapi_key=key, botometerlite_api_url=url)
    res = blt.check_accounts_from_tweets(tweets)
    assert len(res) == len(tweets), res
    ref = {}
    for r in rounds(tweets, lambda t: t["user"]["id_str"]):
        recs = replay.run(r)
        for t in r:
            ref[t["id_str"]] = recs.get(t["user"]["id_str"])
    for tw, entry in zip(tweets, res):
        same_lite(entry, ref[tw["id_str"]], tw["id_str"], tw["user"]["id_str"],
                  "check_accounts_from_tweets")
    print("  BotometerLite.check_accounts_from_tweets: %d tweets = replay of each" % len(res))

    # Twitter mode: users/lookup, then {"created_at": now, "user": ...} for each
    blt = botometer.BotometerLite(rapidapi_key=key, botometerlite_api_url=url, **auth)
    for how, arg in (("check_accounts_from_user_ids", ["783214", "673483"]),
                     ("check_accounts_from_screen_names", ["Twitter", "dewitt", "TweepyDev"])):
        for attempt in range(3):
            t0 = datetime.now(timezone.utc)
            res = getattr(blt, how)(arg)
            t1 = datetime.now(timezone.utc)
            if t0.replace(microsecond=0) == t1.replace(microsecond=0):
                break  # the client's timestamp (whole seconds) is known exactly
        now = t0.strftime("%a %b %d %H:%M:%S %z %Y")
        users = [fx.users[a.lower()] for a in arg]
        recs = replay.run([{"created_at": now, "user": u} for u in users])
        assert len(res) == len(users), res
        for u, entry in zip(users, res):
            same_lite(entry, recs.get(u["id_str"]), None, u["id_str"], how)
        print("  BotometerLite.%s(%s): = replay of {created_at: now, user}" % (how, arg))


def main():
    url, key, data, binary, model, workdir, cert, keyfile, ca = sys.argv[1:10]
    fx = Fixtures(data)
    tw = start_twitter(fx, cert, keyfile)
    os.environ.update({"HTTPS_PROXY": "http://127.0.0.1:%d" % tw.server_address[1],
                       "REQUESTS_CA_BUNDLE": ca, "NO_PROXY": "127.0.0.1,localhost"})
    for v in ("HTTP_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        os.environ.pop(v, None)
    import botometer
    import tweepy
    print("  botometer-python %s, tweepy %s" % (
        __import__("importlib.metadata").metadata.version("botometer"), tweepy.__version__))
    auth = {"consumer_key": "ck", "consumer_secret": "cs",
            "access_token": "at", "access_token_secret": "ats"}
    replay = Replay(binary, model, workdir)
    check_v4(botometer.Botometer, auth, url, key, fx, replay)
    check_lite(auth, url, key, fx, replay)
    tw.shutdown()


if __name__ == "__main__":
    main()
