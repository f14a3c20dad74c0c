//! HyperLogLog commands (PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST)
//! compared with real Redis 7.0: counts, and the `HYLL` string values byte for
//! byte (GET after every step: sparse opcodes, promotion to dense, cached
//! cardinality), merges of sparse and dense values, values moved between the
//! two servers, errors on wrong types and corrupted values (fuzzed), PFDEBUG
//! and PFSELFTEST, dirty counts, keyspace statistics, WATCH, notifications,
//! RESP3, and a sanity run of a million PFADDs.

mod common;
use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::io::Write;
use std::time::Duration;

/// The value of `key` on both servers, asserted identical.
fn same_value(d: &mut Diff, key: &str) -> Option<Vec<u8>> {
    match d.check(&["GET", key]) {
        Resp::Bulk(b) => b,
        other => panic!("GET {key}: {other:?}"),
    }
}

fn args_of(words: &[String]) -> Vec<&[u8]> {
    words.iter().map(|w| w.as_bytes()).collect()
}

/// `PFADD key e1 e2 ...` on both, compared.
fn pfadd(d: &mut Diff, key: &str, elements: &[String]) -> Resp {
    let mut a: Vec<&[u8]> = vec![b"PFADD", key.as_bytes()];
    a.extend(args_of(elements));
    d.check_b(&a)
}

const EMPTY_SPARSE: &[u8] = b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x7f\xff";

/// A dense HLL whose registers are `regs` (6 bits each, low bits first).
fn dense_with(regs: &[u8]) -> Vec<u8> {
    let mut v = b"HYLL\0\0\0\0\0\0\0\0\0\0\0\x80".to_vec();
    let mut r = vec![0u8; 12288];
    for (i, &x) in regs.iter().enumerate().take(16384) {
        let bit = i * 6;
        let (b, fb) = (bit / 8, bit % 8);
        r[b] |= x << fb;
        if b + 1 < r.len() && fb > 2 {
            r[b + 1] |= x >> (8 - fb);
        }
    }
    v.extend_from_slice(&r);
    v
}

#[test]
fn pfadd_pfcount_basics() {
    let mut d = Diff::new();
    d.check_script(
        "PFADD h\nGET h\nTYPE h\nOBJECT ENCODING h\nSTRLEN h\nPFCOUNT h\nGET h\nPFADD h\nPFADD h a b c\nGET h\n\
         PFCOUNT h\nGET h\nPFADD h a\nPFADD h a b c\nGET h\nPFCOUNT h\nPFADD h d\nGET h\nPFCOUNT h\n\
         PFCOUNT nokey\nPFCOUNT nokey nokey2\nPFADD e \"\"\nGET e\nPFCOUNT e\nPFADD bin \"\\x00\\xff\\r\\n\"\nGET bin\n\
         PFADD h2 foo bar zap\nPFADD h2 zap zap zap\nPFADD h2 foo bar\nPFCOUNT h2\nPFADD other 1 2 3\nPFCOUNT h2 other\n\
         PFCOUNT h2 other nokey h\nEXISTS nokey\nOBJECT ENCODING h2\n\
         PFADD\nPFCOUNT\nPFMERGE\nPFDEBUG\nPFDEBUG getreg\nPFDEBUG getreg h h\nPFSELFTEST x",
    );
    // Elements of every length up to a few blocks of the hash.
    let mut words = Vec::new();
    for n in 0..40 {
        words.push("x".repeat(n));
        words.push(format!("{n}-élément-{}", "y".repeat(n)));
    }
    pfadd(&mut d, "lens", &words);
    same_value(&mut d, "lens");
    d.check(&["PFCOUNT", "lens"]);
    d.check(&["PFDEBUG", "DECODE", "lens"]);
}

