//! The plain-text AOF base (`aof-use-rdb-preamble no`): the commands that
//! rebuild each key, as Redis 7.0's AOF rewrite (`rewriteAppendOnlyFileRio`)
//! writes them. Strings become SET; lists, sets, sorted sets and hashes
//! RPUSH, SADD, ZADD and HMSET with at most 64 elements per command
//! (`AOF_REWRITE_ITEMS_PER_CMD`); streams XADD per entry (or the
//! `XADD MAXLEN 0` trick for an empty stream), XSETID, then per consumer group
//! XGROUP CREATE, XCLAIM per pending entry and XGROUP CREATECONSUMER for a
//! consumer without any; a TTL follows as PEXPIREAT. Scores are `%.17g`
//! text, integers decimal, all in RESP multi-bulk form.

use crate::storage::hash::Hash;
use crate::storage::list::{Item as LItem, List};
use crate::storage::listpack::Ele;
use crate::storage::set::{Member, Set};
use crate::storage::stream::{Stream, StreamId};
use crate::storage::zset::ZSet;
use crate::storage::{Entry, Value};

/// Redis's AOF_REWRITE_ITEMS_PER_CMD: elements (or pairs) per command.
const ITEMS_PER_CMD: usize = 64;

/// `*n\r\n`.
fn header(out: &mut Vec<u8>, n: usize) {
    out.push(b'*');
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// `$len\r\nbytes\r\n`.
fn bulk(out: &mut Vec<u8>, b: &[u8]) {
    out.push(b'$');
    out.extend_from_slice(itoa::Buffer::new().format(b.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(b);
    out.extend_from_slice(b"\r\n");
}

fn bulk_int(out: &mut Vec<u8>, n: i64) {
    bulk(out, itoa::Buffer::new().format(n).as_bytes());
}

fn bulk_uint(out: &mut Vec<u8>, n: u64) {
    bulk(out, itoa::Buffer::new().format(n).as_bytes());
}

/// Redis's `rioWriteBulkDouble`: `%.17g`.
fn bulk_double(out: &mut Vec<u8>, d: f64) {
    bulk(out, crate::util::fmt_double_17g(d).as_bytes());
}

/// Redis's `rioWriteBulkStreamID`: `ms-seq`.
fn bulk_id(out: &mut Vec<u8>, id: StreamId) {
    let mut b = itoa::Buffer::new();
    let mut s = Vec::with_capacity(41);
    s.extend_from_slice(b.format(id.ms).as_bytes());
    s.push(b'-');
    s.extend_from_slice(b.format(id.seq).as_bytes());
    bulk(out, &s);
}

/// A whole command of plain arguments, in RESP (what the AOF holds).
pub(crate) fn command<A: AsRef<[u8]>>(out: &mut Vec<u8>, args: &[A]) {
    header(out, args.len());
    for a in args {
        bulk(out, a.as_ref());
    }
}

/// The annotation `#TS:<unix seconds>` (`aof-timestamp-enabled`).
pub(crate) fn timestamp(out: &mut Vec<u8>, unix_s: i64) {
    out.extend_from_slice(format!("#TS:{unix_s}\r\n").as_bytes());
}

/// Collects the elements of one collection into commands of at most 64
/// elements each (`width` arguments per element). A command is written once
/// its elements are known, so its argument count is always right.
struct Batches<'a> {
    out: &'a mut Vec<u8>,
    cmd: &'static [u8],
    key: &'a [u8],
    width: usize,
    body: Vec<u8>,
    items: usize,
}

impl<'a> Batches<'a> {
    fn new(out: &'a mut Vec<u8>, cmd: &'static [u8], key: &'a [u8], width: usize) -> Self {
        Batches { out, cmd, key, width, body: Vec::new(), items: 0 }
    }

    /// The buffer the next element's arguments go to.
    fn item(&mut self) -> &mut Vec<u8> {
        if self.items == ITEMS_PER_CMD {
            self.flush();
        }
        self.items += 1;
        &mut self.body
    }

    fn flush(&mut self) {
        if self.items == 0 {
            return;
        }
        header(self.out, 2 + self.items * self.width);
        bulk(self.out, self.cmd);
        bulk(self.out, self.key);
        self.out.extend_from_slice(&self.body);
        self.body.clear();
        self.items = 0;
    }

    fn finish(mut self) {
        self.flush();
    }
}

/// Appends `SELECT id` as Redis writes it at the start of each database.
pub fn select_db(out: &mut Vec<u8>, id: usize) {
    header(out, 2);
    bulk(out, b"SELECT");
    bulk(out, itoa::Buffer::new().format(id).as_bytes());
}

/// Appends the commands that rebuild `key` (Redis's rewriteAppendOnlyFileRio for one key).
pub fn key_commands(out: &mut Vec<u8>, key: &[u8], e: &Entry, expire: Option<i64>) {
    match &e.value {
        Value::Int(n) => {
            header(out, 3);
            bulk(out, b"SET");
            bulk(out, key);
            bulk_int(out, *n);
        }
        Value::Str(s) => command::<&[u8]>(out, &[b"SET", key, s.as_slice()]),
        Value::RawStr(s) => command::<&[u8]>(out, &[b"SET", key, s.as_slice()]),
        Value::List(l) => list(out, key, l),
        Value::Set(s) => set(out, key, s),
        Value::ZSet(z) => zset(out, key, z),
        Value::Hash(h) => hash(out, key, h),
        Value::Stream(s) => stream(out, key, s),
    }
    if let Some(when) = expire {
        header(out, 3);
        bulk(out, b"PEXPIREAT");
        bulk(out, key);
        bulk_int(out, when);
    }
}

fn list(out: &mut Vec<u8>, key: &[u8], l: &List) {
    // The list's cursor lends its elements (compressed nodes are read from a
    // copy), so they are written one by one rather than through `single_items`.
    let mut b = Batches::new(out, b"RPUSH", key, 1);
    l.iter().for_each(|i| match i {
        LItem::Int(n) => bulk_int(b.item(), n),
        LItem::Str(s) => bulk(b.item(), s),
    });
    b.finish();
}

fn set(out: &mut Vec<u8>, key: &[u8], s: &Set) {
    let items = s.iter().map(|m| match m {
        Member::Int(n) => Ele::Int(n),
        Member::Str(s) => Ele::Str(s),
    });
    single_items(out, b"SADD", key, items);
}

/// `cmd key element...` in batches, an element an integer or bytes.
fn single_items<'a>(out: &mut Vec<u8>, cmd: &'static [u8], key: &[u8], items: impl Iterator<Item = Ele<'a>>) {
    let mut b = Batches::new(out, cmd, key, 1);
    for item in items {
        match item {
            Ele::Int(n) => bulk_int(b.item(), n),
            Ele::Str(s) => bulk(b.item(), s),
        }
    }
    b.finish();
}

fn zset(out: &mut Vec<u8>, key: &[u8], z: &ZSet) {
    let mut b = Batches::new(out, b"ZADD", key, 2);
    z.walk(0, false, |m, score| {
        let buf = b.item();
        bulk_double(buf, score);
        bulk(buf, m);
        true
    });
    b.finish();
}

fn hash(out: &mut Vec<u8>, key: &[u8], h: &Hash) {
    let mut b = Batches::new(out, b"HMSET", key, 2);
    let (mut nf, mut nv) = (itoa::Buffer::new(), itoa::Buffer::new());
    for (f, v) in h.iter() {
        let buf = b.item();
        bulk(buf, f.bytes(&mut nf));
        bulk(buf, v.bytes(&mut nv));
    }
    b.finish();
}

/// Redis 7.0's `rewriteStreamObject`.
fn stream(out: &mut Vec<u8>, key: &[u8], s: &Stream) {
    if s.length > 0 {
        s.range(StreamId::ZERO, StreamId::MAX, false, |id, fields| {
            header(out, 3 + fields.len() * 2);
            bulk(out, b"XADD");
            bulk(out, key);
            bulk_id(out, id);
            for (f, v) in fields {
                f.with_bytes(|f| bulk(out, f));
                v.with_bytes(|v| bulk(out, v));
            }
            true
        });
    } else {
        // An empty stream: an entry added and trimmed away at once.
        header(out, 7);
        bulk(out, b"XADD");
        bulk(out, key);
        bulk(out, b"MAXLEN");
        bulk(out, b"0");
        bulk_id(out, StreamId::new(0, 1));
        bulk(out, b"x");
        bulk(out, b"y");
    }
    header(out, 7);
    bulk(out, b"XSETID");
    bulk(out, key);
    bulk_id(out, s.last_id);
    bulk(out, b"ENTRIESADDED");
    bulk_uint(out, s.entries_added);
    bulk(out, b"MAXDELETEDID");
    bulk_id(out, s.max_deleted_entry_id);
    for (name, g) in s.groups() {
        header(out, 7);
        bulk(out, b"XGROUP");
        bulk(out, b"CREATE");
        bulk(out, key);
        bulk(out, name);
        bulk_id(out, g.last_id);
        bulk(out, b"ENTRIESREAD");
        bulk_int(out, g.entries_read);
        for (cname, c) in &g.consumers {
            if c.pel.is_empty() {
                command::<&[u8]>(out, &[b"XGROUP", b"CREATECONSUMER", key, name, cname]);
                continue;
            }
            for id in &c.pel {
                // Every entry of a consumer's list is in the group's.
                let Some(nack) = g.pel.get(id) else { continue };
                header(out, 12);
                bulk(out, b"XCLAIM");
                bulk(out, key);
                bulk(out, name);
                bulk(out, cname);
                bulk(out, b"0");
                bulk_id(out, *id);
                bulk(out, b"TIME");
                bulk_int(out, nack.delivery_time);
                bulk(out, b"RETRYCOUNT");
                bulk_uint(out, nack.delivery_count);
                bulk(out, b"JUSTID");
                bulk(out, b"FORCE");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The expected commands are what Redis 7.0.15 wrote in
    //! `appendonly.aof.N.base.aof` (BGREWRITEAOF with
    //! `aof-use-rdb-preamble no`) for the same data.

    use super::*;
    use crate::storage::hash::Limits as HLimits;
    use crate::storage::stream::{Consumer, IdSpec, Nack, NodeLimits};
    use crate::storage::zset::{AddFlags, Limits as ZLimits};
    use crate::storage::SBytes;

    const ZLIM: ZLimits = ZLimits { entries: 128, value: 64 };
    const HLIM: HLimits = HLimits { max_entries: 512, max_value: 64 };

    fn entry(v: Value) -> Entry {
        Entry::new(v, 0)
    }

    fn run(key: &[u8], v: Value, expire: Option<i64>) -> Vec<u8> {
        let mut out = Vec::new();
        key_commands(&mut out, key, &entry(v), expire);
        out
    }

    /// RESP for commands given as text lines, arguments split on spaces
    /// (`""` stands for an empty argument).
    fn resp(lines: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        for l in lines {
            let args: Vec<&[u8]> = l.split(' ').map(|a| if a == "\"\"" { &b""[..] } else { a.as_bytes() }).collect();
            command(&mut out, &args);
        }
        out
    }

    /// Splits RESP multi-bulk commands back into arguments.
    fn parse(mut b: &[u8]) -> Vec<Vec<Vec<u8>>> {
        fn line(b: &mut &[u8], lead: u8) -> usize {
            assert_eq!(b[0], lead);
            let end = b.windows(2).position(|w| w == b"\r\n").unwrap();
            let n = std::str::from_utf8(&b[1..end]).unwrap().parse().unwrap();
            *b = &b[end + 2..];
            n
        }
        let mut cmds = Vec::new();
        while !b.is_empty() {
            let n = line(&mut b, b'*');
            let mut args = Vec::new();
            for _ in 0..n {
                let len = line(&mut b, b'$');
                args.push(b[..len].to_vec());
                assert_eq!(&b[len..len + 2], b"\r\n");
                b = &b[len + 2..];
            }
            cmds.push(args);
        }
        cmds
    }

    fn text(cmd: &[Vec<u8>]) -> String {
        cmd.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn select() {
        let mut out = Vec::new();
        select_db(&mut out, 0);
        select_db(&mut out, 12);
        assert_eq!(out, b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*2\r\n$6\r\nSELECT\r\n$2\r\n12\r\n");
    }

    #[test]
    fn strings() {
        assert_eq!(run(b"s", Value::from_bytes(b"hello"), None), b"*3\r\n$3\r\nSET\r\n$1\r\ns\r\n$5\r\nhello\r\n");
        assert_eq!(run(b"n", Value::from_bytes(b"12345"), None), resp(&["SET n 12345"]));
        assert_eq!(run(b"neg", Value::from_bytes(b"-5"), None), resp(&["SET neg -5"]));
        assert_eq!(
            run(b"big", Value::from_bytes(b"123456789012345678901"), None),
            resp(&["SET big 123456789012345678901"])
        );
        assert_eq!(run(b"", Value::from_bytes(b""), None), b"*3\r\n$3\r\nSET\r\n$0\r\n\r\n$0\r\n\r\n");
        assert_eq!(
            run(b"bin", Value::raw(b"a\r\nb".to_vec()), None),
            b"*3\r\n$3\r\nSET\r\n$3\r\nbin\r\n$4\r\na\r\nb\r\n"
        );
        assert_eq!(
            run(b"ttl", Value::from_bytes(b"v"), Some(1795331442101)),
            b"*3\r\n$3\r\nSET\r\n$3\r\nttl\r\n$1\r\nv\r\n*3\r\n$9\r\nPEXPIREAT\r\n$3\r\nttl\r\n$13\r\n1795331442101\r\n"
        );
    }

    #[test]
    fn lists() {
        let mut l = List::new(-2, 0);
        for x in ["a", "1", "b", "-2"] {
            l.push(x.as_bytes(), false);
        }
        assert_eq!(run(b"lsmall", Value::from(l), None), resp(&["RPUSH lsmall a 1 b -2"]));
        // 150 items: 64 + 64 + 22, in order.
        let mut l = List::new(-2, 0);
        for i in 1..=150 {
            l.push(format!("item-{i}").as_bytes(), false);
        }
        let cmds = parse(&run(b"lbig", Value::from(l), None));
        assert_eq!(cmds.iter().map(|c| c.len()).collect::<Vec<_>>(), [66, 66, 24]);
        let mut n = 0;
        for c in &cmds {
            assert_eq!(&c[..2], [b"RPUSH".to_vec(), b"lbig".to_vec()]);
            for item in &c[2..] {
                n += 1;
                assert_eq!(item, format!("item-{n}").as_bytes());
            }
        }
        // Exactly 64: one command; large elements as they are.
        let mut l = List::new(-2, 0);
        let big = "x".repeat(10000);
        for _ in 0..64 {
            l.push(big.as_bytes(), false);
        }
        let cmds = parse(&run(b"l", Value::from(l), None));
        assert_eq!(cmds.len(), 1);
        assert_eq!(cmds[0].len(), 66);
        assert!(cmds[0][2..].iter().all(|x| x == big.as_bytes()));
    }

    #[test]
    fn sets() {
        let mut s = Set::new_intset();
        for m in ["3", "1", "2", "-70000", "5000000000"] {
            s.add(m.as_bytes(), 512);
        }
        assert_eq!(s.encoding(), "intset");
        assert_eq!(
            run(b"sint", Value::from(s), Some(1795431367861)),
            resp(&["SADD sint -70000 1 2 3 5000000000", "PEXPIREAT sint 1795431367861"])
        );
        // Hashtable: Redis writes its dict's order, so only the shape and
        // the members are compared.
        let mut s = Set::new_intset();
        for i in 0..130 {
            s.add(format!("m{i}").as_bytes(), 512);
        }
        assert_eq!(s.encoding(), "hashtable");
        let cmds = parse(&run(b"sbig", Value::from(s), None));
        assert_eq!(cmds.iter().map(|c| c.len()).collect::<Vec<_>>(), [66, 66, 4]);
        let mut all: Vec<String> = cmds
            .iter()
            .flat_map(|c| {
                assert_eq!(&c[..2], [b"SADD".to_vec(), b"sbig".to_vec()]);
                c[2..].iter().map(|m| String::from_utf8_lossy(m).into_owned())
            })
            .collect();
        all.sort();
        let mut want: Vec<String> = (0..130).map(|i| format!("m{i}")).collect();
        want.sort();
        assert_eq!(all, want);
    }

    #[test]
    fn sorted_sets() {
        let mut z = ZSet::default();
        let items = [
            ("a", 1.5),
            ("b", 0.1),
            ("c", 1e17),
            ("d", f64::INFINITY),
            ("e", f64::NEG_INFINITY),
            ("f", 3.0),
            ("g", -0.0),
            ("h", 2.5e-5),
            ("i", 123456789.123),
            ("j", 0.0),
            ("k", 1e-300),
            ("l", 4503599627370497.0),
        ];
        for (m, s) in items {
            z.add(m.as_bytes(), s, AddFlags::default(), ZLIM);
        }
        assert_eq!(z.encoding(), "listpack");
        // A listpack keeps -0 as 0.
        assert_eq!(
            run(b"zs", Value::from(z), None),
            resp(&["ZADD zs -inf e 0 g 0 j 1e-300 k 2.5000000000000001e-05 h 0.10000000000000001 b 1.5 a 3 f \
                    123456789.123 i 4503599627370497 l 1e+17 c inf d"])
        );
        // A skiplist keeps -0; Redis walks its dict, so the order differs.
        let mut z = ZSet::default();
        for i in 0..200 {
            z.add(format!("z{i}").as_bytes(), i as f64 + 0.25, AddFlags::default(), ZLIM);
        }
        for (m, s) in [
            ("negz", -0.0),
            ("tenth", 0.1),
            ("ten17", 1e17),
            ("pinf", f64::INFINITY),
            ("ninf", f64::NEG_INFINITY),
            ("three", 3.0),
        ] {
            z.add(m.as_bytes(), s, AddFlags::default(), ZLIM);
        }
        assert_eq!(z.encoding(), "skiplist");
        let cmds = parse(&run(b"zbig", Value::from(z), None));
        assert_eq!(cmds.iter().map(|c| c.len()).collect::<Vec<_>>(), [130, 130, 130, 30]);
        let pairs: Vec<String> = cmds
            .iter()
            .flat_map(|c| {
                assert_eq!(&c[..2], [b"ZADD".to_vec(), b"zbig".to_vec()]);
                c[2..].chunks(2).map(text)
            })
            .collect();
        assert_eq!(pairs.len(), 206);
        // As Redis wrote these pairs.
        for p in
            ["-0 negz", "-inf ninf", "3 three", "0.10000000000000001 tenth", "1e+17 ten17", "inf pinf", "19.25 z19"]
        {
            assert!(pairs.iter().any(|x| x == p), "{p}");
        }
    }

    #[test]
    fn hashes() {
        let mut h = Hash::new();
        h.set(b"f", b"v", HLIM);
        h.set(b"n", b"-42", HLIM);
        assert_eq!(
            run(b"hs", Value::from(h), Some(1795331842152)),
            resp(&["HMSET hs f v n -42", "PEXPIREAT hs 1795331842152"])
        );
        // 130 fields stay a listpack under the default limit of 512: in order.
        let mut h = Hash::new();
        for i in 0..130 {
            h.set(format!("f{i}").as_bytes(), i.to_string().as_bytes(), HLIM);
        }
        assert!(h.is_listpack());
        let want = |r: std::ops::Range<i32>| {
            let mut s = "HMSET hbig".to_string();
            for i in r {
                s += &format!(" f{i} {i}");
            }
            s
        };
        assert_eq!(run(b"hbig", Value::from(h), None), resp(&[&want(0..64), &want(64..128), &want(128..130)]));
        // A hashtable: shape and content.
        let mut h = Hash::new();
        let lim = HLimits { max_entries: 4, max_value: 64 };
        for i in 0..200 {
            h.set(format!("f{i}").as_bytes(), format!("v{i}").as_bytes(), lim);
        }
        assert_eq!(h.encoding(), "hashtable");
        let cmds = parse(&run(b"ht", Value::from(h), None));
        assert_eq!(cmds.iter().map(|c| c.len()).collect::<Vec<_>>(), [130, 130, 130, 18]);
        let mut seen: Vec<String> = cmds.iter().flat_map(|c| c[2..].chunks(2).map(text)).collect();
        seen.sort();
        let mut want: Vec<String> = (0..200).map(|i| format!("f{i} v{i}")).collect();
        want.sort();
        assert_eq!(seen, want);
    }

    const NL: NodeLimits = NodeLimits { max_bytes: 4096, max_entries: 100 };

    fn add(s: &mut Stream, ms: u64, seq: u64, fv: &[&[u8]]) {
        s.append(fv, IdSpec::Exact(StreamId::new(ms, seq)), NL, 0).unwrap();
    }

    fn pending(g: &mut crate::storage::stream::Group, id: StreamId, consumer: &[u8], time: i64, count: u64) {
        g.pel.insert(id, Nack { delivery_time: time, delivery_count: count, consumer: SBytes::new(consumer) });
        g.consumers.entry(consumer.to_vec()).or_default().pel.insert(id);
    }

    #[test]
    fn stream_with_groups() {
        // XADD st1 1-1 a 1 b 2; XADD st1 2-0 c 3; XADD st1 3-5 a x b y;
        // XADD st1 4-0 a z b w; XDEL st1 2-0; XADD st1 5-0 "" "with space";
        // groups g1 (from 0), g0 ($), g3 (1-1); alice and bob read from g1,
        // alice claims 3-5; carol is created empty.
        let mut s = Stream::new();
        add(&mut s, 1, 1, &[b"a", b"1", b"b", b"2"]);
        add(&mut s, 2, 0, &[b"c", b"3"]);
        add(&mut s, 3, 5, &[b"a", b"x", b"b", b"y"]);
        add(&mut s, 4, 0, &[b"a", b"z", b"b", b"w"]);
        assert!(s.delete(StreamId::new(2, 0)));
        s.max_deleted_entry_id = StreamId::new(2, 0);
        add(&mut s, 5, 0, &[b"", b"with space"]);
        let top = StreamId::new(4, 0);
        s.create_group(b"g1", top, 4);
        s.create_group(b"g0", top, -1);
        s.create_group(b"g3", StreamId::new(1, 1), -1);
        let g = s.group_mut(b"g1").unwrap();
        pending(g, StreamId::new(1, 1), b"alice", 1795331342182, 1);
        pending(g, StreamId::new(4, 0), b"bob", 1795331342185, 1);
        pending(g, StreamId::new(3, 5), b"alice", 1795331342192, 2);
        g.consumers.insert(b"carol".to_vec(), Consumer { seen_time: 5, ..Default::default() });
        let mut want = resp(&["XADD st1 1-1 a 1 b 2", "XADD st1 3-5 a x b y", "XADD st1 4-0 a z b w"]);
        command::<&[u8]>(&mut want, &[b"XADD", b"st1", b"5-0", b"", b"with space"]);
        want.extend(resp(&[
            "XSETID st1 5-0 ENTRIESADDED 5 MAXDELETEDID 2-0",
            "XGROUP CREATE st1 g0 4-0 ENTRIESREAD -1",
            "XGROUP CREATE st1 g1 4-0 ENTRIESREAD 4",
            "XCLAIM st1 g1 alice 0 1-1 TIME 1795331342182 RETRYCOUNT 1 JUSTID FORCE",
            "XCLAIM st1 g1 alice 0 3-5 TIME 1795331342192 RETRYCOUNT 2 JUSTID FORCE",
            "XCLAIM st1 g1 bob 0 4-0 TIME 1795331342185 RETRYCOUNT 1 JUSTID FORCE",
            "XGROUP CREATECONSUMER st1 g1 carol",
            "XGROUP CREATE st1 g3 1-1 ENTRIESREAD -1",
        ]));
        let got = run(b"st1", Value::from(s), None);
        assert_eq!(got, want, "{:?}", parse(&got).iter().map(|c| text(c)).collect::<Vec<_>>());
        // The bytes of Redis's first XCLAIM.
        let first: &[u8] =
            b"*12\r\n$6\r\nXCLAIM\r\n$3\r\nst1\r\n$2\r\ng1\r\n$5\r\nalice\r\n$1\r\n0\r\n$3\r\n1-1\r\n$4\r\nTIME\r\n\
               $13\r\n1795331342182\r\n$10\r\nRETRYCOUNT\r\n$1\r\n1\r\n$6\r\nJUSTID\r\n$5\r\nFORCE\r\n";
        assert!(got.windows(first.len()).any(|w| w == first));
    }

    #[test]
    fn empty_streams() {
        // XGROUP CREATE es g $ MKSTREAM; XGROUP CREATECONSUMER es g c1;
        // XGROUP CREATE es g2 0 ENTRIESREAD 0.
        let mut s = Stream::new();
        s.create_group(b"g", StreamId::ZERO, -1);
        s.create_group(b"g2", StreamId::ZERO, 0);
        s.group_mut(b"g").unwrap().consumers.insert(b"c1".to_vec(), Consumer::default());
        assert_eq!(
            run(b"es", Value::from(s), None),
            resp(&[
                "XADD es MAXLEN 0 0-1 x y",
                "XSETID es 0-0 ENTRIESADDED 0 MAXDELETEDID 0-0",
                "XGROUP CREATE es g 0-0 ENTRIESREAD -1",
                "XGROUP CREATECONSUMER es g c1",
                "XGROUP CREATE es g2 0-0 ENTRIESREAD 0",
            ])
        );
        // XADD se 5-5 f v; XDEL se 5-5.
        let mut s = Stream::new();
        add(&mut s, 5, 5, &[b"f", b"v"]);
        assert!(s.delete(StreamId::new(5, 5)));
        s.max_deleted_entry_id = StreamId::new(5, 5);
        assert_eq!(
            run(b"se", Value::from(s), None),
            resp(&["XADD se MAXLEN 0 0-1 x y", "XSETID se 5-5 ENTRIESADDED 1 MAXDELETEDID 5-5"])
        );
        // XADD se2 MAXLEN 0 7-0 x y: trimming leaves the max deleted ID alone.
        let mut s = Stream::new();
        s.last_id = StreamId::new(7, 0);
        s.entries_added = 1;
        assert_eq!(
            run(b"se2", Value::from(s), None),
            resp(&["XADD se2 MAXLEN 0 0-1 x y", "XSETID se2 7-0 ENTRIESADDED 1 MAXDELETEDID 0-0"])
        );
        // XADD se3 1-1 a b; XGROUP CREATE se3 g 0; XREADGROUP by c; XDEL se3 1-1:
        // the pending entry is written although its entry is gone.
        let mut s = Stream::new();
        add(&mut s, 1, 1, &[b"a", b"b"]);
        assert!(s.delete(StreamId::new(1, 1)));
        s.max_deleted_entry_id = StreamId::new(1, 1);
        s.create_group(b"g", StreamId::new(1, 1), 1);
        pending(s.group_mut(b"g").unwrap(), StreamId::new(1, 1), b"c", 1795331367846, 1);
        assert_eq!(
            run(b"se3", Value::from(s), Some(42)),
            resp(&[
                "XADD se3 MAXLEN 0 0-1 x y",
                "XSETID se3 1-1 ENTRIESADDED 1 MAXDELETEDID 1-1",
                "XGROUP CREATE se3 g 1-1 ENTRIESREAD 1",
                "XCLAIM se3 g c 0 1-1 TIME 1795331367846 RETRYCOUNT 1 JUSTID FORCE",
                "PEXPIREAT se3 42",
            ])
        );
    }

    #[test]
    fn large_stream() {
        // Entries over many nodes, with differing field sets and integers.
        let mut s = Stream::new();
        for i in 1..=1000u64 {
            let v = i.to_string();
            if i % 3 == 0 {
                add(&mut s, i, 0, &[b"other", v.as_bytes()]);
            } else {
                add(&mut s, i, 0, &[b"a", v.as_bytes(), b"b", b"text"]);
            }
        }
        for i in (10..1000).step_by(10) {
            assert!(s.delete(StreamId::new(i, 0)));
        }
        assert!(s.nodes.len() > 1);
        let cmds = parse(&run(b"big", Value::from(s), None));
        let xadds: Vec<_> = cmds.iter().filter(|c| c[0] == b"XADD").collect();
        assert_eq!(xadds.len(), 901);
        for (k, i) in (1..=1000u64).filter(|i| i % 10 != 0 || *i == 1000).enumerate() {
            let want =
                if i % 3 == 0 { format!("XADD big {i}-0 other {i}") } else { format!("XADD big {i}-0 a {i} b text") };
            assert_eq!(text(xadds[k]), want);
        }
        assert_eq!(text(cmds.last().unwrap()), "XSETID big 1000-0 ENTRIESADDED 1000 MAXDELETEDID 0-0");
    }
}
