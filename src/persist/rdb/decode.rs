//! The RDB reader: every version from 1 to 12 and every encoding Redis 2.x to
//! 7.4 writes, turned into ferrokv values with the encodings our thresholds
//! give (as Redis converts on load). Input is untrusted (files, RESTORE
//! payloads): every length is checked against the bytes that remain before
//! anything is allocated, and malformed data is an error, never a panic.

use super::packed::{self, Ele};
use super::*;
use crate::storage::hash::Hash;
use crate::storage::list::List;
use crate::storage::set::{Member, Set};
use crate::storage::zset::ZSet;
use crate::storage::{SBytes, Value};
use std::io::Read;

/// Why reading failed.
#[derive(Debug)]
pub enum Error {
    /// The input ended early (or could not be read).
    Eof,
    /// The input is malformed.
    Corrupt(String),
    /// The file cannot be handled; the text is logged as it is, followed by
    /// "Fatal error loading the DB: Invalid argument. Exiting." (bad signature,
    /// unknown version).
    Invalid(String),
    /// Valid data ferrokv cannot hold (streams, modules...) or a setting that
    /// forbids loading it; the text is logged as it is.
    Fatal(String),
    /// The checksum at the end does not match.
    Checksum { expected: u64, got: u64 },
}

pub type Res<T> = Result<T, Error>;

fn corrupt<T>(msg: impl Into<String>) -> Res<T> {
    Err(Error::Corrupt(msg.into()))
}

type Digest = crc::Digest<'static, u64, crc::Table<16>>;

/// A byte source with a known number of remaining bytes, computing the
/// checksum of what it reads.
pub struct Reader<'a> {
    src: &'a mut dyn Read,
    /// Bytes consumed so far.
    pub pos: u64,
    remaining: u64,
    crc: Option<Digest>,
}

