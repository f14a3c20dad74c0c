//! Streams: every command, option and error of XADD, XLEN, XRANGE,
//! XREVRANGE, XDEL, XTRIM, XSETID, XINFO, XGROUP, XREAD, XREADGROUP, XACK,
//! XPENDING, XCLAIM and XAUTOCLAIM compared with real Redis (RESP2 and
//! RESP3), consumer-group flows with times normalised, a seeded random
//! differential run, blocking reads, and RDB / DUMP-RESTORE in both directions.

mod common;
use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::Duration;

/// Replaces every integer that looks like a time (ms since the epoch or an
/// idle time) so replies that differ only by the clock compare equal.
fn times(r: Resp) -> Resp {
    match r {
        Resp::Int(n) if n > 1_000_000_000_000 => Resp::Int(-7),
        Resp::Array(Some(v)) => Resp::Array(Some(norm_list(v))),
        Resp::Map(m) => Resp::Map(norm_map(m)),
        other => other,
    }
}

fn norm_list(v: Vec<Resp>) -> Vec<Resp> {
    let mut out = Vec::with_capacity(v.len());
    let mut idle_next = false;
    for x in v {
        let y = if idle_next {
            match x {
                Resp::Int(_) => Resp::Int(-8),
                o => times(o),
            }
        } else {
            times(x)
        };
        idle_next = matches!(&y, Resp::Bulk(Some(b)) if b == b"idle");
        out.push(y);
    }
    out
}

fn norm_map(m: Vec<(Resp, Resp)>) -> Vec<(Resp, Resp)> {
    m.into_iter()
        .map(|(k, v)| {
            let idle = matches!(&k, Resp::Bulk(Some(b)) if b == b"idle");
            let v = if idle { Resp::Int(-8) } else { times(v) };
            (k, v)
        })
        .collect()
}

/// XPENDING extended rows: the idle time (third field) is normalised.
fn pending_idle(r: Resp) -> Resp {
    match r {
        Resp::Array(Some(rows)) => Resp::Array(Some(
            rows.into_iter()
                .map(|row| match row {
                    Resp::Array(Some(mut f)) if f.len() == 4 => {
                        f[2] = Resp::Int(0);
                        Resp::Array(Some(f))
                    }
                    o => o,
                })
                .collect(),
        )),
        o => o,
    }
}

#[test]
fn xadd_ids_and_errors() {
    let mut d = Diff::new();
    d.check_script(
        "XADD s 1-1 a 1\nXADD s 1-1 a 1\nXADD s 1-0 a 1\nXADD s 0-1 a 1\nXADD s 1-2 a 1 b 2\nXADD s 1-* c 3\n\
         XADD s 2-* c 3\nXADD s 2-* c 4\nXADD s 5 x y\nXADD s 0-0 a b\nXADD s2 0-0 a b\nEXISTS s2\nXADD s2 0-* a b\n\
         XADD s a\nXADD s 9-9 a\nXADD s 9-9 a b c\nXADD s\nXADD s 9-9\nXADD s foo a b\nXADD s 1-x a b\nXADD s - a b\n\
         XADD s + a b\nXADD s 10-1-1 a b\nXADD s -1 a b\nXADD s \" 11\" a b\nXADD s +12 a b\nXADD s 13- a b\n\
         XADD s -0 a b\nXADD s 18446744073709551616 a b\nXADD s 18446744073709551615-18446744073709551614 a b\n\
         XADD s 18446744073709551615-* a b\nXADD s 18446744073709551615-* a b\nXADD s * a b\n\
         XLEN s\nXRANGE s - +\nSET str x\nXADD str 1-1 a b\nXLEN str\nXLEN nokey\n\
         XADD n NOMKSTREAM 1-1 a b\nEXISTS n\nXADD n NOMKSTREAM * a b\nXADD n nomkstream MAXLEN 5 1-1 a b\n\
         XADD s2 1-1 f v\nXADD s2 NOMKSTREAM 2-1 f v\nXRANGE s2 - +\nTYPE s2\nOBJECT ENCODING s2\n\
         XADD s3 1-1 \"\" \"\"\nXADD s3 2-2 123 -5 1.5 \"with space\"\nXRANGE s3 - +",
    );
}

#[test]
fn auto_ids_follow_the_top_item() {
    let mut d = Diff::new();
    d.check_script(
        "XADD s 1-1 a b\nXSETID s 99999999999999-5\nXADD s * a b\nXADD s * a b\nXADD s 99999999999999-* a b\n\
         XSETID s 99999999999999-18446744073709551615\nXADD s * a b\nXADD s 100000000000000-* a b\n\
         XSETID s 100000000000001-18446744073709551615\nXADD s 100000000000001-* a b\nXADD s 100000000000002-* a b\n\
         XSETID s 18446744073709551615-18446744073709551614\nXADD s * a b\nXADD s * a b\nXADD s 1-1 a b\n\
         XINFO STREAM s\nXLEN s",
    );
    // The clock: an auto ID is at least the server's time.
    let (f, r) = d.both(&["XADD", "t", "*", "a", "b"]);
    let ms = |x: &Resp| x.text().split('-').next().unwrap_or("").parse::<u64>().unwrap_or(0);
    assert!(ms(&f).abs_diff(ms(&r)) < 5000, "{f:?} {r:?}");
    assert!(f.text().ends_with("-0"));
}

#[test]
fn xadd_trim_options() {
    let mut d = Diff::new();
    for i in 1..=30 {
        d.check(&["XADD", "s", &format!("{i}-1"), "f", &i.to_string()]);
    }
    d.check_script(
        "XADD s MAXLEN 25 31-1 f v\nXLEN s\nXADD s MAXLEN = 20 32-1 f v\nXLEN s\nXADD s MAXLEN ~ 10 33-1 f v\nXLEN s\n\
         XADD s MINID 5 34-1 f v\nXADD s MINID 20 35-1 f v\nXRANGE s - + COUNT 2\nXADD s MINID = 22-1 36-1 f v\n\
         XADD s MINID ~ 30 37-1 f v\nXLEN s\nXADD s MAXLEN 5 LIMIT 10 38-1 f v\nXADD s MAXLEN ~ 5 LIMIT 10 39-1 f v\n\
         XLEN s\nXADD s MAXLEN -1 40-1 f v\nXADD s MAXLEN x 40-1 f v\nXADD s MAXLEN 1 MINID 1 40-1 f v\n\
         XADD s MINID 1 MAXLEN 1 40-1 f v\nXADD s LIMIT 5 40-1 f v\nXADD s LIMIT 0 40-1 f v\nXADD s LIMIT -1 40-1 f v\n\
         XADD s LIMIT x 40-1 f v\nXADD s MAXLEN ~ 5 LIMIT 0 40-1 f v\nXLEN s\nXADD s MINID x 41-1 f v\n\
         XADD s MINID - 41-1 f v\nXADD s MAXLEN\nXADD s MAXLEN 5\nXADD s MAXLEN 5 41-1\nXADD s MAXLEN ~ 0 41-1 f v\n\
         XLEN s\nXADD s MAXLEN 0 42-1 f v\nXLEN s\nXRANGE s - +\nXADD s MAXLEN = 0 43-1 f v\nXINFO STREAM s",
    );
}

#[test]
fn xrange_and_xrevrange() {
    let mut d = Diff::new();
    d.check_script(
        "XADD s 1-1 a 1\nXADD s 1-2 b 2\nXADD s 2-1 a 1 b 2\nXADD s 3-0 c 3\nXADD s 18446744073709551615-0 z 9\n\
         XRANGE s - +\nXRANGE s 1 1\nXRANGE s 1-2 +\nXRANGE s (1-1 +\nXRANGE s - (3-0\nXRANGE s (1-2 (3\nXRANGE s 2 1\n\
         XRANGE s - + COUNT 2\nXRANGE s - + COUNT 0\nXRANGE s - + COUNT -1\nXRANGE s - + count 1 COUNT 3\n\
         XRANGE s - + COUNT\nXRANGE s - + COUNT x\nXRANGE s - + FOO 1\nXRANGE s x +\nXRANGE s - x\nXRANGE s ( +\n\
         XRANGE s (- +\nXRANGE s - (+\nXRANGE s (18446744073709551615-18446744073709551615 +\nXRANGE s - (0-0\n\
         XRANGE s - (0\nXRANGE s (0 +\nXRANGE nokey - +\nXRANGE nokey - + COUNT 0\nXRANGE nokey x +\n\
         XREVRANGE s + -\nXREVRANGE s + - COUNT 2\nXREVRANGE s (3 (1-1\nXREVRANGE s 1 2\nXREVRANGE s + - COUNT 0\n\
         XREVRANGE nokey + -\nSET str v\nXRANGE str - +\nXREVRANGE str + -\nXRANGE s 18446744073709551615 +\n\
         XRANGE s 1-18446744073709551615 (2-1",
    );
}

#[test]
fn xdel_xtrim_xlen() {
    let mut d = Diff::new();
    for i in 1..=12 {
        d.check(&["XADD", "s", &format!("{i}-0"), "f", &i.to_string()]);
    }
    d.check_script(
        "XDEL s 1-0\nXDEL s 1-0 2-0 2-0 99-0\nXLEN s\nXDEL s x\nXDEL s 3-0 x\nXLEN s\nXDEL nokey x\nXDEL nokey 1-1\n\
         XDEL s 12-0\nXINFO STREAM s\nXTRIM s MAXLEN 8\nXLEN s\nXTRIM s MAXLEN 100\nXTRIM s MINID 6\nXRANGE s - +\n\
         XTRIM s MINID ~ 9\nXTRIM s MAXLEN ~ 1\nXTRIM s MAXLEN ~ 1 LIMIT 1\nXTRIM s\nXTRIM s FOO\nXTRIM s MAXLEN\n\
         XTRIM s MAXLEN -1\nXTRIM s MAXLEN 1 LIMIT 1\nXTRIM s LIMIT 1\nXTRIM s MAXLEN 1 MINID 1\nXTRIM s MAXLEN 1 x\n\
         XTRIM nokey MAXLEN 0\nXTRIM nokey MAXLEN x\nSET str v\nXTRIM str MAXLEN 0\nXDEL str 1-1\n\
         XTRIM s MAXLEN = 2\nXRANGE s - +\nXTRIM s MINID = 100\nXLEN s\nEXISTS s\nXINFO STREAM s",
    );
}

