//! Real clients, used the way people use them: redis-rs (the `redis` crate),
//! redis-py (tests/clients/redis_py_check.py), redis-cli and redis-benchmark.
//! Each scenario also runs against real Redis, so an expectation that is wrong
//! about Redis fails there rather than blaming ferrokv.

mod common;
use common::*;
use redis::Commands;
use std::collections::HashSet;
use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn rs_conn(port: u16) -> redis::Connection {
    redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .expect("client")
        .get_connection_with_timeout(Duration::from_secs(10))
        .expect("redis-rs connects")
}

/// Both servers, fresh (the scenario runs against each).
fn both_servers() -> Vec<Server> {
    vec![Server::ferrokv(), Server::redis()]
}

// ---------------------------------------------------------------- redis-rs

fn redis_rs_commands(port: u16) {
    let mut c = rs_conn(port);
    let _: () = c.set("a", 1).unwrap();
    let v: String = c.get("a").unwrap();
    assert_eq!(v, "1");
    let v: Option<String> = c.get("missing").unwrap();
    assert_eq!(v, None);
    let n: i64 = c.incr("a", 1).unwrap();
    assert_eq!(n, 2);
    let n: i64 = c.incr("a", -5).unwrap();
    assert_eq!(n, -3);
    let f: f64 = c.incr("fl", 2.5).unwrap(); // INCRBYFLOAT
    assert_eq!(f, 2.5);
    let _: () = c.mset(&[("m1", "x"), ("m2", "y"), ("m3", "z")]).unwrap();
    let v: Vec<Option<String>> = c.mget(&["m1", "nope", "m3"]).unwrap();
    assert_eq!(v, vec![Some("x".into()), None, Some("z".into())]);
    let set: bool = c.mset_nx(&[("m1", "q"), ("fresh", "w")]).unwrap();
    assert!(!set);
    let ok: bool = c.expire("a", 100).unwrap();
    assert!(ok);
    let ttl: i64 = c.ttl("a").unwrap();
    assert!((99..=100).contains(&ttl), "ttl {ttl}");
    let ttl: i64 = c.ttl("m1").unwrap();
    assert_eq!(ttl, -1);
    let ttl: i64 = c.ttl("missing").unwrap();
    assert_eq!(ttl, -2);
    let ok: bool = c.pexpire("m1", 100).unwrap();
    assert!(ok);
    std::thread::sleep(Duration::from_millis(250));
    let e: bool = c.exists("m1").unwrap();
    assert!(!e, "m1 should have expired");
    let n: usize = c.exists(&["m2", "m2", "m3", "nope"]).unwrap();
    assert_eq!(n, 3);
    let n: usize = c.del(&["m2", "m3", "nope"]).unwrap();
    assert_eq!(n, 2);
    let _: () = c.set_ex("ex", "v", 30).unwrap();
    let ttl: i64 = c.ttl("ex").unwrap();
    assert!((29..=30).contains(&ttl));
    let old: Option<String> = c.getset("ex", "w").unwrap();
    assert_eq!(old.as_deref(), Some("v"));
    let n: usize = c.append("ex", "xyz").unwrap();
    assert_eq!(n, 4);
    let r: String = c.getrange("ex", 1, -1).unwrap();
    assert_eq!(r, "xyz");
    let t: String = redis::cmd("TYPE").arg("ex").query(&mut c).unwrap();
    assert_eq!(t, "string");
    let pong: String = redis::cmd("PING").query(&mut c).unwrap();
    assert_eq!(pong, "PONG");
    let dbsize: usize = redis::cmd("DBSIZE").query(&mut c).unwrap();
    assert_eq!(dbsize, 3); // a, fl, ex
}

#[test]
fn redis_rs_basic_commands() {
    for s in both_servers() {
        redis_rs_commands(s.port);
    }
}

