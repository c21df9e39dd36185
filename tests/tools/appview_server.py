#!/usr/bin/env python3
"""appview_server.py — a loopback Bluesky AppView for tests (standard library only).

Answers `GET /xrpc/app.bsky.actor.getProfiles?actors=A&actors=B…` (at most 25
actors, else 400 as the real API does) with a profile view for every actor that
is a DID: handle, displayName, description, avatar, followersCount, followsCount,
postsCount and createdAt, all derived from the DID so a test can predict them
(profile_for() below); every fifth account carries the `bot` self-label.
--fail-every N answers every Nth request 429 with `Retry-After: 1`.
The log (--log) has one line per request: `t=<ms> req=<n> actors=<k> status=<code>`.
"""
import argparse
import hashlib
import json
import os
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def profile_for(did):
    h = int(hashlib.sha1(did.encode()).hexdigest(), 16)
    view = {
        "did": did,
        "handle": f"acct{h % 100000}.example.org",
        "displayName": f"Account {h % 1000}",
        "description": f"enriched profile of {did[-8:]}",
        "avatar": f"https://cdn.example.org/avatar/{h % 9999}.jpg",
        "followersCount": h % 5000,
        "followsCount": (h >> 16) % 3000,
        "postsCount": (h >> 32) % 20000,
        "createdAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(1600000000 + h % 150000000)),
        "labels": [],
    }
    if h % 5 == 0:
        view["labels"] = [{"src": did, "uri": f"at://{did}/app.bsky.actor.profile/self", "val": "bot"}]
    return view


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        srv = self.server
        with srv.lock:
            srv.n += 1
            n = srv.n
        u = urllib.parse.urlsplit(self.path)
        actors = urllib.parse.parse_qs(u.query).get("actors", [])
        status, body, extra = 200, None, {}
        if u.path != "/xrpc/app.bsky.actor.getProfiles":
            status, body = 404, {"error": "NotFound"}
        elif srv.fail_every and n % srv.fail_every == 0:
            status, body, extra = 429, {"error": "RateLimitExceeded"}, {"Retry-After": "1"}
        elif not actors or len(actors) > 25:
            status, body = 400, {"error": "InvalidRequest", "message": "1 to 25 actors"}
        else:
            body = {"profiles": [profile_for(a) for a in actors if a.startswith("did:")]}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        with srv.lock:
            with open(srv.log, "a") as f:
                f.write(f"t={int(time.monotonic() * 1000)} req={n} actors={len(actors)} status={status}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--fail-every", type=int, default=0)
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.lock = threading.Lock()
    srv.n = 0
    srv.fail_every = args.fail_every
    srv.log = args.log
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{srv.server_address[1]}\n")
    os.rename(tmp, args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
