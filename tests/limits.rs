//! Connection limits and access control, each checked against real Redis started
//! with the same directives: client-query-buffer-limit, maxclients, timeout,
//! requirepass (NOAUTH, AUTH, HELLO AUTH, unauthenticated protocol limits),
//! protected mode seen from loopback, and unix sockets.

mod common;
use common::*;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- helpers

/// Sends `data` on a fresh connection; returns what came back until the server
/// closed the connection or was quiet for 250 ms, and whether it closed.
fn exchange(port: u16, data: &[u8]) -> (Vec<u8>, bool) {
    let mut s = raw_connect(port);
    s.write_all(data).expect("write request");
    read_until_quiet(&mut s, Duration::from_millis(250))
}

/// Same bytes on fresh connections to both servers: same reply, same closing.
fn same_as_redis(f: &Server, r: &Server, data: &[u8]) -> Vec<u8> {
    let fr = exchange(f.port, data);
    let rr = exchange(r.port, data);
    assert_eq!(
        (show(&fr.0), fr.1),
        (show(&rr.0), rr.1),
        "ferrokv (left) and Redis (right) differ for {} (reply, connection closed)",
        show(&data[..data.len().min(120)])
    );
    rr.0
}

/// Waits until the server lists exactly `n` clients (closed sockets are noticed asynchronously).
fn wait_clients(c: &mut Conn, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let list = c.cmd(&["CLIENT", "LIST"]).text();
        if list.lines().count() == n {
            return;
        }
        assert!(Instant::now() < deadline, "expected {n} clients, CLIENT LIST says:\n{list}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// True when the peer closes `s` within `within` (EOF or reset); false if it stays open.
fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).ok();
    let mut b = [0u8; 64];
    match s.read(&mut b) {
        Ok(0) => true,
        Ok(n) => panic!("unexpected data while waiting for close: {}", show(&b[..n])),
        Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => false,
        Err(e) if e.kind() == ErrorKind::ConnectionReset => true,
        Err(e) => panic!("read: {e}"),
    }
}

fn info_field(c: &mut Conn, section: &str, field: &str) -> Option<String> {
    let info = c.cmd(&["INFO", section]).text();
    info.lines().find_map(|l| l.strip_prefix(&format!("{field}:")).map(|v| v.trim().to_string()))
}

fn pair(extra: &[&str]) -> (Server, Server) {
    (Server::ferrokv_with(extra), Server::redis_with(extra))
}

// ---------------------------------------------------------------- client-query-buffer-limit

