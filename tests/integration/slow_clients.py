#!/usr/bin/env python3
"""slow_clients.py PORT [--idle N] [--slow N] [--seconds S] [--bound S]

Hostile-client load against `botwatch serve` on 127.0.0.1:PORT: N idle
connections that never send a byte, N slowloris connections that send one
header byte per second and never finish (reopened when the server drops
them, once a second), for S seconds. Meanwhile /healthz is fetched every 0.5 s on a fresh
connection. Prints the probe latencies; exits 1 when a probe fails or takes
longer than --bound seconds."""
import argparse
import resource
import selectors
import socket
import sys
import threading
import time


def probe(port, timeout):
    """One GET /healthz on a new connection: (ok, seconds)."""
    t0 = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(max(0.1, timeout - (time.monotonic() - t0)))
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        return data.startswith(b"HTTP/1.1 200"), time.monotonic() - t0
    except OSError:
        return False, time.monotonic() - t0


def open_nb(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", port))
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--idle", type=int, default=10000)
    ap.add_argument("--slow", type=int, default=1100)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--bound", type=float, default=2.0)
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = a.idle + a.slow + 64
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, need), hard))
    if hard < need:  # a smaller file limit: fewer idle clients, said aloud
        a.idle = max(0, hard - a.slow - 64)
        print("note: file limit %d: %d idle connections" % (hard, a.idle))

    sel = selectors.DefaultSelector()
    slow = {}      # socket -> header bytes sent
    dropped = {"idle": 0, "slow": 0}
    stop = threading.Event()
    results = []

    def prober():
        while not stop.is_set():
            results.append(probe(a.port, a.bound + 3))
            stop.wait(0.5)

    def add(kind):
        s = open_nb(a.port)
        sel.register(s, selectors.EVENT_READ, kind)
        if kind == "slow":
            slow[s] = 0
        return s

    for _ in range(a.idle):
        add("idle")
    for _ in range(a.slow):
        add("slow")
    th = threading.Thread(target=prober)
    th.start()
    start = last_tick = time.monotonic()
    comeback = 0
    line = b"GET /healthz HTTP/1.1\r\nX-Slow: " + b"a" * 100000
    while time.monotonic() - start < a.seconds:
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            try:
                gone = s.recv(4096) == b""
            except BlockingIOError:
                gone = False
            except OSError:
                gone = True
            if gone:
                sel.unregister(s)
                s.close()
                dropped[key.data] += 1
                if key.data == "slow":
                    del slow[s]
                    comeback += 1  # a slowloris attacker comes back (next tick)
        if time.monotonic() - last_tick >= 1.0:
            last_tick = time.monotonic()
            for _ in range(comeback):
                add("slow")
            comeback = 0
            for s, n in list(slow.items()):
                try:
                    if s.send(line[n:n + 1]) == 1:
                        slow[s] = n + 1
                except OSError:
                    pass
    stop.set()
    th.join()
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    lat = sorted(t for _, t in results)
    failed = sum(1 for okay, _ in results if not okay)
    print("probes %d, failed %d, latency p50 %.3f s, max %.3f s; dropped by the server: "
          "%d idle, %d slowloris" % (len(results), failed, lat[len(lat) // 2] if lat else 0,
                                     lat[-1] if lat else 0, dropped["idle"], dropped["slow"]))
    if not results or failed or lat[-1] > a.bound:
        sys.exit(1)


if __name__ == "__main__":
    main()
