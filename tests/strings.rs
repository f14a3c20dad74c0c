//! String commands compared reply by reply with real Redis 7.0 (options, errors,
//! encodings, expiry), plus a few exact-reply checks against ferrokv alone.

mod common;
use common::*;

/// Runs `script` only when ferrokv already has a command that creates a
/// non-string value (lists, sets...), so WRONGTYPE paths can be compared.

#[test]
fn get_set_basics() {
    let mut d = Diff::new();
    d.check_script(
        "GET nokey\nSET a hello\nGET a\nSET a world\nGET a\nSET e \"\"\nGET e\nSTRLEN e\n\
         SET\nSET a\nGET\nGET a b\nSET a b c\nSET a b nx xx\n\
         SET n 12345\nGET n\nSET n -0\nGET n\nSET n 007\nGET n\nSET n -9223372036854775808\nGET n\n\
         SET n 9223372036854775808\nGET n\nSET bin \"a\\x00b\\r\\n\"\nGET bin\nSTRLEN bin",
    );
}

#[test]
fn set_options() {
    let mut d = Diff::new();
    d.check_script(
        "SET k v NX\nSET k v2 NX\nGET k\nSET k v3 XX\nGET k\nSET nk v XX\nEXISTS nk\n\
         SET k v NX XX\nSET k v XX NX\nSET k v nx nx\nSET k v xx xx\nSET k v Nx\nSET k v nX\n\
         SET k v GET\nSET k v4 get\nSET nk2 v GET\nGET nk2\n\
         SET k v5 NX GET\nGET k\nSET nk3 v NX GET\nGET nk3\nSET k v6 XX GET\nSET nk4 v XX GET\nEXISTS nk4\n\
         SET k v EX\nSET k v PX\nSET k v EXAT\nSET k v PXAT\nSET k v KEEPTTL EX 10\nSET k v EX 10 KEEPTTL\n\
         SET k v EX 10 PX 100\nSET k v PX 100 EX 10\nSET k v EX 10 EXAT 100\nSET k v EXAT 100 PXAT 100\n\
         SET k v PXAT 100 EX 10\nSET k v PERSIST\nSET k v EX 10 EX 20\nTTL k\nSET k v PX 5000 PX 100000\nTTL k\n\
         SET k v foo\nSET k v EX 10 foo\nSET k v \"nx\\x00foo\"\nGET k\nSET k v EXX 10\nSET k v KEEPTTL KEEPTTL\n\
         SET k v EX abc\nSET k v EX 0\nSET k v EX -1\nSET k v PX 0\nSET k v PX -5\nSET k v EXAT 0\nSET k v PXAT -1\n\
         SET k v EX 9223372036854775\nSET k v EX 9223372036854776\nSET k v PX 9223372036854775807\n\
         SET k v EX 9223372036854775807\nSET k v EXAT 9223372036854775\nTTL k\nSET k v EXAT 9223372036854776\n\
         SET k v PXAT 9223372036854775807\nTTL k\nSET k v EX 1.5\nSET k v EX \" 10\"\nSET k v EX 10 NX GET\n\
         GET k\nSET k v ex 100 xx\nTTL k\nSET k v2 KEEPTTL\nTTL k\nGET k\nSET k v3\nTTL k\n\
         SET k v4 KEEPTTL GET XX\nTTL k\nSET k v PX 100000 KEEPTTL",
    );
}

#[test]
fn set_expiry_and_past_times() {
    let mut d = Diff::new();
    d.check_script(
        "SET k v EXAT 1\nGET k\nEXISTS k\nSET k v PXAT 1000\nGET k\nSET k v EX 100\nTTL k\nSET k v PX 100000\nTTL k\n\
         SET k v EXAT 1\nSET k v2 GET\nSET k v EXAT 4102444800\nTTL k\nEXPIRETIME k\nSET k v PXAT 4102444800000\n\
         PEXPIRETIME k\nSET k v KEEPTTL\nEXPIRETIME k\nSETEX k 100 v\nTTL k\nGETSET k x\nTTL k\n\
         SET k v EX 100\nAPPEND k x\nTTL k\nINCR k\nSET c 5 EX 100\nINCR c\nTTL c\nINCRBYFLOAT c 1.5\nTTL c\n\
         SETRANGE c 0 9\nTTL c\nMSET c 1\nTTL c",
    );
}

