//! Connection commands (PING, ECHO, QUIT, RESET, AUTH, HELLO, CLIENT *):
//! compared with real Redis where replies are deterministic, checked exactly
//! otherwise (CLIENT LIST fields, KILL, REPLY modes, PAUSE).

mod common;
use common::*;
use std::time::{Duration, Instant};

/// HELLO's reply with the connection id replaced (it differs between servers).
fn norm_hello(r: Resp) -> Resp {
    let fix = |k: &Resp, v: &Resp| -> Resp {
        if k.text() == "id" && matches!(v, Resp::Int(_)) {
            Resp::Int(0)
        } else {
            v.clone()
        }
    };
    match r {
        Resp::Map(m) => Resp::Map(m.iter().map(|(k, v)| (k.clone(), fix(k, v))).collect()),
        Resp::Array(Some(v)) => {
            let mut out = v.clone();
            for i in (0..v.len().saturating_sub(1)).step_by(2) {
                out[i + 1] = fix(&v[i], &v[i + 1]);
            }
            Resp::Array(Some(out))
        }
        other => other,
    }
}

fn check_hello(d: &mut Diff, line: &str) -> Resp {
    let args = split(line);
    let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
    d.check_with(&refs, norm_hello)
}

#[test]
fn ping_echo_errors() {
    let mut d = Diff::new();
    d.check_script(
        "PING\nPING hello\nPING a b\nECHO\nECHO hi\nECHO a b\nECHO \"\"\nping \"with space\"\n\
         PING \"\"\nQUIT extra",
    );
}

#[test]
fn ping_in_resp3() {
    let mut d = Diff::new();
    check_hello(&mut d, "HELLO 3");
    d.check_script("PING\nPING x\nECHO y\nCLIENT GETNAME\nCLIENT TRACKINGINFO\nCLIENT GETREDIR");
}

#[test]
fn quit_replies_ok_and_closes() {
    let s = Server::ferrokv();
    let mut c = s.conn();
    assert_eq!(c.cmd(&["QUIT"]), Resp::ok());
    assert!(c.is_closed());
}

#[test]
fn hello_shapes_and_errors() {
    let mut d = Diff::new();
    for line in [
        "HELLO",
        "HELLO 2",
        "HELLO 3",
        "HELLO 2",
        "HELLO 1",
        "HELLO 4",
        "HELLO abc",
        "HELLO 2.0",
        "HELLO 3 FOO",
        "HELLO 3 SETNAME",
        "HELLO 3 AUTH default",
        "HELLO 3 SETNAME myname",
        "HELLO 3 AUTH default anything SETNAME other",
        "HELLO 2 SETNAME \"bad name\"",
        "HELLO 3 AUTH nouser pass",
    ] {
        check_hello(&mut d, line);
    }
    d.check_script("CLIENT GETNAME");
}

#[test]
fn hello_resp3_switches_reply_types() {
    let s = Server::ferrokv();
    let mut c = s.conn();
    let r = c.cmd(&["HELLO", "3"]);
    let Resp::Map(m) = r else { panic!("HELLO 3 must reply with a map, got {r:?}") };
    let keys: Vec<String> = m.iter().map(|(k, _)| k.text()).collect();
    assert_eq!(keys, ["server", "version", "proto", "id", "mode", "role", "modules"]);
    assert_eq!(m[2].1, Resp::Int(3));
    let id = c.cmd(&["CLIENT", "ID"]).as_int();
    assert_eq!(m[3].1, Resp::Int(id));
    assert_eq!(c.cmd(&["CLIENT", "GETNAME"]), Resp::Null);
    assert!(matches!(c.cmd(&["CLIENT", "INFO"]), Resp::Verbatim(t, _) if t == "txt"));
    let r = c.cmd(&["HELLO", "2"]);
    assert!(matches!(r, Resp::Array(Some(ref v)) if v.len() == 14), "{r:?}");
    assert_eq!(c.cmd(&["CLIENT", "GETNAME"]), Resp::nil());
}