impl<'a> Reader<'a> {
    /// A reader of at most `len` bytes of `src`; `checksum`: compute CRC64.
    pub fn new(src: &'a mut dyn Read, len: u64, checksum: bool) -> Reader<'a> {
        Reader { src, pos: 0, remaining: len, crc: checksum.then(|| CRC64.digest()) }
    }

    fn fill(&mut self, buf: &mut [u8]) -> Res<()> {
        if buf.len() as u64 > self.remaining {
            self.remaining = 0;
            return Err(Error::Eof);
        }
        self.src.read_exact(buf).map_err(|_| Error::Eof)?;
        self.remaining -= buf.len() as u64;
        self.pos += buf.len() as u64;
        if let Some(c) = self.crc.as_mut() {
            c.update(buf);
        }
        Ok(())
    }

    pub fn bytes(&mut self, n: u64) -> Res<Vec<u8>> {
        if n > self.remaining {
            self.remaining = 0;
            return Err(Error::Eof);
        }
        let mut v = vec![0u8; n as usize];
        self.fill(&mut v)?;
        Ok(v)
    }

    pub fn u8(&mut self) -> Res<u8> {
        let mut b = [0u8; 1];
        self.fill(&mut b)?;
        Ok(b[0])
    }

    fn array<const N: usize>(&mut self) -> Res<[u8; N]> {
        let mut b = [0u8; N];
        self.fill(&mut b)?;
        Ok(b)
    }

    /// Bytes left to read.
    pub fn remaining(&self) -> usize {
        self.remaining as usize
    }

    /// The checksum of everything read so far.
    pub fn checksum(&self) -> u64 {
        self.crc.clone().map_or(0, |c| c.finalize())
    }

    /// A length, or the special encoding that follows (`Err`-free form of
    /// Redis's `rdbLoadLenByRef`): (value, is_encoded).
    pub fn len_enc(&mut self) -> Res<(u64, bool)> {
        let b = self.u8()?;
        match b >> 6 {
            0 => Ok(((b & 0x3F) as u64, false)),
            1 => Ok(((((b & 0x3F) as u64) << 8) | self.u8()? as u64, false)),
            3 => Ok(((b & 0x3F) as u64, true)),
            _ => match b {
                0x80 => Ok((u32::from_be_bytes(self.array()?) as u64, false)),
                0x81 => Ok((u64::from_be_bytes(self.array()?), false)),
                _ => corrupt(format!("Unknown length encoding {} in rdbLoadLen()", b >> 6)),
            },
        }
    }

    /// A plain length (an encoded-string marker here is corruption).
    pub fn length(&mut self) -> Res<u64> {
        match self.len_enc()? {
            (n, false) => Ok(n),
            (n, true) => corrupt(format!("Unexpected encoded length {n}")),
        }
    }

    /// A count of items that each take at least `min` bytes: refused when the
    /// input cannot hold that many.
    fn count(&mut self, min: u64) -> Res<u64> {
        let n = self.length()?;
        if n.saturating_mul(min) > self.remaining {
            self.remaining = 0;
            return Err(Error::Eof);
        }
        Ok(n)
    }

    /// A string in any of its encodings (integer forms come back as decimal text).
    pub fn string(&mut self) -> Res<Vec<u8>> {
        let (n, enc) = self.len_enc()?;
        self.string_of(n, enc)
    }

    /// A string read as a key: a short plain one is built in place, without
    /// a temporary allocation.
    pub fn key(&mut self) -> Res<SBytes> {
        let (n, enc) = self.len_enc()?;
        if !enc && n <= SBytes::INLINE as u64 {
            let mut b = [0u8; SBytes::INLINE];
            self.fill(&mut b[..n as usize])?;
            return Ok(SBytes::new(&b[..n as usize]));
        }
        Ok(SBytes::from_vec(self.string_of(n, enc)?))
    }

    /// The rest of a string whose length (or encoding) was read.
    fn string_of(&mut self, n: u64, enc: bool) -> Res<Vec<u8>> {
        if !enc {
            return self.bytes(n);
        }
        let v: i64 = match n as u8 {
            ENC_INT8 => self.u8()? as i8 as i64,
            ENC_INT16 => i16::from_le_bytes(self.array()?) as i64,
            ENC_INT32 => i32::from_le_bytes(self.array()?) as i64,
            ENC_LZF => return self.lzf(),
            other => return corrupt(format!("Unknown RDB string encoding type {other}")),
        };
        Ok(itoa::Buffer::new().format(v).as_bytes().to_vec())
    }

    fn lzf(&mut self) -> Res<Vec<u8>> {
        let clen = self.length()?;
        let len = self.length()?;
        let data = self.bytes(clen)?;
        // LZF expands at most ~264 bytes per 3 input bytes: a larger claim is
        // corrupt, and refusing it avoids allocating for it.
        if len > clen.saturating_mul(90).saturating_add(64) || clen == 0 {
            return corrupt("Invalid LZF compressed string");
        }
        if len == 0 {
            return Ok(Vec::new());
        }
        match crate::lzf::decompress(&data, len as usize) {
            Some(v) => Ok(v),
            None => corrupt("Invalid LZF compressed string"),
        }
    }

    /// A score of RDB type 3 (text with a one-byte length; 253..255 are NaN, +inf, -inf).
    fn text_double(&mut self) -> Res<f64> {
        let n = self.u8()?;
        match n {
            255 => Ok(f64::NEG_INFINITY),
            254 => Ok(f64::INFINITY),
            253 => Ok(f64::NAN),
            _ => {
                let b = self.bytes(n as u64)?;
                strtod(&b).ok_or(Error::Eof)
            }
        }
    }

    fn bin_double(&mut self) -> Res<f64> {
        Ok(f64::from_le_bytes(self.array()?))
    }

    pub fn millis(&mut self) -> Res<i64> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    pub fn secs(&mut self) -> Res<i32> {
        Ok(i32::from_le_bytes(self.array()?))
    }
}

/// C's `strtod` on a whole short string (what `%lg` and `zzlStrtod` accept):
/// the longest parsable prefix.
fn strtod(b: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(b).ok()?.trim_start();
    if let Some(v) = crate::util::parse_f64(s.as_bytes()) {
        return Some(v);
    }
    let lower = s.to_ascii_lowercase();
    for (word, v) in [("-inf", f64::NEG_INFINITY), ("+inf", f64::INFINITY), ("inf", f64::INFINITY), ("nan", f64::NAN)] {
        if lower.starts_with(word) {
            return Some(v);
        }
    }
    (1..=s.len()).rev().filter(|&i| s.is_char_boundary(i)).find_map(|i| s[..i].parse::<f64>().ok())
}

// ---------------------------------------------------------------------------
// Values

/// Reads a value of RDB type `t`. `Ok(None)`: an empty collection (Redis skips
/// such keys).
pub fn value(r: &mut Reader, t: u8, lim: &Limits, key: &[u8]) -> Res<Option<Value>> {
    let v = match t {
        TYPE_STRING => Value::from_bytes(&r.string()?),
        TYPE_LIST => {
            let n = r.count(1)?;
            let mut l = List::new(lim.list_fill, lim.list_depth);
            for _ in 0..n {
                l.push(&r.string()?, false);
            }
            Value::from(l)
        }
        TYPE_SET => {
            let n = r.count(1)?;
            let mut s = Set::new_intset();
            for _ in 0..n {
                if !s.add(&r.string()?, lim.max_intset) {
                    return corrupt("Duplicate set members detected");
                }
            }
            Value::from(s)
        }
        TYPE_ZSET | TYPE_ZSET_2 => {
            let n = r.count(2)?;
            let mut items = Vec::with_capacity(n.min(1 << 20) as usize);
            for _ in 0..n {
                let m = r.string()?;
                let s = if t == TYPE_ZSET_2 { r.bin_double()? } else { r.text_double()? };
                if s.is_nan() {
                    return corrupt("Zset with NAN score detected");
                }
                items.push((SBytes::from_vec(m), s));
            }
            Value::from(zset_from(items, lim)?)
        }
        TYPE_HASH => {
            let n = r.count(2)?;
            let mut h = Hash::new();
            for _ in 0..n {
                let f = r.string()?;
                let v = r.string()?;
                if !h.set(&f, &v, lim.hash) {
                    return corrupt("Duplicate hash fields detected");
                }
            }
            Value::from(h)
        }
        TYPE_HASH_ZIPMAP => {
            let blob = r.string()?;
            let pairs = packed::zipmap(&blob).or_else(|_| corrupt("Zipmap integrity check failed."))?;
            let mut h = Hash::new();
            for (f, v) in pairs {
                if !h.set(f, v, lim.hash) {
                    return corrupt("Hash zipmap with dup elements");
                }
            }
            Value::from(h)
        }
        TYPE_LIST_ZIPLIST => {
            let blob = r.string()?;
            let eles = packed::ziplist(&blob).or_else(|_| corrupt("List ziplist integrity check failed."))?;
            let mut l = List::new(lim.list_fill, lim.list_depth);
            for e in eles {
                e.with_bytes(|b| l.push(b, false));
            }
            Value::from(l)
        }
        TYPE_SET_INTSET => {
            let blob = r.string()?;
            let ints = packed::intset(&blob).or_else(|_| corrupt("Intset integrity check failed."))?;
            let mut s = Set::new_intset();
            for v in ints {
                s.add_member(Member::Int(v), lim.max_intset);
            }
            Value::from(s)
        }
        TYPE_SET_LISTPACK => {
            let blob = r.string()?;
            let eles = packed::listpack(&blob).or_else(|_| corrupt("Set listpack integrity check failed."))?;
            let mut s = Set::new_intset();
            for e in eles {
                let added = match e {
                    Ele::Int(v) => s.add_member(Member::Int(v), lim.max_intset),
                    Ele::Str(b) => s.add(b, lim.max_intset),
                };
                if !added {
                    return corrupt("Set listpack integrity check failed.");
                }
            }
            Value::from(s)
        }
        TYPE_ZSET_ZIPLIST | TYPE_ZSET_LISTPACK => {
            let blob = r.string()?;
            let (what, eles) = if t == TYPE_ZSET_ZIPLIST {
                ("Zset ziplist integrity check failed.", packed::ziplist(&blob))
            } else {
                ("Zset listpack integrity check failed.", packed::listpack(&blob))
            };
            let eles = eles.or_else(|_| corrupt(what))?;
            if eles.len() % 2 != 0 {
                return corrupt(what);
            }
            let mut items = Vec::with_capacity(eles.len() / 2);
            for p in eles.chunks_exact(2) {
                let score = match p[1] {
                    Ele::Int(v) => v as f64,
                    Ele::Str(s) => match strtod(s) {
                        Some(v) if !v.is_nan() => v,
                        _ => return corrupt(what),
                    },
                };
                items.push((SBytes::from_vec(p[0].to_vec()), score));
            }
            Value::from(zset_from(items, lim).or_else(|_| corrupt(what))?)
        }
        TYPE_HASH_ZIPLIST | TYPE_HASH_LISTPACK => {
            let blob = r.string()?;
            let (what, eles) = if t == TYPE_HASH_ZIPLIST {
                ("Hash ziplist integrity check failed.", packed::ziplist(&blob))
            } else {
                ("Hash listpack integrity check failed.", packed::listpack(&blob))
            };
            let eles = eles.or_else(|_| corrupt(what))?;
            if eles.len() % 2 != 0 {
                return corrupt(what);
            }
            let mut h = Hash::new();
            for p in eles.chunks_exact(2) {
                let added = p[0].with_bytes(|f| p[1].with_bytes(|v| h.set(f, v, lim.hash)));
                if !added {
                    return corrupt(what);
                }
            }
            Value::from(h)
        }
        TYPE_LIST_QUICKLIST | TYPE_LIST_QUICKLIST_2 => {
            let n = r.count(2)?;
            let mut l = List::new(lim.list_fill, lim.list_depth);
            for _ in 0..n {
                let container = if t == TYPE_LIST_QUICKLIST_2 { r.length()? } else { QUICKLIST_PACKED };
                if container != QUICKLIST_PACKED && container != QUICKLIST_PLAIN {
                    return corrupt("Quicklist integrity check failed.");
                }
                let data = r.string()?;
                if data.is_empty() {
                    return corrupt("Quicklist integrity check failed.");
                }
                if container == QUICKLIST_PLAIN {
                    l.push(&data, false);
                    continue;
                }
                let eles = if t == TYPE_LIST_QUICKLIST_2 {
                    packed::listpack(&data).or_else(|_| corrupt("Listpack integrity check failed."))?
                } else {
                    packed::ziplist(&data).or_else(|_| corrupt("Ziplist integrity check failed."))?
                };
                for e in eles {
                    e.with_bytes(|b| l.push(b, false));
                }
            }
            Value::from(l)
        }
        TYPE_STREAM_LISTPACKS | TYPE_STREAM_LISTPACKS_2 | TYPE_STREAM_LISTPACKS_3 => {
            Value::from(super::stream::decode(r, t)?)
        }
        TYPE_MODULE_PRE_GA | TYPE_MODULE_2 => {
            let id = r.length()?;
            return Err(Error::Fatal(format!(
                "The RDB file contains module data I can't load: no matching module type '{}' (key '{}')",
                module_name(id),
                String::from_utf8_lossy(key)
            )));
        }
        TYPE_HASH_METADATA_PRE_GA..=TYPE_HASH_LISTPACK_EX => {
            return Err(Error::Fatal(format!(
                "The RDB file contains a hash with field expiration (key '{}', RDB type {t} '{}'): ferrokv cannot \
                 hold field TTLs yet, so it refuses to load the file rather than drop them",
                String::from_utf8_lossy(key),
                type_name(t)
            )))
        }
        _ => return corrupt(format!("Unknown RDB encoding type {t}")),
    };
    let empty = match &v {
        Value::List(l) => l.is_empty(),
        Value::Hash(h) => h.is_empty(),
        Value::Set(s) => s.is_empty(),
        Value::ZSet(z) => z.is_empty(),
        _ => false,
    };
    Ok(if empty { None } else { Some(v) })
}

/// A sorted set from unordered (member, score) pairs; duplicate members are corruption.
fn zset_from(mut items: Vec<(SBytes, f64)>, lim: &Limits) -> Res<ZSet> {
    items.sort_unstable_by(|a, b| a.0.as_slice().cmp(b.0.as_slice()));
    if items.windows(2).any(|w| w[0].0 == w[1].0) {
        return corrupt("Duplicate zset fields detected");
    }
    items.sort_by(|a, b| {
        a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal).then_with(|| a.0.as_slice().cmp(b.0.as_slice()))
    });
    Ok(ZSet::from_sorted(items, lim.zset))
}