#[test]
fn setnx_setex_psetex() {
    let mut d = Diff::new();
    d.check_script(
        "SETNX a 1\nSETNX a 2\nGET a\nSETNX\nSETNX a\nSETNX a 1 2\n\
         SETEX s 100 v\nGET s\nTTL s\nSETEX s 0 v\nSETEX s -10 v\nSETEX s abc v\nSETEX s 9223372036854776 v\n\
         SETEX s 9223372036854775 v\nSETEX s 1.5 v\nSETEX s 10\nSETEX s\n\
         PSETEX p 100000 v\nGET p\nTTL p\nPSETEX p 0 v\nPSETEX p -1 v\nPSETEX p x v\n\
         PSETEX p 9223372036854775807 v\nPSETEX p 9223372036854775000 v\nGET s\nGET p\nSETEX s 100 12\n\
         OBJECT ENCODING s\nPSETEX p 100000 \"\"\nSTRLEN p",
    );
}

#[test]
fn getex_getdel_getset() {
    let mut d = Diff::new();
    d.check_script(
        "GETEX nokey\nGETEX nokey EX 10\nGETEX nokey foo\nGETEX nokey EX 0\nSET k v\nGETEX k\nTTL k\n\
         GETEX k EX 100\nTTL k\nGETEX k PERSIST\nTTL k\nGETEX k PX 200000\nTTL k\nGETEX k EXAT 4102444800\n\
         EXPIRETIME k\nGETEX k PXAT 4102444800000\nPEXPIRETIME k\nGETEX k persist\nTTL k\n\
         GETEX k EX\nGETEX k EX 10 PX 10\nGETEX k PERSIST EX 10\nGETEX k EX 10 PERSIST\nGETEX k KEEPTTL\n\
         GETEX k NX\nGETEX k XX\nGETEX k GET\nGETEX k EX 0\nGETEX k EX -1\nGETEX k EX x\nGETEX k PX 0\n\
         GETEX k EXAT 0\nGETEX k EX 9223372036854776\nGETEX k PERSIST PERSIST\nGETEX k EX 10 EX 20\nTTL k\n\
         GETEX k EXAT 1\nEXISTS k\nSET k v\nGETEX k PXAT 1\nGET k\nSET n 42\nGETEX n EX 100\nOBJECT ENCODING n\n\
         GETEX\nGETEX k bar baz\n\
         GETDEL nokey\nSET k v\nGETDEL k\nGETDEL k\nEXISTS k\nSET n 7\nGETDEL n\nGETDEL\nGETDEL a b\n\
         GETSET nokey v\nGET nokey\nGETSET nokey w\nGETSET nokey 100\nOBJECT ENCODING nokey\nGETSET\nGETSET a\n\
         SET t v EX 100\nGETSET t x\nTTL t",
    );
}

#[test]
fn mget_mset_msetnx() {
    let mut d = Diff::new();
    d.check_script(
        "MSET a 1 b 2 c 3\nMGET a b c nokey\nMGET nokey\nMSET a\nMSET a 1 b\nMSET\nMGET\n\
         MSET a x a y\nGET a\nMSETNX a 1 z 2\nEXISTS z\nMSETNX z 1 y 2\nMGET z y\nMSETNX z\nMSETNX q 1 q 2\nGET q\n\
         MSETNX w 1 x\nMSET n 123 e \"\" l 123456789012345678901234567890123456789012345\n\
         OBJECT ENCODING n\nOBJECT ENCODING e\nOBJECT ENCODING l\nMGET n e l",
    );
    d.check_with_list("MGET a list nokey\nMSET list 1\nGET list");
}

#[test]
fn append_strlen() {
    let mut d = Diff::new();
    d.check_script(
        "APPEND a hello\nGET a\nOBJECT ENCODING a\nAPPEND a \" world\"\nGET a\nOBJECT ENCODING a\nSTRLEN a\n\
         APPEND n 123\nOBJECT ENCODING n\nAPPEND n 4\nGET n\nOBJECT ENCODING n\nINCR n\nOBJECT ENCODING n\n\
         APPEND e \"\"\nEXISTS e\nSTRLEN e\nOBJECT ENCODING e\nSET s abc\nAPPEND s \"\"\nOBJECT ENCODING s\n\
         STRLEN nokey\nSET i -123\nSTRLEN i\nAPPEND\nAPPEND a\nSTRLEN\nSTRLEN a b\n\
         APPEND big 1234567890123456789012345678901234567890123456\nOBJECT ENCODING big\n\
         APPEND big2 12345678901234567890\nOBJECT ENCODING big2\nAPPEND big3 123456789012345678901\nOBJECT ENCODING big3",
    );
    d.check_with_list("APPEND list x\nSTRLEN list");
}

