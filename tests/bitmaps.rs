//! Bitmap commands compared reply by reply with real Redis 7.0: SETBIT, GETBIT,
//! BITCOUNT, BITPOS, BITOP, BITFIELD and BITFIELD_RO, with their errors, limits
//! and encodings, plus a few exact-reply checks against ferrokv alone.

mod common;
use common::*;

/// Runs `script` only when ferrokv already has a non-string type to test
/// WRONGTYPE against.

#[test]
fn setbit_getbit() {
    let mut d = Diff::new();
    d.check_script(
        "SETBIT b 7 1\nGET b\nSETBIT b 7 1\nSETBIT b 7 0\nGETBIT b 7\nSETBIT b 0 1\nGETBIT b 0\nGETBIT b 1\n\
         SETBIT b 100 1\nSTRLEN b\nGETBIT b 100\nGETBIT b 99\nGETBIT b 1000000\nGETBIT nokey 0\nGET b\n\
         OBJECT ENCODING b\nSETBIT b -1 1\nSETBIT b x 1\nSETBIT b 1.5 1\nSETBIT b 0 2\nSETBIT b 0 -1\nSETBIT b 0 x\n\
         SETBIT b 0 \"\"\nSETBIT b 4294967295 0\nSETBIT b 4294967296 0\nSETBIT b 9223372036854775807 0\n\
         GETBIT b -1\nGETBIT b x\nGETBIT b 4294967296\nGETBIT b 4294967295\nSETBIT b 01 1\nSETBIT b \" 1\" 1\n\
         SETBIT b -0 1\nSET i 1\nGETBIT i 2\nGETBIT i 7\nGETBIT i 3\nSETBIT i 6 1\nGET i\nOBJECT ENCODING i\n\
         SET s abc\nSETBIT s 0 0\nOBJECT ENCODING s\nGET s\nSET e \"\"\nGETBIT e 0\nSETBIT e 3 1\nGET e\n\
         SETBIT\nSETBIT b\nSETBIT b 1\nSETBIT b 1 1 1\nGETBIT\nGETBIT b\nGETBIT b 1 2\n\
         SET t v EX 100\nSETBIT t 1 1\nTTL t",
    );
    d.check_with_list("SETBIT list 0 1\nGETBIT list 0\nSETBIT list x 1\nGETBIT list x");
}

#[test]
fn setbit_offset_limit_follows_proto_max_bulk_len() {
    let mut d = Diff::with(&["--proto-max-bulk-len", "1048576"]);
    d.check_script(
        "SETBIT b 8388607 1\nSTRLEN b\nSETBIT b 8388608 1\nGETBIT b 8388608\nGETBIT b 8388607\n\
         BITFIELD f SET u8 8388600 255\nSTRLEN f\nBITFIELD f SET u8 8388608 1\nBITFIELD g SET i64 8388607 1\nSTRLEN g\n\
         BITFIELD h GET u8 #1048576\nBITFIELD h GET u8 #1048575\nBITFIELD h SET u8 #1048575 1",
    );
}

