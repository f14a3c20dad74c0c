//! SORT and SORT_RO compared reply by reply with real Redis 7.0: numeric and
//! ALPHA sorting of lists, sets and sorted sets, ties, LIMIT edge cases, BY
//! (weights, hash fields, nosort), GET, STORE, score parsing, errors, RESP3,
//! statistics, blocked clients woken by STORE, and a randomized run.

mod common;
use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::Duration;

#[test]
fn numeric_and_alpha_on_lists() {
    let mut d = Diff::new();
    d.check_script(
        "RPUSH l 3 1 2 10 -5 2.5 0\nSORT l\nSORT l ASC\nSORT l DESC\nSORT l ALPHA\nSORT l ALPHA DESC\n\
         SORT l desc alpha\nSORT l DESC ASC\nSORT l ALPHA ALPHA DESC DESC ASC\nsort l Desc\nSORT_RO l\nSORT_RO l DESC ALPHA\n\
         RPUSH w b a c B aa A ab \"\" \" \" z\nSORT w ALPHA\nSORT w ALPHA DESC\nSORT w\nSORT_RO w ALPHA LIMIT 2 3\n\
         RPUSH t 1 01 1.0 +1 1e0 0x1 2 02 -0 0 0.0 \" 1\"\nSORT t\nSORT t DESC\nSORT t ALPHA\nSORT t LIMIT 1 4\nSORT t DESC LIMIT 2 5\n\
         RPUSH dup 3 3 1 1 2 2 a\nSORT dup ALPHA\nLPOP dup 0\nRPOP dup\nSORT dup\nSORT dup DESC\n\
         RPUSH inf inf -inf +inf 1e308 -1e308 infinity 0 -INF\nSORT inf\nSORT inf DESC\n\
         RPUSH big 9223372036854775807 -9223372036854775808 9223372036854775806 1e19 18446744073709551616\nSORT big\nSORT big DESC\n\
         SORT nokey\nSORT nokey ALPHA DESC LIMIT 0 5\nSORT_RO nokey",
    );
}

#[test]
fn sets_and_sorted_sets() {
    let mut d = Diff::new();
    d.check_script(
        "SADD s 5 3 -1 100 7 0\nOBJECT ENCODING s\nSORT s\nSORT s DESC\nSORT s ALPHA\nSORT s ALPHA DESC LIMIT 1 3\n\
         SORT s BY nosort\nSORT s BY nosort DESC\nSORT s BY nosort LIMIT 2 2\nSORT s BY nosort DESC LIMIT 1 10\n\
         SADD h x 1.5 y 2 a 10 b\nOBJECT ENCODING h\nSORT h ALPHA\nSORT h ALPHA DESC\nSORT h\nSREM h x y a b\nSORT h\nSORT h DESC\n\
         ZADD z 3 c 1 a 2 b 2 bb 0 z 5 5 4 4\nSORT z ALPHA\nSORT z ALPHA DESC\nSORT z\nSORT z BY nosort\nSORT z BY nosort DESC\n\
         SORT z BY nosort LIMIT 2 3\nSORT z BY nosort DESC LIMIT 2 3\nSORT z BY nosort LIMIT 0 1\nSORT z BY nosort DESC LIMIT 0 1\n\
         SORT z BY nosort LIMIT 6 10\nSORT z BY nosort LIMIT 7 1\nSORT z BY nosort DESC LIMIT 7 0\nSORT z BY nosort LIMIT -1 2\n\
         SORT z BY nosort ALPHA\nSORT z BY constant DESC\nSORT z BY nosort GET #\n\
         ZADD n 1 10 2 9 3 8 4 -1 5 2.5\nSORT n\nSORT n DESC\nSORT n ALPHA\nSORT n BY nosort\nSORT_RO n BY nosort DESC",
    );
    // Hash-ordered sets: no order to compare without sorting.
    d.check_unordered(&["SORT", "h", "BY", "nosort"]);
    d.check_script("SADD hs x y z w v 1 2 foo bar");
    d.check_unordered(&["SORT", "hs", "BY", "nosort"]);
    d.check_unordered(&["SORT", "hs", "BY", "nosort", "DESC"]);
    d.check_unordered(&["SORT", "hs", "BY", "nokey", "GET", "#"]);
    d.check_unordered(&["SORT_RO", "hs", "BY", "nosort"]);
    let f = d.f.cmd(&["SORT", "hs", "BY", "nosort", "LIMIT", "2", "3"]);
    let r = d.r.cmd(&["SORT", "hs", "BY", "nosort", "LIMIT", "2", "3"]);
    assert_eq!(f.items().len(), 3);
    assert_eq!(r.items().len(), 3);
    // STORE makes Redis sort an unsorted set (lexicographically, binary).
    d.check_script(
        "SORT hs BY nosort STORE d\nLRANGE d 0 -1\nSORT hs BY nosort DESC STORE d\nLRANGE d 0 -1\n\
         SORT hs BY nosort LIMIT 1 3 STORE d\nLRANGE d 0 -1\nSORT hs BY nosort GET # GET nokey_* STORE d\nLRANGE d 0 -1\n\
         SORT s BY nosort DESC STORE d\nLRANGE d 0 -1\nSORT hs BY x BY w_* STORE d\nLRANGE d 0 -1",
    );
}

