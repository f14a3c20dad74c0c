//! maxmemory and eviction (issue #7): the `-OOM` refusals compared with real
//! Redis, every policy kept within the limit under a write load, which keys
//! each policy may evict, LRU and LFU quality, OBJECT FREQ, the `evicted`
//! keyspace event, WATCH, INFO figures and lazy freeing.

mod common;
use common::*;
use std::time::Duration;

fn used_memory(c: &mut Conn) -> u64 {
    info_field(c, "memory", "used_memory").parse().expect("used_memory")
}

fn stat(c: &mut Conn, field: &str) -> u64 {
    info_field(c, "stats", field).parse().expect("numeric stat")
}

/// Sends `cmds` as one pipeline and returns the replies.
fn pipeline(c: &mut Conn, cmds: &[Vec<String>]) -> Vec<Resp> {
    let mut buf = Vec::new();
    for cmd in cmds {
        let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
        buf.extend_from_slice(&Conn::encode(&args));
    }
    c.send_raw(&buf);
    cmds.iter().map(|_| c.read()).collect()
}

fn set_cmd(key: &str, size: usize, ttl: Option<u64>) -> Vec<String> {
    let mut v = vec!["SET".to_string(), key.to_string(), "x".repeat(size)];
    if let Some(t) = ttl {
        v.extend(["EX".to_string(), t.to_string()]);
    }
    v
}

/// Writes each key with a value of `size` bytes, in pipelines of 100.
fn write_keys(c: &mut Conn, keys: &[String], size: usize) {
    for chunk in keys.chunks(100) {
        pipeline(c, &chunk.iter().map(|k| set_cmd(k, size, None)).collect::<Vec<_>>());
    }
}

/// Reads each key once, in pipelines of 100.
fn read_keys(c: &mut Conn, keys: &[String]) {
    for chunk in keys.chunks(100) {
        pipeline(c, &chunk.iter().map(|k| vec!["GET".to_string(), k.clone()]).collect::<Vec<_>>());
    }
}

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

/// Counts how many of `keys` exist.
fn existing(c: &mut Conn, keys: &[String]) -> usize {
    let mut n = 0;
    for chunk in keys.chunks(500) {
        let mut args = vec!["EXISTS"];
        args.extend(chunk.iter().map(String::as_str));
        n += c.cmd(&args).as_int() as usize;
    }
    n
}

/// Slack allowed over maxmemory when measured between pipelines: one
/// pipeline's query buffer and replies, and one command's allocation.
const SLACK: u64 = 512 * 1024;

#[test]
fn noeviction_refuses_denyoom_commands_as_redis() {
    let mut d = Diff::new();
    d.check_script(
        "SET a 1
         RPUSH l x
         HSET h f v
         CONFIG SET maxmemory 1",
    );
    d.check_script(
        "SET b 2
         GET a
         INCR a
         LPUSH l y
         LPOP l
         HSET h g w
         HGET h f
         SETNX c 1
         APPEND a x
         EXPIRE h 100
         TTL h
         PERSIST h
         DEL a
         EXISTS a
         PING
         ECHO hi
         SADD s m
         ZADD z 1 m
         PFADD hll a
         GETSET h x
         MSET p 1 q 2
         COPY l l2
         RESTORE r 0 junk
         EVAL \"return 1\" 0",
    );
    for script in [
        "#!lua flags=no-writes\nreturn 1",
        "#!lua flags=allow-oom\nreturn redis.call('set','k','v')",
        "#!lua\nreturn 1",
        "#!lua flags=no-writes\nreturn redis.pcall('set','k','v')",
    ] {
        d.check(&["EVAL", script, "0"]);
    }
    d.check(&["GET", "k"]);
    // Queueing is refused under OOM, and the transaction then fails.
    d.check_script(
        "MULTI
         GET l
         SET x 1
         EXEC
         MULTI
         DISCARD",
    );
    // A transaction queued before memory ran out: EXEC refused when it
    // holds a denyoom command, allowed otherwise.
    for queued in [&["SET", "x", "1"][..], &["GET", "l"][..]] {
        d.check(&["CONFIG", "SET", "maxmemory", "0"]);
        d.check(&["MULTI"]);
        d.check(queued);
        d.ferrokv.conn().cmd(&["CONFIG", "SET", "maxmemory", "1"]);
        d.redis.conn().cmd(&["CONFIG", "SET", "maxmemory", "1"]);
        d.check(&["EXEC"]);
    }
    d.check(&["CONFIG", "SET", "maxmemory", "0"]);
    d.check(&["SET", "b", "2"]);
    d.same_info("errorstats", "errorstat_OOM");
    d.same_info("errorstats", "errorstat_EXECABORT");
    d.same_info("stats", "evicted_keys");
    let calls = |r: Resp| {
        // Call counts only (durations differ).
        let text = r.text();
        let mut lines: Vec<String> = text
            .lines()
            .filter(|l| l.starts_with("cmdstat_"))
            .map(|l| l.split(',').filter(|f| !f.starts_with("usec")).collect::<Vec<_>>().join(","))
            .collect();
        lines.sort();
        Resp::Bulk(Some(lines.join("\n").into_bytes()))
    };
    d.check_with(&[b"INFO", b"commandstats"], calls);
}

