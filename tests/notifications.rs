//! Keyspace notifications, differential against real Redis: for the write
//! commands of every family, the events each command publishes (channel,
//! message and order) as seen by a `PSUBSCRIBE __key*__:*` client; class
//! filtering; `expired` from active and lazy expiry; `new` and `keymiss`;
//! notifications inside MULTI/EXEC and Lua scripts; a RESP3 client that
//! receives its own events in the middle of its replies; and CONFIG SET/GET of
//! `notify-keyspace-events`.

mod common;

use common::*;
use std::io::Write;
use std::time::{Duration, Instant};

/// One server with a command connection and a pattern subscriber.
struct Side {
    _server: Server,
    c: Conn,
    sub: Conn,
    /// Publishes the sentinels (the command connection may be inside MULTI).
    p: Conn,
    seq: u64,
}

impl Side {
    fn new(server: Server, flags: &str) -> Side {
        let mut c = server.conn();
        assert_eq!(c.cmd(&["CONFIG", "SET", "notify-keyspace-events", flags]), Resp::ok());
        let mut sub = server.conn();
        sub.cmd(&["PSUBSCRIBE", "__key*__:*"]);
        let p = server.conn();
        Side { _server: server, c, sub, p, seq: 0 }
    }

    /// Every event published since the last call: a sentinel message is
    /// published after the command and everything before it is collected.
    fn events(&mut self) -> Vec<String> {
        self.seq += 1;
        let mark = format!("__keysync__:{}", self.seq);
        self.p.cmd(&["PUBLISH", &mark, "x"]);
        let mut out = Vec::new();
        loop {
            let m = self.sub.read().items();
            assert_eq!(m.len(), 4, "not a pmessage: {m:?}");
            let (ch, msg) = (m[2].text(), m[3].text());
            if ch == mark {
                return out;
            }
            out.push(format!("{ch} {msg}"));
        }
    }

    /// Events arriving within `wait` (for expiries in the background).
    fn events_within(&mut self, wait: Duration, n: usize) -> Vec<String> {
        let deadline = Instant::now() + wait;
        let mut out = Vec::new();
        self.sub.set_timeout(Duration::from_millis(100));
        while out.len() < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            out.extend(self.events());
        }
        out
    }
}

/// ferrokv and Redis side by side, with `notify-keyspace-events` set to `flags`.
struct N {
    f: Side,
    r: Side,
}

impl N {
    fn new(flags: &str) -> N {
        N::with(flags, &["--enable-debug-command", "yes"])
    }

    fn with(flags: &str, extra: &[&str]) -> N {
        N { f: Side::new(Server::ferrokv_with(extra), flags), r: Side::new(Server::redis_with(extra), flags) }
    }

    /// Runs a command on both: same reply (unless `any_reply`), same events.
    fn run(&mut self, args: &[Vec<u8>], any_reply: bool) -> Resp {
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        let shown: Vec<String> = args.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        let fr = self.f.c.cmd_b(&refs);
        let rr = self.r.c.cmd_b(&refs);
        if !any_reply {
            assert_eq!(fr, rr, "replies differ for {shown:?}");
        }
        let (fe, re) = (self.f.events(), self.r.events());
        assert_eq!(fe, re, "events differ for {shown:?}\n  ferrokv: {fe:#?}\n  redis:   {re:#?}");
        fr
    }

    /// One command per line (redis-cli quoting; `#` comments). A line starting
    /// with `?` compares only the events (random replies).
    fn script(&mut self, s: &str) {
        for line in s.lines() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let (any, t) = match t.strip_prefix('?') {
                Some(rest) => (true, rest.trim()),
                None => (false, t),
            };
            self.run(&split(t), any);
        }
    }
}

/// Runs `script` with every class on (`KEA` plus `n` and `m`), then again as a
/// RESP3 client subscribed to its own events (exact transcript).
fn family(script: &str) {
    let mut n = N::new("KEAnm");
    n.script(script);
    drop(n);
    self_subscribed(script);
}