#[test]
fn sparse_values_identical_after_every_add_then_promotion() {
    let mut d = Diff::new();
    let mut rng = StdRng::seed_from_u64(1);
    for i in 0..2500 {
        let e = format!("e{}", rng.gen_range(0..1_000_000));
        pfadd(&mut d, "h", &[e]);
        same_value(&mut d, "h");
        if i % 50 == 0 {
            d.check(&["PFCOUNT", "h"]);
            same_value(&mut d, "h");
            d.check(&["PFDEBUG", "ENCODING", "h"]);
        }
    }
    // It was promoted along the way, at the same add as Redis.
    assert_eq!(d.check(&["PFDEBUG", "ENCODING", "h"]), Resp::simple("dense"));
    d.check(&["PFCOUNT", "h"]);
}

#[test]
fn promotion_follows_hll_sparse_max_bytes() {
    let mut d = Diff::new();
    for max in ["0", "1", "18", "30", "200", "1000", "20000"] {
        d.check(&["CONFIG", "SET", "hll-sparse-max-bytes", max]);
        d.check(&["DEL", "h"]);
        for i in 0..1200 {
            pfadd(&mut d, "h", &[format!("{max}:{i}")]);
            if i < 100 || i % 10 == 0 {
                same_value(&mut d, "h");
            }
        }
        same_value(&mut d, "h");
        d.check(&["PFCOUNT", "h"]);
        d.check(&["PFDEBUG", "ENCODING", "h"]);
        // Whole batches in one command.
        d.check(&["DEL", "b"]);
        let batch: Vec<String> = (0..700).map(|i| format!("b{i}")).collect();
        pfadd(&mut d, "b", &batch);
        same_value(&mut d, "b");
    }
    // A register above 32 cannot be sparse: promoted at once.
    d.check(&["CONFIG", "SET", "hll-sparse-max-bytes", "3000"]);
    d.check_script(
        "CONFIG GET hll-sparse-max-bytes\nCONFIG SET hll-sparse-max-bytes 1kb\nCONFIG GET hll-sparse-max-bytes",
    );
}

#[test]
fn counts_of_large_sets_match() {
    let mut d = Diff::new();
    for start in (0..200_000).step_by(2000) {
        let batch: Vec<String> = (start..start + 2000).map(|i| i.to_string()).collect();
        pfadd(&mut d, "big", &batch);
        d.check(&["PFCOUNT", "big"]);
        let other: Vec<String> = (start..start + 2000).map(|i| format!("o{i}")).collect();
        pfadd(&mut d, "other", &other);
        d.check(&["PFCOUNT", "big", "other"]);
        if start % 40_000 == 0 {
            same_value(&mut d, "big");
        }
    }
    same_value(&mut d, "big");
    same_value(&mut d, "other");
    d.check(&["PFCOUNT", "big", "other", "missing"]);
    // Every cardinality from 1 to 3000 (sparse, then dense).
    for i in 0..3000 {
        pfadd(&mut d, "inc", &[format!("k{i}")]);
        d.check(&["PFCOUNT", "inc"]);
    }
}

#[test]
fn estimator_on_crafted_registers() {
    let mut d = Diff::new();
    let mut rng = StdRng::seed_from_u64(2);
    let mut cases: Vec<Vec<u8>> = Vec::new();
    for v in [0u8, 1, 2, 31, 32, 33, 50, 51, 52, 63] {
        cases.push(vec![v; 16384]);
    }
    for _ in 0..40 {
        cases.push((0..16384).map(|_| rng.gen_range(0..64)).collect());
        cases.push((0..16384).map(|_| [0, 0, 0, 1, 2, 3, 51][rng.gen_range(0..7)]).collect());
        let zeros = rng.gen_range(0..16384);
        cases.push((0..16384).map(|i| if i < zeros { 0 } else { rng.gen_range(1..20) }).collect());
    }
    for regs in cases {
        let v = dense_with(&regs);
        d.check_b(&[b"SET", b"d", &v]);
        d.check(&["PFCOUNT", "d"]);
        same_value(&mut d, "d");
        d.check(&["PFCOUNT", "d"]);
        d.check(&["PFCOUNT", "d", "d"]);
        d.check(&["PFMERGE", "m", "d"]);
        d.check(&["PFCOUNT", "m"]);
        same_value(&mut d, "m");
        d.check(&["DEL", "m"]);
    }
}