#[test]
fn scripts_meet_oom_as_in_redis() {
    let mut d = Diff::new();
    d.check_script("SET a 1\nCONFIG SET maxmemory 1");
    d.check(&["EVAL", "#!lua flags=allow-oom\nreturn redis.call('set','k','v')", "0"]);
    d.check_script(
        "EVAL \"return redis.pcall('set','k','v')\" 0
         EVAL \"return redis.pcall('get','a')\" 0
         EVAL \"redis.call('del','a') return redis.pcall('set','k','v')\" 0
         EVAL_RO \"return redis.pcall('get','a')\" 0
         CONFIG SET maxmemory 0",
    );
    d.check(&["FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('w', function() return redis.pcall('set','k2','v') end)\nredis.register_function{function_name='ro', callback=function() return 1 end, flags={'no-writes'}}\nredis.register_function{function_name='oom', callback=function() return redis.pcall('set','k3','v') end, flags={'allow-oom'}}"]);
    d.check_script(
        "         CONFIG SET maxmemory 1
         FCALL w 0
         FCALL ro 0
         FCALL oom 0
         GET k3
         CONFIG SET maxmemory 0",
    );
}

#[test]
fn every_policy_stays_within_maxmemory() {
    for policy in [
        "allkeys-lru",
        "allkeys-lfu",
        "allkeys-random",
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
    ] {
        let s = Server::ferrokv_with(&["--maxmemory-policy", policy]);
        let mut c = s.conn();
        let limit = used_memory(&mut c) + 3 * 1024 * 1024;
        c.cmd(&["CONFIG", "SET", "maxmemory", &limit.to_string()]);
        let mut peak = 0;
        let mut errors = 0;
        for batch in 0..100 {
            let cmds: Vec<Vec<String>> =
                (0..100).map(|i| set_cmd(&format!("k{batch}:{i}"), 1000, Some(100_000))).collect();
            errors += pipeline(&mut c, &cmds).iter().filter(|r| r.is_error()).count();
            peak = peak.max(used_memory(&mut c));
        }
        assert_eq!(errors, 0, "{policy}: writes refused while keys could be evicted");
        assert!(peak <= limit + SLACK, "{policy}: used_memory {peak} over maxmemory {limit}");
        let evicted = stat(&mut c, "evicted_keys");
        let dbsize = c.cmd(&["DBSIZE"]).as_int() as u64;
        assert!(evicted > 5000, "{policy}: only {evicted} keys evicted");
        assert_eq!(dbsize + evicted, 10_000, "{policy}: every key written is either kept or evicted");
    }
}

#[test]
fn volatile_policies_never_evict_keys_without_ttl() {
    for policy in ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"] {
        let s = Server::ferrokv_with(&["--maxmemory-policy", policy]);
        let mut c = s.conn();
        let persistent: Vec<String> = (0..1000).map(|i| format!("p{i}")).collect();
        let cmds: Vec<Vec<String>> = persistent.iter().map(|k| set_cmd(k, 100, None)).collect();
        pipeline(&mut c, &cmds);
        let limit = used_memory(&mut c) + 2 * 1024 * 1024;
        c.cmd(&["CONFIG", "SET", "maxmemory", &limit.to_string()]);
        for batch in 0..40 {
            let cmds: Vec<Vec<String>> =
                (0..100).map(|i| set_cmd(&format!("v{batch}:{i}"), 1000, Some(100_000))).collect();
            let replies = pipeline(&mut c, &cmds);
            assert!(replies.iter().all(|r| !r.is_error()), "{policy}: {replies:?}");
        }
        assert!(stat(&mut c, "evicted_keys") > 0, "{policy}: nothing evicted");
        assert_eq!(existing(&mut c, &persistent), persistent.len(), "{policy}: a key without TTL was evicted");
        // Once the volatile keys are gone, writes are refused.
        let mut refused = None;
        for i in 0..20_000 {
            let r = c.cmd_b(&[b"SET", format!("q{i}").as_bytes(), &[b'y'; 1000]]);
            if r.is_error() {
                refused = Some(r);
                break;
            }
        }
        assert_eq!(refused, Some(Resp::err("OOM command not allowed when used memory > 'maxmemory'.")), "{policy}");
        assert_eq!(existing(&mut c, &persistent), persistent.len(), "{policy}");
    }
}

