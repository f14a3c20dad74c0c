//! Transactions (MULTI, EXEC, DISCARD, WATCH, UNWATCH): every scenario runs
//! against ferrokv and real Redis 7.0 and the replies must be identical —
//! queueing, queueing errors, runtime errors inside EXEC, WATCH invalidation
//! by every kind of write (and non-invalidation by writes that change nothing),
//! expiry, FLUSHALL/SWAPDB, CLIENT LIST flags, MONITOR, statistics, blocked
//! clients served after EXEC.

mod common;
use common::*;
use std::time::Duration;

/// Two clients on each server: A (`d.f` / `d.r`, the one running transactions)
/// and B (another client). Script lines run on A, or on B when prefixed `B:`;
/// `SLEEP ms` pauses. Every reply is compared.
struct Two {
    d: Diff,
    fb: Conn,
    rb: Conn,
}

impl Two {
    fn new() -> Two {
        Self::with(&[])
    }

    fn with(extra: &[&str]) -> Two {
        let d = Diff::with(extra);
        let fb = d.ferrokv.conn();
        let rb = d.redis.conn();
        Two { d, fb, rb }
    }

    fn a(&mut self, line: &str) -> Resp {
        let args = split(line);
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        self.d.check_b(&refs)
    }

    fn b(&mut self, line: &str) -> Resp {
        let args = split(line);
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        let f = self.fb.cmd_b(&refs);
        let r = self.rb.cmd_b(&refs);
        assert_eq!(f, r, "client B: replies differ for {line:?} (left ferrokv, right redis)");
        f
    }

    /// B runs `line` on both servers without comparing (random replies).
    fn b_unchecked(&mut self, line: &str) {
        let args = split(line);
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        self.fb.cmd_b(&refs);
        self.rb.cmd_b(&refs);
    }

    fn script(&mut self, s: &str) {
        for line in s.lines() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            if let Some(ms) = t.strip_prefix("SLEEP ") {
                std::thread::sleep(Duration::from_millis(ms.parse().expect("sleep ms")));
            } else if let Some(rest) = t.strip_prefix("B:") {
                self.b(rest.trim());
            } else {
                self.a(t);
            }
        }
    }
}

#[test]
fn multi_exec_discard_basics() {
    let mut d = Diff::new();
    d.check_script(
        "EXEC\nDISCARD\nMULTI\nMULTI\nSET a 1\nINCR a\nGET a\nEXEC\nGET a\nEXEC\n\
         MULTI\nEXEC\nMULTI\nSET a 2\nDISCARD\nGET a\nDISCARD\nEXEC\n\
         MULTI\nWATCH a\nSET a 3\nEXEC\nGET a\n\
         MULTI\nUNWATCH\nPING\nECHO hi\nEXEC\n\
         MULTI\nSELECT 1\nSET a one\nEXEC\nGET a\nSELECT 0\nGET a\n\
         MULTI\nMULTI\nMULTI\nEXEC",
    );
}

#[test]
fn queueing_errors_abort_exec() {
    let mut d = Diff::new();
    d.check_script(
        "MULTI\nSET a 1\nNOSUCH x y\nSET b 2\nEXEC\nEXISTS a b\n\
         MULTI\nSET a\nGET a\nEXEC\n\
         MULTI\nCLIENT NOSUCH\nEXEC\n\
         MULTI\nCONFIG\nEXEC\n\
         MULTI\nSHUTDOWN\nEXEC\n\
         MULTI\nSAVE\nEXEC\n\
         MULTI\nSHUTDOWN NOSAVE\nSET a 1\nEXEC\nEXISTS a\n\
         MULTI\nDEBUG SLEEP 0\nEXEC\n\
         MULTI\nSET a 1\nEXEC x\nEXEC\nEXISTS a\n\
         EXEC x y\n\
         MULTI\nGET a\nEXEC\n\
         MULTI\nBADCMD\nMULTI\nDISCARD\nEXEC",
    );
}

#[test]
fn exec_rejected_for_authentication() {
    let mut d = Diff::with(&["--requirepass", "pw"]);
    d.check_script(
        "EXEC\nEXEC x\nMULTI\nDISCARD\nWATCH a\nUNWATCH\nAUTH pw\nMULTI\nAUTH pw\nAUTH nobody wrong\nPING\nEXEC\n\
         INFO errorstats",
    );
}

#[test]
fn runtime_errors_inside_exec_do_not_stop_it() {
    let mut d = Diff::new();
    d.check_script(
        "SET s str\nRPUSH l a b\n\
         MULTI\nLPUSH s x\nINCR s\nSET n 1\nINCR n\nLRANGE l 0 -1\nSET a b c\nZADD z x y\nLPOP s\nGET n\nEXEC\n\
         MULTI\nHSET h f v\nHGET s f\nSADD s x\nHGETALL h\nOBJECT ENCODING nokey\nEXEC",
    );
}

#[test]
fn blocking_commands_inside_multi_time_out_at_once() {
    let mut d = Diff::new();
    let script = "MULTI\nBLPOP nokey 0\nBRPOP nokey other 0\nBLMOVE nokey dst LEFT RIGHT 0\nBRPOPLPUSH nokey dst 0\n\
                  BLMPOP 0 1 nokey LEFT\nBZPOPMIN nokey 0\nBZPOPMAX nokey 0\nBZMPOP 0 1 nokey MIN\nEXEC\n\
                  RPUSH l a b\nZADD z 1 m\nMULTI\nBLPOP l 0\nBLMOVE l dst LEFT RIGHT 0\nBZPOPMIN z 0\nBLPOP l 0\nEXEC\n\
                  LRANGE dst 0 -1";
    d.check_script(script);
    d.check(&["FLUSHALL"]);
    d.check(&["HELLO", "3"]);
    d.check_script(script);
}

