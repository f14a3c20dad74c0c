//! Hash commands compared reply by reply with real Redis: every command, option
//! and error, encoding conversions (listpack → hashtable by count and by
//! length, never back), WRONGTYPE, emptied keys, RESP3 shapes, HRANDFIELD and
//! HSCAN semantics, and a randomized differential run (seed printed, replay
//! with FERROKV_SEED).

mod common;
use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{HashMap, HashSet};

// ---------------------------------------------------------------------------
// Normalizers for replies whose order is unspecified (hashtable encoding)
// ---------------------------------------------------------------------------

fn key_of(r: &Resp) -> String {
    format!("{r:?}")
}

/// A flat field/value array (RESP2 HGETALL) or a map, with pairs sorted.
fn sort_pairs(r: Resp) -> Resp {
    match r {
        Resp::Array(Some(v)) => {
            let mut pairs: Vec<(Resp, Resp)> = v.chunks(2).map(|c| (c[0].clone(), c[1].clone())).collect();
            pairs.sort_by_key(|(k, _)| key_of(k));
            Resp::Array(Some(pairs.into_iter().flat_map(|(a, b)| [a, b]).collect()))
        }
        Resp::Map(mut m) => {
            m.sort_by_key(|(k, _)| key_of(k));
            Resp::Map(m)
        }
        other => other,
    }
}

/// An array of scalars or of [field, value] arrays, sorted.
fn sort_elems(r: Resp) -> Resp {
    r.sorted()
}

/// A HSCAN reply with its element pairs sorted.
fn sort_scan(r: Resp) -> Resp {
    match r {
        Resp::Array(Some(v)) if v.len() == 2 => Resp::Array(Some(vec![v[0].clone(), sort_pairs(v[1].clone())])),
        other => other,
    }
}

/// The shape of a random reply: scalars replaced by a marker, lengths kept.
fn shape(r: Resp) -> Resp {
    match r {
        Resp::Bulk(Some(_)) => Resp::bulk("*"),
        Resp::Array(Some(v)) => Resp::Array(Some(v.into_iter().map(shape).collect())),
        other => other,
    }
}

/// Field/value pairs of a HGETALL reply (either protocol).
fn pairs_of(r: &Resp) -> Vec<(String, String)> {
    r.items().chunks(2).map(|c| (c[0].text(), c[1].text())).collect()
}

// ---------------------------------------------------------------------------
// Commands and errors
// ---------------------------------------------------------------------------

#[test]
fn hset_hget_and_friends() {
    let mut d = Diff::new();
    d.check_script(
        "HSET h a 1 b 2 c hello\nHSET h a 10 d 4\nHGET h a\nHGET h nofield\nHGET nokey a\n\
         HMGET h a b nofield c\nHMGET nokey a b\nHLEN h\nHLEN nokey\n\
         HEXISTS h a\nHEXISTS h nofield\nHEXISTS nokey a\n\
         HSTRLEN h c\nHSTRLEN h a\nHSTRLEN h nofield\nHSTRLEN nokey a\n\
         HKEYS h\nHVALS h\nHGETALL h\nHKEYS nokey\nHVALS nokey\nHGETALL nokey\n\
         HSET h '' ''\nHGET h ''\nHSTRLEN h ''\nHGETALL h\nTYPE h\nOBJECT ENCODING h",
    );
}

#[test]
fn integer_looking_fields_and_values_read_back_exactly() {
    let mut d = Diff::new();
    d.check_script(
        "HSET h 0 0 -0 -0 007 007 +1 +1 63 63 64 64 -1 -1 127 128 -128 -129 32767 32768\n\
         HSET h 9223372036854775807 9223372036854775807 -9223372036854775808 -9223372036854775808\n\
         HSET h 9223372036854775808 -9223372036854775809 1.5 1e3 ' 1' '1 ' 12345678901 -98765432109876\n\
         HGETALL h\nHGET h 0\nHGET h -0\nHGET h 007\nHGET h 7\nHGET h 1\nHGET h +1\n\
         HSTRLEN h 9223372036854775807\nHSTRLEN h -128\nHSTRLEN h 12345678901\nHEXISTS h 00\n\
         HDEL h 007 7 -0 0\nHGETALL h\nOBJECT ENCODING h",
    );
}

#[test]
fn hmset_and_hsetnx() {
    let mut d = Diff::new();
    d.check_script(
        "HMSET h a 1 b 2\nHMSET h a 3\nHGETALL h\nHMSET h a\nHMSET h a 1 b\nHMSET h\n\
         HSETNX h a 100\nHSETNX h z 26\nHSETNX new f v\nHGETALL h\nHGETALL new\nHSETNX h\nHSETNX h a\n\
         HSET h a\nHSET h a 1 b\nHSET h\nHSET nokey a\nEXISTS nokey",
    );
}