#[test]
fn auth_without_password() {
    let mut d = Diff::new();
    d.check_script("AUTH x\nAUTH default x\nAUTH nouser x\nAUTH a b c\nAUTH\nPING");
}

#[test]
fn auth_with_requirepass() {
    let mut d = Diff::with(&["--requirepass", "s3cret"]);
    d.check_script("PING\nGET a\nCLIENT ID\nAUTH wrong\nAUTH default wrong\nAUTH other s3cret\nPING\nECHO x");
    check_hello(&mut d, "HELLO 3");
    check_hello(&mut d, "HELLO");
    check_hello(&mut d, "HELLO 3 AUTH default wrong");
    check_hello(&mut d, "HELLO 3 AUTH default s3cret SETNAME me");
    d.check_script(
        "CLIENT GETNAME\nPING\nRESET\nPING\nCLIENT GETNAME\nAUTH s3cret\nPING\nAUTH default s3cret\nSET k v\nGET k",
    );
    // A failed AUTH does not log an authenticated client out.
    d.check_script("AUTH bad\nGET k");
}

#[test]
fn reset_restores_connection_state() {
    let mut d = Diff::new();
    check_hello(&mut d, "HELLO 3 SETNAME n1");
    d.check_script("SELECT 3\nSET k v\nRESET\nGET k\nCLIENT GETNAME\nPING");
    // Back to RESP2: a null bulk is $-1 again.
    d.check_script("GET nokey\nRESET x");
    // RESET turns replies back on (and its own reply is sent).
    for c in [&mut d.f, &mut d.r] {
        c.send(&[b"CLIENT", b"REPLY", b"OFF"]);
        c.send(&[b"PING"]);
    }
    d.check_script("RESET\nPING");
}

#[test]
fn client_setname_getname() {
    let mut d = Diff::new();
    d.check_script(
        "CLIENT GETNAME\nCLIENT SETNAME myconn\nCLIENT GETNAME\nCLIENT SETNAME \"a b\"\nCLIENT SETNAME \"a\\nb\"\n\
         CLIENT SETNAME \"\\xc3\\xa9\"\nCLIENT GETNAME\nCLIENT SETNAME \"\"\nCLIENT GETNAME\nCLIENT SETNAME\n\
         CLIENT SETNAME a b\nCLIENT GETNAME x\nCLIENT SETNAME ~!@#$%^&*()\nCLIENT GETNAME",
    );
}

#[test]
fn client_subcommand_errors() {
    let mut d = Diff::new();
    d.check_script(
        "CLIENT\nCLIENT FOO\nCLIENT ID x\nCLIENT INFO x\nCLIENT LIST TYPE\nCLIENT LIST TYPE foo\nCLIENT LIST foo\n\
         CLIENT LIST ID abc\nCLIENT LIST ID 1 abc\nCLIENT LIST ID 999999\nCLIENT LIST TYPE master\nCLIENT LIST TYPE replica\n\
         CLIENT LIST TYPE slave\nCLIENT LIST TYPE pubsub\n\
         CLIENT KILL\nCLIENT KILL 1.2.3.4:5\nCLIENT KILL ID 0\nCLIENT KILL ID -1\nCLIENT KILL ID abc\nCLIENT KILL TYPE foo\n\
         CLIENT KILL USER bob\nCLIENT KILL SKIPME maybe\nCLIENT KILL FOO bar\nCLIENT KILL ID 1 TYPE\n\
         CLIENT KILL ID 999999\nCLIENT KILL ADDR 1.2.3.4:5 LADDR x\nCLIENT KILL USER default SKIPME yes TYPE master\n\
         CLIENT PAUSE\nCLIENT PAUSE abc\nCLIENT PAUSE -1\nCLIENT PAUSE 10 foo\nCLIENT PAUSE 10 write extra\n\
         CLIENT PAUSE 1.5\nCLIENT UNPAUSE x\nCLIENT UNPAUSE\n\
         CLIENT REPLY\nCLIENT REPLY foo\nCLIENT REPLY on x\nCLIENT REPLY ON\n\
         CLIENT NO-EVICT\nCLIENT NO-EVICT maybe\nCLIENT NO-EVICT on\nCLIENT NO-EVICT OFF\n\
         CLIENT GETREDIR\nCLIENT GETREDIR x\nCLIENT TRACKINGINFO\nCLIENT HELP\nCLIENT HELP x\nclient help",
    );
}

