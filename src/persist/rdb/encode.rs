//! The RDB writer: values in the encodings Redis 7.0 writes (strings with the
//! integer and LZF forms, lists as quicklist-v2 of listpack nodes, intsets,
//! listpack hashes and sorted sets, hashtables, skiplist sorted sets with
//! binary scores), whole files (header, AUX fields, SELECTDB/RESIZEDB per
//! database, expiries, EOF and CRC64) and DUMP payloads.

use super::packed::LpWriter;
use super::*;
use crate::server::Server;
use crate::storage::hash::{Hash, Item as HItem};
use crate::storage::list::List;
use crate::storage::set::{Member, Set};
use crate::storage::zset::ZSet;
use crate::storage::Value;
use std::io::Write;

/// Writer settings taken from the configuration.
#[derive(Clone, Copy)]
pub struct Opts {
    /// `rdbcompression`: LZF for strings longer than 20 bytes.
    pub compress: bool,
    /// Elements this large go in plain quicklist nodes.
    pub packed_threshold: usize,
}

impl Opts {
    pub fn from_server(srv: &Server) -> Opts {
        Opts {
            compress: srv.config.get("rdbcompression") != Some("no"),
            packed_threshold: srv.quicklist_packed_threshold,
        }
    }
}

/// A buffer RDB data is encoded into.
pub struct Enc {
    pub buf: Vec<u8>,
    pub o: Opts,
}

impl Enc {
    pub fn new(o: Opts) -> Enc {
        Enc { buf: Vec::new(), o }
    }

    pub fn byte(&mut self, b: u8) {
        self.buf.push(b);
    }

    /// Redis's `rdbSaveLen`.
    pub fn len(&mut self, n: u64) {
        if n < 1 << 6 {
            self.buf.push(n as u8);
        } else if n < 1 << 14 {
            self.buf.push(0x40 | (n >> 8) as u8);
            self.buf.push((n & 0xFF) as u8);
        } else if n <= u32::MAX as u64 {
            self.buf.push(0x80);
            self.buf.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            self.buf.push(0x81);
            self.buf.extend_from_slice(&n.to_be_bytes());
        }
    }

    /// The integer forms of `rdbEncodeInteger` (false when `v` needs more than 32 bits).
    fn int_enc(&mut self, v: i64) -> bool {
        if (i8::MIN as i64..=i8::MAX as i64).contains(&v) {
            self.buf.extend_from_slice(&[0xC0 | ENC_INT8, v as u8]);
        } else if (i16::MIN as i64..=i16::MAX as i64).contains(&v) {
            self.buf.push(0xC0 | ENC_INT16);
            self.buf.extend_from_slice(&(v as i16).to_le_bytes());
        } else if (i32::MIN as i64..=i32::MAX as i64).contains(&v) {
            self.buf.push(0xC0 | ENC_INT32);
            self.buf.extend_from_slice(&(v as i32).to_le_bytes());
        } else {
            return false;
        }
        true
    }

    /// Redis's `rdbSaveLongLongAsStringObject`.
    pub fn int_string(&mut self, v: i64) {
        if !self.int_enc(v) {
            let mut b = itoa::Buffer::new();
            let s = b.format(v);
            self.len(s.len() as u64);
            self.buf.extend_from_slice(s.as_bytes());
        }
    }

    /// Redis's `rdbSaveRawString`: integer form for short canonical integers,
    /// LZF for longer strings when it saves at least 4 bytes, else verbatim.
    pub fn string(&mut self, s: &[u8]) {
        if s.len() <= 11 && !s.is_empty() {
            if let Some(v) = crate::util::parse_i64(s) {
                if self.int_enc(v) {
                    return;
                }
            }
        }
        if self.o.compress && s.len() > 20 {
            if let Some(c) = crate::lzf::compress(s, s.len() - 4) {
                self.buf.push(0xC0 | ENC_LZF);
                self.len(c.len() as u64);
                self.len(s.len() as u64);
                self.buf.extend_from_slice(&c);
                return;
            }
        }
        self.len(s.len() as u64);
        self.buf.extend_from_slice(s);
    }