#[test]
fn sort_leaves_small_sorted_sets_in_skiplist_encoding() {
    let mut d = Diff::new();
    d.check_script(
        "ZADD z 1 a 2 b\nOBJECT ENCODING z\nSORT z\nOBJECT ENCODING z\nZADD z2 1 a\nSORT_RO z2 BY nosort\n\
         OBJECT ENCODING z2\nZADD z3 1 a\nSORT z3 LIMIT x y\nOBJECT ENCODING z3\nZADD z4 -0 m 2 n\nSORT z4 STORE d\n\
         OBJECT ENCODING z4\nZRANGE z4 0 -1 WITHSCORES\nZSCORE z4 m\nZADD z4 3 o\nZRANGE z4 0 -1 WITHSCORES\nOBJECT ENCODING z4\n\
         SADD s 1 2\nSORT s\nOBJECT ENCODING s\nRPUSH l 1\nSORT l\nOBJECT ENCODING l",
    );
}

#[test]
fn limit_edge_cases() {
    let mut d = Diff::new();
    d.check_script("RPUSH l 5 3 9 1 7 2 8\nZADD z 1 a 2 b 3 c 4 d\nSET w_1 3\nSET w_9 -1");
    let limits = [
        ("0", "0"),
        ("0", "1"),
        ("0", "-1"),
        ("0", "-100"),
        ("1", "-1"),
        ("2", "3"),
        ("6", "1"),
        ("6", "5"),
        ("7", "1"),
        ("8", "1"),
        ("100", "1"),
        ("-1", "2"),
        ("-100", "3"),
        ("-5", "-5"),
        ("3", "0"),
        ("1", "9223372036854775807"),
        ("9223372036854775807", "9223372036854775807"),
        ("-9223372036854775808", "-9223372036854775808"),
        ("-9223372036854775808", "9223372036854775807"),
        ("5", "9223372036854775807"),
    ];
    for (a, b) in limits {
        for key in ["l", "z", "nokey"] {
            for opts in [
                &[][..],
                &["DESC"][..],
                &["ALPHA"][..],
                &["BY", "nosort"][..],
                &["BY", "nosort", "DESC"][..],
                &["BY", "w_*"][..],
                &["BY", "w_*", "DESC"][..],
                &["BY", "w_*", "ALPHA"][..],
                &["GET", "#", "GET", "w_*"][..],
            ] {
                if key == "z" && opts.contains(&"ALPHA") && opts.contains(&"w_*") {
                    // Equal weights keep the zset's hash order: not comparable.
                    continue;
                }
                let mut args = vec!["SORT", key];
                args.extend_from_slice(opts);
                args.extend_from_slice(&["LIMIT", a, b]);
                d.check(&args);
                let mut st = args.clone();
                st.extend_from_slice(&["STORE", "dst"]);
                d.check(&st);
                d.check(&["LRANGE", "dst", "0", "-1"]);
            }
        }
    }
    d.check_script(
        "SORT l LIMIT 1 2 LIMIT 3 1\nSORT l LIMIT 0 2 DESC LIMIT 1 1\nSORT l LIMIT 01 2\nSORT l LIMIT 1 +2\n\
         SORT l LIMIT 1.0 2\nSORT l LIMIT \" 1\" 2\nSORT l LIMIT 1 99999999999999999999\nSORT l LIMIT \"\" 1",
    );
}