#[test]
fn incr_decr_family() {
    let mut d = Diff::new();
    d.check_script(
        "INCR c\nINCR c\nDECR c\nDECR c\nDECR c\nINCRBY c 10\nDECRBY c 3\nINCRBY c -100\nDECRBY c -100\nGET c\n\
         OBJECT ENCODING c\nSET c 9223372036854775806\nINCR c\nINCR c\nGET c\nSET c -9223372036854775807\nDECR c\n\
         DECR c\nDECRBY c 1\nSET c 0\nDECRBY c -9223372036854775808\nINCRBY c -9223372036854775808\nGET c\n\
         INCRBY c 9223372036854775807\nINCRBY c 1\nINCRBY x 9223372036854775808\nINCRBY x abc\nINCRBY x 1.5\n\
         INCRBY x \"\"\nINCRBY x -0\nINCRBY x 01\nINCRBY x \" 1\"\nDECRBY x foo\nSET s abc\nINCR s\nDECR s\n\
         INCRBY s 1\nSET s \" 1\"\nINCR s\nSET s 1.0\nINCR s\nSET s 01\nINCR s\nSET s -0\nINCR s\nSET s +1\nINCR s\n\
         SET s 99999999999999999999\nINCR s\nSET s \"\"\nINCR s\nAPPEND r 10\nAPPEND r 0\nINCR r\nOBJECT ENCODING r\n\
         INCR\nINCR a b\nINCRBY a\nDECRBY a\nINCRBY a 1 2\nSET big 12345678901234567890123456789012345678901234567890\n\
         INCR big\nSET r2 abc\nSETRANGE r2 0 5\nGET r2\nSET r3 x\nSETRANGE r3 0 12\nINCR r3\nOBJECT ENCODING r3",
    );
    d.check_with_list("INCR list\nDECRBY list 2\nINCRBY list x");
}

#[test]
fn incrbyfloat_long_double_format() {
    let mut d = Diff::new();
    d.check_script(
        "SET f 0.1\nINCRBYFLOAT f 0.2\nSET g 10.5\nINCRBYFLOAT g 0.1\nINCRBYFLOAT g -0.1\nINCRBYFLOAT g -10.5\n\
         GET g\nOBJECT ENCODING g\nINCRBYFLOAT h 5\nOBJECT ENCODING h\nINCRBYFLOAT h 3.0e3\nINCRBYFLOAT h -3.0E3\n\
         INCRBYFLOAT h 0x10\nINCRBYFLOAT h 1e-20\nINCRBYFLOAT h -1e-20\nINCRBYFLOAT h 1e300\nINCRBYFLOAT h 1e308\n\
         INCRBYFLOAT h 1e4000\nGET h\nOBJECT ENCODING h\nSTRLEN h\nINCRBYFLOAT h -1e4000\nINCRBYFLOAT h 1e5000\n\
         INCRBYFLOAT z inf\nINCRBYFLOAT z -inf\nINCRBYFLOAT z +inf\nINCRBYFLOAT z nan\nINCRBYFLOAT z abc\n\
         INCRBYFLOAT z \"\"\nINCRBYFLOAT z \" 1\"\nINCRBYFLOAT z \"1 \"\nINCRBYFLOAT z 1.5.5\nINCRBYFLOAT z 1e\n\
         INCRBYFLOAT z \"1.5\\x00abc\"\nEXISTS z\nINCRBYFLOAT z 1e-5000\nINCRBYFLOAT z 3.14159265358979323846\n\
         INCRBYFLOAT z 0.0000000000000000001\nINCRBYFLOAT z -3.14159265358979323846\nGET z\n\
         SET s abc\nINCRBYFLOAT s 1\nSET s inf\nINCRBYFLOAT s 1\nSET s \" 1\"\nINCRBYFLOAT s 1\nSET s 1e10\n\
         INCRBYFLOAT s 1\nSET i 9223372036854775807\nINCRBYFLOAT i 1\nSET i -9223372036854775808\nINCRBYFLOAT i -1\n\
         INCRBYFLOAT i 0.5\nSET k 5\nINCRBYFLOAT k -5\nOBJECT ENCODING k\nINCRBYFLOAT k -0.0\nGET k\n\
         INCRBYFLOAT\nINCRBYFLOAT k\nINCRBYFLOAT k 1 2\nSET e 1.23456789012345678901234567890\nINCRBYFLOAT e 0\n\
         INCRBYFLOAT e 1000000000000000000000000\nOBJECT ENCODING e\nINCRBYFLOAT e -0.00000000000000001",
    );
    d.check_with_list("INCRBYFLOAT list 1\nINCRBYFLOAT list abc");
}

