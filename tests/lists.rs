//! List commands compared reply by reply with real Redis 7.0: every command,
//! option and error, node layouts forced by small `list-max-listpack-size`
//! values, compressed nodes (`list-compress-depth`) and the memory they save,
//! RESP3 shapes, statistics, and randomized differential runs.

mod common;
use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[test]
fn push_and_len() {
    let mut d = Diff::new();
    d.check_script(
        "LPUSH l a\nLPUSH l b c d\nRPUSH l e f\nLLEN l\nLRANGE l 0 -1\nLPUSHX l x y\nRPUSHX l z\nLRANGE l 0 -1\n\
         LPUSHX nokey a\nRPUSHX nokey a b\nEXISTS nokey\nLLEN nokey\nTYPE l\nOBJECT ENCODING l\n\
         LPUSH l\nRPUSH\nLPUSHX l\nRPUSHX l\nLLEN\nLLEN a b\n\
         SET s v\nLPUSH s a\nRPUSH s a\nLPUSHX s a\nRPUSHX s a\nLLEN s\nGET s\n\
         RPUSH n 0 1 -1 127 128 -4096 4095 4096 -4097 32767 32768 -32769 8388607 8388608 2147483647 2147483648\n\
         RPUSH n 9223372036854775807 -9223372036854775808 9223372036854775808 -0 007 +1 \" 1\" 1.5 \"\" 0x10\n\
         LRANGE n 0 -1\nLLEN n",
    );
}

#[test]
fn pops_with_and_without_count() {
    let mut d = Diff::new();
    d.check_script(
        "RPUSH l a b c d e f g\nLPOP l\nRPOP l\nLPOP l 2\nRPOP l 2\nLRANGE l 0 -1\nLPOP l 0\nRPOP l 0\n\
         LPOP l -1\nRPOP l -1\nLPOP l x\nLPOP l 01\nLPOP l +1\nLPOP l 1.0\nLPOP l 1 2\nRPOP l 1 2 3\n\
         LPOP l 9223372036854775807\nEXISTS l\nLPOP l\nRPOP l\nLPOP l 0\nLPOP l 3\nRPOP l -1\nLPOP l x\n\
         RPUSH l a b\nRPOP l 100\nEXISTS l\nRPUSH l 1 2 3\nLPOP l 1\nRPOP l 1\nLPOP l\nEXISTS l\n\
         SET s v\nLPOP s\nRPOP s\nLPOP s 0\nLPOP s 2\nLPOP s -1\nLPOP\nRPOP",
    );
}

#[test]
fn lrange_indexes() {
    let mut d = Diff::new();
    d.check_script("RPUSH l 0 1 2 3 4 5 6 7 8 9");
    for (a, b) in [
        ("0", "-1"),
        ("0", "0"),
        ("-1", "-1"),
        ("3", "5"),
        ("5", "3"),
        ("-3", "-1"),
        ("-100", "100"),
        ("-100", "-50"),
        ("10", "20"),
        ("9", "9"),
        ("-10", "-10"),
        ("-11", "0"),
        ("2", "-3"),
        ("0", "-11"),
        ("-9223372036854775808", "9223372036854775807"),
        ("9223372036854775807", "-9223372036854775808"),
        ("x", "1"),
        ("1", "x"),
        ("1.5", "2"),
        ("", "1"),
        (" 1", "2"),
    ] {
        d.check(&["LRANGE", "l", a, b]);
        d.check(&["LRANGE", "nokey", a, b]);
    }
    d.check_script("SET s v\nLRANGE s 0 -1\nLRANGE s x 1\nLRANGE l 0\nLRANGE l 0 1 2");
}

#[test]
fn lindex_and_lset() {
    let mut d = Diff::new();
    d.check_script(
        "RPUSH l a b c 10 -5\nLINDEX l 0\nLINDEX l 3\nLINDEX l -1\nLINDEX l -5\nLINDEX l -6\nLINDEX l 5\n\
         LINDEX l 9223372036854775807\nLINDEX l -9223372036854775808\nLINDEX l x\nLINDEX nokey x\nLINDEX nokey 0\n\
         LSET l 0 A\nLSET l -1 99\nLSET l 2 \"\"\nLRANGE l 0 -1\nLSET l 5 x\nLSET l -6 x\nLSET l x y\n\
         LSET l -9223372036854775808 x\nLSET l 9223372036854775807 x\nLSET nokey 0 x\nLSET nokey x y\n\
         SET s v\nLINDEX s 0\nLINDEX s x\nLSET s 0 x\nLSET s x y\nLINDEX l\nLSET l 0",
    );
    // Replacing with elements of every size, at every position.
    let big = "B".repeat(10000);
    let mid = "m".repeat(300);
    for i in 0..5 {
        let i = i.to_string();
        d.check(&["LSET", "l", &i, &big]);
        d.check(&["LRANGE", "l", "0", "-1"]);
        d.check(&["LSET", "l", &i, &mid]);
        d.check(&["LSET", "l", &i, "12345"]);
        d.check(&["LINDEX", "l", &i]);
    }
}