#[test]
fn by_weights_and_hash_fields() {
    let mut d = Diff::new();
    d.check_script(
        "RPUSH l a b c d e\nMSET w_a 3 w_b 1 w_c 2 w_d 1.5\nSORT l BY w_*\nSORT l BY w_* DESC\nSORT l BY w_* LIMIT 1 2\n\
         SORT l BY w_* ALPHA\nSORT l BY w_* ALPHA DESC\nSORT l BY nosort\nSORT l BY nosort DESC\nSORT l BY nosort LIMIT 1 2\n\
         SORT l BY nosort DESC LIMIT 1 2\nSORT l BY constant\nSORT l BY \"\"\nSORT l BY # \nSORT l BY #*\n\
         SORT l BY nosort BY w_*\nSORT l BY w_* BY nosort\nSORT l BY x_* BY w_*\nSORT l BY w_*w\nSORT l BY *_w\n\
         MSET a_w 2 b_w 1 c_w 0\nSORT l BY *_w\nSORT l BY *_w ALPHA DESC\nSORT l BY **\nSET ab 1\nSORT l BY a*\n\
         HSET h_a f 5 g zz\nHSET h_b f 4 g yy\nHSET h_c f 4 g xx\nHSET h_d g 1\nSET h_e 9\n\
         SORT l BY h_*->f\nSORT l BY h_*->f DESC\nSORT l BY h_*->g ALPHA\nSORT l BY h_*->g ALPHA DESC\nSORT l BY h_*->g\n\
         SORT l BY h_*->\nSORT l BY h_*->f->g\nHSET h_a f->g 1\nSORT l BY h_*->f->g\nSORT l BY h_*-f\nSORT l BY h_*>f\n\
         SORT l BY w_*->f\nSORT l BY h_*->nofield\nSORT l BY h_*->f LIMIT 0 2\nSORT l BY h_*->f LIMIT 2 2 DESC\n\
         SET h_a-> 7\nSORT l BY h_*->\nSORT l BY ->* \nSET ->a 1\nSORT l BY ->*\n\
         RPUSH nums 3 1 2\nSET w_1 x\nSORT nums BY w_*\nSORT nums BY w_* ALPHA\nDEL w_1\nSORT nums BY w_*\n\
         SET w_2 \"\"\nSORT nums BY w_*\nSET w_2 \" 5\"\nSORT nums BY w_*\nSET w_2 \"5 \"\nSORT nums BY w_*\n\
         SET w_2 abc\nSORT nums BY w_* LIMIT 0 0\nSORT nums BY w_* ALPHA\nSORT nums BY nosort\nSORT nums BY w_* STORE dst\nEXISTS dst\n\
         RPUSH list_w 1\nSET w_3 5\nRENAME list_w w_2\nSORT nums BY w_*",
    );
}

#[test]
fn alpha_by_ties_follow_redis_sort_algorithms() {
    // Equal weights under ALPHA BY are not tie-broken: the full sort keeps
    // the input order, the partial sort (LIMIT) leaves its own order.
    let mut d = Diff::new();
    let elems: Vec<String> = (0..60).map(|i| i.to_string()).collect();
    let mut push = vec!["RPUSH", "t"];
    push.extend(elems.iter().map(|s| s.as_str()));
    d.check(&push);
    for i in (0..60).step_by(7) {
        d.check(&["SET", &format!("w_{i}"), if i % 2 == 0 { "b" } else { "a" }]);
    }
    for n in [3usize, 6, 7, 8, 20, 40, 41, 60] {
        d.check(&["DEL", "u"]);
        let mut push = vec!["RPUSH", "u"];
        push.extend(elems.iter().take(n).rev().map(|s| s.as_str()));
        d.check(&push);
        for key in ["t", "u"] {
            for (a, b) in [("0", "3"), ("5", "30"), ("0", "-1"), ("1", "-1"), ("0", "59"), ("10", "10"), ("50", "20")] {
                for desc in ["ASC", "DESC"] {
                    d.check(&["SORT", key, "BY", "w_*", "ALPHA", desc, "LIMIT", a, b]);
                    d.check(&["SORT", key, "BY", "nokey_*", "ALPHA", desc, "LIMIT", a, b]);
                    d.check(&["SORT", key, "BY", "w_*", "ALPHA", desc, "LIMIT", a, b, "STORE", "dst"]);
                    d.check(&["LRANGE", "dst", "0", "-1"]);
                }
            }
            d.check(&["SORT", key, "BY", "w_*", "ALPHA"]);
            d.check(&["SORT", key, "BY", "w_*", "ALPHA", "DESC"]);
        }
    }
    // Intsets iterate in ascending order in both.
    d.check_script(
        "SADD is 9 8 7 6 5 4 3 2 1 0 10 11 12 13 14 15\nSET w_3 a\nSET w_12 a\nSORT is BY w_* ALPHA\n\
         SORT is BY w_* ALPHA DESC\nSORT is BY w_* ALPHA LIMIT 2 5\nSORT is BY w_* ALPHA DESC LIMIT 0 4",
    );
}

#[test]
fn get_patterns() {
    let mut d = Diff::new();
    d.check_script(
        "RPUSH l 2 1 3\nMSET o_1 one o_2 two k_3 x\nHSET h_1 name n1 age 10\nHSET h_2 name n2\nSADD set_3 m\n\
         SORT l GET #\nSORT l GET o_*\nSORT l GET o_* GET #\nSORT l GET # GET o_* GET h_*->name GET h_*->age GET nokey_*\n\
         SORT l GET set_*\nSORT l GET h_*\nSORT l GET o_*->name\nSORT l GET constant\nSORT l GET \"\"\nSORT l GET ##\n\
         SORT l GET *\nSORT l GET **\nSORT l GET h_*->\nSORT l DESC GET # LIMIT 1 5\nSORT l BY o_* ALPHA GET o_*\n\
         SORT l BY nosort GET h_*->name\nSORT l BY nosort DESC GET # GET #\nSORT l GET # GET #\nSORT_RO l GET o_* GET #\n\
         SORT l GET\nSORT l GET # GET\nSORT nokey GET #\nSORT l LIMIT 0 0 GET #\nSET 1 plain\nSORT l GET *\n\
         ZADD z 1 1 2 2\nSORT z GET o_* BY nosort DESC\nSADD s 1 2 3\nSORT s GET o_* GET # DESC",
    );
}

