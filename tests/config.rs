//! Configuration, black-box: CONFIG GET/SET/RESETSTAT/REWRITE/HELP compared
//! with real Redis, and startup (config files, `--directive value` arguments,
//! fatal config errors, `--version`, pidfile, SIGTERM) compared with
//! redis-server run the same way.

mod common;
use common::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Keys whose values differ between the two servers by nature (each has its
/// own port, directory, log file).
const PER_SERVER: &[&str] = &["port", "dir", "logfile", "pidfile"];

/// A CONFIG GET reply as sorted (name, value) pairs, without per-server keys.
fn pairs(r: &Resp) -> Vec<(String, String)> {
    let items = match r {
        Resp::Error(e) => return vec![("ERROR".into(), e.clone())],
        other => other.items(),
    };
    let mut v: Vec<(String, String)> = items
        .chunks(2)
        .map(|p| (p[0].text(), p.get(1).map(|x| x.text()).unwrap_or_default()))
        .filter(|(k, _)| !PER_SERVER.contains(&k.to_ascii_lowercase().as_str()))
        .collect();
    v.sort();
    v
}

/// CONFIG GET on both servers, compared as unordered pairs (Redis's order is
/// its dict's, which is random).
fn check_get(d: &mut Diff, args: &[&str]) -> Vec<(String, String)> {
    let mut full = vec!["CONFIG", "GET"];
    full.extend_from_slice(args);
    let (f, r) = d.both(&full);
    let (pf, pr) = (pairs(&f), pairs(&r));
    assert_eq!(pf, pr, "CONFIG GET {args:?} differs");
    pf
}

/// Runs lines of redis-cli syntax on both: CONFIG GET compared as pairs,
/// everything else exactly.
fn script(d: &mut Diff, lines: &str) {
    for line in lines.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let args = split(line);
        let strs: Vec<String> = args.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        let refs: Vec<&str> = strs.iter().map(String::as_str).collect();
        if refs.len() >= 2 && refs[0].eq_ignore_ascii_case("config") && refs[1].eq_ignore_ascii_case("get") {
            check_get(d, &refs[2..]);
        } else {
            d.check(&refs);
        }
    }
}

#[test]
fn config_get_patterns_match_redis() {
    let mut d = Diff::new();
    let all = check_get(&mut d, &["*"]);
    assert_eq!(all.len() + PER_SERVER.len(), 192);
    for p in [
        "maxmemory",
        "MAXMEMORY",
        "*max*",
        "slave*",
        "*port",
        "hash-*",
        "?z*",
        "[a-c]*",
        "*ziplist*",
        "use-exit-on-panic",
        "use-exit*",
        "key-load-delay",
        "nosuch",
        "lua-replicate-commands",
        "list-max-ziplist-entries",
        "slaveof",
        "save",
        "bind",
        "client-output-buffer-limit",
        "oom-score-adj-values",
        "latency-tracking-info-percentiles",
        "",
        "\\*",
    ] {
        check_get(&mut d, &[p]);
    }
    check_get(&mut d, &["maxmemory", "maxmemory-policy", "MAXMEMORY", "hz"]);
    check_get(&mut d, &["port*", "*port", "PORT"]);
    check_get(&mut d, &["slave-read-only", "replica-read-only", "SLAVE-READ-ONLY"]);
    d.check(&["CONFIG", "GET"]);
}