#[test]
fn volatile_ttl_evicts_the_nearest_expiry_first() {
    let s = Server::ferrokv_with(&["--maxmemory-policy", "volatile-ttl", "--maxmemory-samples", "10"]);
    let mut c = s.conn();
    let base = used_memory(&mut c);
    // Keys written in random TTL order; the short ones should go first.
    let keys: Vec<(String, u64)> = (0..4000u64).map(|i| (format!("t{i}"), 1000 + (i * 7919) % 4000 * 10)).collect();
    for chunk in keys.chunks(100) {
        let cmds: Vec<Vec<String>> = chunk.iter().map(|(k, ttl)| set_cmd(k, 500, Some(*ttl))).collect();
        pipeline(&mut c, &cmds);
    }
    let full = used_memory(&mut c);
    let limit = base + (full - base) / 2;
    c.cmd(&["CONFIG", "SET", "maxmemory", &limit.to_string()]);
    c.cmd(&["PING"]);
    let mut by_ttl = keys.clone();
    by_ttl.sort_by_key(|(_, t)| *t);
    let short: Vec<String> = by_ttl[..800].iter().map(|(k, _)| k.clone()).collect();
    let long: Vec<String> = by_ttl[3200..].iter().map(|(k, _)| k.clone()).collect();
    let (s_left, l_left) = (existing(&mut c, &short), existing(&mut c, &long));
    assert!(s_left < 200, "{s_left} of the 800 shortest TTLs survived");
    assert!(l_left > 720, "only {l_left} of the 800 longest TTLs survived");
}

/// Like Redis's LRU test: keys read recently survive the eviction of older ones.
#[test]
fn lru_keeps_the_keys_read_recently() {
    let s = Server::ferrokv_with(&["--maxmemory-policy", "allkeys-lru", "--maxmemory-samples", "10"]);
    let mut c = s.conn();
    let base = used_memory(&mut c);
    let keys = names("k", 4000);
    write_keys(&mut c, &keys, 500);
    let full = used_memory(&mut c);
    // The LRU clock counts seconds: let the keys age, then read a quarter.
    std::thread::sleep(Duration::from_millis(2100));
    let hot: Vec<String> = keys.iter().step_by(4).cloned().collect();
    read_keys(&mut c, &hot);
    let limit = base + (full - base) * 6 / 10;
    c.cmd(&["CONFIG", "SET", "maxmemory", &limit.to_string()]);
    // New keys push out the cold ones.
    write_keys(&mut c, &names("n", 800), 500);
    let hot_left = existing(&mut c, &hot);
    let cold: Vec<String> = keys.iter().enumerate().filter(|(i, _)| i % 4 != 0).map(|(_, k)| k.clone()).collect();
    let cold_left = existing(&mut c, &cold);
    assert!(hot_left * 100 >= hot.len() * 95, "only {hot_left} of {} hot keys survived", hot.len());
    assert!(cold_left * 100 <= cold.len() * 60, "{cold_left} of {} cold keys survived", cold.len());
}

#[test]
fn lfu_keeps_the_keys_read_often() {
    let s = Server::ferrokv_with(&[
        "--maxmemory-policy",
        "allkeys-lfu",
        "--maxmemory-samples",
        "10",
        "--lfu-log-factor",
        "0",
    ]);
    let mut c = s.conn();
    let base = used_memory(&mut c);
    let keys = names("k", 4000);
    write_keys(&mut c, &keys, 500);
    let full = used_memory(&mut c);
    let hot: Vec<String> = keys.iter().step_by(4).cloned().collect();
    for _ in 0..3 {
        read_keys(&mut c, &hot);
    }
    assert_eq!(c.cmd(&["OBJECT", "FREQ", &hot[0]]), Resp::int(8));
    assert_eq!(c.cmd(&["OBJECT", "FREQ", "k1"]), Resp::int(5));
    let limit = base + (full - base) * 6 / 10;
    c.cmd(&["CONFIG", "SET", "maxmemory", &limit.to_string()]);
    write_keys(&mut c, &names("n", 800), 500);
    let hot_left = existing(&mut c, &hot);
    assert!(hot_left * 100 >= hot.len() * 95, "only {hot_left} of {} hot keys survived", hot.len());
}