#[test]
fn setrange_getrange_substr() {
    let mut d = Diff::new();
    d.check_script(
        "SETRANGE k 5 hello\nGET k\nOBJECT ENCODING k\nSTRLEN k\nSETRANGE k 0 HE\nGET k\nSETRANGE k 8 LLOWORLD\nGET k\n\
         SETRANGE n 0 \"\"\nEXISTS n\nSETRANGE k 100 \"\"\nSTRLEN k\nSETRANGE k -1 x\nSETRANGE k x x\n\
         SETRANGE k 536870911 x\nSETRANGE k 536870912 x\nSETRANGE n 536870912 x\nSETRANGE n 536870911 xy\n\
         SETRANGE n 9223372036854775807 x\nEXISTS n\nSET i 12345\nSETRANGE i 1 9\nGET i\nOBJECT ENCODING i\n\
         SET i 12345\nSETRANGE i 1 \"\"\nOBJECT ENCODING i\nSET s abc\nSETRANGE s 0 x\nOBJECT ENCODING s\n\
         SETRANGE\nSETRANGE k 0\nSETRANGE k 0 a b\n\
         SET g \"This is a string\"\nGETRANGE g 0 3\nGETRANGE g -3 -1\nGETRANGE g 0 -1\nGETRANGE g 10 100\n\
         GETRANGE g 100 200\nGETRANGE g -100 -50\nGETRANGE g -1 -5\nGETRANGE g 5 3\nGETRANGE g -5 -1\n\
         GETRANGE g 0 0\nGETRANGE g -1 -1\nGETRANGE g -100 2\nGETRANGE g 2 -100\nGETRANGE g 0 9223372036854775807\n\
         GETRANGE g -9223372036854775808 9223372036854775807\nGETRANGE g -9223372036854775808 -9223372036854775808\n\
         GETRANGE g a 1\nGETRANGE g 1 b\nGETRANGE nokey 0 -1\nGETRANGE nokey a b\nSET i 123456\nGETRANGE i 1 3\n\
         GETRANGE i -2 -1\nSET e \"\"\nGETRANGE e 0 -1\nGETRANGE e 0 0\nGETRANGE e -1 0\nGETRANGE\nGETRANGE g 0\n\
         SUBSTR g 0 3\nSUBSTR g -3 -1\nSUBSTR nokey 0 1\nSUBSTR g x 1\nSUBSTR g 1",
    );
    d.check_with_list("SETRANGE list 0 x\nSETRANGE list 0 \"\"\nGETRANGE list 0 1\nGETRANGE list a b");
}

#[test]
fn setrange_respects_proto_max_bulk_len() {
    let mut d = Diff::with(&["--proto-max-bulk-len", "1048576"]);
    d.check_script(
        "SETRANGE k 1048575 x\nSTRLEN k\nSETRANGE k 1048575 xy\nSETRANGE k 1048576 x\nSETRANGE n 1048576 x\n\
         SETRANGE n 1048570 123456\nSTRLEN n\nSETRANGE n 0 \"\"\nSET a 1\nAPPEND a 2",
    );
    let big = "x".repeat(600 * 1024);
    d.check(&["SET", "big", &big]);
    d.check(&["APPEND", "big", &big]);
    d.check(&["STRLEN", "big"]);
    d.check(&["SET", "b2", &big[..524288]]);
    d.check(&["APPEND", "b2", &big[..524288]]);
    d.check(&["APPEND", "b2", "1"]);
    d.check(&["STRLEN", "b2"]);
}