#[test]
fn xsetid_cases() {
    let mut d = Diff::new();
    d.check_script(
        "XSETID nokey 1-1\nXADD s 5-5 a b\nXSETID s 5-4\nXSETID s 5-5\nXSETID s 10-0\nXINFO STREAM s\nXADD s 9-9 a b\n\
         XSETID s x\nXSETID s -\nXSETID s 20-0 ENTRIESADDED 0\nXSETID s 20-0 ENTRIESADDED -1\n\
         XSETID s 20-0 ENTRIESADDED x\nXSETID s 20-0 MAXDELETEDID 30-0\nXSETID s 20-0 MAXDELETEDID 10-0\nXINFO STREAM s\n\
         XSETID s 15-0\nXSETID s 25-0 ENTRIESADDED 100 MAXDELETEDID 0-0\nXINFO STREAM s\nXSETID s 25-0 FOO\n\
         XSETID s 25-0 ENTRIESADDED\nSET str v\nXSETID str 1-1\nXADD e 1-1 a b\nXDEL e 1-1\nXSETID e 0-5\nXINFO STREAM e\n\
         XSETID e 0-0 MAXDELETEDID 0-0",
    );
}

#[test]
fn xinfo_and_help() {
    let mut d = Diff::new();
    d.check_script(
        "XINFO HELP\nXINFO help\nXINFO HELP x\nXINFO\nXINFO FOO\nXINFO STREAM\nXINFO STREAM nokey\nXINFO GROUPS nokey\n\
         XINFO CONSUMERS nokey g\nSET str v\nXINFO STREAM str\nXINFO GROUPS str\nXADD s 1-1 a 1\nXINFO STREAM s\n\
         XINFO STREAM s FULL\nXINFO STREAM s full COUNT 0\nXINFO STREAM s FULL COUNT x\nXINFO STREAM s FULL COUNT\n\
         XINFO STREAM s FOO\nXINFO STREAM s FULL x y\nXINFO STREAM s FULL COUNT 1 x\nXINFO STREAM nokey FOO\n\
         XINFO GROUPS s\nXINFO CONSUMERS s g\nXINFO CONSUMERS s\nXGROUP HELP\nXGROUP help x\nXGROUP\nXGROUP FOO\n",
    );
    for i in 2..=25 {
        d.check(&["XADD", "s", &format!("{i}-1"), "a", &i.to_string()]);
    }
    d.check_script(
        "XINFO STREAM s FULL\nXINFO STREAM s FULL COUNT 3\nXINFO STREAM s FULL COUNT -1\nXINFO STREAM s FULL COUNT 0",
    );
    d.check(&["HELLO", "3"]);
    d.check_script("XINFO STREAM s\nXINFO STREAM s FULL COUNT 2\nXINFO GROUPS s\nXINFO HELP");
}

#[test]
fn node_layout_matches_redis() {
    // radix-tree-keys / nodes follow Redis's node splitting for both limits.
    let mut d = Diff::with(&["--stream-node-max-entries", "7", "--stream-node-max-bytes", "200"]);
    for i in 1..=60u64 {
        let v = "x".repeat((i % 9) as usize * 5);
        let id = format!("{}-{}", i * 1000 + i * i * 7919 % 300, i % 3);
        d.check(&["XADD", "s", &id, "field", &v, "n", &i.to_string()]);
        if i % 5 == 0 {
            d.check(&["XADD", "s", &format!("{}-9", i * 1000 + 999), "other", "1"]);
        }
    }
    d.check(&["XINFO", "STREAM", "s"]);
    d.check(&["DUMP", "s"]);
    d.check_script(
        "XDEL s 2000-2 3000-0\nXINFO STREAM s\nXTRIM s MAXLEN 40\nXINFO STREAM s\nDUMP s\nXTRIM s MINID ~ 30000\n\
         XINFO STREAM s\nCONFIG SET stream-node-max-entries 0\nCONFIG SET stream-node-max-bytes 0",
    );
    for i in 100..=130u64 {
        d.check(&["XADD", "s", &format!("{i}000-1"), "field", "v"]);
    }
    d.check_script("XINFO STREAM s\nDUMP s\nCONFIG SET stream-node-max-bytes 100\nXADD s 200000-1 a b\nXINFO STREAM s");
    // Field names shared with the master entry and integer-looking values.
    d.check_script(
        "XADD t 1-1 a 1 b 2\nXADD t 1-2 a 3 b 4\nXADD t 1-3 b 3 a 4\nXADD t 1-4 a 1\nXADD t 1-5 12 -7 a 99999999999\n\
         DUMP t\nXDEL t 1-2\nDUMP t\nXTRIM t MAXLEN 2\nDUMP t\nXRANGE t - +",
    );
}

#[test]
fn xgroup_subcommands() {
    let mut d = Diff::new();
    d.check_script(
        "XGROUP CREATE nokey g $\nXGROUP CREATE nokey g $ MKSTREAM\nTYPE nokey\nXLEN nokey\nXINFO GROUPS nokey\n\
         XGROUP CREATE nokey g $ MKSTREAM\nXGROUP CREATE nokey g2 0 mkstream\nXGROUP CREATE nokey g3 x\n\
         XGROUP CREATE nokey g3 -\nXGROUP CREATE nokey g3 + \nXGROUP CREATE nokey g3 5 FOO\nXGROUP CREATE nokey g3 5 ENTRIESREAD\n\
         XGROUP CREATE nokey g3 5 ENTRIESREAD x\nXGROUP CREATE nokey g3 5 ENTRIESREAD -2\nXGROUP CREATE nokey g3 5 ENTRIESREAD -1\n\
         XGROUP CREATE nokey g4 5 ENTRIESREAD 3 MKSTREAM\nXGROUP CREATE nokey g5 5 MKSTREAM MKSTREAM MKSTREAM MKSTREAM\n\
         XGROUP CREATE k2 g x MKSTREAM\nEXISTS k2\nXINFO GROUPS nokey\n\
         SET str v\nXGROUP CREATE str g $\nXGROUP CREATE str g $ MKSTREAM\nXGROUP DESTROY str g\n\
         XGROUP SETID nokey g 0\nXGROUP SETID nokey nog 0\nXGROUP SETID missing g 0\nXGROUP SETID nokey g -\n\
         XGROUP SETID nokey g + \nXGROUP SETID nokey g x\nXGROUP SETID nokey g 7 ENTRIESREAD 2\nXGROUP SETID nokey g 7 MKSTREAM\n\
         XGROUP SETID nokey g 7 ENTRIESREAD\nXGROUP SETID nokey g 7 ENTRIESREAD 1 x\nXGROUP SETID nokey g $\nXINFO GROUPS nokey\n\
         XGROUP CREATECONSUMER nokey g c1\nXGROUP CREATECONSUMER nokey g c1\nXGROUP CREATECONSUMER nokey nog c1\n\
         XGROUP CREATECONSUMER missing g c1\nXGROUP CREATECONSUMER nokey g\nXGROUP CREATECONSUMER nokey g c x\n\
         XGROUP DELCONSUMER nokey g c1\nXGROUP DELCONSUMER nokey g c1\nXGROUP DELCONSUMER nokey nog c1\n\
         XGROUP DELCONSUMER missing g c1\nXGROUP DESTROY nokey g\nXGROUP DESTROY nokey g\nXGROUP DESTROY missing g\n\
         XGROUP DESTROY nokey\nXGROUP DESTROY nokey g x\nXINFO GROUPS nokey\nXGROUP FOO nokey g\nXGROUP FOO nokey g x y\n\
         XGROUP CREATE nokey\nXGROUP HELP",
    );
}