/// The 9-character name of a module type from its 64-bit id.
pub fn module_name(id: u64) -> String {
    const CSET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut id = id >> 10;
    let mut name = [0u8; 9];
    for j in (0..9).rev() {
        name[j] = CSET[(id & 63) as usize];
        id >>= 6;
    }
    String::from_utf8_lossy(&name).into_owned()
}

/// Whether `t` is a value type (not an opcode) Redis may write.
pub fn is_object_type(t: u8) -> bool {
    matches!(t, 0..=7 | 9..=25)
}

// ---------------------------------------------------------------------------
// Whole files

/// One key read from a file.
pub struct Key {
    pub db: usize,
    pub key: SBytes,
    pub value: Value,
    /// Absolute expiry (ms), if any.
    pub expire: Option<i64>,
    /// Seconds idle when saved (the IDLE opcode).
    pub idle: Option<u64>,
    /// LFU access counter when saved (the FREQ opcode).
    pub freq: Option<u8>,
}

/// What loading counted.
#[derive(Default, Debug)]
pub struct Stats {
    pub keys_loaded: u64,
    pub keys_expired: u64,
    pub empty_skipped: u64,
    /// The function libraries' code, in file order.
    pub functions: Vec<Vec<u8>>,
}

/// Options of a load.
pub struct Opts {
    pub lim: Limits,
    pub databases: usize,
    /// Verify the checksum (`rdbchecksum yes`).
    pub verify_checksum: bool,
    /// `key-load-delay`: microseconds to wait per key loaded (tests).
    pub key_load_delay_us: i64,
    /// Keys whose expiry is before this are skipped (as a master does).
    pub now: i64,
    /// The load INFO shows at startup (it gets the file's `used-mem`).
    pub loading: Option<std::sync::Arc<crate::persist::Loading>>,
}