#[test]
fn linsert() {
    let mut d = Diff::new();
    d.check_script(
        "RPUSH l a b c b\nLINSERT l BEFORE b x\nLINSERT l AFTER b y\nLRANGE l 0 -1\nLINSERT l before a first\n\
         LINSERT l after b2 z\nLINSERT l AfTeR c last\nLRANGE l 0 -1\nLINSERT l MIDDLE a x\nLINSERT nokey BEFORE a x\n\
         LINSERT nokey MIDDLE a x\nEXISTS nokey\nRPUSH n 1 2 3\nLINSERT n AFTER 2 2.5\nLINSERT n BEFORE 02 x\n\
         LINSERT n BEFORE 3 -7\nLRANGE n 0 -1\nLINSERT n AFTER -7 \"\"\nLINSERT n AFTER \"\" e\nLRANGE n 0 -1\n\
         SET s v\nLINSERT s BEFORE a b\nLINSERT s MIDDLE a b\nLINSERT l BEFORE a\nLINSERT l",
    );
}

#[test]
fn lrem() {
    let mut d = Diff::new();
    d.check_script(
        "RPUSH l a b a c a b a\nLREM l 2 a\nLRANGE l 0 -1\nLREM l -1 b\nLRANGE l 0 -1\nLREM l 0 a\nLRANGE l 0 -1\n\
         LREM l 0 zz\nLREM l x a\nLREM nokey x a\nLREM nokey 1 a\nLREM l 1 c\nLRANGE l 0 -1\nLREM l 1 b\nEXISTS l\n\
         RPUSH l a a a a a\nLREM l -9223372036854775808 a\nEXISTS l\nRPUSH l a a a\nLREM l 9223372036854775807 a\n\
         RPUSH n 1 01 1 -0 0 1\nLREM n 1 01\nLREM n 0 1\nLREM n 0 0\nLRANGE n 0 -1\n\
         SET s v\nLREM s 1 a\nLREM s x a\nLREM l 1",
    );
}

#[test]
fn ltrim() {
    let mut d = Diff::new();
    for (a, b) in [
        ("0", "-1"),
        ("1", "-2"),
        ("-3", "-1"),
        ("0", "0"),
        ("2", "1"),
        ("100", "200"),
        ("-100", "100"),
        ("0", "-100"),
        ("-9223372036854775808", "9223372036854775807"),
        ("5", "-1"),
    ] {
        d.check_script("DEL l\nRPUSH l 0 1 2 3 4 5 6 7 8 9");
        d.check(&["LTRIM", "l", a, b]);
        d.check(&["LRANGE", "l", "0", "-1"]);
        d.check(&["EXISTS", "l"]);
    }
    d.check_script("LTRIM nokey 0 1\nLTRIM nokey x 1\nRPUSH l a\nLTRIM l x 1\nLTRIM l 0 y\nSET s v\nLTRIM s 0 1\nLTRIM s x 1\nLTRIM l 0");
}

#[test]
fn lpos_options_and_errors() {
    let mut d = Diff::new();
    d.check_script("RPUSH l a b c 1 2 3 c c a 1");
    for opts in [
        "",
        "RANK 1",
        "RANK 2",
        "RANK 3",
        "RANK 4",
        "RANK -1",
        "RANK -2",
        "RANK -4",
        "RANK 0",
        "RANK x",
        "RANK 9223372036854775807",
        "RANK -9223372036854775807",
        "RANK -9223372036854775808",
        "RANK -9223372036854775808 COUNT 1",
        "RANK -9223372036854775808 COUNT 0",
        "RANK 9223372036854775807 COUNT 0",
        "COUNT 0",
        "COUNT 1",
        "COUNT 2",
        "COUNT 10",
        "COUNT -1",
        "COUNT x",
        "COUNT 9223372036854775807",
        "MAXLEN 0",
        "MAXLEN 1",
        "MAXLEN 3",
        "MAXLEN 8",
        "MAXLEN -1",
        "MAXLEN x",
        "COUNT 0 MAXLEN 7",
        "RANK -1 COUNT 2 MAXLEN 2",
        "RANK -1 COUNT 0 MAXLEN 3",
        "RANK 2 COUNT 0",
        "RANK -2 COUNT 0",
        "RANK 1 RANK 2",
        "COUNT 1 COUNT 0",
        "rank 2 count 2 count 0",
        "RANK 2 COUNT -1 RANK 0",
        "RANK",
        "COUNT",
        "MAXLEN",
        "FOO 1",
        "RANK 1 FOO",
        "COUNT 0 RANK 0",
    ] {
        for elem in ["a", "c", "1", "zz", "01"] {
            let mut args = vec!["LPOS", "l", elem];
            args.extend(opts.split_whitespace());
            d.check(&args);
            args[1] = "nokey";
            d.check(&args);
        }
    }
    d.check_script("SET s v\nLPOS s a\nLPOS s a COUNT 0\nLPOS s a RANK 0\nLPOS l\nLPOS");
}