#[test]
fn object_freq_counts_accesses_as_redis() {
    let mut d = Diff::new();
    d.check_script(
        "SET k v
         OBJECT FREQ k
         OBJECT IDLETIME k
         CONFIG SET maxmemory-policy allkeys-lfu
         CONFIG SET lfu-log-factor 0
         SET n v
         OBJECT FREQ n
         GET n
         GET n
         OBJECT FREQ n
         SET n w
         OBJECT FREQ n
         SET c 100000
         INCR c
         INCRBY c 5
         OBJECT FREQ c
         APPEND n x
         OBJECT FREQ n
         RPUSH l a b
         LPUSH l c
         LRANGE l 0 -1
         OBJECT FREQ l
         HSET h f v
         HGET h f
         HGETALL h
         OBJECT FREQ h
         SADD s a
         SISMEMBER s a
         OBJECT FREQ s
         ZADD z 1 a
         ZSCORE z a
         OBJECT FREQ z
         EXISTS n
         TYPE n
         OBJECT FREQ n
         OBJECT IDLETIME n
         OBJECT FREQ missing
         OBJECT IDLETIME n
         CONFIG SET maxmemory-policy allkeys-lfu",
    );
    let Resp::Bulk(Some(payload)) = d.check(&["DUMP", "n"]) else { panic!("DUMP") };
    for (key, opt, policy) in [
        ("r1", "FREQ", "allkeys-lfu"),
        ("r2", "IDLETIME", "allkeys-lfu"),
        ("r3", "FREQ", "allkeys-lru"),
        ("r4", "IDLETIME", "allkeys-lru"),
    ] {
        d.check(&["CONFIG", "SET", "maxmemory-policy", policy]);
        d.check_b(&[b"RESTORE", key.as_bytes(), b"0", &payload, opt.as_bytes(), b"100"]);
        d.check(&["OBJECT", "FREQ", key]);
        d.check(&["OBJECT", "IDLETIME", key]);
    }
}

#[test]
fn lfu_counters_survive_a_restart() {
    let s = Server::ferrokv_with(&[
        "--maxmemory-policy",
        "allkeys-lfu",
        "--lfu-log-factor",
        "0",
        "--enable-debug-command",
        "yes",
    ]);
    let mut c = s.conn();
    c.cmd(&["SET", "k", "v"]);
    for _ in 0..20 {
        c.cmd(&["GET", "k"]);
    }
    assert_eq!(c.cmd(&["DEBUG", "RELOAD"]), Resp::ok());
    assert_eq!(c.cmd(&["OBJECT", "FREQ", "k"]), Resp::int(25));
    // Redis loads the same file with the same counter.
    let dump = c.cmd(&["DUMP", "k"]);
    let r = Server::redis_with(&["--maxmemory-policy", "allkeys-lfu"]);
    let mut rc = r.conn();
    let Resp::Bulk(Some(payload)) = dump else { panic!("DUMP gave {dump:?}") };
    assert_eq!(rc.cmd_b(&[b"RESTORE", b"k", b"0", &payload, b"FREQ", b"25"]), Resp::ok());
    assert_eq!(rc.cmd(&["OBJECT", "FREQ", "k"]), Resp::int(25));
}

