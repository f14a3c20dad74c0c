//! Redis 7.0 functions, differential against real Redis: FUNCTION LOAD (metadata,
//! registration forms and flags, every load error), FCALL / FCALL_RO (keys and
//! arguments, read-only checks, error texts with `script: <name>, on
//! @user_function:N.`), LIST (LIBRARYNAME, WITHCODE, RESP3 shapes), STATS,
//! DELETE, FLUSH, DUMP / RESTORE both ways with every policy, and FUNCTION KILL of
//! a long function. (Libraries kept in RDB files: tests/persistence.rs.)

mod common;

use common::*;
use std::io::Write;
use std::time::Duration;

#[test]
fn function_cases_match_redis() {
    Diff::new().check_data_file("function_cases.txt");
}

// One function per library: Redis lists a library's functions and the
// libraries in its hash tables' order, which tests must not depend on.
const LIB: &str = "#!lua name=shop\n\
    redis.register_function('buy', function(keys, args) return redis.call('incrby', keys[1], args[1]) end)";
const LIB2: &str = "#!lua name=stock\n\
    redis.register_function{function_name='peek', callback=function(keys) return redis.call('get', keys[1]) end, \
    flags={'no-writes', 'allow-stale'}, description='reads the stock'}";

#[test]
fn resp3_list_and_stats() {
    let mut d = Diff::new();
    d.check(&["HELLO", "3"]);
    d.check(&["FUNCTION", "LOAD", LIB]);
    d.check(&["FUNCTION", "LOAD", LIB2]);
    d.check(&["FUNCTION", "LIST", "LIBRARYNAME", "shop"]);
    d.check(&["FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "stock"]);
    d.check(&["FUNCTION", "STATS"]);
    d.check(&["FCALL", "buy", "1", "stock", "5"]);
    d.check(&["FCALL_RO", "peek", "1", "stock"]);
    d.check(&["FCALL_RO", "buy", "1", "stock", "1"]);
}

#[test]
fn dump_and_restore_both_ways() {
    let mut d = Diff::new();
    d.check(&["FUNCTION", "LOAD", LIB]);
    let (Resp::Bulk(Some(fd)), Resp::Bulk(Some(rd))) = d.both(&["FUNCTION", "DUMP"]) else { panic!("dump") };
    assert_eq!(fd, rd, "FUNCTION DUMP payloads differ");
    d.check(&["FUNCTION", "FLUSH"]);
    // ferrokv's payload restores in Redis and Redis's in ferrokv.
    let f = d.f.cmd_b(&[b"FUNCTION", b"RESTORE", &rd]);
    let r = d.r.cmd_b(&[b"FUNCTION", b"RESTORE", &fd]);
    assert_eq!(f, r);
    d.check(&["FCALL", "buy", "1", "k", "2"]);
    for policy in ["APPEND", "REPLACE", "FLUSH", "BAD"] {
        let f = d.f.cmd_b(&[b"FUNCTION", b"RESTORE", &fd, policy.as_bytes()]);
        let r = d.r.cmd_b(&[b"FUNCTION", b"RESTORE", &rd, policy.as_bytes()]);
        assert_eq!(f, r, "policy {policy}");
    }
    let mut bad = fd.clone();
    let n = bad.len();
    bad[n - 1] ^= 1;
    let f = d.f.cmd_b(&[b"FUNCTION", b"RESTORE", &bad]);
    let r = d.r.cmd_b(&[b"FUNCTION", b"RESTORE", &bad]);
    assert_eq!(f, r);
    d.check(&["FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "shop"]);
}

/// A long function: BUSY with FUNCTION KILL's wording, SCRIPT KILL refused, FUNCTION KILL works.
fn busy_function(port: u16) -> Vec<String> {
    let mut c = Conn::connect(port);
    c.cmd(&["CONFIG", "SET", "busy-reply-threshold", "100"]);
    c.cmd(&[
        "FUNCTION",
        "LOAD",
        "REPLACE",
        "#!lua name=spin\nredis.register_function('spin', function() while true do end end)",
    ]);
    let mut a = raw_connect(port);
    a.write_all(b"FCALL spin 0\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let mut seen =
        vec![c.cmd(&["GET", "x"]).text(), c.cmd(&["SCRIPT", "KILL"]).text(), c.cmd(&["FUNCTION", "KILL"]).text()];
    seen.push(show(&read_until_quiet(&mut a, Duration::from_millis(500)).0));
    seen.push(c.cmd(&["PING"]).text());
    seen
}

#[test]
fn long_function_busy_and_function_kill() {
    let f = Server::ferrokv();
    let r = Server::redis();
    assert_eq!(busy_function(f.port), busy_function(r.port));
}

/// INFO counts cached scripts, functions and libraries.
#[test]
fn info_counts_scripts_and_functions() {
    let mut d = Diff::new();
    d.check_script("SCRIPT LOAD \"return 1\"\nSCRIPT LOAD \"return 2\"\nEVAL \"return 3\" 0");
    d.check(&["FUNCTION", "LOAD", LIB]);
    d.check(&["FUNCTION", "LOAD", LIB2]);
    for field in ["number_of_cached_scripts", "number_of_functions", "number_of_libraries"] {
        d.same_info("memory", field);
    }
    d.check(&["SCRIPT", "FLUSH"]);
    d.same_info("memory", "number_of_cached_scripts");
    d.same_info("memory", "number_of_functions");
}
