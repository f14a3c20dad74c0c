//! The set type, with Redis 7.0's two encodings: `intset`, one contiguous
//! sorted array of integers packed at 16, 32 or 64 bits (widened for all
//! members when a value needs more, never narrowed), used while every member is
//! an integer and the count stays within set-max-intset-entries; and
//! `hashtable`, a `Dict` with no values, which a set never leaves.

use super::dict::Dict;
use super::thin::{thin_word, Either, Mut, Ref, ThinBuf};
use crate::util::parse_i64;

/// A sorted array of distinct integers stored little-endian at one width
/// (2, 4 or 8 bytes) for all members, as Redis's intset. The width is the
/// first byte of the one exact-size buffer (an empty set allocates nothing), so
/// the whole set is a one-word handle.
#[derive(Clone, Default)]
#[repr(transparent)]
pub struct IntSet {
    buf: ThinBuf,
}

thin_word!(IntSet);

/// The smallest width (in bytes) that holds `v`.
fn width_for(v: i64) -> u8 {
    if v >= i16::MIN as i64 && v <= i16::MAX as i64 {
        2
    } else if v >= i32::MIN as i64 && v <= i32::MAX as i64 {
        4
    } else {
        8
    }
}

/// Appends `v` at width `w`.
fn push_at(out: &mut Vec<u8>, w: u8, v: i64) {
    match w {
        2 => out.extend_from_slice(&(v as i16).to_le_bytes()),
        4 => out.extend_from_slice(&(v as i32).to_le_bytes()),
        _ => out.extend_from_slice(&v.to_le_bytes()),
    }
}

impl IntSet {
    pub fn new() -> Self {
        IntSet::default()
    }

    #[inline]
    fn width(&self) -> u8 {
        self.buf.first().copied().unwrap_or(2)
    }

    #[inline]
    fn data(&self) -> &[u8] {
        self.buf.get(1..).unwrap_or(&[])
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.data().len() / self.width() as usize
    }

    pub fn is_empty(&self) -> bool {
        self.buf.len() <= 1
    }

    /// The member at position `i` (in ascending order). `i` must be below `len()`.
    #[inline]
    pub fn get(&self, i: usize) -> i64 {
        let w = self.width() as usize;
        let b = &self.data()[i * w..i * w + w];
        match w {
            2 => i16::from_le_bytes([b[0], b[1]]) as i64,
            4 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64,
            _ => i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        }
    }

    /// Binary search: `Ok(position)` when present, else `Err(insertion point)`.
    fn search(&self, v: i64) -> Result<usize, usize> {
        let n = self.len();
        if width_for(v) > self.width() {
            // Out of range for the current width: beyond every member.
            return Err(if v < 0 { 0 } else { n });
        }
        let (mut lo, mut hi) = (0, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let x = self.get(mid);
            if x == v {
                return Ok(mid);
            }
            if x < v {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Err(lo)
    }

    pub fn contains(&self, v: i64) -> bool {
        self.search(v).is_ok()
    }

    /// Adds `v`; false when already present.
    pub fn insert(&mut self, v: i64) -> bool {
        if width_for(v) > self.width() {
            self.upgrade_and_add(v);
            return true;
        }
        let pos = match self.search(v) {
            Ok(_) => return false,
            Err(p) => p,
        };
        let w = self.width();
        let at = pos * w as usize;
        let data = self.data();
        // Little endian: the low `w` bytes are `v` at width `w`.
        let v = v.to_le_bytes();
        self.buf = ThinBuf::concat(&[&[w], &data[..at], &v[..w as usize], &data[at..]]);
        true
    }

    /// Re-encodes every member at the width `v` needs, then adds `v`, which
    /// (being out of the old range) goes first when negative, else last.
    fn upgrade_and_add(&mut self, v: i64) {
        let n = self.len();
        let nw = width_for(v);
        let mut out = Vec::with_capacity(1 + (n + 1) * nw as usize);
        out.push(nw);
        if v < 0 {
            push_at(&mut out, nw, v);
        }
        for i in 0..n {
            push_at(&mut out, nw, self.get(i));
        }
        if v >= 0 {
            push_at(&mut out, nw, v);
        }
        self.buf = ThinBuf::new(&out);
    }

    /// Removes `v`; false when absent.
    pub fn remove(&mut self, v: i64) -> bool {
        let Ok(pos) = self.search(v) else { return false };
        let w = self.width();
        let at = pos * w as usize;
        let data = self.data();
        self.buf = ThinBuf::concat(&[&[w], &data[..at], &data[at + w as usize..]]);
        true
    }

    pub fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }

    pub fn heap_size(&self) -> usize {
        self.buf.alloc_size()
    }
}

/// One member as a set stores it: an integer of an intset, or the bytes of a
/// hashtable entry.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Member<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Member<'_> {
    /// The member's bytes (integers in decimal).
    pub fn to_vec(&self) -> Vec<u8> {
        match self {
            Member::Int(n) => itoa::Buffer::new().format(*n).as_bytes().to_vec(),
            Member::Str(s) => s.to_vec(),
        }
    }