#[test]
fn lcs_all_options() {
    let mut d = Diff::new();
    d.check_script(
        "MSET key1 ohmytext key2 mynewtext\nLCS key1 key2\nLCS key1 key2 LEN\nLCS key1 key2 IDX\n\
         LCS key1 key2 IDX MINMATCHLEN 4\nLCS key1 key2 IDX MINMATCHLEN 4 WITHMATCHLEN\nLCS key1 key2 IDX WITHMATCHLEN\n\
         LCS key1 key2 idx minmatchlen 0\nLCS key1 key2 IDX MINMATCHLEN -5\nLCS key1 key2 IDX MINMATCHLEN x\n\
         LCS key1 key2 IDX MINMATCHLEN\nLCS key1 key2 LEN IDX\nLCS key1 key2 IDX LEN\nLCS key1 key2 foo\n\
         LCS key1 key2 WITHMATCHLEN\nLCS key1 key2 MINMATCHLEN 3\nLCS key1 key2 LEN LEN\nLCS key1 nokey\n\
         LCS nokey nokey2 IDX\nLCS nokey key1 LEN\nLCS key1 key1\nLCS key1 key1 IDX WITHMATCHLEN\nLCS key1\nLCS\n\
         MSET a 1234567 b 34512367\nLCS a b\nLCS a b IDX WITHMATCHLEN\nMSET x ABCBDAB y BDCABA\nLCS x y\n\
         LCS x y IDX WITHMATCHLEN\nLCS y x IDX\nMSET p aaaa q aa\nLCS p q IDX\nLCS q p IDX WITHMATCHLEN\n\
         MSET u \"\" v abc\nLCS u v\nLCS u v IDX\nLCS v u LEN\nMSET m1 xxabcxx m2 yyabcyyabc\nLCS m1 m2 IDX WITHMATCHLEN\n\
         LCS m1 m2 IDX MINMATCHLEN 3 WITHMATCHLEN",
    );
    d.check_with_list("LCS list key1\nLCS key1 list\nLCS list nokey IDX\nLCS key1 list foo");
}

#[test]
fn lcs_resp3_map_shape() {
    let mut d = Diff::new();
    d.both(&["HELLO", "3"]);
    d.check_script(
        "MSET key1 ohmytext key2 mynewtext\nLCS key1 key2 IDX\nLCS key1 key2 IDX MINMATCHLEN 4 WITHMATCHLEN\n\
         LCS key1 key2\nLCS key1 key2 LEN\nGET nokey\nSET k v GET\nSET k v NX\nMGET nokey k\nGETEX nokey",
    );
    let r = d.f.cmd(&["LCS", "key1", "key2", "IDX"]);
    assert!(matches!(r, Resp::Map(_)), "expected a RESP3 map, got {r:?}");
}

#[test]
fn lcs_longer_strings() {
    let mut d = Diff::new();
    let a: String = (0..300).map(|i| (b'a' + ((i * 7 + i / 13) % 5) as u8) as char).collect();
    let b: String = (0..280).map(|i| (b'a' + ((i * 3 + i / 7) % 5) as u8) as char).collect();
    d.check(&["MSET", "a", &a, "b", &b]);
    d.check(&["LCS", "a", "b"]);
    d.check(&["LCS", "a", "b", "LEN"]);
    d.check(&["LCS", "a", "b", "IDX", "WITHMATCHLEN"]);
    d.check(&["LCS", "a", "b", "IDX", "MINMATCHLEN", "3"]);
    let mut d2 = Diff::with(&["--proto-max-bulk-len", "1048576"]);
    let big = "ab".repeat(400);
    d2.check(&["MSET", "a", &big, "b", &big]);
    d2.check(&["LCS", "a", "b", "LEN"]);
}