#[test]
fn lmove_and_rpoplpush() {
    let mut d = Diff::new();
    d.check_script("RPUSH src a b c d e f\nRPUSH dst x");
    for (w1, w2) in [("LEFT", "LEFT"), ("LEFT", "RIGHT"), ("RIGHT", "LEFT"), ("RIGHT", "RIGHT"), ("left", "Right")] {
        d.check(&["LMOVE", "src", "dst", w1, w2]);
        d.check(&["LRANGE", "src", "0", "-1"]);
        d.check(&["LRANGE", "dst", "0", "-1"]);
    }
    d.check_script(
        "LMOVE src dst MIDDLE LEFT\nLMOVE src dst LEFT MIDDLE\nLMOVE nokey dst MIDDLE LEFT\nLMOVE nokey dst LEFT LEFT\n\
         EXISTS nokey\nLMOVE src newdst RIGHT LEFT\nLRANGE newdst 0 -1\nLMOVE src src LEFT RIGHT\nLRANGE src 0 -1\n\
         RPUSH one only\nLMOVE one one LEFT RIGHT\nLMOVE one one RIGHT LEFT\nLRANGE one 0 -1\nLMOVE one other LEFT LEFT\n\
         EXISTS one\nLRANGE other 0 -1\nSET s v\nLMOVE s dst LEFT LEFT\nLMOVE dst s LEFT LEFT\nLRANGE dst 0 -1\n\
         LMOVE nokey s LEFT LEFT\nLMOVE s nokey LEFT LEFT\nLMOVE s s LEFT LEFT\n\
         RPOPLPUSH dst dst\nRPOPLPUSH dst x2\nLRANGE x2 0 -1\nRPOPLPUSH nokey x2\nRPOPLPUSH s x2\nRPOPLPUSH x2 s\n\
         RPUSH last 1\nRPOPLPUSH last last\nRPOPLPUSH last t\nEXISTS last\nLRANGE t 0 -1\nRPOPLPUSH a\nLMOVE a b LEFT",
    );
}

#[test]
fn lmpop() {
    let mut d = Diff::new();
    d.check_script(
        "LMPOP 0 l LEFT\nLMPOP -1 l LEFT\nLMPOP x l LEFT\nLMPOP 9223372036854775807 l LEFT\nLMPOP 2 l LEFT\n\
         LMPOP 1 l MIDDLE\nLMPOP 1 l LEFT COUNT 0\nLMPOP 1 l LEFT COUNT -1\nLMPOP 1 l LEFT COUNT x\n\
         LMPOP 1 l LEFT COUNT 1 COUNT 1\nLMPOP 1 l LEFT COUNT\nLMPOP 1 l LEFT FOO\nLMPOP 1 l\nLMPOP 1\n\
         LMPOP 1 l LEFT\nLMPOP 2 a b RIGHT COUNT 5\n\
         RPUSH b 1 2 3 4 5\nRPUSH c x y\nLMPOP 3 a b c LEFT\nLMPOP 3 a b c RIGHT COUNT 2\nLMPOP 2 c b left count 10\n\
         LRANGE b 0 -1\nLMPOP 2 a b RIGHT COUNT 9223372036854775807\nEXISTS b\nLMPOP 3 a b c LEFT COUNT 3\nEXISTS c\n\
         SET s v\nRPUSH l2 e\nLMPOP 2 s l2 LEFT\nLMPOP 2 l2 s LEFT\nLMPOP 2 nokey s LEFT\nLMPOP 2 l2 s LEFT\n\
         LMPOP 1 s LEFT COUNT 0\nLMPOP 1 l2 left COUNT 1",
    );
}