#[test]
fn hdel_and_emptied_keys() {
    let mut d = Diff::new();
    d.check_script(
        "HSET h a 1 b 2 c 3\nHDEL h a a nofield\nHDEL h nofield\nHLEN h\nHDEL h b c a\nEXISTS h\nTYPE h\n\
         HDEL nokey a\nHDEL h\nHSET h x 1\nHDEL h x\nEXISTS h\nHGETALL h",
    );
    // Emptied hashtable-encoded hash.
    let big: Vec<String> = (0..600).map(|i| format!("f{i}")).collect();
    let mut args = vec!["HSET".to_string(), "big".into()];
    for f in &big {
        args.push(f.clone());
        args.push("v".into());
    }
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    d.check(&a);
    d.check(&["OBJECT", "ENCODING", "big"]);
    let mut del = vec!["HDEL".to_string(), "big".into()];
    del.extend(big.iter().cloned());
    del.push("f0".into());
    let a: Vec<&str> = del.iter().map(|s| s.as_str()).collect();
    d.check(&a);
    d.check(&["EXISTS", "big"]);
}

#[test]
fn hincrby() {
    let mut d = Diff::new();
    d.check_script(
        "HINCRBY h a 5\nHINCRBY h a -12\nHINCRBY h a 0\nHGET h a\nHINCRBY nokey f x\nEXISTS nokey\n\
         HINCRBY h a 1.5\nHINCRBY h a ''\nHINCRBY h a 9223372036854775808\nHINCRBY h a -0\nHINCRBY h a +1\n\
         HSET h big 9223372036854775806 small -9223372036854775807 s hello sp ' 1' f 1.0 z 0\n\
         HINCRBY h big 1\nHINCRBY h big 1\nHINCRBY h small -1\nHINCRBY h small -1\nHINCRBY h small 9223372036854775807\n\
         HINCRBY h s 1\nHINCRBY h sp 1\nHINCRBY h f 1\nHINCRBY h z -9223372036854775808\n\
         HINCRBY h z -1\nHINCRBY h z -9223372036854775808\nHGETALL h\nHINCRBY h\nHINCRBY h a 1 2",
    );
}

#[test]
fn hincrbyfloat() {
    let mut d = Diff::new();
    d.check_script(
        "HINCRBYFLOAT h a 10.5\nHINCRBYFLOAT h a 0.1\nHINCRBYFLOAT h b 5.0e3\nHINCRBYFLOAT h b 2.0e2\n\
         HINCRBYFLOAT h c 1\nHINCRBYFLOAT h c -1\nHINCRBYFLOAT h d -0\nHINCRBYFLOAT h d 1e-20\nHINCRBYFLOAT h e 3.0e-5\n\
         HINCRBYFLOAT h f 1e17\nHINCRBYFLOAT h f 0.5\nHINCRBYFLOAT h g 123456789012345678901234567890\n\
         HINCRBYFLOAT h a inf\nHINCRBYFLOAT h a -inf\nHINCRBYFLOAT h a +inf\nHINCRBYFLOAT h a nan\nHINCRBYFLOAT h a abc\n\
         HINCRBYFLOAT h a ''\nHINCRBYFLOAT h a ' 1'\nHINCRBYFLOAT h a '1 '\nHINCRBYFLOAT h a 0x10\nHINCRBYFLOAT h a 1e\n\
         HSET h s hello n 100 sp ' 2' x 7.5e0\nHINCRBYFLOAT h s 1\nHINCRBYFLOAT h sp 1\nHINCRBYFLOAT h n 0.25\n\
         HINCRBYFLOAT h x 1\nHINCRBYFLOAT nokey f abc\nEXISTS nokey\nHINCRBYFLOAT nokey f inf\nEXISTS nokey\n\
         HINCRBYFLOAT big f 1e4932\nHINCRBYFLOAT big f 1e4932\nHGET big f\nHINCRBYFLOAT big f -1e4932\nHGET big f\n\
         HGETALL h\nOBJECT ENCODING h\nHINCRBYFLOAT h\nHINCRBYFLOAT h a 1 2",
    );
}