#[test]
fn group_reads_acks_and_pending() {
    let mut d = Diff::new();
    let t = times;
    d.check_script(
        "XADD s 1-1 a 1\nXADD s 2-1 b 2\nXADD s 3-1 c 3\nXADD s 4-1 d 4\nXGROUP CREATE s g 0\nXGROUP CREATE s g2 $\n\
         XREADGROUP GROUP g c1 COUNT 2 STREAMS s >\nXREADGROUP GROUP g c2 STREAMS s >\nXREADGROUP GROUP g c2 STREAMS s >\n\
         XREADGROUP GROUP g2 c1 STREAMS s >\nXPENDING s g\nXPENDING s g2\nXPENDING s nog\nXPENDING nokey g\n\
         XREADGROUP GROUP g c1 STREAMS s 0\nXREADGROUP GROUP g c1 COUNT 1 STREAMS s 0\nXREADGROUP GROUP g c1 STREAMS s 1-1\n\
         XREADGROUP GROUP g c3 STREAMS s 0\nXREADGROUP GROUP g c1 STREAMS s 18446744073709551615-18446744073709551615\n\
         XACK s g 1-1\nXACK s g 1-1 2-1 9-9\nXACK s g x\nXACK s g 3-1 x\nXACK s nog 3-1\nXACK nokey g 3-1\nXACK s g -\n\
         XPENDING s g\nXADD s 5-1 e 5\nXREADGROUP GROUP g c1 NOACK STREAMS s >\nXPENDING s g\nXINFO GROUPS s\n\
         XDEL s 3-1\nXREADGROUP GROUP g c2 STREAMS s 0\nXINFO GROUPS s\nXGROUP SETID s g 0\n\
         XREADGROUP GROUP g c1 COUNT 10 STREAMS s >\nXPENDING s g\nXINFO GROUPS s\nXGROUP SETID s g 0 ENTRIESREAD 0\n\
         XINFO GROUPS s\nXREADGROUP GROUP g c1 STREAMS s >\nXINFO GROUPS s\n\
         XREADGROUP GROUP g c1 STREAMS s nokey > >\nXREADGROUP GROUP nog c1 STREAMS s >\nXREADGROUP GROUP g c1 STREAMS s $\n\
         XREADGROUP GROUP g c1 STREAMS s x\nXREADGROUP GROUP g c1 STREAMS s\nXREADGROUP GROUP g c1 STREAMS s > 0\n\
         XREADGROUP GROUP g STREAMS s >\nXREADGROUP c1 STREAMS s >\nXREADGROUP STREAMS s >\nXREADGROUP GROUP g c1 FOO STREAMS s >\n\
         XREADGROUP GROUP g c1 COUNT x STREAMS s >\nXREADGROUP GROUP g c1 COUNT -1 STREAMS s 0\nXREADGROUP GROUP g c1 BLOCK x STREAMS s >\n\
         XREADGROUP GROUP g c1 BLOCK -1 STREAMS s >\nXREADGROUP GROUP g c1 NOACK\nSET str v\nXREADGROUP GROUP g c1 STREAMS str >\n\
         XREADGROUP GROUP g c1 STREAMS s str > >\nXREAD GROUP g c1 STREAMS s >\nXREAD NOACK STREAMS s 0\nXREAD STREAMS s >",
    );
    d.check_with(&[b"XINFO", b"CONSUMERS", b"s", b"g"], t);
    d.check_with(&[b"XINFO", b"STREAM", b"s", b"FULL"], t);
    d.check_with(&[b"XPENDING", b"s", b"g", b"-", b"+", b"10"], pending_idle);
    d.check_script_with(
        "XPENDING s g - + 0\nXPENDING s g - + -5\nXPENDING s g - + x\nXPENDING s g x + 1\nXPENDING s g - x 1\n\
         XPENDING s g (5-1 + 1\nXPENDING s g - (1 1\nXPENDING s g + - 10\nXPENDING s g - + 10 nobody\nXPENDING s g - +\n\
         XPENDING s g - + 10 c1 x\nXPENDING s g IDLE 10 - + \nXPENDING s g IDLE x - + 10\nXPENDING s g IDLE 999999999 - + 10\n\
         XPENDING s g IDLE 999999999 - + 10 c1\nXPENDING s g a b c d e f g\nXPENDING str g\n\
         XPENDING s g (18446744073709551615-18446744073709551615 + 1\nXPENDING s g - (0-0 1",
        pending_idle,
    );
    d.check_with(&[b"XPENDING", b"s", b"g", b"IDLE", b"0", b"-", b"+", b"10", b"c1"], pending_idle);
    d.check_with(&[b"XPENDING", b"s", b"g", b"2", b"+", b"1", b"c2"], pending_idle);
    d.check_with(&[b"XPENDING", b"s", b"g", b"-", b"+", b"10", b"c1", b"x", b"y"], pending_idle);
    d.check(&["HELLO", "3"]);
    d.check_script(
        "XPENDING s g\nXPENDING s g2\nXREADGROUP GROUP g c1 STREAMS s 0\nXADD s 6-1 f 6\nXREADGROUP GROUP g c1 STREAMS s >\n\
         XREADGROUP GROUP g c1 STREAMS s >\nXREAD STREAMS s 0\nXREAD COUNT 1 STREAMS s nokey 0 0",
    );
    d.check_with(&[b"XINFO", b"CONSUMERS", b"s", b"g"], t);
    d.check_with(&[b"XINFO", b"STREAM", b"s", b"FULL"], t);
}

#[test]
fn claims() {
    let mut d = Diff::new();
    let t = times;
    d.check_script(
        "XADD s 1-1 a 1\nXADD s 2-1 b 2\nXADD s 3-1 c 3\nXADD s 4-1 d 4\nXADD s 5-1 e 5\nXGROUP CREATE s g 0\n\
         XREADGROUP GROUP g c1 STREAMS s >\nXCLAIM s g c2 0 1-1 TIME 1000\nXCLAIM s g c2 0 2-1 JUSTID\n\
         XCLAIM s g c2 999999999 3-1\nXCLAIM s g c3 0 3-1 RETRYCOUNT 7 IDLE 5000\nXCLAIM s g c3 0 9-9 FORCE\n\
         XCLAIM s g c3 0 1-1 2-1 JUSTID RETRYCOUNT 0\nXDEL s 4-1\nXCLAIM s g c3 0 4-1\nXPENDING s g\n\
         XCLAIM s g c4 0 5-1 LASTID 7-0\nXINFO GROUPS s\nXCLAIM s g c4 0 5-1 LASTID 1-0\nXINFO GROUPS s\n\
         XCLAIM s g c4 0 x\nXCLAIM s g c4 x 1-1\nXCLAIM s g c4 -5 1-1 JUSTID\nXCLAIM s g c4 0 1-1 FOO\n\
         XCLAIM s g c4 0 1-1 IDLE\nXCLAIM s g c4 0 1-1 IDLE x\nXCLAIM s g c4 0 1-1 TIME x\nXCLAIM s g c4 0 1-1 RETRYCOUNT x\n\
         XCLAIM s g c4 0 1-1 LASTID x\nXCLAIM s nog c4 0 1-1\nXCLAIM nokey g c4 0 1-1\nSET str v\nXCLAIM str g c 0 1-1\n\
         XCLAIM s g c4 0 1-1 x 2-1\nXCLAIM s g c5 0 2-1 FORCE JUSTID\nXADD s 6-1 f 6\nXCLAIM s g c5 0 6-1 FORCE\n\
         XCLAIM s g c5 0 6-1 FORCE JUSTID\nXCLAIM s g c6 0 6-1 TIME 99999999999999\nXCLAIM s g c6 0 6-1 IDLE -5\nXPENDING s g",
    );
    d.check_with(&[b"XINFO", b"STREAM", b"s", b"FULL"], t);
    d.check_with(&[b"XPENDING", b"s", b"g", b"-", b"+", b"10"], pending_idle);
    d.check_with(&[b"XINFO", b"CONSUMERS", b"s", b"g"], t);
    d.check_script_with(
        "XCLAIM s g c7 0 1-1 TIME 5\nXPENDING s g IDLE 100000 - + 10\nXGROUP CREATE s h 0\n\
         XREADGROUP GROUP h a COUNT 3 STREAMS s >\nXDEL s 2-1\nXAUTOCLAIM s h b 0 0\nXAUTOCLAIM s h b 0 0 JUSTID\n\
         XREADGROUP GROUP h a STREAMS s >\nXAUTOCLAIM s h c 0 0 COUNT 1\nXAUTOCLAIM s h c 0 (3-1 COUNT 1 JUSTID\n\
         XAUTOCLAIM s h c 999999999 0\nXAUTOCLAIM s h c 0 x\nXAUTOCLAIM s h c x 0\nXAUTOCLAIM s h c 0 0 COUNT 0\n\
         XAUTOCLAIM s h c 0 0 COUNT -1\nXAUTOCLAIM s h c 0 0 COUNT x\nXAUTOCLAIM s h c 0 0 COUNT\nXAUTOCLAIM s h c 0 0 FOO\n\
         XAUTOCLAIM s h c 0 0 COUNT 9223372036854775807\nXAUTOCLAIM s h c 0 0 COUNT 576460752303423487\n\
         XAUTOCLAIM s nog c 0 0\nXAUTOCLAIM nokey h c 0 0\nXAUTOCLAIM str h c 0 0\nXAUTOCLAIM nokey h c x 0\n\
         XAUTOCLAIM s h c 0 (18446744073709551615-18446744073709551615\nXAUTOCLAIM s h c 0 -\nXAUTOCLAIM s h c 0 +\nXPENDING s h",
        pending_idle,
    );
    d.check(&["HELLO", "3"]);
    d.check_script("XAUTOCLAIM s h d 0 0 COUNT 2\nXCLAIM s h d 0 1-1 3-1\nXCLAIM s h d 0 1-1 JUSTID");
    d.check_with(&[b"XINFO", b"STREAM", b"s", b"FULL"], t);
    // Many deleted entries: COUNT bounds the scan and the deleted list.
    for i in 10..40 {
        d.check(&["XADD", "s", &format!("{i}-1"), "k", "v"]);
    }
    d.check_script(
        "XGROUP CREATE s z 9-0\nXREADGROUP GROUP z a STREAMS s >\nXTRIM s MINID 30\nXAUTOCLAIM s z b 0 0 COUNT 4\n\
         XAUTOCLAIM s z b 0 0 COUNT 4 JUSTID\nXAUTOCLAIM s z b 0 0 COUNT 100 JUSTID\nXPENDING s z",
    );
}