/// HELLO's reply (it carries the client id, which differs) as one word.
fn norm_hello(r: Resp) -> Resp {
    match r {
        Resp::Map(m) if m.first().is_some_and(|(k, _)| k.text() == "server") => Resp::simple("HELLO"),
        Resp::Array(Some(v)) if v.first().is_some_and(|k| k.text() == "server") => Resp::simple("HELLO"),
        Resp::Array(Some(v)) => Resp::Array(Some(v.into_iter().map(norm_hello).collect())),
        other => other,
    }
}

#[test]
fn resp3_replies_inside_and_for_aborted_exec() {
    let mut t = Two::new();
    t.d.check_with(&[b"HELLO", b"3"], norm_hello);
    t.script(
        "HSET h f v\nZADD z 1.5 m\n\
         MULTI\nHGETALL h\nZSCORE z m\nSMEMBERS nokey\nGET nokey\nEXEC\n\
         WATCH h\nB:HSET h f w\nMULTI\nHGETALL h\nEXEC\n\
         MULTI\nNOSUCH\nEXEC\n\
         MULTI\nHELLO 2\nHGETALL h\nZSCORE z m",
    );
    t.d.check_with(&[b"EXEC"], norm_hello);
    // An EXEC array that began in RESP2; HELLO 3 inside switches the rest to RESP3.
    t.script("MULTI\nHELLO 3\nHGETALL h\nZSCORE z m");
    t.d.check_with(&[b"EXEC"], norm_hello);
    t.script("WATCH h\nB:DEL h\nMULTI\nEXEC\nMULTI\nBLPOP nokey 0\nBLMOVE nokey d LEFT LEFT 0\nEXEC");
}

#[test]
fn pipelined_transactions() {
    let script = "MULTI\nSET a 1\nINCR a\nLPUSH a x\nEXEC\nMULTI\nGET a\nNOSUCH\nEXEC\nWATCH a\nSET a 5\nMULTI\n\
                  GET a\nEXEC\nMULTI\nGET a\nDISCARD\nGET a\nMULTI\nBLPOP nokey 0\nEXEC";
    let n = script.lines().count();
    let replies = both_servers(|s| {
        let mut c = s.conn();
        let mut pipe = Vec::new();
        for line in script.lines() {
            let args = split(line);
            let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
            pipe.extend(Conn::encode(&refs));
        }
        c.send_raw(&pipe);
        (0..n).map(|_| c.read()).collect::<Vec<_>>()
    });
    assert_eq!(replies.len(), n);
}

#[test]
fn commands_acting_at_once_inside_multi() {
    let mut t = Two::new();
    t.script(
        "SET k v\nWATCH k\nMULTI\nSET x 1\nRESET\nB:SET k changed\nMULTI\nPING\nEXEC\nEXISTS x\n\
         MULTI\nWATCH k\nMULTI\nDISCARD\nDISCARD",
    );
    // QUIT inside MULTI closes the connection at once.
    both_servers(|s| {
        let mut c = s.conn();
        let a = c.cmd(&["MULTI"]);
        let b = c.cmd(&["SET", "q", "1"]);
        let q = c.cmd(&["QUIT"]);
        let closed = c.is_closed();
        let mut o = s.conn();
        (a, b, q, closed, o.cmd(&["EXISTS", "q"]))
    });
}

