#!/usr/bin/env python3
"""Uses a server through redis-py exactly as an application would, and checks
every answer. Run by tests/clients.rs against ferrokv (and against real Redis,
to prove the expectations themselves are right).

    python3 redis_py_check.py PORT [AUTH_PORT AUTH_PASSWORD]

PORT is a server without a password; AUTH_PORT (optional) is a server started
with `--requirepass AUTH_PASSWORD`. Exits 0 when everything matches, 1 with a
message naming the first mismatch otherwise, 2 when redis-py is missing.
"""

import sys
import time
import traceback

try:
    import redis
except ImportError:
    print("redis-py is not installed (python3 -m pip install 'redis==5.*')", file=sys.stderr)
    sys.exit(2)

HOST = "127.0.0.1"
CHECKS = 0


class Mismatch(Exception):
    pass


def eq(what, got, want):
    global CHECKS
    CHECKS += 1
    if got != want:
        raise Mismatch(f"{what}: expected {want!r}, got {got!r}")


def ok(what, cond, detail=""):
    global CHECKS
    CHECKS += 1
    if not cond:
        raise Mismatch(f"{what}: condition failed {detail}")


def raises(what, exc_type, fn, contains=None):
    global CHECKS
    CHECKS += 1
    try:
        fn()
    except exc_type as e:
        if contains is not None and contains not in str(e):
            raise Mismatch(f"{what}: {exc_type.__name__} raised with message {str(e)!r}, expected it to contain {contains!r}")
        return e
    except Exception as e:  # noqa: BLE001 - any other exception is the mismatch we report
        raise Mismatch(f"{what}: expected {exc_type.__name__}, got {type(e).__name__}: {e}")
    raise Mismatch(f"{what}: expected {exc_type.__name__}, nothing was raised")