#[test]
fn encodings_follow_redis() {
    let mut d = Diff::new();
    for v in [
        "0",
        "1",
        "-1",
        "123",
        "-0",
        "01",
        "+1",
        " 1",
        "1.0",
        "9223372036854775807",
        "-9223372036854775808",
        "9223372036854775808",
        "12345678901234567890",
        "",
        "a",
        "12345678901234567890123456789012345678901234",
        "123456789012345678901234567890123456789012345",
    ] {
        d.check(&["SET", "k", v]);
        d.check(&["OBJECT", "ENCODING", "k"]);
        d.check(&["GET", "k"]);
        d.check(&["SETNX", "n", v]);
        d.check(&["OBJECT", "ENCODING", "n"]);
        d.check(&["DEL", "n"]);
        d.check(&["GETSET", "g", v]);
        d.check(&["OBJECT", "ENCODING", "g"]);
        d.check(&["SETEX", "x", "100", v]);
        d.check(&["OBJECT", "ENCODING", "x"]);
        d.check(&["MSET", "m", v]);
        d.check(&["OBJECT", "ENCODING", "m"]);
        d.check(&["APPEND", "ap", v]);
        d.check(&["OBJECT", "ENCODING", "ap"]);
        d.check(&["DEL", "ap"]);
    }
}

#[test]
fn keyspace_stats_and_wrongtype() {
    let mut d = Diff::new();
    d.check_script("CONFIG RESETSTAT\nSET k v\nGET k\nGET nokey\nMGET k nokey k\nSTRLEN k\nGETRANGE nokey 0 1");
    let hits = |c: &mut Conn| {
        let info = c.cmd(&["INFO", "stats"]).text();
        info.lines().filter(|l| l.starts_with("keyspace_")).map(str::to_string).collect::<Vec<_>>()
    };
    let (f, r) = (hits(&mut d.f), hits(&mut d.r));
    assert_eq!(f, r);
    d.check_with_list(
        "GET list\nSET list v GET\nGETEX list\nGETEX list EX 0\nGETDEL list\nGETSET list x\nSTRLEN list\n\
         SET list x\nTYPE list",
    );
}

#[test]
fn exact_replies_ferrokv_only() {
    let f = Server::ferrokv();
    let mut c = f.conn();
    assert_eq!(c.cmd(&["SET", "a", "1"]), Resp::ok());
    assert_eq!(c.cmd(&["GET", "a"]), Resp::bulk("1"));
    assert_eq!(c.cmd(&["SET", "a", "2", "NX"]), Resp::nil());
    assert_eq!(c.cmd(&["SET", "a", "3", "GET"]), Resp::bulk("1"));
    assert_eq!(c.cmd(&["SET", "a", "v", "EX", "0"]), Resp::err("ERR invalid expire time in 'set' command"));
    assert_eq!(c.cmd(&["SETEX", "a", "-1", "v"]), Resp::err("ERR invalid expire time in 'setex' command"));
    assert_eq!(c.cmd(&["GETEX", "a", "PX", "0"]), Resp::err("ERR invalid expire time in 'getex' command"));
    assert_eq!(c.cmd(&["SET", "a", "v", "NX", "XX"]), Resp::err("ERR syntax error"));
    assert_eq!(c.cmd(&["INCRBYFLOAT", "f", "0.1"]), Resp::bulk("0.1"));
    assert_eq!(c.cmd(&["INCRBYFLOAT", "f", "0.2"]), Resp::bulk("0.3"));
    assert_eq!(c.cmd(&["SET", "g", "10.5"]), Resp::ok());
    assert_eq!(c.cmd(&["INCRBYFLOAT", "g", "0.1"]), Resp::bulk("10.6"));
    assert_eq!(c.cmd(&["INCRBYFLOAT", "g", "inf"]), Resp::err("ERR increment would produce NaN or Infinity"));
    assert_eq!(c.cmd(&["INCRBYFLOAT", "g", "x"]), Resp::err("ERR value is not a valid float"));
    assert_eq!(c.cmd(&["DECRBY", "g", "-9223372036854775808"]), Resp::err("ERR decrement would overflow"));
    assert_eq!(c.cmd(&["MSET", "a"]), Resp::err("ERR wrong number of arguments for 'mset' command"));
    assert_eq!(c.cmd(&["APPEND", "z", "abc"]), Resp::int(3));
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "z"]), Resp::bulk("embstr"));
    assert_eq!(c.cmd(&["APPEND", "z", "d"]), Resp::int(4));
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "z"]), Resp::bulk("raw"));
    assert_eq!(c.cmd(&["SET", "k1", "ohmytext"]), Resp::ok());
    assert_eq!(c.cmd(&["SET", "k2", "mynewtext"]), Resp::ok());
    assert_eq!(c.cmd(&["LCS", "k1", "k2"]), Resp::bulk("mytext"));
    assert_eq!(
        c.cmd(&["LCS", "k1", "k2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"]),
        Resp::arr(vec![
            Resp::bulk("matches"),
            Resp::arr(vec![Resp::arr(vec![
                Resp::arr(vec![Resp::int(4), Resp::int(7)]),
                Resp::arr(vec![Resp::int(5), Resp::int(8)]),
                Resp::int(4),
            ])]),
            Resp::bulk("len"),
            Resp::int(6),
        ])
    );
}

