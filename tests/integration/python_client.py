#!/usr/bin/env python3
"""The Python client (clients/python, installed with pip into build/pyvenv) against a
live `botwatch serve` over a store that `botwatch replay` filled from the demo sample.
Each call is checked against the route's raw answer (read with urllib here, not with
the client) or against replay's own output.

usage: python_client.py URL TOKEN REPLAY_OUT
"""
import csv
import io
import json
import math
import sys
import urllib.error
import urllib.request

import botwatch


def raw_get(url, token):
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8")


def same(cell, v):
    """A DataFrame cell against the record's value (null is None or NaN there)."""
    if v is None:
        return cell is None or (isinstance(cell, float) and math.isnan(cell))
    return cell == v


def main():
    url, token, replay_out = sys.argv[1:4]
    assert botwatch.__file__.find("/site-packages/") > 0, botwatch.__file__  # the installed copy
    with open(replay_out) as f:
        recs = [json.loads(line) for line in f]
    by_id = {r["user_id"]: r for r in recs}
    bw = botwatch.Client(url, token=token, batch_size=7)

    # one account, by id (str and int) and by screen name with '@'
    first = recs[0]
    assert bw.check_account(first["user_id"]) == first
    assert bw.check_account(int(first["user_id"])) == first
    assert bw.check_account("@" + first["screen_name"].upper()) == first
    try:
        bw.check_account("999999999999")
        raise AssertionError("unknown account answered")
    except botwatch.NotFound as e:
        assert e.status == 404 and e.body["status"] == "not_found"
    print("  check_account: by id, int id and @NAME = replay's record; unknown -> NotFound")

    # a batch of mixed ids and names, unknown and invalid ones among them, over several
    # requests (batch_size 7): one entry per input, in input order
    ask = []
    for i, r in enumerate(recs[:20]):
        ask.append(r["user_id"] if i % 3 else "@" + r["screen_name"])
        if i % 5 == 0:
            ask += ["123456789012345", "bad name!"]
    got = bw.check_accounts(ask)
    assert len(got) == len(ask)
    for a, g in zip(ask, got):
        if a == "123456789012345":
            assert g == {"id": a, "status": "not_found"}, g
        elif a == "bad name!":
            assert g["status"] == "invalid_screen_name", g
        elif a.startswith("@"):
            assert g["screen_name"].lower() == a[1:].lower() and g == by_id[g["user_id"]], (a, g)
        else:
            assert g == by_id[a], (a, g)
    print("  check_accounts: %d mixed inputs in %d requests, input order kept"
          % (len(ask), -(-len(ask) // 7)))

    # export: paged with the cursor = the server's whole export = replay's records
    exported = list(bw.export(page_size=25))
    assert exported == recs, (len(exported), len(recs))
    code, text = raw_get(url + "/v1/accounts?format=ndjson", token)
    assert code == 200 and [json.loads(l) for l in text.splitlines()] == exported
    assert list(bw.export(limit=30, page_size=7)) == recs[:30]
    high = list(bw.export(min_score=0.5))
    assert high == [r for r in recs if r["score"] is not None and r["score"] >= 0.5]
    print("  export: %d records in pages of 25 = the route's ndjson = replay; min_score 0.5: %d"
          % (len(exported), len(high)))

    # DataFrame: one row per account, one column per score (and per bot type)
    df = bw.dataframe()
    types = sorted({t for r in recs for t in r["raw_scores"]})
    assert list(df.columns[:3]) == ["user_id", "screen_name", "status"]
    for c in botwatch.SCORE_COLUMNS + ["raw_scores." + t for t in types]:
        assert c in df.columns, c
    assert len(df) == len(recs)
    for _, row in df.iterrows():
        r = by_id[row["user_id"]]
        for col, v in (("english", r["english"]), ("cap.english", r["cap"]["english"]),
                       ("categories.user", r["categories"]["user"])):
            assert same(row[col], v), (col, row[col], v)
        for t in types:
            assert same(row["raw_scores." + t], r["raw_scores"].get(t)), (t, row["raw_scores." + t])
        for k in ("profile_text", "profile_counts", "posts"):
            assert row["evidence." + k] == (k in r["evidence"]), (k, row["evidence." + k])
    sub = bw.dataframe([recs[3]["user_id"], "@" + recs[1]["screen_name"], "5"])
    assert list(sub["user_id"][:2]) == [recs[3]["user_id"], recs[1]["user_id"]]
    assert sub["status"][2] == "not_found"
    print("  dataframe: %d rows x %d columns (%d bot types); lookups keep input order"
          % (df.shape[0], df.shape[1], len(types)))

    # the server's CSV export has the DataFrame's columns and values
    code, text = raw_get(url + "/v1/accounts?format=csv", token)
    assert code == 200
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(recs)
    header = list(rows[0].keys())
    assert header == list(df.columns), (header, list(df.columns))
    for row, r in zip(rows, recs):
        for t in types:
            v = r["raw_scores"].get(t)
            assert (row["raw_scores." + t] == "" if v is None
                    else float(row["raw_scores." + t]) == v), (t, row, r)
        for k in ("profile_text", "profile_counts", "posts"):
            assert row["evidence." + k] == ("true" if k in r["evidence"] else "false")
        assert row["in_support"] == ("" if r["in_support"] is None else str(r["in_support"]).lower())
    print("  csv export: %d columns (bot types, evidence, in_support) = the DataFrame's"
          % len(header))

    # explain: the route's answer; with the default linear model, exact log-odds
    ok = [r for r in recs if r["status"] == "ok"][0]
    ex = bw.explain(ok["user_id"], top=5)
    code, text = raw_get(url + "/v1/accounts/%s/explain?top=5" % ok["user_id"], token)
    assert code == 200 and json.loads(text) == ex
    assert len(ex["top_features"]) == 5 and abs(ex["score"] - ok["english"]) < 1e-5 * max(1, ok["english"])
    assert len(ex["features"]) > 1000
    if ex["exact"]:
        assert abs(1 / (1 + math.exp(-ex["logit"])) - ex["score"]) < 1e-9, ex
    print("  explain %s: score %.4g, top feature %s (%+.3g log-odds)"
          % (ok["user_id"], ex["score"], ex["top_features"][0]["name"],
             ex["top_features"][0]["contribution"]))

    # the conversation report, where this server has the route
    code, text = raw_get(url + "/v1/report", token)
    if code == 404 and "no such route" in text:
        try:
            bw.report()
            raise AssertionError("report answered without the route")
        except botwatch.BotwatchError as e:
            assert e.status == 404
        print("  report: GET /v1/report is not served by this build (BotwatchError 404 raised)")
    else:
        assert code == 200, (code, text)
        assert bw.report() == json.loads(text)
        code, text = raw_get(url + "/v1/report?by=domain&window=all&threshold=0.3&top=5", token)
        assert code == 200
        want = json.loads(text)
        assert bw.report(by="domain", window="all", threshold=0.3, top=5) == want
        rdf = bw.report_dataframe(by="domain", window="all", threshold=0.3, top=5)
        assert len(rdf) == len(want["rows"])
        for (_, row), r in zip(rdf.iterrows(), want["rows"]):
            assert row["key"] == r["key"] and row["posts"] == r["posts"]
            assert same(row["share_posts_lo"], (r.get("share_posts_ci") or [None])[0])
        print("  report: = GET /v1/report (%d rows by domain; as a DataFrame too)" % len(rdf))

    # errors carry the server's JSON error
    try:
        bw.explain(ok["user_id"], top=1000)
        raise AssertionError("top=1000 accepted")
    except botwatch.BotwatchError as e:
        assert e.status == 400 and "top" in str(e), e
    wrong = botwatch.Client(url, token="wrong")
    try:
        wrong.models()
        raise AssertionError("wrong token accepted")
    except botwatch.BotwatchError as e:
        assert e.status == 401
    assert bw.health()["accounts"] == len(recs)
    print("  errors: 400 and 401 raised as BotwatchError with the server's message")


if __name__ == "__main__":
    main()
