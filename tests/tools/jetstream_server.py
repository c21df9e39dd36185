#!/usr/bin/env python3
"""jetstream_server.py — a loopback Bluesky Jetstream server for tests (standard library only).

Serves `GET /subscribe` as a WebSocket (RFC 6455, server frames unmasked) and
streams Jetstream events: the fixture files given with --fixture (one JSON event
per line) followed by --generate N generated events (posts with facets, replies,
quotes and embeds, reposts, likes, follows, blocks, profile records — some
self-labelled `bot` — identity and account events) over --accounts accounts.

Every event is re-stamped with a strictly increasing `time_us` (base + 1000 * i),
so a cursor names one position: a connection with `cursor=C` gets the events
with time_us >= C, one without a cursor gets them from the first. The query's
`wantedCollections` and `wantedDids` filter commit events as Jetstream does
(identity and account events always pass); `compress=true` sends each event as
a binary zstd frame compressed with --dictionary (the `zstd` program).

--plan is one entry per connection, separated by ';' (later connections reuse
the last entry):
    send=N|all      events to send on this connection (default all)
    then=drop       close the TCP connection without a close frame (default hold)
    then=close      send a WebSocket close frame, then close
    then=stall      keep the connection open, send nothing more
    then=hold       keep the connection open with a ping every 200 ms (the client answers pong)
    status=CODE     answer the upgrade with this HTTP status instead
    retry-after=S   with status, a Retry-After header

--bad-every N replaces every Nth event with a JSON payload cut short (its
time_us still readable), which a client must dead-letter.

--tls-cert/--tls-key serve wss:// instead of ws://.

--dump FILE writes every event (as served, re-stamped) one per line, so a test
can compute what the pipeline must produce. The log (--log) has one line per
event of interest: `t=<ms> conn=<n> request <path>`, `... cursor <C> from <index>`,
`... sent <count> first=<time_us> last=<time_us>` and `... end <how>`.
"""
import argparse
import base64
import hashlib
import json
import os
import random
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import urllib.parse

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
BASE_US = 1779719000000000


def log_line(args, lock, text):
    with lock:
        with open(args.log, "a") as f:
            f.write(f"t={int(time.monotonic() * 1000)} {text}\n")


def gen_events(n, accounts, seed):
    """n generated Jetstream events over `accounts` DIDs."""
    rnd = random.Random(seed)
    dids = [f"did:plc:gen{i:05d}x{rnd.randrange(16**6):06x}" for i in range(accounts)]
    posts = []  # (did, rkey) created so far
    out = []
    # every account first publishes its profile (some self-label as bots)
    for i, did in enumerate(dids):
        rec = {"$type": "app.bsky.actor.profile", "displayName": f"Generated {i}",
               "description": f"account {i} of the loopback Jetstream"}
        if i % 3:
            rec["avatar"] = {"$type": "blob", "ref": {"$link": "bafkrei" + "a" * 52},
                             "mimeType": "image/jpeg", "size": 1000}
        if i % 4 == 0:
            rec["banner"] = {"$type": "blob", "ref": {"$link": "bafkrei" + "b" * 52},
                             "mimeType": "image/jpeg", "size": 2000}
        if i % 5 == 0:
            rec["labels"] = {"$type": "com.atproto.label.defs#selfLabels",
                             "values": [{"val": "bot"}]}
        out.append({"did": did, "kind": "commit", "commit": {
            "rev": f"r{i}", "operation": "create", "collection": "app.bsky.actor.profile",
            "rkey": "self", "record": rec, "cid": f"bafyprof{i}"}})
    k = 0
    while len(out) < n + accounts:
        did = dids[k % accounts] if k < 3 * accounts else rnd.choice(dids)
        k += 1
        when = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1779719000 + k)) + ".000Z"
        roll = rnd.random()
        rkey = f"3g{k:011d}"
        if roll < 0.55 or k <= 3 * accounts:
            rec = {"$type": "app.bsky.feed.post", "createdAt": when, "langs": ["en"],
                   "text": f"post {k} from {did[-6:]} #tag{k % 7} see https://example.org/{k}"}
            rec["facets"] = [
                {"index": {"byteStart": 0, "byteEnd": 4},
                 "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": f"tag{k % 7}"}]},
                {"index": {"byteStart": 5, "byteEnd": 9},
                 "features": [{"$type": "app.bsky.richtext.facet#link",
                               "uri": f"https://example.org/{k}"}]}]
            if posts and rnd.random() < 0.3:
                pd, pr = rnd.choice(posts)
                uri = f"at://{pd}/app.bsky.feed.post/{pr}"
                rec["reply"] = {"parent": {"uri": uri, "cid": "bafyp"}, "root": {"uri": uri, "cid": "bafyp"}}
                rec["facets"][0]["features"].append(
                    {"$type": "app.bsky.richtext.facet#mention", "did": pd})
            elif posts and rnd.random() < 0.2:
                pd, pr = rnd.choice(posts)
                rec["embed"] = {"$type": "app.bsky.embed.record",
                                "record": {"uri": f"at://{pd}/app.bsky.feed.post/{pr}", "cid": "bafyq"}}
            elif rnd.random() < 0.2:
                rec["embed"] = {"$type": "app.bsky.embed.images", "images": [{"alt": ""}]}
            coll = "app.bsky.feed.post"
            posts.append((did, rkey))
        elif roll < 0.7 and posts:
            pd, pr = rnd.choice(posts)
            coll = "app.bsky.feed.repost"
            rec = {"$type": coll, "createdAt": when,
                   "subject": {"uri": f"at://{pd}/app.bsky.feed.post/{pr}", "cid": "bafyr"}}
        elif roll < 0.85 and posts:
            pd, pr = rnd.choice(posts)
            coll = "app.bsky.feed.like"
            rec = {"$type": coll, "createdAt": when,
                   "subject": {"uri": f"at://{pd}/app.bsky.feed.post/{pr}", "cid": "bafyl"}}
        elif roll < 0.95:
            coll = "app.bsky.graph.follow" if roll < 0.93 else "app.bsky.graph.block"
            rec = {"$type": coll, "createdAt": when, "subject": rnd.choice(dids)}
        elif roll < 0.975:
            out.append({"did": did, "kind": "identity", "identity": {
                "did": did, "handle": f"user{k}.example.org", "seq": k, "time": when}})
            continue
        else:
            out.append({"did": did, "kind": "account", "account": {
                "active": True, "did": did, "seq": k, "time": when}})
            continue
        out.append({"did": did, "kind": "commit", "commit": {
            "rev": f"r{k}", "operation": "create", "collection": coll, "rkey": rkey,
            "record": rec, "cid": f"bafy{k}"}})
    return out