def strings_and_keys(r):
    r.flushall()
    eq("set", r.set("a", "1"), True)
    eq("get", r.get("a"), b"1")
    eq("get missing", r.get("missing"), None)
    eq("incr", r.incr("a"), 2)
    eq("incr by", r.incr("a", 10), 12)
    eq("decr", r.decr("a"), 11)
    eq("incrbyfloat new", r.incrbyfloat("f", 1.5), 1.5)
    eq("incrbyfloat", r.incrbyfloat("f", 0.25), 1.75)
    eq("incrbyfloat neg", r.incrbyfloat("f", -3), -1.25)
    eq("get float", r.get("f"), b"-1.25")
    eq("mset", r.mset({"m1": "x", "m2": "y", "m3": "z"}), True)
    eq("mget", r.mget(["m1", "m2", "nope", "m3"]), [b"x", b"y", None, b"z"])
    eq("mget varargs", r.mget("m1", "m3"), [b"x", b"z"])
    eq("msetnx existing", r.msetnx({"m1": "q", "new": "w"}), False)
    eq("set nx existing", r.set("m1", "v", nx=True), None)
    eq("set xx missing", r.set("zz", "v", xx=True), None)
    eq("set get", r.set("m1", "x2", get=True), b"x")
    eq("setnx", r.setnx("sn", "1"), True)
    eq("getset", r.getset("sn", "2"), b"1")
    eq("getdel", r.getdel("sn"), b"2")
    eq("append", r.append("ap", "hello"), 5)
    eq("append more", r.append("ap", " world"), 11)
    eq("strlen", r.strlen("ap"), 11)
    eq("getrange", r.getrange("ap", 0, 4), b"hello")
    eq("setrange", r.setrange("ap", 6, "WORLD"), 11)
    eq("get after setrange", r.get("ap"), b"hello WORLD")

    # Expiry.
    eq("ttl no expire", r.ttl("a"), -1)
    eq("ttl missing", r.ttl("missing"), -2)
    eq("expire", r.expire("a", 100), True)
    ok("ttl", 99 <= r.ttl("a") <= 100, r.ttl("a"))
    eq("pexpire", r.pexpire("a", 50000), True)
    ok("pttl", 49000 <= r.pttl("a") <= 50000, r.pttl("a"))
    ok("ttl after pexpire", 49 <= r.ttl("a") <= 50)
    eq("expire nx on volatile", r.expire("a", 10, nx=True), False)
    eq("expire gt", r.expire("a", 1000, gt=True), True)
    eq("persist", r.persist("a"), True)
    eq("ttl persisted", r.ttl("a"), -1)
    eq("expire missing", r.expire("missing", 10), False)
    eq("set ex", r.set("ex", "v", ex=30), True)
    ok("ttl set ex", 29 <= r.ttl("ex") <= 30)
    eq("set px", r.set("px", "v", px=100), True)
    time.sleep(0.3)
    eq("expired key", r.get("px"), None)
    eq("exists expired", r.exists("px"), 0)
    eq("getex persist", r.getex("ex", persist=True), b"v")
    eq("ttl after getex", r.ttl("ex"), -1)

    # Keyspace.
    for i in range(300):
        r.set(f"scan:{i}", i)
    found = set(r.scan_iter(match="scan:*", count=25))
    eq("scan_iter match count", len(found), 300)
    eq("scan_iter members", found, {f"scan:{i}".encode() for i in range(300)})
    eq("scan_iter no match", list(r.scan_iter(match="nothing:*")), [])
    everything = set(r.scan_iter())
    eq("scan_iter all", len(everything), r.dbsize())
    cursor, batch = r.scan(0, match="scan:1*", count=1000)
    eq("scan one call cursor", cursor, 0)
    eq("scan one call", len(batch), 111)
    eq("scan_iter _type", len(set(r.scan_iter(match="scan:*", _type="string"))), 300)
    eq("keys", sorted(r.keys("m?")), [b"m1", b"m2", b"m3"])
    eq("keys none", r.keys("nothing*"), [])
    eq("exists", r.exists("m1", "m1", "nope"), 2)
    eq("delete", r.delete("m1", "m2", "nope"), 2)
    eq("exists after delete", r.exists("m1"), 0)
    eq("unlink", r.unlink("m3"), 1)
    eq("type string", r.type("a"), b"string")
    eq("type none", r.type("missing"), b"none")
    eq("object encoding int", r.object("encoding", "a"), b"int")
    eq("object encoding raw after append", r.object("encoding", "ap"), b"raw")
    r.set("emb", "short")
    eq("object encoding embstr", r.object("encoding", "emb"), b"embstr")
    r.set("raw", "x" * 100)
    eq("object encoding raw", r.object("encoding", "raw"), b"raw")
    eq("object encoding missing", r.object("encoding", "missing"), None)
    eq("rename", r.rename("raw", "raw2"), True)
    raises("rename missing", redis.exceptions.ResponseError, lambda: r.rename("missing", "x"), "no such key")
    eq("copy", r.copy("raw2", "raw3"), True)
    eq("randomkey is a key", r.exists(r.randomkey()), 1)
    eq("dbsize", r.dbsize(), 300 + len(["a", "f", "ap", "ex", "emb", "raw2", "raw3"]))

    # Binary safety.
    blob = bytes(range(256)) * 4 + b"\r\n\x00end"
    eq("set binary", r.set(b"bin\x00key\xff", blob), True)
    eq("get binary", r.get(b"bin\x00key\xff"), blob)
    eq("strlen binary", r.strlen(b"bin\x00key\xff"), len(blob))
    big = bytes(i % 251 for i in range(3 * 1024 * 1024))
    eq("set 3MB", r.set("big", big), True)
    eq("get 3MB", r.get("big"), big)

    # Errors surface as redis-py's exceptions with Redis's message.
    r.set("notint", "abc")
    raises("incr non-int", redis.exceptions.ResponseError, lambda: r.incr("notint"),
           "value is not an integer or out of range")
    raises("incrbyfloat non-float", redis.exceptions.ResponseError, lambda: r.incrbyfloat("notint", 1),
           "value is not a valid float")
    raises("unknown command", redis.exceptions.ResponseError, lambda: r.execute_command("NOSUCHCMD", "x"),
           "unknown command 'NOSUCHCMD', with args beginning with: 'x'")
    raises("arity", redis.exceptions.ResponseError, lambda: r.execute_command("GET"),
           "wrong number of arguments for 'get' command")
    raises("syntax", redis.exceptions.ResponseError, lambda: r.execute_command("SET", "k", "v", "NX", "XX"),
           "syntax error")
    raises("expire not int", redis.exceptions.ResponseError, lambda: r.execute_command("EXPIRE", "a", "soon"),
           "value is not an integer or out of range")
    eq("still usable after errors", r.ping(), True)


