//! Blocking list pops (BLPOP, BRPOP, BRPOPLPUSH, BLMOVE, BLMPOP) and CLIENT
//! UNBLOCK: each scenario runs against ferrokv and real Redis and the
//! transcripts must be identical.

mod common;
use common::*;
use std::time::{Duration, Instant};

#[test]
fn immediate_pops_and_errors() {
    let mut d = Diff::new();
    d.check_script(
        "RPUSH l a b c\nBLPOP l 0\nBRPOP l 0\nBLPOP nokey l 1\nBLPOP l -1\nBLPOP l x\nBLPOP l inf\nBLPOP l nan\n\
         SET s str\nBLPOP s 0\nBLPOP nokey s 0\nRPUSH l2 x y\nBRPOPLPUSH l2 l3 0\nLRANGE l3 0 -1\nBRPOPLPUSH s l3 0\n\
         BLMOVE l2 l3 LEFT RIGHT 0\nBLMOVE l2 l3 UP RIGHT 0\nBLMOVE l2 l3 LEFT RIGHT x\nLRANGE l3 0 -1\n\
         RPUSH m 1 2 3 4\nBLMPOP 0 2 nokey m LEFT COUNT 3\nBLMPOP 0 0 m LEFT\nBLMPOP 0 1 m UP\nBLMPOP x 1 m LEFT\n\
         BLMPOP 0 1 m LEFT COUNT 0\nBLMPOP 0 1 m RIGHT COUNT 5\nBLMPOP 0 1 s LEFT\nBLPOP l 99999999999999999999",
    );
}

#[test]
fn timeout_replies_nil_in_resp2_and_resp3() {
    both_servers(|s| {
        let mut c = s.conn();
        let start = Instant::now();
        let a = c.cmd(&["BLPOP", "nokey", "0.2"]);
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(180) && waited < Duration::from_secs(3), "{waited:?}");
        let b = c.cmd(&["BRPOPLPUSH", "nokey", "dst", "0.05"]);
        let c2 = c.cmd(&["BLMPOP", "0.05", "1", "nokey", "LEFT"]);
        c.cmd(&["HELLO", "3"]);
        let d = c.cmd(&["BLPOP", "nokey", "0.05"]);
        let e = c.cmd(&["BLMOVE", "nokey", "dst", "LEFT", "LEFT", "0.05"]);
        vec![a, b, c2, d, e]
    });
}

#[test]
fn push_wakes_blocked_clients_in_arrival_order() {
    both_servers(|s| {
        let mut waiters: Vec<Conn> = (0..3).map(|_| s.conn()).collect();
        for (i, w) in waiters.iter_mut().enumerate() {
            w.send(&[b"BLPOP", b"q", b"other", b"0"]);
            let _ = i;
            settle();
        }
        let mut p = s.conn();
        let info = p.cmd(&["INFO", "clients"]).text();
        assert!(info.contains("blocked_clients:3"), "{info}");
        let pushed = p.cmd(&["RPUSH", "q", "one", "two"]);
        let first = waiters[0].read();
        let second = waiters[1].read();
        let pushed2 = p.cmd(&["LPUSH", "other", "three"]);
        let third = waiters[2].read();
        let left = p.cmd(&["LLEN", "q"]);
        vec![pushed, first, second, pushed2, third, left]
    });
}

#[test]
fn blmove_and_brpoplpush_served_by_push() {
    both_servers(|s| {
        let mut w = s.conn();
        let mut p = s.conn();
        w.send(&[b"BLMOVE", b"src", b"dst", b"RIGHT", b"LEFT", b"0"]);
        settle();
        let a = p.cmd(&["RPUSH", "src", "x", "y"]);
        let got = w.read();
        let dst = p.cmd(&["LRANGE", "dst", "0", "-1"]);
        let src = p.cmd(&["LRANGE", "src", "0", "-1"]);
        w.send(&[b"BRPOPLPUSH", b"empty", b"dst", b"0"]);
        settle();
        let b = p.cmd(&["LPUSH", "empty", "z"]);
        let got2 = w.read();
        let dst2 = p.cmd(&["LRANGE", "dst", "0", "-1"]);
        let exists = p.cmd(&["EXISTS", "empty"]);
        vec![a, got, dst, src, b, got2, dst2, exists]
    });
}

#[test]
fn blocked_blmove_with_wrong_type_target() {
    both_servers(|s| {
        let mut w = s.conn();
        let mut p = s.conn();
        p.cmd(&["SET", "dst", "string"]);
        w.send(&[b"BLMOVE", b"src", b"dst", b"LEFT", b"LEFT", b"0"]);
        settle();
        let a = p.cmd(&["RPUSH", "src", "x"]);
        let got = w.read();
        let src = p.cmd(&["LRANGE", "src", "0", "-1"]);
        vec![a, got, src]
    });
}