#[test]
fn bitcount_ranges() {
    let mut d = Diff::new();
    d.check_script(
        "SET s foobar\nBITCOUNT s\nBITCOUNT s 0 0\nBITCOUNT s 1 1\nBITCOUNT s 1 1 BYTE\nBITCOUNT s 5 30 BIT\n\
         BITCOUNT s 0 -1\nBITCOUNT s -2 -1\nBITCOUNT s -1 -2\nBITCOUNT s -100 100\nBITCOUNT s 100 200\nBITCOUNT s 3 1\n\
         BITCOUNT s 0 -1 BIT\nBITCOUNT s 0 47 bit\nBITCOUNT s 1 6 BIT\nBITCOUNT s 7 7 BIT\nBITCOUNT s 9 9 BIT\n\
         BITCOUNT s -5 -1 BIT\nBITCOUNT s -1 -5 BIT\nBITCOUNT s 3 3 BIT\nBITCOUNT s 0 7 BIT\nBITCOUNT s 2 13 BIT\n\
         BITCOUNT s 0\nBITCOUNT s 0 1 2\nBITCOUNT s 0 1 BIT 1\nBITCOUNT s a b\nBITCOUNT s 0 b\nBITCOUNT s 0 1 nope\n\
         BITCOUNT s -1 -5 nope\nBITCOUNT s -9223372036854775808 9223372036854775807\n\
         BITCOUNT s -9223372036854775808 9223372036854775807 BIT\nBITCOUNT nokey\nBITCOUNT nokey 0\nBITCOUNT nokey a b\n\
         BITCOUNT nokey 0 1 nope\nSET i 12345\nBITCOUNT i\nBITCOUNT i 1 2\nBITCOUNT i 3 20 BIT\nSET e \"\"\nBITCOUNT e\n\
         BITCOUNT e 0 -1\nBITCOUNT e 0 -1 BIT\nBITCOUNT\nSET big \"\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x0f\\xf0\"\n\
         BITCOUNT big\nBITCOUNT big 1 9\nBITCOUNT big 4 83 BIT\nBITCOUNT big 73 78 BIT",
    );
    d.check_with_list("BITCOUNT list\nBITCOUNT list a b\nBITCOUNT list 0");
}

#[test]
fn bitpos_rules() {
    let mut d = Diff::new();
    d.check_script(
        "SET a \"\\xff\\xf0\\x00\"\nBITPOS a 0\nBITPOS a 1\nSET b \"\\x00\\xff\\xf0\"\nBITPOS b 1 0\nBITPOS b 1 2\n\
         BITPOS b 1 2 -1 BYTE\nBITPOS b 1 7 15 BIT\nBITPOS b 1 7 -3 BIT\nSET z \"\\x00\\x00\\x00\"\nBITPOS z 1\n\
         BITPOS z 0\nSET f \"\\xff\\xff\\xff\"\nBITPOS f 0\nBITPOS f 0 0\nBITPOS f 0 0 -1\nBITPOS f 0 0 2\n\
         BITPOS f 0 0 -1 BIT\nBITPOS f 0 0 23 BIT\nBITPOS f 0 0 100 BIT\nBITPOS f 0 3 BIT\nBITPOS f 1 0 -1 bit\n\
         BITPOS f 1 100\nBITPOS f 0 100\nBITPOS f 1 -1\nBITPOS f 1 -100 -50\nBITPOS f 0 2 1\nBITPOS f 1 2 1\n\
         BITPOS nokey 0\nBITPOS nokey 1\nBITPOS nokey 0 5 10\nBITPOS nokey 1 x\nBITPOS a 2\nBITPOS a -1\nBITPOS a x\n\
         BITPOS a 1 x\nBITPOS a 1 0 x\nBITPOS a 1 0 1 x\nBITPOS a 1 0 1 BIT 1\nBITPOS a\nBITPOS\n\
         SET c \"\\x0f\\x00\\xf0\"\nBITPOS c 1 1 BIT\nBITPOS c 1 4 BIT\nBITPOS c 1 5 BIT\nBITPOS c 0 1 3 BIT\n\
         BITPOS c 0 4 7 BIT\nBITPOS c 0 16 19 BIT\nBITPOS c 0 20 23 BIT\nBITPOS c 0 20 BIT\nBITPOS c 0 4 20 BIT\n\
         BITPOS c 1 5 18 BIT\nBITPOS c 1 9 15 BIT\nBITPOS c 0 9 15 BIT\nBITPOS c 0 1 BYTE\nBITPOS c 1 -2 -1 BIT\n\
         BITPOS c 1 -9 -3 BIT\nBITPOS c 0 -20 -2 BIT\nBITPOS c 0 -1 -20 BIT\nSET i 12\nBITPOS i 1\nBITPOS i 0 1\n\
         SET e \"\"\nBITPOS e 0\nBITPOS e 1\nBITPOS e 0 0 -1\nBITPOS e 0 0 -1 BIT\n\
         SET w \"\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\"\nBITPOS w 0\n\
         BITPOS w 0 0 -1\nBITPOS w 0 3 14\nBITPOS w 0 1 130 BIT\nBITPOS w 0 1 134 BIT\nBITPOS w 1 135 BIT",
    );
    d.check_with_list("BITPOS list 1\nBITPOS list 2\nBITPOS list 1 x");
}