/// Sends a SET whose 100 MB bulk never completes, paced so that the server reads
/// as it comes. Returns (bytes accepted before the server closed, reply bytes).
fn flood_partial_bulk(port: u16, total: usize) -> (usize, Vec<u8>, bool) {
    let mut s = raw_connect(port);
    s.write_all(b"*3\r\n$3\r\nSET\r\n$5\r\nflood\r\n$104857600\r\n").unwrap();
    let chunk = vec![b'x'; 64 * 1024];
    let mut sent = 0;
    let mut broke = false;
    while sent < total {
        match s.write(&chunk) {
            Ok(n) => sent += n,
            Err(_) => {
                broke = true;
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let (reply, closed) = read_until_quiet(&mut s, Duration::from_secs(3));
    (sent, reply, broke || closed)
}

#[test]
fn query_buffer_limit_closes_the_client() {
    let (f, r) = pair(&["--client-query-buffer-limit", "1mb"]);
    for s in [&f, &r] {
        let mut other = s.conn();
        assert_eq!(other.cmd(&["CONFIG", "GET", "client-query-buffer-limit"]).items()[1], Resp::bulk("1048576"));
        let (sent, reply, closed) = flood_partial_bulk(s.port, 16 << 20);
        assert!(closed, "{}: still connected after sending {sent} bytes of a bulk past the 1mb limit", s.name);
        assert!(sent < 12 << 20, "{}: accepted {sent} bytes with a 1mb query buffer limit", s.name);
        assert!(reply.is_empty(), "{}: replied {} before closing", s.name, show(&reply));
        // Others are unaffected; nothing was stored.
        assert_eq!(other.cmd(&["EXISTS", "flood"]), Resp::int(0), "{}", s.name);
        assert_eq!(other.cmd(&["PING"]), Resp::simple("PONG"));
        wait_clients(&mut other, 1);
        let log = s.log();
        assert!(log.contains("Closing client that reached max query buffer length"), "{} log:\n{log}", s.name);
    }
}

#[test]
fn query_buffer_limit_set_at_run_time() {
    let (f, r) = pair(&[]);
    for s in [&f, &r] {
        let mut c = s.conn();
        assert_eq!(c.cmd(&["CONFIG", "SET", "client-query-buffer-limit", "1mb"]), Resp::ok());
        let (sent, _, closed) = flood_partial_bulk(s.port, 16 << 20);
        assert!(closed && sent < 12 << 20, "{}: sent {sent}, closed {closed}", s.name);
        assert_eq!(c.cmd(&["CONFIG", "SET", "client-query-buffer-limit", "1gb"]), Resp::ok());
        let value = vec![b'v'; 3 << 20];
        assert_eq!(c.cmd_b(&[b"SET", b"k", &value]), Resp::ok(), "{}: 3 MB fits in a 1gb limit", s.name);
    }
}

#[test]
fn query_buffer_limit_allows_what_fits() {
    let (f, r) = pair(&["--client-query-buffer-limit", "1mb"]);
    for s in [&f, &r] {
        let mut c = s.conn();
        // One value under the limit.
        let value = vec![b'v'; 900 * 1024];
        assert_eq!(c.cmd_b(&[b"SET", b"k", &value]), Resp::ok(), "{}", s.name);
        assert_eq!(c.cmd(&["STRLEN", "k"]), Resp::int(900 * 1024));
        // A 6 MB pipeline of small commands in one write: read and executed as it
        // arrives, so the query buffer never holds anywhere near 1 MB.
        let mut stream = raw_connect(s.port);
        let mut req = Vec::new();
        let n = 40_000;
        for i in 0..n {
            req.extend(Conn::encode(&[b"SET", format!("key:{i}").as_bytes(), &[b'x'; 100]]));
        }
        assert!(req.len() > 5 << 20);
        let mut w = stream.try_clone().unwrap();
        let writer = std::thread::spawn(move || w.write_all(&req).is_ok());
        let mut got = vec![0u8; n * 5];
        stream.read_exact(&mut got).unwrap_or_else(|e| panic!("{}: pipeline cut short: {e}", s.name));
        assert!(writer.join().unwrap());
        assert!(got.chunks(5).all(|c| c == b"+OK\r\n"));
        assert_eq!(c.cmd(&["DBSIZE"]), Resp::int(n as i64 + 1));
    }
}

#[test]
fn query_buffer_limit_applies_to_one_big_argument() {
    let (f, r) = pair(&["--client-query-buffer-limit", "1mb"]);
    for s in [&r, &f] {
        let mut c = raw_connect(s.port);
        let value = vec![b'v'; 2 << 20];
        let mut req = Conn::encode(&[b"SET", b"big", &value]);
        req.extend(Conn::encode(&[b"PING"]));
        let _ = c.write_all(&req);
        let (reply, closed) = read_until_quiet(&mut c, Duration::from_secs(2));
        assert!(closed && reply.is_empty(), "{}: reply {} closed {closed}", s.name, show(&reply));
        let mut other = s.conn();
        assert_eq!(other.cmd(&["EXISTS", "big"]), Resp::int(0), "{}", s.name);
    }
}

// ---------------------------------------------------------------- maxclients

#[test]
fn maxclients_refuses_the_extra_client() {
    let (f, r) = pair(&["--maxclients", "5"]);
    for s in [&f, &r] {
        let mut first = s.conn();
        wait_clients(&mut first, 1);
        assert_eq!(first.cmd(&["CONFIG", "GET", "maxclients"]).items()[1], Resp::bulk("5"));
        let mut more: Vec<Conn> = (0..4).map(|_| s.conn()).collect();
        for c in more.iter_mut() {
            assert_eq!(c.cmd(&["PING"]), Resp::simple("PONG"), "{}", s.name);
        }
        // The sixth gets the error, unprompted, and is closed.
        let mut extra = raw_connect(s.port);
        let (reply, closed) = read_until_quiet(&mut extra, Duration::from_secs(5));
        assert_eq!(show(&reply), "-ERR max number of clients reached\\r\\n", "{}", s.name);
        assert!(closed, "{}: the refused client is closed", s.name);
        // Even if it spoke first.
        let (reply, closed) = exchange(s.port, b"PING\r\n");
        assert_eq!((show(&reply), closed), ("-ERR max number of clients reached\\r\\n".to_string(), true));
        assert_eq!(info_field(&mut first, "stats", "rejected_connections").as_deref(), Some("2"), "{}", s.name);
        assert_eq!(info_field(&mut first, "clients", "connected_clients").as_deref(), Some("5"), "{}", s.name);
        assert_eq!(info_field(&mut first, "clients", "maxclients").as_deref(), Some("5"), "{}", s.name);
        // A slot freed is a slot taken.
        drop(more.pop());
        wait_clients(&mut first, 4);
        let mut again = s.conn();
        assert_eq!(again.cmd(&["PING"]), Resp::simple("PONG"), "{}", s.name);
        // Raising the limit at run time lets more in.
        assert_eq!(first.cmd(&["CONFIG", "SET", "maxclients", "6"]), Resp::ok());
        let mut sixth = s.conn();
        assert_eq!(sixth.cmd(&["PING"]), Resp::simple("PONG"), "{}", s.name);
        let (reply, _) = exchange(s.port, b"PING\r\n");
        assert_eq!(show(&reply), "-ERR max number of clients reached\\r\\n", "{}", s.name);
    }
}

// ---------------------------------------------------------------- timeout

#[test]
fn idle_clients_are_closed_after_timeout() {
    let (f, r) = pair(&["--timeout", "1"]);
    let mut handles = Vec::new();
    for port in [f.port, r.port] {
        handles.push(std::thread::spawn(move || {
            let mut c = Conn::connect(port);
            assert_eq!(c.cmd(&["CONFIG", "GET", "timeout"]).items()[1], Resp::bulk("1"));
            drop(c);
            let started = Instant::now();
            let mut idle = raw_connect(port);
            idle.write_all(b"PING\r\n").unwrap();
            let mut pong = [0u8; 7];
            idle.read_exact(&mut pong).unwrap();
            // Alive well within the timeout.
            assert!(!closed_within(&mut idle, Duration::from_millis(500)), "port {port}: closed before 1 s");
            // Closed after it (Redis: idle for more than `timeout` whole seconds).
            assert!(closed_within(&mut idle, Duration::from_secs(6)), "port {port}: idle client not closed");
            let took = started.elapsed();
            assert!(took >= Duration::from_millis(1000), "port {port}: closed after only {took:?}");
            took
        }));
    }
    for h in handles {
        let took = h.join().unwrap();
        eprintln!("idle client closed after {took:?}");
    }
}

#[test]
fn active_and_monitor_clients_survive_timeout() {
    let (f, r) = pair(&["--timeout", "1"]);
    for s in [&f, &r] {
        let mut busy = s.conn();
        let mut monitor = raw_connect(s.port);
        monitor.write_all(b"MONITOR\r\n").unwrap();
        let mut ok = [0u8; 5];
        monitor.read_exact(&mut ok).unwrap();
        assert_eq!(&ok, b"+OK\r\n");
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(3500) {
            assert_eq!(busy.cmd(&["ECHO", "x"]), Resp::bulk("x"), "{}: an active client was closed", s.name);
            std::thread::sleep(Duration::from_millis(300));
        }
        // The monitor saw the ECHOs and is still open.
        let (seen, closed) = read_until_quiet(&mut monitor, Duration::from_millis(200));
        assert!(!closed, "{}: the MONITOR client was closed by timeout", s.name);
        assert!(String::from_utf8_lossy(&seen).contains("\"ECHO\" \"x\""), "{}", s.name);
    }
}

#[test]
fn timeout_zero_and_config_set() {
    let (f, r) = pair(&["--timeout", "1"]);
    for s in [&f, &r] {
        let mut c = s.conn();
        assert_eq!(c.cmd(&["CONFIG", "SET", "timeout", "0"]), Resp::ok());
        let mut idle = raw_connect(s.port);
        assert!(!closed_within(&mut idle, Duration::from_millis(2500)), "{}: closed with timeout 0", s.name);
        assert_eq!(c.cmd(&["CONFIG", "SET", "timeout", "1"]), Resp::ok());
        assert!(closed_within(&mut idle, Duration::from_secs(6)), "{}: timeout set at run time not applied", s.name);
        let e = c.cmd(&["CONFIG", "SET", "timeout", "-1"]);
        assert!(e.is_error(), "{}: {e:?}", s.name);
    }
}

// ---------------------------------------------------------------- requirepass

#[test]
fn requirepass_replies_match_redis() {
    let (f, r) = pair(&["--requirepass", "pw"]);
    for req in [
        &b"GET a\r\n"[..],
        b"PING\r\n",
        b"CLIENT ID\r\n",
        b"CONFIG SET requirepass \"\"\r\n",
        b"SELECT 1\r\n",
        b"NOSUCHCOMMAND x\r\n",
        b"GET\r\n",
        b"HELLO\r\n",
        b"HELLO 3\r\n",
        b"HELLO 3 SETNAME x\r\n",
        b"AUTH\r\n",
        b"AUTH wrong\r\n",
        b"AUTH default wrong\r\n",
        b"AUTH a b c\r\n",
        b"AUTH nouser pw\r\n",
        b"AUTH \"\"\r\n",
        b"HELLO 3 AUTH default wrong\r\n",
        b"HELLO 3 AUTH nouser pw\r\n",
        b"HELLO 3 AUTH default\r\n",
        b"HELLO 4 AUTH default pw\r\n",
        b"AUTH pw\r\nGET a\r\nSET a 1\r\nGET a\r\n",
        b"AUTH default pw\r\nPING\r\n",
        b"AUTH wrong\r\nAUTH pw\r\nPING\r\n",
        b"AUTH pw\r\nRESET\r\nGET a\r\n",
        b"QUIT\r\n",
        b"RESET\r\nPING\r\n",
        b"*10\r\n",
        b"*1\r\n$16384\r\n",
    ] {
        same_as_redis(&f, &r, req);
    }
    // The exact texts users see.
    let noauth = same_as_redis(&f, &r, b"GET a\r\n");
    assert_eq!(show(&noauth), "-NOAUTH Authentication required.\\r\\n");
    let wrong = same_as_redis(&f, &r, b"AUTH nope\r\n");
    assert_eq!(show(&wrong), "-WRONGPASS invalid username-password pair or user is disabled.\\r\\n");
}

#[test]
fn hello_auth_authenticates_and_switches_protocol() {
    let (f, r) = pair(&["--requirepass", "pw"]);
    for s in [&f, &r] {
        let mut c = s.conn();
        let hello = c.cmd(&["HELLO", "3", "AUTH", "default", "pw", "SETNAME", "me"]);
        let Resp::Map(m) = hello else { panic!("{}: HELLO 3 AUTH is a map: {hello:?}", s.name) };
        let get = |k: &str| m.iter().find(|(kk, _)| kk.text() == k).map(|(_, v)| v.clone());
        assert_eq!(get("proto"), Some(Resp::int(3)), "{}", s.name);
        assert_eq!(get("server"), Some(Resp::bulk("redis")));
        assert_eq!(get("version"), Some(Resp::bulk("7.0.15")));
        assert_eq!(c.cmd(&["GET", "missing"]), Resp::Null, "{}: authenticated and in RESP3", s.name);
        assert_eq!(c.cmd(&["CLIENT", "GETNAME"]), Resp::bulk("me"));
        // HELLO without AUTH once authenticated is fine.
        assert!(matches!(c.cmd(&["HELLO", "2"]), Resp::Array(Some(_))), "{}", s.name);
        // A failed HELLO AUTH leaves the connection unauthenticated and in RESP2.
        let mut d = s.conn();
        assert!(d.cmd(&["HELLO", "3", "AUTH", "default", "bad"]).is_error());
        assert_eq!(d.cmd(&["GET", "x"]), Resp::err("NOAUTH Authentication required."), "{}", s.name);
    }
}

#[test]
fn requirepass_changed_at_run_time() {
    let (f, r) = pair(&[]);
    for s in [&f, &r] {
        let mut c = s.conn();
        let e = c.cmd(&["AUTH", "x"]);
        assert_eq!(
            e,
            Resp::err(
                "ERR AUTH <password> called without any password configured for the default user. \
                 Are you sure your configuration is correct?"
            ),
            "{}",
            s.name
        );
        assert_eq!(c.cmd(&["CONFIG", "SET", "requirepass", "newpw"]), Resp::ok());
        // The connection that set it stays authenticated; new ones must AUTH.
        assert_eq!(c.cmd(&["PING"]), Resp::simple("PONG"), "{}", s.name);
        let mut n = s.conn();
        assert_eq!(n.cmd(&["PING"]), Resp::err("NOAUTH Authentication required."), "{}", s.name);
        assert_eq!(n.cmd(&["AUTH", "newpw"]), Resp::ok());
        assert_eq!(n.cmd(&["PING"]), Resp::simple("PONG"));
        assert_eq!(c.cmd(&["CONFIG", "GET", "requirepass"]).items()[1], Resp::bulk("newpw"));
        // Clearing it: everyone is in again.
        assert_eq!(c.cmd(&["CONFIG", "SET", "requirepass", ""]), Resp::ok());
        let mut m = s.conn();
        assert_eq!(m.cmd(&["PING"]), Resp::simple("PONG"), "{}", s.name);
    }
}

#[test]
fn unauthenticated_protocol_limits_have_redis_texts() {
    let (f, r) = pair(&["--requirepass", "pw"]);
    let e = same_as_redis(&f, &r, b"*11\r\n");
    assert_eq!(show(&e), "-ERR Protocol error: unauthenticated multibulk length\\r\\n");
    let e = same_as_redis(&f, &r, b"*1\r\n$16385\r\n");
    assert_eq!(show(&e), "-ERR Protocol error: unauthenticated bulk length\\r\\n");
}

#[test]
fn unauthenticated_protocol_limits_close_the_connection() {
    // Same limits as Redis (more than 10 args, bulks over 16 KB), whatever the text.
    let f = Server::ferrokv_with(&["--requirepass", "pw"]);
    for req in [&b"*11\r\n"[..], b"*1\r\n$16385\r\n"] {
        let (reply, closed) = exchange(f.port, req);
        assert!(reply.starts_with(b"-ERR Protocol error: "), "{}", show(&reply));
        assert!(closed);
    }
    // Once authenticated, both are fine.
    let mut c = f.conn();
    assert_eq!(c.cmd(&["AUTH", "pw"]), Resp::ok());
    let big = vec![b'b'; 100_000];
    assert_eq!(c.cmd_b(&[b"SET", b"k", &big]), Resp::ok());
    let args: Vec<String> = (0..30).map(|i| format!("k{i}")).collect();
    let mut cmd = vec!["DEL"];
    cmd.extend(args.iter().map(|s| s.as_str()));
    assert_eq!(c.cmd(&cmd), Resp::int(0));
}

// ---------------------------------------------------------------- protected mode

#[test]
fn protected_mode_lets_loopback_in() {
    // Bound to every interface, no password, protected mode on: Redis refuses
    // non-loopback clients, but 127.0.0.1 (the only address a test may use) gets in.
    let extra = ["--bind", "* -::*", "--protected-mode", "yes"];
    let (f, r) = pair(&extra);
    for s in [&f, &r] {
        let mut c = s.conn();
        assert_eq!(c.cmd(&["PING"]), Resp::simple("PONG"), "{}", s.name);
        assert_eq!(c.cmd(&["CONFIG", "GET", "protected-mode"]).items()[1], Resp::bulk("yes"));
        assert_eq!(c.cmd(&["CONFIG", "GET", "bind"]).items()[1], Resp::bulk("* -::*"), "{}", s.name);
        assert_eq!(c.cmd(&["SET", "k", "v"]), Resp::ok());
        // IPv6 loopback too, when the machine has it.
        if let Ok(mut v6) = TcpStream::connect(("::1", s.port)) {
            v6.set_read_timeout(Some(Duration::from_secs(5))).ok();
            v6.write_all(b"PING\r\n").unwrap();
            let mut b = [0u8; 7];
            v6.read_exact(&mut b).unwrap();
            assert_eq!(&b, b"+PONG\r\n", "{}: ::1 is loopback", s.name);
        }
        let info = c.cmd(&["INFO", "stats"]).text();
        assert!(info.contains("rejected_connections:0\r\n"), "{}", s.name);
    }
    let same = same_as_redis(&f, &r, b"PING\r\nGET k\r\n");
    assert_eq!(show(&same), "+PONG\\r\\n$1\\r\\nv\\r\\n");
}

// ---------------------------------------------------------------- unix sockets

fn sock_path(tag: &str) -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    std::env::temp_dir().join(format!("ferrokv-limits-{}-{tag}-{n}.sock", std::process::id()))
}

fn unix_cmd(s: &mut UnixStream, req: &[u8]) -> Vec<u8> {
    s.write_all(req).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300))).ok();
    drain(s).0
}