#[test]
fn wrongtype_everywhere() {
    let mut d = Diff::new();
    d.check_script("SET s v\nRPUSH l a");
    let mut keys = vec!["s"];
    // The other collection types, once their families are registered.
    let registered = |name: &str| ferrokv::commands::HANDLERS.iter().any(|(n, _)| *n == name);
    for (cmd, k) in [("HSET h f v", "h"), ("SADD st m", "st"), ("ZADD z 1 m", "z")] {
        if registered(&cmd[..4].to_ascii_lowercase()) {
            d.check_script(cmd);
            keys.push(k);
        }
    }
    for k in keys {
        for cmd in [
            vec!["LPUSH", k, "a"],
            vec!["RPUSH", k, "a"],
            vec!["LPUSHX", k, "a"],
            vec!["RPUSHX", k, "a"],
            vec!["LPOP", k],
            vec!["RPOP", k, "2"],
            vec!["LLEN", k],
            vec!["LRANGE", k, "0", "-1"],
            vec!["LINDEX", k, "0"],
            vec!["LSET", k, "0", "x"],
            vec!["LINSERT", k, "BEFORE", "a", "b"],
            vec!["LREM", k, "0", "a"],
            vec!["LTRIM", k, "0", "1"],
            vec!["LPOS", k, "a"],
            vec!["LMOVE", k, "l", "LEFT", "LEFT"],
            vec!["LMOVE", "l", k, "LEFT", "LEFT"],
            vec!["RPOPLPUSH", k, "l"],
            vec!["RPOPLPUSH", "l", k],
            vec!["LMPOP", "1", k, "LEFT"],
            vec!["TYPE", k],
        ] {
            d.check(&cmd);
        }
    }
    d.check_script("LRANGE l 0 -1\nTYPE l\nOBJECT ENCODING l");
}

#[test]
fn encoding_is_quicklist_at_every_size() {
    let mut d = Diff::new();
    d.check_script("RPUSH l a\nOBJECT ENCODING l\nRPUSH big x");
    let huge = "h".repeat(70000);
    d.check(&["RPUSH", "l", &huge]);
    d.check(&["OBJECT", "ENCODING", "l"]);
    for i in 0..300 {
        d.check(&["RPUSH", "big", &format!("element-{i}")]);
    }
    d.check_script("OBJECT ENCODING big\nLTRIM big 0 0\nOBJECT ENCODING big\nLLEN big\nTYPE big");
    d.check(&["LINDEX", "l", "1"]);
}

/// Long lists with every node layout: small counts, byte limits, big elements.
#[test]
fn long_lists_with_small_nodes() {
    for fill in ["1", "2", "5", "-1", "-5", "0"] {
        let mut d = Diff::with(&["--list-max-listpack-size", fill]);
        let mut r = StdRng::seed_from_u64(fill.len() as u64 * 7 + 3);
        for i in 0..400 {
            let v = match i % 7 {
                0 => "x".repeat(r.gen_range(0..100)),
                1 => r.gen_range(-100000i64..100000).to_string(),
                2 => "y".repeat(r.gen_range(4000..9000)),
                _ => format!("e{}", r.gen_range(0..20)),
            };
            let cmd = if i % 2 == 0 { "RPUSH" } else { "LPUSH" };
            d.check(&[cmd, "l", &v]);
        }
        d.check(&["LRANGE", "l", "0", "-1"]);
        for i in 0..40 {
            let at = r.gen_range(-450i64..450).to_string();
            d.check(&["LINDEX", "l", &at]);
            d.check(&["LSET", "l", &at, &"z".repeat(r.gen_range(0..9000))]);
            let pivot = format!("e{}", r.gen_range(0..20));
            let w = if i % 2 == 0 { "BEFORE" } else { "AFTER" };
            d.check(&["LINSERT", "l", w, &pivot, &format!("ins{i}")]);
            d.check(&["LRANGE", "l", &r.gen_range(-300i64..300).to_string(), &r.gen_range(-300i64..300).to_string()]);
            d.check(&["LPOS", "l", &pivot, "RANK", "-2", "COUNT", "3"]);
        }
        d.check_script(
            "LREM l 3 e1\nLREM l -2 e2\nLREM l 0 e3\nLRANGE l 0 -1\nLTRIM l 10 -10\nLRANGE l 0 -1\nLPOP l 7\nRPOP l 9\n\
             LMOVE l l LEFT RIGHT\nLMPOP 1 l RIGHT COUNT 13\nLRANGE l 0 -1\nLLEN l\nLTRIM l 1 0\nEXISTS l",
        );
    }
}

#[test]
fn resp3_shapes() {
    let mut d = Diff::new();
    d.both(&["HELLO", "3"]);
    d.check_script(
        "LPOP nokey\nLPOP nokey 2\nLPOP nokey 0\nRPOP nokey\nLINDEX nokey 0\nLPOS nokey a\nLPOS nokey a COUNT 0\n\
         LMPOP 1 nokey LEFT\nLMOVE nokey x LEFT LEFT\nRPOPLPUSH nokey x\nLRANGE nokey 0 -1\nLLEN nokey\n\
         RPUSH l a b 3\nLPOP l 0\nLPOP l 1\nLINDEX l 5\nLPOS l zz\nLPOS l zz COUNT 0\nLPOS l b COUNT 0\n\
         LMPOP 1 l RIGHT COUNT 5\nLPUSH l x\nLRANGE l 0 -1\nRPOP l\nEXISTS l",
    );
}