#[test]
fn xread_non_blocking() {
    let mut d = Diff::new();
    d.check_script(
        "XADD a 1-1 f 1\nXADD a 2-1 f 2\nXADD b 1-5 g 1\nXREAD STREAMS a 0\nXREAD STREAMS a b 0 0\nXREAD COUNT 1 STREAMS a b 0 1-4\n\
         XREAD STREAMS a b 2-1 1-5\nXREAD STREAMS a $\nXREAD STREAMS nokey 0\nXREAD STREAMS nokey a $ 1\nXREAD STREAMS a +\n\
         XREAD STREAMS a -\nXREAD STREAMS a x\nXREAD STREAMS a >\nXREAD STREAMS a\nXREAD STREAMS\nXREAD COUNT 1\nXREAD FOO STREAMS a 0\n\
         XREAD COUNT x STREAMS a 0\nXREAD COUNT 0 STREAMS a 0\nXREAD COUNT -3 STREAMS a 0\nXREAD BLOCK x STREAMS a 0\n\
         XREAD BLOCK -1 STREAMS a 0\nXREAD BLOCK 10 STREAMS a 0\nXREAD BLOCK 0 STREAMS a 1\nXREAD count 1 block 1 streams a 0\n\
         XREAD STREAMS a 18446744073709551615-18446744073709551615\nXREAD BLOCK 99999999999999999999 STREAMS a 0\n\
         XREAD BLOCK 9223372036854775807 STREAMS a 0\nSET str v\nXREAD STREAMS str 0\nXREAD STREAMS a str 0 0\n\
         XREAD STREAMS a a 0 1-1\nXDEL a 2-1\nXREAD STREAMS a 1-1\nXREAD BLOCK 20 STREAMS a 1-1\nMULTI\n\
         XREAD BLOCK 0 STREAMS a 1-1\nXREAD BLOCK 0 STREAMS a 0\nXREADGROUP GROUP g c BLOCK 0 STREAMS a >\nEXEC\n\
         XGROUP CREATE a g $\nMULTI\nXREADGROUP GROUP g c BLOCK 0 STREAMS a >\nEXEC\n\
         EVAL \"return redis.call('XREAD','BLOCK','0','STREAMS',KEYS[1],'0')\" 1 a\n\
         EVAL \"return redis.call('xreadgroup','GROUP','g','c','BLOCK','0','STREAMS',KEYS[1],'>')\" 1 a\n\
         EVAL \"return redis.call('XREAD','STREAMS',KEYS[1],'0')\" 1 a",
    );
    d.check(&["HELLO", "3"]);
    d.check_script("XREAD STREAMS a b 0 0\nXREAD STREAMS nokey 0\nXREAD BLOCK 10 STREAMS nokey 0\nXREADGROUP GROUP g c STREAMS a 0");
}

#[test]
fn stats_notifications_and_types() {
    let mut d = Diff::with(&["--notify-keyspace-events", "KEA"]);
    let mut sub_f = d.ferrokv.conn();
    let mut sub_r = d.redis.conn();
    sub_f.cmd(&["PSUBSCRIBE", "__key*__:*"]);
    sub_r.cmd(&["PSUBSCRIBE", "__key*__:*"]);
    sub_f.cmd(&["SUBSCRIBE", "__keysync__"]);
    sub_r.cmd(&["SUBSCRIBE", "__keysync__"]);
    d.check_script(
        "CONFIG RESETSTAT\nXADD s 1-1 a 1\nXADD s 2-1 a 2\nXADD s MAXLEN 1 3-1 a 3\nXADD s MAXLEN 5 4-1 a 3\nXDEL s 9-9\nXDEL s 3-1\n\
         XTRIM s MAXLEN 0\nXTRIM s MAXLEN 0\nXADD s 5-1 a 5\nXSETID s 9-9\nXGROUP CREATE s g 0\nXGROUP CREATE s g 0\n\
         XGROUP CREATECONSUMER s g c\nXGROUP CREATECONSUMER s g c\nXREADGROUP GROUP g c2 STREAMS s >\nXGROUP SETID s g 0\n\
         XCLAIM s g c3 0 5-1\nXCLAIM s g c3 0 5-1 LASTID 50-0\nXCLAIM s g c3 0 9-9 LASTID 60-0\nXCLAIM s g c3 0 9-9 LASTID 1-0\nXAUTOCLAIM s g c4 0 0\nXACK s g 5-1\nXGROUP DELCONSUMER s g c\nXGROUP DELCONSUMER s g c\n\
         XGROUP DESTROY s g\nXGROUP DESTROY s g\nXGROUP CREATE m g $ MKSTREAM\nXLEN s\nXLEN nokey\nXRANGE s - +\nXRANGE nokey - +\n\
         XREAD STREAMS s nokey 0 0\nXINFO STREAM s\nXINFO STREAM nokey\nXACK nokey g 1-1\nXPENDING nokey g\nTYPE s\nOBJECT ENCODING s\n\
         XADD s NOMKSTREAM 6-1 a b\nXADD nk NOMKSTREAM 6-1 a b\nXREADGROUP GROUP g c STREAMS m >\nXGROUP CREATE s g 0\nXREADGROUP GROUP g c STREAMS s m > >",
    );
    d.same_info("persistence", "rdb_changes_since_last_save");
    d.same_info("stats", "keyspace_hits");
    d.same_info("stats", "keyspace_misses");
    d.check_script("SET str v\nXADD str 1-1 a b\nXREADGROUP GROUP g c STREAMS str >");
    let ef = events(&mut d.f, &mut sub_f);
    let er = events(&mut d.r, &mut sub_r);
    assert_eq!(ef, er, "keyspace events differ (left ferrokv)");
}

/// The events a subscriber received, up to a sentinel published on `c`.
fn events(c: &mut Conn, sub: &mut Conn) -> Vec<String> {
    c.cmd(&["PUBLISH", "__keysync__", "x"]);
    let mut out = Vec::new();
    loop {
        let m = sub.read().items();
        if m.len() == 3 {
            return out;
        }
        let (ch, msg) = (m[2].text(), m[3].text());
        out.push(format!("{ch} {msg}"));
    }
}

/// Sends a command without waiting, then lets the server block it.
fn send_block(c: &mut Conn, line: &str) {
    let args = split(line);
    let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
    c.send(&refs);
    settle();
}

#[test]
fn blocking_xread_woken_in_order() {
    both_servers(|s| {
        let mut p = s.conn();
        let mut out = Vec::new();
        out.push(p.cmd(&["XADD", "s", "1-1", "a", "1"]));
        let mut w: Vec<Conn> = (0..3).map(|_| s.conn()).collect();
        send_block(&mut w[0], "XREAD BLOCK 0 STREAMS s $");
        send_block(&mut w[1], "XREAD COUNT 5 BLOCK 0 STREAMS other s 0 1-1");
        send_block(&mut w[2], "XREAD BLOCK 0 STREAMS s 5-0");
        out.push(Resp::Simple(info_field(&mut p, "clients", "blocked_clients")));
        out.push(p.cmd(&["XADD", "s", "2-1", "b", "2"]));
        out.push(w[0].read());
        out.push(w[1].read());
        out.push(p.cmd(&["XADD", "s", "5-0", "c", "3"]));
        out.push(p.cmd(&["XADD", "s", "6-0", "d", "4"]));
        out.push(w[2].read());
        // Both keys of one reader; the one that gets data answers.
        send_block(&mut w[0], "XREAD BLOCK 0 STREAMS x y $ $");
        out.push(p.cmd(&["XADD", "y", "1-1", "k", "v"]));
        out.push(w[0].read());
        // RESP3 shape of a served read, and a timeout.
        w[1].cmd(&["HELLO", "3"]);
        send_block(&mut w[1], "XREAD BLOCK 0 STREAMS s $");
        out.push(p.cmd(&["XADD", "s", "7-0", "e", "5"]));
        out.push(w[1].read());
        out.push(w[1].cmd(&["XREAD", "BLOCK", "50", "STREAMS", "s", "$"]));
        out.push(w[2].cmd(&["XREAD", "BLOCK", "50", "STREAMS", "s", "$"]));
        // A deleted key keeps XREAD blocked; a later XADD serves it.
        send_block(&mut w[2], "XREAD BLOCK 0 STREAMS s $");
        out.push(p.cmd(&["DEL", "s"]));
        out.push(p.cmd(&["XADD", "s", "3-0", "low", "1"]));
        out.push(p.cmd(&["XADD", "s", "8-0", "high", "1"]));
        out.push(w[2].read());
        // Many entries at once: served with the default COUNT of a blocked read.
        send_block(&mut w[2], "XREAD BLOCK 0 STREAMS big $");
        send_block(&mut w[1], "XREAD COUNT 0 BLOCK 0 STREAMS big $");
        send_block(&mut w[0], "XREAD COUNT 1002 BLOCK 0 STREAMS big $");
        let mut m = vec!["MULTI".to_string()];
        for i in 1..=1005 {
            m.push(format!("XADD big {i}-0 f {i}"));
        }
        for c in &m {
            p.cmd(&split(c).iter().map(|x| std::str::from_utf8(x).unwrap()).collect::<Vec<_>>());
        }
        p.cmd(&["EXEC"]);
        for i in [2, 1, 0] {
            let r = w[i].read();
            let entries = if let Resp::Map(m) = &r { m[0].1.items() } else { r.items()[0].items()[1].items() };
            out.push(Resp::Int(entries.len() as i64));
        }
        out
    });
}