/// Reads a whole RDB file, handing every live key to `put` (which returns
/// false for a duplicate key: corruption). Logs the AUX fields and the
/// summary as Redis does.
pub fn load(r: &mut Reader, o: &Opts, put: impl FnMut(Key) -> Res<()>) -> Res<Stats> {
    load_sized(r, o, put, |_, _, _| {})
}

/// `load`, also passing on the table sizes the file announces (RESIZEDB:
/// database, keys, keys with a TTL) before the keys of a database.
pub fn load_sized(
    r: &mut Reader,
    o: &Opts,
    mut put: impl FnMut(Key) -> Res<()>,
    mut sizes: impl FnMut(usize, u64, u64),
) -> Res<Stats> {
    let magic = r.bytes(9).map_err(|_| Error::Eof)?;
    if &magic[..5] != b"REDIS" {
        return Err(Error::Invalid("Wrong signature trying to load DB from file".into()));
    }
    let ver = atoi(&magic[5..]);
    if ver < 1 || ver > RDB_VERSION_MAX_READ as i64 {
        return Err(Error::Invalid(format!("Can't handle RDB format version {ver}")));
    }
    let mut st = Stats::default();
    let mut db = 0usize;
    let (mut expire, mut idle, mut freq): (Option<i64>, Option<u64>, Option<u8>) = (None, None, None);
    loop {
        let t = r.u8()?;
        match t {
            OP_EXPIRETIME => {
                expire = Some(r.secs()? as i64 * 1000);
                continue;
            }
            OP_EXPIRETIME_MS => {
                expire = Some(r.millis()?);
                continue;
            }
            OP_FREQ => {
                freq = Some(r.u8()?);
                continue;
            }
            OP_IDLE => {
                idle = Some(r.length()?);
                continue;
            }
            OP_EOF => break,
            OP_SELECTDB => {
                let id = r.length()?;
                if id >= o.databases as u64 {
                    return Err(Error::Fatal(format!(
                        "FATAL: Data file was created with a Redis server configured to handle more than {} databases. Exiting\n",
                        o.databases
                    )));
                }
                db = id as usize;
                continue;
            }
            OP_RESIZEDB => {
                let keys = r.length()?;
                let expires = r.length()?;
                sizes(db, keys, expires);
                continue;
            }
            OP_SLOT_INFO => {
                r.length()?;
                r.length()?;
                r.length()?;
                continue;
            }
            OP_AUX => {
                let k = r.string()?;
                let v = r.string()?;
                aux_field(&k, &v);
                if let Some(l) = o.loading.as_ref().filter(|_| k.eq_ignore_ascii_case(b"used-mem")) {
                    l.rdb_used_mem.store(atoi(&v).max(0) as u64, std::sync::atomic::Ordering::Relaxed);
                }
                continue;
            }
            OP_MODULE_AUX => {
                let id = r.length()?;
                let when_opcode = r.length()?;
                r.length()?;
                if when_opcode != 2 {
                    return corrupt("bad when_opcode");
                }
                return Err(Error::Fatal(format!(
                    "The RDB file contains AUX module data I can't load: no matching module '{}'",
                    module_name(id)
                )));
            }
            OP_FUNCTION_PRE_GA => {
                let name = r.string()?;
                r.string()?;
                if r.length()? != 0 {
                    r.string()?;
                }
                r.string()?;
                crate::log::warning(&format!(
                    "Skipping function library '{}' found in the RDB file: functions are not supported yet",
                    String::from_utf8_lossy(&name)
                ));
                continue;
            }
            OP_FUNCTION2 => {
                st.functions.push(r.string()?);
                continue;
            }
            _ => {}
        }
        let key = r.key()?;
        let val = value(r, t, &o.lim, &key)?;
        let (exp, idl, frq) = (expire.take(), idle.take(), freq.take());
        let Some(val) = val else {
            st.empty_skipped += 1;
            if st.empty_skipped <= 10 {
                crate::log::warning(&format!("rdbLoadObject skipping empty key: {}", String::from_utf8_lossy(&key)));
            }
            continue;
        };
        if exp.is_some_and(|e| e < o.now) {
            st.keys_expired += 1;
            continue;
        }
        st.keys_loaded += 1;
        put(Key { db, key, value: val, expire: exp, idle: idl, freq: frq })?;
    }
    if ver >= 5 {
        let expected = r.checksum();
        let got = u64::from_le_bytes(r.array()?);
        if o.verify_checksum {
            if got == 0 {
                crate::log::warning("RDB file was saved with checksum disabled: no check performed.");
            } else if got != expected {
                return Err(Error::Checksum { expected, got });
            }
        }
    }
    if st.empty_skipped > 0 {
        crate::log::warning(&format!(
            "Done loading RDB, keys loaded: {}, keys expired: {}, empty keys skipped: {}.",
            st.keys_loaded, st.keys_expired, st.empty_skipped
        ));
    } else {
        crate::log::notice(&format!(
            "Done loading RDB, keys loaded: {}, keys expired: {}.",
            st.keys_loaded, st.keys_expired
        ));
    }
    Ok(st)
}

