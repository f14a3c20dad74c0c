//! Checks that the harness itself tells different replies apart, so that a
//! differential test cannot pass by accident.

mod common;
use common::*;

#[test]
fn diff_detects_a_difference() {
    let mut d = Diff::new();
    d.check(&["SET", "k", "v"]);
    d.f.cmd(&["SET", "k", "other"]);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        d.check(&["GET", "k"]);
    }));
    assert!(r.is_err(), "a differing reply must fail the check");
}

#[test]
fn protocol_errors_match_redis() {
    for bad in [&b"*x\r\n"[..], b"*1\r\n:3\r\n", b"*1\r\n$-5\r\n", b"\"unbalanced\r\n"] {
        let mut replies = Vec::new();
        for s in [Server::ferrokv(), Server::redis()] {
            let mut c = s.conn();
            c.send_raw(bad);
            let r = c.read();
            assert!(c.is_closed(), "{} keeps the connection after a protocol error", s.name);
            replies.push(r);
        }
        assert_eq!(replies[0], replies[1], "for {:?}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn inline_commands_and_deep_pipelines() {
    let mut d = Diff::new();
    for c in [&mut d.f, &mut d.r] {
        c.send_raw(b"SET a \"x y\"\r\nGET a\r\n\r\nPING\r\n");
        assert_eq!(c.read(), Resp::ok());
        assert_eq!(c.read(), Resp::bulk("x y"));
        assert_eq!(c.read(), Resp::simple("PONG"));
        let mut pipe = Vec::new();
        for i in 0..2000 {
            pipe.extend(Conn::encode(&[b"INCR", b"n"]));
            let _ = i;
        }
        c.send_raw(&pipe);
        for i in 0..2000 {
            assert_eq!(c.read(), Resp::int(i + 1));
        }
    }
    d.check(&["GET", "n"]);
}

#[test]
fn unknown_command_and_arity() {
    let mut d = Diff::new();
    d.check(&["NOSUCHCMD", "a", "b"]);
    d.check(&["nosuchcmd"]);
    d.check(&["GET"]);
    d.check(&["get", "a", "b"]);
    let long = "x".repeat(300);
    d.check(&["NOSUCH", &long, "b"]);
}