#[test]
fn hrandfield_errors_and_deterministic_cases() {
    let mut d = Diff::new();
    d.check_script(
        "HRANDFIELD nokey\nHRANDFIELD nokey 5\nHRANDFIELD nokey -5 WITHVALUES\nHRANDFIELD nokey 0\n\
         HSET h a 1 b 2 c 3\nHRANDFIELD h 0\nHRANDFIELD h 0 WITHVALUES\nHRANDFIELD h 3\nHRANDFIELD h 10 WITHVALUES\n\
         HRANDFIELD h 9223372036854775807\nHRANDFIELD h x\nHRANDFIELD h 1.5\nHRANDFIELD h 1 withvalue\n\
         HRANDFIELD h 1 WITHVALUES x\nHRANDFIELD h -9223372036854775808\nHRANDFIELD h -9223372036854775807 WITHVALUES\n\
         HRANDFIELD h 4611686018427387904 WITHVALUES\nHRANDFIELD h -4611686018427387904 WITHVALUES\n\
         HRANDFIELD h 4611686018427387903 withvalues\nHRANDFIELD nokey x\nHRANDFIELD nokey 1 bad\n\
         HSET one only 1\nHRANDFIELD one\nHRANDFIELD one 1\nHRANDFIELD one -3\nHRANDFIELD one -3 WITHVALUES\n\
         HRANDFIELD one 1 WITHVALUES\nHRANDFIELD one 5 WITHVALUES",
    );
}

/// Checks a HRANDFIELD reply against the hash contents.
fn check_rand(reply: &Resp, all: &HashMap<String, String>, count: i64, withvalues: bool, resp3: bool) {
    let items = reply.items();
    let mut picked: Vec<String> = Vec::new();
    if withvalues && resp3 {
        for it in &items {
            let p = it.items();
            assert_eq!(p.len(), 2, "pair shape {reply:?}");
            assert_eq!(all.get(&p[0].text()), Some(&p[1].text()), "value of {:?}", p[0]);
            picked.push(p[0].text());
        }
    } else if withvalues {
        for c in items.chunks(2) {
            assert_eq!(all.get(&c[0].text()), Some(&c[1].text()));
            picked.push(c[0].text());
        }
    } else {
        picked = items.iter().map(|x| x.text()).collect();
    }
    for p in &picked {
        assert!(all.contains_key(p), "{p} is not a field");
    }
    let want = if count < 0 { (-count) as usize } else { (count as usize).min(all.len()) };
    assert_eq!(picked.len(), want, "reply {reply:?}");
    if count > 0 {
        let uniq: HashSet<&String> = picked.iter().collect();
        assert_eq!(uniq.len(), picked.len(), "positive count gives distinct fields: {reply:?}");
    }
}

#[test]
fn hrandfield_random_cases() {
    let s = Server::ferrokv();
    for resp3 in [false, true] {
        let mut c = s.conn();
        if resp3 {
            c.cmd(&["HELLO", "3"]);
        }
        for (key, n) in [("small", 10usize), ("big", 1000)] {
            let mut all = HashMap::new();
            c.cmd(&["DEL", key]);
            for i in 0..n {
                let (f, v) = (format!("f{i}"), format!("v{i}"));
                c.cmd(&["HSET", key, &f, &v]);
                all.insert(f, v);
            }
            let enc = c.cmd(&["OBJECT", "ENCODING", key]).text();
            assert_eq!(enc, if n > 512 { "hashtable" } else { "listpack" });
            let f = c.cmd(&["HRANDFIELD", key]).text();
            assert!(all.contains_key(&f));
            for count in [1i64, 2, 3, 5, 9, 10, 11, 100, 300, 334, 400, 999, 1000, 2000, -1, -5, -20, -3000] {
                for wv in [false, true] {
                    let cs = count.to_string();
                    let mut args = vec!["HRANDFIELD", key, &cs];
                    if wv {
                        args.push("WITHVALUES");
                    }
                    let r = c.cmd(&args);
                    check_rand(&r, &all, count, wv, resp3);
                }
            }
        }
    }
    // Distinct picks spread over the hash (not always the same few fields).
    let mut c = s.conn();
    let mut seen = HashSet::new();
    for _ in 0..50 {
        for x in c.cmd(&["HRANDFIELD", "big", "5"]).items() {
            seen.insert(x.text());
        }
    }
    assert!(seen.len() > 100, "only {} distinct fields", seen.len());
    let mut seen = HashSet::new();
    for _ in 0..200 {
        seen.insert(c.cmd(&["HRANDFIELD", "small"]).text());
    }
    assert_eq!(seen.len(), 10);
}

#[test]
fn hscan_options_and_errors() {
    let mut d = Diff::new();
    d.check_script(
        "HSCAN nokey 0\nHSCAN nokey 0 COUNT 0\nHSCAN nokey 0 BADOPT\nHSCAN nokey abc\n\
         HSET h a 1 b 2 c 3 ab 4 1 one 22 two\nHSCAN h 0\nHSCAN h 17\nHSCAN h 0 COUNT 1\nHSCAN h 0 MATCH a*\n\
         HSCAN h 0 MATCH *b* COUNT 100\nHSCAN h 0 MATCH 2?\nHSCAN h 0 match [ab] count 2 match a*\n\
         HSCAN h 0 COUNT 0\nHSCAN h 0 COUNT -1\nHSCAN h 0 COUNT x\nHSCAN h 0 COUNT\nHSCAN h 0 MATCH\nHSCAN h 0 TYPE string\n\
         HSCAN h x\nHSCAN h -1\nHSCAN h 18446744073709551615\nHSCAN h 18446744073709551616\nHSCAN h ''\nHSCAN h 0 NOVALUES\n\
         HSCAN h\nHSCAN h 0 COUNT 9223372036854775807",
    );
}