/// (setup lines separated by `;`, watched key, B's command). B's reply and A's
/// EXEC (null when the watch was invalidated) are compared.
const WATCH_CASES: &[(&str, &str, &str)] = &[
    // strings
    ("SET k v", "k", "SET k v2"),
    ("SET k v", "k", "SET k v"),
    ("", "k", "SET k v"),
    ("SET k v", "k", "SET k v NX"),
    ("", "k", "SET k v XX"),
    ("SET k v", "k", "SET k v XX KEEPTTL"),
    ("", "k", "SETNX k v"),
    ("SET k v", "k", "SETNX k v2"),
    ("", "k", "SETEX k 100 v"),
    ("", "k", "PSETEX k 100000 v"),
    ("SET k v", "k", "GETSET k x"),
    ("SET k v", "k", "GETDEL k"),
    ("", "k", "GETDEL k"),
    ("SET k v", "k", "GETEX k EX 100"),
    ("SET k v", "k", "GETEX k"),
    ("SET k v EX 100", "k", "GETEX k PERSIST"),
    ("SET k v", "k", "GETEX k PERSIST"),
    ("SET k v", "k", "APPEND k x"),
    ("SET k v", "k", "APPEND k \"\""),
    ("SET k v", "k", "SETRANGE k 0 x"),
    ("SET k v", "k", "SETRANGE k 0 \"\""),
    ("SET k 1", "k", "INCR k"),
    ("SET k 1", "k", "INCRBY k 0"),
    ("SET k 1", "k", "DECRBY k 2"),
    ("SET k 1", "k", "INCRBYFLOAT k 0.5"),
    ("SET k x", "k", "INCR k"),
    ("SET k 1", "k", "MSET a 1 k 2"),
    ("SET k 1", "k", "MSET a 1"),
    ("", "k", "MSETNX a 1 k 2"),
    ("SET a 1", "k", "MSETNX a 1 k 2"),
    ("", "k", "SETBIT k 3 1"),
    ("SET k a", "k", "SETBIT k 7 1"),
    ("SET k a", "k", "SETBIT k 1 1"),
    ("SET a x", "k", "BITOP OR k a"),
    ("SET a x", "a", "BITOP OR k a"),
    ("", "k", "BITFIELD k SET u8 0 1"),
    ("SET k a", "k", "BITFIELD k GET u8 0"),
    ("SET k v", "k", "GET k"),
    ("SET k v", "k", "STRLEN k"),
    // keyspace
    ("SET k v", "k", "DEL k"),
    ("", "k", "DEL k"),
    ("SET k v", "k", "DEL a b k"),
    ("SET k v", "k", "DEL a b"),
    ("SET k v;SET a 1", "k", "DEL a"),
    ("SET k v", "k", "UNLINK k"),
    ("", "k", "UNLINK k"),
    ("SET k v", "k", "EXPIRE k 100"),
    ("", "k", "EXPIRE k 100"),
    ("SET k v", "k", "PEXPIRE k 100000"),
    ("SET k v", "k", "EXPIREAT k 1"),
    ("SET k v", "k", "EXPIRE k -1"),
    ("SET k v EX 100", "k", "EXPIRE k 200 LT"),
    ("SET k v EX 100", "k", "EXPIRE k 200 GT"),
    ("SET k v EX 100", "k", "EXPIRE k 50 NX"),
    ("SET k v EX 100", "k", "PERSIST k"),
    ("SET k v", "k", "PERSIST k"),
    ("SET k v", "k", "RENAME k k2"),
    ("SET a v", "k", "RENAME a k"),
    ("SET k v", "k", "RENAME k k"),
    ("SET a v", "k", "RENAMENX a k"),
    ("SET a v;SET k v", "k", "RENAMENX a k"),
    ("SET k v", "k", "RENAMENX k other"),
    ("SET k v", "k", "MOVE k 1"),
    ("SELECT 1;SET k v;SELECT 0", "k", "MOVE k 1"),
    ("SET k v", "k", "COPY k k2"),
    ("SET a v", "k", "COPY a k"),
    ("SET a v;SET k v", "k", "COPY a k"),
    ("SET a v;SET k v", "k", "COPY a k REPLACE"),
    ("SET k v", "k", "COPY k k DB 1"),
    ("SET k v", "k", "TOUCH k"),
    ("SET k v", "k", "EXISTS k"),
    ("SET k v", "k", "TYPE k"),
    ("SET k v", "k", "TTL k"),
    ("SET k v", "k", "OBJECT ENCODING k"),
    ("SET k v", "k", "SCAN 0"),
    ("SET k v", "k", "KEYS *"),
    ("SET k v", "k", "RANDOMKEY"),
    ("SET k v", "k", "DBSIZE"),
    // lists
    ("RPUSH k a b c", "k", "LPUSH k x"),
    ("", "k", "RPUSH k x"),
    ("", "k", "LPUSHX k x"),
    ("RPUSH k a", "k", "RPUSHX k x"),
    ("RPUSH k a b c", "k", "LPOP k"),
    ("RPUSH k a b c", "k", "RPOP k 2"),
    ("RPUSH k a", "k", "RPOP k"),
    ("", "k", "LPOP k"),
    ("RPUSH k a b c", "k", "LSET k 0 z"),
    ("RPUSH k a b c", "k", "LSET k 9 z"),
    ("RPUSH k a b c", "k", "LINSERT k BEFORE b z"),
    ("RPUSH k a b c", "k", "LINSERT k BEFORE q z"),
    ("RPUSH k a b c", "k", "LREM k 0 b"),
    ("RPUSH k a b c", "k", "LREM k 0 q"),
    ("RPUSH k a b c", "k", "LTRIM k 0 -1"),
    ("RPUSH k a b c", "k", "LTRIM k 1 -1"),
    ("RPUSH k a b c", "k", "LTRIM k 5 9"),
    ("", "k", "LTRIM k 1 -1"),
    ("SET k v", "k", "LTRIM k 1 -1"),
    ("RPUSH k a b c", "k", "LMOVE k d LEFT RIGHT"),
    ("RPUSH a a b c", "k", "LMOVE a k LEFT RIGHT"),
    ("", "k", "LMOVE a k LEFT RIGHT"),
    ("RPUSH k a b c", "k", "LMOVE k k LEFT RIGHT"),
    ("RPUSH a a b c", "k", "RPOPLPUSH a k"),
    ("RPUSH a a b c;SET k v", "k", "RPOPLPUSH a k"),
    ("RPUSH k a b c", "k", "LMPOP 2 a k LEFT"),
    ("RPUSH k a b c;RPUSH a x", "k", "LMPOP 2 a k LEFT"),
    ("RPUSH k a b c", "k", "BLPOP k 0"),
    ("RPUSH k a b c;RPUSH a x", "k", "BLPOP a k 0"),
    ("RPUSH k a b c", "k", "BRPOPLPUSH k d 0"),
    ("RPUSH k a b c", "k", "LRANGE k 0 -1"),
    ("RPUSH k a b c", "k", "LPOS k b"),
    // hashes
    ("HSET k f v", "k", "HSET k f v"),
    ("HSET k f v", "k", "HSET k g v"),
    ("HSET k f v", "k", "HSETNX k f v"),
    ("HSET k f v", "k", "HSETNX k g v"),
    ("HSET k f v", "k", "HDEL k f"),
    ("HSET k f v", "k", "HDEL k g"),
    ("HSET k f v g w", "k", "HDEL k f"),
    ("HSET k f 1", "k", "HINCRBY k f 1"),
    ("HSET k f 1", "k", "HINCRBYFLOAT k f 1.5"),
    ("HSET k f 1", "k", "HMSET k f 1"),
    ("HSET k f 1", "k", "HGETALL k"),
    ("HSET k f 1", "k", "HRANDFIELD k"),
    // sets
    ("SADD k a", "k", "SADD k a"),
    ("SADD k a", "k", "SADD k b"),
    ("SADD k a", "k", "SREM k b"),
    ("SADD k a b", "k", "SREM k a"),
    ("SADD k a", "k", "SREM k a"),
    ("SADD k a b", "k", "~SPOP k"),
    ("SADD k a b", "k", "SPOP k 0"),
    ("SADD k a b", "k", "SMOVE k d a"),
    ("SADD k a b", "k", "SMOVE k d z"),
    ("SADD a a b", "k", "SMOVE a k a"),
    ("SADD a a b;SADD k a", "k", "SMOVE a k a"),
    ("SADD a a b;SADD k a", "a", "SMOVE a k a"),
    ("SADD k a b", "k", "SMOVE k k a"),
    ("SADD a a b", "k", "SINTERSTORE k a"),
    ("SADD a a b", "a", "SINTERSTORE k a"),
    ("SADD a a b", "a", "SUNIONSTORE k a"),
    ("SADD a a b", "a", "SDIFFSTORE k a"),
    ("", "k", "SINTERSTORE k a"),
    ("SADD k a", "k", "SINTERSTORE k a"),
    ("SADD k a", "k", "SINTERSTORE k k"),
    ("SADD k a", "k", "SMEMBERS k"),
    ("SADD k a", "k", "~SRANDMEMBER k"),
    // sorted sets
    ("ZADD k 1 a", "k", "ZADD k 1 a"),
    ("ZADD k 1 a", "k", "ZADD k 2 a"),
    ("ZADD k 1 a", "k", "ZADD k NX 2 a"),
    ("ZADD k 1 a", "k", "ZADD k XX 2 b"),
    ("ZADD k 1 a", "k", "ZADD k GT 0 a"),
    ("ZADD k 1 a", "k", "ZINCRBY k 1 a"),
    ("ZADD k 1 a", "k", "ZINCRBY k 0 a"),
    ("ZADD k 1 a", "k", "ZREM k a"),
    ("ZADD k 1 a", "k", "ZREM k b"),
    ("ZADD k 1 a 2 b", "k", "ZPOPMIN k"),
    ("ZADD k 1 a 2 b", "k", "ZPOPMAX k 0"),
    ("ZADD k 1 a 2 b", "k", "ZREMRANGEBYSCORE k 5 6"),
    ("ZADD k 1 a 2 b", "k", "ZREMRANGEBYSCORE k 1 1"),
    ("ZADD k 1 a 2 b", "k", "ZREMRANGEBYRANK k 0 0"),
    ("ZADD k 1 a 2 b", "k", "ZREMRANGEBYLEX k [a [a"),
    ("ZADD a 1 a", "k", "ZUNIONSTORE k 1 a"),
    ("ZADD a 1 a", "a", "ZUNIONSTORE k 1 a"),
    ("ZADD a 1 a", "a", "ZINTERSTORE k 1 a"),
    ("ZADD a 1 a", "a", "ZDIFFSTORE k 1 a"),
    ("ZADD a 1 a", "k", "ZRANGESTORE k a 0 -1"),
    ("ZADD a 1 a", "a", "ZRANGESTORE k a 0 -1"),
    ("ZADD k 1 a", "k", "ZMPOP 1 k MIN"),
    ("ZADD k 1 a", "k", "BZPOPMIN k 0"),
    ("ZADD k 1 a", "k", "ZRANGE k 0 -1"),
    ("ZADD k 1 a", "k", "ZSCORE k a"),
    // more commands
    ("", "k", "APPEND k x"),
    ("", "k", "INCR k"),
    ("", "k", "DECRBY k 3"),
    ("", "k", "HINCRBY k f 1"),
    ("HSET k f v", "k", "HSTRLEN k f"),
    ("HSET k f v", "k", "HEXISTS k f"),
    ("HSET k f 1", "k", "HINCRBYFLOAT k f 0"),
    ("ZADD k 1 a", "k", "ZADD k INCR 1 a"),
    ("ZADD k 1 a", "k", "ZADD k INCR 0 a"),
    ("ZADD k 1 a", "k", "ZADD k XX CH 1 a"),
    ("ZADD k 1 a 2 b", "k", "ZPOPMIN k 5"),
    ("ZADD k 1 a", "k", "ZMSCORE k a"),
    ("ZADD k 1 a", "k", "ZLEXCOUNT k - +"),
    ("SADD k a b", "k", "SINTERCARD 1 k"),
    ("SADD k a b", "k", "SMISMEMBER k a"),
    ("SADD a 1", "k", "SMOVE a k 1"),
    ("SET k abc", "k", "GETRANGE k 0 1"),
    ("SET k abc", "k", "SUBSTR k 0 1"),
    ("SET k abc", "k", "BITCOUNT k"),
    ("SET k abc", "k", "GETBIT k 1"),
    ("RPUSH k a b", "k", "LINDEX k 0"),
    ("RPUSH k a b", "k", "LLEN k"),
    ("RPUSH a 3 1 2;SET k 5", "k", "SORT a BY k"),
    ("RPUSH a 3 1 2;SET k 5", "k", "SORT a GET k STORE d"),
    ("RPUSH k 3 1 2", "k", "SORT_RO k"),
    ("RPUSH k 3 1 2", "k", "SORT k STORE k"),
    ("RPUSH a 3 1 2", "k", "SORT a LIMIT 5 5 STORE k"),
    ("", "k", "SORT a STORE k"),
    ("SET k 10", "k", "SETRANGE k 0 1"),
    ("SET k v", "k", "SET k v GET"),
    ("SET k v", "k", "SET k v NX GET"),
    ("", "k", "SET k v XX GET"),
    ("SET k v EX 100", "k", "SET k v KEEPTTL"),
    ("SET k v EX 100", "k", "EXPIRE k 100 XX"),
    ("SET k v EX 100", "k", "EXPIRETIME k"),
    ("RPUSH a x", "k", "BLMOVE a k LEFT LEFT 0"),
    ("ZADD a 1 x", "k", "ZUNIONSTORE k 2 a nokey"),
    ("", "k", "ZUNIONSTORE k 1 nokey"),
    ("ZADD k 1 x", "k", "ZUNIONSTORE k 1 nokey"),
    ("ZADD k 1 x", "k", "ZINTERSTORE k 2 k nokey"),
    ("SADD k x", "k", "SDIFFSTORE k k"),
    ("SADD k x", "k", "SUNIONSTORE k k"),
    ("SET a x", "k", "BITOP NOT k nokey"),
    ("SET k x", "k", "BITOP AND k nokey"),
    ("SET k x", "k", "BITFIELD k INCRBY u8 0 0"),
    ("SET k x", "k", "BITFIELD k OVERFLOW FAIL INCRBY u8 0 255"),
    ("HSET k f v", "k", "HDEL k f g"),
    ("SADD k a", "k", "~SPOP k 5"),
    ("SADD k a b c", "k", "SREM k a z"),
    ("RPUSH k a", "k", "LPUSHX k b"),
    ("RPUSH k a", "k", "LINSERT k AFTER a b"),
    ("RPUSH k a", "k", "LPOS k a"),
    ("", "k", "LMPOP 1 k LEFT"),
    ("RPUSH k a", "k", "LMPOP 1 k LEFT COUNT 5"),
    ("ZADD k 1 a", "k", "~ZRANDMEMBER k"),
    ("ZADD k 1 a", "k", "ZREMRANGEBYSCORE k -inf +inf"),
    ("RPUSH k a b", "k", "LREM k 1 a"),
    ("SET k 1", "k", "RENAME k k"),
    ("SET k 1", "k", "COPY k other DB 1"),
    ("SET k 1", "k", "MOVE k 0"),
    // whole databases
    ("SET k v", "k", "FLUSHDB"),
    ("", "k", "FLUSHDB"),
    ("SET k v", "k", "FLUSHALL"),
    ("", "k", "FLUSHALL"),
    ("SET k v;SELECT 1;SET x y;SELECT 0", "k", "FLUSHALL"),
    ("SELECT 1;SET k v;SELECT 0", "k", "FLUSHALL"),
    ("SET k v", "k", "SWAPDB 0 1"),
    ("", "k", "SWAPDB 0 1"),
    ("SET k v", "k", "SWAPDB 0 0"),
    ("SELECT 1;SET k v;SELECT 0", "k", "SWAPDB 0 1"),
    ("SELECT 1;SET k v;SELECT 0", "k", "SWAPDB 1 2"),
    ("SET k v", "k", "SWAPDB 1 2"),
];

