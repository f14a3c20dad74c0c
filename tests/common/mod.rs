//! Test harness shared by the black-box tests: starts ferrokv (the built binary)
//! and real Redis on free ports, speaks RESP2/RESP3 over TCP, and compares the
//! replies of both servers command by command (differential tests).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A reply, in RESP3 terms (RESP2 replies use the subset).
#[derive(Clone, PartialEq)]
pub enum Resp {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Resp>>),
    Map(Vec<(Resp, Resp)>),
    Set(Vec<Resp>),
    Attr(Vec<(Resp, Resp)>),
    Push(Vec<Resp>),
    Double(String),
    BigNum(String),
    Bool(bool),
    Verbatim(String, Vec<u8>),
    Null,
}

impl std::fmt::Debug for Resp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Resp::Simple(s) => write!(f, "+{s}"),
            Resp::Error(s) => write!(f, "-{s}"),
            Resp::Int(n) => write!(f, ":{n}"),
            Resp::Bulk(None) => write!(f, "(nil)"),
            Resp::Bulk(Some(b)) => write!(f, "{:?}", String::from_utf8_lossy(b)),
            Resp::Array(None) => write!(f, "(nil array)"),
            Resp::Array(Some(v)) => f.debug_list().entries(v).finish(),
            Resp::Map(m) => f.debug_map().entries(m.iter().map(|(k, v)| (k, v))).finish(),
            Resp::Set(v) => write!(f, "~{v:?}"),
            Resp::Attr(m) => write!(f, "|{m:?}"),
            Resp::Push(v) => write!(f, ">{v:?}"),
            Resp::Double(d) => write!(f, ",{d}"),
            Resp::BigNum(d) => write!(f, "({d}"),
            Resp::Bool(b) => write!(f, "#{b}"),
            Resp::Verbatim(t, b) => write!(f, "={t}:{:?}", String::from_utf8_lossy(b)),
            Resp::Null => write!(f, "_"),
        }
    }
}

impl Resp {
    pub fn ok() -> Resp {
        Resp::Simple("OK".into())
    }
    pub fn simple(s: &str) -> Resp {
        Resp::Simple(s.into())
    }
    pub fn bulk(s: &str) -> Resp {
        Resp::Bulk(Some(s.as_bytes().to_vec()))
    }
    pub fn int(n: i64) -> Resp {
        Resp::Int(n)
    }
    pub fn nil() -> Resp {
        Resp::Bulk(None)
    }
    pub fn err(s: &str) -> Resp {
        Resp::Error(s.into())
    }
    pub fn arr(v: Vec<Resp>) -> Resp {
        Resp::Array(Some(v))
    }
    pub fn bulks(v: &[&str]) -> Resp {
        Resp::Array(Some(v.iter().map(|s| Resp::bulk(s)).collect()))
    }
    /// The text of a bulk, simple, verbatim or error reply.
    pub fn text(&self) -> String {
        match self {
            Resp::Simple(s) | Resp::Error(s) | Resp::Double(s) | Resp::BigNum(s) => s.clone(),
            Resp::Bulk(Some(b)) | Resp::Verbatim(_, b) => String::from_utf8_lossy(b).into_owned(),
            Resp::Int(n) => n.to_string(),
            other => format!("{other:?}"),
        }
    }
    pub fn as_int(&self) -> i64 {
        match self {
            Resp::Int(n) => *n,
            other => panic!("expected an integer, got {other:?}"),
        }
    }
    pub fn items(&self) -> Vec<Resp> {
        match self {
            Resp::Array(Some(v)) | Resp::Set(v) | Resp::Push(v) => v.clone(),
            Resp::Map(m) => m.iter().flat_map(|(k, v)| [k.clone(), v.clone()]).collect(),
            other => panic!("expected an aggregate, got {other:?}"),
        }
    }
    pub fn is_error(&self) -> bool {
        matches!(self, Resp::Error(_))
    }
    /// The same reply with array elements sorted (for replies whose order is unspecified).
    pub fn sorted(&self) -> Resp {
        match self {
            Resp::Array(Some(v)) => {
                let mut v = v.clone();
                v.sort_by_key(|x| format!("{x:?}"));
                Resp::Array(Some(v))
            }
            Resp::Set(v) => {
                let mut v = v.clone();
                v.sort_by_key(|x| format!("{x:?}"));
                Resp::Set(v)
            }
            other => other.clone(),
        }
    }
}