    pub fn millis(&mut self, t: i64) {
        self.buf.extend_from_slice(&t.to_le_bytes());
    }

    /// The RDB type a value is written as.
    pub fn value_type(v: &Value) -> u8 {
        match v {
            Value::Int(_) | Value::Str(_) | Value::RawStr(_) => TYPE_STRING,
            Value::List(_) => TYPE_LIST_QUICKLIST_2,
            Value::Set(s) if s.encoding() == "intset" => TYPE_SET_INTSET,
            Value::Set(_) => TYPE_SET,
            Value::ZSet(z) if z.encoding() == "listpack" => TYPE_ZSET_LISTPACK,
            Value::ZSet(_) => TYPE_ZSET_2,
            Value::Hash(h) if h.is_listpack() => TYPE_HASH_LISTPACK,
            Value::Hash(_) => TYPE_HASH,
            Value::Stream(_) => TYPE_STREAM_LISTPACKS_2,
        }
    }

    /// Redis's `rdbSaveObject` (the type is written separately).
    pub fn value(&mut self, v: &Value) {
        match v {
            Value::Int(n) => self.int_string(*n),
            Value::Str(s) => self.string(s),
            Value::RawStr(s) => self.string(s),
            Value::List(l) => self.list(l),
            Value::Set(s) => self.set(s),
            Value::ZSet(z) => self.zset(z),
            Value::Hash(h) => self.hash(h),
            Value::Stream(s) => super::stream::encode(self, s),
        }
    }

    /// A quicklist of listpack nodes split where Redis 7.0's tail pushes
    /// split them (`_quicklistNodeAllowInsert` under `list-max-listpack-size`),
    /// so that a list built by RPUSH dumps byte for byte as in Redis; elements
    /// past the packed threshold go in plain nodes.
    fn list(&mut self, l: &List) {
        const SIZE_LIMITS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
        const SAFETY_LIMIT: usize = 8192;
        const SIZE_ESTIMATE_OVERHEAD: usize = 8;
        // The list's own fill (Redis keeps the one it was created with).
        let fill = l.fill();
        let mut nodes: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut cur = LpWriter::new();
        let mut items = l.iter();
        while let Some(item) = items.next_item() {
            let bytes = item.to_vec();
            let sz = bytes.len();
            if sz >= self.o.packed_threshold {
                if !cur.is_empty() {
                    nodes.push((QUICKLIST_PACKED, std::mem::take(&mut cur).finish()));
                }
                nodes.push((QUICKLIST_PLAIN, bytes));
                continue;
            }
            // Redis's estimate of the size after adding the element.
            let new_sz = cur.len() + 1 + sz + SIZE_ESTIMATE_OVERHEAD;
            let allowed = if fill < 0 {
                new_sz <= SIZE_LIMITS[((-fill - 1) as usize).min(4)]
            } else {
                new_sz <= SAFETY_LIMIT && (cur.count() as i64) < fill as i64
            };
            if !cur.is_empty() && !allowed {
                nodes.push((QUICKLIST_PACKED, std::mem::take(&mut cur).finish()));
            }
            cur.push(&bytes);
        }
        if !cur.is_empty() {
            nodes.push((QUICKLIST_PACKED, cur.finish()));
        }
        self.len(nodes.len() as u64);
        for (container, data) in nodes {
            self.len(container);
            self.string(&data);
        }
    }