/// The whole transcript of a RESP3 client that subscribes to every event and
/// then runs `script`: its own events arrive in the middle of its replies,
/// exactly where Redis puts them. Lines marked `?` (random replies) are left out.
fn self_subscribed(script: &str) {
    let d = Diff::with(&["--notify-keyspace-events", "KEAnm", "--enable-debug-command", "yes"]);
    let mut req = String::from("HELLO 3\r\nPSUBSCRIBE __key*__:*\r\n");
    for line in script.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with('?') {
            continue;
        }
        let args = split(t);
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        req.push_str(&String::from_utf8_lossy(&Conn::encode(&refs)));
    }
    req.push_str("PING done\r\n");
    let f = transcript(d.ferrokv.port, &req);
    let r = transcript(d.redis.port, &req);
    if f != r {
        let (fl, rl): (Vec<&str>, Vec<&str>) = (f.split("\r\n").collect(), r.split("\r\n").collect());
        let i = fl.iter().zip(&rl).position(|(a, b)| a != b).unwrap_or(fl.len().min(rl.len()));
        panic!(
            "RESP3 self-subscribed transcripts differ at line {i}\n  ferrokv: {:?}\n  redis:   {:?}",
            &fl[i.saturating_sub(12)..(i + 30).min(fl.len())],
            &rl[i.saturating_sub(12)..(i + 30).min(rl.len())]
        );
    }
}

/// Sends `req` on a fresh connection; returns everything received until the
/// final `PING done` reply, with the HELLO reply's client id masked.
fn transcript(port: u16, req: &str) -> String {
    let mut s = raw_connect(port);
    s.write_all(req.as_bytes()).unwrap();
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !got.ends_with(b"+done\r\n") && !got.ends_with(b"$4\r\ndone\r\n") && Instant::now() < deadline {
        let (b, closed) = read_until_quiet(&mut s, Duration::from_millis(200));
        got.extend_from_slice(&b);
        if closed {
            break;
        }
    }
    let t = String::from_utf8_lossy(&got).into_owned();
    match t.find("$2\r\nid\r\n:") {
        Some(i) => {
            let start = i + "$2\r\nid\r\n:".len();
            let end = start + t[start..].find("\r\n").unwrap_or(0);
            format!("{}ID{}", &t[..start], &t[end..])
        }
        None => t,
    }
}

// ---------------------------------------------------------------------------
// Families
// ---------------------------------------------------------------------------

const STRINGS: &str = r#"
SET k v
SET k v2
SET k v EX 100
SET k v KEEPTTL
SET k v NX
SET k v XX GET
SET nokey v XX
SET k2 v GET
SET k3 v PX 100000 NX
SETNX k 1
SETNX k4 1
SETEX k5 100 v
PSETEX k5 100000 v
SETEX k5 0 v
GET k
GET nokey
MGET k nokey k2
GETDEL k2
GETDEL nokey
GETEX k5
GETEX k5 EX 100
GETEX k5 PX 100000
GETEX k5 PERSIST
GETEX k5 PERSIST
GETEX k5 EXAT 1
GETEX k5 EX 100
GETEX k EXAT 1
GETEX nokey PERSIST
GETSET k 9
GETSET k6 9
MSET a 1 b 2 a 3
MSETNX a 1 c 2
MSETNX c 1 d 2
APPEND a x
APPEND e x
APPEND e ""
STRLEN e
INCR n
INCR n
DECR n
INCRBY n 5
DECRBY n 5
DECRBY n2 5
INCRBYFLOAT f 1.5
INCRBYFLOAT f 1.5
INCR k
INCRBYFLOAT k 1
SETRANGE s 2 ab
SETRANGE s 0 ""
SETRANGE s 0 x
SETRANGE s2 0 ""
SETRANGE s3 3 ""
GETRANGE s 0 -1
LCS s a
LCS nokey nokey2
GETRANGE nokey 0 1
SUBSTR nokey 0 1
GETEX nokey
SET px v PXAT 1
EXISTS px
SET px v EXAT 99999999999
RPUSH list x
SET list v
APPEND list x
INCR list
GET list
"#;

#[test]
fn strings() {
    family(STRINGS);
}

const LISTS: &str = r#"
LPUSH l a b c
RPUSH l d e
LPUSHX l x
RPUSHX l y
LPUSHX nol x
RPUSHX nol x
LPOP l
RPOP l
LPOP l 2
RPOP l 2
LPOP l 0
LPOP nol
LPOP nol 2
RPOP l 10
LLEN l
LRANGE nol 0 -1
LINDEX nol 0
LPOS nol a
RPUSH l a b c d e f
LSET l 0 A
LSET l 100 A
LSET nol 0 A
LINSERT l BEFORE b B
LINSERT l AFTER zz B
LINSERT nol AFTER b B
LREM l 1 zz
LREM l 0 B
LREM nol 0 B
LTRIM l 0 3
LTRIM l 0 -1
LTRIM nol 0 1
LMOVE l l2 LEFT RIGHT
LMOVE l l2 RIGHT LEFT
LMOVE l l LEFT RIGHT
RPOPLPUSH l l2
RPOPLPUSH nol l2
LMOVE l l3 LEFT LEFT
LRANGE l2 0 -1
LMPOP 2 nol l2 LEFT
LMPOP 2 nol l2 RIGHT COUNT 10
LMPOP 1 nol LEFT
RPUSH one x
LREM one 0 x
RPUSH one x y
LTRIM one 5 10
RPUSH one x y
LMOVE one one RIGHT LEFT
LMOVE one one2 RIGHT LEFT
SET str v
LPUSH str x
LPOP str
LMOVE one2 str LEFT LEFT
BLPOP nol one2 0
RPUSH one2 a b
BRPOP one2 0
RPUSH b1 x y z
BLMOVE b1 b2 LEFT RIGHT 0
BRPOPLPUSH b1 b2 0
BLMPOP 0 2 nol b1 LEFT COUNT 5
"#;