#[test]
fn store() {
    let mut d = Diff::new();
    d.check_script(
        "RPUSH l 3 1 2\nSORT l STORE dst\nLRANGE dst 0 -1\nTYPE dst\nOBJECT ENCODING dst\n\
         SET str v\nSORT l STORE str\nLRANGE str 0 -1\nHSET h f v\nSORT l DESC STORE h\nLRANGE h 0 -1\n\
         SADD s x\nSORT l STORE s\nTYPE s\nZADD z 1 m\nSORT l ALPHA STORE z\nLRANGE z 0 -1\n\
         SET ttl v EX 100\nSORT l STORE ttl\nTTL ttl\nSORT l STORE l\nLRANGE l 0 -1\nSORT l DESC STORE l\nLRANGE l 0 -1\n\
         SORT nokey STORE dst\nEXISTS dst\nSORT nokey STORE dst\nSORT l LIMIT 5 5 STORE l2\nEXISTS l2\n\
         RPUSH e a\nSORT l LIMIT 0 0 STORE e\nEXISTS e\n\
         SORT l GET nokey_* STORE dst\nLRANGE dst 0 -1\nLLEN dst\nMSET o_1 a o_3 c\nSORT l GET o_* GET # STORE dst\n\
         LRANGE dst 0 -1\nSORT l GET o_* GET # LIMIT 1 1 STORE dst\nLRANGE dst 0 -1\n\
         SORT l STORE a STORE b\nEXISTS a b\nstore\nSORT l store\nSORT l STORE dst LIMIT\nSORT l StOrE dst\nLRANGE dst 0 -1\n\
         SET str2 v\nSORT str2 STORE dst\nLRANGE dst 0 -1\nRPUSH bad a 1\nSORT bad STORE dst\nLRANGE dst 0 -1\n\
         SADD hs b a c\nSORT hs BY nosort STORE dst\nLRANGE dst 0 -1\n\
         ZADD zz 1 c 2 b 3 a\nSORT zz BY nosort STORE dst\nLRANGE dst 0 -1\nSORT zz BY nosort DESC LIMIT 1 1 STORE dst\nLRANGE dst 0 -1",
    );
    // ALPHA with STORE compares binary strings, without STORE as C strings.
    d.check_b(&[b"RPUSH", b"nul", b"a\x00b", b"a\x00a", b"a", b"A", b"\xff", b"\xc3\xa9", b"z"]);
    d.check_b(&[b"SORT", b"nul", b"ALPHA"]);
    d.check_b(&[b"SORT", b"nul", b"ALPHA", b"DESC"]);
    d.check_b(&[b"SORT", b"nul", b"ALPHA", b"STORE", b"dst"]);
    d.check_b(&[b"LRANGE", b"dst", b"0", b"-1"]);
    d.check_b(&[b"SORT", b"nul", b"ALPHA", b"DESC", b"STORE", b"dst"]);
    d.check_b(&[b"LRANGE", b"dst", b"0", b"-1"]);
}

#[test]
fn dirty_and_keyspace_stats() {
    let mut d = Diff::new();
    d.check_script(
        "RPUSH l 3 1 2\nSORT l STORE d\nSORT l GET # GET x_* STORE d\nSORT nokey STORE d\nSORT nokey STORE d\n\
         SET w_1 5\nHSET h_2 f 1\nSORT l BY w_* GET w_* GET # GET nothere GET x_*->f GET h_*->f\nSORT l BY nosort GET w_*\n\
         SORT l BY w_* ALPHA LIMIT 0 1\nSORT l BY h_*->f\nSORT nokey BY w_* GET w_*\nSORT_RO l GET #\n\
         SET str x\nSORT str BY w_*\nSORT l BY w_* LIMIT x 1\nRPUSH bad a\nSORT bad BY w_* GET w_*\n\
         SORT l LIMIT 0 0 STORE d\nSET d x PX 1",
    );
    std::thread::sleep(Duration::from_millis(20));
    d.check_script("SORT nokey STORE d\nSORT l LIMIT 0 1 STORE d2\nSET d3 x PX 1");
    std::thread::sleep(Duration::from_millis(20));
    d.check_script("SORT l STORE d3\nLRANGE d3 0 -1");
    d.same_info("stats", "keyspace_hits");
    d.same_info("stats", "keyspace_misses");
    d.same_info("persistence", "rdb_changes_since_last_save");
}

