//! Protocol edge cases: inline commands, pipelining, fragmented and very large
//! requests, malformed multibulk/bulk headers, `proto-max-bulk-len`, unknown
//! commands with binary arguments, RESP3, and clients that vanish mid-request.
//! Where the reply is deterministic the exact bytes are compared with real Redis.

mod common;
use common::*;
use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- raw helpers

/// What a server sends back to `data` on a fresh connection: everything until it
/// closes the connection, or until it has been quiet for `quiet`. The flag tells
/// whether it closed.
fn exchange(port: u16, data: &[u8], quiet: Duration) -> (Vec<u8>, bool) {
    let mut s = raw_connect(port);
    s.write_all(data).expect("write request");
    read_until_quiet(&mut s, quiet)
}

/// Sends `data` to both servers on fresh connections; the replies (bytes) and
/// whether the connection was closed must be identical. Returns Redis's reply.
fn same_as_redis(d: &Diff, data: &[u8]) -> Vec<u8> {
    let quiet = Duration::from_millis(250);
    let (fr, fc) = exchange(d.ferrokv.port, data, quiet);
    let (rr, rc) = exchange(d.redis.port, data, quiet);
    assert_eq!(
        (show(&fr), fc),
        (show(&rr), rc),
        "ferrokv (left) and Redis (right) differ for request {} (reply, connection closed)",
        show(&data[..data.len().min(200)])
    );
    rr
}

/// A Diff whose setup connections are not needed (raw exchanges open their own).
fn diff_with(extra: &[&str]) -> Diff {
    Diff::with(extra)
}

fn mb(args: &[&[u8]]) -> Vec<u8> {
    Conn::encode(args)
}

// ---------------------------------------------------------------- inline commands

#[test]
fn inline_commands_quotes_and_escapes() {
    let d = diff_with(&[]);
    for req in [
        &b"SET \"a b\" 'c d'\r\nGET \"a b\"\r\n"[..],
        b"SET k \"\\x41\\x42\\x7a\"\r\nGET k\r\n",
        b"SET k \"tab\\there\\nnl\\r\\\\ \\\"q\\\" \\a\\b \\x4\"\r\nGET k\r\nSTRLEN k\r\n",
        b"SET k 'it\\'s \"fine\"'\r\nGET k\r\n",
        b"SET k 'back\\slash \\n stays'\r\nGET k\r\n",
        b"SET \"\" \"\"\r\nGET \"\"\r\nEXISTS ''\r\n",
        b"   SET    spaced     out   \r\nGET spaced\r\n",
        b"\tSET\ttabs\tv\t\r\nGET tabs\r\n",
        b"ECHO \"\\xff\\x00\\xZZ\"\r\n",
        b"ECHO \"caf\xc3\xa9\"\r\n",
        b"SET k \"a\"b\r\nPING\r\n",
        b"SET k 'a'b\r\n",
        b"PING \"unterminated\r\n",
        b"PING 'unterminated\r\n",
        b"ECHO \"\"x\r\n",
        b"ECHO \"ends in backslash\\\r\n",
        b"ping\r\nPiNg\r\nECHO hello\r\n",
        b"GET\r\n",
        b"NOSUCH a 'b c'\r\n",
    ] {
        same_as_redis(&d, req);
    }
}

#[test]
fn inline_empty_lines_and_bare_newlines() {
    let d = diff_with(&[]);
    for req in [
        &b"\r\n\r\n\r\nPING\r\n"[..],
        b"\n\n\nPING\n",
        b"PING\nPING\nECHO lf-only\n",
        b"PING\r\n\nPING\n\r\nPING\r\n",
        b"   \r\n\t\r\nPING\r\n",
        b"SET a 1\nINCR a\r\nGET a\n",
        b"PING\r",
        b"\r\r\r\nPING\r\n",
    ] {
        same_as_redis(&d, req);
    }
}