#[test]
fn unixsocket_serves_clients() {
    let fp = sock_path("f");
    let rp = sock_path("r");
    let f = Server::ferrokv_with(&["--unixsocket", fp.to_str().unwrap(), "--unixsocketperm", "700"]);
    let r = Server::redis_with(&["--unixsocket", rp.to_str().unwrap(), "--unixsocketperm", "700"]);
    for (s, path) in [(&f, &fp), (&r, &rp)] {
        use std::os::unix::fs::{FileTypeExt, PermissionsExt};
        let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: no socket at {path:?}: {e}", s.name));
        assert!(meta.file_type().is_socket(), "{}", s.name);
        assert_eq!(meta.permissions().mode() & 0o777, 0o700, "{}: unixsocketperm 700", s.name);
        let mut u = UnixStream::connect(path).unwrap();
        assert_eq!(show(&unix_cmd(&mut u, b"PING\r\n")), "+PONG\\r\\n", "{}", s.name);
        let reply = unix_cmd(&mut u, &Conn::encode(&[b"SET", b"via", b"unix"]));
        assert_eq!(show(&reply), "+OK\\r\\n");
        // The TCP side sees the same data; CLIENT LIST marks the unix client.
        let mut c = s.conn();
        assert_eq!(c.cmd(&["GET", "via"]), Resp::bulk("unix"), "{}", s.name);
        let mine = String::from_utf8_lossy(&unix_cmd(&mut u, b"CLIENT INFO\r\n")).into_owned();
        let p = path.to_str().unwrap();
        assert!(mine.contains(&format!(" addr={p}:0 ")), "{}: {mine}", s.name);
        assert!(mine.contains(" flags=U "), "{}: unix clients have flag U: {mine}", s.name);
        assert_eq!(c.cmd(&["CONFIG", "GET", "unixsocket"]).items()[1], Resp::bulk(p));
        assert_eq!(c.cmd(&["CONFIG", "GET", "unixsocketperm"]).items()[1], Resp::bulk("700"), "{}", s.name);
        // redis-cli -s and a pipeline over the socket.
        let out = std::process::Command::new("redis-cli").args(["-s", p, "get", "via"]).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "unix\n", "{}", s.name);
        let mut req = Vec::new();
        for _ in 0..1000 {
            req.extend(b"INCR n\r\n");
        }
        let mut w = u.try_clone().unwrap();
        let writer = std::thread::spawn(move || w.write_all(&req).unwrap());
        u.set_read_timeout(Some(Duration::from_secs(10))).ok();
        let mut want: Vec<u8> = Vec::new();
        for i in 1..=1000 {
            want.extend(format!(":{i}\r\n").as_bytes());
        }
        let mut got = vec![0u8; want.len()];
        u.read_exact(&mut got).unwrap();
        writer.join().unwrap();
        assert!(got == want, "{}: pipelined INCR over the unix socket", s.name);
    }
}