#[test]
fn score_parsing() {
    let mut d = Diff::new();
    let values: &[&[u8]] = &[
        b"",
        b" 1",
        b"1 ",
        b"\t2",
        b"\x0b7",
        b"\x0c7",
        b"\n\r 4",
        b" ",
        b"0x10",
        b"-0x1",
        b"0X1P-2",
        b"0x1p3",
        b"0x1.8p1",
        b"0x.8",
        b"0x1.",
        b"0x.p1",
        b"0x",
        b"0xg",
        b"0x1P",
        b"0x1p+",
        b"inf",
        b"-inf",
        b"INFINITY",
        b"iNf",
        b"infinit",
        b"infinityx",
        b"nan",
        b"-nan",
        b"nan(123)",
        b"nan()",
        b"1e400",
        b"-1e400",
        b"1e-400",
        b"2.5e-310",
        b"4.9e-324",
        b"1e-320",
        b"0e-400",
        b"0.0000e-99999",
        b"1e99999999999999999999",
        b"1e-99999999999999999999",
        b"2.2250738585072014e-308",
        b"2.2250738585072013e-308",
        b"2.2250738585072012e-308",
        b"2.2250738585072011e-308",
        b"1.7976931348623157e308",
        b"1.7976931348623158e308",
        b"1.797693134862315808e308",
        b"0x1p-1074",
        b"0x1p-1022",
        b"0x1.fffffffffffffp-1023",
        b"0x1.fffffffffffff8p-1023",
        b"0x1.fffffffffffff7p-1023",
        b"0x0.0000000000001p-1022",
        b"0x0.00000000000008p-1022",
        b"0x1.fffffffffffff8p1023",
        b"0x1.fffffffffffff7ffp1023",
        b"0x1p1024",
        b"0x1p-1075",
        b"0x1.0000000000000000000001p-1022",
        b"+5",
        b".5",
        b"5.",
        b"1.e5",
        b".e5",
        b".",
        b"-",
        b"+",
        b"+-1",
        b"1e",
        b"1e+",
        b"00012",
        b"1e0005",
        b"-0",
        b"3\x00x",
        b"\x001",
        b"\x00",
        b"1\x001e999",
        b"123456789012345678901234567890",
        b"1_000",
        b"\xff",
    ];
    // Redis never clears errno before its strtod: after a range error, later
    // SORTs fail on any non-integer score until something resets errno (a
    // ZADD does: it clears errno before parsing). ferrokv does not reproduce
    // that leak, so errno is reset before each SORT here.
    let sort = |d: &mut Diff, args: &[&str]| {
        d.check(&["ZADD", "errno_reset", "1.5", "x"]);
        d.check(args);
    };
    for v in values {
        d.check(&["DEL", "k", "w_a"]);
        d.check_b(&[b"RPUSH", b"k", v, b"0.5", b"-0.5"]);
        sort(&mut d, &["SORT", "k"]);
        sort(&mut d, &["SORT", "k", "DESC"]);
        d.check_b(&[b"SET", b"w_a", v]);
        d.check(&["RPUSH", "m", "a", "b"]);
        sort(&mut d, &["SORT", "m", "BY", "w_*"]);
        sort(&mut d, &["SORT", "m", "BY", "w_*", "STORE", "dst"]);
        d.check(&["LRANGE", "dst", "0", "-1"]);
        d.check(&["DEL", "m"]);
    }
    d.check(&["ZADD", "errno_reset", "1.5", "x"]);
    d.check_script(
        "RPUSH x 1 a 2\nSORT x\nSORT x ALPHA\nSORT x BY nosort\nSORT x LIMIT 0 0\nSORT x STORE dst\nEXISTS dst",
    );
}

#[test]
fn errors_and_wrongtype() {
    let mut d = Diff::new();
    d.check_script(
        "RPUSH l 1 2\nSET str v\nHSET h f v\nSORT\nSORT_RO\nSORT l foo\nSORT l LIMIT\nSORT l LIMIT 1\nSORT l LIMIT 1 2 3\n\
         SORT l LIMIT a 1\nSORT l LIMIT 1 a\nSORT l LIMIT a b\nSORT l BY\nSORT l GET\nSORT l STORE\nSORT l ASC foo\n\
         SORT_RO l STORE dst\nSORT_RO l store\nEXISTS dst\nSORT str\nSORT h\nSORT_RO str\nSORT str BY nosort\n\
         SORT str STORE dst\nSORT str LIMIT a b\nSORT str foo\nSORT h GET #\nSORT l \"ASC\\x00junk\"\nSORT l ALPHAX\n\
         SORT l LIMIT 0 1 BY\nSORT l BY w_* GET # STORE dst foo\nEXISTS dst\nSORT l LIMIT 1 2 GET\nSORT l ASC DESC ALPHA BY x GET y STORE\n\
         sort_ro l limit 0 1 by nosort get # desc alpha",
    );
}