#[test]
fn config_set_values_and_errors_match_redis() {
    let mut d = Diff::new();
    script(
        &mut d,
        r#"
        CONFIG SET maxmemory 1gb
        CONFIG GET maxmemory
        CONFIG SET maxmemory 5K
        CONFIG GET maxmemory
        CONFIG SET maxmemory ""
        CONFIG SET maxmemory 1.5gb
        CONFIG SET maxmemory -1
        CONFIG SET maxmemory 18446744073709551616
        CONFIG GET maxmemory
        CONFIG SET maxmemory 0
        CONFIG SET maxmemory-clients 10%
        CONFIG GET maxmemory-clients
        CONFIG SET maxmemory-clients 101%
        CONFIG SET maxmemory-clients -5
        CONFIG SET maxmemory-clients 0
        CONFIG SET port abc
        CONFIG SET port 70000
        CONFIG SET timeout 007
        CONFIG SET timeout " 5"
        CONFIG SET timeout 30
        CONFIG GET timeout
        CONFIG SET slowlog-log-slower-than -0
        CONFIG SET slowlog-log-slower-than -2
        CONFIG SET maxclients -1
        CONFIG SET maxclients 0
        CONFIG SET list-max-ziplist-size abc
        CONFIG SET list-max-listpack-size -2147483649
        CONFIG SET hash-max-listpack-value -1
        CONFIG SET hash-max-ziplist-value 99999999999999999999
        CONFIG SET proto-max-bulk-len 10
        CONFIG SET proto-max-bulk-len 10gb
        CONFIG GET proto-max-bulk-len
        CONFIG SET proto-max-bulk-len 512mb
        CONFIG SET hz 1000
        CONFIG GET hz
        CONFIG SET hz 0
        CONFIG GET hz
        CONFIG SET hz 10
        CONFIG SET loglevel foo
        CONFIG SET loglevel WARNING
        CONFIG GET loglevel
        CONFIG SET loglevel notice
        CONFIG SET appendonly maybe
        CONFIG SET maxmemory-policy ALLKEYS-LRU
        CONFIG GET maxmemory-policy
        CONFIG SET maxmemory-policy "allkeys-lru volatile-lru"
        CONFIG SET maxmemory-policy noeviction
        CONFIG SET repl-diskless-load zzz
        CONFIG SET sanitize-dump-payload zzz
        CONFIG SET shutdown-on-sigint "save nosave"
        CONFIG SET shutdown-on-sigint "now save"
        CONFIG GET shutdown-on-sigint
        CONFIG SET shutdown-on-sigint ""
        CONFIG SET shutdown-on-sigint default
        CONFIG SET save "1 2 3"
        CONFIG SET save "1 2  3 4"
        CONFIG SET save "0 1"
        CONFIG SET save "100 10 200 20"
        CONFIG GET save
        CONFIG SET save ""
        CONFIG GET save
        CONFIG SET client-output-buffer-limit "normal 1 2"
        CONFIG SET client-output-buffer-limit "normal 1mb 2k -1"
        CONFIG SET client-output-buffer-limit "master 1mb 2k 1"
        CONFIG SET client-output-buffer-limit "replica 1mb 2k 1"
        CONFIG GET client-output-buffer-limit
        CONFIG SET oom-score-adj-values "1 2"
        CONFIG SET oom-score-adj-values "1 2 3000"
        CONFIG SET oom-score-adj-values "100 2 30"
        CONFIG GET oom-score-adj-values
        CONFIG SET notify-keyspace-events Q
        CONFIG SET notify-keyspace-events KEA
        CONFIG GET notify-keyspace-events
        CONFIG SET notify-keyspace-events Kgm
        CONFIG GET notify-keyspace-events
        CONFIG SET notify-keyspace-events ""
        CONFIG SET latency-tracking-info-percentiles "50 abc"
        CONFIG SET latency-tracking-info-percentiles "50 101"
        CONFIG SET latency-tracking-info-percentiles "50.5 99.99 0"
        CONFIG GET latency-tracking-info-percentiles
        CONFIG SET latency-tracking-info-percentiles ""
        CONFIG GET latency-tracking-info-percentiles
        CONFIG SET bind "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17"
        CONFIG SET proc-title-template "{foo}"
        CONFIG SET proc-title-template ""
        CONFIG SET cluster-announce-hostname "a_b"
        CONFIG SET cluster-announce-hostname "a.b-c"
        CONFIG GET cluster-announce-hostname
        CONFIG SET masterauth secret
        CONFIG GET masterauth
        CONFIG SET key-load-delay -5
        CONFIG GET key-load-delay
        CONFIG SET loading-process-events-interval-bytes 10
        CONFIG SET stream-node-max-bytes 4k
        CONFIG GET stream-node-max-bytes
        CONFIG SET repl-backlog-size 1
        CONFIG GET repl-backlog-size
        CONFIG SET tls-port 0
        CONFIG SET tls-port 1
        CONFIG SET tls-replication yes
        CONFIG SET activedefrag no
        "#,
    );
}