fn redis_rs_scan(port: u16) {
    let mut c = rs_conn(port);
    let mut p = redis::pipe();
    for i in 0..1500 {
        p.set(format!("user:{i}"), i).ignore();
    }
    for i in 0..250 {
        p.set(format!("other:{i}"), i).ignore();
    }
    let _: () = p.query(&mut c).unwrap();
    let users: HashSet<String> = c.scan_match::<_, String>("user:*").unwrap().collect();
    assert_eq!(users.len(), 1500);
    assert!(users.iter().all(|k| k.starts_with("user:")));
    let all: HashSet<String> = c.scan::<String>().unwrap().collect();
    assert_eq!(all.len(), 1750);
    let ones: HashSet<String> = c.scan_match::<_, String>("user:1?").unwrap().collect();
    assert_eq!(ones, (10..20).map(|i| format!("user:{i}")).collect());
    // A hand-driven SCAN with COUNT: every key once the cursor comes back to 0.
    let mut cursor = 0u64;
    let mut seen = HashSet::new();
    let mut calls = 0;
    loop {
        let (next, keys): (u64, Vec<String>) =
            redis::cmd("SCAN").arg(cursor).arg("MATCH").arg("other:*").arg("COUNT").arg(7).query(&mut c).unwrap();
        seen.extend(keys);
        calls += 1;
        cursor = next;
        if cursor == 0 {
            break;
        }
        assert!(calls < 10_000, "SCAN never returned cursor 0");
    }
    assert_eq!(seen.len(), 250);
    assert!(calls > 10, "COUNT 7 over 1750 keys should take many calls, took {calls}");
}

#[test]
fn redis_rs_scan_iterators() {
    for s in both_servers() {
        redis_rs_scan(s.port);
    }
}

fn redis_rs_pipelines(port: u16) {
    let mut c = rs_conn(port);
    let (a, b, g, m): (String, i64, String, Vec<Option<String>>) =
        redis::pipe().set("k", 41).incr("k", 1).get("k").mget(&["k", "none"]).query(&mut c).unwrap();
    assert_eq!((a.as_str(), b, g.as_str()), ("OK", 42, "42"));
    assert_eq!(m, vec![Some("42".to_string()), None]);
    // Ignored replies and a long pipeline.
    let mut p = redis::pipe();
    for i in 0..5000 {
        p.cmd("INCR").arg("counter").ignore();
        if i % 1000 == 999 {
            p.get("counter");
        }
    }
    let got: Vec<i64> = p.query(&mut c).unwrap();
    assert_eq!(got, vec![1000, 2000, 3000, 4000, 5000]);
    // An error in a pipeline fails the query; the connection stays usable.
    let _: () = c.set("txt", "abc").unwrap();
    let r: redis::RedisResult<(i64, i64)> = redis::pipe().incr("counter", 1).incr("txt", 1).query(&mut c);
    let e = r.unwrap_err();
    assert_eq!(e.kind(), redis::ErrorKind::ResponseError);
    let n: i64 = c.get("counter").unwrap();
    assert_eq!(n, 5001, "the command before the error ran");
}

#[test]
fn redis_rs_pipelines_in_one_round_trip() {
    for s in both_servers() {
        redis_rs_pipelines(s.port);
    }
}