#[test]
fn resp3_shapes() {
    let mut d = Diff::new();
    d.both(&["HELLO", "3"]);
    d.check_script(
        "RPUSH l 2 1 3\nSET o_1 x\nSORT l\nSORT l GET o_* GET #\nSORT nokey\nSORT l STORE dst\nSORT_RO l BY nosort GET nokey_*\n\
         SORT l LIMIT x 1\nSET bad q\nSORT bad\nRPUSH b a\nSORT b\nSORT l LIMIT 5 5",
    );
}

#[test]
fn sort_store_wakes_blocked_clients() {
    both_servers(|s| {
        let mut w = s.conn();
        let mut p = s.conn();
        p.cmd(&["RPUSH", "src", "3", "1", "2"]);
        w.send(&[b"BLPOP", b"dst", b"0"]);
        settle();
        let a = p.cmd(&["SORT", "src", "STORE", "dst"]);
        let got = w.read();
        let rest = p.cmd(&["LRANGE", "dst", "0", "-1"]);
        // A STORE with GETs and a LIMIT, to a blocked BLMOVE.
        w.send(&[b"BLMOVE", b"dst2", b"out", b"RIGHT", b"LEFT", b"0"]);
        settle();
        let b = p.cmd(&["SORT", "src", "DESC", "LIMIT", "0", "2", "GET", "#", "GET", "nokey_*", "STORE", "dst2"]);
        let got2 = w.read();
        let out = p.cmd(&["LRANGE", "out", "0", "-1"]);
        let rest2 = p.cmd(&["LRANGE", "dst2", "0", "-1"]);
        vec![a, got, rest, b, got2, out, rest2]
    });
}

#[test]
fn sort_store_that_overwrites_or_stores_nothing_wakes_nobody() {
    both_servers(|s| {
        let mut w = s.conn();
        let mut p = s.conn();
        p.cmd(&["RPUSH", "src", "3", "1", "2"]);
        // Empty result: the destination stays missing.
        w.send(&[b"BLPOP", b"dst", b"0.4"]);
        settle();
        let a = p.cmd(&["SORT", "nokey", "STORE", "dst"]);
        let got = w.read();
        // Overwriting an existing key does not signal it (Redis's dbOverwrite).
        w.send(&[b"BLPOP", b"k", b"0.4"]);
        settle();
        p.cmd(&["SET", "k", "x"]);
        let b = p.cmd(&["SORT", "src", "STORE", "k"]);
        let got2 = w.read();
        let rest = p.cmd(&["LRANGE", "k", "0", "-1"]);
        vec![a, got, b, got2, rest]
    });
}

// ---------------------------------------------------------------------------
// Randomized differential run
// ---------------------------------------------------------------------------

/// How replies of one invocation can be compared.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Cmp {
    Exact,
    /// Order depends on hash order: compare as multisets.
    Unordered,
    /// Which elements come out depends on hash order: compare the count.
    Count,
}

fn normalize(r: Resp, how: Cmp) -> Resp {
    match (how, &r) {
        (Cmp::Exact, _) => r,
        (Cmp::Unordered, _) => r.sorted(),
        (Cmp::Count, Resp::Array(Some(v))) => Resp::Int(v.len() as i64),
        (Cmp::Count, _) => r,
    }
}

const NUMS: &[&str] = &["0", "1", "2", "3", "10", "-1", "-7", "1.5", "01", "2.0", "-0", "100", "7", "1e2", "0.5"];
const WORDS: &[&str] = &["a", "b", "B", "ab", "ba", "aa", "z", "", "x y", "A", "1a", "é"];

fn element(r: &mut StdRng, numeric: bool) -> String {
    if numeric || r.gen_bool(0.6) {
        NUMS[r.gen_range(0..NUMS.len())].to_string()
    } else {
        WORDS[r.gen_range(0..WORDS.len())].to_string()
    }
}

fn weight(r: &mut StdRng) -> String {
    match r.gen_range(0..10) {
        0..=3 => r.gen_range(-3..4).to_string(),
        4 => "x".into(),
        5 => "1.5".into(),
        6 => "".into(),
        _ => ["a", "b", "c"][r.gen_range(0..3)].into(),
    }
}