/// A blocking RESP client.
pub struct Conn {
    pub port: u16,
    rd: BufReader<TcpStream>,
    wr: TcpStream,
}

impl Conn {
    pub fn connect(port: u16) -> Conn {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20))).ok();
        s.set_nodelay(true).ok();
        let wr = s.try_clone().expect("clone socket");
        Conn { port, rd: BufReader::new(s), wr }
    }

    pub fn encode(args: &[&[u8]]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    /// Sends a command and reads its reply.
    pub fn cmd(&mut self, args: &[&str]) -> Resp {
        let b: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        self.cmd_b(&b)
    }

    pub fn cmd_b(&mut self, args: &[&[u8]]) -> Resp {
        self.send(args);
        self.read()
    }

    /// Sends a command without reading the reply.
    pub fn send(&mut self, args: &[&[u8]]) {
        self.wr.write_all(&Self::encode(args)).expect("write");
    }

    pub fn send_raw(&mut self, data: &[u8]) {
        self.wr.write_all(data).expect("write");
    }

    pub fn set_timeout(&mut self, d: Duration) {
        self.wr.set_read_timeout(Some(d)).ok();
    }

    /// True when the server has closed the connection (reads EOF).
    pub fn is_closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        self.wr.set_read_timeout(Some(Duration::from_secs(5))).ok();
        matches!(self.rd.read(&mut b), Ok(0) | Err(_))
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        let n = self.rd.read_line(&mut l).expect("read reply line");
        assert!(n > 0, "connection closed by server");
        l.truncate(l.trim_end_matches(['\r', '\n']).len());
        l
    }

    /// Reads one reply.
    pub fn read(&mut self) -> Resp {
        let l = self.line();
        let (t, rest) = l.split_at(1);
        let rest = rest.to_string();
        match t {
            "+" => Resp::Simple(rest),
            "-" => Resp::Error(rest),
            ":" => Resp::Int(rest.parse().expect("int")),
            "$" => {
                let n: i64 = rest.parse().expect("bulk len");
                if n < 0 {
                    return Resp::Bulk(None);
                }
                Resp::Bulk(Some(self.payload(n as usize)))
            }
            "=" => {
                let n: usize = rest.parse().expect("verbatim len");
                let p = self.payload(n);
                Resp::Verbatim(String::from_utf8_lossy(&p[..3]).into_owned(), p[4..].to_vec())
            }
            "*" | "~" | ">" => {
                let n: i64 = rest.parse().expect("aggregate len");
                if n < 0 {
                    return Resp::Array(None);
                }
                let v: Vec<Resp> = (0..n).map(|_| self.read()).collect();
                match t {
                    "*" => Resp::Array(Some(v)),
                    "~" => Resp::Set(v),
                    _ => Resp::Push(v),
                }
            }
            "%" | "|" => {
                let n: usize = rest.parse().expect("map len");
                let m: Vec<(Resp, Resp)> = (0..n).map(|_| (self.read(), self.read())).collect();
                if t == "%" {
                    Resp::Map(m)
                } else {
                    let attr = Resp::Attr(m);
                    let _ = attr;
                    self.read()
                }
            }
            "," => Resp::Double(rest),
            "(" => Resp::BigNum(rest),
            "#" => Resp::Bool(rest == "t"),
            "_" => Resp::Null,
            _ => panic!("bad reply line {l:?}"),
        }
    }

    fn payload(&mut self, n: usize) -> Vec<u8> {
        let mut b = vec![0u8; n + 2];
        self.rd.read_exact(&mut b).expect("read payload");
        b.truncate(n);
        b
    }
}

/// A server process (ferrokv or Redis) on a free port, killed on drop.
pub struct Server {
    pub port: u16,
    pub child: Child,
    pub dir: std::path::PathBuf,
    pub name: &'static str,
}