#[test]
fn unixsocket_clients_count_against_maxclients_and_requirepass() {
    let path = sock_path("auth");
    let f = Server::ferrokv_with(&["--unixsocket", path.to_str().unwrap(), "--requirepass", "pw", "--maxclients", "3"]);
    let mut u = UnixStream::connect(&path).unwrap();
    assert_eq!(show(&unix_cmd(&mut u, b"GET a\r\n")), "-NOAUTH Authentication required.\\r\\n");
    assert_eq!(show(&unix_cmd(&mut u, b"AUTH pw\r\nPING\r\n")), "+OK\\r\\n+PONG\\r\\n");
    let mut t = f.conn();
    assert_eq!(t.cmd(&["AUTH", "pw"]), Resp::ok());
    wait_clients(&mut t, 2);
    let mut u2 = UnixStream::connect(&path).unwrap();
    assert_eq!(show(&unix_cmd(&mut u2, b"AUTH pw\r\n")), "+OK\\r\\n");
    // Fourth client, over TCP: refused.
    let (reply, closed) = exchange(f.port, b"PING\r\n");
    assert_eq!((show(&reply), closed), ("-ERR max number of clients reached\\r\\n".to_string(), true));
    // Fourth client, over the unix socket: refused too.
    let mut u3 = UnixStream::connect(&path).unwrap();
    u3.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let (reply, closed) = drain(&mut u3);
    assert_eq!((show(&reply), closed), ("-ERR max number of clients reached\\r\\n".to_string(), true));
}