#[test]
fn merges_of_sparse_and_dense_values() {
    let mut d = Diff::new();
    let mut rng = StdRng::seed_from_u64(3);
    let sizes = [0usize, 1, 5, 50, 300, 2000, 20000];
    for (i, &n) in sizes.iter().enumerate() {
        d.check(&["DEL", &format!("s{i}")]);
        let els: Vec<String> = (0..n).map(|_| format!("v{}", rng.gen::<u32>())).collect();
        if n > 0 {
            pfadd(&mut d, &format!("s{i}"), &els);
        } else {
            d.check(&["PFADD", &format!("s{i}")]);
        }
    }
    for a in 0..sizes.len() {
        for b in 0..sizes.len() {
            let (ka, kb) = (format!("s{a}"), format!("s{b}"));
            // Fresh destination, existing sparse and dense destinations, and a
            // destination among the sources.
            d.check(&["DEL", "dst"]);
            d.check(&["PFMERGE", "dst", &ka, &kb]);
            same_value(&mut d, "dst");
            d.check(&["PFCOUNT", "dst"]);
            d.check(&["PFCOUNT", &ka, &kb]);
            d.check(&["PFADD", "sp", "x", "y"]);
            d.check(&["PFMERGE", "sp", &ka, &kb, "missing"]);
            same_value(&mut d, "sp");
            d.check(&["DEL", "sp"]);
            d.check(&["COPY", &ka, "self"]);
            d.check(&["PFMERGE", "self", &kb]);
            same_value(&mut d, "self");
            d.check(&["DEL", "self"]);
        }
    }
    d.check(&["DEL", "dn"]);
    d.check(&["PFADD", "dn", "z"]);
    d.check(&["PFDEBUG", "TODENSE", "dn"]);
    d.check(&["PFMERGE", "dn", "s1", "s2"]);
    same_value(&mut d, "dn");
    d.check_script(
        "PFMERGE only\nGET only\nPFMERGE only\nGET only\nPFMERGE s3\nGET s3\nPFMERGE x missing1 missing2\nGET x",
    );
    // PFMERGE into a sparse destination under a small limit promotes it.
    d.check(&["CONFIG", "SET", "hll-sparse-max-bytes", "100"]);
    d.check(&["DEL", "dst"]);
    d.check(&["PFMERGE", "dst", "s3"]);
    same_value(&mut d, "dst");
    d.check(&["PFDEBUG", "ENCODING", "dst"]);
}

#[test]
fn cached_cardinality_dirty_and_statistics() {
    let mut d = Diff::new();
    d.check(&["CONFIG", "RESETSTAT"]);
    let script = "PFADD h a b c\nGET h\nPFCOUNT h\nGET h\nPFCOUNT h\nPFADD h a\nGET h\nPFCOUNT h\nPFADD h zz\nGET h\n\
                  PFCOUNT h\nPFCOUNT h h\nPFCOUNT h nokey\nPFCOUNT nokey\nPFMERGE h2 h nokey\nPFMERGE h2\nPFCOUNT h2\n\
                  PFDEBUG ENCODING h\nPFDEBUG TODENSE h\nPFDEBUG TODENSE h\nGET h\nPFDEBUG GETREG h2\nPFADD h3 a\nPFADD h3";
    for line in script.lines() {
        let args = split(line.trim());
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        d.check_b(&refs);
        d.same_info("persistence", "rdb_changes_since_last_save");
        d.same_info("stats", "keyspace_hits");
        d.same_info("stats", "keyspace_misses");
    }
    // A value SET with a stale cache is recomputed once, then served from it.
    d.check_b(&[b"SET", b"c", EMPTY_SPARSE]);
    d.check_script("OBJECT ENCODING c\nPFCOUNT c\nOBJECT ENCODING c\nGET c\nPFCOUNT c\nGET c");
    d.same_info("persistence", "rdb_changes_since_last_save");
    // A cached value is returned as is, even when the registers disagree.
    d.check_b(&[b"SET", b"lie", b"HYLL\x01\0\0\0\x39\x30\0\0\0\0\0\0\x7f\xff"]);
    d.check_script("PFCOUNT lie\nPFCOUNT lie lie\nPFADD lie a\nPFCOUNT lie\nGET lie");
    d.check_b(&[b"SET", b"lie", b"HYLL\x01\0\0\0\x39\x30\0\0\0\0\0\x7f\x7f\xff"]);
    d.check_script("PFCOUNT lie\nGET lie");
    // Missing registers behind a valid cache: the cache is served.
    d.check_b(&[b"SET", b"cut", b"HYLL\x01\0\0\0\x05\0\0\0\0\0\0\0"]);
    d.check_script("PFCOUNT cut\nPFCOUNT cut cut\nPFADD cut x\nGET cut");
    // TTLs survive in-place updates.
    d.check_script(
        "PFADD t a\nEXPIRE t 1000\nPFADD t b\nTTL t\nPFCOUNT t\nTTL t\nPFMERGE t h\nTTL t\nPFDEBUG TODENSE t\nTTL t",
    );
    d.same_info("stats", "total_error_replies");
    let f = d.f.cmd(&["INFO", "errorstats"]).text();
    let r = d.r.cmd(&["INFO", "errorstats"]).text();
    assert_eq!(f, r);
}