#[test]
fn hscan_hashtable_returns_every_field() {
    let mut d = Diff::new();
    let mut args: Vec<String> = vec!["HSET".into(), "h".into()];
    for i in 0..1500 {
        args.push(format!("field:{i}"));
        args.push(format!("{i}"));
    }
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    d.check(&a);
    d.check(&["OBJECT", "ENCODING", "h"]);
    for (count, pattern) in [(None, None), (Some("1"), None), (Some("7"), Some("field:1*")), (Some("200"), Some("*9"))]
    {
        let mut seen: HashMap<String, String> = HashMap::new();
        let mut cursor = "0".to_string();
        let mut calls = 0;
        loop {
            let mut cmd = vec!["HSCAN", "h", cursor.as_str()];
            if let Some(c) = count {
                cmd.extend(["COUNT", c]);
            }
            if let Some(p) = pattern {
                cmd.extend(["MATCH", p]);
            }
            let r = d.f.cmd(&cmd);
            let parts = r.items();
            let next = parts[0].text();
            for (f, v) in pairs_of(&parts[1]) {
                seen.insert(f, v);
            }
            calls += 1;
            if next == "0" {
                break;
            }
            cursor = next;
            assert!(calls < 10000, "HSCAN does not terminate");
        }
        let want: HashMap<String, String> = (0..1500)
            .map(|i| (format!("field:{i}"), format!("{i}")))
            .filter(|(f, _)| match pattern {
                Some("field:1*") => f.starts_with("field:1"),
                Some("*9") => f.ends_with('9'),
                _ => true,
            })
            .collect();
        assert_eq!(seen, want, "count {count:?} pattern {pattern:?}");
        if count == Some("1") {
            assert!(calls > 100, "COUNT 1 should take many calls, took {calls}");
        }
    }
    // A full scan in one call when COUNT covers the hash, same set as Redis.
    d.check_with(&[b"HSCAN", b"h", b"0", b"COUNT", b"5000"], sort_scan);
    d.check_with(&[b"HSCAN", b"h", b"0", b"COUNT", b"5000", b"MATCH", b"field:14*"], sort_scan);
}

#[test]
fn hscan_guarantee_while_the_hash_changes() {
    let s = Server::ferrokv();
    let mut c = s.conn();
    for i in 0..300 {
        c.cmd(&["HSET", "h", &format!("stay{i}"), "1"]);
    }
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    let mut round = 0;
    loop {
        let r = c.cmd(&["HSCAN", "h", &cursor, "COUNT", "5"]);
        let parts = r.items();
        for (f, _) in pairs_of(&parts[1]) {
            seen.insert(f);
        }
        round += 1;
        if round < 30 {
            for j in 0..50 {
                c.cmd(&["HSET", "h", &format!("tmp{round}_{j}"), "x"]);
            }
        } else {
            let keys = c.cmd(&["HKEYS", "h"]).items();
            let tmp: Vec<String> = keys.iter().map(|k| k.text()).filter(|k| k.starts_with("tmp")).take(200).collect();
            if !tmp.is_empty() {
                let mut a = vec!["HDEL", "h"];
                a.extend(tmp.iter().map(|s| s.as_str()));
                c.cmd(&a);
            }
        }
        cursor = parts[0].text();
        if cursor == "0" {
            break;
        }
    }
    for i in 0..300 {
        assert!(seen.contains(&format!("stay{i}")), "missing stay{i}");
    }
}

#[test]
fn wrongtype_everywhere() {
    let mut d = Diff::new();
    d.check_script(
        "SET s x\nRPUSH l a\nHSET s a 1\nHMSET s a 1\nHSETNX s a 1\nHGET s a\nHMGET s a\nHDEL s a\nHLEN s\n\
         HSTRLEN s a\nHEXISTS s a\nHKEYS s\nHVALS s\nHGETALL s\nHINCRBY s a 1\nHINCRBYFLOAT s a 1\n\
         HRANDFIELD s\nHRANDFIELD s 2\nHRANDFIELD s -2 WITHVALUES\nHSCAN s 0\nHSCAN s 0 BADOPT\nHSCAN s 0 COUNT 0\nGET s\n\
         HSET h a 1\nGET h\nAPPEND h x\nINCR h\nSTRLEN h\nTYPE h\nTYPE s\n\
         HINCRBY s a x\nHINCRBYFLOAT s a x\nHINCRBYFLOAT s a inf\nHRANDFIELD s 1 bad\nHSCAN s x",
    );
}