#[test]
fn unix_client_laddr_matches_redis() {
    let fp = sock_path("lf");
    let rp = sock_path("lr");
    let f = Server::ferrokv_with(&["--unixsocket", fp.to_str().unwrap()]);
    let r = Server::redis_with(&["--unixsocket", rp.to_str().unwrap()]);
    for (s, path) in [(&r, &rp), (&f, &fp)] {
        let mut u = UnixStream::connect(path).unwrap();
        let mine = String::from_utf8_lossy(&unix_cmd(&mut u, b"CLIENT INFO\r\n")).into_owned();
        let p = path.to_str().unwrap();
        assert!(mine.contains(&format!(" addr={p}:0 laddr={p}:0 ")), "{}: {mine}", s.name);
    }
}

/// `client-output-buffer-limit normal` with a hard limit: a client whose
/// replies go past it is disconnected without them, as Redis does; smaller
/// replies and other clients are unaffected.
#[test]
fn normal_output_buffer_hard_limit_closes_the_client() {
    let outcome = |s: &Server| {
        let mut c = s.conn();
        assert_eq!(c.cmd(&["CONFIG", "SET", "client-output-buffer-limit", "normal 100kb 0 0"]), Resp::ok());
        let items: Vec<String> = (0..30000).map(|i| i.to_string()).collect();
        let mut args = vec!["RPUSH", "big"];
        args.extend(items.iter().map(String::as_str));
        c.cmd(&args);
        let small = c.cmd(&["LRANGE", "big", "0", "9"]).items().len();
        c.send(&[b"LRANGE", b"big", b"0", b"-1"]);
        // Closed before the first byte of the reply.
        let closed = c.is_closed();
        let mut other = s.conn();
        let len = other.cmd(&["LLEN", "big"]);
        (small, closed, len)
    };
    let got = both_servers(outcome);
    assert_eq!(got, (10, true, Resp::int(30000)));
}