/// Logs an AUX field as Redis does.
fn aux_field(k: &[u8], v: &[u8]) {
    let vs = String::from_utf8_lossy(v);
    if k.first() == Some(&b'%') {
        crate::log::notice(&format!("RDB '{}': {vs}", String::from_utf8_lossy(k)));
        return;
    }
    let key = String::from_utf8_lossy(k).to_ascii_lowercase();
    match key.as_str() {
        "redis-ver" => crate::log::notice(&format!("Loading RDB produced by version {vs}")),
        "ctime" => {
            let age = (crate::util::now_ms() / 1000 - atoi(v)).max(0);
            crate::log::notice(&format!("RDB age {age} seconds"));
        }
        "used-mem" => {
            let mb = atoi(v) as f64 / (1024.0 * 1024.0);
            crate::log::notice(&format!("RDB memory usage when created {mb:.2} Mb"));
        }
        "aof-preamble" => {
            if atoi(v) != 0 {
                crate::log::notice("RDB has an AOF tail");
            }
        }
        "aof-base" => {
            if atoi(v) != 0 {
                crate::log::notice("RDB is base AOF");
            }
        }
        "repl-stream-db" | "repl-id" | "repl-offset" | "lua" | "redis-bits" => {}
        _ => crate::log::debug(&format!("Unrecognized RDB AUX field: '{}'", String::from_utf8_lossy(k))),
    }
}