#[test]
fn dirty_counter_and_keyspace_hits_match_redis() {
    let mut d = Diff::new();
    let script = "HSET h a 1 b 2 c 3\nHSET h a 1\nHMSET h x 1 y 2\nHSETNX h a 1\nHSETNX h n 1\nHDEL h a zz b\nHDEL nokey a\n\
                  HINCRBY h c 1\nHINCRBY h a x\nHINCRBYFLOAT h c 1.5\nHINCRBYFLOAT h y abc\nHGET h c\nHGET nokey c\n\
                  HMGET h a\nHMGET nokey a\nHLEN h\nHLEN nokey\nHSTRLEN h c\nHEXISTS nokey a\nHKEYS h\nHVALS nokey\n\
                  HGETALL h\nHRANDFIELD h 100\nHRANDFIELD nokey 2\nHSCAN h 0\nHSCAN nokey 0\nHDEL h c x y n\nHSET s a 1\nHGET s a";
    d.check_script(script);
    for (section, field) in
        [("persistence", "rdb_changes_since_last_save"), ("stats", "keyspace_hits"), ("stats", "keyspace_misses")]
    {
        let f = info_field(&mut d.f, section, field);
        let r = info_field(&mut d.r, section, field);
        assert_eq!(f, r, "{field}");
    }
}

// ---------------------------------------------------------------------------
// Encodings
// ---------------------------------------------------------------------------

/// Builds `HSET key f0 v0 ...` for fields `from..to`.
fn hset_range(key: &str, from: usize, to: usize) -> Vec<String> {
    let mut a = vec!["HSET".to_string(), key.to_string()];
    for i in from..to {
        a.push(format!("f{i}"));
        a.push(format!("v{i}"));
    }
    a
}

fn check_owned(d: &mut Diff, a: &[String]) -> Resp {
    let r: Vec<&str> = a.iter().map(|s| s.as_str()).collect();
    d.check(&r)
}

#[test]
fn encoding_by_count_default_threshold() {
    let mut d = Diff::new();
    d.check(&["CONFIG", "GET", "hash-max-listpack-entries"]);
    check_owned(&mut d, &hset_range("h", 0, 512));
    d.check(&["OBJECT", "ENCODING", "h"]);
    d.check(&["HGETALL", "h"]);
    d.check(&["HSET", "h", "f0", "updated"]);
    d.check(&["OBJECT", "ENCODING", "h"]);
    d.check(&["HSET", "h", "one-more", "x"]);
    d.check(&["OBJECT", "ENCODING", "h"]);
    d.check(&["HLEN", "h"]);
    // Never converted back.
    let mut del = vec!["HDEL".to_string(), "h".into()];
    del.extend((1..512).map(|i| format!("f{i}")));
    check_owned(&mut d, &del);
    d.check(&["HLEN", "h"]);
    d.check(&["OBJECT", "ENCODING", "h"]);
    d.check_with(&[b"HGETALL", b"h"], sort_pairs);
    // One HSET crossing the threshold in the middle of its pairs.
    check_owned(&mut d, &hset_range("g", 0, 500));
    check_owned(&mut d, &hset_range("g", 490, 520));
    d.check(&["OBJECT", "ENCODING", "g"]);
    d.check(&["HLEN", "g"]);
    // HSETNX and HINCRBY adding the 513th field.
    for (k, cmd) in [("n1", "HSETNX"), ("n2", "HINCRBY"), ("n3", "HINCRBYFLOAT")] {
        check_owned(&mut d, &hset_range(k, 0, 512));
        d.check(&[cmd, k, "new", "1"]);
        d.check(&["OBJECT", "ENCODING", k]);
    }
}

#[test]
fn encoding_by_count_configured() {
    let mut d = Diff::new();
    d.check_script(
        "CONFIG SET hash-max-listpack-entries 4\nHSET h a 1 b 2 c 3 d 4\nOBJECT ENCODING h\nHSET h e 5\nOBJECT ENCODING h\n\
         HDEL h a b c d\nOBJECT ENCODING h\nHGETALL h\n\
         CONFIG SET hash-max-listpack-entries 0\nHSET z a 1\nOBJECT ENCODING z\nHSETNX y a 1\nOBJECT ENCODING y\n\
         HINCRBY x a 1\nOBJECT ENCODING x\n\
         CONFIG SET hash-max-listpack-entries 128\nCONFIG SET hash-max-ziplist-entries 2\nHSET w a 1 b 2\nOBJECT ENCODING w\n\
         HSET w c 3\nOBJECT ENCODING w\nCONFIG SET hash-max-listpack-entries 512\n\
         HSET u a 1 b 2 c 3\nHSET v a 1 b 2 c 3\nHSET t a 1 b 2 c 3\nCONFIG SET hash-max-listpack-entries 2\n\
         HSETNX u a 5\nHGET u a\nOBJECT ENCODING u\nHDEL u c\nOBJECT ENCODING u\nHSET u a 9\nOBJECT ENCODING u\n\
         HSET v a 9\nOBJECT ENCODING v\nHINCRBY t a 1\nOBJECT ENCODING t\nCONFIG SET hash-max-listpack-entries 512\n\
         HSET s a 1 b 2\nCONFIG SET hash-max-listpack-value 0\nHSETNX s a 1\nOBJECT ENCODING s\nHSET s a 1\n\
         OBJECT ENCODING s\nCONFIG SET hash-max-listpack-value 64",
    );
}