/// A port no other server of this test run uses: taken in turn from
/// 10000-31999, below the kernel's ephemeral range (32768-60999), so neither
/// another test's server nor a client socket's local port can hold it (a port
/// from `bind(0)` is an ephemeral port and may be handed out again at once).
/// Each test process starts at its own offset and claims its ports with a
/// lock file (released when the process exits), so test processes running at
/// the same time never share one; a port found bound is skipped too.
pub fn free_port() -> u16 {
    use std::os::fd::AsRawFd;
    use std::sync::atomic::{AtomicU32, Ordering};
    const LOW: u32 = 10000;
    const SPAN: u32 = 22000;
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    static CLAIMS: std::sync::Mutex<Vec<std::fs::File>> = std::sync::Mutex::new(Vec::new());
    let _ = NEXT.compare_exchange(
        u32::MAX,
        std::process::id().wrapping_mul(2654435761) % SPAN,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    let dir = std::env::temp_dir().join("ferrokv-test-ports");
    let _ = std::fs::create_dir_all(&dir);
    loop {
        let port = (LOW + NEXT.fetch_add(1, Ordering::SeqCst) % SPAN) as u16;
        let Ok(f) = std::fs::OpenOptions::new().create(true).append(true).open(dir.join(port.to_string())) else {
            continue;
        };
        // SAFETY: flock on the open file's own descriptor; no memory is shared.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            continue; // another test process has it
        }
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            CLAIMS.lock().unwrap_or_else(|e| e.into_inner()).push(f);
            return port;
        }
    }
}

fn tmpdir(tag: &str) -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let d = std::env::temp_dir().join(format!("ferrokv-test-{}-{tag}-{n}", std::process::id()));
    std::fs::create_dir_all(&d).expect("create temp dir");
    d
}

pub fn ferrokv_bin() -> &'static str {
    env!("CARGO_BIN_EXE_ferrokv-server")
}

/// CONFIG GET dir on a new connection, as a reply or the I/O error that cut it.
pub fn probe_dir(port: u16) -> std::io::Result<Resp> {
    let s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut w = s.try_clone()?;
    w.write_all(&Conn::encode(&[b"CONFIG", b"GET", b"dir"]))?;
    let mut rd = BufReader::new(s);
    let mut line = String::new();
    if rd.read_line(&mut line)? == 0 {
        return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "closed"));
    }
    if !line.starts_with('*') {
        // NOAUTH and the like.
        return Ok(Resp::Error(line.trim_end().to_string()));
    }
    // `*2` then two bulks (a new connection speaks RESP2).
    let mut items = Vec::new();
    for _ in 0..2 {
        let mut len = String::new();
        rd.read_line(&mut len)?;
        let mut val = String::new();
        if len.starts_with('$') {
            rd.read_line(&mut val)?;
        }
        items.push(Resp::Bulk(Some(val.trim_end().as_bytes().to_vec())));
    }
    // A server still loading its data answers -LOADING: not started yet.
    w.write_all(&Conn::encode(&[b"PING"]))?;
    let mut pong = String::new();
    rd.read_line(&mut pong)?;
    if pong.starts_with("-LOADING") {
        return Err(std::io::Error::new(std::io::ErrorKind::WouldBlock, "loading"));
    }
    Ok(Resp::Array(Some(items)))
}

impl Server {
    /// ferrokv with test defaults (free port, loopback, no saving).
    pub fn ferrokv() -> Server {
        Self::ferrokv_with(&[])
    }

    /// ferrokv with extra `--directive value` arguments.
    pub fn ferrokv_with(extra: &[&str]) -> Server {
        Self::start("ferrokv", ferrokv_bin(), extra)
    }

    /// Real Redis 7.0 (`redis-server` on PATH).
    pub fn redis() -> Server {
        Self::redis_with(&[])
    }

    pub fn redis_with(extra: &[&str]) -> Server {
        Self::start("redis", "redis-server", extra)
    }

