//! The hash type, in Redis's two encodings: `listpack`, one contiguous byte
//! buffer of field/value pairs in insertion order (small hashes), and
//! `hashtable`, a `Dict` of fields to values. A hash starts as a listpack and
//! becomes a hashtable, never back, when it gets more fields than
//! `hash-max-listpack-entries` or a field or value longer than
//! `hash-max-listpack-value`, at exactly Redis's moments.
//!
//! Listpack element format (one per field and per value):
//! - `0x00..=0x7F`: a string of that many bytes, which follow;
//! - `0x80..=0xBF`: the integer 0..=63 (a canonical decimal string);
//! - `0xC1..=0xC8`: an integer in 1..=8 little-endian two's-complement bytes;
//! - `0xF0`: a string whose length follows as a LEB128 varint, then its bytes.
//!
//! Only strings that are canonical 64-bit integers (what `string2ll` accepts)
//! are stored as integers, so every element reads back byte for byte.

use super::dict::Dict;
use super::sbytes::SBytes;
use super::thin::{thin_word, Either, Mut, Ref, ThinBuf};
use super::varint;

const IMM_BASE: u8 = 0x80;
const IMM_MAX: i64 = 63;
const INT_BASE: u8 = 0xC0;
const STR_LONG: u8 = 0xF0;
const STR_SHORT_MAX: usize = 0x7F;

/// One element read from a hash: a string, or an integer held in compact form
/// (which stands for its decimal text).
#[derive(Clone, Copy, Debug)]
pub enum Item<'a> {
    Str(&'a [u8]),
    Int(i64),
}