#[test]
fn binary_safe_values() {
    let mut d = Diff::new();
    let v: Vec<u8> = (0..=255u8).collect();
    d.check_b(&[b"SET", b"bin", &v]);
    d.check_b(&[b"GET", b"bin"]);
    d.check_b(&[b"APPEND", b"bin", &v]);
    d.check_b(&[b"STRLEN", b"bin"]);
    d.check_b(&[b"GETRANGE", b"bin", b"250", b"260"]);
    d.check_b(&[b"SETRANGE", b"bin", b"510", b"\x00\xff\x00"]);
    d.check_b(&[b"GET", b"bin"]);
    d.check_b(&[b"SET", b"k\x00ey", b"\x00"]);
    d.check_b(&[b"MGET", b"k\x00ey", b"k"]);
    d.check_b(&[b"INCRBYFLOAT", b"fl", b"2\x001"]);
    d.check_b(&[b"SET", b"k", b"v", b"E\x00X", b"10"]);
    d.check_b(&[b"SET", b"k", b"v", b"EX\x00", b"10"]);
    d.check_b(&[b"TTL", b"k"]);
}

/// `rdb_changes_since_last_save` of a server.
fn dirty(c: &mut Conn) -> String {
    let info = c.cmd(&["INFO", "persistence"]).text();
    info.lines().find(|l| l.starts_with("rdb_changes_since_last_save")).unwrap_or("").to_string()
}

#[test]
fn dirty_counts_match_redis() {
    let mut d = Diff::new();
    let steps = [
        "SET a 1",
        "SET a 2 NX",
        "SET a 3 XX GET",
        "SET b 1 XX",
        "SETNX a 1",
        "SETEX s 100 v",
        "GETEX s",
        "GETEX s PERSIST",
        "GETEX s PERSIST",
        "GETEX s EX 100",
        "GETEX s EXAT 1",
        "GETDEL a",
        "GETDEL a",
        "GETSET g 1",
        "MSET x 1 y 2 z 3",
        "MSETNX x 1 w 2",
        "MSETNX v 1 w 2",
        "APPEND ap abc",
        "APPEND ap \"\"",
        "INCR c",
        "INCRBY c x",
        "INCRBYFLOAT c 1.5",
        "SETRANGE r 0 \"\"",
        "SETRANGE r 2 ab",
        "SETRANGE r 0 \"\"",
        "SETRANGE r 0 ab",
        "GET r",
        "SET e v EXAT 1",
    ];
    for s in steps {
        d.check_script(s);
        let (f, r) = (dirty(&mut d.f), dirty(&mut d.r));
        assert_eq!(f, r, "after {s}");
    }
}

#[test]
fn randomized_lcs_and_setrange_match_redis() {
    let mut d = Diff::new();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    for _ in 0..80 {
        let la = next(12) as usize;
        let lb = next(12) as usize;
        let a: String = (0..la).map(|_| (b'a' + next(3) as u8) as char).collect();
        let b: String = (0..lb).map(|_| (b'a' + next(3) as u8) as char).collect();
        d.check(&["MSET", "a", &a, "b", &b]);
        d.check(&["LCS", "a", "b"]);
        d.check(&["LCS", "a", "b", "IDX", "WITHMATCHLEN"]);
        d.check(&["LCS", "b", "a", "IDX", "MINMATCHLEN", &next(4).to_string()]);
        let off = next(20).to_string();
        d.check(&["SETRANGE", "a", &off, &b]);
        d.check(&["GET", "a"]);
        let (s, e) = ((next(40) as i64 - 20).to_string(), (next(40) as i64 - 20).to_string());
        d.check(&["GETRANGE", "a", &s, &e]);
    }
}