#[test]
fn encoding_by_length() {
    let mut d = Diff::new();
    let v64 = "v".repeat(64);
    let v65 = "v".repeat(65);
    let f64 = "f".repeat(64);
    let f65 = "f".repeat(65);
    d.check(&["HSET", "a", "f", &v64, &f64, "x"]);
    d.check(&["OBJECT", "ENCODING", "a"]);
    d.check(&["HSET", "a", "g", &v65]);
    d.check(&["OBJECT", "ENCODING", "a"]);
    d.check(&["HDEL", "a", "g"]);
    d.check(&["OBJECT", "ENCODING", "a"]);
    d.check_with(&[b"HGETALL", b"a"], sort_pairs);
    d.check(&["HSET", "b", &f65, "1"]);
    d.check(&["OBJECT", "ENCODING", "b"]);
    // A long pair that is rejected by the arity check converts nothing.
    d.check(&["HSET", "c", "x", "1"]);
    d.check(&["HSET", "c", "y", &v65, "z"]);
    d.check(&["OBJECT", "ENCODING", "c"]);
    // HSETNX: an existing field with a long value converts nothing; a new one does.
    d.check(&["HSETNX", "c", "x", &v65]);
    d.check(&["OBJECT", "ENCODING", "c"]);
    d.check(&["HSETNX", "c", &f65, "1"]);
    d.check(&["OBJECT", "ENCODING", "c"]);
    // HINCRBY with a long field; HINCRBYFLOAT producing a long value.
    d.check(&["HSET", "d", "x", "1"]);
    d.check(&["HINCRBY", "d", &f65, "1"]);
    d.check(&["OBJECT", "ENCODING", "d"]);
    d.check(&["HSET", "e", "x", "1"]);
    d.check(&["HINCRBYFLOAT", "e", "x", "1e70"]);
    d.check(&["OBJECT", "ENCODING", "e"]);
    d.check(&["HSET", "e2", "x", "1"]);
    d.check(&["HINCRBYFLOAT", "e2", "x", "1e40"]);
    d.check(&["OBJECT", "ENCODING", "e2"]);
    d.check(&["HSET", "e3", "x", "1"]);
    d.check(&["HINCRBYFLOAT", "e3", &f65, "1"]);
    d.check(&["OBJECT", "ENCODING", "e3"]);
    // Configured value limit, including 0 (only empty strings fit).
    d.check_script(
        "CONFIG SET hash-max-listpack-value 3\nHSET p abc def\nOBJECT ENCODING p\nHSET p abcd 1\nOBJECT ENCODING p\n\
         CONFIG SET hash-max-listpack-value 0\nHSET q '' ''\nOBJECT ENCODING q\nHSET q a ''\nOBJECT ENCODING q\n\
         HSET r 1 ''\nOBJECT ENCODING r\nCONFIG SET hash-max-ziplist-value 64\nCONFIG GET hash-max-listpack-value",
    );
}

#[test]
fn copy_rename_move_keep_hashes() {
    let mut d = Diff::new();
    check_owned(&mut d, &hset_range("big", 0, 600));
    d.check_script(
        "HSET small a 1 b 2\nCOPY small s2\nCOPY big b2\nHGETALL s2\nOBJECT ENCODING s2\nOBJECT ENCODING b2\nHLEN b2\n\
         HSET s2 c 3\nHLEN small\nRENAME s2 s3\nHGETALL s3\nMOVE s3 1\nSELECT 1\nHGETALL s3\nSELECT 0\n\
         EXPIRE small 1000\nHSET small z 26\nTTL small\nHDEL small a b z\nTTL small\nEXISTS small\nDEL big\nEXISTS big",
    );
    d.check_with(&[b"HGETALL", b"b2"], sort_pairs);
}

// ---------------------------------------------------------------------------
// RESP3
// ---------------------------------------------------------------------------

