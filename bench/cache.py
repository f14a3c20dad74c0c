#!/usr/bin/env python3
"""ferrokv and real Redis as a cache, side by side (issue #7).

Both servers run with `maxmemory` (100mb by default) and `allkeys-lru`.
1. SET load of 10x maxmemory (1 KB values over a keyspace 10x what fits), by
   redis-benchmark at pipeline 1 and 16: throughput ratio, and used_memory /
   RSS afterwards (both must stay within the limit).
2. Hit rate of a skewed (zipfian, s=1.0) cache-aside load: GET, and SET on a
   miss, over the same keyspace; the hit rate after warm-up, in points.
3. Latency of other clients while a big hash (1M fields) is deleted with DEL
   and with UNLINK: the longest PING round trip seen meanwhile.

Usage: bench/cache.py [--maxmemory-mb 100] [--requests 1000000] [--ops 300000]
Needs redis-server, redis-benchmark, redis-cli; builds ferrokv in release
unless FERROKV_BIN names a binary.
"""

import argparse
import bisect
import os
import random
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402  (server start, CPU and RSS helpers)


def info(port, field):
    out = subprocess.run(["redis-cli", "-p", str(port), "info"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    return None


def set_load(port, requests, pipeline, keyspace):
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-c", "50", "-n", str(requests), "-r", str(keyspace),
         "-d", "1000", "-P", str(pipeline), "-t", "set", "--csv"],
        capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = [p.strip('"') for p in line.split(",")]
        if len(parts) > 1 and parts[0].lower().startswith("set"):
            return float(parts[1])
    raise SystemExit(f"could not parse redis-benchmark output: {out}")


def zipf_sampler(n, s, rng):
    weights = [1.0 / (i ** s) for i in range(1, n + 1)]
    cum = []
    total = 0.0
    for w in weights:
        total += w
        cum.append(total)
    # Ranks map to keys through a fixed permutation so hot keys are spread.
    perm = list(range(n))
    rng.shuffle(perm)
    return lambda: perm[bisect.bisect_left(cum, rng.random() * total)]


def hit_rate(port, keyspace, ops, seed):
    rng = random.Random(seed)
    sample = zipf_sampler(keyspace, 1.0, rng)
    c = compare.Client(port)
    value = b"v" * 1000
    hits = misses = 0
    batch = 100
    warmup = ops // 3
    done = 0
    while done < ops:
        keys = [b"key:%012d" % sample() for _ in range(batch)]
        c.send([[b"GET", k] for k in keys])
        replies = [c.read() for _ in keys]
        missed = [k for k, r in zip(keys, replies) if r is None]
        if missed:
            c.send([[b"SET", k, value] for k in missed])
            for _ in missed:
                c.read()
        if done >= warmup:
            hits += batch - len(missed)
            misses += len(missed)
        done += batch
    return hits / (hits + misses)


def delete_latency(port, verb):
    c = compare.Client(port)
    c.cmd("CONFIG", "SET", "maxmemory", "0")
    for b in range(100):
        args = [b"HSET", b"big"]
        for i in range(10000):
            args += [b"f:%d:%d" % (b, i), b"v"]
        c.send([args])
        c.read()
    worst = [0.0]
    stop = threading.Event()

    def pinger():
        p = compare.Client(port)
        while not stop.is_set():
            t = time.perf_counter()
            p.cmd("PING")
            worst[0] = max(worst[0], time.perf_counter() - t)
            time.sleep(0.001)

    th = threading.Thread(target=pinger)
    th.start()
    time.sleep(0.2)
    worst[0] = 0.0
    t = time.perf_counter()
    c.cmd(verb, "big")
    took = time.perf_counter() - t
    time.sleep(0.3)
    stop.set()
    th.join()
    return took * 1000, worst[0] * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--maxmemory-mb", type=int, default=100)
    ap.add_argument("--requests", type=int, default=1000000)
    ap.add_argument("--ops", type=int, default=300000)
    a = ap.parse_args()
    compare.check_tools()
    # A keyspace ten times what fits (values of 1000 bytes).
    keyspace = a.maxmemory_mb * 1024 * 1024 // 1000 * 10
    work = tempfile.mkdtemp(prefix="ferrokv-cache-")
    servers = {}
    try:
        servers = compare.start_both(work, compare.ferrokv_binary(),
                                     ["--maxmemory", f"{a.maxmemory_mb}mb", "--maxmemory-policy", "allkeys-lru"])
        print(f"maxmemory {a.maxmemory_mb}mb, allkeys-lru, keyspace {keyspace}, 1000-byte values\n")
        print("| server | SET P1 req/s | SET P16 req/s | used_memory after | maxmemory | RSS after | evicted_keys |")
        print("|---|---|---|---|---|---|---|")
        rows = {}
        for name in ["ferrokv", "redis"]:
            proc, port = servers[name]
            p1 = set_load(port, a.requests // 4, 1, keyspace)
            p16 = set_load(port, a.requests, 16, keyspace)
            used = int(info(port, "used_memory"))
            rss = compare.rss_bytes(proc.pid)
            rows[name] = (p1, p16)
            print(f"| {name} | {p1:.0f} | {p16:.0f} | {used / 2**20:.1f} MB | {a.maxmemory_mb} MB | "
                  f"{rss / 2**20:.1f} MB | {info(port, 'evicted_keys')} |")
        print(f"\nSET throughput ratio (ferrokv / redis): P1 {rows['ferrokv'][0] / rows['redis'][0]:.2f}, "
              f"P16 {rows['ferrokv'][1] / rows['redis'][1]:.2f}\n")
        rates = {}
        for name in ["ferrokv", "redis"]:
            rates[name] = hit_rate(servers[name][1], keyspace, a.ops, 7)
        print(f"zipfian (s=1.0) cache-aside hit rate: ferrokv {rates['ferrokv'] * 100:.1f}%, "
              f"redis {rates['redis'] * 100:.1f}% (difference {(rates['ferrokv'] - rates['redis']) * 100:+.1f} points)\n")
        print("| server | command | command took | longest PING of another client |")
        print("|---|---|---|---|")
        for name in ["ferrokv", "redis"]:
            for verb in ["DEL", "UNLINK"]:
                took, worst = delete_latency(servers[name][1], verb)
                print(f"| {name} | {verb} of a 1M-field hash | {took:.1f} ms | {worst:.1f} ms |")
    finally:
        compare.stop_all(servers, work)


if __name__ == "__main__":
    main()