#[test]
fn values_move_between_servers() {
    let mut d = Diff::new();
    let mut rng = StdRng::seed_from_u64(4);
    let fr = Server::redis();
    let mut r2 = fr.conn();
    for &n in &[0usize, 3, 100, 1000, 5000, 50000] {
        // Built by Redis, counted and extended by ferrokv (and the other way).
        let els: Vec<String> = (0..n).map(|_| format!("m{}", rng.gen::<u64>())).collect();
        let mut a: Vec<&[u8]> = vec![b"PFADD", b"src"];
        a.extend(args_of(&els));
        r2.cmd(&["DEL", "src"]);
        r2.cmd_b(&a);
        let Resp::Bulk(Some(bytes)) = r2.cmd(&["GET", "src"]) else { panic!("GET") };
        d.check_b(&[b"SET", b"moved", &bytes]);
        d.check(&["PFCOUNT", "moved"]);
        same_value(&mut d, "moved");
        d.check(&["PFADD", "moved", "extra1", "extra2"]);
        same_value(&mut d, "moved");
        d.check(&["PFMERGE", "moved2", "moved"]);
        same_value(&mut d, "moved2");
        d.check(&["DEL", "moved2"]);

        // ferrokv's value into Redis.
        d.f.cmd(&["DEL", "fk"]);
        let mut a: Vec<&[u8]> = vec![b"PFADD", b"fk"];
        a.extend(args_of(&els));
        d.f.cmd_b(&a);
        let Resp::Bulk(Some(fb)) = d.f.cmd(&["GET", "fk"]) else { panic!("GET") };
        r2.cmd_b(&[b"SET", b"fromf", &fb]);
        assert_eq!(r2.cmd(&["PFCOUNT", "fromf"]), r2.cmd(&["PFCOUNT", "src"]));
        assert_eq!(r2.cmd(&["GET", "fromf"]), r2.cmd(&["GET", "src"]), "PFCOUNT wrote the same cache");

        // DUMP/RESTORE both ways.
        let Resp::Bulk(Some(dump)) = r2.cmd(&["DUMP", "src"]) else { panic!("DUMP") };
        d.check(&["DEL", "restored"]);
        d.check_b(&[b"RESTORE", b"restored", b"0", &dump]);
        d.check(&["PFCOUNT", "restored"]);
        same_value(&mut d, "restored");
        d.check(&["OBJECT", "ENCODING", "restored"]);
        let Resp::Bulk(Some(fdump)) = d.f.cmd(&["DUMP", "restored"]) else { panic!("DUMP") };
        r2.cmd(&["DEL", "back"]);
        assert_eq!(r2.cmd_b(&[b"RESTORE", b"back", b"0", &fdump]), Resp::ok());
        assert_eq!(r2.cmd(&["GET", "back"]), d.f.cmd(&["GET", "restored"]));
    }
}