#[test]
fn keyspace_stats_and_dirty() {
    let mut d = Diff::new();
    d.check_script(
        "RPUSH l a b c d e f g h\nLPUSH l 1 2\nLPUSHX nokey a\nLLEN l\nLLEN nokey\nLRANGE l 0 2\nLRANGE nokey 0 1\n\
         LINDEX l 1\nLINDEX nokey 0\nLPOS l a\nLPOS nokey a\nLSET l 0 z\nLINSERT l BEFORE c cc\nLINSERT l BEFORE zz y\n\
         LREM l 0 a\nLTRIM l 1 -2\nLPOP l\nRPOP l 2\nLMOVE l l2 LEFT RIGHT\nRPOPLPUSH l l2\nLMPOP 2 nokey l LEFT COUNT 2\n\
         LPOP nokey\nLPOP l 0\nLRANGE l 0 -1",
    );
    d.same_info("stats", "keyspace_hits");
    d.same_info("stats", "keyspace_misses");
    d.same_info("persistence", "rdb_changes_since_last_save");
}

#[test]
fn expired_lists_are_gone() {
    let mut d = Diff::new();
    d.check_script("RPUSH l a b\nPEXPIRE l 1\nRPUSH k a\nEXPIRE k 1000\nLPUSH k b\nTTL k");
    std::thread::sleep(std::time::Duration::from_millis(20));
    d.check_script(
        "LLEN l\nLPUSHX l a\nLPOP l\nLRANGE l 0 -1\nLMOVE k l LEFT LEFT\nTTL l\nLRANGE l 0 -1\nLSET k 0 q\nTTL k\n\
         LTRIM k 0 -1\nTTL k\nLPOP k\nEXISTS k\nTTL k",
    );
}

#[test]
fn binary_and_big_elements() {
    let mut d = Diff::new();
    let bin: Vec<u8> = (0u8..=255).collect();
    let big = vec![b'q'; 200_000];
    d.check_b(&[b"RPUSH", b"l", &bin, b"\x00", b"", &big, b"a\r\nb"]);
    d.check_b(&[b"LRANGE", b"l", b"0", b"-1"]);
    d.check_b(&[b"LPOS", b"l", &bin]);
    d.check_b(&[b"LPOS", b"l", b"\x00"]);
    d.check_b(&[b"LREM", b"l", b"0", &big]);
    d.check_b(&[b"LINSERT", b"l", b"AFTER", b"", &big]);
    d.check_b(&[b"LRANGE", b"l", b"0", b"-1"]);
    d.check_b(&[b"LPOP", b"l", b"10"]);
}

// ---------------------------------------------------------------------------
// Randomized differential test
// ---------------------------------------------------------------------------

const KEYS: usize = 6;

fn key(r: &mut StdRng) -> String {
    if r.gen_bool(0.03) {
        return "str".into();
    }
    format!("l{}", r.gen_range(0..KEYS))
}

fn elem(r: &mut StdRng) -> String {
    match r.gen_range(0..12) {
        0 => r.gen_range(-5i64..20).to_string(),
        1 => r.gen::<i64>().to_string(),
        2 => "x".repeat(r.gen_range(0..120)),
        3 => "big".repeat(r.gen_range(300..1500)),
        4 => ["-0", "007", "+3", "", "1.0", "9223372036854775808"][r.gen_range(0..6)].to_string(),
        _ => ["a", "b", "c", "d", "e"][r.gen_range(0..5)].to_string(),
    }
}

fn idx(r: &mut StdRng) -> String {
    match r.gen_range(0..12) {
        0 => "x".into(),
        1 => "9223372036854775807".into(),
        2 => "-9223372036854775808".into(),
        3 => r.gen_range(-200i64..200).to_string(),
        _ => r.gen_range(-12i64..12).to_string(),
    }
}

fn side(r: &mut StdRng) -> String {
    let n = if r.gen_bool(0.97) { 4 } else { 5 };
    ["LEFT", "RIGHT", "left", "Right", "UP"][r.gen_range(0..n)].into()
}

