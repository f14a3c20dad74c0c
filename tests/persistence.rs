//! RDB and AOF persistence, end to end and against real Redis 7.0: files written by
//! Redis load into ferrokv with identical content and encodings, files written
//! by ferrokv pass `redis-check-rdb` and load into Redis identically, DUMP
//! payloads travel both ways, old encodings (ziplist, zipmap, intset,
//! quicklist v1, text scores) load as Redis loads them, corrupt files stop the
//! server with exit status 1, and SAVE/BGSAVE/RESTORE/SHUTDOWN/DEBUG RELOAD,
//! save points and MISCONF behave as Redis's. The append-only file holds
//! what Redis's holds command for command, survives SIGKILL with
//! `appendfsync always`, and its directory moves between Redis and ferrokv.

mod common;

use common::{free_port, Conn, Diff, Resp, Server};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// Servers on a directory of our choosing

/// A temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let d = std::env::temp_dir().join(format!("ferrokv-persist-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("temp dir");
        TempDir(d)
    }
    fn path(&self) -> &Path {
        &self.0
    }
    fn rdb(&self) -> PathBuf {
        self.0.join("dump.rdb")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server process started on a given directory; killed on drop (the
/// directory is left alone).
struct Proc {
    port: u16,
    child: Child,
    log: PathBuf,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn bin(redis: bool) -> &'static str {
    if redis {
        "redis-server"
    } else {
        common::ferrokv_bin()
    }
}

fn spawn(redis: bool, dir: &Path, extra: &[&str]) -> (Child, u16, PathBuf) {
    let port = free_port();
    let log = dir.join(format!("server-{port}.log"));
    let mut args: Vec<String> = vec![
        "--port".into(),
        port.to_string(),
        "--bind".into(),
        "127.0.0.1".into(),
        "--dir".into(),
        dir.display().to_string(),
        "--logfile".into(),
        log.display().to_string(),
        "--enable-debug-command".into(),
        "yes".into(),
    ];
    if !extra.contains(&"--save") {
        args.push("--save".into());
        args.push("".into());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let child = Command::new(bin(redis))
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start server");
    (child, port, log)
}

/// Starts a server on `dir` and waits until it answers PING (after loading).
fn start_on(redis: bool, dir: &Path, extra: &[&str]) -> Proc {
    for _ in 0..5 {
        let (child, port, log) = spawn(redis, dir, extra);
        let mut p = Proc { port, child, log };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(st)) = p.child.try_wait() {
                panic!("server exited with {st} at start; log:\n{}", read_log(&p.log));
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                match common::probe_dir(port) {
                    Ok(Resp::Array(Some(v))) if v.len() == 2 && v[1].text() == dir.display().to_string() => return p,
                    Err(_) => {} // cut short: ask again
                    _ => break,  // another test's server on this port
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("server did not start on {}", dir.display());
}

/// Starts a server expected to refuse the directory's file: returns its exit
/// code and log.
fn start_expecting_exit(redis: bool, dir: &Path) -> (i32, String) {
    let (mut child, _port, log) = spawn(redis, dir, &[]);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Some(st)) = child.try_wait() {
            return (st.code().unwrap_or(-1), read_log(&log));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("server kept running on a bad file; log:\n{}", read_log(&log));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn read_log(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// Waits for a child to exit (SHUTDOWN, SIGTERM); its exit code.
fn wait_exit(child: &mut Child) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Some(st)) = child.try_wait() {
            return st.code().unwrap_or(-1);
        }
        assert!(Instant::now() < deadline, "server did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn info_field(c: &mut Conn, field: &str) -> String {
    let info = c.cmd(&["INFO", "persistence"]).text();
    info_value(&info, field).unwrap_or_else(|| panic!("no {field} in INFO"))
}

/// A field of an INFO reply's text.
fn info_value(info: &str, field: &str) -> Option<String> {
    info.lines().find_map(|l| l.strip_prefix(&format!("{field}:")).map(|v| v.trim().to_string()))
}

fn wait_field_zero(c: &mut Conn, field: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while info_field(c, field) != "0" {
        assert!(Instant::now() < deadline, "{field} stayed on");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_bgsave_done(c: &mut Conn) {
    wait_field_zero(c, "rdb_bgsave_in_progress");
}

/// Waits for a background AOF rewrite, and one scheduled, to complete.
fn wait_rewrite_done(c: &mut Conn) {
    wait_field_zero(c, "aof_rewrite_scheduled");
    wait_field_zero(c, "aof_rewrite_in_progress");
}

// ---------------------------------------------------------------------------
// Datasets and their comparison

fn bulk_args(c: &mut Conn, head: &[&str], items: &[String]) {
    let mut args: Vec<&[u8]> = head.iter().map(|s| s.as_bytes()).collect();
    args.extend(items.iter().map(|s| s.as_bytes()));
    let r = c.cmd_b(&args);
    assert!(!r.is_error(), "{head:?}: {r:?}");
}

/// Runs one command written as redis-cli would take it.
fn run_line(c: &mut Conn, line: &str) -> Resp {
    let args = common::split(line);
    let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
    c.cmd_b(&refs)
}

/// Runs commands, one per line, each of which must succeed.
fn run_ok(c: &mut Conn, lines: &[&str]) {
    for line in lines {
        let r = run_line(c, line);
        assert!(!r.is_error(), "{line}: {r:?}");
    }
}

/// Every type in small and large encodings, TTLs, several databases.
fn fill(c: &mut Conn) {
    let random: Vec<u8> = (0..300u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    let script = [
        "SET str hello",
        "SET int 12345",
        "SET neg -7",
        "SET i64 1234567890123",
        "SET notint 0123",
        "SET twenty 12345678901234567890",
        "SET empty \"\"",
        "SET bin \"a\\x00b\\xffc\"",
        "RPUSH list a b 1 2 -300 70000 \"\"",
        "HSET hash f v n 1 neg -5000 big 9000000000",
        "SADD intset 1 2 3 -100000",
        "SADD intset64 1 5000000000 -5000000000",
        "SADD strset a b c",
        "ZADD zset 1 a 2.5 b -1e300 c inf d -inf e 0 f 1e17 g",
        "SET ttl:str v PX 500000",
        "RPUSH ttl:list x",
        "PEXPIRE ttl:list 800000",
        "HSET ttl:hash f v",
        "EXPIRE ttl:hash 900",
        "SELECT 1",
        "SET db1 one",
        "ZADD db1z 1 x",
        "SELECT 9",
        "SADD db9set a",
        "PEXPIRE db9set 700000",
        "SELECT 15",
        "LPUSH db15list q",
        "SELECT 0",
    ];
    run_ok(c, &script);
    c.cmd_b(&[b"SET", b"long", &b"x".repeat(100)]);
    c.cmd_b(&[b"SET", b"random", &random]);
    c.cmd_b(&[b"SET", b"emb44", &b"e".repeat(44)]);
    c.cmd_b(&[b"SET", b"raw45", &b"r".repeat(45)]);
    let items: Vec<String> = (0..5000).map(|i| format!("element-{i}")).collect();
    bulk_args(c, &["RPUSH", "biglist"], &items);
    c.cmd_b(&[b"RPUSH", b"hugelist", &b"z".repeat(10000), b"small", &random]);
    let pairs: Vec<String> = (0..1000).flat_map(|i| [format!("f{i}"), format!("{}", i * 3)]).collect();
    bulk_args(c, &["HSET", "bighash"], &pairs);
    c.cmd_b(&[b"HSET", b"longhash", b"a", &b"y".repeat(100)]);
    let ints: Vec<String> = (0..1000).map(|i| (i * 7).to_string()).collect();
    bulk_args(c, &["SADD", "bigintset"], &ints);
    let strs: Vec<String> = (0..700).map(|i| format!("member:{i}")).collect();
    bulk_args(c, &["SADD", "bigset"], &strs);
    let zs: Vec<String> = (0..500).flat_map(|i| [format!("{}", i as f64 / 7.0), format!("m{i}")]).collect();
    bulk_args(c, &["ZADD", "bigzset"], &zs);
    c.cmd_b(&[b"ZADD", b"longzset", b"1", &b"w".repeat(100)]);
}

#[derive(Debug, PartialEq)]
struct Desc {
    ty: String,
    enc: String,
    val: Resp,
    pttl: i64,
}

/// Every key of every database: type, encoding, value, TTL.
fn snapshot(c: &mut Conn) -> BTreeMap<(usize, Vec<u8>), Desc> {
    let mut out = BTreeMap::new();
    for db in 0..16 {
        c.cmd(&["SELECT", &db.to_string()]);
        let keys = c.cmd(&["KEYS", "*"]).items();
        for k in keys {
            let Resp::Bulk(Some(key)) = k else { panic!("key {k:?}") };
            let kb: &[u8] = &key;
            let ty = c.cmd_b(&[b"TYPE", kb]).text();
            let enc = c.cmd_b(&[b"OBJECT", b"ENCODING", kb]).text();
            let pttl = c.cmd_b(&[b"PTTL", kb]).as_int();
            let val = match ty.as_str() {
                "string" => c.cmd_b(&[b"GET", kb]),
                "list" => c.cmd_b(&[b"LRANGE", kb, b"0", b"-1"]),
                "set" => c.cmd_b(&[b"SMEMBERS", kb]).sorted(),
                "hash" => {
                    let flat = c.cmd_b(&[b"HGETALL", kb]).items();
                    let mut pairs: Vec<Resp> =
                        flat.chunks(2).map(|p| Resp::Array(Some(vec![p[0].clone(), p[1].clone()]))).collect();
                    pairs.sort_by_key(|p| format!("{p:?}"));
                    Resp::Array(Some(pairs))
                }
                "zset" => c.cmd_b(&[b"ZRANGE", kb, b"0", b"-1", b"WITHSCORES"]),
                other => panic!("type {other}"),
            };
            out.insert((db, key.clone()), Desc { ty, enc, val, pttl });
        }
    }
    c.cmd(&["SELECT", "0"]);
    out
}

/// Asserts two snapshots hold the same keys, types, values (and encodings
/// when `encodings`), TTLs within `tol` ms.
fn assert_same(a: &BTreeMap<(usize, Vec<u8>), Desc>, b: &BTreeMap<(usize, Vec<u8>), Desc>, encodings: bool, tol: i64) {
    let ka: Vec<_> = a.keys().collect();
    let kb: Vec<_> = b.keys().collect();
    assert_eq!(ka, kb, "different keys");
    for (k, x) in a {
        let y = &b[k];
        let name = String::from_utf8_lossy(&k.1);
        assert_eq!(x.ty, y.ty, "type of {name}");
        assert_eq!(x.val, y.val, "value of {name}");
        if encodings {
            assert_eq!(x.enc, y.enc, "encoding of {name}");
        }
        if x.pttl < 0 || y.pttl < 0 {
            assert_eq!(x.pttl, y.pttl, "ttl of {name}");
        } else {
            assert!((x.pttl - y.pttl).abs() <= tol, "ttl of {name}: {} vs {}", x.pttl, y.pttl);
        }
    }
}

fn check_rdb(path: &Path) {
    let out = Command::new("redis-check-rdb").arg(path).output().expect("run redis-check-rdb");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("RDB looks OK"), "redis-check-rdb failed:\n{text}");
}

// ---------------------------------------------------------------------------
// Files across servers

#[test]
fn redis_file_loads_into_ferrokv_and_back() {
    let orig = Server::redis_with(&["--enable-debug-command", "yes"]);
    let mut rc = orig.conn();
    fill(&mut rc);
    let digest = rc.cmd(&["DEBUG", "DIGEST"]).text();
    assert_eq!(rc.cmd(&["SAVE"]), Resp::ok());
    let written = snapshot(&mut rc);

    // The same file in Redis and in ferrokv.
    let da = TempDir::new("from-redis-f");
    let db = TempDir::new("from-redis-r");
    std::fs::copy(orig.dir.join("dump.rdb"), da.rdb()).expect("copy");
    std::fs::copy(orig.dir.join("dump.rdb"), db.rdb()).expect("copy");
    let f = start_on(false, da.path(), &[]);
    let r = start_on(true, db.path(), &[]);
    let mut fc = Conn::connect(f.port);
    let mut rc2 = Conn::connect(r.port);
    let in_f = snapshot(&mut fc);
    let in_r = snapshot(&mut rc2);
    assert_same(&in_f, &in_r, true, 3000);
    assert_same(&in_f, &written, false, 3000);
    let flog = read_log(&f.log);
    for line in [
        "Loading RDB produced by version 7.0.15",
        "RDB age ",
        "RDB memory usage when created ",
        "DB loaded from disk: ",
    ] {
        assert!(flog.contains(line), "log lacks {line:?}:\n{flog}");
    }
    let n = in_f.len();
    assert!(flog.contains(&format!("Done loading RDB, keys loaded: {n}, keys expired: 0.")), "{flog}");
    assert_eq!(info_field(&mut fc, "rdb_last_load_keys_loaded"), n.to_string());
    assert_eq!(info_field(&mut fc, "rdb_changes_since_last_save"), "0");

    // ferrokv writes it back: redis-check-rdb accepts it, Redis loads it identically.
    assert_eq!(fc.cmd(&["SAVE"]), Resp::ok());
    check_rdb(&da.rdb());
    let dc = TempDir::new("from-ferrokv");
    std::fs::copy(da.rdb(), dc.rdb()).expect("copy");
    let r2 = start_on(true, dc.path(), &[]);
    let mut rc3 = Conn::connect(r2.port);
    assert_eq!(rc3.cmd(&["DEBUG", "DIGEST"]).text(), digest);
    let back = snapshot(&mut rc3);
    assert_same(&back, &in_r, true, 3000);

    // The same through BGSAVE, with compression and checksums off.
    assert_eq!(fc.cmd(&["CONFIG", "SET", "rdbcompression", "no"]), Resp::ok());
    assert_eq!(fc.cmd(&["BGSAVE"]), Resp::simple("Background saving started"));
    wait_bgsave_done(&mut fc);
    assert_eq!(info_field(&mut fc, "rdb_last_bgsave_status"), "ok");
    check_rdb(&da.rdb());
    let dd = TempDir::new("from-ferrokv-bg");
    std::fs::copy(da.rdb(), dd.rdb()).expect("copy");
    let r3 = start_on(true, dd.path(), &[]);
    assert_eq!(Conn::connect(r3.port).cmd(&["DEBUG", "DIGEST"]).text(), digest);
}

/// Lists whose inner nodes are compressed (`list-compress-depth`) travel as
/// files both ways: Redis writes its compressed quicklist nodes as LZF
/// blobs, which ferrokv loads (compressing them again under its own depth),
/// and the file ferrokv writes loads in Redis with the same content.
#[test]
fn compressed_lists_load_both_ways() {
    let args = ["--list-compress-depth", "1", "--list-max-listpack-size", "4"];
    let squeezable = |i: usize, n: usize| format!("{i:0>n$}");
    let da = TempDir::new("compressed-from-redis");
    let r = start_on(true, da.path(), &args);
    let mut rc = Conn::connect(r.port);
    let mut lines: Vec<Vec<String>> = Vec::new();
    for i in 0..3000 {
        let cmd = if i % 3 == 0 { "LPUSH" } else { "RPUSH" };
        lines.push(vec![cmd.into(), "big".into(), squeezable(i, 100 + i % 50)]);
        if i % 10 == 0 {
            lines.push(vec!["RPUSH".into(), format!("small{}", i % 7), squeezable(i, 60)]);
        }
    }
    for l in &lines {
        let a: Vec<&str> = l.iter().map(|x| x.as_str()).collect();
        rc.cmd(&a);
    }
    run_ok(&mut rc, &["LSET big 1500 changed", "LINSERT big BEFORE changed inserted"]);
    let keys = ["big", "small0", "small3", "small6"];
    let content = |c: &mut Conn| -> Vec<Resp> { keys.iter().map(|k| c.cmd(&["LRANGE", k, "0", "-1"])).collect() };
    let want = content(&mut rc);
    let redis_usage = rc.cmd(&["MEMORY", "USAGE", "big", "SAMPLES", "0"]).as_int();
    assert_eq!(rc.cmd(&["SAVE"]), Resp::ok());

    // Into ferrokv, with compression on and off.
    let db = TempDir::new("compressed-into-ferrokv");
    std::fs::copy(da.rdb(), db.rdb()).expect("copy");
    let f = start_on(false, db.path(), &args);
    let mut fc = Conn::connect(f.port);
    assert_eq!(content(&mut fc), want);
    assert_eq!(fc.cmd(&["LINDEX", "big", "1500"]).text(), "inserted");
    let packed = fc.cmd(&["MEMORY", "USAGE", "big", "SAMPLES", "0"]).as_int();
    let dplain = TempDir::new("compressed-into-ferrokv-plain");
    std::fs::copy(da.rdb(), dplain.rdb()).expect("copy");
    let fp = start_on(false, dplain.path(), &[]);
    let mut fpc = Conn::connect(fp.port);
    assert_eq!(content(&mut fpc), want);
    let plain = fpc.cmd(&["MEMORY", "USAGE", "big", "SAMPLES", "0"]).as_int();
    assert!(packed * 3 < plain, "loaded compressed: {packed}, plain: {plain} (Redis: {redis_usage})");

    // Changed in ferrokv, saved, and loaded by Redis.
    run_ok(&mut fc, &["LSET big -2000 again", "LREM big 1 inserted", "LTRIM small0 1 -1"]);
    let want2 = content(&mut fc);
    assert_eq!(fc.cmd(&["SAVE"]), Resp::ok());
    check_rdb(&db.rdb());
    let dc = TempDir::new("compressed-back-to-redis");
    std::fs::copy(db.rdb(), dc.rdb()).expect("copy");
    let r2 = start_on(true, dc.path(), &args);
    let mut rc2 = Conn::connect(r2.port);
    assert_eq!(content(&mut rc2), want2);
    assert_eq!(rc2.cmd(&["DEBUG", "DIGEST"]), fc.cmd(&["DEBUG", "DIGEST"]));
}

/// A compressed quicklist node that does not decompress to its stated
/// length is refused as Redis refuses it (a good one is accepted).
#[test]
fn corrupt_compressed_list_nodes_are_refused() {
    let mut d = Diff::with(&["--list-compress-depth", "1"]);
    let lp = |n: usize| -> Vec<u8> {
        // A listpack of one string of n bytes (n < 64).
        let mut b = vec![0u8; 6];
        b.push(0x80 | n as u8);
        b.extend(std::iter::repeat_n(b'a', n));
        b.push(1 + n as u8);
        b.push(0xFF);
        let total = b.len() as u32;
        b[..4].copy_from_slice(&total.to_le_bytes());
        b[4..6].copy_from_slice(&1u16.to_le_bytes());
        b
    };
    let node = |compressed: &[u8], len: usize| -> Vec<u8> {
        // RDB_TYPE_LIST_QUICKLIST_2, one node, packed, as an LZF string.
        let mut body = vec![18u8, 1, 2, 0xC3];
        body.push(compressed.len() as u8);
        body.push(len as u8);
        body.extend_from_slice(compressed);
        payload(&body, 10)
    };
    let good = lp(50);
    let packed = ferrokv::lzf::compress(&good, good.len()).expect("compressible");
    let mut cases = vec![node(&packed, good.len())];
    let mut wrong_len = packed.clone();
    wrong_len.truncate(packed.len() - 1);
    cases.push(node(&wrong_len, good.len()));
    cases.push(node(&[0xFF, 0xFF, 0xFF, 0xFF, 0xFF], 60));
    cases.push(node(&packed, good.len() - 3));
    for (i, p) in cases.iter().enumerate() {
        let k = format!("k{i}");
        d.check_b(&[b"RESTORE", k.as_bytes(), b"0", p]);
        d.check(&["LRANGE", &k, "0", "-1"]);
    }
}

#[test]
fn ferrokv_restart_keeps_data() {
    let dir = TempDir::new("restart");
    let mut f = start_on(false, dir.path(), &["--save", "3600 1"]);
    let mut c = Conn::connect(f.port);
    fill(&mut c);
    let before = snapshot(&mut c);
    c.send(&[b"SHUTDOWN"]);
    assert!(c.is_closed());
    assert_eq!(wait_exit(&mut f.child), 0);
    let log = read_log(&f.log);
    assert!(log.contains("Saving the final RDB snapshot before exiting."), "{log}");
    assert!(log.contains("DB saved on disk"), "{log}");
    check_rdb(&dir.rdb());

    let mut f2 = start_on(false, dir.path(), &[]);
    let mut c2 = Conn::connect(f2.port);
    assert_same(&snapshot(&mut c2), &before, true, 5000);

    // SHUTDOWN NOSAVE leaves the file as it was; SIGTERM saves with save points.
    assert_eq!(c2.cmd(&["SET", "added", "1"]), Resp::ok());
    let mtime = std::fs::metadata(dir.rdb()).and_then(|m| m.modified()).expect("mtime");
    c2.send(&[b"SHUTDOWN", b"NOSAVE"]);
    assert!(c2.is_closed());
    assert_eq!(wait_exit(&mut f2.child), 0);
    assert_eq!(std::fs::metadata(dir.rdb()).and_then(|m| m.modified()).expect("mtime"), mtime);

    let mut f3 = start_on(false, dir.path(), &["--save", "3600 1"]);
    let mut c3 = Conn::connect(f3.port);
    assert_eq!(c3.cmd(&["EXISTS", "added"]), Resp::int(0));
    assert_eq!(c3.cmd(&["SET", "bysignal", "1"]), Resp::ok());
    // SAFETY: kill(2) on our own child's pid with SIGTERM.
    unsafe {
        libc::kill(f3.child.id() as i32, libc::SIGTERM);
    }
    assert_eq!(wait_exit(&mut f3.child), 0);
    let log = read_log(&f3.log);
    assert!(log.contains("Received SIGTERM scheduling shutdown..."), "{log}");
    assert!(log.contains("Saving the final RDB snapshot before exiting."), "{log}");

    // SHUTDOWN SAVE saves even without save points.
    let mut f4 = start_on(false, dir.path(), &[]);
    let mut c4 = Conn::connect(f4.port);
    assert_eq!(c4.cmd(&["GET", "bysignal"]), Resp::bulk("1"));
    assert_eq!(c4.cmd(&["SET", "bysave", "1"]), Resp::ok());
    c4.send(&[b"SHUTDOWN", b"SAVE"]);
    assert!(c4.is_closed());
    assert_eq!(wait_exit(&mut f4.child), 0);
    let f5 = start_on(false, dir.path(), &[]);
    assert_eq!(Conn::connect(f5.port).cmd(&["GET", "bysave"]), Resp::bulk("1"));
}

/// Function libraries travel in the RDB file (FUNCTION2 records): through DEBUG
/// RELOAD, a restart, and into Redis.
#[test]
fn function_libraries_are_saved_and_loaded() {
    let lib = "#!lua name=shop\nredis.register_function('buy', function(keys, args) return redis.call('incrby', keys[1], args[1]) end)";
    let dir = TempDir::new("functions");
    let mut f = start_on(false, dir.path(), &[]);
    let mut c = Conn::connect(f.port);
    assert_eq!(c.cmd(&["FUNCTION", "LOAD", lib]), Resp::bulk("shop"));
    assert_eq!(c.cmd(&["DEBUG", "RELOAD"]), Resp::ok());
    assert_eq!(c.cmd(&["FCALL", "buy", "1", "k", "3"]), Resp::int(3));
    c.send(&[b"SHUTDOWN", b"SAVE"]);
    assert!(c.is_closed());
    assert_eq!(wait_exit(&mut f.child), 0);
    check_rdb(&dir.rdb());
    let f2 = start_on(false, dir.path(), &[]);
    assert_eq!(Conn::connect(f2.port).cmd(&["FCALL", "buy", "1", "k", "4"]), Resp::int(7));
    drop(f2);
    let r = start_on(true, dir.path(), &[]);
    let mut rc = Conn::connect(r.port);
    assert_eq!(rc.cmd(&["FCALL", "buy", "1", "k", "1"]), Resp::int(4));
}

#[test]
fn expired_keys_are_skipped_on_load() {
    let orig = Server::redis_with(&["--enable-debug-command", "yes"]);
    let mut rc = orig.conn();
    rc.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    rc.cmd(&["SET", "gone", "x", "PX", "50"]);
    rc.cmd(&["RPUSH", "gone2", "x"]);
    rc.cmd(&["PEXPIRE", "gone2", "50"]);
    rc.cmd(&["SET", "kept", "y"]);
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(rc.cmd(&["SAVE"]), Resp::ok());
    let (df, dr) = (TempDir::new("expired-f"), TempDir::new("expired-r"));
    std::fs::copy(orig.dir.join("dump.rdb"), df.rdb()).expect("copy");
    std::fs::copy(orig.dir.join("dump.rdb"), dr.rdb()).expect("copy");
    let f = start_on(false, df.path(), &[]);
    let r = start_on(true, dr.path(), &[]);
    let line = "Done loading RDB, keys loaded: 1, keys expired: 2.";
    assert!(read_log(&f.log).contains(line), "{}", read_log(&f.log));
    assert!(read_log(&r.log).contains(line), "{}", read_log(&r.log));
    let (mut fc, mut rc2) = (Conn::connect(f.port), Conn::connect(r.port));
    assert_same(&snapshot(&mut fc), &snapshot(&mut rc2), true, 0);
    for field in ["rdb_last_load_keys_loaded", "rdb_last_load_keys_expired"] {
        assert_eq!(info_field(&mut fc, field), info_field(&mut rc2, field));
    }
}

// ---------------------------------------------------------------------------
// Hand-made files in the older encodings

/// Builds RDB files byte by byte (independently of ferrokv's writer).
struct Rdb(Vec<u8>);

impl Rdb {
    fn new(version: u32) -> Rdb {
        Rdb(format!("REDIS{version:04}").into_bytes())
    }
    fn op(&mut self, b: u8) -> &mut Self {
        self.0.push(b);
        self
    }
    fn len(&mut self, n: u64) -> &mut Self {
        if n < 64 {
            self.0.push(n as u8);
        } else if n < 16384 {
            self.0.extend_from_slice(&[0x40 | (n >> 8) as u8, n as u8]);
        } else {
            self.0.push(0x80);
            self.0.extend_from_slice(&(n as u32).to_be_bytes());
        }
        self
    }
    fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(b);
        self
    }
    fn s(&mut self, b: &[u8]) -> &mut Self {
        self.len(b.len() as u64).raw(b)
    }
    fn lzf(&mut self, b: &[u8]) -> &mut Self {
        let c = lzf::compress(b).expect("compressible");
        self.op(0xC3).len(c.len() as u64).len(b.len() as u64).raw(&c)
    }
    fn aux(&mut self, k: &str, v: &str) -> &mut Self {
        self.op(0xFA).s(k.as_bytes()).s(v.as_bytes())
    }
    fn key(&mut self, t: u8, k: &str) -> &mut Self {
        self.op(t).s(k.as_bytes())
    }
    /// EOF and, from version 5, the CRC64.
    fn finish(&mut self, version: u32) -> Vec<u8> {
        self.op(0xFF);
        if version >= 5 {
            let crc = ferrokv::persist::rdb::CRC64.checksum(&self.0);
            self.0.extend_from_slice(&crc.to_le_bytes());
        }
        self.0.clone()
    }
}

enum Z<'a> {
    S(&'a [u8]),
    I(i64),
}

/// A ziplist as Redis 2.6–6.2 wrote them.
fn ziplist(items: &[Z]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut prev = 0usize;
    let mut tail = 10usize;
    for it in items {
        let start = 10 + body.len();
        tail = start;
        if prev < 254 {
            body.push(prev as u8);
        } else {
            body.push(0xFE);
            body.extend_from_slice(&(prev as u32).to_le_bytes());
        }
        match it {
            Z::S(s) => {
                let n = s.len();
                if n < 64 {
                    body.push(n as u8);
                } else if n < 16384 {
                    body.extend_from_slice(&[0x40 | (n >> 8) as u8, n as u8]);
                } else {
                    body.push(0x80);
                    body.extend_from_slice(&(n as u32).to_be_bytes());
                }
                body.extend_from_slice(s);
            }
            Z::I(v) => {
                let v = *v;
                if (0..=12).contains(&v) {
                    body.push(0xF1 + v as u8);
                } else if (-128..=127).contains(&v) {
                    body.extend_from_slice(&[0xFE, v as u8]);
                } else if (-32768..=32767).contains(&v) {
                    body.push(0xC0);
                    body.extend_from_slice(&(v as i16).to_le_bytes());
                } else if (-8388608..=8388607).contains(&v) {
                    body.push(0xF0);
                    body.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
                } else if (i32::MIN as i64..=i32::MAX as i64).contains(&v) {
                    body.push(0xD0);
                    body.extend_from_slice(&(v as i32).to_le_bytes());
                } else {
                    body.push(0xE0);
                    body.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
        prev = 10 + body.len() - start;
    }
    let mut z = Vec::new();
    z.extend_from_slice(&((11 + body.len()) as u32).to_le_bytes());
    z.extend_from_slice(&(tail as u32).to_le_bytes());
    z.extend_from_slice(&(items.len() as u16).to_le_bytes());
    z.extend_from_slice(&body);
    z.push(0xFF);
    z
}

/// A zipmap as Redis 2.0–2.4 wrote hashes.
fn zipmap(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut z = vec![pairs.len() as u8];
    for (k, v) in pairs {
        z.push(k.len() as u8);
        z.extend_from_slice(k);
        z.push(v.len() as u8);
        z.push(2); // two free bytes after the value
        z.extend_from_slice(v);
        z.extend_from_slice(&[0, 0]);
    }
    z.push(0xFF);
    z
}

fn intset(width: usize, vals: &[i64]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&(width as u32).to_le_bytes());
    b.extend_from_slice(&(vals.len() as u32).to_le_bytes());
    for v in vals {
        b.extend_from_slice(&v.to_le_bytes()[..width]);
    }
    b
}

/// A version-9 file using every encoding Redis 2.x–6.x wrote.
fn old_format_file() -> Vec<u8> {
    let mut r = Rdb::new(9);
    r.aux("redis-ver", "5.0.14").aux("redis-bits", "64").aux("ctime", "1600000000").aux("used-mem", "1048576");
    r.aux("lua", "return 1").aux("%note", "hello");
    r.op(0xFE).len(0).op(0xFB).len(12).len(2);
    // Strings: int8/16/32 forms, LZF, verbatim.
    r.key(0, "i8").raw(&[0xC0, 0xF6]);
    r.key(0, "i16").raw(&[0xC1, 0x39, 0x30]);
    r.key(0, "i32").raw(&[0xC2]).raw(&(-2_000_000_000i32).to_le_bytes());
    r.key(0, "lzf").lzf(&b"abcabcabcabcabcabcabcabcabcabcabcabcabc".repeat(3));
    // Expiry in seconds (old opcode), far in the future, and an LRU idle time.
    r.op(0xFD).raw(&2_000_000_000i32.to_le_bytes()).op(0xF8).len(100).key(0, "secs").s(b"v");
    r.op(0xF9).raw(&[7]).key(0, "freq").s(b"w");
    // List (type 1), set (type 2), zset with text scores (type 3), hash (type 4).
    r.key(1, "linked").len(3).s(b"a").raw(&[0xC0, 5]).s(b"c");
    r.key(2, "set2").len(3).s(b"1").s(b"2").raw(&[0xC1, 0x10, 0x27]);
    r.key(3, "zset1").len(4).s(b"a").raw(b"\x031.5").s(b"b").raw(&[254]).s(b"c").raw(&[255]).s(b"d").raw(b"\x02-3");
    r.key(4, "hash4").len(2).s(b"f").s(b"v").s(b"g").raw(&[0xC0, 1]);
    // Zipmap (type 9), ziplists (10, 12, 13), intsets of each width (11).
    r.key(9, "zipmap").s(&zipmap(&[(b"name", b"redis"), (b"n", b"12")]));
    let zl = ziplist(&[
        Z::S(b"x"),
        Z::I(3),
        Z::I(-100),
        Z::I(1000),
        Z::I(-70000),
        Z::I(3_000_000_000),
        Z::I(100_000),
        Z::S(&[b'y'; 70]),
    ]);
    r.key(10, "ziplist").s(&zl);
    r.key(11, "is16").s(&intset(2, &[-3, 1, 300]));
    r.key(11, "is32").s(&intset(4, &[-70000, 5, 70000]));
    r.key(11, "is64").s(&intset(8, &[-5_000_000_000, 0, 5_000_000_000]));
    r.key(12, "zsetzl").s(&ziplist(&[Z::S(b"a"), Z::I(1), Z::S(b"b"), Z::S(b"2.5"), Z::S(b"c"), Z::S(b"inf")]));
    r.key(13, "hashzl").s(&ziplist(&[Z::S(b"f"), Z::S(b"v"), Z::S(b"n"), Z::I(-5)]));
    // Quicklist v1 (type 14): two ziplist nodes, one of them LZF-compressed.
    let n1 = ziplist(&[Z::S(b"q1"), Z::I(2)]);
    let n2 = ziplist(&[Z::S(&b"q3".repeat(20)), Z::S(&b"q3".repeat(20))]);
    r.key(14, "quick").len(2).s(&n1).lzf(&n2);
    r.op(0xFE).len(3).op(0xFC).raw(&4_000_000_000_000i64.to_le_bytes()).key(0, "db3").s(b"x");
    r.finish(9)
}

#[test]
fn old_encodings_load_as_redis_loads_them() {
    let file = old_format_file();
    let (df, dr) = (TempDir::new("old-f"), TempDir::new("old-r"));
    std::fs::write(df.rdb(), &file).expect("write");
    std::fs::write(dr.rdb(), &file).expect("write");
    let f = start_on(false, df.path(), &[]);
    let r = start_on(true, dr.path(), &[]);
    let (mut fc, mut rc) = (Conn::connect(f.port), Conn::connect(r.port));
    let (sf, sr) = (snapshot(&mut fc), snapshot(&mut rc));
    assert_eq!(sf.len(), 19);
    assert_same(&sf, &sr, true, 3000);
    assert_eq!(fc.cmd(&["OBJECT", "IDLETIME", "secs"]), rc.cmd(&["OBJECT", "IDLETIME", "secs"]));
    let log = read_log(&f.log);
    assert!(log.contains("Loading RDB produced by version 5.0.14"), "{log}");
    assert!(log.contains("RDB '%note': hello"), "{log}");
    // What ferrokv writes from them loads into Redis identically.
    assert_eq!(fc.cmd(&["SAVE"]), Resp::ok());
    check_rdb(&df.rdb());
    let d2 = TempDir::new("old-back");
    std::fs::copy(df.rdb(), d2.rdb()).expect("copy");
    let r2 = start_on(true, d2.path(), &[]);
    assert_same(&snapshot(&mut Conn::connect(r2.port)), &sr, true, 3000);

    // Version 4 (no checksum) and version 11/12 files with Redis 7.2's set listpack.
    let mut v4 = Rdb::new(4);
    v4.op(0xFE).len(0).key(0, "old").s(b"v");
    let d4 = TempDir::new("v4");
    std::fs::write(d4.rdb(), v4.finish(4)).expect("write");
    let f4 = start_on(false, d4.path(), &[]);
    assert_eq!(Conn::connect(f4.port).cmd(&["GET", "old"]), Resp::bulk("v"));
    for ver in [11, 12] {
        let mut lp = ferrokv::persist::rdb::packed::LpWriter::new();
        for m in ["a", "7", "b"] {
            lp.push(m.as_bytes());
        }
        let mut lp2 = ferrokv::persist::rdb::packed::LpWriter::new();
        for m in ["1", "2", "-3"] {
            lp2.push(m.as_bytes());
        }
        let mut f = Rdb::new(ver);
        f.op(0xFE).len(0).key(20, "setlp").s(&lp.finish()).key(20, "setlpint").s(&lp2.finish());
        let d = TempDir::new("v11");
        std::fs::write(d.rdb(), f.finish(ver)).expect("write");
        let p = start_on(false, d.path(), &[]);
        let mut c = Conn::connect(p.port);
        assert_eq!(c.cmd(&["SMEMBERS", "setlp"]).sorted(), Resp::bulks(&["7", "a", "b"]));
        assert_eq!(c.cmd(&["OBJECT", "ENCODING", "setlp"]), Resp::bulk("hashtable"));
        assert_eq!(c.cmd(&["SMEMBERS", "setlpint"]), Resp::bulks(&["-3", "1", "2"]));
        assert_eq!(c.cmd(&["OBJECT", "ENCODING", "setlpint"]), Resp::bulk("intset"));
    }
}

// ---------------------------------------------------------------------------
// Bad files

#[test]
fn corrupt_files_stop_the_server() {
    // A valid file to damage.
    let src = Server::redis();
    let mut c = src.conn();
    fill(&mut c);
    assert_eq!(c.cmd(&["SAVE"]), Resp::ok());
    let good = std::fs::read(src.dir.join("dump.rdb")).expect("read");
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x5A;
    let mut bad_crc = good.clone();
    let n = bad_crc.len();
    bad_crc[n - 3] ^= 1;
    let mut stream = Rdb::new(10);
    stream.op(0xFE).len(0).key(15, "mystream").len(0);
    let mut module = Rdb::new(10);
    module.op(0xFE).len(0).key(7, "mod").len(0x1234_5678_9ABC_0000);
    let mut many_dbs = Rdb::new(10);
    many_dbs.op(0xFE).len(20).key(0, "k").s(b"v");
    let cases: Vec<(&str, Vec<u8>, &str, bool)> = vec![
        (
            "truncated",
            good[..good.len() / 2].to_vec(),
            "Short read or OOM loading DB. Unrecoverable error, aborting now.",
            true,
        ),
        ("flipped", flipped, "", false),
        ("bad-crc", bad_crc, "Wrong RDB checksum expected: (", true),
        ("signature", b"REDIX0010\xff".to_vec(), "Wrong signature trying to load DB from file", true),
        ("version", b"REDIS0013\xff".to_vec(), "Can't handle RDB format version 13", true),
        ("empty", Vec::new(), "Short read or OOM loading DB", true),
        ("many-dbs", many_dbs.finish(10), "configured to handle more than 16 databases", true),
        ("stream", stream.finish(10), "Unexpected encoded length", true),
        ("module", module.finish(10), "no matching module type", false),
    ];
    for (name, bytes, line, redis_too) in cases {
        let d = TempDir::new(name);
        std::fs::write(d.rdb(), &bytes).expect("write");
        let (code, log) = start_expecting_exit(false, d.path());
        assert_eq!(code, 1, "{name}: exit code; log:\n{log}");
        assert!(log.contains(line), "{name}: log lacks {line:?}:\n{log}");
        if redis_too {
            let (rcode, _) = start_expecting_exit(true, d.path());
            assert_eq!(rcode, 1, "{name}: redis exit code");
        }
    }
}

// ---------------------------------------------------------------------------
// DUMP / RESTORE

#[test]
fn dump_restore_both_ways() {
    let mut d = Diff::new();
    fill(&mut d.r);
    fill(&mut d.f);
    let keys: Vec<Vec<u8>> = d.r.cmd(&["KEYS", "*"]).items().iter().map(|k| k.text().into_bytes()).collect();
    // Payloads of deterministic encodings are byte-identical.
    for k in [
        "str", "int", "neg", "i64", "notint", "twenty", "empty", "bin", "long", "random", "emb44", "raw45", "list",
        "biglist", "hugelist", "hash", "intset", "intset64", "zset", "longhash",
    ] {
        d.check(&["DUMP", k]);
    }
    d.check(&["DUMP", "nosuchkey"]);
    for k in &keys {
        let from_r = d.r.cmd_b(&[b"DUMP", k]);
        let from_f = d.f.cmd_b(&[b"DUMP", k]);
        let (Resp::Bulk(Some(pr)), Resp::Bulk(Some(pf))) = (from_r, from_f) else { panic!("dump {k:?}") };
        let mut copy = b"copy:".to_vec();
        copy.extend_from_slice(k);
        // Redis's payload into ferrokv, ferrokv's into Redis.
        assert_eq!(d.f.cmd_b(&[b"RESTORE", &copy, b"0", &pr]), Resp::ok(), "restore {k:?} into ferrokv");
        assert_eq!(d.r.cmd_b(&[b"RESTORE", &copy, b"0", &pf]), Resp::ok(), "restore {k:?} into redis");
    }
    let (sf, sr) = (snapshot(&mut d.f), snapshot(&mut d.r));
    assert_same(&sf, &sr, true, 3000);
    // Each copy equals its original.
    for ((db, k), desc) in &sf {
        if let Some(orig) = k.strip_prefix(b"copy:") {
            let o = &sf[&(*db, orig.to_vec())];
            assert_eq!((&o.ty, &o.val, &o.enc), (&desc.ty, &desc.val, &desc.enc), "{}", String::from_utf8_lossy(k));
        }
    }
}

/// A payload with a valid footer around `body`.
fn payload(body: &[u8], version: u16) -> Vec<u8> {
    let mut p = body.to_vec();
    p.extend_from_slice(&version.to_le_bytes());
    let crc = ferrokv::persist::rdb::CRC64.checksum(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

#[test]
fn restore_options_and_errors_match_redis() {
    let mut d = Diff::new();
    d.check(&["SET", "src", "hello"]);
    let p = match d.r.cmd(&["DUMP", "src"]) {
        Resp::Bulk(Some(p)) => p,
        other => panic!("{other:?}"),
    };
    let run = |d: &mut Diff, args: &[&[u8]]| {
        d.check_b(args);
    };
    run(&mut d, &[b"RESTORE", b"src", b"0", &p]);
    run(&mut d, &[b"RESTORE", b"src", b"0", b"garbage"]);
    run(&mut d, &[b"RESTORE", b"k", b"0", b"garbage"]);
    run(&mut d, &[b"RESTORE", b"k", b"-1", &p]);
    run(&mut d, &[b"RESTORE", b"k", b"abc", &p]);
    run(&mut d, &[b"RESTORE", b"k", b"0", &p, b"bogus"]);
    run(&mut d, &[b"RESTORE", b"k", b"0", &p, b"IDLETIME"]);
    run(&mut d, &[b"RESTORE", b"k", b"0", &p, b"IDLETIME", b"-1"]);
    run(&mut d, &[b"RESTORE", b"k", b"0", &p, b"IDLETIME", b"x"]);
    run(&mut d, &[b"RESTORE", b"k", b"0", &p, b"FREQ", b"256"]);
    run(&mut d, &[b"RESTORE", b"k", b"0", &p, b"FREQ", b"-1"]);
    run(&mut d, &[b"RESTORE", b"k", b"0", &p, b"IDLETIME", b"1", b"FREQ", b"1"]);
    run(&mut d, &[b"RESTORE", b"k", b"0", &p, b"FREQ", b"1", b"IDLETIME", b"1"]);
    run(&mut d, &[b"RESTORE", b"src", b"-1", &p]);
    run(&mut d, &[b"RESTORE", b"src", b"0", b"garbage", b"REPLACE"]);
    // Footer checks: truncated, extended, wrong CRC, newer RDB version.
    run(&mut d, &[b"RESTORE", b"k", b"0", &p[..p.len() - 1]]);
    let mut longer = p.clone();
    longer.push(b'x');
    run(&mut d, &[b"RESTORE", b"k", b"0", &longer]);
    run(&mut d, &[b"RESTORE", b"k", b"0", &payload(&p[..p.len() - 10], 11)]);
    run(&mut d, &[b"RESTORE", b"k", b"0", &payload(&p[..p.len() - 10], 9)]);
    run(&mut d, &[b"EXISTS", b"k"]);
    run(&mut d, &[b"DEL", b"k"]);
    // Valid footers around bad bodies.
    for body in [
        &b""[..],
        b"\xc8",
        b"\x00",
        b"\x00\x05hel",
        b"\x02\x00",
        b"\x12\x00",
        b"\x0b\x03abc",
        b"\x10\x07\x07\x00\x00\x00\x01\x00\xff",
        b"\x0f\x00",
        b"\x00\xc3\x05\x10abc",
    ] {
        run(&mut d, &[b"RESTORE", b"k", b"0", &payload(body, 10)]);
    }
    // Options that succeed.
    run(&mut d, &[b"RESTORE", b"k", b"0", &p, b"IDLETIME", b"1000"]);
    d.check(&["OBJECT", "IDLETIME", "k"]);
    run(&mut d, &[b"RESTORE", b"k", b"0", &p, b"REPLACE", b"FREQ", b"100"]);
    d.check(&["OBJECT", "IDLETIME", "k"]);
    run(&mut d, &[b"RESTORE", b"k", b"100000", &p, b"REPLACE"]);
    let pt = d.f.cmd(&["PTTL", "k"]).as_int();
    assert!(pt > 95000 && pt <= 100000, "{pt}");
    run(&mut d, &[b"RESTORE", b"k", b"4000000000000", &p, b"REPLACE", b"ABSTTL"]);
    d.check(&["PEXPIRETIME", "k"]);
    // Already expired: OK and nothing stored; with REPLACE the old key is deleted.
    run(&mut d, &[b"RESTORE", b"gone", b"1", &p, b"ABSTTL"]);
    run(&mut d, &[b"RESTORE", b"k", b"1", &p, b"ABSTTL", b"REPLACE"]);
    run(&mut d, &[b"EXISTS", b"k", b"gone"]);
    run(&mut d, &[b"RESTORE", b"k", b"9223372036854775807", &p]);
    run(&mut d, &[b"EXISTS", b"k"]);
    run(&mut d, &[b"RESTORE", b"k", b"0", &p, b"replace", b"absttl", b"idletime", b"5", b"idletime", b"6"]);
    d.check(&["OBJECT", "IDLETIME", "k"]);
    d.check(&["TTL", "k"]);
    d.check(&["GET", "k"]);
    // An empty-list payload is bad data; a list restored wakes a blocked client.
    run(&mut d, &[b"RESTORE", b"k2", b"0", &payload(b"\x12\x00", 10)]);
    d.check(&["RPUSH", "l", "a", "b"]);
    let pl = match d.r.cmd(&["DUMP", "l"]) {
        Resp::Bulk(Some(p)) => p,
        other => panic!("{other:?}"),
    };
    d.check(&["DEL", "l"]);
    let mut bf = d.ferrokv.conn();
    let mut br = d.redis.conn();
    bf.send(&[b"BLPOP", b"l", b"5"]);
    br.send(&[b"BLPOP", b"l", b"5"]);
    std::thread::sleep(Duration::from_millis(100));
    run(&mut d, &[b"RESTORE", b"l", b"0", &pl]);
    assert_eq!(bf.read(), br.read());
    d.check(&["LRANGE", "l", "0", "-1"]);
    // Arity and the change counter.
    d.check(&["RESTORE", "k", "0"]);
    d.check(&["DUMP"]);
    d.check(&["DUMP", "a", "b"]);
    // RESP3: the same shapes.
    d.both(&["HELLO", "3"]);
    d.check(&["DUMP", "src"]);
    d.check(&["DUMP", "nosuchkey"]);
    run(&mut d, &[b"RESTORE", b"r3", b"0", &p]);
    // LASTSAVE: an integer in both protocols (the values are start times).
    d.check_with(&[b"LASTSAVE"], |r| if matches!(r, Resp::Int(_)) { Resp::Int(0) } else { r });
}

// ---------------------------------------------------------------------------
// SAVE, BGSAVE, LASTSAVE, INFO, MISCONF

#[test]
fn save_and_bgsave_match_redis() {
    let mut d = Diff::new();
    d.check(&["SAVE", "x"]);
    d.check(&["BGSAVE", "x"]);
    d.check(&["BGSAVE", "SCHEDULE", "x"]);
    d.check(&["SET", "a", "1"]);
    d.check(&["SET", "b", "2"]);
    let fields = ["rdb_changes_since_last_save", "rdb_bgsave_in_progress", "rdb_last_bgsave_status", "rdb_saves"];
    let same_info = |d: &mut Diff| {
        for f in fields {
            assert_eq!(info_field(&mut d.f, f), info_field(&mut d.r, f), "{f}");
        }
    };
    same_info(&mut d);
    d.check(&["SAVE"]);
    same_info(&mut d);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_secs() as i64;
    let ls = d.f.cmd(&["LASTSAVE"]).as_int();
    assert!((ls - now).abs() <= 2, "{ls} vs {now}");
    d.check(&["SET", "c", "3"]);
    d.check(&["BGSAVE", "SCHEDULE"]);
    wait_bgsave_done(&mut d.f);
    wait_bgsave_done(&mut d.r);
    same_info(&mut d);
    // Whole seconds between start and end: 0, or 1 across a second's edge.
    assert!(["0", "1"].contains(&info_field(&mut d.f, "rdb_last_bgsave_time_sec").as_str()));
    check_rdb(&d.ferrokv.dir.join("dump.rdb"));

    // A slow background save: everything that meets it while it runs.
    for c in [&mut d.f, &mut d.r] {
        assert_eq!(c.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "500000"]), Resp::ok());
    }
    d.check(&["BGSAVE"]);
    same_info(&mut d);
    d.check(&["BGSAVE"]);
    d.check(&["BGSAVE", "SCHEDULE"]);
    d.check(&["SAVE"]);
    d.check(&["SET", "during", "1"]);
    assert_ne!(info_field(&mut d.f, "rdb_current_bgsave_time_sec"), "-1");
    for c in [&mut d.f, &mut d.r] {
        assert_eq!(c.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "0"]), Resp::ok());
    }
    wait_bgsave_done(&mut d.f);
    wait_bgsave_done(&mut d.r);
    same_info(&mut d);
    assert_eq!(info_field(&mut d.f, "rdb_current_bgsave_time_sec"), "-1");

    // BGSAVE inside a transaction is scheduled, then run by the cron.
    d.check(&["MULTI"]);
    d.check(&["BGSAVE"]);
    d.check(&["EXEC"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while info_field(&mut d.f, "rdb_saves") != info_field(&mut d.r, "rdb_saves") {
        assert!(Instant::now() < deadline, "scheduled bgsave did not run");
        std::thread::sleep(Duration::from_millis(50));
    }
    wait_bgsave_done(&mut d.f);
    wait_bgsave_done(&mut d.r);
    same_info(&mut d);
    d.both(&["HELLO", "3"]);
    d.check(&["SAVE"]);
    d.check(&["BGSAVE", "x"]);
}

#[test]
fn failed_saves_and_misconf_match_redis() {
    let mut d = Diff::new();
    d.check(&["SET", "k", "v"]);
    // dump.rdb is a directory: the rename fails (also as root).
    for dir in [&d.ferrokv.dir, &d.redis.dir] {
        std::fs::create_dir_all(dir.join("dump.rdb").join("x")).expect("mkdir");
    }
    d.check(&["SAVE"]);
    d.check(&["BGSAVE"]);
    wait_bgsave_done(&mut d.f);
    wait_bgsave_done(&mut d.r);
    assert_eq!(info_field(&mut d.f, "rdb_last_bgsave_status"), "err");
    assert_eq!(info_field(&mut d.r, "rdb_last_bgsave_status"), "err");
    // Without save points writes go on; with them, MISCONF.
    d.check(&["SET", "k", "v2"]);
    d.check(&["CONFIG", "SET", "save", "3600 1"]);
    d.check(&["SET", "k", "v3"]);
    d.check(&["PING"]);
    d.check(&["GET", "k"]);
    d.check(&["MULTI"]);
    d.check(&["SET", "k", "v4"]);
    d.check(&["GET", "k"]);
    d.check(&["EXEC"]);
    d.check(&["MULTI"]);
    d.check(&["GET", "k"]);
    d.check(&["EXEC"]);
    d.check(&["FLUSHALL"]);
    d.check(&["SHUTDOWN"]);
    d.both(&["HELLO", "3"]);
    d.check(&["DEL", "k"]);
    d.both(&["HELLO", "2"]);
    d.check(&["CONFIG", "SET", "stop-writes-on-bgsave-error", "no"]);
    d.check(&["SET", "k", "v5"]);
    d.check(&["CONFIG", "SET", "stop-writes-on-bgsave-error", "yes"]);
    d.check(&["SET", "k", "v6"]);
    // A successful save clears the error.
    for dir in [&d.ferrokv.dir, &d.redis.dir] {
        std::fs::remove_dir_all(dir.join("dump.rdb")).expect("rmdir");
    }
    d.check(&["SAVE"]);
    d.check(&["SET", "k", "v7"]);
    assert_eq!(info_field(&mut d.f, "rdb_last_bgsave_status"), "ok");
    let log = d.ferrokv.log();
    assert!(log.contains("Error moving temp DB file temp-"), "{log}");
    assert!(log.contains("Background saving error"), "{log}");
    assert!(log.contains("Error trying to save the DB, can't exit."), "{log}");
}

#[test]
fn flushall_saves_with_save_points() {
    let mut d = Diff::with(&["--save", "3600 1"]);
    d.check(&["SET", "a", "1"]);
    d.check(&["SET", "b", "2"]);
    d.check(&["FLUSHALL"]);
    for (c, dir) in [(&mut d.f, &d.ferrokv.dir), (&mut d.r, &d.redis.dir)] {
        assert_eq!(info_field(c, "rdb_changes_since_last_save"), "0");
        assert!(dir.join("dump.rdb").exists());
    }
    check_rdb(&d.ferrokv.dir.join("dump.rdb"));
    // A running background save is cancelled by FLUSHALL (its old snapshot
    // must not replace the empty one).
    d.check(&["SET", "c", "3"]);
    for c in [&mut d.f, &mut d.r] {
        assert_eq!(c.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "1000000"]), Resp::ok());
    }
    d.check(&["BGSAVE"]);
    d.check(&["FLUSHALL"]);
    wait_bgsave_done(&mut d.f);
    wait_bgsave_done(&mut d.r);
    d.check(&["CONFIG", "SET", "rdb-key-save-delay", "0"]);
    assert_eq!(info_field(&mut d.f, "rdb_last_bgsave_status"), "ok");
    let dir = TempDir::new("after-flush");
    std::fs::copy(d.ferrokv.dir.join("dump.rdb"), dir.rdb()).expect("copy");
    let f = start_on(false, dir.path(), &[]);
    assert_eq!(Conn::connect(f.port).cmd(&["DBSIZE"]), Resp::int(0));
}

#[test]
fn save_points_trigger_bgsave() {
    let dir = TempDir::new("savepoints");
    let f = start_on(false, dir.path(), &["--save", "1 2"]);
    let mut c = Conn::connect(f.port);
    c.cmd(&["SET", "a", "1"]);
    std::thread::sleep(Duration::from_millis(2500));
    assert!(!dir.rdb().exists(), "one change is below the save point");
    c.cmd(&["SET", "b", "2"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while info_field(&mut c, "rdb_changes_since_last_save") != "0" {
        assert!(Instant::now() < deadline, "save point did not trigger");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(dir.rdb().exists());
    let log = read_log(&f.log);
    assert!(log.contains("2 changes in 1 seconds. Saving..."), "{log}");
    assert!(log.contains("Background saving started by pid "), "{log}");
    assert!(log.contains("Background saving terminated with success"), "{log}");
    assert_eq!(info_field(&mut c, "rdb_saves"), "1");
}

#[test]
fn debug_reload_keeps_content() {
    let mut d = Diff::with(&["--enable-debug-command", "yes"]);
    fill(&mut d.f);
    fill(&mut d.r);
    let before = snapshot(&mut d.f);
    d.check(&["DEBUG", "RELOAD", "bogus"]);
    d.check(&["DEBUG", "RELOAD"]);
    assert_same(&snapshot(&mut d.f), &before, true, 3000);
    assert_same(&snapshot(&mut d.f), &snapshot(&mut d.r), true, 3000);
    d.check(&["SET", "extra", "1"]);
    d.check(&["DEBUG", "RELOAD", "NOSAVE"]);
    d.check(&["EXISTS", "extra"]);
    d.check(&["SET", "extra", "2"]);
    d.check(&["DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE"]);
    d.check(&["EXISTS", "extra"]);
    d.check(&["DBSIZE"]);
    for dir in [&d.ferrokv.dir, &d.redis.dir] {
        std::fs::remove_file(dir.join("dump.rdb")).expect("rm");
    }
    d.check(&["DEBUG", "RELOAD", "NOSAVE"]);
    d.check(&["DBSIZE"]);
    assert_eq!(
        info_field(&mut d.f, "rdb_changes_since_last_save"),
        info_field(&mut d.r, "rdb_changes_since_last_save")
    );
}

#[test]
fn shutdown_failing_save_keeps_running() {
    let dir = TempDir::new("shutdown-fail");
    let mut f = start_on(false, dir.path(), &["--save", "3600 1"]);
    let mut c = Conn::connect(f.port);
    c.cmd(&["SET", "k", "v"]);
    std::fs::create_dir_all(dir.rdb().join("x")).expect("mkdir");
    assert_eq!(c.cmd(&["SHUTDOWN"]), Resp::err("ERR Errors trying to SHUTDOWN. Check logs."));
    assert_eq!(c.cmd(&["PING"]), Resp::simple("PONG"));
    // SAFETY: kill(2) on our own child's pid with SIGTERM.
    unsafe {
        libc::kill(f.child.id() as i32, libc::SIGTERM);
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(c.cmd(&["PING"]), Resp::simple("PONG"));
    c.send(&[b"SHUTDOWN", b"FORCE"]);
    assert!(c.is_closed());
    assert_eq!(wait_exit(&mut f.child), 0);
    let log = read_log(&f.log);
    assert!(log.contains("Error trying to save the DB. Exit anyway."), "{log}");
}

// ---------------------------------------------------------------------------
// Append-only file

const AOF_ALWAYS: &[&str] = &["--appendonly", "yes", "--appendfsync", "always"];

/// The commands of an AOF file, with absolute times (after PXAT and
/// PEXPIREAT) replaced by a marker so two servers' files compare.
fn aof_commands(path: &Path) -> Vec<Vec<String>> {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    let mut pos = 0;
    let line = |pos: &mut usize| -> String {
        let end = data[*pos..].windows(2).position(|w| w == b"\r\n").expect("CRLF") + *pos;
        let l = String::from_utf8_lossy(&data[*pos..end]).into_owned();
        *pos = end + 2;
        l
    };
    while pos < data.len() {
        let n: usize = line(&mut pos)[1..].parse().expect("multibulk count");
        let mut cmd = Vec::new();
        for _ in 0..n {
            let len: usize = line(&mut pos)[1..].parse().expect("bulk len");
            cmd.push(String::from_utf8_lossy(&data[pos..pos + len]).into_owned());
            pos += len + 2;
        }
        let at = match cmd[0].to_ascii_uppercase().as_str() {
            "PEXPIREAT" => Some(2),
            "SET" => cmd.iter().position(|a| a.eq_ignore_ascii_case("PXAT")).map(|i| i + 1),
            _ => None,
        };
        if let Some(i) = at.filter(|&i| i < cmd.len()) {
            cmd[i] = "<time>".into();
        }
        out.push(cmd);
    }
    out
}

fn incr_file(dir: &Path, seq: u32) -> PathBuf {
    dir.join("appendonlydir").join(format!("appendonly.aof.{seq}.incr.aof"))
}

/// What ferrokv appends is what Redis appends, command for command: verbatim
/// writes, absolute expiries, pops for blocking and random pops, effects of
/// scripts wrapped in MULTI/EXEC, DEL for keys found expired, SELECT.
#[test]
fn aof_matches_redis_command_for_command() {
    let script = [
        "SET a 1",
        "SET b 2 EX 100",
        "EXPIRE a 50",
        "INCRBYFLOAT f 1.5",
        "HINCRBYFLOAT h f 2.5",
        "SADD s only",
        "SPOP s",
        "SADD s2 x y z",
        "SPOP s2 5",
        "RPUSH l a b c d e",
        "BLPOP l 0",
        "BRPOPLPUSH l l2 0",
        "BLMOVE l l2 LEFT RIGHT 0",
        "LMPOP 1 l RIGHT COUNT 5",
        "ZADD z 1 a 2 b 3 c 4 d",
        "BZPOPMIN z 0",
        "ZMPOP 1 z MAX COUNT 2",
        "BZMPOP 0 1 z MIN",
        "EVAL \"redis.call('set','e1','1') redis.call('set','e2','2') return 1\" 0",
        "EVAL \"redis.call('set','e3','1') return 1\" 0",
        "EVAL \"return redis.call('get','e3')\" 0",
        "MULTI",
        "SET m1 1",
        "INCR m1",
        "GET m1",
        "EXEC",
        "SELECT 3",
        "SET x 1",
        "SELECT 0",
        "SET gone 1 PX 1",
        "SETEX c 100 v",
        "PSETEX c2 100000 v",
        "GETEX b PERSIST",
        "SET k2 v",
        "GETEX k2 EX 100",
        "GETDEL k2",
        "EXPIRE a -1",
        "SET k3 v KEEPTTL",
        "SET k4 v NX GET EX 5",
        "SET n 10",
        "INCR n",
        "PEXPIREAT n 99999999999999",
        "EXPIREAT n 1",
        "PFADD p a b",
        "PFCOUNT p",
        "GET nothing",
        "DEL nothing",
        "FLUSHDB",
        "SET last 1",
    ];
    let mut files = Vec::new();
    for redis in [false, true] {
        let dir = TempDir::new(if redis { "aof-redis" } else { "aof-ferrokv" });
        let f = start_on(redis, dir.path(), AOF_ALWAYS);
        let mut c = Conn::connect(f.port);
        for line in script {
            run_line(&mut c, line);
            if line.starts_with("SET gone") {
                // Let it expire, then find it so (DEL).
                std::thread::sleep(Duration::from_millis(5));
                c.cmd(&["GET", "gone"]);
            }
        }
        // A pop served to a blocked client, and a key found expired.
        let mut blocked = Conn::connect(f.port);
        blocked.send(&[b"BLPOP", b"q", b"0"]);
        std::thread::sleep(Duration::from_millis(100));
        c.cmd(&["RPUSH", "q", "v"]);
        assert_eq!(blocked.read().items().len(), 2);
        c.cmd(&["SET", "soon", "1", "PX", "1"]);
        std::thread::sleep(Duration::from_millis(5));
        c.cmd(&["GET", "soon"]);
        c.cmd(&["PING"]);
        files.push(aof_commands(&incr_file(dir.path(), 1)));
    }
    assert!(files[1].len() > 50, "Redis's AOF: {:?}", files[1]);
    assert_eq!(files[0], files[1], "ferrokv's AOF (left) differs from Redis's (right)");
}

/// With `appendfsync always`, a SIGKILL right after the last reply loses
/// nothing: a new server on the directory has every key, value and TTL.
#[test]
fn aof_keeps_every_acknowledged_write_after_kill_9() {
    let dir = TempDir::new("aof-kill");
    let mut f = start_on(false, dir.path(), AOF_ALWAYS);
    let mut c = Conn::connect(f.port);
    fill(&mut c);
    for line in [
        "EVAL \"for i=1,100 do redis.call('rpush','fromlua',i) end return 1\" 0",
        "INCRBYFLOAT float 0.1",
        "INCRBYFLOAT float 0.2",
        "SADD popme a b c d e f g",
        "SPOP popme 3",
        "MULTI",
        "HSET tx f v",
        "EXPIRE tx 1000",
        "EXEC",
        "SET gone 1",
        "DEL gone",
    ] {
        run_ok(&mut c, &[line]);
    }
    let before = snapshot(&mut c);
    f.child.kill().expect("SIGKILL");
    f.child.wait().expect("reap");
    let g = start_on(false, dir.path(), &["--appendonly", "yes"]);
    let mut c2 = Conn::connect(g.port);
    assert_same(&snapshot(&mut c2), &before, true, 5000);
    assert_eq!(info_field(&mut c2, "aof_enabled"), "1");
}

/// Redis loads the directory ferrokv wrote (base RDB + increments, after a
/// rewrite), and ferrokv loads what Redis then wrote.
#[test]
fn aof_directories_load_in_redis_and_back() {
    let dir = TempDir::new("aof-interop");
    let mut f = start_on(false, dir.path(), AOF_ALWAYS);
    let mut c = Conn::connect(f.port);
    fill(&mut c);
    assert_eq!(c.cmd(&["BGREWRITEAOF"]), Resp::simple("Background append only file rewriting started"));
    c.cmd(&["SET", "after-rewrite", "1"]);
    c.cmd(&["RPUSH", "list", "more"]);
    wait_rewrite_done(&mut c);
    let manifest = std::fs::read_to_string(dir.path().join("appendonlydir/appendonly.aof.manifest")).expect("manifest");
    assert_eq!(manifest, "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n");
    assert_eq!(info_field(&mut c, "aof_rewrites"), "1");
    let before = snapshot(&mut c);
    c.send(&[b"SHUTDOWN"]);
    assert!(c.is_closed());
    assert_eq!(wait_exit(&mut f.child), 0);

    let mut r = start_on(true, dir.path(), AOF_ALWAYS);
    let mut rc = Conn::connect(r.port);
    assert_same(&snapshot(&mut rc), &before, true, 5000);
    rc.cmd(&["SET", "by-redis", "1"]);
    rc.cmd(&["EXPIRE", "str", "1000"]);
    let before = snapshot(&mut rc);
    rc.send(&[b"SHUTDOWN"]);
    assert!(rc.is_closed());
    assert_eq!(wait_exit(&mut r.child), 0);

    let g = start_on(false, dir.path(), &["--appendonly", "yes"]);
    let mut c2 = Conn::connect(g.port);
    assert_same(&snapshot(&mut c2), &before, true, 5000);
}

/// A command cut short at the end of the file (a crash mid-write) is dropped
/// with `aof-load-truncated yes`, and stops the server with `no`.
#[test]
fn truncated_aof_tail() {
    for redis in [false, true] {
        let dir = TempDir::new("aof-trunc");
        let mut f = start_on(redis, dir.path(), AOF_ALWAYS);
        let mut c = Conn::connect(f.port);
        c.cmd(&["SET", "kept", "1"]);
        f.child.kill().expect("SIGKILL");
        f.child.wait().expect("reap");
        let incr = incr_file(dir.path(), 1);
        let mut data = std::fs::read(&incr).expect("incr");
        let whole = data.len();
        data.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$4\r\nlost");
        std::fs::write(&incr, &data).expect("write");

        let (mut child, _, log) = spawn(redis, dir.path(), &["--appendonly", "yes", "--aof-load-truncated", "no"]);
        assert_eq!(wait_exit(&mut child), 1, "redis={redis}");
        assert!(read_log(&log).contains("Unexpected end of file reading the append only file"), "redis={redis}");

        let g = start_on(redis, dir.path(), &["--appendonly", "yes"]);
        let mut c2 = Conn::connect(g.port);
        assert_eq!(c2.cmd(&["GET", "kept"]), Resp::bulk("1"), "redis={redis}");
        assert_eq!(c2.cmd(&["DBSIZE"]), Resp::int(1), "redis={redis}");
        assert_eq!(std::fs::metadata(&incr).expect("incr").len() as usize, whole, "redis={redis}: truncated");
    }
}

/// CONFIG SET appendonly yes writes the dataset as a base and appends from
/// then on; `no` stops appending.
#[test]
fn config_set_appendonly_starts_and_stops_the_aof() {
    let dir = TempDir::new("aof-config");
    let mut f = start_on(false, dir.path(), &[]);
    let mut c = Conn::connect(f.port);
    c.cmd(&["SET", "before", "1"]);
    assert_eq!(info_field(&mut c, "aof_enabled"), "0");
    assert_eq!(c.cmd(&["CONFIG", "SET", "appendonly", "yes"]), Resp::ok());
    assert_eq!(info_field(&mut c, "aof_enabled"), "1");
    wait_rewrite_done(&mut c);
    c.cmd(&["SET", "during", "1"]);
    assert_eq!(aof_commands(&incr_file(dir.path(), 1)), vec![vec!["SELECT", "0"], vec!["SET", "during", "1"]]);
    assert_eq!(c.cmd(&["CONFIG", "SET", "appendonly", "no"]), Resp::ok());
    c.cmd(&["SET", "after", "1"]);
    assert_eq!(aof_commands(&incr_file(dir.path(), 1)).len(), 2);
    f.child.kill().expect("SIGKILL");
    f.child.wait().expect("reap");
    let g = start_on(false, dir.path(), &["--appendonly", "yes"]);
    let mut c2 = Conn::connect(g.port);
    assert_eq!(
        c2.cmd(&["MGET", "before", "during", "after"]),
        Resp::arr(vec![Resp::bulk("1"), Resp::bulk("1"), Resp::nil()])
    );
}

/// INFO persistence shows the same AOF fields as Redis's, and the sizes move.
#[test]
fn aof_info_fields_match_redis() {
    let names = |redis: bool| {
        let dir = TempDir::new("aof-info");
        let f = start_on(redis, dir.path(), AOF_ALWAYS);
        let mut c = Conn::connect(f.port);
        let size0: u64 = info_field(&mut c, "aof_current_size").parse().expect("size");
        c.cmd(&["SET", "k", "v"]);
        let size1: u64 = info_field(&mut c, "aof_current_size").parse().expect("size");
        assert!(size1 > size0, "redis={redis}: {size0} -> {size1}");
        let info = c.cmd(&["INFO", "persistence"]).text();
        info.lines().filter_map(|l| l.split(':').next()).map(str::to_string).collect::<Vec<_>>()
    };
    assert_eq!(names(false), names(true));
}

// ---------------------------------------------------------------------------
// Streams in the AOF

/// A stream workload covering what Redis rewrites for propagation: XADD's
/// generated IDs and approximate trims, XTRIM, XREADGROUP (new entries,
/// history, NOACK, COUNT, a key twice), XCLAIM and XAUTOCLAIM (every option,
/// deleted entries), the verbatim rest of the family, RESP3 replies,
/// MULTI/EXEC and scripts.
fn stream_script() -> Vec<String> {
    let mut s: Vec<String> = [
        "XADD s * a 1",
        "XADD s 5-* a 1",
        "XADD s 99999999999999-* a 2",
        "XADD s 99999999999999-* a 3",
        "XADD s MAXLEN ~ 2 * a 4",
        "XADD s maxlen 2 * a 5",
        "XADD s MAXLEN = 3 * a 6",
        "XADD s MINID 99999999999999-3 * a 7",
        "XADD t 1-1 f v",
        "XADD t NOMKSTREAM MINID ~ 0 2-1 f v",
        "XADD nope NOMKSTREAM * f v",
        "XDEL t 1-1",
        "XDEL t 1-1",
        "XADD e maxlen ~ 0 * a 1",
        "XADD e2 minid ~ 99999999999999999 * a 1",
        "XADD e3 MINID ~ 99999999999999999 1-1 a 1",
        "XTRIM s MAXLEN ~ 0",
        "XTRIM s MAXLEN 1",
        "XTRIM s MAXLEN 1",
        "XTRIM s MINID ~ 0",
        "XTRIM nope MAXLEN 0",
        "XSETID s 99999999999999-10",
        "XSETID s 99999999999999-11 ENTRIESADDED 50 MAXDELETEDID 99999999999999-1",
    ]
    .iter()
    .map(|l| l.to_string())
    .collect();
    // Several nodes (100 entries each): approximate trims stop at node
    // boundaries, LIMIT stops them early, MINID may land on a deleted entry.
    for i in 1..=250 {
        s.push(format!("XADD big {i}-1 f v"));
    }
    s.extend(
        [
            "XADD big MAXLEN ~ 120 * a 1",
            "XADD big MAXLEN ~ 10 LIMIT 50 * a 1",
            "XDEL big 201-1",
            "XTRIM big MINID ~ 210",
            "XTRIM big MINID ~ 210 LIMIT 0",
            "XTRIM big MAXLEN ~ 10 LIMIT 1",
            "XTRIM big MINID 230-1",
            "XADD big MINID ~ 240 LIMIT 100 * a 2",
        ]
        .iter()
        .map(|l| l.to_string()),
    );
    for i in 1..=8 {
        s.push(format!("XADD g {i}-0 f v"));
    }
    s.extend(
        [
            "XGROUP CREATE g g1 0",
            "XGROUP CREATE g g2 $",
            "XGROUP CREATE g g3 0 ENTRIESREAD 0",
            "XGROUP CREATE m g1 $ MKSTREAM",
            "XGROUP CREATE g g1 0",
            "XGROUP CREATECONSUMER g g1 cc",
            "XGROUP CREATECONSUMER g g1 cc",
            "XGROUP DELCONSUMER g g1 cc",
            "XGROUP DELCONSUMER g g1 cc",
            "XGROUP SETID g g2 0",
            "XGROUP SETID g g2 $ ENTRIESREAD 8",
            "XGROUP DESTROY g g2",
            "XGROUP DESTROY g g2",
            "XREADGROUP GROUP g1 c1 COUNT 3 STREAMS g >",
            "XREADGROUP GROUP g1 c1 COUNT 1 STREAMS g >",
            "XREADGROUP GROUP g1 c1 STREAMS g 0",
            "XREADGROUP GROUP g1 c2 STREAMS g 0",
            "XREADGROUP GROUP g1 c3 NOACK COUNT 1 STREAMS g >",
            "XREADGROUP GROUP g3 c3 NOACK STREAMS g >",
            "XREADGROUP GROUP g3 c4 NOACK STREAMS g 0",
            "XREADGROUP GROUP g1 c5 COUNT 1 STREAMS g g > >",
            "XREADGROUP GROUP g1 c5 STREAMS g 1",
            "XACK g g1 1-0 99-0",
            "XACK g g1 1-0",
            "XCLAIM g g1 c9 0 2 2-0 3 JUSTID",
            "XCLAIM g g1 c8 0 3-0 IDLE 5000 RETRYCOUNT 7 LASTID 7-0",
            "XCLAIM g g1 c8 0 8 FORCE JUSTID",
            "XCLAIM g g1 c8 0 4-0 TIME 1000",
            "XCLAIM g g1 c8 0 4-0 5-0 4-0",
            "XCLAIM g g1 c8 99999999 3 LASTID 8-0",
            "XCLAIM g g1 c8 99999999 3 LASTID 2-0",
            "XDEL g 4-0 5-0",
            "XCLAIM g g1 c7 0 4 6-0 5-0",
            "XADD g 9-0 f v",
            "XREADGROUP GROUP g1 c1 STREAMS g >",
            "XDEL g 6-0",
            "XAUTOCLAIM g g1 c6 0 0 COUNT 2",
            "XAUTOCLAIM g g1 c6 0 0 JUSTID",
            "XAUTOCLAIM g g1 c6 0 0",
            "XAUTOCLAIM g g1 c6 99999999 0",
            // NOACK reads of one key several times in one command.
            "XADD k 1-0 f v",
            "XADD k 2-0 f v",
            "XADD k 3-0 f v",
            "XADD k 4-0 f v",
            "XADD k 5-0 f v",
            "XADD k 6-0 f v",
            "XADD k 7-0 f v",
            "XGROUP CREATE k g 0",
            "XGROUP CREATE k g2 0",
            "XGROUP CREATE k g3 0 ENTRIESREAD -1",
            "XREADGROUP GROUP g c NOACK COUNT 1 STREAMS k k k > > >",
            "XDEL k 6-0",
            "XREADGROUP GROUP g2 c NOACK COUNT 2 STREAMS k k > >",
            "XREADGROUP GROUP g3 c NOACK COUNT 2 STREAMS k k k k > > > >",
            "XGROUP SETID k g 0 ENTRIESREAD -1",
            "XREADGROUP GROUP g c NOACK COUNT 2 STREAMS k k > >",
            "XCLAIM k g c 0 2-0 3-0 FORCE",
            "XCLAIM k g c 0 2-0 3-0 FORCE RETRYCOUNT -5",
            "XCLAIM k g c 0 2-0 2-0 FORCE RETRYCOUNT 3",
            "XCLAIM k g c 0 6-0 2-0",
            // RESP3 replies (maps for XREADGROUP).
            "HELLO 3",
            "XADD r * f v",
            "XADD r * f v",
            "XADD r * f v",
            "XGROUP CREATE r g 0",
            "XREADGROUP GROUP g a COUNT 1 STREAMS r g > >",
            "XREADGROUP GROUP g b NOACK COUNT 1 STREAMS r >",
            "XCLAIM r g c 0 0-1",
            "XAUTOCLAIM r g d 0 0",
            "XADD r MAXLEN ~ 0 * f v",
            "HELLO 2",
            // Transactions and scripts.
            "MULTI",
            "XADD x * f v",
            "XGROUP CREATE x g 0",
            "XREADGROUP GROUP g c STREAMS x >",
            "XADD x MAXLEN ~ 5 * f v",
            "EXEC",
            "EVAL \"redis.call('xadd', KEYS[1], '*', 'f', 'v') return redis.call('xreadgroup', 'group', 'g', 'e', 'streams', KEYS[1], '>')\" 1 x",
            "EVAL \"return redis.call('xclaim', KEYS[1], 'g', 'e2', 0, '0-1')\" 1 x",
            "SELECT 2",
            "XADD y * f v",
            "XGROUP CREATE y g 0",
            "XREADGROUP GROUP g c STREAMS y >",
            "SELECT 0",
            "XGROUP CREATE y g 0 MKSTREAM",
            "XGROUP SETID y g 5-5 ENTRIESREAD 3",
            "XGROUP CREATECONSUMER y g c",
            "DEL nothing",
        ]
        .iter()
        .map(|l| l.to_string()),
    );
    s
}

/// Runs the stream workload on a server, then XREADGROUPs that block and
/// are served by a later XADD (a new consumer, with and without NOACK).
fn run_stream_script(port: u16) {
    let mut c = Conn::connect(port);
    for line in stream_script() {
        run_line(&mut c, &line);
    }
    c.cmd(&["XGROUP", "CREATE", "b1", "g", "$", "MKSTREAM"]);
    c.cmd(&["XGROUP", "CREATE", "b2", "g", "$", "MKSTREAM"]);
    let mut w1 = Conn::connect(port);
    w1.send(&[b"XREADGROUP", b"GROUP", b"g", b"w1", b"BLOCK", b"0", b"STREAMS", b"b1", b">"]);
    let mut w2 = Conn::connect(port);
    w2.send(&[b"XREADGROUP", b"GROUP", b"g", b"w2", b"NOACK", b"BLOCK", b"0", b"STREAMS", b"b2", b">"]);
    std::thread::sleep(Duration::from_millis(100));
    c.cmd(&["XADD", "b1", "*", "f", "v"]);
    c.cmd(&["XADD", "b2", "*", "f", "v"]);
    assert_eq!(w1.read().items().len(), 1);
    assert_eq!(w2.read().items().len(), 1);
    c.cmd(&["PING"]);
}

/// A stream ID the clock made (XADD `*`), not one a command named.
fn clock_id(s: &str) -> bool {
    s.split_once('-').is_some_and(|(ms, seq)| {
        ms.len() >= 12 && ms.bytes().all(|b| b.is_ascii_digit()) && seq.bytes().all(|b| b.is_ascii_digit())
    })
}

/// Maps clock-made IDs to their order of first appearance in their stream,
/// so two servers' outputs compare (two streams may get the same ID from one
/// server and different ones from the other).
#[derive(Default)]
struct IdNames(std::collections::HashMap<(String, String), usize>);

impl IdNames {
    fn name(&mut self, key: &str, s: &str) -> String {
        if !clock_id(s) {
            return s.to_string();
        }
        let n = self.0.keys().filter(|(k, _)| k == key).count();
        format!("<id {}>", *self.0.entry((key.to_string(), s.to_string())).or_insert(n))
    }
}

/// A time in ms within the last hour (delivery and seen times).
fn recent_ms(n: i64) -> bool {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as i64;
    (now - 3_600_000..=now + 60_000).contains(&n)
}

/// An AOF's commands with clock-made IDs named by order of appearance and
/// XCLAIM's recent TIME values replaced by a marker.
fn stream_aof_commands(path: &Path) -> Vec<Vec<String>> {
    let mut ids = IdNames::default();
    aof_commands(path)
        .into_iter()
        .map(|cmd| {
            let mut out = Vec::with_capacity(cmd.len());
            let key = cmd.get(if cmd[0].eq_ignore_ascii_case("XGROUP") { 2 } else { 1 }).cloned().unwrap_or_default();
            for (i, a) in cmd.iter().enumerate() {
                let after_time = i > 0 && cmd[0].eq_ignore_ascii_case("XCLAIM") && cmd[i - 1] == "TIME";
                out.push(if after_time && a.parse::<i64>().is_ok_and(recent_ms) {
                    "<time>".into()
                } else {
                    ids.name(&key, a)
                });
            }
            out
        })
        .collect()
}

/// What ferrokv appends for stream commands is what Redis appends, command
/// for command: the generated IDs and reached thresholds written in, and
/// consumer-group reads and claims as Redis's XCLAIM / XGROUP forms.
#[test]
fn aof_stream_commands_match_redis() {
    let mut files = Vec::new();
    for redis in [false, true] {
        let dir = TempDir::new(if redis { "aof-stream-redis" } else { "aof-stream-ferrokv" });
        let f = start_on(redis, dir.path(), AOF_ALWAYS);
        run_stream_script(f.port);
        files.push(stream_aof_commands(&incr_file(dir.path(), 1)));
    }
    let count = |name: &str| files[1].iter().filter(|c| c[0] == name).count();
    assert!(count("XCLAIM") > 20 && count("XGROUP") > 5 && count("MULTI") > 5, "Redis's AOF: {:?}", files[1]);
    for (i, (f, r)) in files[0].iter().zip(&files[1]).enumerate() {
        assert_eq!(f, r, "command {i} of the AOF differs (ferrokv left, Redis right)");
    }
    assert_eq!(files[0].len(), files[1].len(), "ferrokv's AOF (left) differs from Redis's (right)");
}

/// XINFO STREAM FULL of every stream key, with the consumers' seen times
/// (which a reload sets) zeroed; `across` also names clock-made IDs by
/// order of appearance and replaces recent times and the radix tree's node
/// count (which depend on the clock's IDs), to compare two servers.
fn stream_infos(c: &mut Conn, across: bool) -> BTreeMap<(usize, String), Resp> {
    fn norm(r: &Resp, ids: &mut IdNames, across: bool) -> Resp {
        // One stream at a time: the names need no key.
        match r {
            Resp::Array(Some(v)) => {
                let mut out = Vec::with_capacity(v.len());
                for (i, x) in v.iter().enumerate() {
                    let prev = if i > 0 { v[i - 1].text() } else { String::new() };
                    out.push(match (prev.as_str(), x) {
                        ("seen-time", _) => Resp::Int(0),
                        ("radix-tree-nodes", _) if across => Resp::Int(0),
                        (_, Resp::Int(n)) if across && recent_ms(*n) => Resp::Int(-1),
                        _ => norm(x, ids, across),
                    });
                }
                Resp::Array(Some(out))
            }
            Resp::Bulk(Some(b)) if across => Resp::bulk(&ids.name("", &String::from_utf8_lossy(b))),
            other => other.clone(),
        }
    }
    let mut out = BTreeMap::new();
    for db in [0usize, 2] {
        c.cmd(&["SELECT", &db.to_string()]);
        let mut keys: Vec<String> = c.cmd(&["KEYS", "*"]).items().iter().map(Resp::text).collect();
        keys.sort();
        for k in keys {
            if c.cmd(&["TYPE", &k]).text() == "stream" {
                let info = c.cmd(&["XINFO", "STREAM", &k, "FULL", "COUNT", "0"]);
                out.insert((db, k), norm(&info, &mut IdNames::default(), across));
            }
        }
    }
    c.cmd(&["SELECT", "0"]);
    out
}

/// After the stream workload and a SIGKILL, ferrokv reloads from its AOF
/// the streams Redis reloads from its own: entries, IDs, counters, groups,
/// consumers and pending entries (delivery times and counts). Where Redis's
/// own AOF does not carry a change (history reads' delivery counts, a group's
/// entries-read after an XCLAIM LASTID), ferrokv's reload differs from its
/// state before in the same way.
#[test]
fn aof_stream_restart_matches_redis() {
    let mut results = Vec::new();
    for redis in [false, true] {
        let dir = TempDir::new(if redis { "aof-stream-kill-redis" } else { "aof-stream-kill-ferrokv" });
        let mut f = start_on(redis, dir.path(), AOF_ALWAYS);
        run_stream_script(f.port);
        let mut c = Conn::connect(f.port);
        let before = (stream_infos(&mut c, false), stream_infos(&mut c, true));
        f.child.kill().expect("SIGKILL");
        f.child.wait().expect("reap");
        let g = start_on(redis, dir.path(), &["--appendonly", "yes"]);
        let mut c2 = Conn::connect(g.port);
        let after = (stream_infos(&mut c2, false), stream_infos(&mut c2, true));
        results.push((before, after));
    }
    let ((f_before, f_before_x), (f_after, f_after_x)) = &results[0];
    let ((r_before, r_before_x), (r_after, r_after_x)) = &results[1];
    assert!(r_after.len() > 10, "Redis's streams: {r_after:?}");
    assert_eq!(f_before_x, r_before_x, "before the restart (ferrokv left, Redis right)");
    assert_eq!(f_after_x, r_after_x, "after the restart (ferrokv left, Redis right)");
    for (key, r_b) in r_before {
        let kept_by_redis = r_after.get(key) == Some(r_b);
        let kept = f_after.get(key) == f_before.get(key);
        assert_eq!(
            kept,
            kept_by_redis,
            "{key:?}: ferrokv before {:?}\nafter {:?}",
            f_before.get(key),
            f_after.get(key)
        );
    }
    // Most streams come back exactly as they were.
    let kept = r_before.iter().filter(|(k, v)| r_after.get(*k) == Some(*v)).count();
    assert!(kept * 2 > r_before.len(), "Redis kept {kept} of {}", r_before.len());
}

/// A blocked XREADGROUP served by an XADD propagates its XCLAIMs even when
/// its consumer existed (Redis does not count that read as a change).
#[test]
fn aof_stream_blocked_group_read_matches_redis() {
    let mut files = Vec::new();
    for redis in [false, true] {
        let dir = TempDir::new(if redis { "aof-stream-block-redis" } else { "aof-stream-block-ferrokv" });
        let f = start_on(redis, dir.path(), AOF_ALWAYS);
        let mut c = Conn::connect(f.port);
        c.cmd(&["XGROUP", "CREATE", "b", "g", "$", "MKSTREAM"]);
        c.cmd(&["XGROUP", "CREATECONSUMER", "b", "g", "w"]);
        let mut w = Conn::connect(f.port);
        w.send(&[b"XREADGROUP", b"GROUP", b"g", b"w", b"BLOCK", b"0", b"STREAMS", b"b", b">"]);
        std::thread::sleep(Duration::from_millis(100));
        c.cmd(&["XADD", "b", "*", "f", "v"]);
        assert_eq!(w.read().items().len(), 1);
        c.cmd(&["PING"]);
        files.push(stream_aof_commands(&incr_file(dir.path(), 1)));
    }
    assert_eq!(files[0], files[1], "ferrokv's AOF (left) differs from Redis's (right)");
}

// ---------------------------------------------------------------------------
// Snapshots while serving

/// Changes every kind of key event while a background snapshot runs:
/// overwrites, in-place changes, deletes, TTL changes, an expiry, RENAME,
/// MOVE, FLUSHDB of a database not yet written, SWAPDB, new keys.
fn mutate_during_snapshot(c: &mut Conn) {
    let script = [
        "APPEND str -more",
        "RPUSH biglist extra",
        "LPOP list",
        "HSET bighash f0 changed",
        "HDEL hash f",
        "SADD bigintset 99999",
        "ZADD bigzset -5 m0",
        "DEL int",
        "UNLINK biglist",
        "EXPIRE str 100",
        "PERSIST ttl:str",
        "PEXPIRE ttl:hash 1",
        "RENAME strset strset2",
        "MOVE neg 5",
        "INCR i64",
        "SET brandnew 1",
        "SELECT 1",
        "FLUSHDB",
        "SET db1 replaced",
        "SWAPDB 9 15",
        "SELECT 0",
    ];
    run_ok(c, &script);
    for i in 0..200 {
        c.cmd(&["SET", &format!("s:{i}"), &format!("new-{i}")]);
    }
    // The expiry set above has passed: a lookup deletes the key.
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(c.cmd(&["EXISTS", "ttl:hash"]), Resp::int(0));
}

/// `fill` plus 200 strings, so that a slowed-down snapshot lasts a while.
fn fill_for_snapshot(c: &mut Conn) {
    fill(c);
    for i in 0..200 {
        c.cmd(&["SET", &format!("s:{i}"), &format!("old-{i}")]);
    }
}

/// BGSAVE writes the dataset of the instant it began, whatever changes
/// while it runs; the file passes redis-check-rdb and loads into Redis and
/// ferrokv with that content. The changes are all there after it.
#[test]
fn bgsave_is_point_in_time_while_writes_go_on() {
    let dir = TempDir::new("pit");
    let f = start_on(false, dir.path(), &["--rdb-key-save-delay", "2000"]);
    let mut c = Conn::connect(f.port);
    fill_for_snapshot(&mut c);
    let before = snapshot(&mut c);
    let digest = c.cmd(&["DEBUG", "DIGEST"]);
    assert_eq!(c.cmd(&["BGSAVE"]), Resp::simple("Background saving started"));
    mutate_during_snapshot(&mut c);
    assert_eq!(info_field(&mut c, "rdb_bgsave_in_progress"), "1", "the changes overlapped the save");
    let total: usize = before.len();
    assert_eq!(info_field(&mut c, "current_save_keys_total"), total.to_string());
    let live = snapshot(&mut c);
    wait_bgsave_done(&mut c);
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
    assert_same(&snapshot(&mut c), &live, true, 5000);
    check_rdb(&dir.rdb());

    for redis in [false, true] {
        let copy = TempDir::new("pit-load");
        std::fs::copy(dir.rdb(), copy.rdb()).expect("copy");
        let g = start_on(redis, copy.path(), &[]);
        let mut c2 = Conn::connect(g.port);
        assert_same(&snapshot(&mut c2), &before, !redis, 5000);
        assert_eq!(c2.cmd(&["DEBUG", "DIGEST"]), digest, "redis={redis}");
    }
}

/// BGREWRITEAOF's base is the dataset of the instant it began; the changes
/// made meanwhile go to the new incremental file, so a restart (of ferrokv,
/// and of Redis on the same directory) has everything.
#[test]
fn bgrewriteaof_is_point_in_time_while_writes_go_on() {
    let dir = TempDir::new("pit-aof");
    let mut f = start_on(false, dir.path(), &["--appendonly", "yes", "--rdb-key-save-delay", "2000"]);
    let mut c = Conn::connect(f.port);
    fill_for_snapshot(&mut c);
    let before = snapshot(&mut c);
    assert_eq!(c.cmd(&["BGREWRITEAOF"]), Resp::simple("Background append only file rewriting started"));
    mutate_during_snapshot(&mut c);
    assert_eq!(info_field(&mut c, "aof_rewrite_in_progress"), "1", "the changes overlapped the rewrite");
    let live = snapshot(&mut c);
    wait_rewrite_done(&mut c);
    assert_eq!(info_field(&mut c, "aof_last_bgrewrite_status"), "ok");
    let manifest = std::fs::read_to_string(dir.path().join("appendonlydir/appendonly.aof.manifest")).expect("manifest");
    assert_eq!(manifest, "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n");
    assert!(!dir.path().join("appendonlydir/appendonly.aof.1.incr.aof").exists(), "history removed");
    let base = dir.path().join("appendonlydir/appendonly.aof.2.base.rdb");
    check_rdb(&base);
    c.send(&[b"SHUTDOWN", b"NOSAVE"]);
    assert!(c.is_closed());
    assert_eq!(wait_exit(&mut f.child), 0);

    // The base alone is the dataset when the rewrite began.
    let copy = TempDir::new("pit-base");
    std::fs::copy(&base, copy.rdb()).expect("copy");
    let g = start_on(false, copy.path(), &[]);
    assert_same(&snapshot(&mut Conn::connect(g.port)), &before, true, 5000);
    // Base and incremental file together are the live dataset.
    for redis in [false, true] {
        let mut g = start_on(redis, dir.path(), &["--appendonly", "yes"]);
        let mut c2 = Conn::connect(g.port);
        assert_same(&snapshot(&mut c2), &live, !redis, 5000);
        c2.send(&[b"SHUTDOWN", b"NOSAVE"]);
        assert!(c2.is_closed());
        assert_eq!(wait_exit(&mut g.child), 0);
    }
}

/// What BGSAVE, BGSAVE SCHEDULE, BGREWRITEAOF and SAVE answer while a
/// background save or rewrite runs, and that what was scheduled runs after.
#[test]
fn background_job_conflicts_match_redis() {
    let mut seen: Vec<Vec<Resp>> = Vec::new();
    for redis in [false, true] {
        let dir = TempDir::new("conflicts");
        let f = start_on(redis, dir.path(), &["--rdb-key-save-delay", "200000"]);
        let mut c = Conn::connect(f.port);
        for i in 0..5 {
            c.cmd(&["SET", &format!("k{i}"), "v"]);
        }
        let mut got = Vec::new();
        for line in ["BGSAVE", "BGSAVE", "BGREWRITEAOF", "SAVE", "BGSAVE SCHEDULE"] {
            got.push(c.cmd(&line.split(' ').collect::<Vec<_>>()));
        }
        got.push(Resp::Simple(info_field(&mut c, "aof_rewrite_scheduled")));
        c.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "0"]);
        // Killed by FLUSHALL (Redis kills an RDB child); then the rewrite runs.
        c.cmd(&["FLUSHALL"]);
        wait_rewrite_done(&mut c);
        got.push(Resp::Simple(info_field(&mut c, "aof_rewrites")));
        c.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "200000"]);
        c.cmd(&["SET", "k", "v"]);
        for line in ["BGREWRITEAOF", "BGREWRITEAOF", "BGSAVE", "BGSAVE SCHEDULE", "BGREWRITEAOF"] {
            got.push(c.cmd(&line.split(' ').collect::<Vec<_>>()));
        }
        got.push(Resp::Simple(info_field(&mut c, "aof_rewrite_in_progress")));
        seen.push(got);
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[0][0], Resp::simple("Background saving started"));
}

// ---------------------------------------------------------------------------
// Crashes under load

/// A writer that pipelines `SET w<t>:<n> <n>` in batches of 16 until the
/// connection breaks; returns the last acknowledged n (exclusive) and when
/// each batch was acknowledged.
fn pipelined_writer(
    port: u16,
    t: usize,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> (u64, Vec<(u64, Instant)>) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let mut acked = 0u64;
    let mut times = Vec::new();
    let mut buf = [0u8; 4096];
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        let mut req = Vec::new();
        for n in acked..acked + 16 {
            let (k, v) = (format!("w{t}:{n}"), n.to_string());
            req.extend_from_slice(&Conn::encode(&[b"SET", k.as_bytes(), v.as_bytes()]));
        }
        if s.write_all(&req).is_err() {
            break;
        }
        let mut got = 0;
        while got < 16 * 5 {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => return (acked, times),
                Ok(n) => got += n,
            }
        }
        acked += 16;
        times.push((acked, Instant::now()));
    }
    (acked, times)
}

/// Checks that keys w<t>:0 .. w<t>:<upto> hold their values.
fn assert_writes_kept(c: &mut Conn, t: usize, upto: u64) {
    for start in (0..upto).step_by(1000) {
        let keys: Vec<String> = (start..(start + 1000).min(upto)).map(|n| format!("w{t}:{n}")).collect();
        let mut args: Vec<&str> = vec!["MGET"];
        args.extend(keys.iter().map(|k| k.as_str()));
        let got = c.cmd(&args).items();
        for (i, v) in got.iter().enumerate() {
            let n = start + i as u64;
            assert_eq!(v, &Resp::bulk(&n.to_string()), "writer {t}: acknowledged write {n} of {upto} lost");
        }
    }
}

/// Runs 4 pipelining writers for `run`, calls `during` halfway, SIGKILLs the
/// server, and returns what each writer had acknowledged and when.
fn load_then_kill(f: &mut Proc, run: Duration, during: impl FnOnce(&mut Conn)) -> Vec<(u64, Vec<(u64, Instant)>)> {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let (port, stop) = (f.port, stop.clone());
            std::thread::spawn(move || pipelined_writer(port, t, stop))
        })
        .collect();
    std::thread::sleep(run / 2);
    during(&mut Conn::connect(f.port));
    std::thread::sleep(run / 2);
    f.child.kill().expect("SIGKILL");
    f.child.wait().expect("reap");
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    writers.into_iter().map(|w| w.join().expect("writer")).collect()
}

/// kill -9 during a pipelined write load under `appendfsync always`, three
/// times over on the same directory (once in the middle of a background
/// AOF rewrite): every acknowledged write is there after each restart.
#[test]
fn kill_9_under_load_keeps_every_acknowledged_write() {
    let dir = TempDir::new("kill-load");
    let opts = ["--appendonly", "yes", "--appendfsync", "always", "--rdb-key-save-delay", "50"];
    let mut f = start_on(false, dir.path(), &opts);
    for cycle in 0..3 {
        let acked = load_then_kill(&mut f, Duration::from_millis(600), |c| {
            if cycle == 1 {
                assert_eq!(c.cmd(&["BGREWRITEAOF"]), Resp::simple("Background append only file rewriting started"));
                assert_eq!(info_field(c, "aof_rewrite_in_progress"), "1");
            }
        });
        f = start_on(false, dir.path(), &opts);
        let mut c = Conn::connect(f.port);
        for (t, (upto, _)) in acked.iter().enumerate() {
            assert!(*upto > 0, "cycle {cycle}: writer {t} wrote nothing");
            assert_writes_kept(&mut c, t, *upto);
        }
    }
}

/// Under `appendfsync everysec` a kill loses at most about a second of
/// acknowledged writes: everything acknowledged 2 s before the kill is there.
/// (A process kill leaves the page cache, so this checks that a write reaches
/// the file before its reply; losing the unsynced second needs a power cut.)
#[test]
fn kill_9_under_everysec_loses_at_most_a_second() {
    let dir = TempDir::new("kill-everysec");
    let opts = ["--appendonly", "yes", "--appendfsync", "everysec"];
    let mut f = start_on(false, dir.path(), &opts);
    let killed_after = Instant::now() + Duration::from_millis(2500);
    let acked = load_then_kill(&mut f, Duration::from_millis(2500), |_| {});
    let g = start_on(false, dir.path(), &opts);
    let mut c = Conn::connect(g.port);
    for (t, (_, times)) in acked.iter().enumerate() {
        let safe = times.iter().take_while(|(_, at)| *at + Duration::from_secs(2) <= killed_after).last();
        let upto = safe.map_or(0, |(n, _)| *n);
        assert!(upto > 0, "writer {t} acknowledged nothing early on");
        assert_writes_kept(&mut c, t, upto);
    }
}

/// A kill during BGSAVE leaves the previous dump.rdb in place and loadable.
#[test]
fn kill_9_during_bgsave_keeps_the_previous_file() {
    let dir = TempDir::new("kill-bgsave");
    let mut f = start_on(false, dir.path(), &["--rdb-key-save-delay", "100000"]);
    let mut c = Conn::connect(f.port);
    fill(&mut c);
    assert_eq!(c.cmd(&["SAVE"]), Resp::ok());
    let saved = snapshot(&mut c);
    c.cmd(&["SET", "after-save", "1"]);
    assert_eq!(c.cmd(&["BGSAVE"]), Resp::simple("Background saving started"));
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(info_field(&mut c, "rdb_bgsave_in_progress"), "1");
    f.child.kill().expect("SIGKILL");
    f.child.wait().expect("reap");
    check_rdb(&dir.rdb());
    let g = start_on(false, dir.path(), &[]);
    assert_same(&snapshot(&mut Conn::connect(g.port)), &saved, true, 5000);
}

/// `aof-timestamp-enabled` writes `#TS:` annotations that both servers skip
/// when loading; DEBUG LOADAOF reloads the files as Redis does.
#[test]
fn aof_timestamps_and_debug_loadaof_match_redis() {
    let mut dirs = Vec::new();
    let mut seen = Vec::new();
    for redis in [false, true] {
        let dir = TempDir::new("aof-ts");
        let opts = ["--appendonly", "yes", "--aof-timestamp-enabled", "yes"];
        let f = start_on(redis, dir.path(), &opts);
        let mut c = Conn::connect(f.port);
        let mut got = Vec::new();
        for line in ["SET a 1", "RPUSH l x y", "MULTI", "INCR n", "EXPIRE l 1000", "EXEC"] {
            got.push(c.cmd(&line.split(' ').collect::<Vec<_>>()));
        }
        let text = String::from_utf8(std::fs::read(incr_file(dir.path(), 1)).expect("incr")).expect("utf8");
        let first = text.lines().next().unwrap_or("");
        let ts: i64 = first.strip_prefix("#TS:").and_then(|t| t.parse().ok()).unwrap_or(0);
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64;
        assert!((now - ts).abs() < 10, "redis={redis}: first line {first:?}");
        c.cmd(&["SET", "b", "2"]);
        got.push(c.cmd(&["DEBUG", "LOADAOF"]));
        for line in ["MGET a b n", "LRANGE l 0 -1", "DBSIZE"] {
            got.push(c.cmd(&line.split(' ').collect::<Vec<_>>()));
        }
        got.push(Resp::Bool(c.cmd(&["TTL", "l"]).as_int() > 990));
        seen.push(got);
        drop(f);
        dirs.push(dir);
    }
    assert_eq!(seen[0], seen[1]);
    // Each loads the other's directory.
    for (dir, redis) in [(&dirs[0], true), (&dirs[1], false)] {
        // (start_on returns once the server is done loading.)
        let g = start_on(redis, dir.path(), &["--appendonly", "yes"]);
        let mut c = Conn::connect(g.port);
        assert_eq!(c.cmd(&["MGET", "a", "b", "n"]), Resp::bulks(&["1", "2", "1"]), "redis={redis}");
    }
}

/// With `aof-use-rdb-preamble no` the rewritten base is commands, as Redis
/// writes them (compared command for command where the order is defined:
/// everything but hashtable sets and skiplist sorted sets, which are compared
/// as content), and each server loads the other's directory.
#[test]
fn plain_aof_base_matches_redis() {
    let opts = ["--appendonly", "yes", "--aof-use-rdb-preamble", "no"];
    let mut bases = Vec::new();
    let mut dirs = Vec::new();
    let mut before = None;
    for redis in [false, true] {
        let dir = TempDir::new("aof-plain");
        let f = start_on(redis, dir.path(), &opts);
        let mut c = Conn::connect(f.port);
        fill(&mut c);
        assert_eq!(c.cmd(&["BGREWRITEAOF"]), Resp::simple("Background append only file rewriting started"));
        wait_rewrite_done(&mut c);
        let manifest =
            std::fs::read_to_string(dir.path().join("appendonlydir/appendonly.aof.manifest")).expect("manifest");
        assert_eq!(
            manifest,
            "file appendonly.aof.2.base.aof seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
        );
        // Commands grouped per key (the SELECT before them included).
        let mut per_key: BTreeMap<(String, String), Vec<Vec<String>>> = BTreeMap::new();
        let mut db = String::from("0");
        for cmd in aof_commands(&dir.path().join("appendonlydir/appendonly.aof.2.base.aof")) {
            if cmd[0].eq_ignore_ascii_case("SELECT") {
                db = cmd[1].clone();
                continue;
            }
            per_key.entry((db.clone(), cmd[1].clone())).or_default().push(cmd);
        }
        // Hashtable sets and hashes and skiplist sorted sets come in table
        // order, and batches may split differently: compare their items
        // (pairs for hashes and sorted sets), sorted.
        for (name, width) in [("strset", 1), ("bigset", 1), ("bigintset", 1), ("bigzset", 2), ("bighash", 2)] {
            let Some(cmds) = per_key.get_mut(&("0".to_string(), name.to_string())) else { continue };
            let mut items: Vec<Vec<String>> =
                cmds.iter().flat_map(|c| c[2..].chunks(width).map(|p| p.to_vec()).collect::<Vec<_>>()).collect();
            items.sort();
            *cmds = vec![vec![cmds[0][0].clone()], items.concat()];
        }
        bases.push(per_key);
        before = Some(snapshot(&mut c));
        drop(f);
        dirs.push(dir);
    }
    assert_eq!(bases[0].keys().collect::<Vec<_>>(), bases[1].keys().collect::<Vec<_>>());
    for (k, v) in &bases[0] {
        assert_eq!(v, &bases[1][k], "commands of {k:?}");
    }
    let before = before.expect("dataset");
    for (dir, redis) in [(&dirs[0], true), (&dirs[1], false)] {
        // (start_on returns once the server is done loading.)
        let g = start_on(redis, dir.path(), &["--appendonly", "yes"]);
        let mut c = Conn::connect(g.port);
        assert_same(&snapshot(&mut c), &before, false, 5000);
    }
}

/// Redis or ferrokv with DEBUG enabled.
fn debug_server(redis: bool) -> Server {
    let args = ["--enable-debug-command", "yes"];
    if redis {
        Server::redis_with(&args)
    } else {
        Server::ferrokv_with(&args)
    }
}

/// DEBUG DIGEST and DEBUG DIGEST-VALUE give Redis's exact digests for the
/// same data (every type and encoding, TTLs, several databases), change with
/// the content, and are all zeros for nothing.
#[test]
fn debug_digest_matches_redis() {
    let mut seen = Vec::new();
    for redis in [false, true] {
        let s = debug_server(redis);
        let mut c = s.conn();
        let mut got = vec![c.cmd(&["DEBUG", "DIGEST"]), c.cmd(&["DEBUG", "DIGEST-VALUE", "nothing"])];
        fill(&mut c);
        for line in [
            "XADD st 1-1 a 1 b 2",
            "XADD st 2-5 c 3",
            "XADD st 3-0 a x b \"\"",
            "XDEL st 2-5",
            "XGROUP CREATE st g 0",
            "ZADD zfloat 0.1 a 1e-5 b -0.5 c 3 d 1.5 e",
            "SADD mixed 1 -2 a",
        ] {
            run_ok(&mut c, &[line]);
        }
        got.push(c.cmd(&["DEBUG", "DIGEST"]));
        let mut keys: Vec<String> = c.cmd(&["KEYS", "*"]).items().iter().map(|k| k.text()).collect();
        keys.sort();
        let mut args = vec!["DEBUG", "DIGEST-VALUE"];
        args.extend(keys.iter().map(|k| k.as_str()));
        got.push(Resp::arr(keys.iter().map(|k| Resp::bulk(k)).collect()));
        got.push(c.cmd(&args));
        c.cmd(&["RPUSH", "list", "one-more"]);
        got.push(c.cmd(&["DEBUG", "DIGEST"]));
        got.push(c.cmd(&["DEBUG", "DIGEST-VALUE", "list", "str"]));
        seen.push(got);
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[0][0], Resp::simple("0000000000000000000000000000000000000000"));
    assert_ne!(seen[0][2], seen[0][5], "the digest follows the content");
}

/// DEBUG SET-SKIP-CHECKSUM-VALIDATION lets a payload with a wrong CRC64
/// restore (and DEBUG AOF-FLUSH-SLEEP is accepted), as in Redis.
#[test]
fn debug_checksum_skip_and_flush_sleep_match_redis() {
    let mut seen = Vec::new();
    for redis in [false, true] {
        let s = debug_server(redis);
        let mut c = s.conn();
        c.cmd(&["SET", "k", "hello"]);
        let Resp::Bulk(Some(mut p)) = c.cmd(&["DUMP", "k"]) else { panic!("dump") };
        let n = p.len();
        p[n - 1] ^= 0xff;
        let got = vec![
            c.cmd_b(&[b"RESTORE", b"a", b"0", &p]),
            c.cmd(&["DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "1"]),
            c.cmd_b(&[b"RESTORE", b"b", b"0", &p]),
            c.cmd(&["GET", "b"]),
            c.cmd(&["DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "0"]),
            c.cmd_b(&[b"RESTORE", b"c", b"0", &p]),
            c.cmd(&["DEBUG", "AOF-FLUSH-SLEEP", "0"]),
        ];
        seen.push(got);
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[0][3], Resp::bulk("hello"));
}

/// While a dump loads at startup the server accepts connections: commands
/// without the `loading` flag get -LOADING (inside MULTI too, which EXEC then
/// aborts), INFO shows `loading:1` and the progress fields, as Redis does;
/// then the data is there.
#[test]
fn loading_replies_match_redis() {
    let dir = TempDir::new("loading");
    save_2000_keys(&dir);
    check_loading_replies(&dir, &[], 2000);
}

/// The same while the append-only files load at startup: the RDB preamble
/// of the base, then the commands of the incremental file.
#[test]
fn aof_loading_replies_match_redis() {
    let dir = TempDir::new("aof-loading");
    {
        let f = start_on(false, dir.path(), &["--appendonly", "yes"]);
        let mut c = Conn::connect(f.port);
        let items: Vec<String> = (0..2000).flat_map(|i| [format!("key:{i}"), "v".repeat(100)]).collect();
        bulk_args(&mut c, &["MSET"], &items);
        assert_eq!(c.cmd(&["BGREWRITEAOF"]), Resp::Simple("Background append only file rewriting started".into()));
        wait_rewrite_done(&mut c);
        for i in 0..3000 {
            c.cmd(&["INCR", &format!("n:{}", i % 3)]);
        }
    }
    check_loading_replies(&dir, &["--appendonly", "yes"], 2003);
}

/// Starts ferrokv and Redis in turn on `dir` with a slowed-down load and
/// compares their replies while loading and the `keys` there afterwards.
fn check_loading_replies(dir: &TempDir, args: &[&str], keys: i64) {
    let mut seen = Vec::new();
    for redis in [false, true] {
        // About 4 s of loading, so that the commands below meet it even on a
        // busy machine.
        let mut extra = vec!["--key-load-delay", "2000", "--loading-process-events-interval-bytes", "1024"];
        extra.extend_from_slice(args);
        let (mut child, port, log) = spawn(redis, dir.path(), &extra);
        let mut c = connect_at_start(port, &log);
        let mut got = Vec::new();
        for line in ["PING", "GET key:1", "CONFIG GET dbfilename", "DBSIZE", "MULTI", "GET key:1", "EXEC"] {
            got.push(c.cmd(&line.split(' ').collect::<Vec<_>>()));
        }
        // Once the load has read the file's header, the `used-mem` it records.
        let mut info = c.cmd(&["INFO", "persistence"]).text();
        while info_value(&info, "loading_loaded_bytes").is_some_and(|b| b == "0") {
            std::thread::sleep(Duration::from_millis(5));
            info = c.cmd(&["INFO", "persistence"]).text();
        }
        got.push(Resp::Simple(info_value(&info, "loading").unwrap_or_default()));
        got.push(Resp::Simple(info_value(&info, "loading_rdb_used_mem").unwrap_or_default()));
        let fields: Vec<String> = info
            .lines()
            .filter(|l| l.starts_with("loading_"))
            .filter_map(|l| l.split(':').next().map(str::to_string))
            .collect();
        got.push(Resp::Simple(fields.join(",")));
        let deadline = Instant::now() + Duration::from_secs(30);
        while c.cmd(&["PING"]).is_error() {
            assert!(Instant::now() < deadline, "still loading");
            std::thread::sleep(Duration::from_millis(20));
        }
        got.push(c.cmd(&["DBSIZE"]));
        got.push(c.cmd(&["STRLEN", "key:1999"]));
        let _ = child.kill();
        let _ = child.wait();
        seen.push(got);
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[0][0], Resp::err("LOADING Redis is loading the dataset in memory"));
    assert_eq!(seen[0][10], Resp::int(keys));
    assert!(!matches!(&seen[0][8], Resp::Simple(m) if m == "0" || m.is_empty()), "{:?}", seen[0][8]);
}

/// SHUTDOWN while the dump is still loading does not save the partial
/// dataset over it, on either server.
#[test]
fn shutdown_while_loading_keeps_the_dump() {
    for redis in [false, true] {
        let dir = TempDir::new("loading-shutdown");
        save_2000_keys(&dir);
        let extra = ["--key-load-delay", "1000", "--loading-process-events-interval-bytes", "1024", "--save", "3600 1"];
        let (mut child, port, log) = spawn(redis, dir.path(), &extra);
        let mut c = connect_at_start(port, &log);
        assert_eq!(c.cmd(&["PING"]), Resp::err("LOADING Redis is loading the dataset in memory"), "redis={redis}");
        c.send(&[b"SHUTDOWN"]);
        assert!(c.is_closed(), "redis={redis}");
        assert_eq!(wait_exit(&mut child), 0, "redis={redis}");
        let g = start_on(false, dir.path(), &[]);
        assert_eq!(Conn::connect(g.port).cmd(&["DBSIZE"]), Resp::int(2000), "redis={redis}");
    }
}

/// A dump.rdb of 2000 keys of 100 bytes in `dir` (written by ferrokv).
fn save_2000_keys(dir: &TempDir) {
    let f = start_on(false, dir.path(), &[]);
    let mut c = Conn::connect(f.port);
    let items: Vec<String> = (0..2000).flat_map(|i| [format!("key:{i}"), "v".repeat(100)]).collect();
    bulk_args(&mut c, &["MSET"], &items);
    assert_eq!(c.cmd(&["SAVE"]), Resp::ok());
}

/// A connection to a server just spawned, as soon as it accepts (while it
/// may still be loading).
fn connect_at_start(port: u16, log: &Path) -> Conn {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "no listener; log:\n{}", read_log(log));
        std::thread::sleep(Duration::from_millis(5));
    }
    Conn::connect(port)
}

/// SAVE and DEBUG RELOAD (which reset the change counter) are not written to
/// the AOF; FLUSHALL is, even when its save resets the counter: the files
/// match Redis's command for command.
#[test]
fn counter_resetting_commands_in_the_aof_match_redis() {
    let mut files = Vec::new();
    for redis in [false, true] {
        let dir = TempDir::new("aof-dirty");
        let f = start_on(redis, dir.path(), &["--appendonly", "yes", "--save", "3600 1"]);
        let mut c = Conn::connect(f.port);
        run_ok(&mut c, &["SET a 1", "SAVE", "SET b 2", "DEBUG RELOAD", "SET c 3", "FLUSHALL", "SET d 4", "FLUSHALL"]);
        files.push(aof_commands(&incr_file(dir.path(), 1)));
    }
    assert_eq!(files[0], files[1]);
    assert_eq!(files[0].iter().filter(|c| c[0].eq_ignore_ascii_case("flushall")).count(), 2);
}