#[test]
fn resp3_shapes() {
    let mut d = Diff::new();
    d.check(&["HELLO", "3"]).items();
    d.check_script(
        "HSET h a 1 b 2\nHGETALL h\nHGETALL nokey\nHKEYS h\nHVALS nokey\nHGET h nofield\nHGET nokey a\n\
         HMGET h a nofield\nHMGET nokey a\nHRANDFIELD nokey\nHRANDFIELD nokey 3\nHRANDFIELD h 0\n\
         HRANDFIELD h 5 WITHVALUES\nHRANDFIELD h 2\nHSCAN h 0\nHSCAN nokey 0\nHINCRBYFLOAT h a 1.5\nHINCRBY h b 1\n\
         HSET one f v\nHRANDFIELD one -3 WITHVALUES\nHRANDFIELD one 1 WITHVALUES\nHRANDFIELD one -2\nHRANDFIELD one\n\
         HLEN h\nHEXISTS h a\nHSTRLEN h a\nHDEL h a\nHSETNX h a 1",
    );
    check_owned(&mut d, &hset_range("big", 0, 600));
    d.check_with(&[b"HGETALL", b"big"], sort_pairs);
    d.check_with(&[b"HKEYS", b"big"], sort_elems);
    d.check_with(&[b"HRANDFIELD", b"big", b"-4", b"WITHVALUES"], shape);
    d.check_with(&[b"HRANDFIELD", b"big", b"4", b"WITHVALUES"], shape);
    d.check_with(&[b"HRANDFIELD", b"big", b"1000", b"WITHVALUES"], sort_elems);
}

// ---------------------------------------------------------------------------
// Randomized differential test
// ---------------------------------------------------------------------------

const KEYS: usize = 6;

fn rkey(r: &mut StdRng) -> String {
    if r.gen_bool(0.03) {
        "str".into()
    } else {
        format!("h{}", r.gen_range(0..KEYS))
    }
}

fn field(r: &mut StdRng) -> String {
    match r.gen_range(0..20) {
        0 => "x".repeat(r.gen_range(60..70)),
        1 => r.gen_range(-3i64..200).to_string(),
        2 => String::new(),
        _ => format!("f{}", r.gen_range(0..24)),
    }
}

fn value(r: &mut StdRng) -> String {
    match r.gen_range(0..12) {
        0 => r.gen_range(-1000i64..1000).to_string(),
        1 => r.gen_range(i64::MIN..i64::MAX).to_string(),
        2 => format!("{:.3}", r.gen_range(-100.0f64..100.0)),
        3 => String::new(),
        4 => "v".repeat(r.gen_range(50..70)),
        5 => "9223372036854775807".into(),
        6 => "-0".into(),
        7 => "1e3".into(),
        _ => (0..r.gen_range(1..10)).map(|_| r.gen_range(b'a'..=b'f') as char).collect(),
    }
}

fn incr(r: &mut StdRng) -> String {
    match r.gen_range(0..10) {
        0 => "x".into(),
        1 => "9223372036854775807".into(),
        2 => "-9223372036854775808".into(),
        3 => r.gen_range(-100000i64..100000).to_string(),
        _ => r.gen_range(-20i64..40).to_string(),
    }
}

fn float_incr(r: &mut StdRng) -> String {
    match r.gen_range(0..10) {
        0 => "abc".into(),
        1 => "inf".into(),
        2 => format!("{}e{}", r.gen_range(1..9), r.gen_range(-30..30)),
        3 => r.gen_range(-50i64..50).to_string(),
        _ => format!("{:.4}", r.gen_range(-100.0f64..100.0)),
    }
}

/// How to compare a command's replies.
enum Cmp {
    Exact,
    /// Order depends on the encoding (exact for listpack, sorted for hashtable).
    ByEncoding(fn(Resp) -> Resp),
    /// Random reply: compare its shape.
    Shape,
    /// Random reply covering the whole hash: compare sorted.
    Sorted,
}