    fn start(name: &'static str, bin: &str, extra: &[&str]) -> Server {
        for _attempt in 0..5 {
            let port = free_port();
            let dir = tmpdir(name);
            let mut args: Vec<String> = vec![
                "--port".into(),
                port.to_string(),
                "--bind".into(),
                "127.0.0.1".into(),
                "--save".into(),
                "".into(),
                "--dir".into(),
                dir.display().to_string(),
                "--logfile".into(),
                dir.join("server.log").display().to_string(),
            ];
            args.extend(extra.iter().map(|s| s.to_string()));
            let child = Command::new(bin)
                .args(&args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(
                    std::fs::File::create(dir.join("stderr.log")).map(Stdio::from).unwrap_or_else(|_| Stdio::null()),
                )
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {bin}: {e} (is it installed? .ci/run installs redis-server)"));
            let mut s = Server { port, child, dir, name };
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = s.child.try_wait() {
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    // Make sure the server answering is ours (its `dir` is our
                    // temp dir). A probe cut short is retried (and reported).
                    let dir = s.dir.display().to_string();
                    let ours = match probe_dir(port) {
                        Ok(Resp::Array(Some(v))) if v.len() == 2 => v[1].text() == dir,
                        Ok(Resp::Map(m)) if m.len() == 1 => m[0].1.text() == dir,
                        Err(e) => {
                            eprintln!("{name} on port {port}: startup probe failed ({e}), retrying");
                            std::thread::sleep(Duration::from_millis(50));
                            continue;
                        }
                        // Behind a password (NOAUTH): cannot tell, take it.
                        _ => true,
                    };
                    if ours {
                        return s;
                    }
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = s.child.kill();
        }
        panic!("{name} did not start");
    }

    pub fn conn(&self) -> Conn {
        Conn::connect(self.port)
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let exited = self.child.try_wait().ok().flatten();
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            // The test failed: show what the server said and keep its files.
            let stderr = std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default();
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            eprintln!(
                "--- {} on port {} ({}), files kept in {}\n--- stderr:\n{stderr}--- log tail:\n{}",
                self.name,
                self.port,
                exited.map_or("was running".to_string(), |s| format!("had exited: {s}")),
                self.dir.display(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
            return;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A raw TCP connection (generous timeouts) for byte-level protocol tests.
pub fn raw_connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_nodelay(true).ok();
    s.set_read_timeout(Some(Duration::from_secs(60))).ok();
    s.set_write_timeout(Some(Duration::from_secs(60))).ok();
    s
}

/// Reads until EOF/reset (closed: true) or until the read times out (still open).
pub fn drain(s: &mut impl Read) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => {
                return (out, false)
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (out, true),
            Err(e) => panic!("read: {e}"),
        }
    }
}

/// Reads until the peer closes or has been quiet for `quiet`.
pub fn read_until_quiet(s: &mut TcpStream, quiet: Duration) -> (Vec<u8>, bool) {
    s.set_read_timeout(Some(quiet)).ok();
    drain(s)
}

/// Runs `scenario` against a fresh ferrokv and a fresh Redis and asserts that
/// both return the same; returns ferrokv's result.
pub fn both_servers<T: PartialEq + std::fmt::Debug>(scenario: impl Fn(&Server) -> T) -> T {
    let f = Server::ferrokv();
    let r = Server::redis();
    let got = scenario(&f);
    let want = scenario(&r);
    assert_eq!(got, want, "ferrokv (left) and redis (right) differ");
    got
}

/// Gives the server time to act on what another connection just sent.
pub fn settle() {
    std::thread::sleep(Duration::from_millis(100));
}

/// A field of `INFO <section>` on one connection.
pub fn info_field(c: &mut Conn, section: &str, field: &str) -> String {
    let info = c.cmd(&["INFO", section]).text();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in INFO {section}"))
        .trim()
        .to_string()
}

/// Bytes shown with escapes, for assertion messages.
pub fn show(b: &[u8]) -> String {
    b.escape_ascii().to_string()
}

/// Splits a command line with redis-cli quoting.
pub fn split(line: &str) -> Vec<Vec<u8>> {
    ferrokv::resp::split_args(line.as_bytes()).unwrap_or_else(|| panic!("bad quoting in {line:?}"))
}

/// Differential testing: the same commands against ferrokv and real Redis.
pub struct Diff {
    pub ferrokv: Server,
    pub redis: Server,
    pub f: Conn,
    pub r: Conn,
}

impl Default for Diff {
    fn default() -> Self {
        Self::new()
    }
}

impl Diff {
    pub fn new() -> Diff {
        Self::with(&[])
    }

    /// Both servers started with the same extra arguments.
    pub fn with(extra: &[&str]) -> Diff {
        let ferrokv = Server::ferrokv_with(extra);
        let redis = Server::redis_with(extra);
        let f = ferrokv.conn();
        let r = redis.conn();
        Diff { ferrokv, redis, f, r }
    }

    /// Runs a command on both; asserts identical replies; returns ferrokv's.
    pub fn check(&mut self, args: &[&str]) -> Resp {
        let b: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        self.check_b(&b)
    }

    pub fn check_b(&mut self, args: &[&[u8]]) -> Resp {
        self.check_with(args, |r| r)
    }

    /// As `check`, comparing after `norm` (for documented nondeterminism).
    pub fn check_with(&mut self, args: &[&[u8]], norm: impl Fn(Resp) -> Resp) -> Resp {
        let fr = self.f.cmd_b(args);
        let rr = self.r.cmd_b(args);
        let (nf, nr) = (norm(fr.clone()), norm(rr));
        if nf != nr {
            let shown: Vec<String> = args.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
            panic!("replies differ for {shown:?}\n  ferrokv: {nf:?}\n  redis:   {nr:?}");
        }
        fr
    }

    /// As `check`, ignoring the order of the elements of an array or set reply.
    pub fn check_unordered(&mut self, args: &[&str]) -> Resp {
        let b: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        self.check_with(&b, |r| r.sorted())
    }

    /// Runs one command per non-empty line (redis-cli quoting; `#` starts a
    /// comment line), comparing each.
    pub fn check_script(&mut self, script: &str) {
        self.check_script_with(script, |r| r);
    }

    /// `check_script`, comparing after `norm`.
    pub fn check_script_with(&mut self, script: &str, norm: impl Fn(Resp) -> Resp) {
        for line in script.lines() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let args = split(t);
            let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
            self.check_with(&refs, &norm);
        }
    }

    /// Creates the list `list` on both servers, then runs `script` (commands that
    /// meet a key of another type: WRONGTYPE checks).
    pub fn check_with_list(&mut self, script: &str) {
        self.check(&["DEL", "list"]);
        self.check(&["RPUSH", "list", "a"]);
        self.check_script(script);
    }

    /// Runs every line of `tests/data/<name>` (one command per line, redis-cli
    /// quoting), comparing each reply.
    pub fn check_data_file(&mut self, name: &str) {
        let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
        let cases = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        self.check_script(&cases);
    }

    /// Asserts that an INFO field is the same on both servers.
    pub fn same_info(&mut self, section: &str, field: &str) {
        let f = info_field(&mut self.f, section, field);
        let r = info_field(&mut self.r, section, field);
        assert_eq!(f, r, "INFO {field} differs (left ferrokv, right redis)");
    }

    /// Runs a command on both without comparing (setup whose reply differs by nature).
    pub fn both(&mut self, args: &[&str]) -> (Resp, Resp) {
        (self.f.cmd(args), self.r.cmd(args))
    }
}

/// Whether redis-py is installed for the tests that drive it; under CI (where
/// .ci/run installs it) its absence fails the test, elsewhere `test` is
/// skipped with a notice.
pub fn redis_py_or_skip(test: &str) -> bool {
    let installed = std::process::Command::new("python3")
        .args(["-c", "import redis"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        assert!(
            std::env::var_os("CI").is_none(),
            "redis-py must be installed under CI (.ci/run installs it: python3 -m pip install 'redis==5.*')"
        );
        eprintln!("NOTICE: redis-py not installed (python3 -m pip install 'redis==5.*'); {test} skipped");
    }
    installed
}