impl<'a> Item<'a> {
    /// The element's bytes (an integer is formatted into `nb`).
    pub fn bytes<'b>(&self, nb: &'b mut itoa::Buffer) -> &'b [u8]
    where
        'a: 'b,
    {
        match *self {
            Item::Str(s) => s,
            Item::Int(n) => nb.format(n).as_bytes(),
        }
    }

    /// Length of the element's text.
    pub fn len(&self) -> usize {
        match *self {
            Item::Str(s) => s.len(),
            Item::Int(n) => itoa::Buffer::new().format(n).len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An owned copy of the element's bytes.
    pub fn to_sbytes(&self) -> SBytes {
        let mut nb = itoa::Buffer::new();
        SBytes::new(self.bytes(&mut nb))
    }
}

/// A string that may be stored as an integer: canonical decimal form only.
#[inline]
fn as_int(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    crate::util::parse_i64(s)
}

/// Bytes needed for an integer element.
fn int_size(n: i64) -> usize {
    if (0..=IMM_MAX).contains(&n) {
        return 1;
    }
    let mut bytes = 1;
    while bytes < 8 {
        let bits = bytes * 8;
        let min = -(1i64 << (bits - 1));
        let max = (1i64 << (bits - 1)) - 1;
        if n >= min && n <= max {
            break;
        }
        bytes += 1;
    }
    1 + bytes as usize
}

/// Bytes needed to store `s` as one element.
fn elem_size(s: &[u8]) -> usize {
    if let Some(n) = as_int(s) {
        int_size(n)
    } else if s.len() <= STR_SHORT_MAX {
        1 + s.len()
    } else {
        1 + varint::len(s.len() as u64) + s.len()
    }
}

/// Appends `s` as one element.
fn put_elem(out: &mut Vec<u8>, s: &[u8]) {
    if let Some(n) = as_int(s) {
        if (0..=IMM_MAX).contains(&n) {
            out.push(IMM_BASE + n as u8);
        } else {
            let size = int_size(n) - 1;
            out.push(INT_BASE + size as u8);
            out.extend_from_slice(&n.to_le_bytes()[..size]);
        }
    } else if s.len() <= STR_SHORT_MAX {
        out.push(s.len() as u8);
        out.extend_from_slice(s);
    } else {
        out.push(STR_LONG);
        varint::put(out, s.len() as u64);
        out.extend_from_slice(s);
    }
}

/// Reads the element at `pos`; returns it and the position after it.
/// The buffer is only ever written by `put_elem`.
#[inline]
fn read_elem(buf: &[u8], pos: usize) -> (Item<'_>, usize) {
    let h = buf[pos];
    match h {
        0..=0x7F => {
            let start = pos + 1;
            let end = start + h as usize;
            (Item::Str(&buf[start..end]), end)
        }
        0x80..=0xBF => (Item::Int((h - IMM_BASE) as i64), pos + 1),
        0xC1..=0xC8 => {
            let size = (h - INT_BASE) as usize;
            let mut raw = [0u8; 8];
            raw[..size].copy_from_slice(&buf[pos + 1..pos + 1 + size]);
            // Sign-extend from `size` bytes.
            let shift = 64 - 8 * size as u32;
            let n = (i64::from_le_bytes(raw) << shift) >> shift;
            (Item::Int(n), pos + 1 + size)
        }
        _ => {
            let mut p = pos + 1;
            // `put_elem` wrote a complete varint.
            let len = varint::read(buf, &mut p).unwrap_or(0) as usize;
            (Item::Str(&buf[p..p + len]), p + len)
        }
    }
}

/// Does the element at `pos` equal `s` (whose integer form, if any, is `si`)?
/// Returns the answer and the position after the element.
#[inline]
fn elem_eq(buf: &[u8], pos: usize, s: &[u8], si: Option<i64>) -> (bool, usize) {
    let (it, next) = read_elem(buf, pos);
    let eq = match it {
        Item::Str(b) => si.is_none() && b == s,
        Item::Int(n) => si == Some(n),
    };
    (eq, next)
}

/// The compact encoding: one exact-size allocation holding a 2-byte pair
/// count (little endian; `0xFFFF` means "count by walking", as Redis's listpack
/// header does past 65535) followed by the field/value elements back to back.
/// An empty listpack allocates nothing.
#[derive(Clone, Default)]
#[repr(transparent)]
pub struct Listpack {
    buf: ThinBuf,
}

thin_word!(Listpack);

/// Size of the pair-count header.
const HDR: usize = 2;
const COUNT_UNKNOWN: u16 = u16::MAX;

/// Where a pair sits in a listpack: field start, value start, pair end.
#[derive(Clone, Copy)]
struct Span {
    field: usize,
    value: usize,
    end: usize,
}

impl Listpack {
    /// Offset of the first element.
    #[inline]
    fn start(&self) -> usize {
        self.buf.len().min(HDR)
    }

    fn pairs(&self) -> usize {
        if self.buf.is_empty() {
            return 0;
        }
        match u16::from_le_bytes([self.buf[0], self.buf[1]]) {
            COUNT_UNKNOWN => self.iter().count(),
            n => n as usize,
        }
    }

    /// Edits the buffer as a vector (with the header present) and stores it
    /// back at its exact size.
    fn edit<R>(&mut self, f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        self.buf.edit(|v| {
            if v.is_empty() {
                v.extend_from_slice(&[0, 0]);
            }
            f(v)
        })
    }

    fn set_pairs(buf: &mut [u8], n: usize) {
        let c = if n >= COUNT_UNKNOWN as usize { COUNT_UNKNOWN } else { n as u16 };
        buf[..HDR].copy_from_slice(&c.to_le_bytes());
    }

    fn find(&self, field: &[u8]) -> Option<Span> {
        let fi = as_int(field);
        let mut pos = self.start();
        while pos < self.buf.len() {
            let (eq, vpos) = elem_eq(&self.buf, pos, field, fi);
            let (_, end) = read_elem(&self.buf, vpos);
            if eq {
                return Some(Span { field: pos, value: vpos, end });
            }
            pos = end;
        }
        None
    }

    fn get(&self, field: &[u8]) -> Option<Item<'_>> {
        let sp = self.find(field)?;
        Some(read_elem(&self.buf, sp.value).0)
    }

    /// Sets a field; returns true when it was added (not updated).
    fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        match self.find(field) {
            Some(sp) => {
                let mut enc = Vec::with_capacity(elem_size(value));
                put_elem(&mut enc, value);
                if enc.len() == sp.end - sp.value {
                    self.buf[sp.value..sp.end].copy_from_slice(&enc);
                } else {
                    self.edit(|v| {
                        v.reserve_exact(enc.len().saturating_sub(sp.end - sp.value));
                        v.splice(sp.value..sp.end, enc);
                    });
                }
                false
            }
            None => {
                let n = self.pairs() + 1;
                self.edit(|v| {
                    v.reserve_exact(elem_size(field) + elem_size(value));
                    put_elem(v, field);
                    put_elem(v, value);
                    Self::set_pairs(v, n);
                });
                true
            }
        }
    }

    fn delete(&mut self, field: &[u8]) -> bool {
        let Some(sp) = self.find(field) else { return false };
        let n = self.pairs() - 1;
        if n == 0 {
            self.buf = ThinBuf::default();
            return true;
        }
        self.edit(|v| {
            v.drain(sp.field..sp.end);
            Self::set_pairs(v, n);
        });
        true
    }

    fn iter(&self) -> LpIter<'_> {
        LpIter { buf: &self.buf, pos: self.start() }
    }

    /// The start offsets of every pair (for random access).
    fn offsets(&self) -> Vec<usize> {
        let mut v = Vec::new();
        let mut pos = self.start();
        while pos < self.buf.len() {
            v.push(pos);
            let (_, vpos) = read_elem(&self.buf, pos);
            pos = read_elem(&self.buf, vpos).1;
        }
        v
    }

    fn pair_at(&self, pos: usize) -> (Item<'_>, Item<'_>) {
        let (f, vpos) = read_elem(&self.buf, pos);
        (f, read_elem(&self.buf, vpos).0)
    }
}