fn random_command(r: &mut StdRng) -> (Vec<String>, Cmp) {
    let k = rkey(r);
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    match r.gen_range(0..30) {
        0..=3 => {
            let mut c = s(&["HSET", &k]);
            for _ in 0..r.gen_range(1..5) {
                c.push(field(r));
                c.push(value(r));
            }
            if r.gen_bool(0.03) {
                c.push(field(r));
            }
            (c, Cmp::Exact)
        }
        4 => {
            let mut c = s(&["HMSET", &k]);
            for _ in 0..r.gen_range(1..4) {
                c.push(field(r));
                c.push(value(r));
            }
            (c, Cmp::Exact)
        }
        5 => (s(&["HSETNX", &k, &field(r), &value(r)]), Cmp::Exact),
        6 | 7 => (s(&["HGET", &k, &field(r)]), Cmp::Exact),
        8 => {
            let mut c = s(&["HMGET", &k]);
            for _ in 0..r.gen_range(1..5) {
                c.push(field(r));
            }
            (c, Cmp::Exact)
        }
        9 | 10 => {
            let mut c = s(&["HDEL", &k]);
            for _ in 0..r.gen_range(1..5) {
                c.push(field(r));
            }
            (c, Cmp::Exact)
        }
        11 => (s(&["HLEN", &k]), Cmp::Exact),
        12 => (s(&["HSTRLEN", &k, &field(r)]), Cmp::Exact),
        13 => (s(&["HEXISTS", &k, &field(r)]), Cmp::Exact),
        14 => (s(&["HKEYS", &k]), Cmp::ByEncoding(sort_elems)),
        15 => (s(&["HVALS", &k]), Cmp::ByEncoding(sort_elems)),
        16 | 17 => (s(&["HGETALL", &k]), Cmp::ByEncoding(sort_pairs)),
        18 | 19 => (s(&["HINCRBY", &k, &field(r), &incr(r)]), Cmp::Exact),
        20 | 21 => (s(&["HINCRBYFLOAT", &k, &field(r), &float_incr(r)]), Cmp::Exact),
        22 => (s(&["HRANDFIELD", &k]), Cmp::Shape),
        23 => {
            let n: i64 = r.gen_range(-8..8);
            let mut c = s(&["HRANDFIELD", &k, &n.to_string()]);
            if r.gen_bool(0.5) {
                c.push("WITHVALUES".into());
            }
            (c, Cmp::Shape)
        }
        24 => {
            let mut c = s(&["HRANDFIELD", &k, "1000"]);
            if r.gen_bool(0.5) {
                c.push("WITHVALUES".into());
            }
            (c, Cmp::Sorted)
        }
        25 => {
            let mut c = s(&["HSCAN", &k, "0"]);
            if r.gen_bool(0.5) {
                let p = ["f1*", "*", "x*", "?", "f[0-3]", "*1"][r.gen_range(0..6)];
                c.extend(s(&["MATCH", p]));
            }
            c.extend(s(&["COUNT", "1000"]));
            (c, Cmp::ByEncoding(sort_scan))
        }
        26 => (s(&["DEL", &k]), Cmp::Exact),
        27 => (s(&["TYPE", &k]), Cmp::Exact),
        28 => (s(&["EXISTS", &k]), Cmp::Exact),
        _ => (s(&["OBJECT", "ENCODING", &k]), Cmp::Exact),
    }
}

fn random_run(resp3: bool, limits: Option<(&str, &str)>) {
    let seed: u64 =
        std::env::var("FERROKV_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| rand::thread_rng().gen());
    println!("hashes random run (resp3={resp3}, limits={limits:?}) seed {seed}; replay with FERROKV_SEED={seed}");
    let mut r = StdRng::seed_from_u64(seed);
    let mut d = Diff::new();
    if resp3 {
        d.check(&["HELLO", "3"]);
    }
    if let Some((entries, value)) = limits {
        d.check(&["CONFIG", "SET", "hash-max-listpack-entries", entries]);
        d.check(&["CONFIG", "SET", "hash-max-listpack-value", value]);
    }
    d.check(&["SET", "str", "x"]);
    for i in 0..4000 {
        let (cmd, cmp) = random_command(&mut r);
        let args: Vec<&[u8]> = cmd.iter().map(|s| s.as_bytes()).collect();
        let ctx = || format!("command #{i} {cmd:?} (seed {seed})");
        let run = std::panic::AssertUnwindSafe(|| match cmp {
            Cmp::Exact => {
                d.check_b(&args);
            }
            Cmp::ByEncoding(norm) => {
                let enc = d.check(&["OBJECT", "ENCODING", &cmd[1]]);
                if enc.text() == "hashtable" {
                    d.check_with(&args, norm);
                } else {
                    d.check_b(&args);
                }
            }
            Cmp::Shape => {
                d.check_with(&args, shape);
            }
            Cmp::Sorted => {
                d.check_with(&args, sort_elems);
            }
        });
        if let Err(e) = std::panic::catch_unwind(run) {
            eprintln!("failed at {}", ctx());
            std::panic::resume_unwind(e);
        }
    }
    // Final state: every key identical.
    for k in 0..KEYS {
        let key = format!("h{k}");
        d.check(&["TYPE", &key]);
        d.check(&["OBJECT", "ENCODING", &key]);
        d.check_with(&[b"HGETALL", key.as_bytes()], sort_pairs);
    }
}

#[test]
fn random_differential_resp2() {
    random_run(false, None);
}

#[test]
fn random_differential_resp3_small_limits() {
    random_run(true, Some(("8", "16")));
}

#[test]
fn random_differential_resp2_tiny_limits() {
    random_run(false, Some(("2", "4")));
}
