//! Client-side caching (CLIENT TRACKING, CACHING, GETREDIR, TRACKINGINFO),
//! differential against real Redis: every scenario runs on a fresh ferrokv
//! and a fresh Redis, with several connections, and the bytes each
//! connection receives (replies and invalidation messages, in order) must be
//! identical. Covers the default mode, OPTIN/OPTOUT with CLIENT CACHING,
//! NOLOOP, BCAST with prefixes, REDIRECT (RESP3 pushes and RESP2
//! `__redis__:invalidate` messages, broken redirects), flushes, expiry,
//! transactions, scripts, RESET and disconnects, the INFO figures and
//! `tracking-table-max-keys`.

mod common;

use common::*;
use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

/// A scenario's connections to one server; what each received is logged.
struct Clients {
    conns: Vec<TcpStream>,
    ids: Vec<u64>,
    log: Vec<String>,
}

impl Clients {
    fn open(port: u16, n: usize) -> Clients {
        let mut c = Clients { conns: Vec::new(), ids: Vec::new(), log: Vec::new() };
        for _ in 0..n {
            let mut s = raw_connect(port);
            s.write_all(b"CLIENT ID\r\n").unwrap();
            let (b, _) = read_until_quiet(&mut s, Duration::from_millis(100));
            let id = String::from_utf8_lossy(&b).trim().trim_start_matches(':').parse().expect("client id");
            c.conns.push(s);
            c.ids.push(id);
        }
        c
    }

    /// Replaces the real client ids by `$ID<n>` (they differ between servers).
    fn masked(&self, text: &str) -> String {
        let mut t = text.to_string();
        // Longest ids first, so that 12 is not replaced inside 123.
        let mut order: Vec<usize> = (0..self.ids.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(self.ids[i]));
        for i in order {
            let id = self.ids[i].to_string();
            for (pre, post) in [(":", "\r\n"), ("redir=", " "), ("id=", " ")] {
                t = t.replace(&format!("{pre}{id}{post}"), &format!("{pre}$ID{i}{post}"));
            }
        }
        t
    }

    /// Runs one step: `N> command` sends on connection N (`$IDk` stands for
    /// connection k's id) and logs what N receives; `N?` logs what N has
    /// received meanwhile; `sleep MS` waits.
    fn step(&mut self, line: &str) {
        if let Some(ms) = line.strip_prefix("sleep ") {
            std::thread::sleep(Duration::from_millis(ms.trim().parse().unwrap()));
            return;
        }
        let (who, rest) = line.split_at(line.find(['>', '?']).expect("step needs > or ?"));
        let n: usize = who.trim().parse().expect("connection number");
        if let Some(cmd) = rest.strip_prefix('>') {
            let mut cmd = cmd.trim().to_string();
            for (i, id) in self.ids.iter().enumerate() {
                cmd = cmd.replace(&format!("$ID{i}"), &id.to_string());
            }
            let args = split(&cmd);
            let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
            self.conns[n].write_all(&Conn::encode(&refs)).unwrap();
        }
        let (got, closed) = read_until_quiet(&mut self.conns[n], Duration::from_millis(60));
        let text = relevant(&self.masked(&String::from_utf8_lossy(&got)));
        self.log.push(format!("{line} => {}{}", text.escape_debug(), if closed { " [closed]" } else { "" }));
    }
}

/// Keeps what may be compared of INFO (the tracking lines) and CLIENT LIST
/// (flags and redirect) replies; others are kept whole.
fn relevant(text: &str) -> String {
    if text.contains("# Clients") || text.contains("# Stats") {
        return text.split("\r\n").filter(|l| l.starts_with("tracking_")).collect::<Vec<_>>().join(",");
    }
    if text.contains(" flags=") {
        return text
            .split([' ', '\n'])
            .filter(|w| w.starts_with("flags=") || w.starts_with("redir="))
            .collect::<Vec<_>>()
            .join(" ");
    }
    text.to_string()
}