fn redis_rs_binary(port: u16) {
    let mut c = rs_conn(port);
    let every_byte: Vec<u8> = (0..=255u8).collect();
    let key: &[u8] = b"bin\x00\r\n\xffkey";
    let _: () = c.set(key, &every_byte).unwrap();
    let back: Vec<u8> = c.get(key).unwrap();
    assert_eq!(back, every_byte);
    let n: usize = c.strlen(key).unwrap();
    assert_eq!(n, 256);
    let keys: Vec<Vec<u8>> = c.keys(b"bin\x00*".as_slice()).unwrap();
    assert_eq!(keys, vec![key.to_vec()]);
    // Values with protocol bytes inside and a few MB of noise.
    let tricky = b"\r\n$5\r\nhello\r\n*2\r\n+OK\r\n-ERR x\r\n".to_vec();
    let _: () = c.set("tricky", &tricky).unwrap();
    let back: Vec<u8> = c.get("tricky").unwrap();
    assert_eq!(back, tricky);
    let mut x: u64 = 0x9E3779B97F4A7C15;
    let noise: Vec<u8> = (0..4 * 1024 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let _: () = c.set("noise", &noise).unwrap();
    let back: Vec<u8> = c.get("noise").unwrap();
    assert!(back == noise, "4 MB binary value came back different");
    let part: Vec<u8> = c.getrange("noise", 1_000_000, 1_000_099).unwrap();
    assert_eq!(part, noise[1_000_000..1_000_100]);
    let empty: Vec<u8> = {
        let _: () = c.set("empty", b"".as_slice()).unwrap();
        c.get("empty").unwrap()
    };
    assert!(empty.is_empty());
}

#[test]
fn redis_rs_binary_values() {
    for s in both_servers() {
        redis_rs_binary(s.port);
    }
}

fn redis_rs_errors(port: u16) {
    let mut c = rs_conn(port);
    let _: () = c.set("txt", "abc").unwrap();
    let e = c.incr::<_, _, i64>("txt", 1).unwrap_err();
    assert_eq!(e.kind(), redis::ErrorKind::ResponseError);
    assert_eq!(e.code(), Some("ERR"));
    assert_eq!(e.detail(), Some("value is not an integer or out of range"));
    let e = redis::cmd("NOSUCHCMD").arg("x").query::<()>(&mut c).unwrap_err();
    assert_eq!(e.kind(), redis::ErrorKind::ResponseError);
    assert_eq!(e.detail(), Some("unknown command 'NOSUCHCMD', with args beginning with: 'x' "));
    let e = redis::cmd("GET").query::<()>(&mut c).unwrap_err();
    assert_eq!(e.code(), Some("ERR"));
    assert_eq!(e.detail(), Some("wrong number of arguments for 'get' command"));
    let e = redis::cmd("SET").arg("k").arg("v").arg("NX").arg("XX").query::<()>(&mut c).unwrap_err();
    assert_eq!(e.detail(), Some("syntax error"));
    let e = redis::cmd("INCRBYFLOAT").arg("txt").arg(1).query::<()>(&mut c).unwrap_err();
    assert_eq!(e.detail(), Some("value is not a valid float"));
    let e = redis::cmd("CONFIG").arg("SET").arg("maxmemory").arg("lots").query::<()>(&mut c).unwrap_err();
    assert_eq!(e.code(), Some("ERR"));
    assert!(e.detail().unwrap().starts_with("CONFIG SET failed"), "{e:?}");
    let e = redis::cmd("SELECT").arg(99).query::<()>(&mut c).unwrap_err();
    assert_eq!(e.detail(), Some("DB index is out of range"));
    // WRONGTYPE is not one of redis-rs's named kinds: an extension error with its code.
    let _: usize = redis::cmd("RPUSH").arg("list").arg("x").query(&mut c).unwrap();
    let e = c.get::<_, String>("list").unwrap_err();
    assert_eq!(e.kind(), redis::ErrorKind::ExtensionError);
    assert_eq!(e.code(), Some("WRONGTYPE"));
    assert_eq!(e.detail(), Some("Operation against a key holding the wrong kind of value"));
    // A reply of the wrong type is a client-side TypeError, not a server error.
    let e = c.get::<_, i64>("txt").unwrap_err();
    assert_eq!(e.kind(), redis::ErrorKind::TypeError);
    // After all that the connection still works.
    let v: String = c.get("txt").unwrap();
    assert_eq!(v, "abc");
}

#[test]
fn redis_rs_errors_have_kind_and_code() {
    for s in both_servers() {
        redis_rs_errors(s.port);
    }
}

fn redis_rs_auth(port: u16) {
    // No password: NOAUTH arrives as an extension error with its own code.
    let mut c = rs_conn(port);
    let e = c.get::<_, Option<String>>("a").unwrap_err();
    assert_eq!(e.kind(), redis::ErrorKind::ExtensionError);
    assert_eq!(e.code(), Some("NOAUTH"));
    assert_eq!(e.detail(), Some("Authentication required."));
    // A wrong password in the URL fails the connection.
    let bad = redis::Client::open(format!("redis://:wrong@127.0.0.1:{port}/")).unwrap();
    let e = bad.get_connection().map(|_| ()).unwrap_err();
    assert_eq!(e.kind(), redis::ErrorKind::AuthenticationFailed, "{e:?}");
    // The right password (RESP2: AUTH; RESP3: HELLO 3 AUTH default ...).
    for proto in ["resp2", "resp3"] {
        let good = redis::Client::open(format!("redis://:s3cret@127.0.0.1:{port}/?protocol={proto}")).unwrap();
        let mut c = good.get_connection().expect("authenticated connection");
        let _: () = c.set("a", proto).unwrap();
        let v: String = c.get("a").unwrap();
        assert_eq!(v, proto);
    }
    let named = redis::Client::open(format!("redis://default:s3cret@127.0.0.1:{port}/3")).unwrap();
    let mut c = named.get_connection().expect("user default + password, db 3");
    let n: usize = redis::cmd("DBSIZE").query(&mut c).unwrap();
    assert_eq!(n, 0);
}

#[test]
fn redis_rs_requirepass() {
    for s in [Server::ferrokv_with(&["--requirepass", "s3cret"]), Server::redis_with(&["--requirepass", "s3cret"])] {
        redis_rs_auth(s.port);
    }
}

fn redis_rs_resp3(port: u16) {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/?protocol=resp3")).unwrap();
    let mut c = client.get_connection().expect("RESP3 connection (HELLO 3)");
    let _: () = c.set("k", "v").unwrap();
    let v: Option<String> = c.get("missing").unwrap();
    assert_eq!(v, None);
    let v: Vec<Option<String>> = c.mget(&["k", "missing"]).unwrap();
    assert_eq!(v, vec![Some("v".to_string()), None]);
    let raw: redis::Value = redis::cmd("GET").arg("missing").query(&mut c).unwrap();
    assert_eq!(raw, redis::Value::Nil);
    let m: std::collections::HashMap<String, String> =
        redis::cmd("CONFIG").arg("GET").arg("maxmemory-policy").query(&mut c).unwrap();
    assert_eq!(m.get("maxmemory-policy").map(|s| s.as_str()), Some("noeviction"));
    let raw: redis::Value = redis::cmd("CONFIG").arg("GET").arg("maxmemory").query(&mut c).unwrap();
    assert!(matches!(raw, redis::Value::Map(_)), "CONFIG GET in RESP3 is a map: {raw:?}");
    let info: redis::Value = redis::cmd("INFO").arg("server").query(&mut c).unwrap();
    match info {
        redis::Value::VerbatimString { text, .. } => assert!(text.contains("redis_version:7.0.15"), "{text}"),
        other => panic!("INFO in RESP3 is a verbatim string, got {other:?}"),
    }
    let users: HashSet<String> = c.scan_match::<_, String>("k*").unwrap().collect();
    assert_eq!(users.len(), 1);
    let e = c.incr::<_, _, i64>("k", 1).unwrap_err();
    assert_eq!(e.kind(), redis::ErrorKind::ResponseError);
}

#[test]
fn redis_rs_resp3_connection() {
    for s in both_servers() {
        redis_rs_resp3(s.port);
    }
}

// ---------------------------------------------------------------- redis-py

fn run_redis_py(port: u16, auth_port: u16) -> Output {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/redis_py_check.py");
    Command::new("python3")
        .arg(script)
        .arg(port.to_string())
        .arg(auth_port.to_string())
        .arg("py-s3cret")
        .output()
        .expect("run python3")
}

#[test]
fn redis_py_end_to_end() {
    if !redis_py_or_skip("redis_py_end_to_end") {
        return;
    }
    for (name, plain, auth) in [
        ("redis", Server::redis(), Server::redis_with(&["--requirepass", "py-s3cret"])),
        ("ferrokv", Server::ferrokv(), Server::ferrokv_with(&["--requirepass", "py-s3cret"])),
    ] {
        let out = run_redis_py(plain.port, auth.port);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "redis-py against {name} failed ({}):\n{stdout}\n{stderr}", out.status);
        assert!(stdout.contains("checks passed"), "{stdout}");
        eprintln!("{name}: {}", stdout.trim());
    }
}