#[test]
fn lists() {
    family(LISTS);
}

/// Events of commands served after blocking: the push, then the blocked
/// client's pop, move or (z)pop with its own events.
#[test]
fn blocked_clients_served() {
    let mut n = N::new("KEAn");
    for (block, push) in [
        ("BLPOP q 0", "RPUSH q a b"),
        ("BRPOP q 0", "LPUSH q a"),
        ("BLMOVE q dst LEFT RIGHT 0", "RPUSH q a"),
        ("BRPOPLPUSH q dst 0", "RPUSH q a b"),
        ("BLMPOP 0 1 q LEFT COUNT 3", "RPUSH q a b"),
        ("BZPOPMIN z 0", "ZADD z 1 a 2 b"),
        ("BZPOPMAX z 0", "ZADD z 1 a"),
        ("BZMPOP 0 1 z MIN COUNT 5", "ZADD z 1 a 2 b"),
    ] {
        let mut blocked = Vec::new();
        for side in [&mut n.f, &mut n.r] {
            let mut b = Conn::connect(side.c.port);
            let args = split(block);
            let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
            b.send(&refs);
            blocked.push(b);
        }
        std::thread::sleep(Duration::from_millis(200));
        n.script(push);
        let (fb, rb) = (blocked[0].read(), blocked[1].read());
        assert_eq!(fb, rb, "{block}");
        n.script("DEL q dst z");
    }
}

const KEYS: &str = r#"
DEBUG SET-ACTIVE-EXPIRE 0
MSET a 1 b 2 c 3
DEL a nokey b
UNLINK c nokey
RPUSH l x
DEL l
SET k v
EXISTS k nokey
TYPE nokey
TTL nokey
PTTL nokey
EXPIRETIME nokey
TOUCH k nokey
OBJECT ENCODING nokey
EXPIRE k 100
EXPIRE k 100 NX
EXPIRE k 200 XX
EXPIRE k 50 GT
PEXPIRE k 100000 LT
EXPIREAT k 9999999999
PEXPIREAT k 9999999999000
EXPIRE nokey 100
PERSIST k
PERSIST k
PERSIST nokey
EXPIRE k -1
SET k v
PEXPIREAT k 1
SET k v
RENAME k k2
RENAME k2 k2
RENAME nokey k
SET k v
RENAME k k2
SET k3 v
RENAMENX k2 k3
RENAMENX k2 k4
SET k v EX 100
RENAME k k5
TTL k5
MOVE k5 1
MOVE nokey 1
SET k6 v
SELECT 1
SET k6 other
SELECT 0
MOVE k6 1
COPY k4 k7
COPY k4 k7
COPY k4 k7 REPLACE
COPY k4 k7 DB 2
COPY k4 k7 DB 2 REPLACE
COPY nokey k7
SWAPDB 0 1
SWAPDB 0 1
# Lazy expiry: the key is deleted (expired) by the command that meets it.
# TTLs are 20 ms: Redis reads the clock twice in PEXPIRE and deletes the key at
# once (a `del` event) when a 1 ms TTL passed in between.
SET e1 v
PEXPIRE e1 20
DEBUG SLEEP 0.03
GET e1
SET e2 v
PEXPIRE e2 20
DEBUG SLEEP 0.03
SET e2 w
SET e3 v
PEXPIRE e3 20
DEBUG SLEEP 0.03
DEL e3
SET e4 v
PEXPIRE e4 20
DEBUG SLEEP 0.03
EXISTS e4
RPUSH e5 a
PEXPIRE e5 20
DEBUG SLEEP 0.03
RPUSH e5 b
SET e6 v
PEXPIRE e6 20
SET e7 v
DEBUG SLEEP 0.03
RENAME e7 e6
SELECT 3
SET e8 v
SET live v
PEXPIRE e8 20
DEBUG SLEEP 0.03
SCAN 0 COUNT 1000
SELECT 0
FLUSHDB
SET e9 v
PEXPIRE e9 20
DEBUG SLEEP 0.03
RANDOMKEY
FLUSHALL
"#;