/// Fills the source keys and the weight keys.
fn populate(d: &mut Diff, r: &mut StdRng) {
    d.check(&["FLUSHALL"]);
    let mut all: Vec<String> = NUMS.iter().chain(WORDS).map(|s| s.to_string()).collect();
    for i in 0..3 {
        let numeric = i != 2;
        let n = r.gen_range(0..55);
        let mut cmd: Vec<String> = vec!["RPUSH".into(), format!("l{i}")];
        cmd.extend((0..n).map(|_| element(r, numeric)));
        if n > 0 {
            let refs: Vec<&str> = cmd.iter().map(|s| s.as_str()).collect();
            d.check(&refs);
        }
        // s0: an intset; s1: numbers in a hash table; s2: mixed.
        let n = r.gen_range(1..40);
        let mut cmd: Vec<String> = vec!["SADD".into(), format!("s{i}")];
        for _ in 0..n {
            cmd.push(match i {
                0 => r.gen_range(-50..200).to_string(),
                1 => element(r, true),
                _ => element(r, false),
            });
        }
        let refs: Vec<&str> = cmd.iter().map(|s| s.as_str()).collect();
        d.check(&refs);
        let n = r.gen_range(1..40);
        let mut cmd: Vec<String> = vec!["ZADD".into(), format!("z{i}")];
        for _ in 0..n {
            cmd.push(r.gen_range(-3..4).to_string());
            cmd.push(if i == 2 { element(r, false) } else { r.gen_range(-20..60).to_string() });
        }
        let refs: Vec<&str> = cmd.iter().map(|s| s.as_str()).collect();
        d.check(&refs);
    }
    all.extend((-50..200).map(|i| i.to_string()));
    for e in &all {
        if r.gen_bool(0.5) {
            d.check(&["SET", &format!("w_{e}"), &weight(r)]);
        }
        if r.gen_bool(0.4) {
            d.check(&["HSET", &format!("h_{e}"), "f", &weight(r), "g", &weight(r)]);
        }
    }
    d.check(&["SET", "str", "v"]);
}

