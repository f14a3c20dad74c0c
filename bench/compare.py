#!/usr/bin/env python3
"""Side-by-side benchmark of ferrokv and real Redis on this machine.

Starts both servers, then for several alternating rounds runs redis-benchmark
(50 clients, random keys over 100k) against each for SET, GET, INCR and MSET at
pipeline 1 and 16, and reports per row the median throughput ratio
(ferrokv / Redis) and the server CPU time per request (utime+stime from
/proc/<pid>/stat, the steadiest figure on a shared machine). Then it loads 1M
keys of 16 bytes with 64-byte values into each and compares RSS per key.

With --suite collections it measures the collection commands instead (LPUSH,
RPOP, LRANGE_100, SADD, SPOP, HSET, ZADD, ZRANGE, ZRANGEBYSCORE) and the RSS
per key of 100k small hashes, lists, sets (integers and strings) and sorted
sets, and of one sorted set of 1M members. With --suite types: XADD,
XREADGROUP, XACK (of entries pending in a group), XRANGE, PFADD, PFCOUNT, GEOADD, GEOSEARCH and the RSS of a
1M-entry stream.

Usage: bench/compare.py [--suite strings|collections|types] [--rounds 3] [--requests 200000] [--skip-memory]
Needs: redis-server, redis-benchmark and redis-cli on PATH; builds ferrokv in release
(or set FERROKV_BIN to a binary to measure).
"""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = ["set", "get", "incr", "mset"]
# Collection rows: (name, redis-benchmark arguments after the common ones).
COLLECTION_TESTS = [
    ("LPUSH", ["-t", "lpush"]),
    ("RPOP", ["-t", "rpop"]),
    ("LRANGE_100", ["-t", "lrange_100"]),
    ("SADD", ["-t", "sadd"]),
    ("SPOP", ["-t", "spop"]),
    ("HSET", ["-t", "hset"]),
    ("ZADD", ["-t", "zadd"]),
    ("ZRANGE", ["zrange", "zbench", "0", "9", "withscores"]),
    ("ZRANGEBYSCORE", ["zrangebyscore", "zbench", "100", "200", "limit", "0", "10"]),
]
# Streams, HyperLogLog and geo rows (--suite types).
TYPES_TESTS = [
    ("XADD", ["xadd", "xs", "*", "f", "__rand_int__"]),
    ("XREADGROUP NOACK", ["xreadgroup", "group", "g", "c", "count", "1", "noack", "streams", "xbig", ">"]),
    ("XACK", ["xack", "xpel", "g", "__rand_int__-0"]),
    ("XRANGE 10", ["xrange", "xbig", "-", "+", "count", "10"]),
    ("PFADD", ["pfadd", "hll", "__rand_int__"]),
    ("PFCOUNT", ["pfcount", "hllbig"]),
    ("GEOADD", ["geoadd", "geo", "13.361389", "38.115556", "m:__rand_int__"]),
    ("GEOSEARCH", ["geosearch", "geobig", "fromlonlat", "15", "37", "byradius", "100", "km", "asc", "count", "10"]),
]
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, proc):
    for _ in range(500):
        if proc.poll() is not None:
            raise SystemExit(f"server on {port} exited early")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return
        except OSError:
            time.sleep(0.02)
    raise SystemExit(f"server on {port} did not start")


def start(binary, workdir, extra=()):
    port = free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", workdir, "--logfile", os.path.join(workdir, "server.log")] + list(extra)
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, proc)
    return proc, port


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def check_tools():
    for tool in ["redis-server", "redis-benchmark", "redis-cli"]:
        if not shutil.which(tool):
            raise SystemExit(f"{tool} not found: apt-get install redis-server redis-tools")


def ferrokv_binary():
    """FERROKV_BIN, or a release build of this tree."""
    ferro_bin = os.environ.get("FERROKV_BIN")
    if not ferro_bin:
        subprocess.run(["cargo", "build", "--release", "--bin", "ferrokv-server"], cwd=ROOT, check=True)
        ferro_bin = os.path.join(ROOT, "target", "release", "ferrokv-server")
    return ferro_bin