fn command(r: &mut StdRng) -> Vec<String> {
    let k = key(r);
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    match r.gen_range(0..30) {
        0..=3 | 26..=29 => {
            let cmd = ["LPUSH", "RPUSH", "LPUSHX", "RPUSHX"][r.gen_range(0..4)];
            let mut c = s(&[cmd, &k]);
            for _ in 0..r.gen_range(1..6) {
                c.push(elem(r));
            }
            c
        }
        4 | 5 => {
            let cmd = if r.gen_bool(0.5) { "LPOP" } else { "RPOP" };
            match r.gen_range(0..4) {
                0 => s(&[cmd, &k, &idx(r)]),
                1 => s(&[cmd, &k, &r.gen_range(0..8).to_string()]),
                _ => s(&[cmd, &k]),
            }
        }
        6 => s(&["LLEN", &k]),
        7 => s(&["LRANGE", &k, &idx(r), &idx(r)]),
        8 => s(&["LRANGE", &k, "0", "-1"]),
        9 => s(&["LINDEX", &k, &idx(r)]),
        10 => s(&["LSET", &k, &idx(r), &elem(r)]),
        11 => s(&["LINSERT", &k, ["BEFORE", "AFTER", "after", "NEAR"][r.gen_range(0..4)], &elem(r), &elem(r)]),
        12 => s(&["LREM", &k, &idx(r), &elem(r)]),
        13 if r.gen_bool(0.3) => s(&["LTRIM", &k, &idx(r), &idx(r)]),
        13 => s(&["LTRIM", &k, &r.gen_range(0i64..3).to_string(), &r.gen_range(-3i64..0).to_string()]),
        14 | 15 => {
            let mut c = s(&["LPOS", &k, &elem(r)]);
            for _ in 0..r.gen_range(0..3) {
                match r.gen_range(0..4) {
                    0 => c.extend(s(&["RANK", &idx(r)])),
                    1 => c.extend(s(&["COUNT", &r.gen_range(-1i64..4).to_string()])),
                    2 => c.extend(s(&["MAXLEN", &r.gen_range(-1i64..10).to_string()])),
                    _ => c.push("RANK".into()),
                }
            }
            c
        }
        16 | 17 => s(&["LMOVE", &k, &key(r), &side(r), &side(r)]),
        18 => s(&["RPOPLPUSH", &k, &key(r)]),
        19 => {
            let n = r.gen_range(1..4);
            let mut c = s(&["LMPOP", &n.to_string()]);
            for _ in 0..n {
                c.push(key(r));
            }
            c.push(side(r));
            if r.gen_bool(0.5) {
                c.extend(s(&["COUNT", &r.gen_range(0i64..6).to_string()]));
            }
            c
        }
        20 => s(&["TYPE", &k]),
        21 => s(&["EXISTS", &k]),
        22 if r.gen_bool(0.2) => s(&["DEL", &k]),
        22 => s(&["LLEN", &k]),
        23 => s(&["OBJECT", "ENCODING", &k]),
        24 => s(&["COPY", &k, &key(r), "REPLACE"]),
        _ => s(&["SET", "str", "v"]),
    }
}

/// `n` random commands on both servers started with `extra`; the seed is
/// FERROKV_SEED, else `seed`, else a random one.
fn random_run(extra: &[&str], n: usize, seed: Option<u64>) {
    let seed: u64 = std::env::var("FERROKV_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .or(seed)
        .unwrap_or_else(|| rand::thread_rng().gen());
    println!("FERROKV_SEED={seed} config={extra:?}");
    let mut r = StdRng::seed_from_u64(seed);
    let mut d = Diff::with(extra);
    for i in 0..n {
        let cmd = command(&mut r);
        let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            d.check_b(&args);
        }));
        if res.is_err() {
            let shown: Vec<String> =
                cmd.iter().map(|a| if a.len() > 40 { format!("{}..", &a[..40]) } else { a.clone() }).collect();
            panic!("command #{i} {shown:?} differed (FERROKV_SEED={seed}, config {extra:?})");
        }
    }
    for k in 0..KEYS {
        d.check(&["LRANGE", &format!("l{k}"), "0", "-1"]);
    }
    d.check_with(&[b"KEYS", b"*"], |x| x.sorted());
}

#[test]
fn random_list_commands() {
    random_run(&[], 6000, None);
}

#[test]
fn random_list_commands_small_nodes() {
    random_run(&["--list-max-listpack-size", "3"], 4000, None);
}

#[test]
fn random_list_commands_byte_limited_nodes() {
    random_run(&["--list-max-listpack-size", "-1"], 4000, None);
}

/// With nodes compressed beyond `list-compress-depth` 1 and 3 (a fixed seed).
#[test]
fn random_list_commands_compressed() {
    random_run(&["--list-compress-depth", "1", "--list-max-listpack-size", "3"], 5000, Some(20240611));
    random_run(&["--list-compress-depth", "3", "--list-max-listpack-size", "-1"], 3000, Some(7));
}