/// Runs `script` (one step per line) with `n` connections on both servers
/// and asserts the logs match line by line.
fn same(n: usize, script: &str) {
    let run = |port: u16| {
        let mut c = Clients::open(port, n);
        for line in script.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            if let Some(k) = line.strip_prefix("close ") {
                let k: usize = k.trim().parse().unwrap();
                c.conns[k].shutdown(std::net::Shutdown::Both).ok();
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
            c.step(line);
        }
        c.log
    };
    let f = Server::ferrokv();
    let r = Server::redis();
    let got = run(f.port);
    let want = run(r.port);
    if std::env::var("TRACKING_SHOW").is_ok() {
        eprintln!("{}", got.join("\n"));
    }
    for (g, w) in got.iter().zip(want.iter()) {
        assert_eq!(g, w, "ferrokv (left) and redis (right) differ");
    }
    assert_eq!(got.len(), want.len());
}

#[test]
fn options_errors_and_introspection() {
    same(
        2,
        "0> CLIENT TRACKING on PREFIX a
         0> CLIENT TRACKING on optin optout
         0> CLIENT TRACKING on bcast optin
         0> CLIENT TRACKING on bcast optout
         0> CLIENT TRACKING on redirect 999999
         0> CLIENT TRACKING on redirect abc
         0> CLIENT TRACKING on redirect -1
         0> CLIENT TRACKING on redirect 0
         0> CLIENT TRACKING on redirect $ID1 redirect $ID1
         0> CLIENT TRACKING maybe
         0> CLIENT TRACKING on foo
         0> CLIENT TRACKING on redirect
         0> CLIENT TRACKING on prefix
         0> CLIENT TRACKING
         0> CLIENT TRACKING on bcast prefix a prefix ab
         0> CLIENT TRACKING on bcast prefix ab prefix a
         0> CLIENT TRACKING on bcast prefix a prefix a
         0> CLIENT TRACKING off redirect 999999
         0> CLIENT TRACKING off bcast optin optout
         0> CLIENT CACHING yes
         0> CLIENT CACHING no
         0> CLIENT CACHING maybe
         0> CLIENT CACHING
         0> CLIENT CACHING yes no
         0> CLIENT GETREDIR
         0> CLIENT TRACKINGINFO
         0> CLIENT TRACKING on
         0> CLIENT CACHING yes
         0> CLIENT CACHING no
         0> CLIENT TRACKING on bcast
         0> CLIENT TRACKING on optin
         0> CLIENT TRACKING on optout
         0> CLIENT CACHING yes
         0> CLIENT TRACKINGINFO
         0> CLIENT GETREDIR
         0> CLIENT TRACKING on redirect $ID1 noloop
         0> CLIENT GETREDIR
         0> CLIENT TRACKINGINFO
         0> HELLO 3
         0> CLIENT TRACKINGINFO
         0> CLIENT TRACKING off
         0> CLIENT TRACKINGINFO
         0> CLIENT GETREDIR
         0> CLIENT TRACKING on optout
         0> CLIENT CACHING no
         0> CLIENT TRACKINGINFO
         0> GET x
         0> CLIENT TRACKINGINFO
         0> CLIENT TRACKING off
         0> CLIENT TRACKING on bcast prefix b prefix a noloop
         0> CLIENT TRACKINGINFO
         0> CLIENT TRACKING on bcast prefix ab
         0> CLIENT TRACKING on bcast prefix c
         0> CLIENT TRACKINGINFO
         0> CLIENT TRACKING off
         0> CLIENT TRACKING on bcast prefix \"\"
         0> CLIENT TRACKING on bcast
         0> CLIENT TRACKING on bcast prefix x
         0> CLIENT TRACKINGINFO
         0> CLIENT TRACKING off
         0> CLIENT TRACKING on bcast
         0> CLIENT TRACKINGINFO
         1> CLIENT TRACKING on redirect $ID0
         1> CLIENT GETREDIR
         1> RESET
         1> CLIENT TRACKINGINFO
         1> CLIENT GETREDIR",
    );
}