def start_both(work, ferro_bin, extra=()):
    """Starts ferrokv and Redis (with the same extra arguments) in subfolders
    of `work`; returns {name: (process, port)}, stopped by stop_all."""
    servers = {}
    try:
        for name, binary in [("ferrokv", ferro_bin), ("redis", "redis-server")]:
            d = os.path.join(work, name)
            os.makedirs(d)
            servers[name] = start(binary, d, extra)
    except BaseException:
        stop_all(servers, work)
        raise
    return servers


def stop_all(servers, work):
    for proc, _ in servers.values():
        proc.terminate()
        proc.wait()
    shutil.rmtree(work, ignore_errors=True)


def alternating_rounds(rounds, rows, servers, measure):
    """Runs measure(row, pipeline, process, port) -> (req/s, CPU us/req) for
    every (row, pipeline) on both servers, `rounds` times, alternating which
    server goes first; returns {(row, pipeline, name): [results]}."""
    results = {}
    for rnd in range(rounds):
        order = ["ferrokv", "redis"] if rnd % 2 == 0 else ["redis", "ferrokv"]
        for row, p in rows:
            for name in order:
                proc, port = servers[name]
                results.setdefault((row, p, name), []).append(measure(row, p, proc, port))
        print(f"round {rnd + 1}/{rounds} done", file=sys.stderr)
    return results


def ratio_table(rows, results):
    """Prints per (row, pipeline) the median throughputs and CPU times and
    the median ratios ferrokv / Redis."""
    print("| test | pipeline | ferrokv req/s | redis req/s | throughput ratio | ferrokv CPU us/req | redis CPU us/req | CPU ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for row, p in rows:
        f = results[(row, p, "ferrokv")]
        r = results[(row, p, "redis")]
        ratio = statistics.median(x[0] / y[0] for x, y in zip(f, r))
        fc = statistics.median(x[1] for x in f)
        rc = statistics.median(x[1] for x in r)
        print(f"| {row} | {p} | {statistics.median(x[0] for x in f):,.0f} | {statistics.median(x[0] for x in r):,.0f} | "
              f"{ratio:.2f} | {fc:.2f} | {rc:.2f} | {fc / rc if rc else float('nan'):.2f} |")


class RespError(str):
    """An error reply."""


class Client:
    """A minimal pipelining RESP client. Replies: bytes (bulk), str (simple),
    int, list, None (null), RespError. Subclasses may override `_fill` to
    bound the waits."""

    def __init__(self, port, timeout=None):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        self.s.close()

    def send(self, cmds):
        out = []
        for args in cmds:
            out.append(b"*%d\r\n" % len(args))
            for a in args:
                a = a if isinstance(a, bytes) else str(a).encode()
                out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.s.sendall(b"".join(out))

    def _fill(self):
        data = self.s.recv(1 << 16)
        if not data:
            raise ConnectionError("the server closed the connection")
        self.buf += data

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._fill()
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        if t == b":":
            return int(rest)
        if t == b"-":
            return RespError(rest.decode(errors="replace"))
        return rest.decode(errors="replace")

    def cmd(self, *args):
        self.send([args])
        return self.read()


def pipe(port, commands):
    """Sends an iterable of argument lists through redis-cli --pipe."""
    proc = subprocess.Popen(["redis-cli", "-p", str(port), "--pipe"], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL)
    chunk = []
    for args in commands:
        chunk.append("*%d\r\n" % len(args) + "".join("$%d\r\n%s\r\n" % (len(a), a) for a in args))
        if len(chunk) == 5000:
            proc.stdin.write("".join(chunk).encode())
            chunk = []
    proc.stdin.write("".join(chunk).encode())
    proc.stdin.close()
    proc.wait()


def bench_cmd(port, pid, extra, pipeline, requests, prepare=None):
    """redis-benchmark (50 clients, keys over 100k) with `extra` (-t TEST or
    a command) on a flushed server that `prepare` filled; (req/s, CPU us/req)."""
    subprocess.run(["redis-cli", "-p", str(port), "flushall"], stdout=subprocess.DEVNULL, check=True)
    if prepare:
        prepare(port)
    c0 = cpu_seconds(pid)
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-c", "50", "-n", str(requests), "-r", "100000",
         "-P", str(pipeline), "--csv"] + extra,
        capture_output=True, text=True, check=True).stdout
    c1 = cpu_seconds(pid)
    rps = None
    for line in out.splitlines():
        parts = [p.strip('"') for p in line.split(",")]
        if len(parts) > 1 and parts[0] != "test":
            try:
                rps = float(parts[1])
            except ValueError:
                pass
    if rps is None:
        raise SystemExit(f"could not parse redis-benchmark output: {out}")
    return rps, (c1 - c0) / requests * 1e6