// ---------------------------------------------------------------------------
// Compressed nodes (list-compress-depth)

/// An element that compresses well, of about `n` bytes.
fn squeezable(i: usize, n: usize) -> String {
    format!("{i:0>n$}")
}

/// Every list command on lists whose inner nodes are compressed, with the
/// same replies as Redis: pushes and pops at both ends (which compress and
/// decompress nodes), reads and changes at every position, DUMP/RESTORE
/// across the two servers, SORT, blocking pops served at once, DEBUG RELOAD.
#[test]
fn compressed_lists_match_redis() {
    for (depth, fill) in [("1", "4"), ("2", "-1"), ("1", "-1"), ("2", "4")] {
        let mut d = Diff::with(&[
            "--list-compress-depth",
            depth,
            "--list-max-listpack-size",
            fill,
            "--enable-debug-command",
            "yes",
        ]);
        let mut r = StdRng::seed_from_u64(depth.len() as u64 * 31 + fill.len() as u64);
        for i in 0..400 {
            let v = match i % 6 {
                0 => squeezable(i, 100),
                1 => "abc".repeat(r.gen_range(10..60)),
                2 => i.to_string(),
                3 => format!("e{}", i % 7),
                4 => "x".repeat(r.gen_range(0..300)),
                _ => (0..r.gen_range(1..80)).map(|_| r.gen_range(b'a'..=b'z') as char).collect(),
            };
            let cmd = if r.gen_bool(0.5) { "RPUSH" } else { "LPUSH" };
            d.check(&[cmd, "l", &v]);
        }
        d.check_script("LLEN l\nLRANGE l 0 -1\nOBJECT ENCODING l");
        for i in (-420i64..420).step_by(7) {
            d.check(&["LINDEX", "l", &i.to_string()]);
        }
        for _ in 0..60 {
            let a = r.gen_range(-420i64..420).to_string();
            let b = r.gen_range(-420i64..420).to_string();
            d.check(&["LRANGE", "l", &a, &b]);
        }
        for i in 0..40 {
            let at = r.gen_range(-400i64..400).to_string();
            let v = if i % 3 == 0 { squeezable(i, r.gen_range(0..3000)) } else { format!("set{i}") };
            d.check(&["LSET", "l", &at, &v]);
            let pivot = format!("e{}", r.gen_range(0..7));
            let w = if i % 2 == 0 { "BEFORE" } else { "AFTER" };
            d.check(&["LINSERT", "l", w, &pivot, &squeezable(i, 120)]);
            d.check(&["LINDEX", "l", &at]);
        }
        d.check_script(
            "LPOS l e3\nLPOS l e3 RANK 2\nLPOS l e3 RANK -3 COUNT 5\nLPOS l e4 COUNT 0\nLPOS l e5 COUNT 0 MAXLEN 150\n\
             LPOS l e6 RANK -1 MAXLEN 100 COUNT 2\nLPOS l nosuch COUNT 0\n\
             LREM l 3 e1\nLREM l -2 e2\nLREM l 0 e3\nLRANGE l 0 -1\n\
             LPOP l 5\nRPOP l 7\nLPOP l\nRPOP l\nLRANGE l 0 -1\n\
             LMOVE l l2 LEFT RIGHT\nLMOVE l l2 RIGHT LEFT\nLMOVE l l LEFT RIGHT\nRPOPLPUSH l l2\nLMPOP 2 l l2 RIGHT COUNT 9\n\
             BLPOP l 0\nBRPOP l 0\nBLMOVE l l2 RIGHT RIGHT 0\nBLMPOP 0 1 l LEFT COUNT 3\nLRANGE l2 0 -1\n\
             SORT l ALPHA\nSORT l BY nosort LIMIT 10 20\nSORT l BY nosort DESC LIMIT 5 30\nSORT l ALPHA DESC STORE sorted\n\
             LRANGE sorted 0 -1\nLINDEX sorted 77\nCOPY l lcopy\nLRANGE lcopy 0 -1",
        );
        // DUMP payloads restored across the two servers hold the same list.
        for key in ["l", "sorted", "lcopy"] {
            let (Resp::Bulk(Some(pf)), Resp::Bulk(Some(pr))) = (d.f.cmd(&["DUMP", key]), d.r.cmd(&["DUMP", key]))
            else {
                panic!("DUMP {key}")
            };
            for (name, p) in [("from-ferrokv", &pf), ("from-redis", &pr)] {
                let restored = format!("{key}-{name}");
                d.check_b(&[b"RESTORE", restored.as_bytes(), b"0", p]);
                d.check(&["LRANGE", &restored, "0", "-1"]);
                d.check(&["LINDEX", &restored, "100"]);
            }
        }
        d.check_script(
            "LTRIM l 20 -20\nLRANGE l 0 -1\nLTRIM l 5 60\nLRANGE l 0 -1\nDEBUG RELOAD\nLRANGE l 0 -1\n\
             LRANGE sorted 0 -1\nLRANGE l2 0 -1\nLRANGE l-from-redis 0 -1\nLINDEX sorted -50\nLSET sorted 100 z\n\
             LRANGE sorted 90 110\nLTRIM sorted 1 0\nEXISTS sorted\nOBJECT ENCODING l",
        );
    }
}

