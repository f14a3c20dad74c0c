//! Pub/Sub, differential against real Redis: subscription confirmations and
//! counts, the RESP2 subscribed mode, RESP3 push frames (and a client's own
//! messages before its PUBLISH reply), delivery across clients for channels,
//! patterns and shard channels, PUBSUB introspection, INFO and CLIENT LIST,
//! cleanup on disconnect and RESET; and the output limit that disconnects a
//! subscriber that does not read.

mod common;

use common::*;
use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Sends `script` (inline commands) on a fresh connection and returns all it got back.
fn transcript(port: u16, script: &str) -> Vec<u8> {
    let mut s = raw_connect(port);
    s.write_all(script.as_bytes()).unwrap();
    read_until_quiet(&mut s, Duration::from_millis(400)).0
}

/// Replaces the HELLO reply's client id (the only reply that differs by nature).
fn without_ids(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b).into_owned();
    match s.find("$2\r\nid\r\n:") {
        Some(i) => {
            let start = i + "$2\r\nid\r\n:".len();
            let end = start + s[start..].find("\r\n").unwrap_or(0);
            format!("{}ID{}", &s[..start], &s[end..])
        }
        None => s,
    }
}

fn same_transcript(d: &Diff, script: &str) {
    let f = without_ids(&transcript(d.ferrokv.port, script));
    let r = without_ids(&transcript(d.redis.port, script));
    assert_eq!(f, r, "transcripts differ for {script:?}");
}

#[test]
fn subscribed_mode_and_confirmations() {
    let d = Diff::new();
    same_transcript(
        &d,
        "SUBSCRIBE a b\r\nGET x\r\nPING\r\nPING hi\r\nUNSUBSCRIBE b\r\nUNSUBSCRIBE\r\nUNSUBSCRIBE\r\n\
         PSUBSCRIBE p*\r\nPUNSUBSCRIBE x\r\nPUNSUBSCRIBE\r\nPUNSUBSCRIBE\r\n\
         SSUBSCRIBE s\r\nSUBSCRIBE c\r\nSUNSUBSCRIBE\r\nSUNSUBSCRIBE\r\nCLIENT INFO\r\nSET k v\r\nQUIT\r\n",
    );
    // Subscribing twice keeps one subscription; counts mix channels and patterns.
    same_transcript(
        &d,
        "SUBSCRIBE a\r\nSUBSCRIBE a\r\nPSUBSCRIBE a\r\nSSUBSCRIBE a\r\nSSUBSCRIBE a\r\nPUNSUBSCRIBE a\r\n",
    );
    // RESET leaves subscribed mode.
    same_transcript(&d, "SUBSCRIBE a\r\nRESET\r\nGET x\r\nPING\r\n");
}

#[test]
fn resp3_push_frames_and_own_messages() {
    let d = Diff::new();
    same_transcript(
        &d,
        "HELLO 3\r\nSUBSCRIBE a\r\nGET x\r\nSET x 1\r\nGET x\r\nPING\r\nPUBLISH a hello\r\nPSUBSCRIBE *\r\n\
         PUBLISH a x\r\nPUBLISH zz y\r\nSSUBSCRIBE s\r\nSPUBLISH s m\r\nUNSUBSCRIBE\r\nPUNSUBSCRIBE\r\nSUNSUBSCRIBE\r\n\
         UNSUBSCRIBE\r\n",
    );
}

/// A subscriber on channels, a pattern and a shard channel; another client
/// publishes and inspects. Returns everything both saw.
fn delivery(port: u16) -> (String, Vec<Resp>) {
    let mut sub = raw_connect(port);
    sub.write_all(b"SUBSCRIBE news sports\r\nPSUBSCRIBE n* s*\r\nSSUBSCRIBE shard1\r\n").unwrap();
    let _ = read_until_quiet(&mut sub, Duration::from_millis(200));
    let mut p = Conn::connect(port);
    let mut seen = Vec::new();
    for cmd in [
        &["PUBLISH", "news", "m1"][..],
        &["PUBLISH", "sports", "m2"],
        &["PUBLISH", "nothing", "m3"],
        &["PUBLISH", "other", "m4"],
        &["SPUBLISH", "shard1", "m5"],
        &["SPUBLISH", "news", "m6"],
        &["PUBLISH", "shard1", "m7"],
        &["PUBSUB", "NUMSUB", "news", "sports", "nope"],
        &["PUBSUB", "NUMSUB"],
        &["PUBSUB", "NUMPAT"],
        &["PUBSUB", "SHARDNUMSUB", "shard1", "news"],
        &["PUBSUB", "CHANNELS", "n*"],
        &["PUBSUB", "SHARDCHANNELS"],
        &["PUBSUB", "SHARDCHANNELS", "x*"],
        &["PUBSUB", "HELP"],
        &["PUBSUB", "NOPE"],
        &["PUBLISH", "a"],
    ] {
        seen.push(p.cmd(cmd));
    }
    seen.push(p.cmd(&["PUBSUB", "CHANNELS"]).sorted());
    let info = p.cmd(&["INFO", "stats"]).text();
    for l in info.lines().filter(|l| l.starts_with("pubsub")) {
        seen.push(Resp::bulk(l));
    }
    let list = p.cmd(&["CLIENT", "LIST"]).text();
    for l in list.lines().filter(|l| l.contains("flags=P")) {
        let keep: Vec<&str> = l.split(' ').filter(|f| f.starts_with("sub=") || f.contains("psub=")).collect();
        seen.push(Resp::bulk(&keep.join(" ")));
    }
    let got = read_until_quiet(&mut sub, Duration::from_millis(300)).0;
    // The subscriber leaves: every registry entry goes with it.
    drop(sub);
    std::thread::sleep(Duration::from_millis(200));
    seen.push(p.cmd(&["PUBSUB", "NUMSUB", "news"]));
    seen.push(p.cmd(&["PUBSUB", "NUMPAT"]));
    seen.push(p.cmd(&["PUBLISH", "news", "x"]));
    (String::from_utf8_lossy(&got).into_owned(), seen)
}

