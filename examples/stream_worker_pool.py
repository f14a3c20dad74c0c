#!/usr/bin/env python3
"""A job queue on a Redis stream with a consumer group, written with redis-py
the way such worker pools usually are, and nothing in it specific to ferrokv.
It runs against ferrokv or real Redis alike:

    python3 examples/stream_worker_pool.py --port 6379 [--jobs 3000] [--workers 4]

- a producer thread XADDs jobs with `MAXLEN ~` retention, and holds back while
  the oldest unfinished job (the oldest pending or unread entry) comes close
  to falling out of that window;
- N worker threads XREADGROUP (BLOCK, COUNT) and, per batch, store the results
  and XACK the entries in one MULTI/EXEC;
- one more consumer "crashes": it reads a batch and disappears without acking;
- a reaper thread XAUTOCLAIMs entries idle longer than --min-idle, processes
  and acks them, looks at XPENDING and XINFO GROUPS/CONSUMERS, and removes
  consumers that have been idle for long with nothing pending
  (XGROUP DELCONSUMER).

When every job is done the pool stops and the invariants are checked: every
job processed at least once with the right result, the PEL empty, lag 0, the
group's entries-read equal to the stream's entries-added. The last line on
stdout is a JSON summary; the exit code is 0 when every check passed, 1 when
one failed or a thread hit an error, 2 when the run itself could not go on
(no connection, an unexpected reply in the main thread, redis-py missing).
"""

import argparse
import bisect
import json
import sys
import threading
import time
import traceback

try:
    import redis
except ImportError:
    print("redis-py is not installed (python3 -m pip install 'redis==5.*')", file=sys.stderr)
    sys.exit(2)


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def id_key(entry_id):
    """A stream ID as a sortable tuple."""
    ms, seq = entry_id.split("-")
    return int(ms), int(seq)


def read_entries(reply):
    """The entries of an XREADGROUP reply on one stream: redis-py returns
    `[[stream, entries]]` over RESP2 and `{stream: [entries]}` over RESP3."""
    if not reply:
        return []
    if isinstance(reply, dict):
        return [e for chunks in reply.values() for chunk in chunks for e in chunk]
    return [e for _stream, entries in reply for e in entries]


def compute(n):
    """The 'work' a job stands for."""
    return n * n