#[test]
fn default_mode_invalidations() {
    same(
        2,
        "0> HELLO 3
         0> CLIENT TRACKING on
         0> GET k
         0> SET k 1
         0> GET k
         1> SET k 2
         0?
         0> MGET a b
         0> EXISTS e
         0> SET e 1
         0> MSET a 1 b 2
         0> TYPE s
         0> SCARD s
         1> DEL s
         1> SADD s x
         0?
         0> SMEMBERS s
         1> SADD s x
         0?
         1> EXPIRE s 100
         0?
         0> TTL s
         1> PERSIST s
         0?
         0> GET s
         1> EXPIRE s 100
         0?
         0> GET d1
         1> SELECT 1
         1> SET d1 x
         0?
         0> GET sw
         1> SWAPDB 0 1
         0?
         1> SWAPDB 0 1
         0> MULTI
         0> GET m
         0> SET m 1
         0> GET m
         0> EXEC
         1> SET m 2
         0?
         0> GET f1
         1> SELECT 3
         1> FLUSHDB
         0?
         1> SET f1 1
         0?
         0> GET f2
         0> FLUSHALL
         0> GET f3
         0> FLUSHDB
         1> SET f3 1
         0?
         0> HSET h a 1
         0> HGET h a
         1> HINCRBY h a 1
         0?
         0> HGET h a
         1> RENAME h h2
         0?
         0> GET h2
         1> RENAME h2 h
         0?
         0> LRANGE l 0 -1
         1> RPUSH l 1
         0?
         0> LLEN l
         1> LPOP l
         0?",
    );
}

#[test]
fn optin_optout_and_noloop() {
    same(
        2,
        "0> HELLO 3
         0> CLIENT TRACKING on optin
         0> GET a
         1> SET a 1
         0?
         0> CLIENT CACHING yes
         0> CLIENT TRACKINGINFO
         0> GET a
         0> GET b
         1> MSET a 2 b 2
         0?
         0> CLIENT CACHING yes
         0> MULTI
         0> GET c
         0> GET d
         0> EXEC
         0> GET e
         1> MSET c 1 d 1 e 1
         0?
         0> CLIENT CACHING yes
         0> CLIENT ID
         0> GET f
         1> SET f 1
         0?
         0> CLIENT CACHING yes
         0> NOSUCHCOMMAND
         0> GET g
         1> SET g 1
         0?
         0> CLIENT TRACKING off
         0> CLIENT TRACKING on optout
         0> CLIENT CACHING no
         0> GET o1
         0> GET o2
         1> MSET o1 1 o2 2
         0?
         0> CLIENT CACHING no
         0> MULTI
         0> GET o3
         0> GET o4
         0> EXEC
         1> MSET o3 1 o4 2
         0?
         0> CLIENT TRACKING off
         0> CLIENT TRACKING on noloop
         0> GET n
         0> SET n 1
         0> GET n
         1> SET n 2
         0?
         0> GET n
         0> INCR n
         0> INCR n
         0> CLIENT TRACKINGINFO",
    );
}

#[test]
fn bcast_prefixes() {
    same(
        3,
        "0> HELLO 3
         0> CLIENT TRACKING on bcast prefix p prefix q noloop
         2> HELLO 3
         2> CLIENT TRACKING on bcast
         0> SET p1 1
         0> MSET p2 1 zz 2
         0?
         2?
         1> SET p3 1
         0?
         2?
         1> MSET q1 1 p4 2 z 3 p4 5
         0?
         2?
         0> SET p5 1
         1> SET p5 2
         0?
         2?
         1> SET p6 1
         0> SET p6 2
         0?
         2?
         0> GET p7
         1> SET p7 1
         0?
         1> DEL nothing
         0?
         2?
         1> FLUSHALL
         0?
         2?
         0> CLIENT TRACKING off
         1> SET p8 1
         0?
         2?
         1> INFO stats",
    );
}

#[test]
fn redirect_resp2_and_resp3_and_broken() {
    same(
        3,
        "1> SUBSCRIBE __redis__:invalidate
         0> CLIENT TRACKING on redirect $ID1
         0> GET r
         1?
         2> SET r 1
         1?
         0?
         0> GET r
         0> SET r 2
         0?
         1?
         0> GET r
         2> FLUSHALL
         1?
         0> GET r
         0> CLIENT LIST ID $ID0
         close 1
         2> SET r 3
         0?
         0> CLIENT TRACKINGINFO
         0> CLIENT LIST ID $ID0
         0> HELLO 3
         0> GET r
         2> SET r 4
         0?
         0> CLIENT TRACKINGINFO
         0> CLIENT TRACKING on redirect $ID2
         0> CLIENT TRACKINGINFO
         2> HELLO 3
         0> GET s
         0> SET s 1
         0?
         2?
         0> CLIENT TRACKING on bcast
         0> CLIENT TRACKING off
         0> CLIENT TRACKING on bcast redirect $ID2 prefix s
         0> SET s 2
         0?
         2?
         0> CLIENT LIST ID $ID0",
    );
}