def other_types(r):
    """Lists and hashes, and the WRONGTYPE error a string command gets on them."""
    r.delete("l", "h")
    eq("rpush", r.rpush("l", "a", "b", "c"), 3)
    eq("lrange", r.lrange("l", 0, -1), [b"a", b"b", b"c"])
    eq("lpop", r.lpop("l"), b"a")
    eq("type list", r.type("l"), b"list")
    eq("object encoding list", r.object("encoding", "l"), b"quicklist")
    eq("hset mapping", r.hset("h", mapping={"f1": "v1", "f2": "v2"}), 2)
    eq("hgetall", r.hgetall("h"), {b"f1": b"v1", b"f2": b"v2"})
    eq("hget", r.hget("h", "f2"), b"v2")
    eq("type hash", r.type("h"), b"hash")
    eq("object encoding hash", r.object("encoding", "h"), b"listpack")
    raises("WRONGTYPE", redis.exceptions.ResponseError, lambda: r.get("l"),
           "WRONGTYPE Operation against a key holding the wrong kind of value")
    raises("WRONGTYPE incr", redis.exceptions.ResponseError, lambda: r.incr("h"), "WRONGTYPE")
    eq("set over list", r.set("l", "now a string"), True)
    eq("type after set", r.type("l"), b"string")
    r3 = redis.Redis(host=HOST, port=r.connection_pool.connection_kwargs["port"], protocol=3)
    eq("resp3 hgetall map", r3.hgetall("h"), {b"f1": b"v1", b"f2": b"v2"})
    r.delete("l", "h")


def pipelines(r):
    r.flushall()
    p = r.pipeline(transaction=False)
    p.set("p", 1).incr("p").incrby("p", 5).get("p").mget("p", "none").delete("p").exists("p")
    eq("pipeline", p.execute(), [True, 2, 7, b"7", [b"7", None], 1, 0])
    p = r.pipeline(transaction=False)
    for i in range(2000):
        p.set(f"pk{i}", i)
    res = p.execute()
    eq("pipeline 2000 sets", res, [True] * 2000)
    p = r.pipeline(transaction=False)
    for i in range(2000):
        p.get(f"pk{i}")
    eq("pipeline 2000 gets", p.execute(), [str(i).encode() for i in range(2000)])
    # An error inside a pipeline is returned in place (raise_on_error=False) or raised.
    r.set("txt", "abc")
    p = r.pipeline(transaction=False)
    p.set("x", 1).incr("txt").incr("x")
    res = p.execute(raise_on_error=False)
    eq("pipeline with error len", len(res), 3)
    eq("pipeline error first", res[0], True)
    ok("pipeline error in place", isinstance(res[1], redis.exceptions.ResponseError), repr(res[1]))
    eq("pipeline after error", res[2], 2)
    p = r.pipeline(transaction=False)
    p.incr("txt")
    raises("pipeline raise", redis.exceptions.ResponseError, p.execute, "not an integer")


def server_and_connection(r, port):
    eq("ping", r.ping(), True)
    eq("echo", r.echo("hi there"), b"hi there")
    info = r.info()
    eq("info redis_version", info.get("redis_version"), "7.0.15")
    ok("info connected_clients", isinstance(info.get("connected_clients"), int) and info["connected_clients"] >= 1,
       repr(info.get("connected_clients")))
    eq("info tcp_port", info.get("tcp_port"), port)
    ok("info has keyspace db0", "db0" in info, sorted(info)[:20])
    eq("info db0 type", sorted(info["db0"].keys()), ["avg_ttl", "expires", "keys"])
    server = r.info("server")
    eq("info server redis_mode", server.get("redis_mode"), "standalone")
    ok("info server has no stats", "total_commands_processed" not in server)
    stats = r.info("stats")
    ok("info stats", stats.get("total_commands_processed", 0) > 0, repr(stats.get("total_commands_processed")))
    eq("config_get maxmemory", r.config_get("maxmemory"), {"maxmemory": "0"})
    eq("config_get port", r.config_get("port"), {"port": str(port)})
    got = r.config_get("maxmemory*")
    ok("config_get glob", {"maxmemory", "maxmemory-policy", "maxmemory-samples"} <= set(got), sorted(got))
    eq("config_set", r.config_set("maxmemory-samples", 7), True)
    eq("config_get after set", r.config_get("maxmemory-samples"), {"maxmemory-samples": "7"})
    raises("config_set bad", redis.exceptions.ResponseError, lambda: r.config_set("maxmemory-samples", "x"),
           "CONFIG SET failed")
    r.config_set("maxmemory-samples", 5)
    eq("client_setname", r.client_setname("pyclient"), True)
    eq("client_getname", r.client_getname(), "pyclient")
    clients = r.client_list()
    mine = [c for c in clients if c.get("name") == "pyclient"]
    eq("client_list has us", len(mine), 1)
    eq("client_list cmd field", mine[0].get("cmd"), "client|list")
    ok("client_list id", mine[0]["id"].isdigit() and int(mine[0]["id"]) == r.client_id())
    ok("client_list addr", mine[0]["addr"].startswith("127.0.0.1:"), mine[0]["addr"])
    eq("client_info name", r.client_info().get("name"), "pyclient")
    eq("time", len(r.time()), 2)
    eq("dbsize type", isinstance(r.dbsize(), int), True)
    eq("select via new client", redis.Redis(host=HOST, port=port, db=3).set("in3", 1), True)
    eq("db 3 isolated", r.exists("in3"), 0)
    eq("db 3 visible", redis.Redis(host=HOST, port=port, db=3).get("in3"), b"1")
    eq("command_count", r.command_count() > 10, True)