#[test]
fn watch_invalidated_by_changes_and_only_by_changes() {
    let mut t = Two::new();
    for &(setup, key, write) in WATCH_CASES {
        eprintln!("case: {setup:?} / WATCH {key} / {write:?}");
        t.a("FLUSHALL");
        for s in setup.split(';').filter(|s| !s.is_empty()) {
            t.a(s);
        }
        t.a(&format!("WATCH {key}"));
        match write.strip_prefix('~') {
            Some(w) => t.b_unchecked(w),
            None => {
                t.b(write);
            }
        }
        t.b("SELECT 0");
        t.a("MULTI");
        t.a("PING");
        let got = t.a("EXEC");
        let _ = got;
    }
}

/// The same writes made by the watching client itself before MULTI.
#[test]
fn watch_invalidated_by_own_writes() {
    let mut t = Two::new();
    t.script(
        "SET k v\nWATCH k\nSET k w\nMULTI\nGET k\nEXEC\n\
         WATCH k\nSADD s x\nMULTI\nGET k\nEXEC\n\
         RPUSH l a\nWATCH l\nLPUSH l b\nMULTI\nLRANGE l 0 -1\nEXEC\n\
         WATCH k\nMULTI\nSET k inside\nEXEC\nGET k\n\
         WATCH k\nMULTI\nSET k again\nB:SET other 1\nEXEC",
    );
}

