//! Client eviction (`maxmemory-clients`, CLIENT NO-EVICT), against ferrokv
//! and real Redis side by side: clients whose requests are still arriving
//! hold memory; past the limit the largest are disconnected until the rest
//! fit, NO-EVICT clients are spared, lowering the limit evicts at once, a
//! percentage of `maxmemory` works, and INFO counts `evicted_clients`.

mod common;

use common::*;
use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

/// Starts `SET <key> <value of len bytes>` and sends all of the value but
/// its last byte, so the request stays in the query buffer.
fn partial_set(port: u16, key: &str, len: usize) -> TcpStream {
    let mut s = raw_connect(port);
    let head = format!("*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n${len}\r\n", key.len());
    s.write_all(head.as_bytes()).unwrap();
    // The server may close the connection before all of it is written.
    let _ = s.write_all(&vec![b'x'; len - 1]);
    s
}

/// Whether the server closed `s` (reads EOF or a reset within a short wait).
fn closed(s: &mut TcpStream) -> bool {
    read_until_quiet(s, Duration::from_millis(300)).1
}

fn evicted_clients(c: &mut Conn) -> String {
    info_field(c, "stats", "evicted_clients")
}

#[test]
fn query_buffer_over_the_limit_is_evicted_unless_no_evict() {
    let got = both_servers(|srv| {
        let mut admin = srv.conn();
        admin.cmd(&["CLIENT", "NO-EVICT", "on"]);
        assert_eq!(admin.cmd(&["CONFIG", "SET", "maxmemory-clients", "1mb"]), Resp::ok());
        let mut big = partial_set(srv.port, "k", 1_500_000);
        let big_closed = closed(&mut big);
        // A NO-EVICT client may hold more.
        let mut spared = raw_connect(srv.port);
        spared.write_all(b"CLIENT NO-EVICT on\r\n").unwrap();
        let (ok, _) = read_until_quiet(&mut spared, Duration::from_millis(100));
        let head = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1500000\r\n";
        spared.write_all(head.as_bytes()).unwrap();
        spared.write_all(&vec![b'y'; 1_499_999]).unwrap();
        let spared_closed = closed(&mut spared);
        spared.write_all(b"y\r\n").unwrap();
        let (reply, _) = read_until_quiet(&mut spared, Duration::from_millis(300));
        (big_closed, show(&ok), spared_closed, show(&reply), evicted_clients(&mut admin), admin.cmd(&["STRLEN", "k"]))
    });
    assert!(got.0 && !got.2, "{got:?}");
    assert_eq!((got.4.as_str(), got.5.as_int()), ("1", 1_500_000));
}

#[test]
fn largest_clients_go_first_and_only_as_many_as_needed() {
    let got = both_servers(|srv| {
        let mut admin = srv.conn();
        admin.cmd(&["CLIENT", "NO-EVICT", "on"]);
        admin.cmd(&["CONFIG", "SET", "maxmemory-clients", "1200kb"]);
        let mut small = partial_set(srv.port, "a", 150_000);
        std::thread::sleep(Duration::from_millis(100));
        let mut medium = partial_set(srv.port, "b", 400_000);
        std::thread::sleep(Duration::from_millis(100));
        let mut large = partial_set(srv.port, "c", 1_600_000);
        let states = (closed(&mut small), closed(&mut medium), closed(&mut large));
        (states, evicted_clients(&mut admin))
    });
    assert_eq!(got.0, (false, false, true));
}

#[test]
fn lowering_the_limit_evicts_and_percent_of_maxmemory_works() {
    let got = both_servers(|srv| {
        let mut admin = srv.conn();
        admin.cmd(&["CLIENT", "NO-EVICT", "on"]);
        let mut a = partial_set(srv.port, "a", 600_000);
        let before = closed(&mut a);
        admin.cmd(&["CONFIG", "SET", "maxmemory-clients", "300kb"]);
        let after = closed(&mut a);
        // 10% of 5 MB: a 700 KB request goes, a 100 KB one stays.
        admin.cmd(&["CONFIG", "SET", "maxmemory", "5mb"]);
        admin.cmd(&["CONFIG", "SET", "maxmemory-clients", "10%"]);
        let mut b = partial_set(srv.port, "b", 700_000);
        let mut c = partial_set(srv.port, "c", 100_000);
        (
            before,
            after,
            closed(&mut b),
            closed(&mut c),
            admin.cmd(&["CONFIG", "GET", "maxmemory-clients"]),
            evicted_clients(&mut admin),
        )
    });
    assert_eq!((got.0, got.1, got.2, got.3, got.5.as_str()), (false, true, true, false, "2"));
}