#[test]
fn keys() {
    family(KEYS);
}

const HASHES: &str = r#"
HSET h a 1 b 2
HSET h a 1
HSET h c 3 a 9
HMSET h d 4
HMSET h2 x 1
HSETNX h a 1
HSETNX h z 1
HSETNX h3 z 1
HDEL h a nofield
HDEL h nofield
HDEL nokey a
HDEL h2 x
HINCRBY h n 5
HINCRBY h n -2
HINCRBY h4 n 1
HINCRBY h b 9223372036854775807
HINCRBY h c x
HINCRBYFLOAT h f 1.5
HINCRBYFLOAT h5 f 1.5
HINCRBYFLOAT h f x
HGET nokey a
HGET h nofield
HMGET nokey a b
HLEN nokey
HSTRLEN nokey a
HEXISTS nokey a
HKEYS nokey
HVALS nokey
HGETALL nokey
HRANDFIELD nokey
HSCAN nokey 0
HDEL h b c d z n f
SET s v
HSET s a 1
HDEL s a
"#;

#[test]
fn hashes() {
    family(HASHES);
}

const SETS: &str = r#"
SADD s a b c
SADD s a
SADD s d
SREM s a nomember
SREM s nomember
SREM nokey a
SADD one x
SREM one x
SADD rnd 1 2 3
?SPOP rnd
SPOP rnd 0
?SPOP rnd 1
?SPOP rnd
SADD s2 x
SPOP s2
SADD s2 1 2
SPOP s2 2
SADD s2 1 2
SPOP s2 3
SPOP nokey
SPOP nokey 2
SADD s3 1 2 3 4 5 6 7 8 9 10
?SPOP s3 2
?SPOP s3 7
?SPOP s3 5
SADD s4 x y
SMOVE s4 s5 x
SMOVE s4 s5 nomember
SMOVE s4 s4 y
SMOVE s4 s5 y
SMOVE nokey s5 y
SADD s6 x
SMOVE s5 s6 x
SADD a 1 2 3
SADD b 2 3 4
SINTERSTORE d a b
SINTERSTORE d a b
SINTERSTORE d a nokey
SINTERSTORE d a nokey
SADD c 7
SINTERSTORE d a c
SINTERSTORE d a c
SUNIONSTORE d a b
SUNIONSTORE d nokey nokey2
SUNIONSTORE d a
SDIFFSTORE d a b
SDIFFSTORE d a a
SDIFFSTORE d a a
SINTER a nokey
SINTERCARD 2 a nokey
SUNION nokey a
SDIFF a nokey
SCARD nokey
SISMEMBER nokey a
SMISMEMBER nokey a
SMEMBERS nokey
SRANDMEMBER nokey
SSCAN nokey 0
SET str v
SADD str a
SINTERSTORE d a str
SUNIONSTORE str a
"#;

#[test]
fn sets() {
    family(SETS);
}