    fn set(&mut self, s: &Set) {
        if s.encoding() == "intset" {
            let ints: Vec<i64> = s
                .iter()
                .filter_map(|m| match m {
                    Member::Int(v) => Some(v),
                    Member::Str(_) => None,
                })
                .collect();
            let width = ints.iter().fold(2usize, |w, &v| {
                if (i16::MIN as i64..=i16::MAX as i64).contains(&v) {
                    w
                } else if (i32::MIN as i64..=i32::MAX as i64).contains(&v) {
                    w.max(4)
                } else {
                    8
                }
            });
            let mut blob = Vec::with_capacity(8 + ints.len() * width);
            blob.extend_from_slice(&(width as u32).to_le_bytes());
            blob.extend_from_slice(&(ints.len() as u32).to_le_bytes());
            for v in ints {
                blob.extend_from_slice(&v.to_le_bytes()[..width]);
            }
            self.string(&blob);
        } else {
            self.len(s.len() as u64);
            for m in s.iter() {
                m.with_bytes(|b| self.string(b));
            }
        }
    }

    fn zset(&mut self, z: &ZSet) {
        if z.encoding() == "listpack" {
            let mut lp = LpWriter::new();
            z.walk(0, false, |m, s| {
                lp.push(m);
                push_score(&mut lp, s);
                true
            });
            self.string(&lp.finish());
        } else {
            // Greatest first, as Redis writes a skiplist.
            self.len(z.len() as u64);
            if let Some(last) = z.len().checked_sub(1) {
                z.walk(last, true, |m, s| {
                    self.string(m);
                    self.buf.extend_from_slice(&s.to_le_bytes());
                    true
                });
            }
        }
    }

    fn hash(&mut self, h: &Hash) {
        if h.is_listpack() {
            let mut lp = LpWriter::new();
            for (f, v) in h.iter() {
                for it in [f, v] {
                    match it {
                        HItem::Int(n) => lp.push_int(n),
                        HItem::Str(s) => lp.push(s),
                    }
                }
            }
            self.string(&lp.finish());
        } else {
            self.len(h.len() as u64);
            let (mut fb, mut vb) = (itoa::Buffer::new(), itoa::Buffer::new());
            for (f, v) in h.iter() {
                self.string(f.bytes(&mut fb));
                self.string(v.bytes(&mut vb));
            }
        }
    }
}

/// A sorted-set score in a listpack, as Redis's `d2string` + `lpAppend` store
/// it: integral values as integers, others as `%.17g` text.
fn push_score(lp: &mut LpWriter, s: f64) {
    const HALF: f64 = (i64::MAX / 2) as f64;
    if s == 0.0 {
        lp.push_int(0);
    } else if s.is_finite() && s.fract() == 0.0 && (-HALF..=HALF).contains(&s) {
        lp.push_int(s as i64);
    } else if s.is_infinite() {
        lp.push(if s > 0.0 { b"inf" } else { b"-inf" });
    } else {
        lp.push(crate::util::fmt_double_17g(s).as_bytes());
    }
}

/// A DUMP payload: type, value, RDB version (2 bytes) and CRC64, little endian.
pub fn dump_payload(v: &Value, o: Opts) -> Vec<u8> {
    let mut e = Enc::new(o);
    e.byte(Enc::value_type(v));
    e.value(v);
    with_footer(e.buf)
}

/// Appends the DUMP / FUNCTION DUMP footer: RDB version and CRC64.
pub fn with_footer(mut buf: Vec<u8>) -> Vec<u8> {
    buf.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = CRC64.checksum(&buf);
    buf.extend_from_slice(&crc.to_le_bytes());
    buf
}

/// Counts of a serialized dataset.
#[derive(Default, Clone, Copy)]
pub struct Written {
    pub keys: u64,
    pub bytes: u64,
}

/// Serializes the whole dataset as an RDB file into `out`, flushing every
/// 64 KB. `checksum`: write the CRC64 (else zero, as `rdbchecksum no`).
pub fn write_file(srv: &Server, out: &mut dyn Write, checksum: bool) -> std::io::Result<Written> {
    write(srv, out, checksum, false)
}

/// The base file of an append-only file: an RDB file marked `aof-base`.
pub fn write_aof_base(srv: &Server, out: &mut dyn Write, checksum: bool) -> std::io::Result<Written> {
    write(srv, out, checksum, true)
}