#[test]
fn randomized_against_redis() {
    let seed: u64 =
        std::env::var("SORT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| rand::thread_rng().gen());
    println!("SORT_SEED={seed}");
    let mut r = StdRng::seed_from_u64(seed);
    let mut d = Diff::new();
    populate(&mut d, &mut r);
    let sources = ["l0", "l1", "l2", "s0", "s1", "s2", "z0", "z1", "z2", "nokey", "str", "w_1"];
    let by_pats = ["nosort", "w_*", "h_*->f", "h_*->g", "const", "w_*->f", "nokey_*", "#"];
    let get_pats = ["#", "w_*", "h_*->f", "nokey_*", "h_*->g", "const"];
    let dsts = ["dst", "dst", "l1", "s1", "z0", "str", "w_2"];
    for i in 0..400 {
        if i % 100 == 99 {
            populate(&mut d, &mut r);
        }
        let src = sources[r.gen_range(0..sources.len())];
        let ro = r.gen_bool(0.2);
        let mut args: Vec<String> = vec![if ro { "SORT_RO" } else { "SORT" }.into(), src.into()];
        let mut dontsort = false;
        let mut by_star = false;
        let mut alpha = false;
        let mut limit = false;
        let mut store = false;
        for _ in 0..r.gen_range(0..5) {
            match r.gen_range(0..12) {
                0 => args.push("ASC".into()),
                1 | 2 => args.push("DESC".into()),
                3 | 4 => {
                    args.push("ALPHA".into());
                    alpha = true;
                }
                5 | 6 => {
                    let a = ["0", "1", "3", "-2", "10", "60", "100"][r.gen_range(0..7)];
                    let b = ["0", "1", "2", "5", "-1", "30", "1000"][r.gen_range(0..7)];
                    args.extend(["LIMIT".into(), a.into(), b.into()]);
                    limit = true;
                }
                7 | 8 => {
                    let p = by_pats[r.gen_range(0..by_pats.len())];
                    args.extend(["BY".into(), p.into()]);
                    by_star = p.contains('*');
                    dontsort |= !by_star;
                }
                9 | 10 => {
                    let p = get_pats[r.gen_range(0..get_pats.len())];
                    args.extend(["GET".into(), p.into()]);
                }
                _ => {
                    if r.gen_bool(0.8) {
                        args.extend(["STORE".into(), dsts[r.gen_range(0..dsts.len())].into()]);
                        store = !ro;
                    } else {
                        args.push("foo".into());
                    }
                }
            }
        }
        if r.gen_bool(0.03) {
            // A last option missing its arguments.
            args.push(["BY", "LIMIT", "GET", "STORE"][r.gen_range(0..4)].into());
        }
        // How the source's order could leak into the reply.
        let ty = d.check(&["TYPE", src]).text();
        let enc = d.check(&["OBJECT", "ENCODING", src]).text();
        let hash_set = ty == "set" && enc == "hashtable";
        // An unsorted hash-table set, or equal ALPHA weights of elements
        // taken in hash order (sets and sorted sets).
        let hash_order =
            (hash_set && dontsort && !store) || ((hash_set || ty == "zset") && !dontsort && by_star && alpha);
        let how = if hash_order {
            if limit {
                Cmp::Count
            } else {
                Cmp::Unordered
            }
        } else {
            Cmp::Exact
        };
        let refs: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        let before = stats(&mut d);
        let fr = d.f.cmd_b(&refs);
        let rr = d.r.cmd_b(&refs);
        let after = stats(&mut d);
        let delta = |i: usize| (after[i] - before[i], after[i + 1] - before[i + 1]);
        // GET lookups follow the output: only comparable when it is.
        let has_get = args.iter().any(|a| a == "GET");
        assert!(
            how != Cmp::Exact && has_get || delta(0) == delta(2),
            "#{i} {args:?}: keyspace hits/misses differ (SORT_SEED={seed}): {:?} {:?}",
            delta(0),
            delta(2)
        );
        if normalize(fr.clone(), how) != normalize(rr.clone(), how) {
            panic!("#{i} {args:?} ({how:?}) differed (SORT_SEED={seed})\n  ferrokv: {fr:?}\n  redis:   {rr:?}");
        }
        if store && !fr.is_error() {
            let dst = args[args.iter().rposition(|a| a == "STORE").unwrap_or(0) + 1].clone();
            let fl = d.f.cmd(&["LRANGE", &dst, "0", "-1"]);
            let rl = d.r.cmd(&["LRANGE", &dst, "0", "-1"]);
            if normalize(fl.clone(), how) != normalize(rl.clone(), how) {
                panic!("#{i} {args:?}: stored lists differ (SORT_SEED={seed})\n  ferrokv: {fl:?}\n  redis:   {rl:?}");
            }
            if how != Cmp::Exact {
                // Keep the data identical on both sides.
                d.check(&["DEL", &dst]);
            }
        }
    }
}

/// keyspace_hits and keyspace_misses of ferrokv, then of Redis.
fn stats(d: &mut Diff) -> [i64; 4] {
    let mut v = [0i64; 4];
    for (i, c) in [&mut d.f, &mut d.r].into_iter().enumerate() {
        v[2 * i] = info_field(c, "stats", "keyspace_hits").parse().unwrap_or(-1);
        v[2 * i + 1] = info_field(c, "stats", "keyspace_misses").parse().unwrap_or(-1);
    }
    v
}

#[test]
fn watch_sees_sort_store() {
    both_servers(|s| {
        let mut w = s.conn();
        let mut p = s.conn();
        p.cmd(&["RPUSH", "src", "2", "1"]);
        let mut out = Vec::new();
        // A stored result, an emptied destination, and a SORT that changes nothing.
        for (setup, cmd) in [
            (None, vec!["SORT", "src", "STORE", "dst"]),
            (Some(vec!["SET", "dst", "x"]), vec!["SORT", "nokey", "STORE", "dst"]),
            (None, vec!["SORT", "nokey", "STORE", "dst"]),
            (Some(vec!["ZADD", "dst", "1", "a"]), vec!["SORT", "dst"]),
        ] {
            if let Some(c) = setup {
                out.push(p.cmd(&c));
            }
            out.push(w.cmd(&["WATCH", "dst"]));
            out.push(p.cmd(&cmd));
            out.push(w.cmd(&["MULTI"]));
            out.push(w.cmd(&["PING"]));
            out.push(w.cmd(&["EXEC"]));
        }
        out
    });
}

#[test]
fn binary_patterns_and_options() {
    // Redis reads patterns and option names as C strings (up to a NUL) in
    // places, and as binary strings in others.
    let mut d = Diff::new();
    d.check_script("RPUSH l 2 1 3\nMSET w_1 9 w_2 8 w_3 7 o_1 a\nHSET h_1 f one\nHSET h_2 \"f\\x00g\" two");
    d.check_b(&[b"SET", b"w_1\x00x", b"1"]);
    d.check_b(&[b"SET", b"w_", b"plain"]);
    for p in [
        &b"w_*\x00x"[..],
        b"w_\x00*",
        b"#\x00abc",
        b"#\x00",
        b"\x00*",
        b"h_*->f\x00g",
        b"h_*->\x00f",
        b"h_*-\x00>f",
        b"h_*->f",
        b"*\x00->f",
    ] {
        d.check_b(&[b"SORT", b"l", b"GET", p]);
        d.check_b(&[b"SORT", b"l", b"BY", p]);
        d.check_b(&[b"SORT", b"l", b"BY", p, b"ALPHA"]);
        d.check_b(&[b"SORT", b"l", b"BY", p, b"GET", b"#", b"GET", p, b"STORE", b"dst"]);
        d.check_b(&[b"LRANGE", b"dst", b"0", b"-1"]);
    }
    d.check_b(&[b"SORT", b"l", b"DESC\x00x", b"LIMIT\x00", b"0", b"2"]);
    d.check_b(&[b"SORT", b"l", b"GET\x00", b"o_*", b"BY\x00y", b"nosort"]);
    d.check_b(&[b"SORT", b"l", b"STORE\x00", b"dst"]);
    d.check_b(&[b"SORT", b"l", b"LIMIT", b"0\x00", b"1"]);
    d.check_b(&[b"SORT_RO", b"l", b"STORE\x00", b"dst"]);
    d.check_b(&[b"SORT", b"l", b"DESC\x00", b"ALPHA"]);
}