#[test]
fn inline_and_multibulk_mixed_in_one_write() {
    let d = diff_with(&[]);
    let mut req = b"SET a 1\r\n".to_vec();
    req.extend(mb(&[b"INCR", b"a"]));
    req.extend(b"INCR a\n");
    req.extend(mb(&[b"GET", b"a"]));
    req.extend(b"\r\n");
    req.extend(mb(&[b"ECHO", b"multi\r\nline"]));
    req.extend(b"ECHO \"inline\\r\\nescaped\"\r\n");
    let r = same_as_redis(&d, &req);
    assert_eq!(show(&r), show(b"+OK\r\n:2\r\n:3\r\n$1\r\n3\r\n$11\r\nmulti\r\nline\r\n$15\r\ninline\r\nescaped\r\n"));
}

#[test]
fn inline_request_too_big() {
    let d = diff_with(&[]);
    // 64 KB is the inline limit; a longer line without a newline is refused.
    let mut req = b"ECHO ".to_vec();
    req.extend(vec![b'x'; 70 * 1024]);
    let r = same_as_redis(&d, &req);
    assert_eq!(show(&r), "-ERR Protocol error: too big inline request\\r\\n");
    // Just under the limit, with its newline, is a normal command.
    let mut req = b"ECHO ".to_vec();
    req.extend(vec![b'y'; 60 * 1024]);
    req.extend(b"\r\n");
    same_as_redis(&d, &req);
}

// ---------------------------------------------------------------- pipelining and fragmentation

#[test]
fn pipeline_of_10000_commands_in_one_write() {
    let d = diff_with(&[]);
    let mut req = Vec::new();
    let mut want: Vec<u8> = Vec::new();
    for i in 0..10_000 {
        match i % 4 {
            0 => {
                req.extend(mb(&[b"SET", format!("k{i}").as_bytes(), format!("v{i}").as_bytes()]));
                want.extend(b"+OK\r\n");
            }
            1 => {
                let k = format!("k{}", i - 1);
                let v = format!("v{}", i - 1);
                req.extend(mb(&[b"GET", k.as_bytes()]));
                want.extend(format!("${}\r\n{v}\r\n", v.len()).as_bytes());
            }
            2 => {
                req.extend(b"INCR counter\r\n");
                want.extend(format!(":{}\r\n", i / 4 + 1).as_bytes());
            }
            _ => {
                req.extend(mb(&[b"GET", b"never-set"]));
                want.extend(b"$-1\r\n");
            }
        }
    }
    for port in [d.ferrokv.port, d.redis.port] {
        let mut s = raw_connect(port);
        let mut w = s.try_clone().unwrap();
        let data = req.clone();
        // Written from another thread so that a server replying early cannot deadlock the test.
        let writer = std::thread::spawn(move || w.write_all(&data).expect("write pipeline"));
        let mut got = vec![0u8; want.len()];
        s.read_exact(&mut got).expect("read all 10000 replies");
        writer.join().unwrap();
        assert!(got == want, "port {port}: pipelined replies differ from the expected ones");
        // Nothing more follows.
        s.set_read_timeout(Some(Duration::from_millis(200))).ok();
        let mut extra = [0u8; 16];
        assert!(s.read(&mut extra).is_err(), "unexpected bytes after the last reply");
    }
}