    /// Calls `f` with the member's bytes, formatting integers on the stack.
    pub fn with_bytes<T>(&self, f: impl FnOnce(&[u8]) -> T) -> T {
        match self {
            Member::Int(n) => f(itoa::Buffer::new().format(*n).as_bytes()),
            Member::Str(s) => f(s),
        }
    }
}

/// A set value: an intset, or a boxed hashtable (so that a small set stays
/// small), in one word.
#[derive(Clone)]
pub struct Set(Either<IntSet, Dict<()>>);

impl Default for Set {
    fn default() -> Self {
        Set::new_intset()
    }
}

impl Set {
    /// An empty set in the encoding Redis gives a set created for `first`:
    /// `intset` when it is an integer, else `hashtable`.
    pub fn for_first(first: &[u8]) -> Set {
        if parse_i64(first).is_some() {
            Set::new_intset()
        } else {
            Set(Either::b(Box::default()))
        }
    }

    /// An empty intset (the start of every computed set, as in Redis).
    pub fn new_intset() -> Set {
        Set(Either::a(IntSet::new()))
    }

    /// The hashtable, for the hashtable encoding.
    pub fn table(&self) -> Option<&Dict<()>> {
        match self.0.get() {
            Ref::B(d) => Some(d),
            Ref::A(_) => None,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self.0.get() {
            Ref::A(i) => i.len(),
            Ref::B(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// DEBUG HTSTATS-KEY's statistics, for the hashtable encoding.
    pub fn table_stats(&self) -> Option<String> {
        self.table().map(|d| d.stats())
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match self.0.get() {
            Ref::A(_) => "intset",
            Ref::B(_) => "hashtable",
        }
    }

    /// Heap bytes owned (for MEMORY USAGE and lazy freeing decisions); the
    /// hashtable figure is an estimate that costs O(1).
    pub fn heap_size(&self) -> usize {
        match self.0.get() {
            Ref::A(i) => i.heap_size(),
            Ref::B(d) => d.len() * Dict::<()>::entry_bytes(0) + d.buckets() * 8,
        }
    }

    /// Converts an intset to a hashtable (no-op for a hashtable).
    pub fn convert_to_table(&mut self) {
        if let Ref::A(is) = self.0.get() {
            let mut d = Dict::new();
            let mut b = itoa::Buffer::new();
            for v in is.iter() {
                d.insert_new(b.format(v).as_bytes(), ());
            }
            self.0 = Either::b(Box::new(d));
        }
    }

    /// Adds a member; false when it was already present. An intset becomes a
    /// hashtable on a non-integer member or past `max_intset` members.
    pub fn add(&mut self, m: &[u8], max_intset: usize) -> bool {
        if let Mut::A(is) = self.0.get_mut() {
            match parse_i64(m) {
                Some(v) => {
                    if !is.insert(v) {
                        return false;
                    }
                    if is.len() > max_intset {
                        self.convert_to_table();
                    }
                    return true;
                }
                None => self.convert_to_table(),
            }
        }
        match self.0.get_mut() {
            Mut::B(d) => {
                if d.contains_key(m) {
                    false
                } else {
                    d.insert_new(m, ());
                    true
                }
            }
            Mut::A(_) => false,
        }
    }

    /// `add` for a member taken from another set.
    pub fn add_member(&mut self, m: Member, max_intset: usize) -> bool {
        match (self.0.get_mut(), m) {
            (Mut::A(is), Member::Int(v)) => {
                if !is.insert(v) {
                    return false;
                }
                if is.len() > max_intset {
                    self.convert_to_table();
                }
                true
            }
            _ => m.with_bytes(|b| self.add(b, max_intset)),
        }
    }

    /// Removes a member; false when absent.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self.0.get_mut() {
            Mut::A(is) => parse_i64(m).is_some_and(|v| is.remove(v)),
            Mut::B(d) => d.remove(m).is_some(),
        }
    }

    pub fn remove_member(&mut self, m: Member) -> bool {
        match (self.0.get_mut(), m) {
            (Mut::A(is), Member::Int(v)) => is.remove(v),
            _ => m.with_bytes(|b| self.remove(b)),
        }
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        match self.0.get() {
            Ref::A(is) => parse_i64(m).is_some_and(|v| is.contains(v)),
            Ref::B(d) => d.contains_key(m),
        }
    }

    pub fn contains_member(&self, m: Member) -> bool {
        match (self.0.get(), m) {
            (Ref::A(is), Member::Int(v)) => is.contains(v),
            _ => m.with_bytes(|b| self.contains(b)),
        }
    }

    /// Every member: ascending for an intset, table order for a hashtable.
    pub fn iter(&self) -> Iter<'_> {
        match self.0.get() {
            Ref::A(is) => Iter::Ints(is, 0),
            Ref::B(d) => Iter::Table(d.iter()),
        }
    }

    /// A random member, drawn uniformly.
    pub fn random<R: rand::Rng>(&self, rng: &mut R) -> Option<Member<'_>> {
        match self.0.get() {
            Ref::A(is) => {
                let n = is.len();
                if n == 0 {
                    None
                } else {
                    Some(Member::Int(is.get(rng.gen_range(0..n))))
                }
            }
            Ref::B(d) => d.fair_random(rng).map(|(k, _)| Member::Str(k)),
        }
    }
}