#[test]
fn client_help_in_resp3() {
    let mut d = Diff::new();
    check_hello(&mut d, "HELLO 3");
    d.check_script("CLIENT HELP\nCLIENT TRACKINGINFO\nCLIENT KILL ID 99999");
}

/// Parses `k=v k=v` into pairs, in order.
fn fields(line: &str) -> Vec<(String, String)> {
    line.split(' ')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn field(line: &str, name: &str) -> String {
    fields(line).into_iter().find(|(k, _)| k == name).map(|(_, v)| v).unwrap_or_else(|| panic!("no {name} in {line}"))
}

#[test]
fn client_list_and_info_fields() {
    let s = Server::ferrokv();
    let r = Server::redis();
    let mut c = s.conn();
    let mut rc = r.conn();
    c.cmd(&["CLIENT", "SETNAME", "first"]);
    rc.cmd(&["CLIENT", "SETNAME", "first"]);
    let mut c2 = s.conn();
    c2.cmd(&["SELECT", "2"]);
    let info = c.cmd(&["CLIENT", "INFO"]).text();
    let rinfo = rc.cmd(&["CLIENT", "INFO"]).text();
    assert!(info.ends_with('\n') && !info.ends_with("\n\n"), "{info:?}");
    let names: Vec<String> = fields(info.trim_end()).into_iter().map(|(k, _)| k).collect();
    let rnames: Vec<String> = fields(rinfo.trim_end()).into_iter().map(|(k, _)| k).collect();
    assert_eq!(names, rnames, "CLIENT INFO fields differ from Redis's");
    let id = c.cmd(&["CLIENT", "ID"]).as_int();
    let line = info.trim_end();
    assert_eq!(field(line, "id"), id.to_string());
    assert_eq!(field(line, "name"), "first");
    assert_eq!(field(line, "flags"), "N");
    assert_eq!(field(line, "db"), "0");
    assert_eq!(field(line, "cmd"), "client|info");
    assert_eq!(field(line, "user"), "default");
    assert_eq!(field(line, "resp"), "2");
    assert_eq!(field(line, "multi"), "-1");
    assert!(field(line, "addr").starts_with("127.0.0.1:"));
    assert_eq!(field(line, "laddr"), format!("127.0.0.1:{}", s.port));

    let list = c.cmd(&["CLIENT", "LIST"]).text();
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list}");
    assert!(list.ends_with('\n'));
    let ids: Vec<i64> = lines.iter().map(|l| field(l, "id").parse().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "clients listed in connection order");
    let other = lines.iter().find(|l| field(l, "id") != id.to_string()).unwrap();
    assert_eq!(field(other, "db"), "2");
    assert_eq!(field(other, "cmd"), "select");
    assert_eq!(field(other, "name"), "");
    let me = lines.iter().find(|l| field(l, "id") == id.to_string()).unwrap();
    assert_eq!(field(me, "cmd"), "client|list");

    let by_id = c.cmd(&["CLIENT", "LIST", "ID", &id.to_string(), "999999"]).text();
    assert_eq!(by_id.lines().count(), 1);
    assert_eq!(field(by_id.trim_end(), "id"), id.to_string());
    let normal = c.cmd(&["CLIENT", "LIST", "TYPE", "normal"]).text();
    assert_eq!(normal.lines().count(), 2);
    assert_eq!(c.cmd(&["CLIENT", "LIST", "TYPE", "pubsub"]).text(), "");
    c.cmd(&["CLIENT", "NO-EVICT", "on"]);
    let info = c.cmd(&["CLIENT", "INFO"]).text();
    assert_eq!(field(info.trim_end(), "flags"), "e");
}

