//! Keyspace and expiry commands, compared reply by reply with real Redis.

mod common;
use common::*;
use std::collections::HashSet;
use std::time::Duration;

#[test]
fn del_exists_touch_type_unlink() {
    let mut d = Diff::new();
    d.check_script(
        "SET a 1\nSET b 2\nEXISTS a b c a\nTOUCH a b c\nTYPE a\nTYPE nokey\n\
         DEL a c\nDEL a\nEXISTS a\nUNLINK b nokey\nDBSIZE\nDEL\nEXISTS\nTYPE a b",
    );
}

#[test]
fn rename_and_renamenx() {
    let mut d = Diff::new();
    d.check_script(
        "RENAME nokey x\nRENAMENX nokey x\nSET a 1\nRENAME a a\nRENAMENX a a\nRENAME a b\nGET b\nEXISTS a\n\
         SET c 3\nRENAMENX b c\nRENAME b c\nGET c\nPEXPIRE c 100000\nRENAME c d\nTTL d\nSET e 5\nRENAME e d\nTTL d\nRENAME d",
    );
}

#[test]
fn keys_glob_rules() {
    let mut d = Diff::new();
    d.check_script("MSET hello 1 hallo 2 hxllo 3 hllo 4 heeeello 5 h*llo 6 a[b 7 ab 8 x\\\\y 9 Hello 10");
    for p in [
        "*",
        "h?llo",
        "h*llo",
        "h[ae]llo",
        "h[^e]llo",
        "h[a-b]llo",
        "h[b-a]llo",
        "h\\*llo",
        "a[b",
        "a\\[b",
        "*llo",
        "h*",
        "[",
        "[a",
        "\\",
        "x\\\\y",
        "*[",
        "h[^]llo",
        "nomatch*",
        "?",
        "H*",
    ] {
        d.check_unordered(&["KEYS", p]);
    }
}

#[test]
fn select_swapdb_move_copy() {
    let mut d = Diff::new();
    d.check_script(
        "SELECT 16\nSELECT -1\nSELECT x\nSELECT 1\nSET k v1\nSELECT 0\nSET k v0\nSWAPDB 0 1\nGET k\nSELECT 1\nGET k\n\
         SWAPDB x 1\nSWAPDB 0 x\nSWAPDB 0 16\nSWAPDB 0 0\nSELECT 0\n\
         MOVE k 0\nMOVE k x\nMOVE k 16\nMOVE nokey 1\nSET m 1\nEXPIRE m 1000\nMOVE m 1\nMOVE k 1\nSET k again\nMOVE k 1\n\
         SELECT 1\nTTL m\nGET k\nSELECT 0\n\
         COPY k k\nCOPY nokey x\nSET src hello\nPEXPIRE src 50000\nCOPY src dst\nGET dst\nCOPY src dst\nSET src world\nCOPY src dst REPLACE\nGET dst\n\
         COPY src dst DB 3\nCOPY src dst DB 99\nCOPY src dst DB x\nCOPY src src DB 2\nCOPY src dst FOO\nSELECT 3\nGET dst\nSELECT 2\nGET src\nSELECT 0\nCOPY src src",
    );
}

#[test]
fn expire_family_options_and_errors() {
    let mut d = Diff::new();
    d.check_script(
        "EXPIRE nokey 100\nSET a 1\nEXPIRE a x\nEXPIRE a 100 FOO\nEXPIRE a 100 NX XX\nEXPIRE a 100 GT LT\nEXPIRE a 100 NX GT\n\
         EXPIRE a 100 XX\nEXPIRE a 100 GT\nEXPIRE a 100 LT\nEXPIRE a 100 NX\nTTL a\nEXPIRE a 100 NX\nEXPIRE a 200 GT\nTTL a\n\
         EXPIRE a 50 GT\nEXPIRE a 50 LT\nTTL a\nEXPIRE a 500 XX GT\nTTL a\nEXPIRE a 9223372036854775807\nPEXPIRE a 9223372036854775807\n\
         EXPIRE a -9223372036854775808\nEXPIREAT a 99999999999999999\nPERSIST a\nPERSIST a\nTTL a\nPTTL nokey\nTTL nokey\n\
         SET b 1\nEXPIRE b 0\nEXISTS b\nSET c 1\nEXPIREAT c 1\nEXISTS c\nSET e 1\nPEXPIREAT e 100\nEXISTS e\n\
         SET f 1\nEXPIRE f -5\nEXISTS f\nSET g 1\nPERSIST g\nEXPIRETIME g\nPEXPIRETIME g\nEXPIRETIME nokey\n\
         SET h 1\nEXPIREAT h 4102444800\nEXPIRETIME h\nPEXPIRETIME h\nPEXPIREAT h 4102444800123\nPEXPIRETIME h\nEXPIRETIME h\n\
         SET i 1\nEXPIRE i 100 lt\nTTL i\nSET i 2\nTTL i\nEXPIRE i 100 xx lt\nTTL i",
    );
}