/// Listpack pairs in order.
pub struct LpIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for LpIter<'a> {
    type Item = (Item<'a>, Item<'a>);
    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let (f, vpos) = read_elem(self.buf, self.pos);
        let (v, end) = read_elem(self.buf, vpos);
        self.pos = end;
        Some((f, v))
    }
}

/// The full encoding: a hash table of fields to values.
#[derive(Clone, Default)]
pub struct Table {
    dict: Dict<SBytes>,
    /// Bytes of the fields (held in the table's entries) and heap bytes of
    /// long values (for `heap_size`).
    str_heap: usize,
}

impl Table {
    fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        let v = SBytes::new(value);
        self.str_heap += v.heap_size();
        if let Some(old) = self.dict.get_mut(field) {
            let old = std::mem::replace(old, v);
            self.str_heap -= old.heap_size();
            return false;
        }
        self.str_heap += field.len();
        self.dict.insert_new(field, v);
        true
    }

    fn delete(&mut self, field: &[u8]) -> bool {
        match self.dict.remove(field) {
            Some(v) => {
                self.str_heap -= field.len() + v.heap_size();
                true
            }
            None => false,
        }
    }
}

/// Thresholds of the compact encoding (from the configuration).
#[derive(Clone, Copy)]
pub struct Limits {
    pub max_entries: usize,
    pub max_value: usize,
}

/// A hash value: a listpack, or a boxed table (so that a small hash costs
/// little more than its listpack buffer), in one word.
#[derive(Clone)]
pub struct Hash(Either<Listpack, Table>);

impl Default for Hash {
    fn default() -> Self {
        Hash(Either::a(Listpack::default()))
    }
}

/// Iterator over the field/value pairs of a hash.
pub enum Iter<'a> {
    Listpack(LpIter<'a>),
    Table(super::dict::Iter<'a, SBytes>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (Item<'a>, Item<'a>);
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Listpack(it) => it.next(),
            Iter::Table(it) => it.next().map(|(k, v)| (Item::Str(k), Item::Str(v.as_slice()))),
        }
    }
}