#[test]
fn blocking_xread_timeouts_and_unblock() {
    both_servers(|s| {
        let mut p = s.conn();
        let mut c = s.conn();
        let mut out = Vec::new();
        let start = std::time::Instant::now();
        out.push(c.cmd(&["XREAD", "BLOCK", "150", "STREAMS", "s", "$"]));
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(140) && waited < Duration::from_secs(3), "{waited:?}");
        let id = c.cmd(&["CLIENT", "ID"]).as_int().to_string();
        send_block(&mut c, "XREAD BLOCK 0 STREAMS s $");
        out.push(p.cmd(&["CLIENT", "UNBLOCK", &id]));
        out.push(c.read());
        send_block(&mut c, "XREAD BLOCK 0 STREAMS s $");
        out.push(p.cmd(&["CLIENT", "UNBLOCK", &id, "ERROR"]));
        out.push(c.read());
        p.cmd(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
        send_block(&mut c, "XREADGROUP GROUP g c BLOCK 0 STREAMS s >");
        out.push(p.cmd(&["CLIENT", "UNBLOCK", &id, "TIMEOUT"]));
        out.push(c.read());
        out.push(c.cmd(&["XREADGROUP", "GROUP", "g", "c", "BLOCK", "60", "STREAMS", "s", ">"]));
        out.push(Resp::Simple(info_field(&mut p, "clients", "blocked_clients")));
        out
    });
}

#[test]
fn blocking_xreadgroup() {
    both_servers(|s| {
        let mut p = s.conn();
        let mut out = Vec::new();
        out.push(p.cmd(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]));
        let mut w: Vec<Conn> = (0..3).map(|_| s.conn()).collect();
        send_block(&mut w[0], "XREADGROUP GROUP g alice BLOCK 0 STREAMS s >");
        send_block(&mut w[1], "XREADGROUP GROUP g bob BLOCK 0 NOACK STREAMS s >");
        out.push(p.cmd(&["XINFO", "CONSUMERS", "s", "g"]));
        out.push(p.cmd(&["XADD", "s", "1-1", "a", "1"]));
        out.push(w[0].read());
        out.push(p.cmd(&["XADD", "s", "2-1", "b", "2"]));
        out.push(w[1].read());
        out.push(p.cmd(&["XPENDING", "s", "g"]));
        out.push(p.cmd(&["XINFO", "GROUPS", "s"]));
        // The stream deleted, overwritten or flushed; the group destroyed.
        send_block(&mut w[0], "XREADGROUP GROUP g alice BLOCK 0 STREAMS s >");
        send_block(&mut w[2], "XREAD BLOCK 0 STREAMS s $");
        out.push(p.cmd(&["DEL", "s"]));
        out.push(w[0].read());
        out.push(p.cmd(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]));
        send_block(&mut w[0], "XREADGROUP GROUP g alice BLOCK 0 STREAMS s >");
        out.push(p.cmd(&["XGROUP", "DESTROY", "s", "g"]));
        out.push(w[0].read());
        out.push(p.cmd(&["XGROUP", "CREATE", "s", "g", "$"]));
        send_block(&mut w[0], "XREADGROUP GROUP g alice BLOCK 0 STREAMS s >");
        out.push(p.cmd(&["SET", "s", "x"]));
        out.push(w[0].read());
        out.push(p.cmd(&["DEL", "s"]));
        out.push(p.cmd(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]));
        send_block(&mut w[0], "XREADGROUP GROUP g alice BLOCK 0 STREAMS s >");
        out.push(p.cmd(&["FLUSHALL"]));
        out.push(w[0].read());
        out.push(p.cmd(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]));
        send_block(&mut w[0], "XREADGROUP GROUP g alice BLOCK 0 STREAMS s >");
        out.push(p.cmd(&["RENAME", "s", "s2"]));
        out.push(w[0].read());
        // The XREAD blocked since before is still waiting; an XADD serves it.
        out.push(p.cmd(&["XADD", "s", "9-9", "z", "1"]));
        out.push(w[2].read());
        out.push(Resp::Simple(info_field(&mut p, "clients", "blocked_clients")));
        out
    });
}

/// Streams of every shape (nodes, tombstones, groups, PELs, consumers,
/// an empty stream with a group, long compressible values).
fn fill_streams(c: &mut Conn) {
    for i in 1..=250u64 {
        c.cmd(&["XADD", "big", &format!("{}-{}", 1000 + i / 3, i % 3), "field", &i.to_string(), "other", "x"]);
    }
    c.cmd(&["XDEL", "big", "1001-1", "1010-0", "1083-2"]);
    c.cmd(&["XTRIM", "big", "MAXLEN", "230"]);
    c.cmd(&["XADD", "big", "5000-0", "different", "fields", "here", "too"]);
    c.cmd(&["XGROUP", "CREATE", "big", "g1", "0"]);
    c.cmd(&["XGROUP", "CREATE", "big", "g2", "1050-0", "ENTRIESREAD", "7"]);
    c.cmd(&["XREADGROUP", "GROUP", "g1", "alice", "COUNT", "10", "STREAMS", "big", ">"]);
    c.cmd(&["XREADGROUP", "GROUP", "g1", "bob", "COUNT", "5", "STREAMS", "big", ">"]);
    c.cmd(&["XREADGROUP", "GROUP", "g2", "carol", "COUNT", "3", "NOACK", "STREAMS", "big", ">"]);
    c.cmd(&["XACK", "big", "g1", "1020-0"]);
    c.cmd(&["XCLAIM", "big", "g1", "dave", "0", "1021-0", "1022-2", "TIME", "1700000000000", "RETRYCOUNT", "9"]);
    c.cmd(&["XGROUP", "CREATECONSUMER", "big", "g1", "idle"]);
    c.cmd(&["XGROUP", "CREATE", "empty", "g", "$", "MKSTREAM"]);
    c.cmd(&["XGROUP", "CREATE", "empty", "h", "0", "ENTRIESREAD", "-1"]);
    c.cmd(&["XADD", "gone", "1-1", "a", "b"]);
    c.cmd(&["XDEL", "gone", "1-1"]);
    c.cmd(&["XSETID", "gone", "5-5", "ENTRIESADDED", "10", "MAXDELETEDID", "3-3"]);
    let long = "abcdefghij".repeat(40);
    c.cmd(&["XADD", "long", "1-1", "f", &long, &long, "v"]);
    c.cmd(&["XADD", "long", "2-1", "f", "short", &long, "v"]);
    c.cmd(&["XADD", "ints", "1-1", "1", "2", "-3", "4000000000"]);
    c.cmd(&["XADD", "ints", "18446744073709551615-18446744073709551615", "1", "2", "-3", "9"]);
    c.cmd(&["PEXPIRE", "ints", "100000000"]);
}

/// Asserts two descriptions are equal, showing the first difference only.
fn same(got: &[Resp], want: &[Resp], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(g == w, "{what}: item {i} differs\n  ferrokv: {g:?}\n  redis:   {w:?}");
    }
}

/// Everything observable about the streams (idle times left out).
fn describe(c: &mut Conn) -> Vec<Resp> {
    let mut out = Vec::new();
    for k in ["big", "empty", "gone", "long", "ints"] {
        out.push(c.cmd(&["TYPE", k]));
        out.push(c.cmd(&["XINFO", "STREAM", k, "FULL", "COUNT", "0"]));
        out.push(c.cmd(&["XINFO", "STREAM", k]));
        out.push(c.cmd(&["XINFO", "GROUPS", k]));
        out.push(c.cmd(&["XRANGE", k, "-", "+"]));
    }
    out.push(c.cmd(&["XPENDING", "big", "g1"]));
    out
}

const DBG: &[&str] = &["--enable-debug-command", "yes"];

/// Puts `file` in `to`'s directory as its dump.rdb and loads it there.
fn load_into(to: &Server, file: &std::path::Path) -> Conn {
    std::fs::copy(file, to.dir.join("dump.rdb")).expect("copy rdb");
    let mut c = to.conn();
    assert_eq!(c.cmd(&["DEBUG", "RELOAD", "NOSAVE"]), Resp::ok(), "{} loads the file", to.name);
    c
}

#[test]
fn rdb_both_ways() {
    // Redis writes, ferrokv reads.
    let r = Server::redis_with(DBG);
    let mut rc = r.conn();
    fill_streams(&mut rc);
    assert_eq!(rc.cmd(&["SAVE"]), Resp::ok());
    let want = describe(&mut rc);
    let f = Server::ferrokv_with(DBG);
    let mut fc = load_into(&f, &r.dir.join("dump.rdb"));
    same(&describe(&mut fc), &want, "ferrokv loading Redis's file");
    // What it loaded dumps as Redis dumps it, saves, and loads back in both.
    for k in ["big", "empty", "gone", "long", "ints"] {
        assert!(fc.cmd(&["DUMP", k]) == rc.cmd(&["DUMP", k]), "DUMP {k}");
    }
    assert_eq!(fc.cmd(&["DEBUG", "RELOAD"]), Resp::ok());
    same(&describe(&mut fc), &want, "after DEBUG RELOAD");
    assert_eq!(fc.cmd(&["SAVE"]), Resp::ok());
    let r2 = Server::redis_with(DBG);
    let mut r2c = load_into(&r2, &f.dir.join("dump.rdb"));
    same(&describe(&mut r2c), &want, "Redis loading ferrokv's file");
    assert!(r2c.cmd(&["PTTL", "ints"]).as_int() > 0);
    // Started with `--dir`/`--dbfilename` naming Redis's file, ferrokv loads it.
    let dir = f.dir.join("startup");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::copy(r.dir.join("dump.rdb"), dir.join("from-redis.rdb")).expect("copy");
    let port = free_port();
    let mut child = std::process::Command::new(ferrokv_bin())
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--dbfilename", "from-redis.rdb"])
        .arg("--dir")
        .arg(&dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start ferrokv");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "ferrokv did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut c = Conn::connect(port);
    let got = describe(&mut c);
    let _ = child.kill();
    let _ = child.wait();
    same(&got, &want, "ferrokv started on Redis's file");
}

#[test]
fn rdb_built_by_ferrokv_loads_in_redis() {
    let f = Server::ferrokv_with(DBG);
    let mut fc = f.conn();
    fill_streams(&mut fc);
    let r = Server::redis_with(DBG);
    let mut rc = r.conn();
    fill_streams(&mut rc);
    let want: Vec<Resp> = describe(&mut rc).into_iter().map(times).collect();
    let got: Vec<Resp> = describe(&mut fc).into_iter().map(times).collect();
    same(&got, &want, "same commands, same streams");
    let want = describe(&mut fc);
    assert_eq!(fc.cmd(&["SAVE"]), Resp::ok());
    let r2 = Server::redis_with(DBG);
    let mut r2c = load_into(&r2, &f.dir.join("dump.rdb"));
    same(&describe(&mut r2c), &want, "Redis loading ferrokv's file");
    // Redis's checker accepts the file.
    let out = std::process::Command::new("redis-check-rdb").arg(f.dir.join("dump.rdb")).output();
    if let Ok(o) = out {
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.contains("RDB looks OK"), "{text}");
    }
}