def load_events(args):
    events = []
    for path in args.fixture or []:
        with open(path) as f:
            for line in f:
                if line.strip():
                    events.append(json.loads(line))
    events += gen_events(args.generate, args.accounts, args.seed) if args.generate else []
    lines = []
    for i, ev in enumerate(events):
        ev["time_us"] = BASE_US + 1000 * i
        if args.bad_every and i % args.bad_every == args.bad_every - 1:
            # a broken event: valid start (time_us readable), cut inside the commit
            lines.append(f'{{"did":"{ev.get("did")}","time_us":{ev["time_us"]},"kind":"commit","commit":{{"rev":')
            continue
        lines.append(json.dumps(ev, separators=(",", ":")))
    return lines


def parse_plan(text):
    plan = []
    for entry in (text or "").split(";"):
        e = {"send": None, "then": "hold", "status": 0, "retry_after": None}
        for kv in filter(None, entry.split(",")):
            k, _, v = kv.partition("=")
            if k == "send":
                e["send"] = None if v == "all" else int(v)
            elif k == "then":
                e["then"] = v
            elif k == "status":
                e["status"] = int(v)
            elif k == "retry-after":
                e["retry_after"] = v
            else:
                raise SystemExit(f"jetstream_server: unknown plan key {k}")
        plan.append(e)
    return plan


def frame(payload, opcode):
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return head + payload