impl Hash {
    /// An empty hash (listpack encoded).
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        match self.0.get() {
            Ref::A(lp) => lp.pairs(),
            Ref::B(t) => t.dict.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// DEBUG HTSTATS-KEY's statistics, for the hashtable encoding.
    pub fn table_stats(&self) -> Option<String> {
        match self.0.get() {
            Ref::B(t) => Some(t.dict.stats()),
            Ref::A(_) => None,
        }
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match self.0.get() {
            Ref::A(_) => "listpack",
            Ref::B(_) => "hashtable",
        }
    }

    pub fn is_listpack(&self) -> bool {
        matches!(self.0.get(), Ref::A(_))
    }

    /// Heap bytes owned (for MEMORY USAGE and lazy freeing decisions).
    pub fn heap_size(&self) -> usize {
        match self.0.get() {
            Ref::A(lp) => lp.buf.alloc_size(),
            Ref::B(t) => {
                // An entry holds a link, the value's 24-byte string and the
                // field's bytes; each bucket is one pointer.
                std::mem::size_of::<Table>()
                    + t.dict.len() * Dict::<SBytes>::entry_bytes(0)
                    + t.dict.buckets() * 8
                    + t.str_heap
            }
        }
    }

    /// The value of a field.
    pub fn get(&self, field: &[u8]) -> Option<Item<'_>> {
        match self.0.get() {
            Ref::A(lp) => lp.get(field),
            Ref::B(t) => t.dict.get(field).map(|v| Item::Str(v.as_slice())),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        match self.0.get() {
            Ref::A(lp) => lp.find(field).is_some(),
            Ref::B(t) => t.dict.contains_key(field),
        }
    }

    /// Converts a listpack to a hashtable (no-op for a hashtable).
    fn convert(&mut self) {
        let Mut::A(lp) = self.0.get_mut() else { return };
        let mut t = Box::<Table>::default();
        for (f, v) in lp.iter() {
            let mut nb = itoa::Buffer::new();
            let f = f.bytes(&mut nb);
            let v = v.to_sbytes();
            t.str_heap += f.len() + v.heap_size();
            t.dict.insert_new(f, v);
        }
        self.0 = Either::b(t);
    }

    /// Sets a field (Redis's `hashTypeSet`): a listpack is converted first when
    /// the field or value is longer than the limit, and after adding when it
    /// holds more fields than the limit. Returns true when the field is new.
    pub fn set(&mut self, field: &[u8], value: &[u8], lim: Limits) -> bool {
        if self.is_listpack() && (field.len() > lim.max_value || value.len() > lim.max_value) {
            self.convert();
        }
        match self.0.get_mut() {
            Mut::A(lp) => {
                let added = lp.set(field, value);
                if lp.pairs() > lim.max_entries {
                    self.convert();
                }
                added
            }
            Mut::B(t) => t.set(field, value),
        }
    }

    /// Removes a field; returns true when it was there.
    pub fn delete(&mut self, field: &[u8]) -> bool {
        match self.0.get_mut() {
            Mut::A(lp) => lp.delete(field),
            Mut::B(t) => t.delete(field),
        }
    }

    /// The pairs: insertion order for a listpack, table order for a hashtable.
    pub fn iter(&self) -> Iter<'_> {
        match self.0.get() {
            Ref::A(lp) => Iter::Listpack(lp.iter()),
            Ref::B(t) => Iter::Table(t.dict.iter()),
        }
    }

    /// One pair chosen at random.
    pub fn random<R: rand::Rng>(&self, rng: &mut R) -> Option<(Item<'_>, Item<'_>)> {
        match self.0.get() {
            Ref::A(lp) => {
                let n = lp.pairs();
                if n == 0 {
                    return None;
                }
                lp.iter().nth(rng.gen_range(0..n))
            }
            Ref::B(t) => t.dict.random(rng).map(|(k, v)| (Item::Str(k), Item::Str(v.as_slice()))),
        }
    }

    /// `n` pairs chosen at random, independently (repetitions allowed).
    pub fn random_many<R: rand::Rng>(&self, rng: &mut R, n: usize, mut f: impl FnMut(Item<'_>, Item<'_>)) {
        match self.0.get() {
            Ref::A(lp) => {
                let offs = lp.offsets();
                if offs.is_empty() {
                    return;
                }
                for _ in 0..n {
                    let (k, v) = lp.pair_at(offs[rng.gen_range(0..offs.len())]);
                    f(k, v);
                }
            }
            Ref::B(t) => {
                for _ in 0..n {
                    if let Some((k, v)) = t.dict.random(rng) {
                        f(Item::Str(k), Item::Str(v.as_slice()));
                    }
                }
            }
        }
    }

    /// `n` distinct pairs chosen at random (`n` less than the length).
    pub fn random_distinct<R: rand::Rng>(&self, rng: &mut R, n: usize, mut f: impl FnMut(Item<'_>, Item<'_>)) {
        let len = self.len();
        let n = n.min(len);
        match self.0.get() {
            Ref::A(lp) => {
                let offs = lp.offsets();
                let mut picked = rand::seq::index::sample(rng, offs.len(), n).into_vec();
                picked.sort_unstable();
                for i in picked {
                    let (k, v) = lp.pair_at(offs[i]);
                    f(k, v);
                }
            }
            Ref::B(t) => {
                if n * 3 > len {
                    // Many of the fields: pick indexes over one pass of the table.
                    let mut picked = rand::seq::index::sample(rng, len, n).into_vec();
                    picked.sort_unstable();
                    let mut next = picked.into_iter().peekable();
                    for (i, (k, v)) in t.dict.iter().enumerate() {
                        match next.peek() {
                            Some(&p) if p == i => {
                                next.next();
                                f(Item::Str(k), Item::Str(v.as_slice()));
                            }
                            Some(_) => {}
                            None => break,
                        }
                    }
                } else {
                    // Few of them: sample until enough distinct fields are found.
                    let mut seen: std::collections::HashSet<&[u8]> = std::collections::HashSet::with_capacity(n);
                    while seen.len() < n {
                        let Some((k, v)) = t.dict.random(rng) else { break };
                        if seen.insert(k) {
                            f(Item::Str(k), Item::Str(v.as_slice()));
                        }
                    }
                }
            }
        }
    }