#[test]
fn client_ids_increase() {
    let s = Server::ferrokv();
    let a = s.conn().cmd(&["CLIENT", "ID"]).as_int();
    let b = s.conn().cmd(&["CLIENT", "ID"]).as_int();
    assert!(b > a);
}

#[test]
fn client_kill_closes_the_target() {
    let s = Server::ferrokv();
    let mut a = s.conn();
    let mut b = s.conn();
    let bid = b.cmd(&["CLIENT", "ID"]).as_int();
    let binfo = b.cmd(&["CLIENT", "INFO"]).text();
    let baddr = field(binfo.trim_end(), "addr");
    assert_eq!(a.cmd(&["CLIENT", "KILL", "ID", &bid.to_string()]), Resp::Int(1));
    assert!(b.is_closed());
    let list = a.cmd(&["CLIENT", "LIST"]).text();
    assert!(!list.contains(&format!("id={bid} ")), "{list}");
    assert_eq!(a.cmd(&["CLIENT", "KILL", &baddr]), Resp::err("ERR No such client"));

    // Old form by address.
    let mut c = s.conn();
    let cinfo = c.cmd(&["CLIENT", "INFO"]).text();
    let caddr = field(cinfo.trim_end(), "addr");
    assert_eq!(a.cmd(&["CLIENT", "KILL", &caddr]), Resp::ok());
    assert!(c.is_closed());

    // New form skips the caller by default; SKIPME no kills it after the reply.
    let mut d = s.conn();
    let _ = d.cmd(&["PING"]);
    assert_eq!(a.cmd(&["CLIENT", "KILL", "TYPE", "normal"]), Resp::Int(1));
    assert!(d.is_closed());
    let ainfo = a.cmd(&["CLIENT", "INFO"]).text();
    let aaddr = field(ainfo.trim_end(), "addr");
    assert_eq!(a.cmd(&["CLIENT", "KILL", "ADDR", &aaddr, "SKIPME", "no"]), Resp::Int(1));
    assert!(a.is_closed());

    // Killing yourself with the old form replies OK, then closes.
    let mut e = s.conn();
    let einfo = e.cmd(&["CLIENT", "INFO"]).text();
    let eaddr = field(einfo.trim_end(), "addr");
    assert_eq!(e.cmd(&["CLIENT", "KILL", &eaddr]), Resp::ok());
    assert!(e.is_closed());

    // USER and LADDR filters.
    let mut f = s.conn();
    let mut g = s.conn();
    let _ = g.cmd(&["PING"]);
    let laddr = format!("127.0.0.1:{}", s.port);
    assert_eq!(f.cmd(&["CLIENT", "KILL", "USER", "default", "LADDR", &laddr]), Resp::Int(1));
    assert!(g.is_closed());
    assert_eq!(f.cmd(&["PING"]), Resp::simple("PONG"));
}

#[test]
fn client_reply_off_and_skip() {
    let s = Server::ferrokv();
    let mut c = s.conn();
    c.send(&[b"CLIENT", b"REPLY", b"OFF"]);
    c.send(&[b"SET", b"a", b"1"]);
    c.send(&[b"GET", b"a"]);
    c.send(&[b"CLIENT", b"REPLY", b"SKIP"]);
    c.send(&[b"PING", b"still-off"]);
    assert_eq!(c.cmd(&["CLIENT", "REPLY", "ON"]), Resp::ok());
    assert_eq!(c.cmd(&["GET", "a"]), Resp::bulk("1"));
    c.send(&[b"CLIENT", b"REPLY", b"SKIP"]);
    c.send(&[b"PING", b"skipped"]);
    assert_eq!(c.cmd(&["PING", "shown"]), Resp::bulk("shown"));
    // Errors are silenced too.
    c.send(&[b"CLIENT", b"REPLY", b"OFF"]);
    c.send(&[b"NOSUCHCOMMAND"]);
    c.send(&[b"CLIENT", b"REPLY", b"BAD"]);
    assert_eq!(c.cmd(&["CLIENT", "REPLY", "ON"]), Resp::ok());
    assert_eq!(c.cmd(&["PING"]), Resp::simple("PONG"));
}