class Server:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.events = load_events(args)
        self.parsed = [self.meta(l) for l in self.events]
        self.plan = parse_plan(args.plan)
        self.conns = 0
        self.zcache = {}
        if args.dictionary:  # compress every event up front: a client's stall timer
            for i in range(len(self.events)):  # must not fire while zstd runs
                self.compress(i)
        if args.dump:
            with open(args.dump, "w") as f:
                f.write("".join(l + "\n" for l in self.events))

    @staticmethod
    def meta(line):
        try:
            return json.loads(line)
        except ValueError:  # a --bad-every event: only its time_us and did
            return {"time_us": int(line.split('"time_us":')[1].split(",")[0]),
                    "did": line.split('"did":"')[1].split('"')[0], "kind": "broken"}

    def compress(self, i):
        if i not in self.zcache:
            self.zcache[i] = subprocess.run(
                ["zstd", "-q", "-c", "-D", self.args.dictionary],
                input=self.events[i].encode(), stdout=subprocess.PIPE, check=True).stdout
        return self.zcache[i]

    def wanted(self, i, colls, dids):
        ev = self.parsed[i]
        if dids and ev.get("did") not in dids:
            return False
        if ev.get("kind") == "broken":
            return True
        if ev.get("kind") != "commit" or not colls:
            return True
        c = ev["commit"].get("collection", "")
        return any(c == w or (w.endswith(".*") and c.startswith(w[:-1])) for w in colls)

    def handle(self, sock):
        if self.args.tls_cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.args.tls_cert, self.args.tls_key)
            try:
                sock = ctx.wrap_socket(sock, server_side=True)
            except (OSError, ssl.SSLError) as ex:
                log_line(self.args, self.lock, f"tls handshake failed: {ex}")
                sock.close()
                return
        with self.lock:
            self.conns += 1
            n = self.conns
        e = self.plan[min(n, len(self.plan)) - 1]
        log = lambda text: log_line(self.args, self.lock, f"conn={n} {text}")
        try:
            req = b""
            while b"\r\n\r\n" not in req and len(req) < 65536:
                chunk = sock.recv(4096)
                if not chunk:
                    return
                req += chunk
            head = req.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
            path = head[0].split(" ")[1]
            hdrs = {h.split(":", 1)[0].strip().lower(): h.split(":", 1)[1].strip()
                    for h in head[1:] if ":" in h}
            log(f"request {path} ua={hdrs.get('user-agent', '-')}")
            if e["status"]:
                extra = f"Retry-After: {e['retry_after']}\r\n" if e["retry_after"] else ""
                sock.sendall(f"HTTP/1.1 {e['status']} Error\r\n{extra}Content-Length: 0\r\n"
                             "Connection: close\r\n\r\n".encode())
                log("end status")
                return
            u = urllib.parse.urlsplit(path)
            q = urllib.parse.parse_qs(u.query)
            if u.path != "/subscribe" or "sec-websocket-key" not in hdrs:
                sock.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                log("end 404")
                return
            accept = base64.b64encode(hashlib.sha1((hdrs["sec-websocket-key"] + GUID).encode()).digest())
            sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
            colls = [c for v in q.get("wantedCollections", []) for c in v.split(",") if c]
            dids = set(d for v in q.get("wantedDids", []) for d in v.split(",") if d)
            zstd = q.get("compress", ["false"])[0] == "true"
            cursor = int(q["cursor"][0]) if "cursor" in q else None
            start = 0
            if cursor is not None:
                start = next((i for i, l in enumerate(self.parsed) if l["time_us"] >= cursor),
                             len(self.events))
            log(f"cursor {cursor if cursor is not None else '-'} from {start}")
            sent = 0
            first = last = None
            for i in range(start, len(self.events)):
                if e["send"] is not None and sent >= e["send"]:
                    break
                if not self.wanted(i, colls, dids):
                    continue
                data = self.compress(i) if zstd else self.events[i].encode()
                sock.sendall(frame(data, 2 if zstd else 1))
                sent += 1
                first = first or self.parsed[i]["time_us"]
                last = self.parsed[i]["time_us"]
            log(f"sent {sent} first={first} last={last}")
            how = e["then"]
            if how == "drop":
                sock.shutdown(socket.SHUT_RDWR)
            elif how == "close":
                sock.sendall(frame(struct.pack("!H", 1000), 8))
            elif how == "stall":  # send nothing; wait until the client goes away
                sock.settimeout(None)
                while sock.recv(4096):
                    pass
            else:  # hold: a ping every 200 ms (as a live stream is never silent)
                sock.settimeout(0.2)
                pongs = 0
                while True:
                    sock.sendall(frame(b"hb", 9))
                    try:
                        got = sock.recv(4096)
                    except socket.timeout:
                        continue
                    if not got:
                        break
                    if not pongs and b"\x8a" in got:
                        log("pong")  # the first pong answering a ping
                    pongs += got.count(b"\x8a")
            log(f"end {how}")
        except OSError as ex:
            log(f"end error {ex}")
        finally:
            sock.close()

    def serve(self):
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", self.args.port))
        ls.listen(16)
        tmp = self.args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{ls.getsockname()[1]}\n")
        os.rename(tmp, self.args.port_file)
        while True:
            s, _ = ls.accept()
            threading.Thread(target=self.handle, args=(s,), daemon=True).start()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--fixture", action="append")
    ap.add_argument("--generate", type=int, default=0)
    ap.add_argument("--accounts", type=int, default=50)
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--plan", default="")
    ap.add_argument("--bad-every", type=int, default=0,
                    help="every Nth event is a broken JSON payload (for dead-letter tests)")
    ap.add_argument("--dictionary")
    ap.add_argument("--dump")
    ap.add_argument("--tls-cert", help="serve wss:// with this certificate (PEM) ...")
    ap.add_argument("--tls-key", help="... and this key")
    args = ap.parse_args()
    Server(args).serve()


if __name__ == "__main__":
    sys.exit(main())