#[test]
fn request_split_into_one_byte_writes() {
    let s = Server::ferrokv();
    let value: Vec<u8> = (0..300u32).map(|i| (i % 256) as u8).collect();
    let mut req = mb(&[b"SET", b"frag", &value]);
    req.extend(b"GET frag\r\n");
    req.extend(mb(&[b"STRLEN", b"frag"]));
    req.extend(b"PING\n");
    let mut want = b"+OK\r\n$300\r\n".to_vec();
    want.extend(&value);
    want.extend(b"\r\n:300\r\n+PONG\r\n");
    let mut c = raw_connect(s.port);
    for (i, b) in req.iter().enumerate() {
        c.write_all(&[*b]).unwrap();
        if i % 16 == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let mut got = vec![0u8; want.len()];
    c.read_exact(&mut got).unwrap();
    assert_eq!(show(&got), show(&want));
    // The same bytes in one write are answered identically by Redis.
    let d = diff_with(&[]);
    let r = same_as_redis(&d, &req);
    assert_eq!(show(&r), show(&want));
}

#[test]
fn replies_wait_for_the_end_of_a_slow_request() {
    // A command trickling in over a second is executed once, when complete.
    let s = Server::ferrokv();
    let mut c = raw_connect(s.port);
    let req = mb(&[b"INCRBY", b"slow", b"5"]);
    for chunk in req.chunks(3) {
        c.write_all(chunk).unwrap();
        std::thread::sleep(Duration::from_millis(60));
    }
    let mut got = [0u8; 4];
    c.read_exact(&mut got).unwrap();
    assert_eq!(&got, b":5\r\n");
}

// ---------------------------------------------------------------- big values

fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}

/// SETs a value of `len` bytes, GETs it back, checks it is intact; returns the time taken.
fn big_roundtrip(port: u16, len: usize) -> Duration {
    let value = pattern(len, len as u64);
    let mut s = raw_connect(port);
    let started = Instant::now();
    let mut w = s.try_clone().unwrap();
    let header = format!("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${len}\r\n");
    let writer = std::thread::spawn(move || {
        w.write_all(header.as_bytes()).unwrap();
        w.write_all(&value).unwrap();
        w.write_all(b"\r\n").unwrap();
        w.write_all(&mb(&[b"GET", b"big"])).unwrap();
        value
    });
    let mut ok = [0u8; 5];
    s.read_exact(&mut ok).expect("SET reply");
    assert_eq!(&ok, b"+OK\r\n");
    let head = format!("${len}\r\n");
    let mut h = vec![0u8; head.len()];
    s.read_exact(&mut h).expect("GET reply header");
    assert_eq!(show(&h), show(head.as_bytes()));
    let mut back = vec![0u8; len + 2];
    s.read_exact(&mut back).expect("GET payload");
    let elapsed = started.elapsed();
    let value = writer.join().unwrap();
    assert!(back[..len] == value[..], "the {len}-byte value came back altered");
    assert_eq!(&back[len..], b"\r\n");
    // Reads inside the value hit the right bytes.
    let mut c = Conn::connect(port);
    assert_eq!(c.cmd(&["STRLEN", "big"]), Resp::int(len as i64));
    let from = len - 10;
    let got = c.cmd(&["GETRANGE", "big", &from.to_string(), "-1"]);
    assert_eq!(got, Resp::Bulk(Some(value[from..].to_vec())));
    assert_eq!(c.cmd(&["DEL", "big"]), Resp::int(1));
    elapsed
}

#[test]
fn value_of_50mb_round_trips_intact() {
    let f = Server::ferrokv();
    let r = Server::redis();
    let tf = big_roundtrip(f.port, 50 * 1024 * 1024);
    let tr = big_roundtrip(r.port, 50 * 1024 * 1024);
    eprintln!("50 MB SET+GET: ferrokv {tf:?}, redis {tr:?}");
    assert!(tf < Duration::from_secs(30), "50 MB SET+GET took {tf:?}");
}

#[test]
fn value_of_200mb_is_not_copied_quadratically() {
    let f = Server::ferrokv();
    let t = big_roundtrip(f.port, 200 * 1024 * 1024);
    eprintln!("200 MB SET+GET: ferrokv {t:?}");
    // Linear work takes a second or two even in a debug build; quadratic copying takes minutes.
    assert!(t < Duration::from_secs(30), "200 MB SET+GET took {t:?}");
}