#[test]
fn resp2_client_without_redirect_gets_nothing() {
    same(
        2,
        "0> CLIENT TRACKING on
         0> GET a
         1> INFO stats
         1> SET a 1
         0?
         0> GET a
         0> INFO clients
         1> INFO stats",
    );
}

#[test]
fn scripts_track_the_callers_keys() {
    same(
        2,
        "0> HELLO 3
         0> CLIENT TRACKING on
         0> EVAL \"redis.call('get',KEYS[1]); return redis.call('get','undeclared')\" 1 s1
         1> SET s1 x
         1> SET undeclared y
         0?
         0> EVAL \"return 1\" 1 s2
         1> SET s2 x
         0?
         0> EVAL \"return redis.call('set',KEYS[1],1)\" 1 s3
         0> EVAL_RO \"return redis.call('get',KEYS[1])\" 1 ro
         1> SET ro 1
         0?
         0> EVAL \"redis.call('get','q'); redis.call('set','q','1'); return 1\" 0
         0> GET w
         0> EVAL \"return redis.call('set',KEYS[1],'v')\" 1 w
         0> FUNCTION LOAD \"#!lua name=lib\\nredis.register_function('rd', function(k) return redis.call('get', k[1]) end)\"
         0> FCALL rd 1 fk
         1> SET fk 1
         0?
         0> CLIENT TRACKING off
         0> CLIENT TRACKING on optin
         0> EVAL \"return redis.call('get',KEYS[1])\" 1 s4
         1> SET s4 1
         0?
         0> CLIENT CACHING yes
         0> EVAL \"return redis.call('get',KEYS[1])\" 1 s5
         1> SET s5 1
         0?",
    );
}

#[test]
fn expiry_invalidates() {
    same(
        2,
        "0> HELLO 3
         0> CLIENT TRACKING on
         1> SET x 1 PX 300
         0> GET x
         sleep 700
         0?
         0> GET x
         1> SET y 1 PX 300
         0> GET y
         sleep 400
         0> GET y",
    );
}

#[test]
fn info_counts_and_disconnects() {
    same(
        3,
        "0> CLIENT TRACKING on
         1> CLIENT TRACKING on bcast prefix a prefix b
         2> INFO clients
         2> INFO stats
         0> MGET k1 k2 k3
         1> GET k1
         2> INFO stats
         1> CLIENT TRACKING on bcast prefix c
         2> INFO stats
         close 1
         2> INFO clients
         2> INFO stats
         2> SET k1 1
         2> INFO stats
         0> RESET
         2> INFO clients
         2> INFO stats",
    );
}

#[test]
fn table_limit_invalidates_keys() {
    // Which keys go is random: compare how many invalidations arrive and the
    // table's size, not the keys.
    let scenario = |s: &Server| {
        let mut c = s.conn();
        c.cmd(&["HELLO", "3"]);
        c.cmd(&["CLIENT", "TRACKING", "on"]);
        let mut admin = s.conn();
        admin.cmd(&["CONFIG", "SET", "tracking-table-max-keys", "5"]);
        let keys: Vec<String> = (0..12).map(|i| format!("t{i}")).collect();
        let mut args = vec!["MGET"];
        args.extend(keys.iter().map(String::as_str));
        let reply = c.cmd(&args);
        let mut pushes = Vec::new();
        for _ in 0..7 {
            // Each invalidation is a push `invalidate [key]`: its key is random.
            let p = c.read().items();
            pushes.push((p[0].clone(), p[1].items().len()));
        }
        let total = info_field(&mut admin, "stats", "tracking_total_keys");
        // Nothing more was dropped: the next reply is PING's.
        (reply.items().len(), pushes, total, c.cmd(&["PING"]))
    };
    let got = both_servers(scenario);
    assert_eq!(got.2, "5");
}