#[test]
fn commands_pipelined_behind_a_blocked_one_wait() {
    both_servers(|s| {
        let mut w = s.conn();
        let mut p = s.conn();
        let mut pipe = Conn::encode(&[b"BLPOP", b"k", b"0"]);
        pipe.extend(Conn::encode(&[b"PING"]));
        pipe.extend(Conn::encode(&[b"LLEN", b"k"]));
        w.send_raw(&pipe);
        settle();
        let a = p.cmd(&["RPUSH", "k", "v1", "v2"]);
        vec![a, w.read(), w.read(), w.read()]
    });
}

#[test]
fn keys_created_by_rename_move_and_blmpop() {
    both_servers(|s| {
        let mut w = s.conn();
        let mut p = s.conn();
        w.send(&[b"BLMPOP", b"0", b"2", b"a", b"b", b"RIGHT", b"COUNT", b"2"]);
        settle();
        p.cmd(&["RPUSH", "tmp", "1", "2", "3"]);
        let r = p.cmd(&["RENAME", "tmp", "b"]);
        let got = w.read();
        w.send(&[b"BLPOP", b"m", b"0"]);
        settle();
        p.cmd(&["SELECT", "1"]);
        p.cmd(&["RPUSH", "m", "moved"]);
        let mv = p.cmd(&["MOVE", "m", "0"]);
        let got2 = w.read();
        vec![r, got, mv, got2]
    });
}

#[test]
fn timeouts_and_disconnects_leave_no_waiter_behind() {
    both_servers(|s| {
        {
            let mut gone = s.conn();
            gone.send(&[b"BLPOP", b"k", b"0"]);
            settle();
        }
        settle();
        let mut w = s.conn();
        let t = w.cmd(&["BLPOP", "k", "0.05"]);
        let mut p = s.conn();
        let pushed = p.cmd(&["RPUSH", "k", "kept"]);
        let len = p.cmd(&["LLEN", "k"]);
        let info = p.cmd(&["INFO", "clients"]).text();
        assert!(info.contains("blocked_clients:0"), "{info}");
        vec![t, pushed, len]
    });
}

#[test]
fn client_unblock() {
    both_servers(|s| {
        let mut w = s.conn();
        let mut p = s.conn();
        let id = w.cmd(&["CLIENT", "ID"]).as_int().to_string();
        let none = p.cmd(&["CLIENT", "UNBLOCK", &id]);
        w.send(&[b"BLPOP", b"k", b"0"]);
        settle();
        let a = p.cmd(&["CLIENT", "UNBLOCK", &id, "TIMEOUT"]);
        let ra = w.read();
        w.send(&[b"BRPOPLPUSH", b"k", b"d", b"0"]);
        settle();
        let b = p.cmd(&["CLIENT", "UNBLOCK", &id, "ERROR"]);
        let rb = w.read();
        let bad = p.cmd(&["CLIENT", "UNBLOCK", &id, "FOO"]);
        let notint = p.cmd(&["CLIENT", "UNBLOCK", "x"]);
        let missing = p.cmd(&["CLIENT", "UNBLOCK", "999999"]);
        let after = w.cmd(&["PING"]);
        vec![none, a, ra, b, rb, bad, notint, missing, after]
    });
}

#[test]
fn sorted_set_blocking_pops() {
    let mut d = Diff::new();
    d.check_script(
        "ZADD z 1 a 2 b 3 c\nBZPOPMIN z 0\nBZPOPMAX z 0\nBZPOPMIN nokey z 0\nBZPOPMIN z -1\nSET s x\nBZPOPMIN s 0\n\
         ZADD z 5 e 6 f 7 g\nBZMPOP 0 2 nokey z MIN COUNT 2\nBZMPOP 0 1 z MAX\nBZMPOP 0 0 z MIN\nBZMPOP 0 1 z UP\n\
         BZMPOP x 1 z MIN\nBZMPOP 0 1 s MIN\nBZPOPMIN z 0.01\nBZMPOP 0.01 1 z MIN",
    );
    both_servers(|s| {
        let mut w = s.conn();
        let mut p = s.conn();
        w.send(&[b"BZPOPMAX", b"zz", b"0"]);
        settle();
        let a = p.cmd(&["ZADD", "zz", "1", "x", "2", "y"]);
        let got = w.read();
        w.send(&[b"BZMPOP", b"0", b"1", b"zz2", b"MIN", b"COUNT", b"5"]);
        settle();
        let b = p.cmd(&["ZADD", "zz2", "3", "m", "1", "n"]);
        let got2 = w.read();
        w.cmd(&["HELLO", "3"]);
        let t = w.cmd(&["BZPOPMIN", "none", "0.05"]);
        vec![a, got, b, got2, t]
    });
}