#[test]
fn bitop_operations() {
    let mut d = Diff::new();
    d.check_script(
        "SET a foobar\nSET b abcdef\nSET c xy\nBITOP AND dest a b\nGET dest\nBITOP OR dest a b c\nGET dest\n\
         BITOP XOR dest a c\nGET dest\nBITOP NOT dest a\nGET dest\nOBJECT ENCODING dest\nBITOP and dest a c\nGET dest\n\
         BITOP Or dest c nokey\nGET dest\nBITOP NOT dest a b\nBITOP NOT dest\nBITOP FOO dest a\nBITOP\nBITOP AND\n\
         BITOP AND dest\nBITOP AND dest nokey\nEXISTS dest\nBITOP AND dest nokey nokey2\nSET dest x EX 100\n\
         BITOP OR dest a\nTTL dest\nBITOP XOR dest nokey\nEXISTS dest\nSET n 123\nBITOP NOT dest n\nGET dest\n\
         BITOP AND dest a a\nGET dest\nBITOP XOR dest a a\nGET dest\nSET e \"\"\nBITOP OR dest e\nEXISTS dest\n\
         BITOP AND dest e a\nGET dest\nBITOP NOT a a\nGET a\nBITOP OR c c b\nGET c\nBITOP \"and\\x00x\" dest b",
    );
    d.check_with_list("BITOP AND dest list a\nBITOP NOT dest list\nBITOP OR list a\nTYPE list");
}

#[test]
fn bitfield_get_set_incrby() {
    let mut d = Diff::new();
    d.check_script(
        "BITFIELD k SET i8 0 100 GET i8 0\nBITFIELD k INCRBY i8 0 100\nBITFIELD k GET u8 0 GET i8 0 GET u4 0 GET i4 4\n\
         BITFIELD k SET u8 #1 255 GET u8 #1 GET i8 #1\nGET k\nOBJECT ENCODING k\nBITFIELD k INCRBY u2 100 1\n\
         BITFIELD k INCRBY u2 100 1 INCRBY u2 100 1 INCRBY u2 100 1 INCRBY u2 100 1\nBITFIELD k GET u2 100\n\
         BITFIELD k SET i64 0 -1 GET i64 0 GET u63 0 GET u63 1\nBITFIELD k SET i64 8 9223372036854775807 GET i64 8\n\
         BITFIELD k INCRBY i64 8 1\nBITFIELD k INCRBY i64 8 -1\nBITFIELD k SET u63 3 9223372036854775807\n\
         BITFIELD k GET u63 3\nBITFIELD k GET i1 0 GET u1 0 GET i1 200 GET u1 1000\nBITFIELD nokey GET u8 0 GET i16 5\n\
         BITFIELD nokey\nEXISTS nokey\nBITFIELD k\nSET i 123\nBITFIELD i GET u8 0 GET i16 4 GET u8 16 GET u8 24\n\
         BITFIELD i SET u8 0 50\nGET i\nOBJECT ENCODING i\nSET s abc\nBITFIELD s GET u8 0\nOBJECT ENCODING s\n\
         BITFIELD s SET u8 0 97\nOBJECT ENCODING s\nBITFIELD s INCRBY i5 100 1 GET i5 100\n\
         BITFIELD t SET u8 0 1 SET u8 0 2 SET u8 0 3 GET u8 0\nBITFIELD t INCRBY u8 0 -5\nBITFIELD t SET u8 0 -1\n\
         BITFIELD t SET i8 0 -129\nBITFIELD t SET i8 0 128 GET i8 0\nBITFIELD t SET u8 0 256 GET u8 0\n\
         BITFIELD t SET i8 0 -9223372036854775808 GET i8 0\nBITFIELD t SET i64 0 -9223372036854775808 GET i64 0\n\
         BITFIELD t INCRBY i64 0 -1\nBITFIELD t INCRBY i64 0 9223372036854775807 INCRBY i64 0 1",
    );
}