/// `client-output-buffer-limit normal` with a soft limit: a client that does
/// not read while its pending replies stay above the soft bytes for longer
/// than the seconds is disconnected, as by Redis; one that reads stays.
#[test]
fn normal_output_buffer_soft_limit_closes_a_client_that_does_not_read() {
    let outcome = |s: &Server| {
        let mut c = s.conn();
        assert_eq!(c.cmd(&["CONFIG", "SET", "client-output-buffer-limit", "normal 0 1mb 1"]), Resp::ok());
        c.cmd_b(&[b"SET", b"big", &vec![b'x'; 1 << 20]]);
        // A reader gets all its replies.
        let mut reader = raw_connect(s.port);
        reader.set_read_timeout(Some(Duration::from_secs(5))).ok();
        let req: Vec<u8> = (0..8).flat_map(|_| Conn::encode(&[b"GET", b"big"])).collect();
        reader.write_all(&req).expect("send");
        let mut got = 0;
        let mut buf = vec![0u8; 1 << 16];
        while got < 8 * ((1 << 20) + 12) {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
        let reader_ok = got == 8 * ((1 << 20) + 12);
        // A client that asks for 40 MB and reads nothing for 3 s.
        let mut idle = raw_connect(s.port);
        let req: Vec<u8> = (0..40).flat_map(|_| Conn::encode(&[b"GET", b"big"])).collect();
        idle.write_all(&req).expect("send");
        std::thread::sleep(Duration::from_secs(3));
        idle.set_read_timeout(Some(Duration::from_secs(5))).ok();
        let mut total = 0usize;
        loop {
            match idle.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
        let cut_short = total < 40 * ((1 << 20) + 12);
        (reader_ok, cut_short, c.cmd(&["PING"]))
    };
    let got = both_servers(outcome);
    assert_eq!(got, (true, true, Resp::simple("PONG")));
}