#[test]
fn pipeline_written_before_reading_does_not_deadlock() {
    // redis-py's Pipeline.execute() and redis-rs's pipe().query() write every command
    // before reading any reply. Redis keeps reading while replies pile up in its output
    // buffer, so this works however big the pipeline is.
    for s in [Server::redis(), Server::ferrokv()] {
        let mut c = raw_connect(s.port);
        let one_mb = vec![b'x'; 1 << 20];
        c.write_all(&mb(&[b"SET", b"big", &one_mb])).unwrap();
        let mut ok = [0u8; 5];
        c.read_exact(&mut ok).unwrap();
        let mut req = Vec::new();
        for _ in 0..48 {
            req.extend(mb(&[b"GET", b"big"]));
            req.extend(mb(&[b"SET", b"x", &one_mb]));
        }
        c.set_write_timeout(Some(Duration::from_secs(5))).ok();
        let started = Instant::now();
        let sent = c.write_all(&req);
        assert!(
            sent.is_ok(),
            "{}: the server stopped reading a 48 MB pipeline while its replies were unread ({:?} after {:?})",
            s.name,
            sent.err(),
            started.elapsed()
        );
        let mut total = 0usize;
        let want = 48 * ("$1048576\r\n".len() + (1 << 20) + 2 + "+OK\r\n".len());
        let mut buf = vec![0u8; 1 << 20];
        while total < want {
            let n = c.read(&mut buf).unwrap();
            assert!(n > 0, "{}: closed", s.name);
            total += n;
        }
    }
}

// ---------------------------------------------------------------- malformed requests

#[test]
fn multibulk_and_bulk_length_errors_match_redis() {
    let d = diff_with(&[]);
    for req in [
        &b"*-1\r\nPING\r\n"[..],
        b"*0\r\nPING\r\n",
        b"*-10\r\nPING\r\n",
        b"*3\r\n$-1\r\n",
        b"*1\r\n$-5\r\n",
        b"*1\r\n$abc\r\n",
        b"*1\r\n$ 3\r\n",
        b"*1\r\n$3x\r\n",
        b"*1\r\n$+4\r\nPING\r\n",
        b"*1\r\n$04\r\nPING\r\n",
        b"*abc\r\n",
        b"*+1\r\n$4\r\nPING\r\n",
        b"*01\r\n$4\r\nPING\r\n",
        b"*1x\r\n",
        b"*\r\n",
        b"*1\r\nfoo\r\n",
        b"*1\r\n:4\r\n",
        b"*1\r\n*1\r\n",
        b"*1\r\n\r\n",
        b"*2\r\n$4\r\nECHO\r\nbar\r\n",
        b"*2147483648\r\n",
        b"*99999999999\r\n",
        b"*99999999999999999999999\r\n",
        b"*1\r\n$2147483648\r\n",
        b"*1\r\n$536870913\r\n",
        b"*1\r\n$99999999999999999999999\r\n",
        b"*1\r\n$9223372036854775807\r\n",
        b"*1\r\n$-9223372036854775808\r\n",
        b"*1\r\n$0\r\n\r\n",
        b"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n",
        b"*1\r\n$1\r\nab\r\nPING\r\n",
        b"*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n",
        b"*2\r\n$4\r\nECHO\r\n$3\r\nfoo",
        b"*1\r\n$4\r\nPI",
        b"*3\r\n$3\r\nSET\r\n",
    ] {
        same_as_redis(&d, req);
    }
    // Header lines longer than 64 KB without their CRLF.
    let mut req = b"*".to_vec();
    req.extend(vec![b'1'; 70 * 1024]);
    let r = same_as_redis(&d, &req);
    assert_eq!(show(&r), "-ERR Protocol error: too big mbulk count string\\r\\n");
    let mut req = b"*1\r\n$".to_vec();
    req.extend(vec![b'1'; 70 * 1024]);
    let r = same_as_redis(&d, &req);
    assert_eq!(show(&r), "-ERR Protocol error: too big bulk count string\\r\\n");
    // A valid command ahead of a protocol error is still answered.
    let r = same_as_redis(&d, b"*1\r\n$4\r\nPING\r\nPING\r\n*1\r\n$x\r\nPING\r\n");
    assert_eq!(show(&r), "+PONG\\r\\n+PONG\\r\\n-ERR Protocol error: invalid bulk length\\r\\n");
}