/// C's `atoi`/`strtoll` on a prefix: optional sign, then digits.
fn atoi(b: &[u8]) -> i64 {
    let s = String::from_utf8_lossy(b);
    let s = s.trim_start();
    let (neg, d) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    for c in d.bytes().take_while(u8::is_ascii_digit) {
        n = n.saturating_mul(10).saturating_add((c - b'0') as i64);
    }
    if neg {
        -n
    } else {
        n
    }
}

// ---------------------------------------------------------------------------
// DUMP payloads

/// Checks a DUMP payload's footer (RDB version, CRC64) as Redis 7.0's
/// `verifyDumpPayload` does; `skip_crc`: DEBUG SET-SKIP-CHECKSUM-VALIDATION.
pub fn verify_payload(p: &[u8], skip_crc: bool) -> bool {
    if p.len() < 10 {
        return false;
    }
    let footer = &p[p.len() - 10..];
    let ver = u16::from_le_bytes([footer[0], footer[1]]);
    ver <= RDB_VERSION && (skip_crc || CRC64.checksum(&p[..p.len() - 8]).to_le_bytes() == footer[2..10])
}

/// The library codes of a FUNCTION DUMP payload body (footer removed): a
/// sequence of FUNCTION2 opcodes each followed by a string. None when the
/// payload holds anything else.
pub fn function_codes(body: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut src = body;
    let len = src.len() as u64;
    let mut r = Reader::new(&mut src, len, false);
    let mut out = Vec::new();
    let mut left = body.len();
    while left > 0 {
        if r.u8().ok()? != OP_FUNCTION2 {
            return None;
        }
        let code = r.string().ok()?;
        out.push(code);
        left = r.remaining();
    }
    Some(out)
}

/// Reads the value of a verified payload (type byte + value). As in Redis,
/// the reader may run on into the footer: only the type and the value it
/// describes are read.
pub fn payload_value(payload: &[u8], lim: &Limits, key: &[u8]) -> Res<Option<Value>> {
    let mut src = payload;
    let len = src.len() as u64;
    let mut r = Reader::new(&mut src, len, false);
    let t = r.u8()?;
    if !is_object_type(t) {
        return corrupt("bad type");
    }
    value(&mut r, t, lim, key)
}
