#!/usr/bin/env python3
"""ferrokv and real Redis as a message bus and script runner, side by side (issue #5).

1. PUBLISH fan-out: 100 subscribers (one process reading them all) on one
   channel; redis-benchmark publishes (50 clients, pipeline 1 and 16). The
   figure is publishes per second, once every subscriber has received every
   message (the run waits for delivery to finish, and checks the byte count).
2. EVALSHA of a small rate limiter (INCR, EXPIRE on the first hit) over 100k
   keys, pipeline 1 and 16.

Rounds alternate which server goes first; each row reports the median
throughput ratio ferrokv / Redis and the server CPU time per request.

Usage: bench/messaging.py [--rounds 3] [--requests 100000] [--subscribers 100]
Needs redis-server, redis-benchmark, redis-cli; builds ferrokv in release
unless FERROKV_BIN names a binary.
"""

import argparse
import os
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402  (server start, CPU helpers)

LIMITER = ("local c = redis.call('INCR', KEYS[1]) "
           "if c == 1 then redis.call('EXPIRE', KEYS[1], 60) end return c")
PAYLOAD = "x" * 32


def frame_len(channel, payload):
    """Bytes of one RESP2 `message` frame."""
    parts = [b"message", channel.encode(), payload.encode()]
    return len(b"*3\r\n") + sum(len(b"$%d\r\n" % len(p)) + len(p) + 2 for p in parts)


class Subscribers:
    """`n` connections subscribed to `channel`, drained by one thread that
    counts the bytes received."""

    def __init__(self, port, n, channel):
        self.sel = selectors.DefaultSelector()
        self.socks = []
        self.received = 0
        self.stop = False
        confirm = b"SUBSCRIBE %s\r\n" % channel.encode()
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(confirm)
            self.socks.append(s)
        # Each confirmation arrives before anything else.
        for s in self.socks:
            got = b""
            while got.count(b"\r\n") < 6:
                got += s.recv(4096)
            s.setblocking(False)
            self.sel.register(s, selectors.EVENT_READ)
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop:
            for key, _ in self.sel.select(timeout=0.1):
                try:
                    data = key.fileobj.recv(1 << 20)
                except BlockingIOError:
                    continue
                self.received += len(data)

    def wait_for(self, total, timeout=120):
        end = time.time() + timeout
        while self.received < total and time.time() < end:
            time.sleep(0.01)
        return self.received >= total

    def close(self):
        self.stop = True
        self.thread.join()
        for s in self.socks:
            s.close()


def benchmark(port, pid, args, pipeline, requests, clients=50):
    """redis-benchmark with a custom command; returns (req/s, CPU us/req)."""
    c0 = compare.cpu_seconds(pid)
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-c", str(clients), "-n", str(requests), "-r", "100000",
         "-P", str(pipeline), "--csv"] + args,
        capture_output=True, text=True, check=True).stdout
    c1 = compare.cpu_seconds(pid)
    for line in out.splitlines():
        parts = [p.strip('"') for p in line.split(",")]
        if len(parts) > 1 and parts[0] != "test":
            try:
                return float(parts[1]), (c1 - c0) / requests * 1e6
            except ValueError:
                pass
    raise SystemExit(f"could not parse redis-benchmark output: {out}")


def publish_round(port, pid, pipeline, requests, n_subs):
    subs = Subscribers(port, n_subs, "bench")
    try:
        t0, c0 = time.time(), compare.cpu_seconds(pid)
        benchmark(port, pid, ["PUBLISH", "bench", PAYLOAD], pipeline, requests)
        total = requests * n_subs * frame_len("bench", PAYLOAD)
        if not subs.wait_for(total):
            raise SystemExit(f"subscribers got {subs.received} of {total} bytes on port {port}")
        # Delivered publishes per second (redis-benchmark's own figure would
        # count a publish as done before its fan-out reached the subscribers).
        rps = requests / (time.time() - t0)
        return rps, (compare.cpu_seconds(pid) - c0) / requests * 1e6
    finally:
        subs.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=100000)
    ap.add_argument("--subscribers", type=int, default=100)
    a = ap.parse_args()
    for tool in ["redis-server", "redis-benchmark", "redis-cli"]:
        if not shutil.which(tool):
            raise SystemExit(f"{tool} not found: apt-get install redis-server redis-tools")
    ferro_bin = os.environ.get("FERROKV_BIN")
    if not ferro_bin:
        subprocess.run(["cargo", "build", "--release", "--bin", "ferrokv-server"], cwd=compare.ROOT, check=True)
        ferro_bin = os.path.join(compare.ROOT, "target", "release", "ferrokv-server")
    work = tempfile.mkdtemp(prefix="ferrokv-bench-msg-")
    servers = {}
    try:
        for name, binary in [("ferrokv", ferro_bin), ("redis", "redis-server")]:
            d = os.path.join(work, name)
            os.makedirs(d)
            servers[name] = compare.start(binary, d)
        shas = {}
        for name, (_, port) in servers.items():
            shas[name] = subprocess.run(["redis-cli", "-p", str(port), "SCRIPT", "LOAD", LIMITER],
                                        capture_output=True, text=True, check=True).stdout.strip()
        assert shas["ferrokv"] == shas["redis"], shas
        rows = [(f"PUBLISH to {a.subscribers} subscribers", p) for p in (1, 16)] + \
               [("EVALSHA rate limiter", p) for p in (1, 16)]
        results = {}
        for rnd in range(a.rounds):
            order = ["ferrokv", "redis"] if rnd % 2 == 0 else ["redis", "ferrokv"]
            for row, p in rows:
                for name in order:
                    proc, port = servers[name]
                    if row.startswith("PUBLISH"):
                        r = publish_round(port, proc.pid, p, a.requests, a.subscribers)
                    else:
                        subprocess.run(["redis-cli", "-p", str(port), "FLUSHALL"], stdout=subprocess.DEVNULL)
                        r = benchmark(port, proc.pid, ["EVALSHA", shas[name], "1", "rl:__rand_int__"], p,
                                      a.requests * 2)
                    results.setdefault((row, p, name), []).append(r)
            print(f"round {rnd + 1}/{a.rounds} done", file=sys.stderr)
        print("| test | pipeline | ferrokv req/s | redis req/s | throughput ratio | ferrokv CPU us/req | redis CPU us/req |")
        print("|---|---|---|---|---|---|---|")
        for row, p in rows:
            f = results[(row, p, "ferrokv")]
            r = results[(row, p, "redis")]
            ratios = [x[0] / y[0] for x, y in zip(f, r)]
            fm = statistics.median(x[0] for x in f)
            rm = statistics.median(x[0] for x in r)
            fc = statistics.median(x[1] for x in f)
            rc = statistics.median(x[1] for x in r)
            print(f"| {row} | {p} | {fm:,.0f} | {rm:,.0f} | {statistics.median(ratios):.2f} | {fc:.2f} | {rc:.2f} |")
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
