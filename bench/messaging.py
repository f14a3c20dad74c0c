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
import socket
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


def publish_round(port, pid, pipeline, requests, n_subs):
    subs = Subscribers(port, n_subs, "bench")
    try:
        t0, c0 = time.time(), compare.cpu_seconds(pid)
        compare.bench_cmd(port, pid, ["PUBLISH", "bench", PAYLOAD], pipeline, requests)
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
    compare.check_tools()
    work = tempfile.mkdtemp(prefix="ferrokv-bench-msg-")
    servers = {}
    try:
        servers = compare.start_both(work, compare.ferrokv_binary())
        shas = {}
        for name, (_, port) in servers.items():
            shas[name] = subprocess.run(["redis-cli", "-p", str(port), "SCRIPT", "LOAD", LIMITER],
                                        capture_output=True, text=True, check=True).stdout.strip()
        assert shas["ferrokv"] == shas["redis"], shas
        publish = f"PUBLISH to {a.subscribers} subscribers"
        rows = [(publish, p) for p in (1, 16)] + [("EVALSHA rate limiter", p) for p in (1, 16)]

        def measure(row, p, proc, port):
            if row == publish:
                return publish_round(port, proc.pid, p, a.requests, a.subscribers)
            args = ["EVALSHA", shas["redis"], "1", "rl:__rand_int__"]
            return compare.bench_cmd(port, proc.pid, args, p, a.requests * 2)

        compare.ratio_table(rows, compare.alternating_rounds(a.rounds, rows, servers, measure))
    finally:
        compare.stop_all(servers, work)


if __name__ == "__main__":
    main()