#[test]
fn huge_announced_lengths_do_not_exhaust_memory() {
    // Clients announcing 2^31-1 arguments and a 512 MB bulk, then sending nothing
    // else, must not make the server touch that much memory; others keep being served.
    let s = Server::ferrokv();
    let mut idle = Vec::new();
    for _ in 0..20 {
        let mut c = raw_connect(s.port);
        c.write_all(b"*2147483647\r\n$536870912\r\n").unwrap();
        idle.push(c);
    }
    let mut c = s.conn();
    assert_eq!(c.cmd(&["PING"]), Resp::simple("PONG"));
    let info = c.cmd(&["INFO", "memory"]).text();
    let rss: u64 =
        info.lines().find_map(|l| l.strip_prefix("used_memory_rss:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
    if rss > 0 {
        assert!(rss < 2 << 30, "20 clients announcing 512 MB bulks made the server's RSS {rss} bytes");
    }
    drop(idle);
    assert_eq!(c.cmd(&["PING"]), Resp::simple("PONG"));
}

#[test]
fn negative_zero_lengths_are_invalid() {
    let d = diff_with(&[]);
    let r = same_as_redis(&d, b"*-0\r\nPING\r\n");
    assert_eq!(show(&r), "-ERR Protocol error: invalid multibulk length\\r\\n");
    let r = same_as_redis(&d, b"*1\r\n$-0\r\n");
    assert_eq!(show(&r), "-ERR Protocol error: invalid bulk length\\r\\n");
}

#[test]
#[ignore = "server bug: a non-ASCII byte in place of '$' is echoed UTF-8 encoded ('\\xc3\\xbf' for 0xff), Redis echoes the raw byte"]
fn protocol_error_echoes_the_raw_byte() {
    let d = diff_with(&[]);
    let r = same_as_redis(&d, b"*1\r\n\xff\r\n");
    assert_eq!(show(&r), "-ERR Protocol error: expected \\'$\\', got \\'\\xff\\'\\r\\n");
    same_as_redis(&d, b"*1\r\n\x80abc\r\n");
}

#[test]
#[ignore = "server bug: the multibulk count line ends at the first CR in Redis (`*1\\r\\r\\n` -> \"expected '$', got ' '\"); ferrokv replies 'invalid multibulk length'"]
fn multibulk_count_line_ends_at_first_cr() {
    let d = diff_with(&[]);
    same_as_redis(&d, b"*1\r\r\n$4\r\nPING\r\n");
    same_as_redis(&d, b"*1\rX$4\r\nPING\r\n");
}

#[test]
fn inline_vertical_tab_is_whitespace() {
    let d = diff_with(&[]);
    same_as_redis(&d, b"\x0bPING\r\n");
    same_as_redis(&d, b"ECHO \"a\"\x0b\r\n");
    same_as_redis(&d, b"ECHO a\x0bb\r\n");
}

#[test]
fn proto_max_bulk_len_is_enforced_like_redis() {
    let d = diff_with(&["--proto-max-bulk-len", "1048576"]);
    let mut d = d;
    d.check(&["CONFIG", "GET", "proto-max-bulk-len"]);
    // Exactly the limit is accepted.
    let value = vec![b'v'; 1048576];
    assert_eq!(d.check_b(&[b"SET", b"k", &value]), Resp::ok());
    assert_eq!(d.check(&["STRLEN", "k"]), Resp::int(1048576));
    // One byte more (and 2 MB) is a protocol error and the connection is closed.
    for len in [1048577usize, 2 * 1024 * 1024] {
        let header = format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${len}\r\n");
        let r = same_as_redis(&d, header.as_bytes());
        assert_eq!(show(&r), "-ERR Protocol error: invalid bulk length\\r\\n");
    }
    // With the payload already on its way: the error arrives, then the connection is closed.
    for s in [&d.ferrokv, &d.redis] {
        let mut c = raw_connect(s.port);
        let mut req = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2097152\r\n".to_vec();
        req.extend(vec![b'z'; 4096]);
        c.write_all(&req).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        loop {
            match c.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
                Err(e) => panic!("{}: {e}", s.name),
            }
        }
        if !got.is_empty() {
            assert_eq!(show(&got), "-ERR Protocol error: invalid bulk length\\r\\n", "{}", s.name);
        }
    }
    // The key still has its old value; the limit can be raised at run time.
    assert_eq!(d.check(&["STRLEN", "k"]), Resp::int(1048576));
    d.check(&["CONFIG", "SET", "proto-max-bulk-len", "4mb"]);
    let value = vec![b'w'; 2 * 1024 * 1024];
    assert_eq!(d.check_b(&[b"SET", b"k", &value]), Resp::ok());
    d.check(&["CONFIG", "SET", "proto-max-bulk-len", "1000"]);
    d.check(&["CONFIG", "GET", "proto-max-bulk-len"]);
}

// ---------------------------------------------------------------- unknown commands

#[test]
fn unknown_commands_with_long_and_many_args() {
    let d = diff_with(&[]);
    let long = vec![b'x'; 200];
    let name = vec![b'C'; 300];
    for args in [
        vec![&b"FOO"[..]],
        vec![b"FOO", b"bar", b"with space", b"'quoted'"],
        vec![b"FOO", &long],
        vec![b"FOO", &long[..126], b"zz", b"never shown"],
        vec![b"FOO", &long[..60], &long[..60], &long[..60], b"gone"],
        vec![&name[..]],
        vec![b"FOO", b"a\r\nb", b"c\nd"],
        vec![b"", b"x"],
        vec![b"caf\xc3\xa9", b"\xc3\xa9t\xc3\xa9"],
        vec![b"CONFIG", b"NOSUCHSUB", b"x"],
        vec![b"OBJECT", b"nosuch"],
    ] {
        same_as_redis(&d, &mb(&args));
    }
    let many: Vec<Vec<u8>> = (0..1000).map(|i| format!("arg{i}").into_bytes()).collect();
    let mut args: Vec<&[u8]> = vec![b"NOPE"];
    args.extend(many.iter().map(|a| a.as_slice()));
    let r = same_as_redis(&d, &mb(&args));
    assert!(r.starts_with(b"-ERR unknown command 'NOPE', with args beginning with: 'arg0' 'arg1' "));
}

#[test]
#[ignore = "server bug: unknown-command error text is built with from_utf8_lossy and char counts: raw bytes become U+FFFD, a NUL does not end the arg, and the 128 limit counts chars instead of bytes"]
fn unknown_command_error_keeps_raw_bytes() {
    let d = diff_with(&[]);
    let e = "é".repeat(65);
    let xe = format!("x{e}");
    for args in [
        vec![&b"FOO"[..], b"\xff\x00bar"],
        vec![b"FOO", b"a\x00b"],
        vec![b"FOO", xe.as_bytes()],
        vec![e.as_bytes()],
        vec![xe.as_bytes()],
        vec![b"\xfe\xff", b"\x80"],
    ] {
        same_as_redis(&d, &mb(&args));
    }
}

// ---------------------------------------------------------------- RESP3

#[test]
fn resp3_reply_types_after_hello_3() {
    let mut d = Diff::new();
    let (f, r) = d.both(&["HELLO", "3"]);
    assert!(matches!(f, Resp::Map(_)) && matches!(r, Resp::Map(_)), "HELLO 3 is a map: {f:?}");
    d.check_script(
        "SET a 1\n\
         GET missing\n\
         GET a\n\
         MGET a missing a\n\
         SET n 5 GET\n\
         SET fresh v GET\n\
         GETDEL missing\n\
         INCRBYFLOAT fl 1.5\n\
         INCRBYFLOAT fl 0.1\n\
         EXISTS a missing\n\
         TTL a\n\
         TYPE a\n\
         OBJECT ENCODING a\n\
         OBJECT ENCODING missing\n\
         CONFIG GET maxmemory\n\
         CONFIG GET nosuchparam\n\
         CLIENT TRACKINGINFO\n\
         CLIENT GETNAME\n\
         COMMAND INFO get nosuchcommand\n\
         COMMAND GETKEYSANDFLAGS set k v\n\
         LATENCY LATEST\n\
         DBSIZE\n\
         INCR fl\n\
         ECHO done",
    );
    d.check_unordered(&["KEYS", "*"]);
    // Aggregates of the other types: a hash is a map in RESP3.
    d.check_script("HSET h f1 v1 f2 v2\nHGETALL h\nHGETALL missing\nRPUSH l a b\nLRANGE l 0 -1\nLPOP missing");
    assert!(matches!(d.f.cmd(&["HGETALL", "h"]), Resp::Map(_)));
    // Doubles, from sorted sets.
    d.check_script("ZADD z 1.5 m 2 n\nZSCORE z m\nZSCORE z n\nZSCORE z missing\nZINCRBY z 0.25 m\nZADD z INCR 1 n");
    assert_eq!(d.f.cmd(&["ZSCORE", "z", "m"]), Resp::Double("1.75".into()));
    assert_eq!(d.f.cmd(&["ZSCORE", "z", "missing"]), Resp::Null);
    // Several parameters: Redis's order follows its internal dict, so compare as a set of pairs.
    let sorted_map = |r: Resp| match r {
        Resp::Map(mut m) => {
            m.sort_by_key(|(k, _)| k.text());
            Resp::Map(m)
        }
        other => other,
    };
    d.check_with(&[b"CONFIG", b"GET", b"maxmemory-policy", b"appendonly"], sorted_map);
    // Exact RESP3 shapes (not only equal to Redis).
    assert_eq!(d.f.cmd(&["GET", "missing"]), Resp::Null);
    assert_eq!(d.f.cmd(&["MGET", "missing"]), Resp::arr(vec![Resp::Null]));
    assert!(matches!(d.f.cmd(&["CONFIG", "GET", "maxmemory"]), Resp::Map(_)));
    // INFO and CLIENT INFO are verbatim strings of type txt.
    for cmd in [&["INFO", "server"][..], &["CLIENT", "INFO"]] {
        for (name, reply) in [("ferrokv", d.f.cmd(cmd)), ("redis", d.r.cmd(cmd))] {
            match reply {
                Resp::Verbatim(t, _) => assert_eq!(t, "txt", "{name} {cmd:?}"),
                other => panic!("{name} {cmd:?}: expected a verbatim string, got {other:?}"),
            }
        }
    }
    // Back to RESP2 with HELLO 2 and with RESET.
    d.both(&["HELLO", "2"]);
    d.check_script("GET missing\nCONFIG GET maxmemory\nMGET missing");
    d.both(&["HELLO", "3"]);
    d.check(&["RESET"]);
    d.check_script("GET missing\nCONFIG GET maxmemory");
}

#[test]
fn resp3_raw_bytes_match_redis() {
    // Compares the wire bytes, so a map written as an array of pairs (or a null
    // written as $-1) is caught even where the parsed values would look alike.
    let d = diff_with(&[]);
    let mut req = Vec::new();
    for args in [
        &[&b"GET"[..], b"missing"][..],
        &[b"MGET", b"a", b"missing"],
        &[b"SET", b"a", b"1"],
        &[b"SET", b"a", b"2", b"GET"],
        &[b"CONFIG", b"GET", b"maxmemory"],
        &[b"CLIENT", b"TRACKINGINFO"],
        &[b"COMMAND", b"INFO", b"get"],
        &[b"INCRBYFLOAT", b"f", b"2.5"],
        &[b"OBJECT", b"ENCODING", b"nope"],
        &[b"PING"],
        &[b"NOSUCH"],
    ] {
        req.extend(mb(args));
    }
    let mut with_hello = mb(&[b"HELLO", b"3"]);
    with_hello.extend(&req);
    let (f, _) = exchange(d.ferrokv.port, &with_hello, Duration::from_millis(300));
    let (r, _) = exchange(d.redis.port, &with_hello, Duration::from_millis(300));
    let tail = |b: &[u8]| -> Vec<u8> {
        // HELLO's map ends with the "modules" entry: an empty array.
        let marker = b"$7\r\nmodules\r\n*0\r\n";
        let p = b.windows(marker.len()).position(|w| w == marker).expect("HELLO reply");
        b[p + marker.len()..].to_vec()
    };
    assert_eq!(show(&tail(&f)), show(&tail(&r)));
}

// ---------------------------------------------------------------- clients that vanish

#[test]
fn client_disconnecting_mid_request_does_not_disturb_others() {
    let s = Server::ferrokv();
    let mut other = s.conn();
    assert_eq!(other.cmd(&["SET", "k", "before"]), Resp::ok());
    // A: half a command, then gone.
    let mut a = raw_connect(s.port);
    a.write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nhal").unwrap();
    // B: half of a 20 MB bulk, then gone.
    let mut b = raw_connect(s.port);
    b.write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$20000000\r\n").unwrap();
    b.write_all(&vec![b'b'; 10_000_000]).unwrap();
    // C: a pipeline whose replies it never reads.
    let mut c = raw_connect(s.port);
    assert_eq!(other.cmd_b(&[b"SET", b"big", &vec![b'x'; 100_000]]), Resp::ok());
    let mut req = Vec::new();
    for _ in 0..200 {
        req.extend(mb(&[b"GET", b"big"]));
    }
    c.write_all(&req).unwrap();
    // D: a half-written inline command.
    let mut d = raw_connect(s.port);
    d.write_all(b"SET k inline-half").unwrap();
    // While they hang there, the other client is served normally.
    assert_eq!(other.cmd(&["GET", "k"]), Resp::bulk("before"));
    assert_eq!(other.cmd(&["INCR", "n"]), Resp::int(1));
    for conn in [&a, &b, &c, &d] {
        conn.shutdown(Shutdown::Both).ok();
    }
    drop((a, b, c, d));
    // Nothing half-received was executed.
    assert_eq!(other.cmd(&["GET", "k"]), Resp::bulk("before"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let list = other.cmd(&["CLIENT", "LIST"]).text();
        if list.lines().count() == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "vanished clients still listed:\n{list}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let info = other.cmd(&["INFO", "clients"]).text();
    assert!(info.contains("connected_clients:1\r\n"), "{info}");
    assert_eq!(other.cmd(&["INCR", "n"]), Resp::int(2));
    // New clients are served too.
    let mut fresh = s.conn();
    assert_eq!(fresh.cmd(&["GET", "n"]), Resp::bulk("2"));
}

#[test]
fn partial_request_completes_while_others_run() {
    let s = Server::ferrokv();
    let mut slow = raw_connect(s.port);
    let mut fast = s.conn();
    slow.write_all(b"*2\r\n$4\r\nINCR\r\n$3\r").unwrap();
    for _ in 0..100 {
        assert!(!fast.cmd(&["INCR", "cnt"]).is_error());
    }
    slow.write_all(b"\ncnt\r\n").unwrap();
    let mut got = [0u8; 6];
    slow.read_exact(&mut got).unwrap();
    assert_eq!(&got, b":101\r\n");
}