#[test]
fn dump_restore_both_ways() {
    let mut d = Diff::new();
    fill_streams(&mut d.f);
    fill_streams(&mut d.r);
    for k in ["big", "empty", "gone", "long", "ints"] {
        let pr = d.r.cmd(&["DUMP", k]);
        let pf = d.f.cmd(&["DUMP", k]);
        // Payloads with consumers hold their times, which differ.
        if k != "big" {
            assert!(pf == pr, "DUMP {k} is byte-identical");
        }
        let Resp::Bulk(Some(p)) = pr else { panic!("dump {k}") };
        let copy = format!("copy:{k}");
        assert_eq!(d.f.cmd_b(&[b"RESTORE", copy.as_bytes(), b"0", &p]), Resp::ok());
        assert_eq!(d.r.cmd_b(&[b"RESTORE", copy.as_bytes(), b"0", &p]), Resp::ok());
        d.check_with(&[b"XINFO", b"STREAM", copy.as_bytes(), b"FULL"], times);
        d.check(&["XINFO", "STREAM", &copy]);
        if k != "big" {
            d.check(&["DUMP", &copy]);
        }
        // ferrokv's payload restores in Redis and reads back the same.
        let Resp::Bulk(Some(q)) = pf else { panic!("dump {k}") };
        let copy2 = format!("copy2:{k}");
        assert_eq!(d.r.cmd_b(&[b"RESTORE", copy2.as_bytes(), b"0", &q]), Resp::ok());
        assert!(d.r.cmd(&["XINFO", "STREAM", &copy2, "FULL"]) == d.f.cmd(&["XINFO", "STREAM", k, "FULL"]));
    }
    // Bad payloads are refused as in Redis.
    let Resp::Bulk(Some(p)) = d.r.cmd(&["DUMP", "big"]) else { panic!() };
    let mut bad = p.clone();
    let n = bad.len();
    bad[n / 2] ^= 0x40;
    d.check_b(&[b"RESTORE", b"bad", b"0", &bad]);
    d.check_script("RESTORE big 0 x\nTYPE bad\nOBJECT ENCODING big");
}

/// `times` plus the idle column of XPENDING rows, at any depth.
fn clockless(r: Resp) -> Resp {
    match times(r) {
        Resp::Array(Some(v)) => {
            let mut v: Vec<Resp> = v.into_iter().map(clockless).collect();
            if v.len() == 4 && matches!(v[0], Resp::Bulk(Some(_))) && matches!(v[1], Resp::Bulk(Some(_))) {
                if let Resp::Int(_) = v[2] {
                    v[2] = Resp::Int(0);
                }
            }
            Resp::Array(Some(v))
        }
        Resp::Map(m) => Resp::Map(m.into_iter().map(|(k, v)| (k, clockless(v))).collect()),
        o => o,
    }
}

fn random_command(r: &mut StdRng, next_ms: &mut u64) -> Vec<String> {
    let key = ["s", "s", "s", "t"][r.gen_range(0..4)].to_string();
    let group = ["g1", "g2", "nog"][r.gen_range(0..3)].to_string();
    let consumer = ["alice", "bob", "carol", "dave"][r.gen_range(0..4)].to_string();
    let id = |r: &mut StdRng, top: u64| format!("{}-{}", r.gen_range(0..top + 2), r.gen_range(0..3));
    let top = *next_ms;
    let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    match r.gen_range(0..100) {
        0..=27 => {
            *next_ms += r.gen_range(0..3);
            let mut c = v(&["XADD", &key]);
            match r.gen_range(0..10) {
                0 => c.extend(v(&["MAXLEN", "~", &r.gen_range(0..20).to_string()])),
                1 => c.extend(v(&["MAXLEN", &r.gen_range(0..30).to_string()])),
                2 => c.extend(v(&["MINID", &id(r, top.saturating_sub(10))])),
                3 => c.extend(v(&["NOMKSTREAM"])),
                _ => {}
            }
            c.push(if r.gen_bool(0.2) {
                format!("{}-*", *next_ms)
            } else {
                format!("{}-{}", *next_ms, r.gen_range(0..4))
            });
            let nf = r.gen_range(1..4);
            for i in 0..nf {
                let f = if r.gen_bool(0.7) { format!("f{i}") } else { format!("x{}", r.gen_range(0..5)) };
                c.push(f);
                c.push(r.gen_range(0..1000).to_string());
            }
            c
        }
        28..=40 => {
            let mut c = v(&["XREADGROUP", "GROUP", &group, &consumer]);
            if r.gen_bool(0.5) {
                c.extend(v(&["COUNT", &r.gen_range(0..5).to_string()]));
            }
            if r.gen_bool(0.15) {
                c.push("NOACK".into());
            }
            c.extend(v(&["STREAMS", &key]));
            c.push(if r.gen_bool(0.75) { ">".into() } else { id(r, top) });
            c
        }
        41..=49 => {
            let mut c = v(&["XACK", &key, &group]);
            for _ in 0..r.gen_range(1..4) {
                c.push(id(r, top));
            }
            c
        }
        50..=57 => {
            let mut c = v(&["XCLAIM", &key, &group, &consumer, "0"]);
            for _ in 0..r.gen_range(1..4) {
                c.push(id(r, top));
            }
            match r.gen_range(0..6) {
                0 => c.push("JUSTID".into()),
                1 => c.push("FORCE".into()),
                2 => c.extend(v(&["RETRYCOUNT", &r.gen_range(0..9).to_string()])),
                3 => c.extend(v(&["LASTID", &id(r, top)])),
                _ => {}
            }
            c
        }
        58..=64 => {
            let mut c = v(&["XAUTOCLAIM", &key, &group, &consumer, "0", &id(r, top)]);
            if r.gen_bool(0.6) {
                c.extend(v(&["COUNT", &r.gen_range(1..6).to_string()]));
            }
            if r.gen_bool(0.3) {
                c.push("JUSTID".into());
            }
            c
        }
        65..=71 => {
            let mut c = v(&["XDEL", &key]);
            for _ in 0..r.gen_range(1..4) {
                c.push(id(r, top));
            }
            c
        }
        72..=75 => match r.gen_range(0..4) {
            0 => v(&["XTRIM", &key, "MAXLEN", &r.gen_range(0..30).to_string()]),
            1 => v(&["XTRIM", &key, "MAXLEN", "~", &r.gen_range(0..30).to_string()]),
            2 => v(&["XTRIM", &key, "MINID", &id(r, top)]),
            _ => v(&["XTRIM", &key, "MINID", "~", &id(r, top), "LIMIT", &r.gen_range(0..12).to_string()]),
        },
        76..=80 => match r.gen_range(0..6) {
            0 => v(&["XGROUP", "CREATE", &key, &group, &id(r, top), "MKSTREAM"]),
            1 => v(&["XGROUP", "CREATE", &key, &group, "$"]),
            2 => v(&["XGROUP", "SETID", &key, &group, &id(r, top)]),
            3 => v(&["XGROUP", "CREATECONSUMER", &key, &group, &consumer]),
            4 => v(&["XGROUP", "DELCONSUMER", &key, &group, &consumer]),
            _ => v(&["XGROUP", "SETID", &key, &group, "$", "ENTRIESREAD", &r.gen_range(-1..10).to_string()]),
        },
        81..=84 => v(&["XPENDING", &key, &group]),
        85..=88 => {
            let mut c = v(&["XPENDING", &key, &group, "-", "+", &r.gen_range(0..10).to_string()]);
            if r.gen_bool(0.4) {
                c.push(consumer);
            }
            c
        }
        89..=91 => v(&["XINFO", "STREAM", &key, "FULL"]),
        92..=93 => v(&["XINFO", "GROUPS", &key]),
        94 => v(&["XINFO", "CONSUMERS", &key, &group]),
        95 => v(&["XINFO", "STREAM", &key]),
        96 => v(&["XRANGE", &key, &id(r, top), "+", "COUNT", &r.gen_range(1..10).to_string()]),
        97 => v(&["XREVRANGE", &key, "+", "-"]),
        98 => v(&["XREAD", "COUNT", "3", "STREAMS", &key, &id(r, top)]),
        _ => v(&["XSETID", &key, &format!("{}-9", top + 1)]),
    }
}