#[test]
fn delivery_across_clients() {
    let d = Diff::new();
    let (fg, fs) = delivery(d.ferrokv.port);
    let (rg, rs) = delivery(d.redis.port);
    assert_eq!(fs, rs);
    assert_eq!(fg, rg);
    assert!(fg.contains("pmessage"), "{fg}");
}

#[test]
fn errors_and_arity() {
    let mut d = Diff::new();
    d.check_script(
        "SUBSCRIBE\nPSUBSCRIBE\nSSUBSCRIBE\nPUBLISH a\nSPUBLISH a\nPUBLISH a b c\nPUBSUB\nPUBSUB NUMPAT x\n\
         PUBSUB CHANNELS a b\nPUBSUB SHARDCHANNELS a b\nPUBLISH nobody hears\nPUBSUB NUMSUB a a\n",
    );
}

/// Reads until `want` has been seen (or the timeout).
fn read_for(s: &mut TcpStream, want: &str) -> String {
    let (b, _) = read_until_quiet(s, Duration::from_millis(500));
    let t = String::from_utf8_lossy(&b).into_owned();
    assert!(t.contains(want), "wanted {want:?} in {t:?}");
    t
}

#[test]
fn slow_subscriber_is_disconnected_and_memory_stays_bounded() {
    let srv = Server::ferrokv_with(&["--client-output-buffer-limit", "pubsub 2mb 1mb 60"]);
    let mut lazy = raw_connect(srv.port);
    lazy.write_all(b"SUBSCRIBE feed\r\n").unwrap();
    read_for(&mut lazy, "subscribe");
    // A fast subscriber keeps receiving throughout.
    let mut fast = raw_connect(srv.port);
    fast.write_all(b"SUBSCRIBE feed\r\n").unwrap();
    read_for(&mut fast, "subscribe");
    let received = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = received.clone();
    let reader = std::thread::spawn(move || {
        let mut total = 0usize;
        let mut buf = vec![0u8; 1 << 16];
        fast.set_read_timeout(Some(Duration::from_secs(3))).ok();
        while let Ok(n) = std::io::Read::read(&mut fast, &mut buf) {
            if n == 0 {
                break;
            }
            total += n;
            counted.store(total, std::sync::atomic::Ordering::SeqCst);
        }
        total
    });
    let mut p = srv.conn();
    let payload = "x".repeat(64 * 1024);
    let frame = format!("*3\r\n$7\r\nmessage\r\n$4\r\nfeed\r\n${}\r\n{payload}\r\n", payload.len());
    let mut receivers = Vec::new();
    for i in 0..400 {
        // The reader keeps within 512 KB of what was published, however busy
        // the machine (its limit is 1 MB soft, 2 MB hard); the lazy one reads nothing.
        let deadline = Instant::now() + Duration::from_secs(5);
        while i * frame.len() > received.load(std::sync::atomic::Ordering::SeqCst) + (512 << 10)
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        receivers.push(p.cmd(&["PUBLISH", "feed", &payload]).as_int());
    }
    // 25 MB were published; the lazy subscriber could not take them and was cut off.
    assert_eq!(receivers[0], 2);
    assert_eq!(*receivers.last().unwrap(), 1, "the lazy subscriber must have been disconnected");
    let used: i64 = info_field(&mut p, "memory", "used_memory").parse().unwrap();
    assert!(used < 40 << 20, "used_memory {used} grew with the unread messages");
    assert!(srv.log().contains("scheduled to be closed ASAP for overcoming of output buffer limits"));
    assert_eq!(p.cmd(&["PUBSUB", "NUMSUB", "feed"]), Resp::arr(vec![Resp::bulk("feed"), Resp::int(1)]));
    let got = reader.join().unwrap();
    assert_eq!(got, 400 * frame.len(), "the reading subscriber gets every message, whole");
    // The lazy client's connection is gone.
    let (_, closed) = read_until_quiet(&mut lazy, Duration::from_secs(5));
    assert!(closed);
}

#[test]
fn messages_a_script_publishes_to_its_caller_precede_the_reply() {
    let d = Diff::new();
    same_transcript(
        &d,
        "CONFIG SET notify-keyspace-events KEA\r\nHELLO 3\r\nSUBSCRIBE ch\r\nPSUBSCRIBE __keyspace@0__:*\r\n\
         EVAL \"redis.call('set','k','1'); redis.call('publish','ch','m'); return 5\" 0\r\n\
         MULTI\r\nSET k 2\r\nPUBLISH ch z\r\nEXEC\r\nFCALL nosuch 0\r\nCONFIG SET notify-keyspace-events \"\"\r\n",
    );
}