#[test]
fn unwatch_exec_and_discard_forget_watches() {
    let mut t = Two::new();
    t.script(
        "SET k v\nWATCH k\nUNWATCH\nB:SET k 1\nMULTI\nPING\nEXEC\n\
         WATCH k\nMULTI\nPING\nEXEC\nB:SET k 2\nMULTI\nPING\nEXEC\n\
         WATCH k\nMULTI\nPING\nDISCARD\nB:SET k 3\nMULTI\nPING\nEXEC\n\
         WATCH k\nB:SET k 4\nMULTI\nPING\nEXEC\nMULTI\nPING\nEXEC\n\
         WATCH k\nB:SET k 5\nWATCH other\nMULTI\nPING\nEXEC\n\
         WATCH k\nB:SET k 6\nUNWATCH\nMULTI\nPING\nEXEC\n\
         WATCH k\nB:SET k 7\nMULTI\nNOSUCH\nEXEC\n\
         WATCH k k k other\nB:SET other 1\nMULTI\nPING\nEXEC\n\
         WATCH a b c\nB:DEL c\nB:SET c 1\nMULTI\nPING\nEXEC",
    );
}

#[test]
fn watch_is_per_database() {
    let mut t = Two::new();
    t.script(
        "SELECT 1\nWATCH k\nB:SET k db0\nMULTI\nPING\nEXEC\n\
         WATCH k\nB:SELECT 1\nB:SET k db1\nB:SELECT 0\nMULTI\nPING\nEXEC\n\
         WATCH k\nSELECT 2\nWATCH k\nB:SELECT 2\nB:SET k db2\nB:SELECT 0\nMULTI\nPING\nEXEC\n\
         SELECT 0\nWATCH k\nSELECT 1\nB:SET k again\nMULTI\nPING\nEXEC\n\
         SELECT 1\nWATCH k\nB:SELECT 1\nB:MOVE k 3\nB:SELECT 0\nMULTI\nPING\nEXEC",
    );
}