#[test]
fn wrong_types_and_invalid_strings() {
    let mut d = Diff::new();
    d.check_with_list(
        "PFADD list a\nPFCOUNT list\nPFCOUNT list nokey\nPFCOUNT nokey list\nPFMERGE list\nPFMERGE dst list\n\
         PFMERGE list nokey\nPFDEBUG GETREG list\nPFDEBUG nosuch list\nPFDEBUG ENCODING nokey\nPFDEBUG nosuch nokey\n\
         EXISTS dst",
    );
    let mut bad: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"hello".to_vec(),
        b"12345".to_vec(),
        b"123456789012345678".to_vec(),
        b"HYLL".to_vec(),
        b"HYLL\x01\0\0\0\0\0\0\0\0\0\0".to_vec(),
        b"HYLX\x01\0\0\0\0\0\0\0\0\0\0\x80\x7f\xff".to_vec(),
        b"hyll\x01\0\0\0\0\0\0\0\0\0\0\x80\x7f\xff".to_vec(),
        b"HYLL\x02\0\0\0\0\0\0\0\0\0\0\x80\x7f\xff".to_vec(),
        b"HYLL\xff\0\0\0\0\0\0\0\0\0\0\x80\x7f\xff".to_vec(),
        b"HYLL\0\0\0\0\0\0\0\0\0\0\0\x80\x7f\xff".to_vec(),
    ];
    let mut dense = dense_with(&[1; 16384]);
    dense.push(0);
    bad.push(dense.clone());
    dense.truncate(dense.len() - 2);
    bad.push(dense);
    for v in &bad {
        d.check_b(&[b"SET", b"bad", v]);
        d.check_script(
            "PFADD bad a\nPFADD bad\nPFCOUNT bad\nPFCOUNT bad bad\nPFCOUNT nokey bad\nPFMERGE bad\nPFMERGE dst bad\n\
             PFMERGE bad nokey\nPFDEBUG GETREG bad\nPFDEBUG DECODE bad\nPFDEBUG ENCODING bad\nPFDEBUG TODENSE bad\n\
             PFDEBUG nosuch bad\nGET bad\nEXISTS dst\nOBJECT ENCODING bad",
        );
    }
    // Corrupted sparse values: INVALIDOBJ where the opcodes are read.
    let corrupt: Vec<&[u8]> = vec![
        b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80",
        b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x7f\xfe",
        b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x7f\xff\x00",
        b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x7f\xff\x80",
        b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x7f\xfe\x81",
        b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x7f",
        b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x3f\x3f\x3f",
        b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\xff\xff\xff\xff",
        b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x7f\xfb\x83",
        b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x7f\xfb\x87",
    ];
    for v in corrupt {
        for cmd in [
            "PFADD bad a b c",
            "PFCOUNT bad",
            "PFCOUNT bad bad",
            "PFMERGE bad",
            "PFMERGE dst bad",
            "PFDEBUG GETREG bad",
            "PFDEBUG TODENSE bad",
            "PFDEBUG DECODE bad",
            "PFDEBUG ENCODING bad",
        ] {
            d.check_b(&[b"SET", b"bad", v]);
            d.check(&["DEL", "dst"]);
            let args = split(cmd);
            let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
            d.check_b(&refs);
            same_value(&mut d, "bad");
            d.check(&["EXISTS", "dst"]);
        }
    }
    // Sums of runs that overflow a C int are caught (CVE-2025-32023 checks).
    let mut huge = b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80".to_vec();
    for _ in 0..=262_144 {
        huge.extend_from_slice(b"\x7f\xff");
    }
    for cmd in ["PFCOUNT k", "PFCOUNT k k", "PFMERGE u k", "PFDEBUG TODENSE k", "PFADD k a"] {
        d.check_b(&[b"SET", b"k", &huge]);
        let args = split(cmd);
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        d.check_b(&refs);
        d.check(&["STRLEN", "k"]);
    }
    d.same_info("stats", "total_error_replies");
    let f = d.f.cmd(&["INFO", "errorstats"]).text();
    let r = d.r.cmd(&["INFO", "errorstats"]).text();
    assert_eq!(f, r);
}