#[test]
fn expiry_happens_lazily_and_actively() {
    let f = Server::ferrokv();
    let mut c = f.conn();
    for i in 0..200 {
        c.cmd(&["SET", &format!("k{i}"), "v", "PX", "50"]);
    }
    c.cmd(&["SET", "stay", "v"]);
    assert_eq!(c.cmd(&["DBSIZE"]), Resp::int(201));
    std::thread::sleep(Duration::from_millis(100));
    // Lazy: a read of an expired key finds nothing.
    assert_eq!(c.cmd(&["GET", "k0"]), Resp::nil());
    // Active: without reading, the server reclaims the rest.
    let mut size = 0;
    for _ in 0..50 {
        size = c.cmd(&["DBSIZE"]).as_int();
        if size == 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(size, 1, "active expiry did not reclaim expired keys");
    let info = c.cmd(&["INFO", "stats"]).text();
    assert!(info.contains("expired_keys:200"), "{info}");
}

#[test]
fn scan_options_and_errors() {
    let mut d = Diff::new();
    d.check_script("SCAN \"\"\nSCAN +0\nSCAN -\nSCAN \" 0\"\nSCAN x\nSCAN 0 COUNT 0\nSCAN 0 COUNT x\nSCAN 0 MATCH\nSCAN 0 FOO bar\nSCAN 0 TYPE");
    d.check(&["SCAN", "0"]);
    d.check(&["SET", "a", "1"]);
    d.check(&["SCAN", "0", "TYPE", "string"]);
    d.check(&["SCAN", "0", "TYPE", "list"]);
    d.check(&["SCAN", "0", "MATCH", "b*"]);
}

/// Every key present for the whole iteration is returned, while keys are added
/// and removed between calls (the table grows and then shrinks).
#[test]
fn scan_guarantee_under_growth_and_shrink() {
    let f = Server::ferrokv();
    let mut c = f.conn();
    let mut w = f.conn();
    for i in 0..1000 {
        c.cmd(&["SET", &format!("stay:{i}"), "1"]);
    }
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    let mut round = 0;
    loop {
        let r = c.cmd(&["SCAN", &cursor, "COUNT", "50"]).items();
        cursor = r[0].text();
        for k in r[1].items() {
            seen.insert(k.text());
        }
        round += 1;
        if round < 10 {
            for j in 0..500 {
                w.cmd(&["SET", &format!("tmp:{round}:{j}"), "1"]);
            }
        } else if round < 20 {
            for j in 0..500 {
                w.cmd(&["DEL", &format!("tmp:{}:{j}", round - 10)]);
            }
        }
        if cursor == "0" {
            break;
        }
    }
    for i in 0..1000 {
        assert!(seen.contains(&format!("stay:{i}")), "SCAN missed stay:{i}");
    }
}

#[test]
fn scan_count_and_match_cover_everything() {
    let f = Server::ferrokv();
    let mut c = f.conn();
    for i in 0..300 {
        c.cmd(&["SET", &format!("user:{i}"), "1"]);
        c.cmd(&["SET", &format!("item:{i}"), "1"]);
    }
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    loop {
        let r = c.cmd(&["SCAN", &cursor, "MATCH", "user:*", "COUNT", "7"]).items();
        cursor = r[0].text();
        for k in r[1].items() {
            assert!(k.text().starts_with("user:"));
            seen.insert(k.text());
        }
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 300);
}

#[test]
fn randomkey_dbsize_flush() {
    let mut d = Diff::new();
    d.check_script("RANDOMKEY\nDBSIZE\nSET a 1\nRANDOMKEY\nFLUSHDB FOO\nFLUSHDB ASYNC SYNC\nFLUSHALL FOO");
    d.check_script("SELECT 1\nSET b 2\nSELECT 0\nFLUSHDB\nDBSIZE\nSELECT 1\nDBSIZE\nFLUSHALL SYNC\nDBSIZE");
    d.check_script("SET a 1\nFLUSHDB ASYNC\nDBSIZE\nSET a 1\nFLUSHALL async\nDBSIZE");
    let f = Server::ferrokv();
    let mut c = f.conn();
    for i in 0..20 {
        c.cmd(&["SET", &format!("k{i}"), "v"]);
    }
    for _ in 0..50 {
        let k = c.cmd(&["RANDOMKEY"]).text();
        assert!(k.starts_with('k'));
    }
}

#[test]
fn object_subcommands() {
    let mut d = Diff::new();
    d.check_script(
        "SET i 123\nSET big 12345678\nSET e hello\nSET neg -1\nSET r aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n\
         OBJECT ENCODING i\nOBJECT ENCODING big\nOBJECT ENCODING e\nOBJECT ENCODING r\nOBJECT ENCODING nokey\n\
         OBJECT REFCOUNT i\nOBJECT REFCOUNT big\nOBJECT REFCOUNT e\nOBJECT REFCOUNT neg\nOBJECT REFCOUNT nokey\n\
         OBJECT FREQ i\nOBJECT IDLETIME i\nOBJECT IDLETIME nokey\nOBJECT HELP\nOBJECT FOO\nOBJECT\nOBJECT ENCODING\nOBJECT ENCODING a b\n\
         SET n 01\nOBJECT ENCODING n\nSET n 9223372036854775808\nOBJECT ENCODING n\nSET n 012345678901234567890\nOBJECT ENCODING n",
    );
}

#[test]
fn idletime_tracks_access() {
    let f = Server::ferrokv();
    let mut c = f.conn();
    c.cmd(&["SET", "k", "v"]);
    std::thread::sleep(Duration::from_millis(2100));
    let idle = c.cmd(&["OBJECT", "IDLETIME", "k"]).as_int();
    assert!((1..=3).contains(&idle), "idle {idle}");
    c.cmd(&["GET", "k"]);
    assert_eq!(c.cmd(&["OBJECT", "IDLETIME", "k"]).as_int(), 0);
}

/// OBJECT looks keys up without touching them but counts hits and misses.
#[test]
fn object_counts_keyspace_hits_and_misses() {
    let mut d = Diff::new();
    d.check(&["CONFIG", "RESETSTAT"]);
    d.check_script(
        "SET k v\nOBJECT ENCODING k\nOBJECT ENCODING nokey\nOBJECT IDLETIME k\nOBJECT REFCOUNT nokey\nOBJECT FREQ k\n",
    );
    d.same_info("stats", "keyspace_hits");
    d.same_info("stats", "keyspace_misses");
}
