#!/usr/bin/env python3
"""hostile_clients.py PORT PID LOG TOKEN [--idle N] [--slow N] [--seconds S]

Hostile clients of `botwatch serve` (issue 20, item 4), run by the torture
probe clients/api (tests/torture/probe_clients.bash) against a server on
127.0.0.1:PORT whose process is PID, whose stderr is LOG and whose api.token
is TOKEN:

  - oversized ids (a 10,000-digit id, a 60 KB path), oversized bodies (a
    Content-Length of 1 GB, 5 MB sent chunked), a million-id batch (2 MB of
    `1,`: under api.max_body_bytes, over api.max_batch) and 8 MB of ids
  - malformed JSON (cut, 100,000 levels deep, invalid UTF-8, NUL bytes, wrong
    types, unknown fields), a wrong Content-Type
  - wrong methods, unknown routes, a header flood and a 1 MB header
  - wrong tokens (none, wrong, prefix, longer, 100 KB, Basic, empty Bearer),
    and the right one under a lowercase scheme and as X-RapidAPI-Key
  - 200 requests pipelined on one connection, bad ones among them: 200
    answers in order, the connection kept
  - meanwhile tests/integration/slow_clients.py holds N idle and N slowloris
    connections and probes /healthz every 0.5 s (a probe over 2 s or failed
    fails the run); this script probes /healthz itself between every attack

Every attack must get its expected 4xx (or a close where a 4xx cannot be sent),
never a 5xx or a hang. Every attack runs twice. The server's RSS is read
before, after each round and at the peak (/proc/PID/status): it must stay
within --rss-growth-mb of the start and grow at most 40 MB in the second
round (glibc keeps what the first used, per worker thread: a million-id
batch parsed on the other thread may add its ~33 MB once; a leak per request
keeps growing); no log line may hold
the token or any token the attacks sent. Prints one summary line; exit 1 on
any failure (each listed on stderr)."""
import argparse
import os
import socket
import subprocess
import sys
import threading
import time

FAIL = []


def rss_mb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return -1