#[test]
fn random_group_flows() {
    let mut d = Diff::with(&["--stream-node-max-entries", "6", "--stream-node-max-bytes", "300"]);
    let seed = std::env::var("STREAM_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20240607u64);
    let mut r = StdRng::seed_from_u64(seed);
    let mut next_ms = 1u64;
    d.check_script("XGROUP CREATE s g1 0 MKSTREAM\nXGROUP CREATE s g2 $\nXGROUP CREATE t g1 0 MKSTREAM");
    let steps = std::env::var("STREAM_STEPS").ok().and_then(|s| s.parse().ok()).unwrap_or(2500);
    for i in 0..steps {
        let c = random_command(&mut r, &mut next_ms);
        let refs: Vec<&[u8]> = c.iter().map(|s| s.as_bytes()).collect();
        let f = d.f.cmd_b(&refs);
        let rr = d.r.cmd_b(&refs);
        let (nf, nr) = (clockless(f), clockless(rr));
        assert!(nf == nr, "seed {seed}, step {i}: {c:?}\n  ferrokv: {nf:?}\n  redis:   {nr:?}");
        if i % 250 == 0 {
            for k in ["s", "t"] {
                d.check_with(&[b"XINFO", b"STREAM", k.as_bytes(), b"FULL", b"COUNT", b"0"], clockless);
                // Payloads hold delivery and seen times: equal sizes then.
                let (a, b) = d.both(&["DUMP", k]);
                let size = |r: &Resp| match r {
                    Resp::Bulk(Some(b)) => b.len(),
                    _ => 0,
                };
                assert_eq!(size(&a), size(&b), "DUMP {k} size, step {i}");
            }
        }
    }
}

#[test]
fn generic_commands_on_streams() {
    let mut d = Diff::with(&["--enable-debug-command", "yes"]);
    d.check_script(
        "XADD s 1-1 a 1\nXGROUP CREATE s g 0\nXREADGROUP GROUP g c STREAMS s >\nTYPE s\nOBJECT ENCODING s\nEXISTS s\n\
         COPY s s2\nXINFO STREAM s2\nXADD s2 2-1 b 2\nXLEN s\nXLEN s2\nXPENDING s2 g\nRENAME s2 s3\nXRANGE s3 - +\n\
         SORT s\nLPUSH s x\nGET s\nHSET s a b\nSADD s a\nZADD s 1 a\nINCR s\nAPPEND s x\n\
         SET str v\nXADD str 1-1 a b\nXRANGE str - +\nXREVRANGE str + -\nXLEN str\nXDEL str 1-1\nXTRIM str MAXLEN 1\n\
         XSETID str 1-1\nXACK str g 1-1\nXPENDING str g\nXPENDING str g - + 1\nXCLAIM str g c 0 1-1\n\
         XAUTOCLAIM str g c 0 0\nXINFO STREAM str\nXINFO GROUPS str\nXINFO CONSUMERS str g\nXGROUP CREATE str g $\n\
         XGROUP SETID str g $\nXGROUP DESTROY str g\nXGROUP CREATECONSUMER str g c\nXGROUP DELCONSUMER str g c\n\
         XREAD STREAMS str 0\nXREADGROUP GROUP g c STREAMS str >\nMOVE s 1\nSELECT 1\nXLEN s\nSELECT 0\nEXPIRE s3 100\n\
         XADD s3 5-5 a b\nTTL s3\nDEL s3\nUNLINK s\nEXISTS s s3\nXADD e 1-1 a b\nXDEL e 1-1\nEXISTS e\nTYPE e\nDEBUG RELOAD\n\
         EXISTS e\nXINFO STREAM e\nXADD s4 1-1 a b",
    );
    d.check_with(&[b"SCAN", b"0", b"TYPE", b"stream", b"COUNT", b"100"], |r| match r {
        Resp::Array(Some(mut v)) if v.len() == 2 => {
            v[1] = v[1].sorted();
            Resp::Array(Some(v))
        }
        o => o,
    });
}

#[test]
fn corrupt_payloads_never_crash() {
    let r = Server::redis();
    let mut rc = r.conn();
    fill_streams(&mut rc);
    let f = Server::ferrokv();
    let mut fc = f.conn();
    let mut rng = StdRng::seed_from_u64(7);
    let mut accepted = 0;
    let mut refused = std::collections::BTreeMap::new();
    for k in ["big", "empty", "gone", "long", "ints"] {
        let Resp::Bulk(Some(p)) = rc.cmd(&["DUMP", k]) else { panic!("dump {k}") };
        for i in 0..150 {
            let mut bad = p.clone();
            let body = bad.len() - 10;
            match i % 3 {
                0 => {
                    let at = rng.gen_range(1..body);
                    bad[at] ^= 1 << rng.gen_range(0..8);
                }
                1 => {
                    let at = rng.gen_range(1..body);
                    bad[at] = rng.gen();
                }
                _ => {
                    let n = rng.gen_range(1..body);
                    bad.truncate(n);
                    bad.extend_from_slice(&p[p.len() - 10..]);
                }
            }
            // Fix the footer's CRC so the body itself is what gets checked.
            let n = bad.len();
            let crc = crc64_redis(&bad[..n - 8]);
            bad[n - 8..].copy_from_slice(&crc.to_le_bytes());
            let got = fc.cmd_b(&[b"RESTORE", b"x", b"0", &bad, b"REPLACE"]);
            if got == Resp::ok() {
                accepted += 1;
                // Whatever was accepted must be usable.
                fc.cmd(&["XINFO", "STREAM", "x", "FULL"]);
                fc.cmd(&["XREVRANGE", "x", "+", "-"]);
                fc.cmd(&["XADD", "x", "*", "a", "b"]);
                fc.cmd(&["XTRIM", "x", "MAXLEN", "3"]);
                fc.cmd(&["XINFO", "GROUPS", "x"]);
                fc.cmd(&["DUMP", "x"]);
            } else {
                assert!(got.is_error(), "{got:?}");
                *refused.entry(got.text()).or_insert(0) += 1;
            }
            assert_eq!(fc.cmd(&["PING"]), Resp::Simple("PONG".into()));
        }
    }
    // The checksum was right: the bodies themselves were judged.
    assert!(!refused.contains_key("ERR DUMP payload version or checksum are wrong"), "{refused:?}");
    assert!(accepted > 0 && refused.values().sum::<i32>() > 100, "{accepted} {refused:?}");
}

/// Redis's CRC64 (Jones polynomial, reflected).
fn crc64_redis(data: &[u8]) -> u64 {
    const POLY: u64 = 0x95ac9329ac4bc9b5;
    let mut crc: u64 = 0;
    for &b in data {
        crc ^= b as u64;
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ POLY } else { crc >> 1 };
        }
    }
    crc
}

#[test]
fn watch_touches_as_redis() {
    let cases: &[&[&str]] = &[
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"],
        &["XACK", "s", "g", "1-1"],
        &["XCLAIM", "s", "g", "d", "0", "1-1"],
        &["XGROUP", "CREATECONSUMER", "s", "g", "zz"],
        &["XGROUP", "DELCONSUMER", "s", "g", "zz"],
        &["XGROUP", "SETID", "s", "g", "0"],
        &["XAUTOCLAIM", "s", "g", "e", "0", "0"],
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "0"],
        &["XGROUP", "DESTROY", "s", "g"],
        &["XGROUP", "CREATE", "s", "g", "0"],
        &["XSETID", "s", "5-5"],
        &["XDEL", "s", "9-9"],
        &["XTRIM", "s", "MAXLEN", "5"],
        &["XADD", "s", "NOMKSTREAM", "6-1", "a", "b"],
        &["XDEL", "s", "6-1"],
        &["XADD", "s", "7-1", "a", "b"],
        &["XTRIM", "s", "MAXLEN", "1"],
        &["XGROUP", "CREATE", "new", "g", "$", "MKSTREAM"],
        &["XGROUP", "CREATE", "s", "g2", "$", "MKSTREAM"],
        &["XADD", "other", "1-1", "a", "b"],
    ];
    both_servers(|srv| {
        let mut a = srv.conn();
        let mut b = srv.conn();
        a.cmd(&["XADD", "s", "1-1", "f", "v"]);
        a.cmd(&["XGROUP", "CREATE", "s", "g", "0"]);
        let mut out = Vec::new();
        for c in cases {
            a.cmd(&["WATCH", "s", "new"]);
            b.cmd(c);
            a.cmd(&["MULTI"]);
            a.cmd(&["PING"]);
            out.push(a.cmd(&["EXEC"]));
        }
        out
    });
}

/// Reads an RDB length at `p`; returns (value, bytes used, is-encoded).
fn rdb_len(b: &[u8], p: usize) -> (u64, usize, bool) {
    let x = b[p];
    match x >> 6 {
        0 => ((x & 0x3F) as u64, 1, false),
        1 => ((((x & 0x3F) as u64) << 8) | b[p + 1] as u64, 2, false),
        3 => ((x & 0x3F) as u64, 1, true),
        _ if x == 0x80 => (u32::from_be_bytes(b[p + 1..p + 5].try_into().unwrap()) as u64, 5, false),
        _ => (u64::from_be_bytes(b[p + 1..p + 9].try_into().unwrap()), 9, false),
    }
}

/// Bytes an RDB string at `p` takes.
fn rdb_str(b: &[u8], p: usize) -> usize {
    let (n, used, enc) = rdb_len(b, p);
    if !enc {
        return used + n as usize;
    }
    match n {
        0 => used + 1,
        1 => used + 2,
        2 => used + 4,
        _ => {
            let (clen, u1, _) = rdb_len(b, p + used);
            let (_, u2, _) = rdb_len(b, p + used + u1);
            used + u1 + u2 + clen as usize
        }
    }
}