#[test]
fn client_reply_matches_redis() {
    let mut d = Diff::new();
    for c in [&mut d.f, &mut d.r] {
        c.send(&[b"CLIENT", b"REPLY", b"SKIP"]);
        c.send(&[b"SET", b"x", b"1"]);
        c.send(&[b"CLIENT", b"REPLY", b"OFF"]);
        c.send(&[b"INCR", b"x"]);
    }
    d.check_script("CLIENT REPLY ON\nGET x");
}

#[test]
fn client_pause_write_blocks_writes_only() {
    let s = Server::ferrokv();
    let mut a = s.conn();
    let mut b = s.conn();
    assert_eq!(a.cmd(&["CLIENT", "PAUSE", "400", "WRITE"]), Resp::ok());
    let t = Instant::now();
    assert_eq!(b.cmd(&["GET", "k"]), Resp::nil());
    assert!(t.elapsed() < Duration::from_millis(300), "reads go on during a WRITE pause");
    let t = Instant::now();
    assert_eq!(b.cmd(&["SET", "k", "v"]), Resp::ok());
    assert!(t.elapsed() >= Duration::from_millis(250), "writes wait for the pause to end");
    assert_eq!(a.cmd(&["CLIENT", "PAUSE", "5000", "WRITE"]), Resp::ok());
    b.send(&[b"SET", b"k", b"v2"]);
    std::thread::sleep(Duration::from_millis(100));
    let t = Instant::now();
    assert_eq!(a.cmd(&["CLIENT", "UNPAUSE"]), Resp::ok());
    assert_eq!(b.read(), Resp::ok());
    assert!(t.elapsed() < Duration::from_secs(2));
    assert_eq!(a.cmd(&["GET", "k"]), Resp::bulk("v2"));
}

/// A WRITE pause also holds the commands Redis flags may-replicate, and
/// scripts by what their shebang declares (a `no-writes` one runs).
#[test]
fn client_pause_write_holds_may_replicate_commands() {
    both_servers(|s| {
        let mut a = s.conn();
        let mut b = s.conn();
        let mut held = Vec::new();
        for cmd in [
            &["PUBLISH", "ch", "m"][..],
            &["PFCOUNT", "h"],
            &["EVAL", "return 1", "0"],
            &["EVAL", "#!lua flags=no-writes\nreturn 2", "0"],
            &["EVAL", "#!lua\nreturn 3", "0"],
            &["GET", "k"],
        ] {
            assert_eq!(a.cmd(&["CLIENT", "PAUSE", "400", "WRITE"]), Resp::ok());
            let t = Instant::now();
            let r = b.cmd(cmd);
            held.push((r, t.elapsed() >= Duration::from_millis(250)));
            a.cmd(&["CLIENT", "UNPAUSE"]);
        }
        held
    });
}

/// CPU time (user + system, in clock ticks) the process has used so far.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("process stat");
    // Fields after the command name (which ends with the last ')'): utime and
    // stime are the 12th and 13th.
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

#[test]
fn an_idle_server_stops_watching_for_work() {
    // Under load a worker polls a little before it sleeps; once the load
    // stops it must sleep, not go on polling.
    let s = Server::ferrokv();
    let clients: Vec<std::thread::JoinHandle<()>> = (0..8)
        .map(|_| {
            let mut c = s.conn();
            std::thread::spawn(move || {
                for _ in 0..3000 {
                    assert_eq!(c.cmd(&["PING"]), Resp::simple("PONG"));
                }
            })
        })
        .collect();
    for t in clients {
        t.join().unwrap();
    }
    std::thread::sleep(Duration::from_millis(200));
    let before = cpu_ticks(s.child.id());
    std::thread::sleep(Duration::from_secs(2));
    let used = cpu_ticks(s.child.id()) - before;
    // The cron alone takes well under a tick a second; a worker that kept
    // polling would take about 200.
    assert!(used < 20, "idle server used {used} ticks of CPU in 2 s");
}