/// A random sparse-looking value: random opcodes, sometimes covering exactly
/// the 16384 registers, sometimes not, sometimes cut in the middle of one.
fn random_sparse(rng: &mut StdRng) -> Vec<u8> {
    let mut v = b"HYLL\x01\0\0\0".to_vec();
    for _ in 0..8 {
        v.push(if rng.gen_bool(0.5) { 0 } else { rng.gen() });
    }
    if rng.gen_bool(0.5) {
        let mut left = 16384u32;
        while left > 0 {
            let n = match rng.gen_range(0..3) {
                0 => {
                    let n = rng.gen_range(1..=64).min(left);
                    v.push((n - 1) as u8);
                    n
                }
                1 => {
                    let n = rng.gen_range(1..=16384).min(left);
                    v.push(0x40 | ((n - 1) >> 8) as u8);
                    v.push((n - 1) as u8);
                    n
                }
                _ => {
                    let n = rng.gen_range(1..=4).min(left);
                    v.push(0x80 | (rng.gen_range(0..32u8) << 2) | (n - 1) as u8);
                    n
                }
            };
            left -= n;
        }
    } else {
        for _ in 0..rng.gen_range(0..30) {
            match rng.gen_range(0..3) {
                0 => v.push(rng.gen_range(0..64)),
                1 => {
                    v.push(0x40 | rng.gen_range(0..64));
                    v.push(rng.gen());
                }
                _ => v.push(0x80 | rng.gen_range(0..128)),
            }
        }
        if rng.gen_bool(0.3) {
            v.pop();
        }
    }
    if rng.gen_bool(0.2) && v.len() > 16 {
        let i = rng.gen_range(16..v.len());
        v[i] = rng.gen();
    }
    v
}

#[test]
fn corrupted_sparse_values_fuzzed() {
    let mut d = Diff::new();
    let mut rng = StdRng::seed_from_u64(5);
    for _ in 0..1500 {
        let v = random_sparse(&mut rng);
        d.check_b(&[b"SET", b"s", &v]);
        let max = ["0", "20", "60", "300", "3000"][rng.gen_range(0..5)];
        d.check(&["CONFIG", "SET", "hll-sparse-max-bytes", max]);
        match rng.gen_range(0..5) {
            0 | 1 => {
                let els: Vec<String> = (0..rng.gen_range(1..12)).map(|_| format!("e{}", rng.gen::<u16>())).collect();
                pfadd(&mut d, "s", &els);
            }
            2 => {
                d.check(&["PFCOUNT", "s"]);
            }
            3 => {
                let t = random_sparse(&mut rng);
                d.check_b(&[b"SET", b"t", &t]);
                d.check(&["PFMERGE", "t", "s"]);
                same_value(&mut d, "t");
                d.check(&["PFMERGE", "s", "t"]);
            }
            _ => {
                let sub = ["GETREG", "DECODE", "ENCODING", "TODENSE"][rng.gen_range(0..4)];
                d.check(&["PFDEBUG", sub, "s"]);
            }
        }
        // Re-SET the value: Redis may have left garbage past the end of a
        // value whose last XZERO was cut (see docs/compatibility.md).
        if let Some(g) = same_value(&mut d, "s") {
            d.check_b(&[b"SET", b"s", &g]);
        }
        d.check(&["PFCOUNT", "s"]);
        d.check(&["PFCOUNT", "s", "s"]);
        d.check(&["PFDEBUG", "DECODE", "s"]);
        d.check(&["DEL", "u"]);
        d.check(&["PFMERGE", "u", "s"]);
        same_value(&mut d, "u");
    }
}