class Pool:
    def __init__(self, args):
        self.a = args
        self.stream = f"{args.prefix}:jobs"
        self.results = f"{args.prefix}:results"
        self.attempts = f"{args.prefix}:attempts"
        self.group = "workers"
        self.r = self.connect()
        self.stop = threading.Event()
        self.crashed = threading.Event()
        self.errors = []
        self.lock = threading.Lock()
        # Producer bookkeeping: the IDs in the order they were added.
        self.produced_ids = []
        self.producer_done = threading.Event()
        self.producer_waits = 0
        # Per-thread counters (non-deterministic: how work was spread).
        self.done_by = {}
        self.crash_ids = []
        # Reaper outcome.
        self.reclaimed_from = {}  # consumer -> entries taken over from it
        self.reclaimed_deleted = []  # IDs XAUTOCLAIM reported as deleted
        self.deleted_consumers = []
        self.reaper_passes = 0
        self.max_pending_seen = 0

    # ------------------------------------------------------------ helpers

    def connect(self):
        return redis.Redis(host=self.a.host, port=self.a.port, protocol=self.a.protocol,
                           decode_responses=True, socket_timeout=30)

    def fail(self, where, exc):
        with self.lock:
            self.errors.append(f"{where}: {exc!r}")
        log(f"{where} failed: {exc!r}\n{traceback.format_exc()}")
        self.stop.set()

    def group_info(self):
        for g in self.r.xinfo_groups(self.stream):
            if g["name"] == self.group:
                return g
        raise RuntimeError(f"group {self.group} is gone")

    def finish(self, consumer, entries):
        """Processes a batch and records it: results, attempt counts and
        the acknowledgement go in one transaction, so a job is acked only
        with its result stored."""
        if not entries:
            return 0
        results = {}
        ids = []
        with self.r.pipeline(transaction=True) as p:
            for entry_id, fields in entries:
                ids.append(entry_id)
                job = fields["job"]
                results[job] = compute(int(fields["n"]))
                p.hincrby(self.attempts, job, 1)
            p.hset(self.results, mapping=results)
            p.xack(self.stream, self.group, *ids)
            replies = p.execute()
        acked = replies[-1]
        with self.lock:
            self.done_by[consumer] = self.done_by.get(consumer, 0) + len(entries)
        return acked

    # ------------------------------------------------------------ threads

    def producer(self):
        try:
            window = self.a.maxlen - self.a.maxlen // 10
            for i in range(self.a.jobs):
                if self.stop.is_set():
                    return
                if i % 25 == 0:
                    self.hold_back(window)
                entry_id = self.r.xadd(self.stream, {"job": i, "n": (i * 7) % 1000},
                                       maxlen=self.a.maxlen, approximate=True)
                with self.lock:
                    self.produced_ids.append(entry_id)
        except Exception as e:  # noqa: BLE001 - any failure ends the run
            self.fail("producer", e)
        finally:
            self.producer_done.set()

    def oldest_unfinished(self):
        """The oldest entry not yet acknowledged: the first pending one, or
        the first after the group's last-delivered ID."""
        pending = self.r.xpending(self.stream, self.group)
        candidates = []
        if pending["pending"]:
            candidates.append(id_key(pending["min"]))
        g = self.group_info()
        if g["lag"] is None or g["lag"] > 0:
            last = id_key(g["last-delivered-id"])
            candidates.append((last[0], last[1] + 1))
        return min(candidates) if candidates else None

    def hold_back(self, window):
        """Waits while the oldest unfinished job is `window` jobs old or
        more, so `MAXLEN ~` never trims work that is not done."""
        while not self.stop.is_set():
            oldest = self.oldest_unfinished()
            if oldest is None:
                return
            with self.lock:
                keys = [id_key(x) for x in self.produced_ids[-self.a.maxlen:]]
                produced = len(self.produced_ids)
            pos = produced - len(keys) + bisect.bisect_left(keys, oldest)
            if produced - pos < window:
                return
            self.producer_waits += 1
            time.sleep(0.01)

    def worker(self, name):
        try:
            while not self.stop.is_set():
                reply = self.r.xreadgroup(self.group, name, {self.stream: ">"},
                                          count=self.a.batch, block=self.a.block)
                entries = read_entries(reply)
                if entries:
                    time.sleep(self.a.work_ms / 1000 * len(entries))
                    self.finish(name, entries)
        except Exception as e:  # noqa: BLE001
            self.fail(name, e)

    def crasher(self, name):
        """Reads a batch of jobs on its own connection, then dies holding
        them (never acks)."""
        conn = self.connect()
        try:
            while len(self.crash_ids) < self.a.crash_count and not self.stop.is_set():
                want = self.a.crash_count - len(self.crash_ids)
                reply = conn.xreadgroup(self.group, name, {self.stream: ">"}, count=want, block=1000)
                self.crash_ids.extend(e[0] for e in read_entries(reply))
            log(f"{name} crashed holding {len(self.crash_ids)} jobs")
        except Exception as e:  # noqa: BLE001
            self.fail(name, e)
        finally:
            conn.close()
            self.crashed.set()

    def reaper(self, name):
        try:
            while not self.stop.is_set():
                self.reap_once(name)
                time.sleep(self.a.reap_every_ms / 1000)
        except Exception as e:  # noqa: BLE001
            self.fail(name, e)

    def reap_once(self, name):
        self.reaper_passes += 1
        summary = self.r.xpending(self.stream, self.group)
        self.max_pending_seen = max(self.max_pending_seen, summary["pending"])
        # Who holds the stale entries (for the report), then take them over.
        # The listing asks for half the claim's idle time, so an entry that
        # turns claimable between the two calls is listed too.
        owners = {}
        if summary["pending"]:
            for p in self.r.xpending_range(self.stream, self.group, "-", "+", 10000, idle=self.a.min_idle // 2):
                owners[p["message_id"]] = p["consumer"]
        cursor = "0-0"
        while True:
            cursor, claimed, deleted = self.r.xautoclaim(self.stream, self.group, name, self.a.min_idle,
                                                         start_id=cursor, count=100)
            if deleted:
                self.reclaimed_deleted.extend(deleted)
            for entry_id, _ in claimed:
                owner = owners.get(entry_id, "?")
                self.reclaimed_from[owner] = self.reclaimed_from.get(owner, 0) + 1
            live = [(i, f) for i, f in claimed if f is not None]
            if live:
                log(f"{name} took over {len(live)} stale jobs")
                self.finish(name, live)
            if cursor == "0-0":
                break
        # Consumers idle for long with nothing pending are gone for good.
        for c in self.r.xinfo_consumers(self.stream, self.group):
            if c["name"] != name and c["pending"] == 0 and c["idle"] > self.a.dead_after_ms:
                self.r.xgroup_delconsumer(self.stream, self.group, c["name"])
                log(f"{name} removed dead consumer {c['name']} (idle {c['idle']} ms)")
                with self.lock:
                    self.deleted_consumers.append(c["name"])

    # ------------------------------------------------------------ run

    def drained(self, live_names):
        if not self.producer_done.is_set():
            return False
        g = self.group_info()
        if g["pending"] or g["lag"] != 0:
            return False
        names = {c["name"] for c in self.r.xinfo_consumers(self.stream, self.group)}
        return names <= live_names

    def run(self):
        a = self.a
        self.r.delete(self.stream, self.results, self.attempts)
        self.r.xgroup_create(self.stream, self.group, id="$", mkstream=True)
        started = time.time()
        threads = [threading.Thread(target=self.producer, name="producer")]
        threads[0].start()
        crash = threading.Thread(target=self.crasher, args=("crasher",))
        crash.start()
        self.crashed.wait(30)
        workers = [f"worker-{i + 1}" for i in range(a.workers)]
        for w in workers:
            threads.append(threading.Thread(target=self.worker, args=(w,), name=w))
        threads.append(threading.Thread(target=self.reaper, args=("reaper",), name="reaper"))
        for t in threads[1:]:
            t.start()
        deadline = started + a.timeout
        live = set(workers) | {"reaper"}
        timed_out = False
        while not self.stop.is_set():
            if self.drained(live):
                break
            if time.time() > deadline:
                timed_out = True
                break
            time.sleep(0.05)
        self.stop.set()
        for t in threads + [crash]:
            t.join(a.block / 1000 + 30)
        elapsed = time.time() - started
        return self.check(elapsed, timed_out)

    def check(self, elapsed, timed_out):
        a = self.a
        failures = list(self.errors)
        if timed_out:
            failures.append(f"not drained after {a.timeout} s")
        info = self.r.xinfo_stream(self.stream)
        g = self.group_info()
        consumers = self.r.xinfo_consumers(self.stream, self.group)
        pending = self.r.xpending(self.stream, self.group)
        attempts = {int(k): int(v) for k, v in self.r.hgetall(self.attempts).items()}
        results = {int(k): int(v) for k, v in self.r.hgetall(self.results).items()}

        missing = [i for i in range(a.jobs) if attempts.get(i, 0) < 1]
        wrong = [i for i in range(a.jobs) if results.get(i) != compute((i * 7) % 1000)]
        duplicates = sum(attempts.values()) - len(attempts)

        def want(what, ok):
            if not ok:
                failures.append(what)

        want(f"{len(self.produced_ids)} of {a.jobs} jobs produced", len(self.produced_ids) == a.jobs)
        want(f"jobs never processed: {missing[:10]}", not missing)
        want(f"jobs with a wrong result: {wrong[:10]}", not wrong)
        want(f"PEL not empty: {pending['pending']}", pending["pending"] == 0)
        want(f"group pending {g['pending']}", g["pending"] == 0)
        want(f"lag {g['lag']}", g["lag"] == 0)
        want(f"entries-read {g['entries-read']} != entries-added {info['entries-added']}",
             g["entries-read"] == info["entries-added"])
        want(f"entries-added {info['entries-added']} != jobs {a.jobs}", info["entries-added"] == a.jobs)
        want(f"last-delivered-id {g['last-delivered-id']} != last-generated-id {info['last-generated-id']}",
             g["last-delivered-id"] == info["last-generated-id"])
        want(f"consumers left with pending entries: {consumers}", all(c["pending"] == 0 for c in consumers))
        want(f"crasher held {len(self.crash_ids)} jobs, not {a.crash_count}", len(self.crash_ids) == a.crash_count)
        want(f"the crasher's jobs were not all taken over: {self.reclaimed_from}",
             self.reclaimed_from.get("crasher", 0) == a.crash_count)
        want(f"the crasher was not removed: {self.deleted_consumers}", "crasher" in self.deleted_consumers)
        want(f"entries trimmed before they were done: {self.reclaimed_deleted[:10]}", not self.reclaimed_deleted)
        want(f"stream length {info['length']} not within MAXLEN ~ {a.maxlen} and one node more",
             a.maxlen <= info["length"] < a.maxlen + 100 or a.jobs <= a.maxlen)

        summary = {
            "ok": not failures,
            "failures": failures,
            # Deterministic: the same on any correct server.
            "jobs": a.jobs,
            "produced": len(self.produced_ids),
            "processed": len(attempts),
            "missing": len(missing),
            "wrong_results": len(wrong),
            "stream_length": info["length"],
            "entries_added": info["entries-added"],
            "entries_read": g["entries-read"],
            "lag": g["lag"],
            "pending": pending["pending"],
            "crashed_holding": len(self.crash_ids),
            "reclaimed_from_crasher": self.reclaimed_from.get("crasher", 0),
            "reclaimed_deleted": len(self.reclaimed_deleted),
            "dead_consumers_removed": sorted(set(self.deleted_consumers)),
            "consumers_left": sorted(c["name"] for c in consumers),
            # Depends on timing.
            "duplicates": duplicates,
            "reclaimed_from_others": sum(v for k, v in self.reclaimed_from.items() if k != "crasher"),
            "done_by": dict(sorted(self.done_by.items())),
            "producer_waits": self.producer_waits,
            "reaper_passes": self.reaper_passes,
            "max_pending_seen": self.max_pending_seen,
            "elapsed_s": round(elapsed, 2),
        }
        print(json.dumps(summary, sort_keys=False), flush=True)
        return 0 if not failures else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=6379)
    ap.add_argument("--protocol", type=int, choices=[2, 3], default=2, help="RESP version")
    ap.add_argument("--prefix", default="pool", help="key prefix (its keys are deleted at start)")
    ap.add_argument("--jobs", type=int, default=3000)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--batch", type=int, default=10, help="XREADGROUP COUNT")
    ap.add_argument("--block", type=int, default=100, help="XREADGROUP BLOCK (ms)")
    ap.add_argument("--work-ms", type=float, default=0.2, help="time one job takes (ms)")
    ap.add_argument("--maxlen", type=int, default=1000, help="XADD MAXLEN ~")
    ap.add_argument("--crash-count", type=int, default=20, help="jobs the crashing consumer takes with it")
    ap.add_argument("--min-idle", type=int, default=1000, help="XAUTOCLAIM min-idle-time (ms)")
    ap.add_argument("--reap-every-ms", type=int, default=100)
    ap.add_argument("--dead-after-ms", type=int, default=1500, help="idle time after which a consumer is removed")
    ap.add_argument("--timeout", type=float, default=120, help="seconds before the run is declared stuck")
    a = ap.parse_args()
    try:
        sys.exit(Pool(a).run())
    except (redis.RedisError, OSError, RuntimeError, KeyError, ValueError) as e:
        print(json.dumps({"ok": False, "failures": [f"error: {e!r}"]}), flush=True)
        traceback.print_exc()
        sys.exit(2)


if __name__ == "__main__":
    main()
