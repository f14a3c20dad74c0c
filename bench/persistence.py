#!/usr/bin/env python3
"""ferrokv and real Redis persistence, side by side.

1. Snapshot under writes: a fresh server gets N keys (16-byte keys, 64-byte
   values, as compare.py's load_keys), then redis-benchmark writes over the
   same keys in the background (SET, 50 clients, -r N -d 64) and after
   --warmup seconds the script sends BGSAVE and polls INFO persistence every
   ~10 ms until rdb_bgsave_in_progress:0 (rdb_last_bgsave_status must be ok).
   A thread samples memory every ~10 ms meanwhile. Figures:
   - extra memory: peak over the save of (server RSS + Private_Dirty of its
     child processes, from /proc/<child>/smaps_rollup) minus the RSS before
     BGSAVE (the highest sample of the last 0.5 s, under the same write
     load), as a percentage of that RSS (the data size). For Redis the
     child's Private_Dirty is the fork's copy-on-write; ferrokv does not fork
     (it snapshots from threads), so its figure is its own RSS growth.
   - reply: time from sending BGSAVE to its reply (a pause shows here);
     duration: from the reply to rdb_bgsave_in_progress:0 (both servers
     notice the end in their cron, so up to 1/hz late); total: both.
   - writes during/before: SET rate (server total_commands_processed)
     during the save relative to the rate in the second before it.
2. Restart: the server of each makes an N-key dump.rdb (SAVE) once; each round
   spawns it on that dump and times spawn -> DBSIZE answering N (Redis answers
   -LOADING while loading, ferrokv does not accept until loaded; both polled).
3. SET throughput with the append-only file: a fresh server with
   --appendonly yes and --appendfsync everysec, then always, runs
   redis-benchmark -t set -c 50 -P 1 -r 100000 -d 64 (compare.bench_cmd).

Rounds alternate which server goes first. The final table gives medians and
the median ratio ferrokv / Redis with the targets (ferrokv's snapshot extra
memory <= 10% of the data, restart ratio <= 0.5, appendfsync always ratio >= 5).
fsync is only meaningful if --workdir is on a real disk (not tmpfs).

Usage: bench/persistence.py [--rounds 3] [--keys 1000000] [--requests-everysec 100000]
       [--requests-always 50000] [--warmup 1.0] [--tests snapshot,restart,aof]
       [--workdir DIR] [--timeout 300]
Needs redis-server, redis-benchmark, redis-cli; builds ferrokv in release
unless FERROKV_BIN names a binary. Linux only (/proc).
"""

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402  (server start, load_keys, bench_cmd, rounds, RSS helpers)

NAMES = ["ferrokv", "redis"]
SNAPSHOT = ("BGSAVE under writes", "-")
RESTART = ("restart", "-")
AOF_EVERYSEC = ("SET appendfsync everysec", 1)
AOF_ALWAYS = ("SET appendfsync always", 1)

# Every process started here, stopped on exit (even on Ctrl-C or an error).
PROCS = []


class ServerDied(SystemExit):
    pass