#[test]
fn cut_xzero_split_within_one_command() {
    // The last XZERO lacks its second byte; several splits of it in one PFADD
    // read what the previous one left past the end, as in Redis.
    let mut d = Diff::new();
    let mut rng = StdRng::seed_from_u64(6);
    for _ in 0..300 {
        let mut v = b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80".to_vec();
        let mut left = 16384u32;
        while left > 300 {
            let n = rng.gen_range(1..left.min(16384));
            if rng.gen_bool(0.5) {
                let n = n.min(4);
                v.push(0x80 | (rng.gen_range(0..32u8) << 2) | (n - 1) as u8);
                left -= n;
            } else {
                v.push(0x40 | ((n - 1) >> 8) as u8);
                v.push((n - 1) as u8);
                left -= n;
            }
        }
        v.push(0x40 | rng.gen_range(0..64u8));
        d.check(&["CONFIG", "SET", "hll-sparse-max-bytes", ["30", "100", "3000"][rng.gen_range(0..3)]]);
        d.check_b(&[b"SET", b"s", &v]);
        let els: Vec<String> = (0..rng.gen_range(1..30)).map(|_| format!("x{}", rng.gen::<u32>())).collect();
        pfadd(&mut d, "s", &els);
        same_value(&mut d, "s");
    }
}

#[test]
fn pfdebug_subcommands() {
    let mut d = Diff::new();
    d.check_script(
        "PFADD h a b c d e f g\nPFDEBUG ENCODING h\nPFDEBUG DECODE h\nPFDEBUG decode h\nGET h\nPFDEBUG GETREG h\n\
         PFDEBUG ENCODING h\nGET h\nPFDEBUG DECODE h\nPFDEBUG TODENSE h\nPFDEBUG GETREG h\n\
         PFADD s x\nPFDEBUG todense s\nPFDEBUG TODENSE s\nPFDEBUG encoding s\nPFCOUNT s\nGET s\n\
         PFADD n\nPFDEBUG DECODE n\nPFDEBUG GETREG n\nPFDEBUG nosuch n\nPFDEBUG nosuch missing\nPFDEBUG GETREG missing\n\
         PFDEBUG \"\" n\nPFDEBUG \"getreg\\x00junk\" n\nPFDEBUG \"bad\\r\\nname\" n\nOBJECT ENCODING n",
    );
    // Sparse values of every opcode kind, decoded.
    let vals: Vec<&[u8]> = vec![
        b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x00\x7f\xfe",
        b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x83\x7f\xfb",
        b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x3f\xfc\x7f\xbf",
        b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80",
        b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x7f",
    ];
    for v in vals {
        d.check_b(&[b"SET", b"v", v]);
        d.check_script("PFDEBUG DECODE v\nPFDEBUG ENCODING v\nPFDEBUG TODENSE v\nGET v\nPFDEBUG ENCODING v");
    }
    // The error echoes the subcommand byte for byte (not valid UTF-8 here).
    let mut replies = Vec::new();
    for port in [d.ferrokv.port, d.redis.port] {
        let mut s = raw_connect(port);
        s.write_all(&Conn::encode(&[b"PFDEBUG", b"\xff\xfe", b"n"])).expect("write");
        let (got, _) = read_until_quiet(&mut s, Duration::from_millis(300));
        replies.push(got);
    }
    assert_eq!(show(&replies[0]), show(&replies[1]));
}

#[test]
fn pfselftest_passes() {
    let mut d = Diff::new();
    d.check(&["PFSELFTEST"]);
    d.check(&["CONFIG", "SET", "hll-sparse-max-bytes", "0"]);
    d.check(&["PFSELFTEST"]);
    // (Much larger limits make the sparse side quadratic, in Redis too.)
    d.check(&["CONFIG", "SET", "hll-sparse-max-bytes", "10000"]);
    d.check(&["PFSELFTEST"]);
}