#[test]
fn several_clients_watch_one_key() {
    both_servers(|s| {
        let mut a = s.conn();
        let mut b = s.conn();
        let mut c = s.conn();
        a.cmd(&["SET", "k", "v"]);
        a.cmd(&["WATCH", "k"]);
        b.cmd(&["WATCH", "k", "other"]);
        c.cmd(&["WATCH", "other"]);
        c.cmd(&["SET", "k", "changed"]);
        a.cmd(&["MULTI"]);
        b.cmd(&["MULTI"]);
        c.cmd(&["MULTI"]);
        vec![a.cmd(&["EXEC"]), b.cmd(&["EXEC"]), c.cmd(&["EXEC"])]
    });
    let mut t = Two::new();
    t.script("WATCH k\nB:WATCH k\nB:MULTI\nB:SET k mine\nB:EXEC\nMULTI\nPING\nEXEC");
}

#[test]
fn watch_and_expiry() {
    let mut t = Two::with(&["--enable-debug-command", "yes"]);
    // A watched key whose TTL passes before EXEC fails it, whether active expiry
    // deleted it or it is still there.
    t.script("SET k v PX 100\nWATCH k\nSLEEP 300\nB:DBSIZE\nMULTI\nPING\nEXEC");
    t.script(
        "DEBUG SET-ACTIVE-EXPIRE 0\nSET k v PX 100\nWATCH k\nSLEEP 200\nMULTI\nPING\nEXEC\n\
         SET k v PX 100\nWATCH k\nSLEEP 200\nB:GET k\nMULTI\nPING\nEXEC",
    );
    // A key already expired when watched: its deletion is no change...
    t.script(
        "FLUSHALL\nSET k v PX 50\nSLEEP 100\nWATCH k\nMULTI\nPING\nEXEC\n\
         SET k v PX 50\nSLEEP 100\nWATCH k\nB:GET k\nMULTI\nPING\nEXEC\n\
         SET k v PX 50\nSLEEP 100\nWATCH k\nB:DEL k\nMULTI\nPING\nEXEC\n\
         SET k v PX 50\nSLEEP 100\nWATCH k\nB:FLUSHALL\nMULTI\nPING\nEXEC\n\
         SET k v PX 50\nSLEEP 100\nWATCH k\nB:EXISTS k\nB:SET k new\nMULTI\nPING\nEXEC",
    );
    // ...but storing a new value is.
    t.script(
        "SET k v PX 50\nSLEEP 100\nWATCH k\nB:SET k v2\nMULTI\nPING\nEXEC\n\
         SET k v PX 50\nSLEEP 100\nWATCH k\nB:MSET k v2\nMULTI\nPING\nEXEC\n\
         SET k v PX 50\nSLEEP 100\nWATCH k\nB:RPUSH k a\nMULTI\nPING\nEXEC\n\
         SET k v PX 50\nSLEEP 100\nWATCH k\nB:SELECT 1\nB:SET k x\nB:SWAPDB 0 1\nB:SELECT 0\nMULTI\nPING\nEXEC\n\
         FLUSHALL\nSELECT 1\nSET k x PX 50\nSELECT 0\nSLEEP 100\nWATCH k\nB:SWAPDB 0 1\nMULTI\nPING\nEXEC\n\
         DEBUG SET-ACTIVE-EXPIRE 1",
    );
    // Active expiry deleting an already-expired watched key changes nothing.
    t.script("FLUSHALL\nDEBUG SET-ACTIVE-EXPIRE 0\nSET k v PX 50\nSLEEP 100\nWATCH k\nDEBUG SET-ACTIVE-EXPIRE 1");
    t.script("SLEEP 300\nB:DBSIZE\nMULTI\nPING\nEXEC");
    // Expiry set by another client, then passing.
    t.script("SET k v\nWATCH k\nB:PEXPIRE k 50\nSLEEP 100\nMULTI\nPING\nEXEC");
}