#[test]
fn mem_clients_normal_counts_a_request_arriving() {
    let srv = Server::ferrokv();
    let mut admin = srv.conn();
    let before: i64 = info_field(&mut admin, "memory", "mem_clients_normal").parse().unwrap();
    let a = partial_set(srv.port, "k", 500_000);
    std::thread::sleep(Duration::from_millis(200));
    let during: i64 = info_field(&mut admin, "memory", "mem_clients_normal").parse().unwrap();
    assert!(during - before >= 400_000, "before {before}, during {during}");
    drop(a.shutdown(std::net::Shutdown::Both));
    std::thread::sleep(Duration::from_millis(200));
    let after: i64 = info_field(&mut admin, "memory", "mem_clients_normal").parse().unwrap();
    assert!(after < before + 50_000, "before {before}, after {after}");
}

#[test]
fn replies_a_client_does_not_read_count_and_get_it_evicted() {
    let got = both_servers(|srv| {
        let mut admin = srv.conn();
        admin.cmd(&["CLIENT", "NO-EVICT", "on"]);
        let big = "v".repeat(3_000_000);
        admin.cmd(&["SET", "big", &big]);
        admin.cmd(&["CONFIG", "SET", "maxmemory-clients", "2mb"]);
        // Asks for 9 MB of replies and never reads them.
        let mut reader = raw_connect(srv.port);
        reader.write_all(b"GET big\r\nGET big\r\nGET big\r\n").unwrap();
        std::thread::sleep(Duration::from_millis(500));
        let evicted = evicted_clients(&mut admin);
        // A client that reads its big reply at once is left alone.
        admin.cmd(&["CONFIG", "SET", "maxmemory-clients", "50mb"]);
        let mut ok = srv.conn();
        let len = ok.cmd(&["STRLEN", "big"]);
        (evicted, len)
    });
    assert_eq!(got.0, "1");
}

/// The `omem` of the client whose last command was `cmd` in CLIENT LIST.
fn omem_of(admin: &mut Conn, cmd: &str) -> i64 {
    let list = admin.cmd(&["CLIENT", "LIST"]).text();
    let line = list.lines().find(|l| l.contains(&format!(" cmd={cmd} "))).unwrap_or_else(|| panic!("{list}"));
    let field = line.split(' ').find_map(|f| f.strip_prefix("omem=")).unwrap();
    field.parse().unwrap()
}

/// Replies smaller than a big one that a client leaves unread (one request
/// at a time, each reply 40 KB) count as its output memory once the socket
/// stops taking them, in CLIENT LIST `omem` and `mem_clients_normal`, and
/// stop counting once the client reads them.
#[test]
fn small_replies_left_unread_count_as_output_memory() {
    both_servers(|srv| {
        let mut admin = srv.conn();
        admin.cmd(&["SET", "k", &"v".repeat(40_000)]);
        let base: i64 = info_field(&mut admin, "memory", "mem_clients_normal").parse().unwrap();
        let mut reader = raw_connect(srv.port);
        for _ in 0..400 {
            reader.write_all(b"GET k\r\n").unwrap();
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(300));
        let omem = omem_of(&mut admin, "get");
        let clients: i64 = info_field(&mut admin, "memory", "mem_clients_normal").parse().unwrap();
        assert!(omem > 0, "{}: omem {omem}", srv.name);
        assert!(clients - base >= omem, "{}: mem_clients_normal {clients} (from {base}), omem {omem}", srv.name);
        // Reading every reply empties the buffers.
        let mut got = 0;
        let want = 400 * (40_000 + "$40000\r\n\r\n".len());
        let mut buf = vec![0u8; 1 << 20];
        reader.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        while got < want {
            let n = std::io::Read::read(&mut reader, &mut buf).unwrap();
            assert!(n > 0, "{}: closed after {got} bytes", srv.name);
            got += n;
        }
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(omem_of(&mut admin, "get"), 0, "{}", srv.name);
    });
}