// ---------------------------------------------------------------- redis-cli

fn cli(port: u16, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new("redis-cli")
        .arg("-p")
        .arg(port.to_string())
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("redis-cli on PATH (.ci/run installs redis-tools)");
    if let Some(data) = stdin {
        let mut w = child.stdin.take().unwrap();
        let data = data.to_vec();
        // Written from a thread so that a big input cannot deadlock against the output pipe.
        std::thread::spawn(move || {
            let _ = w.write_all(&data);
        });
    }
    child.wait_with_output().expect("redis-cli output")
}

fn cli_out(port: u16, args: &[&str]) -> String {
    let o = cli(port, args, None);
    assert!(o.status.success(), "redis-cli {args:?} exited {}: {}", o.status, String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn redis_cli_commands_match_redis() {
    let f = Server::ferrokv();
    let r = Server::redis();
    let script: &[&[&str]] = &[
        &["set", "a", "1"],
        &["get", "a"],
        &["--no-raw", "get", "a"],
        &["--no-raw", "incr", "a"],
        &["--no-raw", "incrbyfloat", "fl", "1.5"],
        &["--no-raw", "mget", "a", "missing", "fl"],
        &["--no-raw", "get", "missing"],
        &["--no-raw", "nosuchcommand", "x"],
        &["nosuchcommand", "x"],
        &["--no-raw", "set", "a"],
        &["--no-raw", "exists", "a", "fl", "zz"],
        &["--no-raw", "expire", "a", "100"],
        &["--no-raw", "type", "a"],
        &["--no-raw", "object", "encoding", "a"],
        &["--no-raw", "keys", "a*"],
        &["--no-raw", "scan", "0", "match", "f*"],
        &["-r", "3", "incr", "counter"],
        &["-n", "2", "set", "in2", "v"],
        &["-n", "2", "--no-raw", "dbsize"],
        &["--no-raw", "dbsize"],
        &["-3", "--no-raw", "get", "missing"],
        &["-3", "--no-raw", "config", "get", "maxmemory"],
        &["-3", "--no-raw", "mget", "a", "missing"],
        &["--no-raw", "ping"],
        &["--no-raw", "echo", "with space"],
        &["--no-raw", "config", "get", "maxmemory-policy"],
        &["--no-raw", "client", "getname"],
        &["--no-raw", "del", "a", "fl", "counter"],
    ];
    for args in script {
        let (fo, ro) = (cli(f.port, args, None), cli(r.port, args, None));
        assert_eq!(
            String::from_utf8_lossy(&fo.stdout),
            String::from_utf8_lossy(&ro.stdout),
            "redis-cli {args:?}: ferrokv's output differs from Redis's"
        );
        assert_eq!(fo.status.code(), ro.status.code(), "redis-cli {args:?} exit status");
    }
    // Absolute checks of the formats users rely on.
    assert_eq!(cli_out(f.port, &["set", "a", "1"]), "OK\n");
    assert_eq!(cli_out(f.port, &["get", "a"]), "1\n");
    assert_eq!(cli_out(f.port, &["--no-raw", "get", "a"]), "\"1\"\n");
    assert_eq!(cli_out(f.port, &["--no-raw", "mget", "a", "nope"]), "1) \"1\"\n2) (nil)\n");
    assert_eq!(
        cli_out(f.port, &["--no-raw", "nosuchcommand"]),
        "(error) ERR unknown command 'nosuchcommand', with args beginning with: \n"
    );
    // -x reads the last argument from stdin; -u takes a URL with a db number.
    let o = cli(f.port, &["-x", "set", "fromstdin"], Some(b"line one\nline two"));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "OK\n");
    assert_eq!(cli_out(f.port, &["get", "fromstdin"]), "line one\nline two\n");
    let url = format!("redis://127.0.0.1:{}/2", f.port);
    assert_eq!(cli_out(f.port, &["-u", &url, "get", "in2"]), "v\n");
}

#[test]
fn redis_cli_info_server() {
    let f = Server::ferrokv();
    let out = cli_out(f.port, &["info", "server"]);
    assert!(out.contains("# Server"), "{out}");
    assert!(out.contains("redis_version:7.0.15"), "INFO server lacks redis_version:7.0.15:\n{out}");
    assert!(out.contains(&format!("tcp_port:{}", f.port)), "{out}");
    assert!(!out.contains("# Clients"), "INFO server shows only the server section");
    let all = cli_out(f.port, &["info"]);
    for section in
        ["# Server", "# Clients", "# Memory", "# Persistence", "# Stats", "# Replication", "# CPU", "# Keyspace"]
    {
        assert!(all.contains(section), "INFO lacks {section}");
    }
}

/// The mass-insertion protocol stream of `redis-cli --pipe`.
fn mass_insert_stream(n: usize) -> Vec<u8> {
    let mut data = Vec::new();
    for i in 0..n {
        let k = format!("key:{i}");
        let v = format!("value:{i}");
        data.extend_from_slice(&Conn::encode(&[b"SET", k.as_bytes(), v.as_bytes()]));
    }
    data
}

#[test]
fn redis_cli_pipe_mass_insertion() {
    for s in both_servers() {
        let o = cli(s.port, &["--pipe"], Some(&mass_insert_stream(10_000)));
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{} --pipe failed: {stdout} {}", s.name, String::from_utf8_lossy(&o.stderr));
        assert!(stdout.contains("errors: 0, replies: 10000"), "{}: {stdout}", s.name);
        assert_eq!(cli_out(s.port, &["dbsize"]), "10000\n", "{}", s.name);
        assert_eq!(cli_out(s.port, &["get", "key:9999"]), "value:9999\n");
        // --scan walks the keyspace with SCAN.
        let scanned = cli_out(s.port, &["--scan", "--pattern", "key:1*"]);
        let keys: HashSet<&str> = scanned.lines().collect();
        assert_eq!(keys.len(), 1111, "{}: --scan found {} keys", s.name, keys.len());
        // Inline commands through --pipe too (redis-cli passes them through unchanged).
        let o = cli(s.port, &["--pipe"], Some(b"SET inline1 x\r\nINCR n\r\nINCR n\r\nGET nothing\r\n"));
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(stdout.contains("errors: 0, replies: 4"), "{}: {stdout}", s.name);
        // Errors are counted.
        let o = cli(s.port, &["--pipe"], Some(&Conn::encode(&[b"INCR", b"inline1"])));
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(stdout.contains("errors: 1, replies: 1"), "{}: {stdout}", s.name);
    }
}

#[test]
fn redis_cli_bigkeys_summary_matches_redis() {
    let f = Server::ferrokv();
    let r = Server::redis();
    for port in [f.port, r.port] {
        let o = cli(port, &["--pipe"], Some(&mass_insert_stream(500)));
        assert!(o.status.success());
        assert_eq!(cli_out(port, &["set", "biggest", &"x".repeat(300)]), "OK\n");
    }
    let summary = |port: u16| -> String {
        let out = cli_out(port, &["--bigkeys"]);
        out.split("-------- summary -------").nth(1).unwrap_or_else(|| panic!("no summary in:\n{out}")).to_string()
    };
    let (fs, rs) = (summary(f.port), summary(r.port));
    assert!(rs.contains("Biggest string found '\"biggest\"' has 300 bytes"), "{rs}");
    assert_eq!(fs, rs, "--bigkeys summary differs");
}

// ---------------------------------------------------------------- redis-benchmark

fn benchmark(port: u16, extra: &[&str]) {
    let started = Instant::now();
    let o = Command::new("redis-benchmark")
        .args(["-p", &port.to_string(), "-q", "-t", "set,get,incr,mset", "-n", "20000"])
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .expect("redis-benchmark on PATH (.ci/run installs redis-tools)");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "redis-benchmark {extra:?} exited {}: {stdout}\n{stderr}", o.status);
    // -q prints progress lines ended by \r and one final line per test.
    let results: Vec<&str> =
        stdout.split(['\r', '\n']).map(str::trim).filter(|l| l.contains(" requests per second")).collect();
    let names: Vec<&str> = results.iter().map(|l| l.split(':').next().unwrap()).collect();
    assert_eq!(names, ["SET", "GET", "INCR", "MSET (10 keys)"], "redis-benchmark {extra:?} output:\n{stdout}");
    for l in &results {
        let rps: f64 = l.split(':').nth(1).unwrap().split_whitespace().next().unwrap().parse().unwrap();
        assert!(rps > 0.0, "{l}");
    }
    // It reads CONFIG GET save/appendonly at start; a failure there is printed as a warning.
    let all = format!("{stdout}{stderr}");
    assert!(!all.contains("WARNING") && !all.contains("ERROR"), "redis-benchmark {extra:?} complained:\n{all}");
    eprintln!("redis-benchmark {extra:?} took {:?}: {}", started.elapsed(), results.join(" | "));
}

#[test]
fn redis_benchmark_runs_and_server_survives() {
    let f = Server::ferrokv();
    for extra in [&[][..], &["-P", "16"], &["-c", "50"]] {
        benchmark(f.port, extra);
        let mut c = f.conn();
        assert_eq!(c.cmd(&["PING"]), Resp::simple("PONG"), "server answers PING after redis-benchmark {extra:?}");
    }
    let mut c = f.conn();
    // -t set,get,incr,mset touch key:__rand_int__ (SET/GET/MSET) and counter:__rand_int__ (INCR).
    assert_eq!(c.cmd(&["STRLEN", "key:__rand_int__"]), Resp::int(3), "the default -d 3 payload");
    assert_eq!(c.cmd(&["GET", "counter:__rand_int__"]), Resp::bulk("60000"));
    assert_eq!(c.cmd(&["DBSIZE"]), Resp::int(2));
    // All benchmark connections are gone again.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let list = c.cmd(&["CLIENT", "LIST"]).text();
        if list.lines().count() == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "benchmark clients still listed:\n{list}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