#[test]
fn client_list_flags_and_multi_fields() {
    let fields = |line: &str| -> String {
        line.split(' ')
            .filter(|f| ["flags=", "multi=", "multi-mem=", "cmd=", "db="].iter().any(|p| f.starts_with(p)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    both_servers(|s| {
        let mut a = s.conn();
        let mut o = s.conn();
        let id = a.cmd(&["CLIENT", "ID"]).as_int().to_string();
        let mut seen = Vec::new();
        let look = |o: &mut Conn, seen: &mut Vec<String>| {
            let l = o.cmd(&["CLIENT", "LIST", "ID", &id]).text();
            seen.push(fields(l.trim_end()));
        };
        look(&mut o, &mut seen);
        for cmd in [
            &["MULTI"][..],
            &["SET", "a", "1"],
            &["SET", "abc", "12345"],
            &["GET", "xyzw"],
            &["NOSUCH"],
            &["SET", "b", "2"],
            &["EXEC"],
            &["WATCH", "a", "b"],
            &["MULTI"],
            &["SET", "a", "1"],
            &["CLIENT", "LIST", "ID", "1"],
        ] {
            seen.push(format!("{:?}", a.cmd(cmd)));
            look(&mut o, &mut seen);
        }
        o.cmd(&["SET", "a", "x"]);
        look(&mut o, &mut seen);
        for cmd in [&["SET", "x", "1"][..], &["EXEC"], &["WATCH", "a"], &["UNWATCH"], &["WATCH", "a"]] {
            seen.push(format!("{:?}", a.cmd(cmd)));
            look(&mut o, &mut seen);
        }
        o.cmd(&["SET", "a", "x"]);
        look(&mut o, &mut seen);
        for cmd in [&["MULTI"][..], &["SELECT", "3"], &["CLIENT", "INFO"], &["EXEC"], &["MULTI"], &["RESET"]] {
            let r = a.cmd(cmd);
            // CLIENT INFO as run by EXEC: the transaction's own view (flags=x, multi=N).
            let shown = match r {
                Resp::Array(Some(v)) => v.iter().map(|x| fields(x.text().trim_end())).collect::<Vec<_>>().join("|"),
                other => format!("{other:?}"),
            };
            seen.push(shown);
            look(&mut o, &mut seen);
        }
        seen
    });
}

#[test]
fn blocked_client_served_after_exec() {
    both_servers(|s| {
        let mut a = s.conn();
        let mut a2 = s.conn();
        let mut b = s.conn();
        a.send(&[b"BLPOP", b"k", b"0"]);
        settle();
        a2.send(&[b"BLMOVE", b"k", b"k2", b"RIGHT", b"LEFT", b"0"]);
        settle();
        let mut out = vec![
            b.cmd(&["MULTI"]),
            b.cmd(&["LPUSH", "k", "a"]),
            b.cmd(&["LPUSH", "k", "b"]),
            b.cmd(&["RPUSH", "k", "c"]),
            b.cmd(&["EXEC"]),
        ];
        out.push(a.read());
        out.push(a2.read());
        out.push(b.cmd(&["LRANGE", "k", "0", "-1"]));
        out.push(b.cmd(&["LRANGE", "k2", "0", "-1"]));
        // A push undone within the same transaction serves nobody.
        a.send(&[b"BLPOP", b"k3", b"0"]);
        settle();
        out.extend([b.cmd(&["MULTI"]), b.cmd(&["LPUSH", "k3", "x"]), b.cmd(&["DEL", "k3"]), b.cmd(&["EXEC"])]);
        out.push(b.cmd(&["LPUSH", "k3", "later"]));
        out.push(a.read());
        // Sorted sets, and a key that becomes a list through RENAME inside EXEC.
        a.send(&[b"BZPOPMIN", b"z", b"0"]);
        a2.send(&[b"BLPOP", b"renamed", b"0"]);
        settle();
        out.extend([
            b.cmd(&["MULTI"]),
            b.cmd(&["ZADD", "z", "2", "two", "1", "one"]),
            b.cmd(&["RPUSH", "tmp", "t1", "t2"]),
            b.cmd(&["RENAME", "tmp", "renamed"]),
            b.cmd(&["ZADD", "z", "0", "zero"]),
            b.cmd(&["EXEC"]),
        ]);
        out.push(a.read());
        out.push(a2.read());
        out.push(b.cmd(&["ZRANGE", "z", "0", "-1", "WITHSCORES"]));
        out
    });
}

#[test]
fn blocked_client_watching_keys_served_inside_watch_window() {
    // A client's BLPOP pop (served after another client's push) touches keys
    // that a third client watches.
    both_servers(|s| {
        let mut a = s.conn();
        let mut b = s.conn();
        let mut w = s.conn();
        a.send(&[b"BLMOVE", b"src", b"dst", b"LEFT", b"LEFT", b"0"]);
        settle();
        w.cmd(&["WATCH", "dst"]);
        b.cmd(&["RPUSH", "src", "x"]);
        let got = a.read();
        w.cmd(&["MULTI"]);
        w.cmd(&["PING"]);
        vec![got, w.cmd(&["EXEC"])]
    });
}

fn norm_monitor(line: &str) -> String {
    // "+<time> [<db> <addr>] ..." → "[<db>] ..."
    let rest = line.split_once(' ').map(|x| x.1).unwrap_or("");
    let (db, tail) = rest.trim_start_matches('[').split_once(' ').unwrap_or(("", ""));
    let tail = tail.split_once("] ").map(|x| x.1).unwrap_or("");
    format!("[{db}] {tail}")
}

#[test]
fn monitor_shows_transactions_as_redis() {
    both_servers(|s| {
        let mut c = s.conn();
        let mut m = s.conn();
        m.cmd(&["MONITOR"]);
        let script = "MULTI\nSET a 1\nSELECT 1\nGET a\nEXEC\nSELECT 0\nMULTI\nSELECT 2\nSET b 2\nCLIENT LIST\n\
                      CONFIG GET maxmemory\nLPUSH b x\nEXEC\nSELECT 0\nMULTI\nSET a\nEXEC\nEXEC x\nMULTI\nNOSUCH\n\
                      EXEC\nMULTI\nBLPOP x 0\nDISCARD\nWATCH x\nUNWATCH\nMULTI\nBLPOP x 0\nEXEC\nCLIENT INFO\nPING";
        let mut n = 0;
        for line in script.lines() {
            let args = split(line);
            let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
            c.cmd_b(&refs);
            n += 1;
        }
        let _ = n;
        c.cmd(&["ECHO", "end"]);
        let mut lines = Vec::new();
        loop {
            let l = m.read().text();
            let l = norm_monitor(&l);
            let end = l.ends_with("\"ECHO\" \"end\"");
            lines.push(l);
            if end {
                break;
            }
        }
        lines
    });
}

fn norm_stats(r: Resp) -> Resp {
    // Drop the timings: "calls=1,usec=5,usec_per_call=5.00,..." → "calls=1,..."
    let t = r.text();
    let mut lines: Vec<String> = t
        .lines()
        .map(|l| {
            l.split(',')
                .filter(|f| !f.starts_with("usec=") && !f.starts_with("usec_per_call="))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    lines.sort();
    Resp::Simple(lines.join("\n"))
}

#[test]
fn commandstats_errorstats_and_slowlog() {
    let mut d = Diff::new();
    d.check(&["CONFIG", "RESETSTAT"]);
    d.check_script(
        "MULTI\nSET a 1\nLPUSH a x\nINCR a\nEXEC\nMULTI\nSET a\nEXEC\nMULTI\nSHUTDOWN\nEXEC\nEXEC\nEXEC x\n\
         MULTI\nMULTI\nEXEC\nMULTI\nGET a\nDISCARD\nWATCH a\nUNWATCH\nMULTI\nNOSUCH\nGET a\nEXEC",
    );
    d.check_with(&[b"INFO", b"commandstats"], norm_stats);
    d.check(&["INFO", "errorstats"]);
    let processed = |r: Resp| {
        let t = r.text();
        Resp::Simple(
            t.lines()
                .filter(|l| l.starts_with("total_commands_processed:") || l.starts_with("total_error_replies:"))
                .collect::<Vec<_>>()
                .join(" "),
        )
    };
    d.check_with(&[b"INFO", b"stats"], processed);
    // Slowlog: the commands EXEC ran are logged one by one; EXEC itself is not.
    d.check_script("CONFIG SET slowlog-log-slower-than 0\nSLOWLOG RESET\nMULTI\nSET a 1\nECHO x\nEXEC");
    let args_only = |r: Resp| Resp::Array(Some(r.items().iter().map(|e| e.items()[3].clone()).collect()));
    d.check_with(&[b"SLOWLOG", b"GET"], args_only);
    d.check(&["CONFIG", "SET", "slowlog-log-slower-than", "10000"]);
}

#[test]
fn disconnecting_client_forgets_its_watches_and_queue() {
    let mut t = Two::new();
    for _ in 0..3 {
        for srv in [&t.d.ferrokv, &t.d.redis] {
            let mut gone = srv.conn();
            gone.cmd(&["WATCH", "k", "other"]);
            gone.cmd(&["MULTI"]);
            gone.cmd(&["SET", "q", "1"]);
        }
    }
    settle();
    t.script(
        "B:SET k 1\nWATCH k\nB:SET k 2\nMULTI\nPING\nEXEC\nWATCH k\nMULTI\nPING\nEXEC\nEXISTS q\nB:CLIENT LIST TYPE pubsub",
    );
}

#[test]
fn watch_errors_and_arity() {
    let mut d = Diff::new();
    d.check_script("WATCH\nUNWATCH x\nMULTI x\nDISCARD x\nEXEC\nMULTI\nWATCH\nUNWATCH x\nEXEC\nWATCH a b a\nUNWATCH\nMULTI\nWATCH a\nEXEC");
}

#[test]
fn client_pause_write_holds_exec_of_writes() {
    both_servers(|s| {
        let mut w = s.conn();
        let mut r = s.conn();
        let mut o = s.conn();
        w.cmd(&["MULTI"]);
        w.cmd(&["SET", "x", "1"]);
        r.cmd(&["MULTI"]);
        r.cmd(&["GET", "x"]);
        o.cmd(&["CLIENT", "PAUSE", "300", "WRITE"]);
        let t = std::time::Instant::now();
        let read_only = r.cmd(&["EXEC"]);
        let read_fast = t.elapsed() < Duration::from_millis(200);
        let writes = w.cmd(&["EXEC"]);
        let write_waited = t.elapsed() >= Duration::from_millis(250);
        (read_only, read_fast, writes, write_waited)
    });
}

#[test]
fn watch_invalidated_by_restore() {
    let mut t = Two::new();
    t.a("SET src payload");
    let f = t.d.f.cmd(&["DUMP", "src"]);
    let r = t.d.r.cmd(&["DUMP", "src"]);
    assert_eq!(f, r, "DUMP payloads differ");
    let Resp::Bulk(Some(payload)) = f else { panic!("DUMP: {f:?}") };
    for (setup, restore_args) in [("", &[][..]), ("SET k old", &[&b"REPLACE"[..]][..]), ("SET k old", &[][..])] {
        t.a("DEL k");
        if !setup.is_empty() {
            t.a(setup);
        }
        t.a("WATCH k");
        let mut args: Vec<&[u8]> = vec![b"RESTORE", b"k", b"0", &payload];
        args.extend_from_slice(restore_args);
        let fb = t.fb.cmd_b(&args);
        let rb = t.rb.cmd_b(&args);
        assert_eq!(fb, rb, "RESTORE replies differ");
        t.a("MULTI");
        t.a("GET k");
        t.a("EXEC");
    }
}

/// Writes made by scripts touch watched keys like any write, including the
/// script caller's own watches; EVAL queued in MULTI runs inside EXEC.
#[test]
fn watch_invalidated_by_scripts() {
    let mut t = Two::new();
    t.script(
        "SET k v\nWATCH k\nEVAL \"redis.call('set', KEYS[1], 'x')\" 1 k\nMULTI\nPING\nEXEC\n\
         WATCH k\nB:EVAL \"redis.call('set', KEYS[1], 'y')\" 1 k\nMULTI\nPING\nEXEC\n\
         WATCH k\nB:EVAL \"redis.call('sadd', 's', 'm')\" 0\nB:EVAL \"return redis.call('get', KEYS[1])\" 1 k\n\
         MULTI\nPING\nEXEC\n\
         SADD s m\nWATCH s\nB:EVAL \"return redis.call('sadd', 's', 'm')\" 0\nMULTI\nPING\nEXEC\n\
         MULTI\nEVAL \"return redis.call('get', KEYS[1])\" 1 k\nEVAL \"return redis.call('blpop', 'nol', 0)\" 0\nEXEC",
    );
}