fn write(srv: &Server, out: &mut dyn Write, checksum: bool, aof_base: bool) -> std::io::Result<Written> {
    let mut e = Enc::new(Opts::from_server(srv));
    let mut crc = CRC64.digest();
    let mut written = Written::default();
    let mut flush = |e: &mut Enc, out: &mut dyn Write, crc: &mut crc::Digest<'static, u64, crc::Table<16>>| {
        if checksum {
            crc.update(&e.buf);
        }
        let r = out.write_all(&e.buf);
        written.bytes += e.buf.len() as u64;
        e.buf.clear();
        r
    };
    e.header(srv, aof_base);
    let access = AccessInfo::from_server(srv);
    for (i, db) in srv.dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        e.select_db(i, Some((db.len(), db.expires().len())));
        for (k, entry) in db.main().iter() {
            let when = if entry.has_expire { db.expires().get(k).copied() } else { None };
            e.record(k, entry, when, &access);
            written.keys += 1;
            if e.buf.len() >= 1 << 16 {
                flush(&mut e, out, &mut crc)?;
            }
        }
    }
    e.byte(OP_EOF);
    flush(&mut e, out, &mut crc)?;
    let sum = if checksum { crc.finalize() } else { 0 };
    out.write_all(&sum.to_le_bytes())?;
    written.bytes += 8;
    Ok(written)
}

/// Which access information a file records per key (Redis saves the idle
/// time under an LRU policy and the LFU counter under an LFU policy).
#[derive(Clone, Copy)]
pub struct AccessInfo {
    lru: bool,
    lfu: bool,
    decay: u32,
}

impl AccessInfo {
    pub fn from_server(srv: &Server) -> AccessInfo {
        let policy = srv.config.maxmemory_policy;
        AccessInfo { lru: policy.is_lru(), lfu: policy.is_lfu(), decay: srv.config.lfu_decay_time }
    }
}

impl Enc {
    /// The start of a file: magic and version, AUX fields, function libraries.
    pub fn header(&mut self, srv: &Server, aof_base: bool) {
        self.buf.extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());
        let now_s = crate::util::now_ms() / 1000;
        let mut aux = |k: &str, v: &str| {
            self.byte(OP_AUX);
            self.string(k.as_bytes());
            self.string(v.as_bytes());
        };
        aux("redis-ver", crate::startup::VERSION);
        aux("redis-bits", "64");
        aux("ctime", &now_s.to_string());
        aux("used-mem", &crate::server::stats::used_memory().to_string());
        aux("aof-base", if aof_base { "1" } else { "0" });
        if let Some(engine) = srv.lua.as_ref() {
            for lib in engine.libs.libs.values() {
                self.byte(OP_FUNCTION2);
                self.string(&lib.code);
            }
        }
    }

    /// SELECTDB, and RESIZEDB with the table sizes when given.
    pub fn select_db(&mut self, id: usize, sizes: Option<(usize, usize)>) {
        self.byte(OP_SELECTDB);
        self.len(id as u64);
        if let Some((keys, expires)) = sizes {
            self.byte(OP_RESIZEDB);
            self.len(keys as u64);
            self.len(expires as u64);
        }
    }

    /// One key: its expiry, access information, type, name and value.
    pub fn record(&mut self, key: &[u8], entry: &crate::storage::Entry, expire: Option<i64>, access: &AccessInfo) {
        if let Some(when) = expire {
            self.byte(OP_EXPIRETIME_MS);
            self.millis(when);
        }
        if access.lru || access.lfu {
            let now = crate::util::now_ms();
            if access.lru {
                self.byte(OP_IDLE);
                self.len(crate::storage::db::idle_secs(entry.lru, now));
            } else {
                self.byte(OP_FREQ);
                self.byte(crate::storage::lru::lfu_counter(entry.lru, access.decay, now) as u8);
            }
        }
        self.byte(Enc::value_type(&entry.value));
        self.string(key);
        self.value(&entry.value);
    }
}