/// Turns a Redis 7.0 stream DUMP payload (type 19) into the Redis 5/6 form
/// (type 15: no first/max-deleted IDs, entries-added or entries-read).
fn to_v1_payload(p: &[u8]) -> Vec<u8> {
    assert_eq!(p[0], 19);
    let body = &p[..p.len() - 10];
    let mut out = vec![15u8];
    let mut at = 1;
    let copy = |out: &mut Vec<u8>, from: usize, to: usize| out.extend_from_slice(&body[from..to]);
    let (nodes, u, _) = rdb_len(body, at);
    let start = at;
    at += u;
    for _ in 0..nodes {
        at += rdb_str(body, at);
        at += rdb_str(body, at);
    }
    for _ in 0..3 {
        at += rdb_len(body, at).1; // length, last ms, last seq
    }
    copy(&mut out, start, at);
    for _ in 0..5 {
        at += rdb_len(body, at).1; // first ms/seq, max-deleted ms/seq, entries-added
    }
    let (groups, u, _) = rdb_len(body, at);
    copy(&mut out, at, at + u);
    at += u;
    for _ in 0..groups {
        let g0 = at;
        at += rdb_str(body, at);
        at += rdb_len(body, at).1;
        at += rdb_len(body, at).1;
        copy(&mut out, g0, at);
        at += rdb_len(body, at).1; // entries-read
        let g1 = at;
        let (pel, u, _) = rdb_len(body, at);
        at += u;
        for _ in 0..pel {
            at += 16 + 8;
            at += rdb_len(body, at).1;
        }
        let (cons, u, _) = rdb_len(body, at);
        at += u;
        for _ in 0..cons {
            at += rdb_str(body, at);
            at += 8;
            let (n, u, _) = rdb_len(body, at);
            at += u + 16 * n as usize;
        }
        copy(&mut out, g1, at);
    }
    assert_eq!(at, body.len(), "parsed the whole payload");
    out.extend_from_slice(&9u16.to_le_bytes());
    let crc = crc64_redis(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

#[test]
fn redis6_stream_payloads_load() {
    let mut d = Diff::new();
    fill_streams(&mut d.r);
    for k in ["big", "empty", "gone", "long", "ints"] {
        let Resp::Bulk(Some(p)) = d.r.cmd(&["DUMP", k]) else { panic!("dump {k}") };
        let v1 = to_v1_payload(&p);
        let key = format!("v1:{k}");
        d.check_b(&[b"RESTORE", key.as_bytes(), b"0", &v1]);
        d.check(&["XINFO", "STREAM", &key, "FULL"]);
        d.check(&["XINFO", "GROUPS", &key]);
        d.check(&["DUMP", &key]);
    }
}

#[test]
fn top_moved_below_a_tombstone() {
    // XSETID may set the top below a deleted tail entry: later entries then
    // follow a tombstone with a larger ID inside the same node. (DUMP is
    // compared before the group exists: delivery times differ by the clock.)
    let mut d = Diff::with(&["--enable-debug-command", "yes"]);
    d.check_script(
        "XADD s 1-1 a 1\nXADD s 5-5 b 2\nXDEL s 5-5\nXSETID s 3-0\nXADD s 4-0 c 3\nXADD s 4-1 c 4\nXRANGE s - +\n\
         XREVRANGE s + -\nXRANGE s 4 +\nXRANGE s 2 4-0\nXREVRANGE s 4-0 2\nXINFO STREAM s FULL\nDUMP s\nXGROUP CREATE s g 0\n\
         XREADGROUP GROUP g c STREAMS s >\nXINFO GROUPS s\nXTRIM s MINID 4-1\nXRANGE s - +\nDEBUG RELOAD\nXRANGE s - +\n\
         XINFO STREAM s",
    );
    let Resp::Bulk(Some(p)) = d.r.cmd(&["DUMP", "s"]) else { panic!("dump") };
    assert_eq!(d.f.cmd_b(&[b"RESTORE", b"copy", b"0", &p]), Resp::ok());
    assert!(d.f.cmd(&["XRANGE", "copy", "-", "+"]) == d.r.cmd(&["XRANGE", "s", "-", "+"]));
}

#[test]
fn list_and_stream_waiters_on_one_key() {
    both_servers(|s| {
        let mut p = s.conn();
        let mut a = s.conn();
        let mut b = s.conn();
        let mut out = Vec::new();
        send_block(&mut a, "BLPOP q 0");
        out.push(p.cmd(&["XGROUP", "CREATE", "q", "g", "$", "MKSTREAM"]));
        send_block(&mut b, "XREADGROUP GROUP g c BLOCK 0 STREAMS q >");
        out.push(p.cmd(&["DEL", "q"]));
        out.push(b.read());
        out.push(p.cmd(&["RPUSH", "q", "x"]));
        out.push(a.read());
        out
    });
}

#[test]
fn random_arguments_match_redis() {
    // Commands built from a vocabulary of options, IDs and numbers, valid or
    // not: both servers must give the same replies and errors.
    let mut d = Diff::new();
    let cmds: &[&str] = &[
        "XADD",
        "XRANGE",
        "XREVRANGE",
        "XDEL",
        "XTRIM",
        "XSETID",
        "XLEN",
        "XACK",
        "XPENDING",
        "XCLAIM",
        "XAUTOCLAIM",
        "XREAD",
        "XREADGROUP",
        "XGROUP CREATE",
        "XGROUP SETID",
        "XGROUP DESTROY",
        "XGROUP CREATECONSUMER",
        "XGROUP DELCONSUMER",
        "XINFO STREAM",
        "XINFO GROUPS",
        "XINFO CONSUMERS",
    ];
    let words: &[&str] = &[
        "s",
        "s",
        "s",
        "t",
        "str",
        "g",
        "g",
        "c",
        "0",
        "1",
        "5",
        "-1",
        "1-1",
        "2-0",
        "3-*",
        "9-9",
        "*",
        "$",
        ">",
        "+",
        "-",
        "(1-1",
        "(",
        "x",
        "MAXLEN",
        "MINID",
        "~",
        "=",
        "LIMIT",
        "NOMKSTREAM",
        "COUNT",
        "STREAMS",
        "GROUP",
        "NOACK",
        "IDLE",
        "TIME",
        "RETRYCOUNT",
        "FORCE",
        "JUSTID",
        "LASTID",
        "MKSTREAM",
        "ENTRIESREAD",
        "ENTRIESADDED",
        "MAXDELETEDID",
        "FULL",
        "18446744073709551615",
        "18446744073709551616",
        "9223372036854775807",
        "f",
        "v",
        "0-1",
        "18446744073709551615-18446744073709551615",
        "",
    ];
    d.check_script("XADD s 1-1 a 1\nXADD s 2-1 b 2\nXGROUP CREATE s g 0\nSET str v\nXADD t 1-1 f v");
    let seed = std::env::var("STREAM_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(99u64);
    let steps = std::env::var("STREAM_STEPS").ok().and_then(|s| s.parse().ok()).unwrap_or(4000);
    let mut r = StdRng::seed_from_u64(seed);
    for i in 0..steps {
        let mut c: Vec<String> = cmds[r.gen_range(0..cmds.len())].split(' ').map(String::from).collect();
        for _ in 0..r.gen_range(0..8) {
            c.push(words[r.gen_range(0..words.len())].to_string());
        }
        if c[0] == "XADD" && c.iter().any(|w| w == "*") {
            continue; // the clock
        }
        let refs: Vec<&[u8]> = c.iter().map(|s| s.as_bytes()).collect();
        let (f, rr) = (d.f.cmd_b(&refs), d.r.cmd_b(&refs));
        let (nf, nr) = (clockless(f), clockless(rr));
        assert!(nf == nr, "seed {seed} step {i}: {c:?}\n  ferrokv: {nf:?}\n  redis:   {nr:?}");
    }
}

/// A stream of thousands of entries: full nodes are packed side by side in
/// shared blocks (see `storage::stream`), and every change to a packed node
/// (XDEL, exact trims, COPY then a change to either copy, RDB and DUMP round
/// trips) must leave the same entries, IDs and XINFO as Redis.
#[test]
fn large_stream_with_packed_nodes() {
    let mut d = Diff::with(DBG);
    let mut pipe = String::new();
    for i in 1..=6000 {
        pipe.push_str(&format!("XADD s {i}-0 field value{i} n {}\n", i * 7));
    }
    for t in [&d.ferrokv, &d.redis] {
        let mut c = t.conn();
        for line in pipe.lines() {
            let args = split(line);
            let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
            c.send(&refs);
        }
        for _ in pipe.lines() {
            c.read();
        }
    }
    let ranges = "XLEN s\nXRANGE s - + COUNT 5\nXRANGE s 2998 3003\nXREVRANGE s + - COUNT 3\n\
                  XRANGE s 5995 +\nXINFO STREAM s";
    d.check_script(ranges);
    d.check_script("XDEL s 1500-0 3000-0 3001-0 4444-0\nXDEL s 3000-0");
    d.check_script(ranges);
    d.check_script(
        "COPY s c\nXDEL c 10-0 2000-0\nXADD c 7000-0 a b\nXRANGE c 1995 2005\nXRANGE s 1995 2005\nXLEN c\nXLEN s",
    );
    d.check_script("XTRIM s MINID 1234\nXTRIM s MAXLEN 4000");
    d.check_script(ranges);
    d.check_script("XTRIM s MAXLEN ~ 1000\nXLEN s\nXRANGE s - + COUNT 2");
    d.check_script("XADD s 9000-0 after trim\nXRANGE s 8999 +");
    let dump = d.check(&["DUMP", "c"]);
    assert!(!dump.is_error());
    d.check_script("DEBUG RELOAD");
    d.check_script(ranges);
    d.check_script("XRANGE c 2990 3010\nXINFO STREAM c\nXDEL c 3500-0 3600-0\nXRANGE c 3499 3601");
}