#[test]
fn bitfield_overflow_modes() {
    let mut d = Diff::new();
    for ty in ["u1", "u2", "u7", "u8", "u16", "u31", "u63", "i1", "i2", "i8", "i16", "i32", "i63", "i64"] {
        for ow in ["WRAP", "SAT", "FAIL"] {
            for (op, vals) in [
                ("INCRBY", &["1", "-1", "100", "-100", "9223372036854775807", "-9223372036854775808", "0"][..]),
                ("SET", &["0", "1", "-1", "127", "128", "255", "256", "-129", "9223372036854775807"][..]),
            ] {
                for v in vals {
                    d.check(&["BITFIELD", "k", "OVERFLOW", ow, op, ty, "3", v, "GET", ty, "3"]);
                    d.check(&["BITFIELD", "k", "OVERFLOW", ow, "INCRBY", ty, "3", v, "INCRBY", ty, "3", v]);
                }
            }
        }
    }
    d.check(&["GET", "k"]);
    d.check_script(
        "BITFIELD k OVERFLOW SAT INCRBY u8 0 300 OVERFLOW WRAP INCRBY u8 0 300 OVERFLOW FAIL INCRBY u8 0 300\n\
         BITFIELD k overflow sat INCRBY i8 0 -300 overflow fail INCRBY i8 0 -300 GET i8 0\nBITFIELD k OVERFLOW\n\
         BITFIELD k OVERFLOW FOO INCRBY u8 0 1\nBITFIELD k OVERFLOW FAIL\nBITFIELD n OVERFLOW FAIL INCRBY u2 0 10\n\
         EXISTS n\nGET n\nBITFIELD n2 OVERFLOW FAIL SET u2 0 10\nSTRLEN n2",
    );
}

#[test]
fn bitfield_errors_and_ro() {
    let mut d = Diff::new();
    d.check_script(
        "BITFIELD k GET\nBITFIELD k GET u8\nBITFIELD k SET u8 0\nBITFIELD k INCRBY u8 0\nBITFIELD k FOO u8 0\n\
         BITFIELD k GET u64 0\nBITFIELD k GET i65 0\nBITFIELD k GET i0 0\nBITFIELD k GET u0 0\nBITFIELD k GET x8 0\n\
         BITFIELD k GET I8 0\nBITFIELD k GET U8 0\nBITFIELD k GET u 0\nBITFIELD k GET i-1 0\nBITFIELD k GET u08 0\n\
         BITFIELD k GET u8 -1\nBITFIELD k GET u8 x\nBITFIELD k GET u8 #x\nBITFIELD k GET u8 #-1\nBITFIELD k GET u8 #\n\
         BITFIELD k GET u8 4294967296\nBITFIELD k GET u8 4294967295\nBITFIELD k GET u8 #536870912\n\
         BITFIELD k GET u8 #536870911\nBITFIELD k GET u8 #2305843009213693953\nBITFIELD k GET u8 ##1\n\
         BITFIELD k SET u8 0 x\nBITFIELD k SET u8 0 1.5\nBITFIELD k INCRBY u8 0 \"\"\nBITFIELD k GET u8 0 SET\n\
         BITFIELD k SET u8 0 1 BAD\nBITFIELD k GET u8 0 GET u8\nEXISTS k\n\
         BITFIELD_RO k GET u8 0\nBITFIELD_RO k SET u8 0 1\nBITFIELD_RO k INCRBY u8 0 1\nBITFIELD_RO k GET u8 0 SET u8 0 1\n\
         BITFIELD_RO k SET u8 0 x\nBITFIELD_RO k OVERFLOW SAT GET u8 0\nBITFIELD_RO k\nBITFIELD_RO\nBITFIELD\n\
         SET s \"\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08\\x09\"\nBITFIELD_RO s GET u8 0 GET i16 4 GET u63 1 GET i64 8\n\
         BITFIELD_RO s GET u8 #8 GET u8 #9 GET i64 #1 GET u8 70\nBITFIELD_RO nokey GET i64 0\nBITFIELD_RO s FOO",
    );
    d.check_with_list("BITFIELD list GET u8 0\nBITFIELD list SET u8 0 1\nBITFIELD_RO list GET u8 0\nBITFIELD list");
}