#[test]
fn config_set_refusals_match_redis() {
    let mut d = Diff::new();
    script(
        &mut d,
        r#"
        CONFIG SET databases 3
        CONFIG SET daemonize yes
        CONFIG SET io-threads 2
        CONFIG SET logfile /tmp/x
        CONFIG SET replicaof "127.0.0.1 1"
        CONFIG SET slaveof "127.0.0.1 1"
        CONFIG SET unixsocketperm 1
        CONFIG SET appendfilename "a/b"
        CONFIG SET enable-debug-command yes
        CONFIG SET dir /tmp
        CONFIG SET dbfilename x.rdb
        CONFIG SET nosuch 1
        CONFIG SET nosuch 1 databases 2
        CONFIG SET databases 2 nosuch 1
        CONFIG SET maxmemory 1GB maxmemory 2gb
        CONFIG SET a 1 b
        CONFIG SET
        CONFIG SET maxmemory
        CONFIG SET slave-read-only maybe
        CONFIG SET slave-read-only yes replica-read-only no
        CONFIG GET replica-read-only
        CONFIG GET slave-read-only
        CONFIG SET hash-max-ziplist-entries 7
        CONFIG GET hash-max-listpack-entries
        CONFIG SET lua-time-limit 100
        CONFIG GET busy-reply-threshold
        CONFIG SET list-max-ziplist-entries 5
        "#,
    );
}

#[test]
fn config_set_is_atomic() {
    let mut d = Diff::new();
    script(
        &mut d,
        r#"
        CONFIG SET maxmemory 1mb timeout 10 port abc
        CONFIG GET maxmemory timeout
        CONFIG SET maxmemory 2mb timeout 20 hz 5
        CONFIG GET maxmemory timeout hz
        CONFIG SET maxmemory 3mb timeout -1
        CONFIG GET maxmemory timeout
        "#,
    );
}

#[test]
fn protected_configs_when_enabled() {
    let mut d = Diff::with(&["--enable-protected-configs", "local"]);
    script(
        &mut d,
        r#"
        CONFIG SET dbfilename a/b
        CONFIG SET dbfilename x.rdb
        CONFIG GET dbfilename
        CONFIG SET dir /nonexistent-ferrokv-dir
        CONFIG SET dir /tmp
        CONFIG GET dir
        "#,
    );
}

#[test]
fn config_help_resetstat_rewrite_and_resp3() {
    let mut d = Diff::new();
    d.check(&["CONFIG", "HELP"]);
    d.check(&["CONFIG", "help", "extra"]);
    d.check(&["CONFIG", "FOO"]);
    d.check(&["CONFIG"]);
    d.check(&["SET", "k", "v"]);
    d.check(&["GET", "nokey"]);
    d.check(&["CONFIG", "RESETSTAT"]);
    d.check(&["CONFIG", "RESETSTAT", "x"]);
    d.check(&["CONFIG", "REWRITE"]);
    d.check(&["CONFIG", "REWRITE", "x"]);
    d.both(&["HELLO", "3"]);
    let (f, r) = d.both(&["CONFIG", "GET", "maxmemory"]);
    assert!(matches!(f, Resp::Map(_)), "{f:?}");
    assert_eq!(f, r);
}

#[test]
fn config_set_port_and_bind_rebind_listeners() {
    let s = Server::ferrokv();
    let mut c = s.conn();
    let newport = free_port();
    assert_eq!(c.cmd(&["CONFIG", "SET", "port", &newport.to_string()]), Resp::ok());
    let mut c2 = Conn::connect(newport);
    assert_eq!(c2.cmd(&["PING"]), Resp::simple("PONG"));
    assert!(std::net::TcpStream::connect(("127.0.0.1", s.port)).is_err());
    // The existing connection stays open.
    assert_eq!(c.cmd(&["CONFIG", "GET", "port"]), Resp::bulks(&["port", &newport.to_string()]));
    // Same port, other addresses: the old listener must release the address.
    assert_eq!(c.cmd(&["CONFIG", "SET", "bind", "127.0.0.1 -::1"]), Resp::ok());
    let mut c3 = Conn::connect(newport);
    assert_eq!(c3.cmd(&["PING"]), Resp::simple("PONG"));
    // A port in use is refused and the old one keeps serving.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let busy_port = busy.local_addr().expect("addr").port().to_string();
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "port", &busy_port]),
        Resp::err("ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port")
    );
    let mut c4 = Conn::connect(newport);
    assert_eq!(c4.cmd(&["PING"]), Resp::simple("PONG"));
}

// ---- startup ----