/// Iterator over a set's members.
pub enum Iter<'a> {
    Ints(&'a IntSet, usize),
    Table(super::dict::Iter<'a, ()>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = Member<'a>;
    fn next(&mut self) -> Option<Member<'a>> {
        match self {
            Iter::Ints(is, i) => {
                if *i >= is.len() {
                    return None;
                }
                let v = is.get(*i);
                *i += 1;
                Some(Member::Int(v))
            }
            Iter::Table(it) => it.next().map(|(k, _)| Member::Str(k)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_is_one_word() {
        assert_eq!(std::mem::size_of::<Set>(), 8);
    }

    #[test]
    fn intset_widths_and_order() {
        let mut s = IntSet::new();
        for v in [5, -3, 100, 7, 5] {
            s.insert(v);
        }
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![-3, 5, 7, 100]);
        assert_eq!(s.width(), 2);
        assert!(s.insert(70000));
        assert_eq!(s.width(), 4);
        assert!(s.insert(i64::MIN));
        assert_eq!(s.width(), 8);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![i64::MIN, -3, 5, 7, 100, 70000]);
        assert!(s.contains(70000) && !s.contains(70001) && s.contains(i64::MIN));
        assert!(s.remove(5) && !s.remove(5));
        assert!(s.remove(i64::MIN));
        assert_eq!(s.width(), 8);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![-3, 7, 100, 70000]);
        let mut t = IntSet::new();
        t.insert(1);
        assert!(!t.contains(1 << 40) && !t.contains(-(1 << 40)));
        assert!(!t.remove(1 << 40));
        assert!(t.insert(-(1 << 20)));
        assert_eq!(t.iter().collect::<Vec<_>>(), vec![-(1 << 20), 1]);
    }

    #[test]
    fn conversions() {
        let mut s = Set::for_first(b"1");
        assert_eq!(s.encoding(), "intset");
        for i in 0..3 {
            assert!(s.add(i.to_string().as_bytes(), 3));
        }
        assert_eq!(s.encoding(), "intset");
        assert!(s.add(b"3", 3));
        assert_eq!(s.encoding(), "hashtable");
        assert!(s.contains(b"2") && !s.contains(b"02"));
        let mut t = Set::for_first(b"1");
        assert!(t.add(b"1", 512) && t.add(b"01", 512));
        assert_eq!(t.encoding(), "hashtable");
        assert_eq!(t.len(), 2);
        assert!(t.remove(b"01"));
        assert_eq!(t.encoding(), "hashtable");
    }
}