#[test]
fn bitmaps_resp3_nulls() {
    let mut d = Diff::new();
    d.both(&["HELLO", "3"]);
    d.check_script(
        "BITFIELD k OVERFLOW FAIL INCRBY u2 0 10 GET u2 0\nBITFIELD k SET u8 0 1\nBITCOUNT k\nBITPOS k 1\nGETBIT k 7",
    );
}

#[test]
fn exact_replies_ferrokv_only() {
    let f = Server::ferrokv();
    let mut c = f.conn();
    assert_eq!(c.cmd(&["SETBIT", "b", "7", "1"]), Resp::int(0));
    assert_eq!(c.cmd(&["SETBIT", "b", "7", "0"]), Resp::int(1));
    assert_eq!(c.cmd(&["GETBIT", "b", "7"]), Resp::int(0));
    assert_eq!(c.cmd(&["SETBIT", "b", "-1", "0"]), Resp::err("ERR bit offset is not an integer or out of range"));
    assert_eq!(c.cmd(&["SETBIT", "b", "1", "2"]), Resp::err("ERR bit is not an integer or out of range"));
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "b"]), Resp::bulk("raw"));
    assert_eq!(c.cmd(&["SET", "s", "foobar"]), Resp::ok());
    assert_eq!(c.cmd(&["BITCOUNT", "s", "1", "1"]), Resp::int(6));
    assert_eq!(c.cmd(&["BITCOUNT", "s", "5", "30", "BIT"]), Resp::int(17));
    assert_eq!(c.cmd(&["BITPOS", "s", "2"]), Resp::err("ERR The bit argument must be 1 or 0."));
    assert_eq!(
        c.cmd(&["BITOP", "NOT", "d", "a", "b"]),
        Resp::err("ERR BITOP NOT must be called with a single source key.")
    );
    assert_eq!(c.cmd(&["BITOP", "AND", "d", "s"]), Resp::int(6));
    assert_eq!(
        c.cmd(&[
            "BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "10", "SET", "i8", "#1", "-5", "GET", "i8", "#1"
        ]),
        Resp::arr(vec![Resp::nil(), Resp::int(0), Resp::int(-5)])
    );
    assert_eq!(
        c.cmd(&["BITFIELD", "f", "GET", "u64", "0"]),
        Resp::err("ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.")
    );
    assert_eq!(c.cmd(&["BITFIELD", "f", "OVERFLOW", "X"]), Resp::err("ERR Invalid OVERFLOW type specified"));
    assert_eq!(
        c.cmd(&["BITFIELD_RO", "f", "SET", "u8", "0", "1"]),
        Resp::err("ERR BITFIELD_RO only supports the GET subcommand")
    );
}