#[test]
fn resp3_replies() {
    let mut d = Diff::new();
    d.check_with(&[b"HELLO", b"3"], |_| Resp::Null);
    d.check_script(
        "PFADD h a b c\nPFCOUNT h\nPFCOUNT h nokey\nPFMERGE m h\nPFDEBUG ENCODING m\nPFDEBUG DECODE m\n\
         PFDEBUG TODENSE m\nPFDEBUG GETREG m\nPFDEBUG DECODE m\nGET m\nPFSELFTEST x\nPFADD\nSET s x\nPFADD s a\n\
         RPUSH l a\nPFCOUNT l",
    );
}

#[test]
fn watch_touched_as_in_redis() {
    let mut d = Diff::new();
    let (mut fb, mut rb) = (d.ferrokv.conn(), d.redis.conn());
    let mut b = |line: &str| {
        let args = split(line);
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        let (f, r) = (fb.cmd_b(&refs), rb.cmd_b(&refs));
        assert_eq!(f, r, "client B: {line}");
    };
    d.check(&["PFADD", "h", "a", "b"]);
    // Each case: A watches, B does something, A's EXEC succeeds or not.
    for action in [
        "PFCOUNT h",
        "PFCOUNT h",
        "PFADD h a",
        "PFADD h zzz",
        "PFCOUNT h h",
        "PFMERGE h",
        "PFDEBUG ENCODING h",
        "PFDEBUG GETREG h",
        "PFDEBUG TODENSE h",
        "PFCOUNT h",
        "PFMERGE other h",
    ] {
        d.check(&["WATCH", "h"]);
        b(action);
        d.check(&["MULTI"]);
        d.check(&["PING"]);
        d.check(&["EXEC"]);
    }
    d.check(&["DEL", "t"]);
    d.check(&["PFADD", "t", "x"]);
    d.check(&["WATCH", "t"]);
    b("PFDEBUG TODENSE t");
    d.check_script("MULTI\nPING\nEXEC");
}

#[test]
fn keyspace_notifications() {
    let mut d = Diff::new();
    d.check(&["CONFIG", "SET", "notify-keyspace-events", "KEAnm"]);
    let (mut fs, mut rs) = (d.ferrokv.conn(), d.redis.conn());
    fs.cmd(&["PSUBSCRIBE", "__key*__:*"]);
    rs.cmd(&["PSUBSCRIBE", "__key*__:*"]);
    d.check_script(
        "PFADD h a\nPFADD h a\nPFADD h b\nPFCOUNT h\nPFCOUNT nokey\nPFCOUNT h nokey\nPFMERGE m h nokey\nPFMERGE m\n\
         PFMERGE m2\nPFDEBUG TODENSE m\nPFADD n\nSET bad x\nPFADD bad a\nSET end 1",
    );
    // Up to the two events (keyspace and keyevent) of the final SET.
    let collect = |c: &mut Conn| {
        let mut out = Vec::new();
        let mut ends = 0;
        while ends < 2 {
            let m = c.read();
            if format!("{m:?}").contains("end\"") {
                ends += 1;
            }
            out.push(m);
        }
        out
    };
    let (f, r) = (collect(&mut fs), collect(&mut rs));
    assert_eq!(f, r);
}

#[test]
fn a_million_adds_stay_linear() {
    // No timing asserts: sparse edits are bounded by hll-sparse-max-bytes, so
    // this finishes quickly unless something is quadratic.
    let s = Server::ferrokv();
    let mut c = s.conn();
    for start in (0..1_000_000).step_by(20_000) {
        let els: Vec<String> = (start..start + 20_000).map(|i| format!("m{i}")).collect();
        let mut a: Vec<&[u8]> = vec![b"PFADD", b"mil"];
        a.extend(els.iter().map(|e| e.as_bytes()));
        c.cmd_b(&a);
    }
    let n = c.cmd(&["PFCOUNT", "mil"]).as_int();
    assert!((970_000..=1_030_000).contains(&n), "estimate {n}");
    // One element per command, across the promotion.
    for i in 0..20_000 {
        c.cmd(&["PFADD", "one", &i.to_string()]);
    }
    assert_eq!(c.cmd(&["PFDEBUG", "ENCODING", "one"]), Resp::simple("dense"));
}
