//! Randomized differential test: ten thousand random string, key and expiry
//! commands, sent to ferrokv and to real Redis, must get identical replies.
//! The seed is printed; set FERROKV_SEED to replay a failure.

mod common;
use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const KEYS: usize = 24;

fn key(r: &mut StdRng) -> String {
    format!("k{}", r.gen_range(0..KEYS))
}

fn value(r: &mut StdRng) -> String {
    match r.gen_range(0..8) {
        0 => r.gen_range(-1000i64..1000).to_string(),
        1 => r.gen_range(i64::MIN..i64::MAX).to_string(),
        2 => format!("{:.3}", r.gen_range(-100.0f64..100.0)),
        3 => String::new(),
        4 => "x".repeat(r.gen_range(1..60)),
        5 => "9223372036854775807".into(),
        6 => "0".into(),
        _ => (0..r.gen_range(1..12)).map(|_| r.gen_range(b'a'..=b'f') as char).collect(),
    }
}

fn int(r: &mut StdRng) -> String {
    match r.gen_range(0..10) {
        0 => "x".into(),
        1 => r.gen_range(-100000i64..100000).to_string(),
        2 => "9223372036854775807".into(),
        3 => "-9223372036854775808".into(),
        _ => r.gen_range(-20i64..40).to_string(),
    }
}

/// A relative TTL in seconds: invalid or immediate (<= 0) or long enough to outlive the run.
fn ttl_secs(r: &mut StdRng) -> i64 {
    if r.gen_bool(0.1) {
        r.gen_range(-2i64..=0)
    } else {
        r.gen_range(1000i64..100000)
    }
}

/// One random command; `volatile` says whether the reply depends on elapsed time.
fn command(r: &mut StdRng) -> (Vec<String>, bool) {
    let k = key(r);
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let cmd: Vec<String> = match r.gen_range(0..46) {
        0 | 1 => s(&["SET", &k, &value(r)]),
        2 => {
            let mut c = s(&["SET", &k, &value(r)]);
            for opt in ["NX", "XX", "GET", "KEEPTTL"] {
                if r.gen_bool(0.2) {
                    c.push(opt.into());
                }
            }
            if r.gen_bool(0.3) {
                let u = ["EX", "PX", "EXAT", "PXAT"][r.gen_range(0..4)];
                c.push(u.into());
                // Times either invalid (<= 0) or far enough ahead that no key expires
                // during the run: expiry timing differs between servers by nature.
                let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
                let secs = now.as_secs() as i64;
                c.push(match u {
                    "EX" => ttl_secs(r).to_string(),
                    "PX" => (ttl_secs(r) * 1000).to_string(),
                    "EXAT" => r.gen_range(secs + 10_000..4_000_000_000).to_string(),
                    _ => r.gen_range((secs + 10_000) * 1000..4_000_000_000_000).to_string(),
                });
            }
            c
        }
        3 | 4 => s(&["GET", &k]),
        5 => s(&["DEL", &k, &key(r)]),
        6 => s(&["EXISTS", &k, &key(r), &k]),
        7 => s(&["INCR", &k]),
        8 => s(&["DECR", &k]),
        9 => s(&["INCRBY", &k, &int(r)]),
        10 => s(&["DECRBY", &k, &int(r)]),
        11 => s(&["APPEND", &k, &value(r)]),
        12 => s(&["STRLEN", &k]),
        13 => s(&["GETRANGE", &k, &int(r), &int(r)]),
        14 => s(&["SETRANGE", &k, &r.gen_range(-1i64..40).to_string(), &value(r)]),
        15 => s(&["MSET", &k, &value(r), &key(r), &value(r)]),
        16 => s(&["MGET", &k, &key(r), &key(r)]),
        17 => s(&["GETSET", &k, &value(r)]),
        18 => s(&["GETDEL", &k]),
        19 => s(&["SETNX", &k, &value(r)]),
        20 => s(&["EXPIRE", &k, &ttl_secs(r).to_string()]),
        21 => {
            let mut c = s(&["PEXPIRE", &k, &r.gen_range(1000000i64..100000000).to_string()]);
            if r.gen_bool(0.5) {
                c.push(["NX", "XX", "GT", "LT"][r.gen_range(0..4)].into());
            }
            c
        }
        22 => s(&["TTL", &k]),
        23 => s(&["PERSIST", &k]),
        24 => s(&["RENAME", &k, &key(r)]),
        25 => s(&["RENAMENX", &k, &key(r)]),
        26 => s(&["TYPE", &k]),
        27 => s(&["OBJECT", "ENCODING", &k]),
        28 => s(&["SELECT", &r.gen_range(0i64..3).to_string()]),
        29 => s(&["COPY", &k, &key(r), "DB", &r.gen_range(0i64..3).to_string()]),
        30 => s(&["MOVE", &k, &r.gen_range(0i64..3).to_string()]),
        31 => s(&["DBSIZE"]),
        32 => s(&["INCRBYFLOAT", &k, ["1.5", "0.1", "-3", "1e3", "abc", "2.0e-2"][r.gen_range(0..6)]]),
        33 => s(&["SETBIT", &k, &r.gen_range(0i64..200).to_string(), &r.gen_range(0i64..2).to_string()]),
        34 => s(&["GETBIT", &k, &r.gen_range(0i64..200).to_string()]),
        35 => s(&["BITCOUNT", &k]),
        36 => s(&["BITCOUNT", &k, &int(r), &int(r)]),
        37 => s(&["BITPOS", &k, &r.gen_range(0i64..2).to_string()]),
        38 => s(&["LCS", &k, &key(r)]),
        39 => s(&["GETEX", &k, "PERSIST"]),
        40 => s(&["MSETNX", &k, &value(r), &key(r), &value(r)]),
        41 => s(&["KEYS", &format!("k{}*", r.gen_range(0..3))]),
        42 => s(&["SETEX", &k, &ttl_secs(r).to_string(), &value(r)]),
        43 => s(&["PTTL", &k]),
        44 => s(&["EXPIRETIME", &k]),
        45 => s(&["SWAPDB", &r.gen_range(0i64..3).to_string(), &r.gen_range(0i64..3).to_string()]),
        _ => unreachable!(),
    };
    let volatile = matches!(cmd[0].as_str(), "TTL" | "PTTL");
    (cmd, volatile)
}

/// Replies that depend on elapsed time compare by sign only.
fn coarse(r: Resp) -> Resp {
    match r {
        Resp::Int(n) if n > 0 => Resp::Int(1),
        other => other,
    }
}

#[test]
fn random_string_key_expiry_commands() {
    let seed: u64 =
        std::env::var("FERROKV_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| rand::thread_rng().gen());
    println!("FERROKV_SEED={seed}");
    let mut r = StdRng::seed_from_u64(seed);
    let mut d = Diff::new();
    for i in 0..10000 {
        let (cmd, volatile) = command(&mut r);
        let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if cmd[0] == "KEYS" {
                d.check_with(&args, |x| x.sorted());
            } else if volatile {
                d.check_with(&args, coarse);
            } else {
                d.check_b(&args);
            }
        }));
        if res.is_err() {
            panic!("command #{i} {cmd:?} differed (FERROKV_SEED={seed})");
        }
    }
    // Same final content in every database.
    for db in 0..3 {
        d.check(&["SELECT", &db.to_string()]);
        d.check_with(&[b"KEYS", b"*"], |x| x.sorted());
        for k in 0..KEYS {
            d.check(&["GET", &format!("k{k}")]);
        }
    }
}