/// MEMORY USAGE of `key` counting every node.
fn usage(c: &mut Conn, key: &str) -> i64 {
    c.cmd(&["MEMORY", "USAGE", key, "SAMPLES", "0"]).as_int()
}

/// A long list of compressible elements takes several times less memory with
/// `list-compress-depth` 1 than without, in ferrokv as in Redis; the depth
/// is taken when a list is created (CONFIG SET changes later lists only).
#[test]
fn compression_saves_memory_as_in_redis() {
    let mut ratios = Vec::new();
    for s in [Server::ferrokv(), Server::redis()] {
        let mut c = s.conn();
        let items: Vec<String> = (0..10000).map(|i| squeezable(i, 100)).collect();
        let fill_list = |c: &mut Conn, key: &str| {
            for chunk in items.chunks(1000) {
                let mut args = vec!["RPUSH", key];
                args.extend(chunk.iter().map(|x| x.as_str()));
                assert_eq!(c.cmd(&args).as_int() % 1000, 0);
            }
        };
        fill_list(&mut c, "plain");
        assert_eq!(c.cmd(&["CONFIG", "SET", "list-compress-depth", "1"]), Resp::ok());
        fill_list(&mut c, "packed");
        // An existing list keeps its depth: pushes to it stay uncompressed.
        c.cmd(&["RPUSH", "plain", &squeezable(1, 100)]);
        c.cmd(&["RPOP", "plain"]);
        let (plain, packed) = (usage(&mut c, "plain"), usage(&mut c, "packed"));
        println!("{}: MEMORY USAGE depth 0 {plain}, depth 1 {packed}", s.name);
        assert_eq!(c.cmd(&["LRANGE", "packed", "0", "-1"]), c.cmd(&["LRANGE", "plain", "0", "-1"]));
        assert_eq!(c.cmd(&["LINDEX", "packed", "5000"]).text(), items[5000]);
        ratios.push(plain as f64 / packed as f64);
    }
    assert!(ratios[0] >= 3.0, "ferrokv saves too little: {ratios:?}");
    assert!(ratios[1] >= 3.0, "Redis's figures changed: {ratios:?}");
}

/// used_memory follows compression, and pops deep into a compressed list
/// (nodes coming within the depth are decompressed) keep it intact, also
/// once CONFIG SET has changed the depth for new lists.
#[test]
fn compression_depth_is_per_list() {
    let s = Server::ferrokv();
    let mut c = s.conn();
    let used = |c: &mut Conn| -> i64 { info_field(c, "memory", "used_memory").parse().unwrap_or(0) };
    let before = used(&mut c);
    assert_eq!(c.cmd(&["CONFIG", "SET", "list-compress-depth", "2"]), Resp::ok());
    for i in 0..20000 {
        c.send(&[b"RPUSH", b"a", squeezable(i, 200).as_bytes()]);
    }
    for _ in 0..20000 {
        c.read();
    }
    for i in 0..10 {
        c.cmd(&["LPUSH", "a", &squeezable(i, 200)]);
    }
    let grown = used(&mut c) - before;
    assert!(grown < 20000 * 200 / 3, "used_memory grew by {grown}");
    assert_eq!(c.cmd(&["CONFIG", "SET", "list-compress-depth", "0"]), Resp::ok());
    // Pops down to the compressed part and pushes back keep the list intact.
    let all = c.cmd(&["LRANGE", "a", "0", "-1"]);
    let n = all.items().len();
    let items = all.items();
    assert_eq!(c.cmd(&["LPOP", "a", "9000"]).items(), items[..9000].to_vec());
    let tail: Vec<_> = items[n - 9000..].iter().rev().cloned().collect();
    assert_eq!(c.cmd(&["RPOP", "a", "9000"]).items(), tail);
    assert_eq!(c.cmd(&["LRANGE", "a", "0", "-1"]).items(), all.items()[9000..n - 9000].to_vec());
    let small = usage(&mut c, "a");
    assert!(small < 2010 * 200 / 2, "{small}");
}