def resp3(port):
    r = redis.Redis(host=HOST, port=port, protocol=3)
    eq("resp3 ping", r.ping(), True)
    eq("resp3 set", r.set("r3", "v"), True)
    eq("resp3 get", r.get("r3"), b"v")
    eq("resp3 get missing", r.get("missing3"), None)
    eq("resp3 mget", r.mget("r3", "missing3"), [b"v", None])
    eq("resp3 incr", r.incr("r3n"), 1)
    eq("resp3 incrbyfloat", r.incrbyfloat("r3f", 2.5), 2.5)
    eq("resp3 config_get", r.config_get("maxmemory-policy"), {"maxmemory-policy": "noeviction"})
    eq("resp3 info", r.info().get("redis_version"), "7.0.15")
    hello = r.execute_command("HELLO", "3")
    eq("resp3 hello proto", hello.get(b"proto", hello.get("proto")), 3)
    eq("resp3 hello server", hello.get(b"server", hello.get("server")), b"redis")
    eq("resp3 scan_iter", len(set(r.scan_iter(match="r3*"))), 3)
    eq("resp3 client_setname", r.client_setname("three"), True)
    ok("resp3 client_list", any(c.get("name") == "three" for c in r.client_list()))
    eq("resp3 ttl", r.ttl("r3"), -1)
    p = r.pipeline(transaction=False)
    p.set("r3p", 1).get("r3p").get("missing3")
    eq("resp3 pipeline", p.execute(), [True, b"1", None])
    raises("resp3 error", redis.exceptions.ResponseError, lambda: r.incr("r3"), "not an integer")


def decoded(port):
    r = redis.Redis(host=HOST, port=port, decode_responses=True)
    eq("decoded set", r.set("dk", "héllo"), True)
    eq("decoded get", r.get("dk"), "héllo")
    eq("decoded strlen utf8 bytes", r.strlen("dk"), 6)
    eq("decoded mget", r.mget("dk", "nope"), ["héllo", None])
    eq("decoded keys", r.keys("dk"), ["dk"])
    eq("decoded type", r.type("dk"), "string")
    eq("decoded object", r.object("encoding", "dk"), "embstr")
    eq("decoded echo", r.echo("e"), "e")
    eq("decoded info", r.info("server")["redis_version"], "7.0.15")
    eq("decoded client_setname", r.client_setname("dec"), True)
    ok("decoded client_list", any(c["name"] == "dec" for c in r.client_list()))
    eq("decoded scan_iter", sorted(r.scan_iter(match="dk*")), ["dk"])
    r3 = redis.Redis(host=HOST, port=port, decode_responses=True, protocol=3)
    eq("decoded resp3 get", r3.get("dk"), "héllo")
    eq("decoded resp3 config_get", r3.config_get("appendonly"), {"appendonly": "no"})
    eq("decoded resp3 info", r3.info()["redis_version"], "7.0.15")


def auth(port, password):
    raises("NOAUTH", redis.exceptions.AuthenticationError, lambda: redis.Redis(host=HOST, port=port).get("a"),
           "Authentication required")
    raises("wrong password", redis.exceptions.AuthenticationError,
           lambda: redis.Redis(host=HOST, port=port, password="wrong").ping(), "invalid username-password pair")
    r = redis.Redis(host=HOST, port=port, password=password)
    eq("auth ping", r.ping(), True)
    eq("auth set", r.set("k", "v"), True)
    eq("auth get", r.get("k"), b"v")
    r3 = redis.Redis(host=HOST, port=port, password=password, protocol=3)
    eq("auth resp3 (HELLO 3 AUTH)", r3.get("k"), b"v")
    eq("auth username default", redis.Redis(host=HOST, port=port, username="default", password=password).ping(), True)
    raises("wrong password resp3", redis.exceptions.AuthenticationError,
           lambda: redis.Redis(host=HOST, port=port, password="nope", protocol=3).ping())