#[test]
fn large_bitmaps() {
    let mut d = Diff::new();
    let mut v = vec![0u8; 100_000];
    for (i, b) in v.iter_mut().enumerate() {
        *b = (i.wrapping_mul(2_654_435_761) >> 13) as u8;
    }
    d.check_b(&[b"SET", b"big", &v]);
    d.check_script(
        "BITCOUNT big\nBITCOUNT big 10 99990\nBITCOUNT big 13 799001 BIT\nBITPOS big 1 5000\nBITPOS big 0 5000 90000 BIT\n\
         SETBIT big 799999 1\nBITOP XOR x big big\nBITCOUNT x\nBITOP NOT y big\nBITCOUNT y\nBITOP AND z big y\nBITCOUNT z\n\
         BITFIELD big GET i64 12345 INCRBY u33 400000 77 GET u33 400000\nSETBIT big 2000000 1\nSTRLEN big",
    );
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
        "SETBIT b 7 1",
        "SETBIT b 7 1",
        "SETBIT b 7 0",
        "SETBIT b 100 0",
        "SETBIT b 100 0",
        "GETBIT b 1",
        "BITFIELD b SET u8 0 0",
        "BITFIELD b SET u8 0 5 INCRBY u8 0 0 INCRBY u8 0 1",
        "BITFIELD b SET u8 400 0",
        "BITFIELD b OVERFLOW FAIL INCRBY u2 0 100",
        "BITFIELD n OVERFLOW FAIL INCRBY u2 0 100",
        "BITFIELD b GET u8 0",
        "BITOP AND d b n",
        "BITOP AND d nokey",
        "BITOP AND d nokey",
        "BITOP NOT d b",
    ];
    for s in steps {
        d.check_script(s);
        let (f, r) = (dirty(&mut d.f), dirty(&mut d.r));
        assert_eq!(f, r, "after {s}");
    }
}

/// A small deterministic generator (xorshift) for the randomized comparisons.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
}

#[test]
fn randomized_ranges_match_redis() {
    let mut d = Diff::new();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..60 {
        let len = rng.range(0, 6) as usize;
        let v: Vec<u8> = (0..len)
            .map(|_| match rng.range(0, 3) {
                0 => 0,
                1 => 0xff,
                _ => rng.next() as u8,
            })
            .collect();
        d.check_b(&[b"SET", b"k", &v]);
        for _ in 0..12 {
            let (s, e) = (rng.range(-60, 60).to_string(), rng.range(-60, 60).to_string());
            let unit = ["", "BIT", "BYTE"][rng.range(0, 2) as usize];
            let bit = rng.range(0, 1).to_string();
            let mut bc = vec!["BITCOUNT", "k", &s, &e];
            let mut bp = vec!["BITPOS", "k", &bit, &s, &e];
            if !unit.is_empty() {
                bc.push(unit);
                bp.push(unit);
            }
            d.check(&bc);
            d.check(&bp);
            d.check(&["BITPOS", "k", &bit, &s]);
            d.check(&["GETRANGE", "k", &s, &e]);
        }
        for _ in 0..8 {
            let signed = rng.range(0, 1) == 1;
            let bits = if signed { rng.range(1, 64) } else { rng.range(1, 63) };
            let ty = format!("{}{}", if signed { "i" } else { "u" }, bits);
            let off = if rng.range(0, 3) == 0 { format!("#{}", rng.range(0, 4)) } else { rng.range(0, 70).to_string() };
            let val = match rng.range(0, 3) {
                0 => rng.range(-300, 300).to_string(),
                1 => (rng.next() as i64).to_string(),
                _ => rng.range(-2, 2).to_string(),
            };
            let ow = ["WRAP", "SAT", "FAIL"][rng.range(0, 2) as usize];
            let op = ["GET", "SET", "INCRBY"][rng.range(0, 2) as usize];
            if op == "GET" {
                d.check(&["BITFIELD", "k", "GET", &ty, &off]);
                d.check(&["BITFIELD_RO", "k", "GET", &ty, &off]);
            } else {
                d.check(&["BITFIELD", "k", "OVERFLOW", ow, op, &ty, &off, &val, "GET", &ty, &off]);
            }
        }
        d.check(&["GET", "k"]);
        let off = rng.range(0, 80).to_string();
        d.check(&["SETBIT", "k", &off, &rng.range(0, 1).to_string()]);
        d.check(&["BITOP", ["AND", "OR", "XOR", "NOT"][round % 4], "dst", "k"]);
        d.check(&["GET", "dst"]);
    }
}