    /// One step of HSCAN: a hashtable visits the buckets at `cursor` (Redis's
    /// reverse-binary cursor) and returns the next cursor; a listpack gives
    /// every pair and cursor 0.
    pub fn scan(&self, cursor: u64, mut f: impl FnMut(Item<'_>, Item<'_>)) -> u64 {
        match self.0.get() {
            Ref::A(lp) => {
                for (k, v) in lp.iter() {
                    f(k, v);
                }
                0
            }
            Ref::B(t) => t.dict.scan(cursor, |k, v| f(Item::Str(k), Item::Str(v.as_slice()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim() -> Limits {
        Limits { max_entries: 128, max_value: 64 }
    }

    fn text(i: Item) -> Vec<u8> {
        let mut nb = itoa::Buffer::new();
        i.bytes(&mut nb).to_vec()
    }

    #[test]
    fn elements_roundtrip() {
        let samples: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"0".to_vec(),
            b"63".to_vec(),
            b"64".to_vec(),
            b"-1".to_vec(),
            b"-0".to_vec(),
            b"007".to_vec(),
            b"+5".to_vec(),
            b"127".to_vec(),
            b"-128".to_vec(),
            b"128".to_vec(),
            b"9223372036854775807".to_vec(),
            b"-9223372036854775808".to_vec(),
            b"9223372036854775808".to_vec(),
            b"hello".to_vec(),
            vec![b'x'; 127],
            vec![b'y'; 128],
            vec![b'z'; 20000],
        ];
        let mut buf = Vec::new();
        for s in &samples {
            let before = buf.len();
            put_elem(&mut buf, s);
            assert_eq!(buf.len() - before, elem_size(s));
        }
        let mut pos = 0;
        for s in &samples {
            let (it, next) = read_elem(&buf, pos);
            assert_eq!(&text(it), s);
            pos = next;
        }
        assert_eq!(pos, buf.len());
        // Past 65535 pairs the count is found by walking.
        let mut lp = Listpack::default();
        lp.edit(|v| {
            for i in 0..70000 {
                put_elem(v, format!("{i}").as_bytes());
                put_elem(v, b"v");
                Listpack::set_pairs(v, i + 1);
            }
        });
        assert_eq!(lp.pairs(), 70000);
        assert!(lp.delete(b"5"));
        assert!(!lp.set(b"69999", b"w"));
        assert!(lp.set(b"x", b"y"));
        assert_eq!(lp.pairs(), 70000);
        assert_eq!(lp.iter().count(), 70000);
        for n in [-300i64, -129, 255, 256, 65535, -65536, 1 << 40, -(1 << 55), i64::MAX, i64::MIN] {
            let s = n.to_string();
            let mut b = Vec::new();
            put_elem(&mut b, s.as_bytes());
            assert_eq!(text(read_elem(&b, 0).0), s.as_bytes());
        }
    }

    #[test]
    fn small_hash_header_is_small() {
        assert_eq!(std::mem::size_of::<Hash>(), 8);
    }

    #[test]
    fn set_get_delete_and_convert() {
        let mut h = Hash::new();
        assert!(h.set(b"a", b"1", lim()));
        assert!(h.set(b"b", b"two", lim()));
        assert!(!h.set(b"a", b"-12345678", lim()));
        assert_eq!(text(h.get(b"a").unwrap()), b"-12345678");
        assert_eq!(h.len(), 2);
        assert!(h.delete(b"a"));
        assert!(!h.delete(b"a"));
        assert_eq!(h.encoding(), "listpack");
        for i in 0..128 {
            h.set(format!("f{i}").as_bytes(), format!("{i}").as_bytes(), lim());
        }
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), 129);
        assert_eq!(text(h.get(b"f77").unwrap()), b"77");
        let mut h = Hash::new();
        h.set(b"1", b"x", lim());
        assert!(h.contains(b"1"));
        assert!(!h.contains(b"01"));
        h.set(&[b'v'; 65], b"", lim());
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(text(h.get(b"1").unwrap()), b"x");
    }
}