def log_tail(workdir, n=15):
    try:
        with open(os.path.join(workdir, "server.log"), errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return "(no log)"


def check_alive(name, proc, workdir):
    if proc.poll() is not None:
        raise ServerDied(f"{name} (pid {proc.pid}) exited with code {proc.returncode}; "
                         f"end of {workdir}/server.log:\n{log_tail(workdir)}")


def stop(proc, timeout=30):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def stop_everything():
    for p in reversed(PROCS):
        try:
            stop(p, 10)
        except Exception:  # keep stopping the others
            pass
    PROCS.clear()


class Watchdog:
    """Kills `proc` (the server) if the block takes more than `seconds`, so a
    client blocked on it (redis-benchmark, redis-cli --pipe) errors out."""

    def __init__(self, seconds, what, proc):
        self.fired = False
        self.what, self.seconds, self.proc = what, seconds, proc

    def _fire(self):
        self.fired = True
        self.proc.kill()

    def __enter__(self):
        self.timer = threading.Timer(self.seconds, self._fire)
        self.timer.daemon = True
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.cancel()
        if self.fired:
            raise SystemExit(f"{self.what} took more than {self.seconds} s: server killed")
        return False


RespError = compare.RespError


class Conn(compare.Client):
    """A RESP client whose waits end at a deadline or when the server
    process dies."""

    def __init__(self, port, proc, name, workdir, timeout):
        super().__init__(port, timeout=0.5)
        self.proc, self.name, self.workdir, self.timeout = proc, name, workdir, timeout

    def _fill(self):
        while True:
            try:
                data = self.s.recv(1 << 16)
            except socket.timeout:
                check_alive(self.name, self.proc, self.workdir)
                if time.perf_counter() > self.deadline:
                    raise SystemExit(f"{self.name}: no reply within {self.timeout} s")
                continue
            if not data:
                check_alive(self.name, self.proc, self.workdir)
                raise ConnectionError(f"{self.name} closed the connection")
            self.buf += data
            return

    def cmd(self, *args):
        self.deadline = time.perf_counter() + self.timeout
        return super().cmd(*args)

    def info(self, section):
        r = self.cmd("INFO", section)
        if isinstance(r, RespError):
            raise SystemExit(f"{self.name}: INFO {section}: {r}")
        return dict(line.split(":", 1) for line in r.decode().splitlines() if ":" in line)


def spawn(binary, workdir, port, extra=()):
    """compare.start's command line, without the wait, registered for cleanup
    before anything can fail."""
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", workdir, "--logfile", os.path.join(workdir, "server.log")] + list(extra)
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    PROCS.append(proc)
    return proc


class Server:
    """A server started in a fresh folder (registered for cleanup)."""

    def __init__(self, name, binary, workdir, extra=()):
        self.name, self.workdir = name, workdir
        os.makedirs(workdir)
        self.port = compare.free_port()
        self.proc = spawn(binary, workdir, self.port, extra)
        compare.wait_port(self.port, self.proc)

    def conn(self, timeout):
        return Conn(self.port, self.proc, self.name, self.workdir, timeout)

    def alive(self):
        check_alive(self.name, self.proc, self.workdir)

    def stop(self, remove=True):
        stop(self.proc)
        if remove:
            shutil.rmtree(self.workdir, ignore_errors=True)


def child_pids(pid):
    """Children of `pid`: /proc/<pid>/task/*/children when the kernel has it,
    else a scan of /proc/*/stat for the parent pid."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    first = f"/proc/{pid}/task/{tasks[0]}/children" if tasks else None
    if first and os.path.exists(first):
        out = []
        for t in tasks:
            try:
                with open(f"/proc/{pid}/task/{t}/children") as f:
                    out += [int(x) for x in f.read().split()]
            except OSError:
                pass
        return out
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return out


def private_dirty(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Private_Dirty:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


class MemorySampler(threading.Thread):
    """Samples (time, RSS of pid, Private_Dirty of its children) every `every` s."""

    def __init__(self, pid, every=0.01):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.samples = []
        self.done = threading.Event()
        self.child_seen = set()

    def run(self):
        nxt = time.perf_counter()
        while not self.done.is_set():
            try:
                rss = compare.rss_bytes(self.pid)
            except OSError:
                return
            kids = child_pids(self.pid)
            self.child_seen.update(kids)
            dirty = sum(private_dirty(c) for c in kids)
            self.samples.append((time.perf_counter(), rss, dirty))
            nxt += self.every
            time.sleep(max(0.0, nxt - time.perf_counter()))

    def stop(self):
        self.done.set()
        self.join(5)


def commands_processed(conn):
    return int(conn.info("stats")["total_commands_processed"])


def measure_snapshot(a, name, binary, work, rnd):
    srv = Server(name, binary, os.path.join(work, f"snap-{name}-{rnd}"))
    load = sampler = None
    try:
        with Watchdog(a.timeout, f"{name}: loading {a.keys} keys", srv.proc):
            compare.load_keys(srv.port, a.keys)
        srv.alive()
        c = srv.conn(a.timeout)
        n = c.cmd("DBSIZE")
        if n != a.keys:
            raise SystemExit(f"{name}: DBSIZE {n} after loading {a.keys} keys")
        saves0 = int(c.info("persistence").get("rdb_saves", 0))
        time.sleep(0.5)
        sampler = MemorySampler(srv.proc.pid)
        sampler.start()
        load = subprocess.Popen(
            ["redis-benchmark", "-p", str(srv.port), "-t", "set", "-r", str(a.keys), "-d", "64",
             "-c", "50", "-n", "1000000000", "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        PROCS.append(load)
        started = time.perf_counter()
        # The rate before the save is taken over the last 70% of the warm-up.
        time.sleep(a.warmup * 0.3)
        t0, c0 = time.perf_counter(), commands_processed(c)
        time.sleep(max(0.0, started + a.warmup - time.perf_counter()))
        if load.poll() is not None:
            srv.alive()
            raise SystemExit(f"{name}: the write load (redis-benchmark) exited with {load.returncode}")
        t1, c1 = time.perf_counter(), commands_processed(c)
        t_send = time.perf_counter()
        reply = c.cmd("BGSAVE")
        t_reply = time.perf_counter()
        if isinstance(reply, RespError) or "Background saving started" not in reply:
            raise SystemExit(f"{name}: BGSAVE replied {reply!r}")
        end = t_reply + a.timeout
        while True:
            p = c.info("persistence")
            if p.get("rdb_bgsave_in_progress") == "0":
                t_done = time.perf_counter()
                break
            if time.perf_counter() > end:
                raise SystemExit(f"{name}: BGSAVE still in progress after {a.timeout} s")
            srv.alive()
            time.sleep(0.01)
        t2, c2 = time.perf_counter(), commands_processed(c)
        if load.poll() is not None:
            srv.alive()
            raise SystemExit(f"{name}: the write load stopped during the save (exit {load.returncode}): "
                             "make sure it outlasts the save")
        stop(load)
        sampler.stop()
        if p.get("rdb_last_bgsave_status") != "ok":
            raise SystemExit(f"{name}: rdb_last_bgsave_status:{p.get('rdb_last_bgsave_status')}")
        if "rdb_saves" in p and int(p["rdb_saves"]) <= saves0:
            raise SystemExit(f"{name}: rdb_saves did not grow ({saves0} -> {p['rdb_saves']})")
        before = [rss + d for t, rss, d in sampler.samples if t_send - 0.5 <= t < t_send]
        during = [rss + d for t, rss, d in sampler.samples if t_send <= t <= t_done]
        if not before or not during:
            raise SystemExit(f"{name}: too few memory samples ({len(sampler.samples)})")
        base = max(before)
        peak = max(during)
        r = {
            "data_mb": base / 1e6,
            "extra_mb": (peak - base) / 1e6,
            "extra_pct": (peak - base) / base * 100,
            "reply_ms": (t_reply - t_send) * 1000,
            "duration_s": t_done - t_reply,
            "total_s": t_done - t_send,
            "rate_before": (c1 - c0) / (t1 - t0),
            "rate_during": (c2 - c1) / (t2 - t1),
            "samples": len(during),
            "children": len(sampler.child_seen),
        }
        r["rate_rel"] = r["rate_during"] / r["rate_before"] if r["rate_before"] else float("nan")
        try:
            dump = os.path.getsize(os.path.join(srv.workdir, "dump.rdb")) / 1e6
        except OSError:
            dump = float("nan")
        cow = int(p.get("rdb_last_cow_size", 0)) / 1e6
        print(f"snapshot {name} round {rnd + 1}: data {r['data_mb']:.1f} MB RSS, BGSAVE reply {r['reply_ms']:.1f} ms, "
              f"save {r['duration_s']:.2f} s after it, peak extra {r['extra_mb']:.1f} MB ({r['extra_pct']:.1f}%), "
              f"SET {r['rate_during']:,.0f}/s during vs {r['rate_before']:,.0f}/s before ({r['rate_rel']:.2f}x), "
              f"dump {dump:.1f} MB, {r['samples']} memory samples, {r['children']} child process(es)"
              + (f", INFO rdb_last_cow_size {cow:.1f} MB" if cow else ""), flush=True)
        c.close()
        return r
    finally:
        if load is not None:
            stop(load)
        if sampler is not None:
            sampler.stop()
        srv.stop()


def prepare_dump(a, name, binary, d):
    """An N-key dump.rdb in `d`, written by the server itself (SAVE)."""
    srv = Server(name, binary, d)
    try:
        with Watchdog(a.timeout, f"{name}: loading {a.keys} keys", srv.proc):
            compare.load_keys(srv.port, a.keys)
        c = srv.conn(a.timeout)
        n = c.cmd("DBSIZE")
        if n != a.keys:
            raise SystemExit(f"{name}: DBSIZE {n} after loading {a.keys} keys")
        r = c.cmd("SAVE")
        if r != "OK":
            raise SystemExit(f"{name}: SAVE replied {r!r}")
        c.close()
    finally:
        srv.stop(remove=False)
    print(f"restart {name}: dump.rdb of {os.path.getsize(os.path.join(d, 'dump.rdb')) / 1e6:.1f} MB", flush=True)


def measure_restart(a, name, binary, d):
    """Seconds from spawning the server on the dump in `d` to DBSIZE == keys."""
    port = compare.free_port()
    t0 = time.perf_counter()
    proc = spawn(binary, d, port)
    try:
        deadline = t0 + a.timeout
        conn = None
        wrong_since = None
        while True:
            now = time.perf_counter()
            if now > deadline:
                raise SystemExit(f"{name}: DBSIZE did not reach {a.keys} within {a.timeout} s of spawning")
            check_alive(name, proc, d)
            if conn is None:
                try:
                    conn = Conn(port, proc, name, d, max(0.1, deadline - now))
                except OSError:
                    time.sleep(0.002)
                    continue
            try:
                n = conn.cmd("DBSIZE")
            except (ConnectionError, OSError):
                conn.close()
                conn = None
                time.sleep(0.002)
                continue
            if isinstance(n, RespError):
                if not n.startswith("LOADING"):
                    raise SystemExit(f"{name}: DBSIZE replied -{n}")
                time.sleep(0.002)
                continue
            if n == a.keys:
                took = time.perf_counter() - t0
                break
            # Not loading and not all keys: give it a moment, then fail.
            wrong_since = wrong_since or now
            if now - wrong_since > 5:
                raise SystemExit(f"{name}: DBSIZE {n} after loading, expected {a.keys}")
            time.sleep(0.002)
        conn.close()
    finally:
        stop(proc)
    return took


def measure_aof(a, name, binary, work, rnd, mode):
    srv = Server(name, binary, os.path.join(work, f"aof-{mode}-{name}-{rnd}"),
                 ["--appendonly", "yes", "--appendfsync", mode])
    try:
        c = srv.conn(a.timeout)
        for key, want in [("appendonly", "yes"), ("appendfsync", mode)]:
            got = c.cmd("CONFIG", "GET", key)
            if not isinstance(got, list) or len(got) < 2 or got[1].decode() != want:
                raise SystemExit(f"{name}: CONFIG GET {key} is {got!r}, expected {want}")
        c.close()
        requests = a.requests_always if mode == "always" else a.requests_everysec
        with Watchdog(a.timeout, f"{name}: SET with appendfsync {mode}", srv.proc):
            rps, cpu = compare.bench_cmd(srv.port, srv.proc.pid, ["-t", "set", "-d", "64"], 1, requests)
        srv.alive()
        print(f"SET appendfsync {mode} {name} round {rnd + 1}: {rps:,.0f} req/s, {cpu:.2f} CPU us/req", flush=True)
        return rps, cpu
    finally:
        srv.stop()


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def ratio(f, r):
    return f / r if r else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--keys", type=int, default=1000000, help="keys for the snapshot and restart tests")
    ap.add_argument("--requests-everysec", type=int, default=100000)
    ap.add_argument("--requests-always", type=int, default=50000)
    ap.add_argument("--warmup", type=float, default=1.0, help="seconds of write load before BGSAVE")
    ap.add_argument("--tests", default="snapshot,restart,aof", help="comma-separated: snapshot,restart,aof")
    ap.add_argument("--workdir", default=None, help="where the servers' folders go (default: the temp dir)")
    ap.add_argument("--timeout", type=float, default=300, help="seconds any single wait may take")
    a = ap.parse_args()
    tests = set(a.tests.split(","))
    if tests - {"snapshot", "restart", "aof"}:
        ap.error(f"unknown tests: {tests - {'snapshot', 'restart', 'aof'}}")
    compare.check_tools()
    bins = {"ferrokv": compare.ferrokv_binary(), "redis": "redis-server"}
    # SIGTERM ends the run like Ctrl-C: the finally below stops the servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = tempfile.mkdtemp(prefix="ferrokv-persist-", dir=a.workdir)
    fs = subprocess.run(["stat", "-f", "-c", "%T", work], capture_output=True, text=True).stdout.strip()
    print(f"work folder {work} ({fs}); {a.keys} keys; {os.cpu_count()} CPUs", flush=True)
    if fs == "tmpfs":
        print("warning: tmpfs: fsync costs nothing here, use --workdir on a disk", file=sys.stderr)
    try:
        rows = []
        if "snapshot" in tests:
            rows.append(SNAPSHOT)
        if "restart" in tests:
            rows.append(RESTART)
            for name in NAMES:
                prepare_dump(a, name, bins[name], os.path.join(work, f"restart-{name}"))
        if "aof" in tests:
            rows += [AOF_EVERYSEC, AOF_ALWAYS]

        rnd_of = {name: 0 for name in NAMES}

        def measure(row, p, name, _port):
            # alternating_rounds hands over servers[name][0]: here the name.
            rnd = rnd_of[name] // len(rows)
            rnd_of[name] += 1
            if (row, p) == SNAPSHOT:
                return measure_snapshot(a, name, bins[name], work, rnd)
            if (row, p) == RESTART:
                took = measure_restart(a, name, bins[name], os.path.join(work, f"restart-{name}"))
                print(f"restart {name} round {rnd + 1}: DBSIZE = {a.keys} {took:.3f} s after spawning", flush=True)
                return took
            mode = "always" if (row, p) == AOF_ALWAYS else "everysec"
            return measure_aof(a, name, bins[name], work, rnd, mode)

        results = compare.alternating_rounds(a.rounds, rows, {n: (n, None) for n in NAMES}, measure)

        def both(row, f=lambda x: x):
            return [f(x) for x in results.get(row + ("ferrokv",), [])], [f(x) for x in results.get(row + ("redis",), [])]

        table = []  # (measure, ferrokv, redis, ratio, target, met)
        if SNAPSHOT in rows:
            for key, label, fmt, target, met in [
                ("extra_pct", "BGSAVE peak extra memory, % of data RSS", "{:.1f}%", "ferrokv <= 10%",
                 lambda f, r, q: f <= 10),
                ("duration_s", "BGSAVE duration after its reply (s)", "{:.2f}", "", None),
                ("reply_ms", "BGSAVE reply time (ms)", "{:.1f}", "", None),
                ("total_s", "BGSAVE sent -> save over (s)", "{:.2f}", "", None),
                ("rate_rel", "SET rate during the save / before", "{:.2f}", "", None),
                ("data_mb", "data RSS before BGSAVE (MB)", "{:.1f}", "", None),
            ]:
                f, r = both(SNAPSHOT, lambda x, k=key: x[k])
                q = med([ratio(x, y) for x, y in zip(f, r)])
                table.append((label, fmt.format(med(f)), fmt.format(med(r)), q, target,
                              met(med(f), med(r), q) if met else None))
        if RESTART in rows:
            f, r = both(RESTART)
            q = med([ratio(x, y) for x, y in zip(f, r)])
            table.append((f"restart until DBSIZE = {a.keys} (s)", f"{med(f):.3f}", f"{med(r):.3f}", q, "<= 0.5", q <= 0.5))
        aof_rows = [row for row in rows if row in (AOF_EVERYSEC, AOF_ALWAYS)]
        for row in aof_rows:
            f, r = both(row, lambda x: x[0])
            q = med([ratio(x, y) for x, y in zip(f, r)])
            always = row == AOF_ALWAYS
            table.append((f"{row[0]} req/s", f"{med(f):,.0f}", f"{med(r):,.0f}", q,
                          ">= 5" if always else "", q >= 5 if always else None))

        if aof_rows:
            print()
            compare.ratio_table(aof_rows, results)
        print()
        print(f"| measure ({a.rounds} rounds, medians) | ferrokv | redis | ratio ferrokv/redis | target | met |")
        print("|---|---|---|---|---|---|")
        for label, f, r, q, target, met in table:
            print(f"| {label} | {f} | {r} | {q:.2f} | {target} | {'' if met is None else ('yes' if met else 'NO')} |")
    finally:
        stop_everything()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