fn run_to_end(bin: &str, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut child = Command::new(bin)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
    if let Some(mut w) = child.stdin.take() {
        use std::io::Write;
        let _ = w.write_all(stdin.unwrap_or("").as_bytes());
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{bin} {args:?} did not exit");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().expect("output");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Removes the `pid:C date time # ` prefix of log lines.
fn strip_log_prefix(s: &str) -> String {
    s.lines()
        .map(|l| match l.find(" # ") {
            Some(i) if l.as_bytes().first().is_some_and(u8::is_ascii_digit) => l[i + 3..].to_string(),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn tmp(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("ferrokv-cfgtest-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Both binaries must fail the same way (exit status, stderr, log text).
fn same_failure(args: &[&str], stdin: Option<&str>) {
    let (fc, fo, fe) = run_to_end(ferrokv_bin(), args, stdin);
    let (rc, ro, re) = run_to_end("redis-server", args, stdin);
    assert_eq!((fc, fe.as_str()), (rc, re.as_str()), "exit/stderr differ for {args:?}");
    assert_eq!(strip_log_prefix(&fo), strip_log_prefix(&ro), "stdout differs for {args:?}");
    assert_eq!(fc, 1, "{args:?} should fail");
}

#[test]
fn fatal_config_errors_match_redis() {
    let d = tmp("fatal");
    let p = |n: &str| d.join(n).display().to_string();
    std::fs::write(p("a.conf"), "port 7000\n# comment\n\n  maxmemory 1xb\n").expect("write");
    std::fs::write(p("b.conf"), "port \"7000\n").expect("write");
    std::fs::write(p("inc.conf"), "\n\nhz abc\n").expect("write");
    std::fs::write(p("i.conf"), format!("include {}\n", p("inc.conf"))).expect("write");
    std::fs::write(p("m.conf"), "save 1 2\nfoo.bar\n").expect("write");
    std::fs::write(p("q.conf"), "requirepass \"a\"b\n").expect("write");
    let (a, b, i, m, q) = (p("a.conf"), p("b.conf"), p("i.conf"), p("m.conf"), p("q.conf"));
    let cases: Vec<Vec<&str>> = vec![
        vec!["--port", "abc"],
        vec!["--port"],
        vec!["--port", "--loglevel", "verbose"],
        vec!["--foo", "1"],
        vec![&a],
        vec![&a, "--port", "1"],
        vec!["/nonexistent-ferrokv.conf"],
        vec!["--logfile", "/nonexistent-ferrokv/x.log"],
        vec!["--appendonly", "maybe"],
        vec!["--loglevel", "foo"],
        vec!["--dir", "/nonexistent-ferrokv"],
        vec!["--save", "1"],
        vec!["--save", "1", "2", "3"],
        vec!["--client-output-buffer-limit", "foo 1 2 3"],
        vec!["--unixsocketperm", "999"],
        vec!["--maxmemory-clients", "200%"],
        vec!["--include", "/nonexistent-ferrokv.conf"],
        vec!["--rename-command", "FOOX", "bar"],
        vec!["--rename-command", "get", "set"],
        vec!["--cluster-enabled", "yes", "--replicaof", "127.0.0.1", "7000"],
        vec![&b],
        vec![&i],
        vec![&m],
        vec![&q],
        vec!["bogus", "arg"],
        vec!["--port", "1", "extra"],
        vec!["--replicaof", "x"],
        vec!["--replicaof", "x", "y"],
        vec!["--notify-keyspace-events", "Z"],
        vec!["--oom-score-adj-values", "1 2"],
        vec!["--latency-tracking-info-percentiles", "101"],
        vec!["--shutdown-on-sigint", "save nosave"],
        vec!["--dbfilename", "a/b"],
        vec!["--appendfilename", ""],
        vec!["--proc-title-template", "{x}"],
        vec!["--port 5", "--hz", "x"],
        vec!["--databases", "0"],
        vec!["--maxmemory", "1xb", "--port", "1"],
        vec!["--user"],
        vec!["--include"],
    ];
    for c in &cases {
        same_failure(c, None);
    }
    same_failure(&["-"], Some("port 1\nhz x\n"));
    same_failure(&[&a, "-"], Some("hz 5\n"));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn version_and_help() {
    let (c, out, _) = run_to_end(ferrokv_bin(), &["--version"], None);
    assert_eq!(c, 0);
    assert!(out.starts_with("Redis server v=7.0.15 sha=00000000:0 malloc="), "{out}");
    assert!(out.contains(" bits=64 build="), "{out}");
    let (c2, out2, _) = run_to_end(ferrokv_bin(), &["-v"], None);
    assert_eq!((c2, out2), (0, out));
    let (c, _, err) = run_to_end(ferrokv_bin(), &["--help"], None);
    assert_eq!(c, 1);
    assert!(err.starts_with("Usage: ") && err.contains("[/path/to/redis.conf] [options] [-]"), "{err}");
}

/// Starts `bin` with a config file first, then a port, and waits for it.
fn start_with_file(bin: &str, file: &str, extra: &[&str]) -> (std::process::Child, u16) {
    let port = free_port();
    let ps = port.to_string();
    let mut args = vec![file, "--port", &ps, "--bind", "127.0.0.1"];
    args.extend_from_slice(extra);
    let mut child = Command::new(bin)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        // Ready once a command gets a reply (a probe cut short is retried).
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() && probe_dir(port).is_ok() {
            return (child, port);
        }
        if let Ok(Some(st)) = child.try_wait() {
            panic!("{bin} exited: {st}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("{bin} did not start");
}

#[test]
fn config_file_parsing_include_quoting_and_aliases() {
    let d = tmp("parse");
    let p = |n: &str| d.join(n).display().to_string();
    std::fs::create_dir_all(d.join("conf.d")).expect("dir");
    std::fs::write(d.join("conf.d/a.conf"), "hz 20\n").expect("write");
    std::fs::write(d.join("conf.d/b.conf"), "maxmemory 7mb\n").expect("write");
    let body = format!(
        "# a comment\n\
         save 100 1\n\
         save 200 2\n\
         \t  slave-read-only no   \n\
         hash-max-ziplist-entries 64\n\
         list-max-ziplist-entries 5\n\
         lua-replicate-commands yes\n\
         requirepass \"pa ss\\x41\"\n\
         masteruser 'it''s'\n\
         loglevel WARNING\n\
         client-output-buffer-limit replica 1mb 2mb 30 pubsub 0 0 0\n\
         notify-keyspace-events \"KEA\"\n\
         oom-score-adj-values \"1 2 3\"\n\
         rename-command KEYS \"\"\n\
         include {}/conf.d/*.conf\n\
         include {}/none/*.conf\n\
         maxmemory-policy ALLKEYS-LRU\n",
        d.display(),
        d.display()
    );
    std::fs::write(p("main.conf"), body.replace("'it''s'", "'it'")).expect("write");
    let names = [
        "save",
        "replica-read-only",
        "hash-max-listpack-entries",
        "requirepass",
        "masteruser",
        "loglevel",
        "client-output-buffer-limit",
        "notify-keyspace-events",
        "oom-score-adj-values",
        "hz",
        "maxmemory",
        "maxmemory-policy",
        "bind",
    ];
    let mut got = Vec::new();
    for bin in [ferrokv_bin(), "redis-server"] {
        let (mut child, port) = start_with_file(bin, &p("main.conf"), &["--save", "300 3", "--logfile", &p("log")]);
        let mut c = Conn::connect(port);
        assert_eq!(c.cmd(&["AUTH", "pa ssA"]), Resp::ok());
        let mut all = Vec::new();
        for n in names {
            all.push(c.cmd(&["CONFIG", "GET", n]));
        }
        let _ = child.kill();
        let _ = child.wait();
        got.push(all);
    }
    assert_eq!(got[0], got[1]);
    // As in Redis, an `include` ends the "reading the file" state, so the
    // `--save` after it replaces the earlier save points instead of adding.
    assert_eq!(got[0][0], Resp::bulks(&["save", "300 3"]));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn config_rewrite_matches_redis() {
    let d = tmp("rewrite");
    let base = "# Redis config\n\
                save 100 1\n\
                save 200 2\n\
                hz 1000\n\
                list-max-ziplist-entries 5\n\
                loglevel WARNING\n\
                slave-read-only no\n\
                maxmemory-policy ALLKEYS-LRU\n\
                unixsocketperm 0755\n\
                shutdown-on-sigterm \"nosave  now\"\n\
                rename-command KEYS \"\"\n\
                client-output-buffer-limit replica 1mb 2mb 30\n\
                notify-keyspace-events KEA\n   # indented comment\n\n\n\
                maxmemory 3mb\n\
                maxmemory 4mb\n\
                daemonize no\n";
    let mut files = Vec::new();
    for (tag, bin) in [("f", ferrokv_bin()), ("r", "redis-server")] {
        let file = d.join(format!("{tag}.conf")).display().to_string();
        std::fs::write(&file, base).expect("write");
        let (mut child, port) = start_with_file(bin, &file, &["--dir", &d.display().to_string(), "--logfile", "x.log"]);
        let mut c = Conn::connect(port);
        let r = c.cmd(&[
            "CONFIG",
            "SET",
            "maxmemory",
            "100mb",
            "timeout",
            "30",
            "save",
            "",
            "proto-max-bulk-len",
            "2gb",
            "maxmemory-clients",
            "3%",
            "requirepass",
            "s3cr et",
        ]);
        assert_eq!(r, Resp::ok());
        assert_eq!(c.cmd(&["AUTH", "s3cr et"]), Resp::ok());
        assert_eq!(c.cmd(&["CONFIG", "REWRITE"]), Resp::ok());
        let _ = child.kill();
        let _ = child.wait();
        let text = std::fs::read_to_string(&file).expect("read").replace(&port.to_string(), "PORT");
        files.push(text);
    }
    // Lines kept in place are in the same order; the appended block follows
    // Redis's (random) dict order, so it is compared as a set.
    let split = |t: &str| -> (String, Vec<String>) {
        let (head, tail) = t.split_once("# Generated by CONFIG REWRITE\n").unwrap_or((t, ""));
        let mut tail: Vec<String> = tail.lines().map(str::to_string).collect();
        tail.sort();
        (head.to_string(), tail)
    };
    assert_eq!(split(&files[0]), split(&files[1]), "\nferrokv:\n{}\nredis:\n{}", files[0], files[1]);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn pidfile_and_sigterm_shutdown() {
    let d = tmp("pid");
    let pidfile = d.join("s.pid").display().to_string();
    let s = Server::ferrokv_with(&["--pidfile", &pidfile]);
    let pid: i32 = std::fs::read_to_string(&pidfile).expect("pidfile").trim().parse().expect("pid");
    assert_eq!(pid as u32, s.child.id());
    let mut c = s.conn();
    assert_eq!(c.cmd(&["CONFIG", "GET", "pidfile"]), Resp::bulks(&["pidfile", &pidfile]));
    // loglevel applies at once: the notice-level shutdown lines are left out.
    assert_eq!(c.cmd(&["CONFIG", "SET", "loglevel", "warning"]), Resp::ok());
    // SAFETY: sends SIGTERM to the child process this test started.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let mut s = s;
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Ok(Some(st)) = s.child.try_wait() {
            break st;
        }
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    assert!(!std::path::Path::new(&pidfile).exists(), "pidfile left behind");
    let log = s.log();
    for line in [
        "Redis version=7.0.15",
        "Configuration loaded",
        "Ready to accept connections tcp",
        "Received SIGTERM scheduling shutdown...",
        "Redis is now ready to exit, bye bye...",
    ] {
        assert!(log.contains(line), "{line:?} missing from the log:\n{log}");
    }
    assert!(!log.contains("Removing the pid file."), "{log}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn unimplemented_directives_are_logged_once() {
    let s = Server::ferrokv_with(&[
        "--no-appendfsync-on-rewrite",
        "yes",
        "--aof-timestamp-enabled",
        "yes",
        "--maxmemory-clients",
        "10mb",
        "--appendonly",
        "yes",
        "--maxmemory",
        "1gb",
        "--rename-command",
        "KEYS",
        "",
    ]);
    let log = s.log();
    assert_eq!(log.matches("'no-appendfsync-on-rewrite'").count(), 1, "{log}");
    // Implemented directives are not warned about.
    assert!(!log.contains("'appendonly'") && !log.contains("'maxmemory'"), "{log}");
    assert!(!log.contains("'aof-timestamp-enabled'"), "{log}");
    assert!(!log.contains("'maxmemory-clients'"), "{log}");
    assert!(log.contains("rename-command KEYS"), "{log}");
    // `save ""` (no persistence) is what ferrokv does anyway: no warning.
    assert!(!log.contains("'save'"), "{log}");
}