def pubsub(port, protocol):
    """redis-py's PubSub object: subscribe, psubscribe, get_message, unsubscribe."""
    r = redis.Redis(host=HOST, port=port, protocol=protocol)
    p = r.pubsub()
    p.subscribe("py:news")
    p.psubscribe("py:*")
    eq("subscribe confirmation", p.get_message(timeout=2)["type"], "subscribe")
    eq("psubscribe confirmation", p.get_message(timeout=2)["type"], "psubscribe")
    eq("publish receivers", r.publish("py:news", "hello"), 2)
    m = p.get_message(timeout=2)
    eq("message", (m["type"], m["channel"], m["data"]), ("message", b"py:news", b"hello"))
    m = p.get_message(timeout=2)
    eq("pmessage", (m["type"], m["pattern"], m["channel"], m["data"]), ("pmessage", b"py:*", b"py:news", b"hello"))
    eq("numsub", r.pubsub_numsub("py:news"), [(b"py:news", 1)])
    eq("numpat", r.pubsub_numpat(), 1)
    eq("channels", r.pubsub_channels("py:*"), [b"py:news"])
    p.unsubscribe()
    p.punsubscribe()
    eq("unsubscribe", p.get_message(timeout=2)["type"], "unsubscribe")
    eq("punsubscribe", p.get_message(timeout=2)["type"], "punsubscribe")
    eq("publish after unsubscribe", r.publish("py:news", "x"), 0)
    p.close()


def scripting(r):
    """redis-py's Script objects (EVALSHA with EVAL fallback) and errors."""
    r.delete("py:counter")
    incr = r.register_script("return redis.call('incrby', KEYS[1], ARGV[1])")
    eq("script first call", incr(keys=["py:counter"], args=[5]), 5)
    eq("script cached call", incr(keys=["py:counter"], args=[2]), 7)
    eq("script exists", r.script_exists(incr.sha), [True])
    raises("script error", redis.exceptions.ResponseError, lambda: r.eval("return redis.call('nosuch')", 0),
           "Unknown Redis command called from script")
    eq("eval table", r.eval("return {1, 'two', {3}}", 0), [1, b"two", [3]])
    r.script_flush()
    eq("script flushed", r.script_exists(incr.sha), [False])
    eq("script reloaded by redis-py", incr(keys=["py:counter"], args=[1]), 8)


def main():
    if len(sys.argv) not in (2, 4):
        print(__doc__, file=sys.stderr)
        sys.exit(64)
    port = int(sys.argv[1])
    steps = [
        ("strings and keys", lambda: strings_and_keys(redis.Redis(host=HOST, port=port))),
        ("lists and hashes", lambda: other_types(redis.Redis(host=HOST, port=port))),
        ("pipelines", lambda: pipelines(redis.Redis(host=HOST, port=port))),
        ("server and connection", lambda: server_and_connection(redis.Redis(host=HOST, port=port), port)),
        ("RESP3", lambda: resp3(port)),
        ("decode_responses", lambda: decoded(port)),
        ("pub/sub RESP2", lambda: pubsub(port, 2)),
        ("scripting", lambda: scripting(redis.Redis(host=HOST, port=port))),
        ("pub/sub RESP3", lambda: pubsub(port, 3)),
    ]
    if len(sys.argv) == 4:
        steps.append(("requirepass", lambda: auth(int(sys.argv[2]), sys.argv[3])))
    for name, fn in steps:
        try:
            fn()
        except Mismatch as m:
            print(f"redis-py mismatch in [{name}] against port {port}: {m}", file=sys.stderr)
            sys.exit(1)
        except Exception:  # noqa: BLE001 - an unexpected exception is a failure with its traceback
            print(f"redis-py failed in [{name}] against port {port}:", file=sys.stderr)
            traceback.print_exc()
            sys.exit(1)
    print(f"redis-py {redis.__version__}: {CHECKS} checks passed")


if __name__ == "__main__":
    main()
