//! Lua scripting, differential against real Redis: EVAL/EVALSHA/EVAL_RO and
//! the script cache, Redis's conversions both ways (RESP2 and RESP3 via
//! redis.setresp), error texts with their `script: <sha>, on @user_script:N.`
//! suffix, the sandbox (read-only globals and libraries, missing globals),
//! shebang flags, the bit library; atomicity with blocked clients served after
//! the script; and a long script: BUSY for others, SCRIPT KILL, UNKILLABLE after
//! a write, SHUTDOWN NOSAVE.

mod common;

use common::*;
use std::io::Write;
use std::time::Duration;

#[test]
fn eval_cases_match_redis() {
    Diff::new().check_data_file("lua_cases.txt");
}

#[test]
fn resp3_caller_gets_resp3_shapes() {
    let mut d = Diff::new();
    d.check(&["HELLO", "3"]);
    d.check_script(
        "EVAL \"return {double=1.5}\" 0\n\
         EVAL \"return {map={a=1}}\" 0\n\
         EVAL \"return {set={x=true}}\" 0\n\
         EVAL \"return nil\" 0\n\
         EVAL \"return false\" 0\n\
         EVAL \"redis.setresp(3) return redis.call('hgetall', 'nokey')\" 0\n\
         EVAL \"redis.call('hset','h','f','v') redis.setresp(3) return redis.call('hgetall', 'h')\" 0\n\
         EVAL \"return redis.call('get', 'nokey')\" 0\n",
    );
}

/// A blocked BLPOP is served after the script that pushed, seeing all its pushes.
fn wakeup(port: u16) -> (Resp, Resp, Resp) {
    let mut a = Conn::connect(port);
    a.send(&[b"BLPOP", b"q", b"0"]);
    std::thread::sleep(Duration::from_millis(200));
    let mut b = Conn::connect(port);
    let r =
        b.cmd(&["EVAL", "redis.call('rpush','q','a') redis.call('rpush','q','b') return redis.call('llen','q')", "0"]);
    let got = a.read();
    (r, got, b.cmd(&["LRANGE", "q", "0", "-1"]))
}

#[test]
fn blocked_clients_are_served_after_the_script() {
    let d = Diff::new();
    assert_eq!(wakeup(d.ferrokv.port), wakeup(d.redis.port));
}

/// A long script seen from other clients: BUSY, SCRIPT KILL, UNKILLABLE,
/// SHUTDOWN NOSAVE. Returns every reply, in order.
fn busy(port: u16) -> Vec<String> {
    let mut seen = Vec::new();
    let mut c = Conn::connect(port);
    c.cmd(&["CONFIG", "SET", "busy-reply-threshold", "100"]);
    let mut a = raw_connect(port);
    a.write_all(b"EVAL \"while true do end\" 0\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(400));
    // An established connection and a new one both get BUSY.
    seen.push(c.cmd(&["GET", "x"]).text());
    let mut fresh = Conn::connect(port);
    seen.push(fresh.cmd(&["PING"]).text());
    seen.push(c.cmd(&["SCRIPT", "KILL"]).text());
    seen.push(show(&read_until_quiet(&mut a, Duration::from_millis(500)).0));
    seen.push(c.cmd(&["PING"]).text());
    a.write_all(b"EVAL \"redis.call('set','w','1') while true do end\" 0\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(400));
    seen.push(c.cmd(&["SCRIPT", "KILL"]).text());
    c.send(&[b"SHUTDOWN", b"NOSAVE"]);
    let (_, closed) = read_until_quiet(&mut a, Duration::from_secs(5));
    seen.push(format!("script client closed: {closed}"));
    seen
}

#[test]
fn long_script_busy_kill_and_shutdown() {
    let f = Server::ferrokv();
    let r = Server::redis();
    let fs = busy(f.port);
    let rs = busy(r.port);
    assert_eq!(fs[..6], rs[..6]);
    assert!(fs[0].starts_with("BUSY Redis is busy running a script."), "{fs:?}");
    assert!(fs[5].starts_with("UNKILLABLE"), "{fs:?}");
}

/// Thousands of cached scripts (each kept in the Lua registry, not on mlua's
/// bounded handle stack), and SCRIPT FLUSH giving a fresh interpreter.
#[test]
fn many_scripts_and_flush() {
    let mut d = Diff::new();
    let mut f = raw_connect(d.ferrokv.port);
    let mut batch = Vec::new();
    let mut want = Vec::new();
    for i in 0..10000 {
        let body = format!("return {i}");
        batch.extend_from_slice(&Conn::encode(&[b"SCRIPT", b"LOAD", body.as_bytes()]));
        let sha = sha1_smol::Sha1::from(body.as_bytes()).digest().to_string();
        want.extend_from_slice(format!("$40\r\n{sha}\r\n").as_bytes());
    }
    f.write_all(&batch).unwrap();
    let (got, _) = read_until_quiet(&mut f, Duration::from_millis(1500));
    assert!(got == want, "every SCRIPT LOAD replies with its script's SHA1");
    let last = sha1_smol::Sha1::from(&b"return 9999"[..]).digest().to_string();
    assert_eq!(d.f.cmd(&["EVALSHA", &last, "0"]), Resp::int(9999));
    d.check(&["EVAL", "return 'still fine'", "0"]);
    d.check(&["EVAL", "return cjson.encode_max_depth(5)", "0"]);
    d.check(&["SCRIPT", "FLUSH"]);
    d.check(&["EVAL", "return cjson.encode({{{{{{{1}}}}}}})", "0"]);
}