const ZSETS: &str = r#"
ZADD z 1 a 2 b
ZADD z 1 a
ZADD z 5 a
ZADD z CH 6 a 7 c
ZADD z NX 1 a
ZADD z XX 1 zz
ZADD nokey XX 1 a
ZADD z GT 0 a
ZADD z LT 0 a
ZADD z INCR 1 a
ZADD z XX INCR 1 nomember
ZINCRBY z 2 b
ZINCRBY z2 2 b
ZADD z INCR inf inf
ZADD z INCR -inf inf
ZADD z a b
ZREM z nomember
ZREM z a nomember
ZREM nokey a
ZREM z2 b
ZADD r 1 a 2 b 3 c 4 d 5 e 6 f
ZREMRANGEBYSCORE r 1 2
ZREMRANGEBYSCORE r 100 200
ZREMRANGEBYLEX r [c [d
ZREMRANGEBYLEX r [x [y
ZREMRANGEBYRANK r 5 10
ZREMRANGEBYRANK r 0 -1
ZREMRANGEBYRANK nokey 0 -1
ZADD p 1 a 2 b 3 c 4 d
ZPOPMIN p
ZPOPMAX p
ZPOPMIN p 0
ZPOPMIN nokey
ZPOPMAX p 5
ZADD p 1 a 2 b
ZMPOP 2 nokey p MIN
ZMPOP 1 p MAX COUNT 5
ZMPOP 1 p MAX
ZADD s1 1 a 2 b
ZADD s2 2 b 3 c
SADD plain a
ZUNIONSTORE d 2 s1 s2
ZUNIONSTORE d 2 s1 nokey
ZINTERSTORE d 2 s1 s2
ZINTERSTORE d 2 s1 nokey
ZINTERSTORE d 2 s1 nokey
ZDIFFSTORE d 2 s1 s2
ZDIFFSTORE d 2 s1 s1
ZUNIONSTORE d 2 s1 plain
ZINTERSTORE d 1 nokey
ZRANGESTORE d s1 0 -1
ZRANGESTORE d s1 5 10
ZRANGESTORE d nokey 0 -1
ZRANGESTORE d s1 0 -1
ZUNION 2 s1 nokey
ZINTER 2 s1 nokey
ZDIFF 2 nokey s1
ZINTERCARD 2 s1 nokey
ZCARD nokey
ZCOUNT nokey 0 1
ZLEXCOUNT nokey - +
ZSCORE nokey a
ZMSCORE nokey a
ZRANK nokey a
ZREVRANK nokey a
ZRANGE nokey 0 -1
ZRANGEBYSCORE nokey 0 1
ZREVRANGEBYLEX nokey + -
ZRANDMEMBER nokey
ZSCAN nokey 0
SET str v
ZADD str 1 a
ZUNIONSTORE str 1 s1
DEBUG SET-ACTIVE-EXPIRE 0
SET ex v
PEXPIRE ex 20
DEBUG SLEEP 0.03
ZUNIONSTORE ex 1 nokey
SET ex v
PEXPIRE ex 20
DEBUG SLEEP 0.03
SINTERSTORE ex nokey s1
SET ex v
PEXPIRE ex 20
DEBUG SLEEP 0.03
ZADD ex 1 a
"#;

#[test]
fn zsets() {
    family(ZSETS);
}

const BITMAPS: &str = r#"
SETBIT b 7 1
SETBIT b 7 1
SETBIT b 7 0
SETBIT b 100 0
SETBIT b2 0 0
GETBIT nokey 0
BITCOUNT nokey
BITPOS nokey 1
SET s1 abc
SET s2 xyz
BITOP AND d s1 s2
BITOP OR d s1 nokey
BITOP XOR d s1 s2
BITOP NOT d s1
BITOP AND d nokey nokey2
BITOP AND d nokey nokey2
BITFIELD f SET u8 0 255
BITFIELD f GET u8 0
BITFIELD f INCRBY u8 0 1
BITFIELD f OVERFLOW FAIL INCRBY u8 0 -1
BITFIELD f SET u8 0 0
BITFIELD f2 OVERFLOW FAIL INCRBY u2 0 5
BITFIELD nokey GET u8 0
BITFIELD_RO nokey GET u8 0
RPUSH l a
SETBIT l 0 1
BITOP AND l s1
"#;

#[test]
fn bitmaps() {
    family(BITMAPS);
}

const SORT: &str = r#"
RPUSH l 3 1 2
SORT l STORE d
SORT l STORE d
SORT nokey STORE d
SORT nokey STORE d
SORT l BY w_* GET o_* STORE d
SORT l BY nosort GET # GET o_* STORE d2
SORT l LIMIT 5 10 STORE d2
SORT nokey
SORT_RO nokey
SORT l BY w_*
MSET w_1 3 w_2 2 w_3 1 o_1 a
SORT l BY w_* GET o_*
SADD s 5 4
SORT s STORE l
"#;

#[test]
fn sort() {
    family(SORT);
}

const PERSISTENCE: &str = r#"
SET src hello
DUMP src
DUMP nokey
RESTORE k 0 "\x00\x05hello\n\x00cr\xdfve4 \n"
RESTORE k 0 "\x00\x05hello\n\x00cr\xdfve4 \n"
RESTORE k 0 "\x00\x05hello\n\x00cr\xdfve4 \n" REPLACE
RESTORE k 100000 "\x00\x05hello\n\x00cr\xdfve4 \n" REPLACE
RESTORE k 1 "\x00\x05hello\n\x00cr\xdfve4 \n" REPLACE ABSTTL
RESTORE k2 1 "\x00\x05hello\n\x00cr\xdfve4 \n" ABSTTL
RESTORE k3 0 "bad"
RESTORE k3 0 "\x00\x05hello\n\x00cr\xdfve4 \n" IDLETIME 10
"#;

#[test]
fn persistence() {
    family(PERSISTENCE);
}

// ---------------------------------------------------------------------------
// Transactions, scripts, servers
// ---------------------------------------------------------------------------

#[test]
fn multi_exec_and_scripts() {
    let script = r#"
MULTI
SET a 1
LPUSH l x y
INCR a
DEL a nokey
GET nokey
EXEC
MULTI
SET a 1
SADD a x
EXEC
EVAL "redis.call('set', KEYS[1], 'v') redis.call('rpush', KEYS[2], 'a', 'b') redis.call('lpop', KEYS[2], 2) return redis.call('get', 'nokey')" 2 k l2
EVAL "redis.call('hset', 'h', 'f', 'v') redis.call('expire', 'h', 100) redis.call('persist', 'h') redis.call('del', 'h') return 1" 0
EVAL "return redis.pcall('sadd', 'k', 'x')" 0
EVAL_RO "return redis.call('get', 'nokey')" 0
EVALSHA 6b1bf486c81ceb7edf3c093f4c48582e38c0e791 0
SCRIPT LOAD "return redis.call('incr', 'c')"
EVALSHA 6b1bf486c81ceb7edf3c093f4c48582e38c0e791 0
DEBUG RELOAD
DEBUG SLEEP 0
FLUSHALL
"#;
    let mut n = N::new("KEAnm");
    n.script(script);
}

#[test]
fn multi_exec_and_scripts_resp3_self_subscribed() {
    self_subscribed(
        "MULTI\nSET a 1\nLPUSH l x y\nRPOP l\nINCR a\nDEL a nokey\nGET nokey\nZADD z 1 a\nZPOPMIN z\nEXEC\n\
         MULTI\nSET a 1\nSADD a x\nEXEC\n",
    );
}

/// A RESP3 client running a script gets the script's events (and every reply)
/// in the same order as with Redis, but after the script's reply: the script's
/// commands run as another client (see docs/compatibility.md).
#[test]
fn script_events_reach_a_resp3_self_subscriber() {
    let script = "EVAL \"redis.call('set', 'k', 'v') redis.call('del', 'k') return redis.call('get', 'nokey')\" 0";
    let run = |port: u16| {
        let mut c = Conn::connect(port);
        c.cmd(&["HELLO", "3"]);
        c.cmd(&["PSUBSCRIBE", "__key*__:*"]);
        let args = split(script);
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        c.send(&refs);
        c.send(&[b"PING", b"done"]);
        let (mut pushes, mut replies) = (Vec::new(), Vec::new());
        loop {
            match c.read() {
                Resp::Push(p) => pushes.push(p),
                r if r == Resp::bulk("done") => break,
                r => replies.push(r),
            }
        }
        // Messages can only follow the PING reply: read what is still coming.
        c.set_timeout(Duration::from_millis(300));
        c.send(&[b"PING", b"last"]);
        while let Resp::Push(p) = c.read() {
            pushes.push(p);
        }
        (pushes, replies)
    };
    let d = Diff::with(&["--notify-keyspace-events", "KEAnm"]);
    let (f, r) = (run(d.ferrokv.port), run(d.redis.port));
    assert_eq!(f, r);
    assert_eq!(f.0.len(), 8);
}

// ---------------------------------------------------------------------------
// Classes, expiry, configuration
// ---------------------------------------------------------------------------

/// Commands of every class, run under various class selections.
const MIXED: &str = r#"
DEBUG SET-ACTIVE-EXPIRE 0
SET s v
APPEND s x
GET nokey
RPUSH l a b
LPOP l
SADD st a
HSET h f v
ZADD z 1 a
EXPIRE s 100
PERSIST s
SET e v PX 20
DEBUG SLEEP 0.03
GET e
RENAME s s2
DEL s2 l st h z
"#;

#[test]
fn class_filtering() {
    for flags in [
        "", "K", "E", "A", "KE", "Kl", "Eg", "K$", "Es", "Kh", "Ez", "Kx", "Ex", "Km", "Em", "Kn", "En", "KEA", "KEAn",
        "KEAm", "AKn", "gK", "lsE", "Ke", "Kt", "Kd", "$lshzKE",
    ] {
        let mut n = N::new(flags);
        n.script(MIXED);
    }
}

/// `expired` from active expiry (the cron deletes the key; no client is
/// involved), in several databases.
#[test]
fn active_expiry() {
    let mut n = N::new("KEA");
    n.script("SET k1 v PX 50\nSELECT 2\nRPUSH k2 a\nPEXPIRE k2 50\nSELECT 0");
    let want = vec![
        "__keyevent@0__:expired k1".to_string(),
        "__keyevent@2__:expired k2".into(),
        "__keyspace@0__:k1 expired".into(),
        "__keyspace@2__:k2 expired".into(),
    ];
    for side in [&mut n.f, &mut n.r] {
        let mut got = side.events_within(Duration::from_secs(5), 4);
        got.sort();
        assert_eq!(got, want);
    }
    // Only `x` on: the same events; `x` off: none.
    let mut n = N::new("Kg");
    n.script("SET k1 v PX 30");
    std::thread::sleep(Duration::from_millis(400));
    n.script("PING");
    let mut n = N::new("Ex");
    n.script("SET k1 v PX 30");
    for side in [&mut n.f, &mut n.r] {
        assert_eq!(side.events_within(Duration::from_secs(5), 1), vec!["__keyevent@0__:expired k1".to_string()]);
    }
}

/// `expired` from lazy expiry (active expiry off): the command that meets the
/// key deletes it, before its own events.
#[test]
fn lazy_expiry() {
    family(
        "DEBUG SET-ACTIVE-EXPIRE 0\nSET k v PX 20\nSET k2 v PX 20\nHSET h f v\nPEXPIRE h 20\nDEBUG SLEEP 0.03\n\
         GET k\nGET k\nLPUSH k2 a\nHSET h g w\nTTL h\nDEBUG SET-ACTIVE-EXPIRE 1",
    );
}

/// Key creation (`n`): every way a key comes to exist.
#[test]
fn new_keys() {
    let mut n = N::new("KEn");
    n.script(
        "SET a 1\nSET a 2\nINCR b\nAPPEND c x\nSETRANGE d 1 x\nLPUSH e x\nSADD f x\nHSET g f v\nZADD h 1 x\n\
         SETBIT i 1 1\nRENAME a j\nCOPY j k\nMOVE k 1\nSMOVE f f2 x\nSUNIONSTORE u g2 f2\nBITOP OR bo i\n\
         SORT e STORE so\nLMOVE e e2 LEFT LEFT\nMSET m1 1 m2 2\nZUNIONSTORE zu 1 h\nRESTORE r 0 \"\\x00\\x05hello\\n\\x00cr\\xdfve4 \\n\"",
    );
}

/// CONFIG SET / GET of `notify-keyspace-events`: the canonical form and the errors.
#[test]
fn config_set_get() {
    let mut d = Diff::new();
    for v in [
        "",
        "KEA",
        "A",
        "K",
        "E",
        "Kg",
        "gK",
        "Elg",
        "$",
        "An",
        "nA",
        "AKEmn",
        "Agn",
        "KEg$lshzxetmdn",
        "x",
        "m",
        "KEx",
        "Ag$lshzxeKEtmdn",
        "KK",
        "Z",
        "K E",
        "a",
        "KEA ",
        "KEAZ",
        "d",
        "t",
        "e",
        "n",
        "Kn",
        "mK",
    ] {
        d.check(&["CONFIG", "SET", "notify-keyspace-events", v]);
        d.check(&["CONFIG", "GET", "notify-keyspace-events"]);
    }
    d.check(&["CONFIG", "SET", "notify-keyspace-events", "KEA", "notify-keyspace-events", "K"]);
    d.check(&["CONFIG", "SET", "notify-keyspace-events", "Kl", "maxmemory-policy", "bad"]);
    d.check(&["CONFIG", "GET", "notify-keyspace-events"]);
    d.check(&["CONFIG", "SET", "notify-keyspace-events"]);
    d.check(&["CONFIG", "GET", "notify-*"]);
    d.check(&["HELLO", "3"]);
    d.check(&["CONFIG", "GET", "notify-keyspace-events"]);
}

/// The directive on the command line: the canonical form, and Redis's
/// startup error for a bad value.
#[test]
fn config_at_startup() {
    let mut d = Diff::with(&["--notify-keyspace-events", "KEAnm"]);
    d.check(&["CONFIG", "GET", "notify-keyspace-events"]);
    let run = |bin: &str| {
        let out = std::process::Command::new(bin)
            .args(["--port", "0", "--notify-keyspace-events", "Kq"])
            .output()
            .expect("run server");
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    };
    let (fok, fout) = run(ferrokv_bin());
    let (rok, rout) = run("redis-server");
    assert!(!fok && !rok);
    let tail = |s: &str| s.lines().skip_while(|l| !l.starts_with("Reading")).collect::<Vec<_>>().join("\n");
    assert_eq!(tail(&fout), tail(&rout));
    assert!(tail(&fout).contains("Invalid event class character. Use 'Ag$lshzxeKEtmdn'."));
}

/// Every command meeting a key whose time has passed (active expiry off): the
/// key's `expired` comes first, then the command's own events (`new` when it
/// creates the key again).
#[test]
fn commands_meeting_expired_keys() {
    const STR: &str = "SET K 5";
    const LIST: &str = "RPUSH K a b";
    const SET: &str = "SADD K a b";
    const HASH: &str = "HSET K f 1";
    const ZSET: &str = "ZADD K 1 a 2 b";
    let payload = r#""\x00\x05hello\n\x00cr\xdfve4 \n""#;
    let restore = format!("RESTORE K 0 {payload}");
    let cases: Vec<(&str, &str)> = vec![
        (STR, "SET K v"),
        (STR, "SET K v NX"),
        (STR, "SET K v XX"),
        (STR, "SET K v GET"),
        (STR, "SETNX K v"),
        (STR, "GETSET K v"),
        (STR, "APPEND K x"),
        (STR, "INCR K"),
        (STR, "INCRBYFLOAT K 1"),
        (STR, "SETRANGE K 0 x"),
        (STR, "GETEX K PERSIST"),
        (STR, "GETDEL K"),
        (STR, "GET K"),
        (STR, "STRLEN K"),
        (STR, "MSET K 1"),
        (STR, "MSETNX K 1"),
        (STR, "SETBIT K 0 1"),
        (STR, "GETBIT K 0"),
        (STR, "BITCOUNT K"),
        (STR, "BITFIELD K SET u8 0 1"),
        (STR, "BITOP OR K ssrc_str"),
        (LIST, "LPUSH K a"),
        (LIST, "RPUSHX K a"),
        (LIST, "LPOP K"),
        (LIST, "LINSERT K BEFORE a b"),
        (LIST, "LSET K 0 a"),
        (LIST, "LREM K 0 a"),
        (LIST, "LTRIM K 0 1"),
        (LIST, "LRANGE K 0 -1"),
        (LIST, "LMOVE K dst LEFT LEFT"),
        (LIST, "RPOPLPUSH lsrc K"),
        (LIST, "LMPOP 1 K LEFT"),
        (LIST, "BLPOP K 0.01"),
        (SET, "SADD K a"),
        (SET, "SREM K a"),
        (SET, "SPOP K"),
        (SET, "SMOVE K dst a"),
        (SET, "SMOVE ssrc K a"),
        (SET, "SINTERSTORE K ssrc"),
        (SET, "SUNIONSTORE K ssrc"),
        (SET, "SMEMBERS K"),
        (SET, "SINTERSTORE dst K ssrc"),
        (HASH, "HSET K f v"),
        (HASH, "HDEL K f"),
        (HASH, "HINCRBY K f 1"),
        (HASH, "HSETNX K f v"),
        (HASH, "HGET K f"),
        (ZSET, "ZADD K 1 a"),
        (ZSET, "ZINCRBY K 1 a"),
        (ZSET, "ZREM K a"),
        (ZSET, "ZPOPMIN K"),
        (ZSET, "ZREMRANGEBYRANK K 0 -1"),
        (ZSET, "ZUNIONSTORE K 1 zsrc"),
        (ZSET, "ZRANGESTORE K zsrc 0 -1"),
        (ZSET, "ZRANGESTORE dst K 0 -1"),
        (ZSET, "ZSCORE K a"),
        (ZSET, "BZPOPMIN K 0.01"),
        (STR, "EXPIRE K 100"),
        (STR, "PERSIST K"),
        (STR, "RENAME K other"),
        (STR, "RENAME strsrc K"),
        (STR, "COPY K other"),
        (STR, "COPY strsrc2 K"),
        (STR, "MOVE K 1"),
        (STR, "DEL K"),
        (STR, "UNLINK K"),
        (STR, "EXISTS K"),
        (STR, "TYPE K"),
        (STR, "TTL K"),
        (STR, "TOUCH K"),
        (STR, "OBJECT ENCODING K"),
        (STR, "DUMP K"),
        (STR, &restore),
        (LIST, "SORT K STORE d"),
        (LIST, "SORT lsrc STORE K"),
    ];
    let mut setup = String::from(
        "DEBUG SET-ACTIVE-EXPIRE 0\nRPUSH lsrc a b c d e f g h\nSADD ssrc a b c d e f g\nZADD zsrc 1 a\n\
         SET ssrc_str x\nSET strsrc v\nSET strsrc2 v\n",
    );
    let mut run = String::new();
    for (i, (make, cmd)) in cases.iter().enumerate() {
        let key = format!("k{i}");
        setup.push_str(&make.replace('K', &key));
        // 5 ms: with 1, a clock tick between the two commands makes Redis
        // find the key already expired at PEXPIRE (it then deletes it).
        setup.push_str(&format!("\nPEXPIRE {key} 5\n"));
        run.push_str(&cmd.replace(" K", &format!(" {key}")));
        run.push('\n');
    }
    setup.push_str("DEBUG SLEEP 0.05\n");
    family(&(setup + &run));
}