def prepare_collections(port):
    # A sorted set for ZRANGE/ZRANGEBYSCORE, and lists/sets that RPOP/SPOP/LRANGE find full.
    pipe(port, (["ZADD", "zbench", str(i), "m%d" % i] for i in range(1000)))
    pipe(port, (["RPUSH", "mylist"] + ["v%d" % j for j in range(100)] for _ in range(200)))
    pipe(port, (["SADD", "myset"] + ["e%d" % (i * 100 + j) for j in range(100)] for i in range(200)))


def prepare_types(port):
    # A stream to read (enough entries for every XREADGROUP), a HyperLogLog
    # in the dense encoding and a geo set of 10k points around Sicily.
    pipe(port, (["XADD", "xbig", "*", "f", "v%d" % i] for i in range(250000)))
    pipe(port, [["XGROUP", "CREATE", "xbig", "g", "0"]])
    # 100k entries read by a consumer and not acknowledged yet (for XACK).
    pipe(port, (["XADD", "xpel", "%d-0" % (i + 1), "f", "v"] for i in range(100000)))
    pipe(port, [["XGROUP", "CREATE", "xpel", "g", "0"], ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "xpel", ">"]])
    pipe(port, (["PFADD", "hllbig"] + ["e%d" % (i * 100 + j) for j in range(100)] for i in range(1000)))
    pipe(port, (["GEOADD", "geobig", "%.6f" % (12 + (i % 100) * 0.05), "%.6f" % (36 + (i // 100) * 0.03), "p%d" % i]
                for i in range(10000)))


TYPES_MEMORY_ROWS = [
    ("1 stream of 1M entries (per entry)", 1000, 1000000,
     lambda i: [["XADD", "s", "*", "field", "value%d" % (i * 1000 + j)] for j in range(1000)]),
]

MEMORY_ROWS = [
    ("100k hashes of 10 fields (per key)", 100000, 100000,
     lambda i: [["HSET", "h:%d" % i] + sum((["field%d" % j, "value%d" % j] for j in range(10)), [])]),
    ("100k lists of 10 items (per key)", 100000, 100000, lambda i: [["RPUSH", "l:%d" % i] + ["item%d" % j for j in range(10)]]),
    ("100k sets of 10 integers (per key)", 100000, 100000, lambda i: [["SADD", "si:%d" % i] + [str(j * 7) for j in range(10)]]),
    ("100k sets of 10 strings (per key)", 100000, 100000, lambda i: [["SADD", "ss:%d" % i] + ["member%d" % j for j in range(10)]]),
    ("100k sorted sets of 10 members (per key)", 100000, 100000,
     lambda i: [["ZADD", "z:%d" % i] + sum(([str(j), "member%d" % j] for j in range(10)), [])]),
    ("1 sorted set of 1M members (per member)", 1000, 1000000, lambda i: [["ZADD", "big"] + sum(([str(i * 1000 + j), "m%d" % (i * 1000 + j)]
                                                                        for j in range(1000)), [])]),
]


def collections_suite(a, servers, bins, work, tests=COLLECTION_TESTS, prepare=prepare_collections,
                      memory_rows=MEMORY_ROWS):
    extras = dict(tests)
    rows = [(name, p) for name, _ in tests for p in (1, 16)]
    results = alternating_rounds(a.rounds, rows, servers, lambda name, p, proc, port: bench_cmd(
        port, proc.pid, extras[name], p, a.requests, prepare))
    ratio_table(rows, results)
    if a.skip_memory:
        return
    print()
    print("| data | ferrokv bytes | redis bytes | ratio |")
    print("|---|---|---|---|")
    for row, (label, n, divisor, gen) in enumerate(memory_rows):
        per = {}
        for srv in ["ferrokv", "redis"]:
            # A fresh server per row: memory freed by earlier rows stays in the
            # allocators' caches and would hide the growth.
            d = os.path.join(work, f"mem-{srv}-{row}")
            os.makedirs(d)
            proc, port = start(bins[srv], d)
            try:
                time.sleep(0.3)
                before = rss_bytes(proc.pid)
                pipe(port, (cmd for i in range(n) for cmd in gen(i)))
                time.sleep(0.5)
                per[srv] = (rss_bytes(proc.pid) - before) / divisor
            finally:
                proc.terminate()
                proc.wait()
        print(f"| {label} | {per['ferrokv']:.1f} | {per['redis']:.1f} | {per['ferrokv'] / per['redis']:.2f} |")


def load_keys(port, n):
    """Loads n keys 'key:%012d' (16 bytes) with 64-byte values through redis-cli --pipe."""
    value = "v" * 64
    chunk = []
    proc = subprocess.Popen(["redis-cli", "-p", str(port), "--pipe"], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL)
    for i in range(n):
        k = "key:%012d" % i
        chunk.append(f"*3\r\n$3\r\nSET\r\n$16\r\n{k}\r\n$64\r\n{value}\r\n")
        if len(chunk) == 10000:
            proc.stdin.write("".join(chunk).encode())
            chunk = []
    proc.stdin.write("".join(chunk).encode())
    proc.stdin.close()
    proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--keys", type=int, default=1000000)
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--suite", choices=["strings", "collections", "types"], default="strings")
    a = ap.parse_args()
    check_tools()
    ferro_bin = ferrokv_binary()
    work = tempfile.mkdtemp(prefix="ferrokv-bench-")
    servers = {}
    try:
        servers = start_both(work, ferro_bin)
        bins = {"ferrokv": ferro_bin, "redis": "redis-server"}
        if a.suite == "collections":
            collections_suite(a, servers, bins, work)
            return
        if a.suite == "types":
            collections_suite(a, servers, bins, work, TYPES_TESTS, prepare_types, TYPES_MEMORY_ROWS)
            return
        rows = [(test.upper(), p) for test in TESTS for p in (1, 16)]
        results = alternating_rounds(a.rounds, rows, servers, lambda test, p, proc, port: bench_cmd(
            port, proc.pid, ["-t", test.lower()], p, a.requests))
        ratio_table(rows, results)

        if not a.skip_memory:
            print()
            print("| server | RSS before | RSS after | bytes per key |")
            print("|---|---|---|---|")
            per = {}
            for name in ["ferrokv", "redis"]:
                proc, port = servers[name]
                subprocess.run(["redis-cli", "-p", str(port), "flushall"], stdout=subprocess.DEVNULL, check=True)
                time.sleep(0.5)
                before = rss_bytes(proc.pid)
                load_keys(port, a.keys)
                time.sleep(0.5)
                after = rss_bytes(proc.pid)
                per[name] = (after - before) / a.keys
                print(f"| {name} | {before / 1e6:.1f} MB | {after / 1e6:.1f} MB | {per[name]:.1f} |")
            print(f"\nRSS per key ratio (ferrokv / redis): {per['ferrokv'] / per['redis']:.2f}")
    finally:
        stop_all(servers, work)


if __name__ == "__main__":
    main()