def exchange(port, raw, timeout=10.0, nresp=1):
    """Send raw bytes on a new connection; read nresp responses (or until close).
    Returns a list of (status, headers, body); status -1 = closed without one."""
    out = []
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError as e:
        return [(-2, {}, str(e).encode())]
    try:
        try:
            s.sendall(raw)
        except OSError:
            pass  # the server may refuse mid-send (413): read what it said
        buf = b""
        while len(out) < nresp:
            while b"\r\n\r\n" not in buf:
                try:
                    chunk = s.recv(65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    return out + [(-1, {}, b"")] * (nresp - len(out))
                buf += chunk
            head, buf = buf.split(b"\r\n\r\n", 1)
            lines = head.split(b"\r\n")
            status = int(lines[0].split()[1])
            hdr = {}
            for ln in lines[1:]:
                k, _, v = ln.partition(b":")
                hdr[k.strip().lower().decode()] = v.strip().decode("latin-1")
            if "content-length" in hdr:
                n = int(hdr["content-length"])
                while len(buf) < n:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    buf += chunk
                body, buf = buf[:n], buf[n:]
            elif hdr.get("transfer-encoding", "").lower() == "chunked":
                body = b""
                while True:
                    while b"\r\n" not in buf:
                        buf += s.recv(65536)
                    size_line, buf = buf.split(b"\r\n", 1)
                    n = int(size_line.split(b";")[0], 16)
                    while len(buf) < n + 2:
                        buf += s.recv(65536)
                    body += buf[:n]
                    buf = buf[n + 2:]
                    if n == 0:
                        break
            else:
                body = buf
            out.append((status, hdr, body))
        return out
    finally:
        s.close()


def req(method, path, token=None, body=None, ctype="application/json", extra=b""):
    h = b"%s %s HTTP/1.1\r\nHost: t\r\n" % (method.encode(), path.encode() if isinstance(path, str) else path)
    if token is not None:
        h += b"Authorization: " + (token.encode() if isinstance(token, str) else token) + b"\r\n"
    if body is not None:
        if ctype:
            h += b"Content-Type: " + ctype.encode() + b"\r\n"
        h += b"Content-Length: %d\r\n" % len(body)
    h += extra + b"\r\n"
    return h + (body or b"")


def healthz(port):
    t0 = time.monotonic()
    r = exchange(port, b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", timeout=5)
    dt = time.monotonic() - t0
    return r[0][0] == 200, dt


class Run:
    def __init__(self, a):
        self.a = a
        self.n = 0
        self.statuses = {}
        self.health = []
        self.rss_peak = 0
        self.sent_tokens = []

    def expect(self, name, raw, want, nresp=1, proto=False, has=None):
        """One attack: every answer's status must be in want (-1: a close). An
        error must be JSON unless proto (refused by libmicrohttpd itself before
        any route runs: its own short HTML page); has: bytes the body must hold."""
        r = exchange(self.a.port, raw, nresp=nresp)
        self.n += 1
        for st, _, body in r:
            self.statuses[st] = self.statuses.get(st, 0) + 1
            if st not in want:
                FAIL.append("%s: got %d (%s), want %s" % (name, st, body[:120], want))
            elif st >= 400 and not proto and not (body.startswith(b'{') and b'"status":' in body):
                FAIL.append("%s: %d without a JSON error: %s" % (name, st, body[:120]))
            elif has is not None and has not in body:
                FAIL.append("%s: %d without %r: %s" % (name, st, has, body[:120]))
        self.rss_peak = max(self.rss_peak, rss_mb(self.a.pid))
        ok, dt = healthz(self.a.port)
        self.health.append((ok, dt))
        if not ok or dt > 2.0:
            FAIL.append("/healthz after %s: ok=%s in %.2f s" % (name, ok, dt))
        return r


def attacks(run, tok):
    A = "Bearer " + tok
    E = run.expect
    # oversized ids and paths
    E("10,000-digit id", req("GET", "/v1/accounts/" + "9" * 10000, A), {400, 414, 431})
    E("60 KB path", req("GET", "/v1/accounts/" + "a" * 60000, A), {400, 414, 431, -1}, proto=True)
    E("%00 in an id", req("GET", "/v1/accounts/678033%00junk", A), {400})
    E("non-UTF-8 path", req("GET", b"/v1/accounts/by-name/\xff\xfe", A), {400})
    E("traversal id", req("GET", "/v1/accounts/..%2F..%2Fetc%2Fpasswd", A), {400, 404})
    # oversized bodies
    E("1 GB Content-Length", b"POST /v1/accounts:lookup HTTP/1.1\r\nHost: t\r\nAuthorization: "
      + A.encode() + b"\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n{\"ids\":[",
      {413})
    chunk = b"1," * 50000
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(50)) + b"0\r\n\r\n"
    E("5 MB chunked body", b"POST /v1/accounts:lookup HTTP/1.1\r\nHost: t\r\nAuthorization: "
      + A.encode() + b"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
      + body, {413, -1})
    million = b'{"ids":[' + b",".join([b"1"] * 1000000) + b"]}"
    E("million-id batch (2 MB)", req("POST", "/v1/accounts:lookup", A, million), {400})
    big = b'{"ids":[' + b",".join(b"%d" % (10000000 + i) for i in range(1000000)) + b"]}"
    E("million-id batch (9 MB)", req("POST", "/v1/accounts:lookup", A, big), {413})
    E("million ids to Botometer lite", req("POST", "/litev1/check_accounts_in_bulk", A,
      b'{"user_ids":[' + b",".join([b"1"] * 1000000) + b"]}"), {400})
    # malformed JSON and wrong content
    for name, b in [("cut JSON", b'{"ids":[1,2'), ("not JSON", b"ids=1,2"),
                    ("100,000 levels deep", b"[" * 100000 + b"]" * 100000),
                    ("deep object", b'{"ids":' + b'{"a":' * 50000 + b"1" + b"}" * 50001),
                    ("invalid UTF-8", b'{"ids":["\xff\xfe"]}'), ("NUL byte", b'{"ids":["1\x00"]}'),
                    ("ids not an array", b'{"ids":"1"}'), ("unknown field", b'{"idz":[1]}'),
                    ("empty body", b""), ("float id", b'{"ids":[1e400]}')]:
        E(name, req("POST", "/v1/accounts:lookup", A, b), {400})
    # an id that is no id is one entry of the answer, not an error of the batch (docs/API.md)
    E("negative id", req("POST", "/v1/accounts:lookup", A, b'{"ids":[-1]}'), {200}, has=b'"invalid_id"')
    E("3 MB id", req("POST", "/v1/accounts:lookup", A, b'{"ids":["' + b"9" * 3000000 + b'"]}'), {200},
      has=b'"invalid_id"')
    E("wrong Content-Type", req("POST", "/v1/accounts:lookup", A, b'{"ids":[1]}', ctype="text/plain"), {415})
    # wrong methods, unknown routes, header floods
    for m in ["DELETE", "PUT", "PATCH", "OPTIONS"]:
        E(m + " on an account", req(m, "/v1/accounts/12345", A), {405})
    E("GET on the lookup", req("GET", "/v1/accounts:lookup", A), {405})
    E("TRACE", req("TRACE", "/healthz"), {405, 400, 501})
    E("unknown method", req("BREW", "/v1/accounts/1", A), {405, 400, 501})
    E("unknown route", req("GET", "/v1/../../etc/passwd", A), {404, 400})
    E("HTTP/0.9 request", b"GET /healthz\r\n\r\n", {400, 505, -1}, proto=True)
    E("2,000 headers", req("GET", "/v1/accounts/1", A, extra=b"".join(b"X-H%d: v\r\n" % i for i in range(2000))),
      {400, 431, 413, -1}, proto=True)
    E("1 MB header", req("GET", "/v1/accounts/1", A, extra=b"X-Big: " + b"a" * 1000000 + b"\r\n"),
      {400, 431, 413, -1}, proto=True)
    # tokens
    wrong = ["Bearer wrong-" + tok, "Bearer " + tok[:-1], "Bearer " + tok + "x",
             "Bearer " + "k" * 100000, "Basic dXNlcjpwYXNz", "Bearer", "Bearer ", tok, "Token " + tok]
    run.sent_tokens = [w.split(" ", 1)[-1] for w in wrong if len(w.split(" ", 1)[-1]) >= 8]
    E("no token", req("GET", "/v1/accounts/12345"), {401})
    for w in wrong:
        E("token %r" % w[:24], req("GET", "/v1/accounts/12345", w), {401, 431, -1} if len(w) > 60000 else {401},
          proto=len(w) > 60000)
    E("wrong X-RapidAPI-Key", req("POST", "/4/check_account", None, b'{"user":{"id":"1"}}',
      extra=b"X-RapidAPI-Key: rapid-" + tok.encode() + b"\r\n"), {401})
    E("lowercase scheme", req("GET", "/v1/accounts/12345", "bearer   " + tok), {200, 404})
    E("X-RapidAPI-Key", req("GET", "/v1/models", None, extra=b"X-RapidAPI-Key: " + tok.encode() + b"\r\n"),
      {200})
    # pipelining: 200 requests in one write, bad ones among them, answered in order
    kinds = [(req("GET", "/v1/accounts/%d" % (1000 + i), A), {200, 404}) if i % 4 == 0 else
             (req("GET", "/v1/accounts/x%d" % i, A), {400}) if i % 4 == 1 else
             (req("GET", "/v1/accounts/1", "Bearer nope"), {401}) if i % 4 == 2 else
             (req("POST", "/v1/accounts:lookup", A, b'{"ids":[1,'), {400}) for i in range(200)]
    r = exchange(run.a.port, b"".join(k for k, _ in kinds), nresp=200)
    run.n += 200
    got = [st for st, _, _ in r]
    bad = [i for i, (st, (_, want)) in enumerate(zip(got, kinds)) if st not in want]
    for st in got:
        run.statuses[st] = run.statuses.get(st, 0) + 1
    if bad:
        FAIL.append("pipelined: %d of 200 answers wrong or missing (first at %d: %d)" % (len(bad), bad[0], got[bad[0]]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("pid", type=int)
    ap.add_argument("log")
    ap.add_argument("token")
    ap.add_argument("--idle", type=int, default=3000)
    ap.add_argument("--slow", type=int, default=300)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--rss-growth-mb", type=int, default=96)
    a = ap.parse_args()
    run = Run(a)
    time.sleep(0.2)
    before = rss_mb(a.pid)
    slow = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__), "..", "integration",
                             "slow_clients.py"), str(a.port), "--idle", str(a.idle), "--slow", str(a.slow),
                             "--seconds", str(a.seconds), "--bound", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    stop = threading.Event()

    def sampler():
        while not stop.is_set():
            run.rss_peak = max(run.rss_peak, rss_mb(a.pid))
            stop.wait(0.05)

    th = threading.Thread(target=sampler)
    th.start()
    time.sleep(1.0)  # the idle and slow connections are in place
    t0 = time.monotonic()
    attacks(run, a.token)
    time.sleep(0.5)
    mid = rss_mb(a.pid)
    attacks(run, a.token)  # the same again: memory must not keep growing
    spent = time.monotonic() - t0
    out, _ = slow.communicate()
    stop.set()
    th.join()
    if slow.returncode != 0:
        FAIL.append("slow_clients.py: " + out.strip().replace("\n", "; "))
    time.sleep(1.0)
    after = rss_mb(a.pid)
    if after < 0:
        FAIL.append("the server is gone")
    elif after - before > a.rss_growth_mb or after - mid > 40:
        FAIL.append("RSS grew %d -> %d MB (%d after the first round)" % (before, after, mid))
    with open(a.log, "rb") as f:
        log = f.read()
    secrets = sum(log.count(t.encode()) for t in [a.token] + run.sent_tokens)
    if secrets:
        FAIL.append("%d log occurrences of a token" % secrets)
    hfail = sum(1 for ok, _ in run.health if not ok)
    hmax = max((dt for _, dt in run.health), default=0)
    st = " ".join("%d:%d" % (k, v) for k, v in sorted(run.statuses.items()))
    print("%d requests in %.1f s (status:count %s); healthz %d probes, %d failed, max %.2f s; %s; "
          "RSS %d MB before, %d after round 1, %d peak, %d after round 2; %d log lines, %d secrets in them"
          % (run.n, spent, st, len(run.health), hfail, hmax, out.strip().splitlines()[-1] if out.strip() else "-",
             before, mid, run.rss_peak, after, log.count(b"\n"), secrets))
    for f in FAIL:
        print("FAIL: " + f, file=sys.stderr)
    sys.exit(1 if FAIL else 0)


if __name__ == "__main__":
    main()