#[test]
fn evicted_keys_raise_events_and_touch_watchers() {
    let s = Server::ferrokv_with(&["--maxmemory-policy", "allkeys-random", "--notify-keyspace-events", "Ee"]);
    let mut c = s.conn();
    let mut sub = s.conn();
    sub.cmd(&["SUBSCRIBE", "__keyevent@0__:evicted"]);
    let mut w = s.conn();
    c.cmd(&["SET", "watched", "1"]);
    w.cmd(&["WATCH", "watched"]);
    let cmds: Vec<Vec<String>> = (0..200).map(|i| set_cmd(&format!("k{i}"), 1000, None)).collect();
    pipeline(&mut c, &cmds);
    let limit = used_memory(&mut c) / 2;
    // Evicting half of memory takes every key, the watched one too.
    c.cmd(&["CONFIG", "SET", "maxmemory", &limit.to_string()]);
    let mut evicted = Vec::new();
    sub.set_timeout(Duration::from_secs(5));
    while evicted.len() < 201 {
        let m = sub.read().items();
        evicted.push(m[2].text());
        if m[2].text() == "watched" {
            break;
        }
    }
    assert!(evicted.contains(&"watched".to_string()));
    c.cmd(&["CONFIG", "SET", "maxmemory", "0"]);
    w.cmd(&["MULTI"]);
    w.cmd(&["SET", "watched", "2"]);
    assert_eq!(w.cmd(&["EXEC"]), Resp::Array(None));
    c.cmd(&["CONFIG", "SET", "maxmemory", "0"]);
    assert!(stat(&mut c, "evicted_keys") >= evicted.len() as u64);
}

#[test]
fn info_reports_maxmemory_and_eviction_time() {
    let s = Server::ferrokv_with(&["--maxmemory-policy", "noeviction"]);
    let mut c = s.conn();
    c.cmd(&["CONFIG", "SET", "maxmemory", "1"]);
    assert_eq!(info_field(&mut c, "memory", "maxmemory"), "1");
    assert_eq!(info_field(&mut c, "memory", "maxmemory_policy"), "noeviction");
    c.cmd(&["SET", "a", "1"]);
    std::thread::sleep(Duration::from_millis(50));
    c.cmd(&["SET", "a", "1"]);
    let cur: u64 = info_field(&mut c, "stats", "current_eviction_exceeded_time").parse().expect("ms");
    assert!(cur >= 40, "current_eviction_exceeded_time {cur}");
    c.cmd(&["CONFIG", "SET", "maxmemory", "1gb"]);
    c.cmd(&["PING"]);
    assert_eq!(info_field(&mut c, "stats", "current_eviction_exceeded_time"), "0");
    let total: u64 = info_field(&mut c, "stats", "total_eviction_exceeded_time").parse().expect("ms");
    assert!(total >= 40, "total_eviction_exceeded_time {total}");
    c.cmd(&["CONFIG", "RESETSTAT"]);
    assert_eq!(info_field(&mut c, "stats", "total_eviction_exceeded_time"), "0");
}

#[test]
fn lazyfree_counts_objects_freed_in_the_background() {
    both_servers(|s| {
        let mut c = s.conn();
        let cmds: Vec<Vec<String>> = (0..200)
            .map(|i| vec!["HSET".into(), "big".into(), format!("f{i}"), "x".repeat(100)])
            .chain((0..10).map(|i| vec!["SET".into(), format!("s{i}"), "v".into()]))
            .collect();
        pipeline(&mut c, &cmds);
        let mut seen = Vec::new();
        c.cmd(&["UNLINK", "big"]);
        settle();
        seen.push(info_field(&mut c, "memory", "lazyfreed_objects"));
        c.cmd(&["FLUSHALL", "ASYNC"]);
        settle();
        seen.push(info_field(&mut c, "memory", "lazyfreed_objects"));
        seen.push(info_field(&mut c, "memory", "lazyfree_pending_objects"));
        c.cmd(&["CONFIG", "RESETSTAT"]);
        seen.push(info_field(&mut c, "memory", "lazyfreed_objects"));
        seen
    });
}

#[test]
fn a_big_unlink_is_freed_in_the_background() {
    let s = Server::ferrokv();
    let mut c = s.conn();
    // A hash of 1M fields, written in pipelines.
    for batch in 0..100 {
        let mut cmd = vec!["HSET".to_string(), "big".to_string()];
        for i in 0..10_000 {
            cmd.push(format!("field:{batch}:{i}"));
            cmd.push("v".to_string());
        }
        pipeline(&mut c, &[cmd]);
    }
    let mut other = s.conn();
    c.send(&[b"UNLINK", b"big"]);
    assert_eq!(other.cmd(&["PING"]), Resp::simple("PONG"));
    assert_eq!(c.read(), Resp::int(1));
    // Freed by the background thread, not by the command.
    for _ in 0..100 {
        if info_field(&mut c, "memory", "lazyfreed_objects") == "1" {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(info_field(&mut c, "memory", "lazyfreed_objects"), "1");
    assert_eq!(info_field(&mut c, "memory", "lazyfree_pending_objects"), "0");
}
