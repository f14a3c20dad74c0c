//! The sorted set type, in Redis's two encodings.
//!
//! `listpack`: one contiguous byte buffer of (member, score) entries sorted by
//! score then member, used while the set has at most zset-max-listpack-entries
//! members of at most zset-max-listpack-value bytes each. An entry is a varint
//! member length, the member bytes, then the score: a varint whose low bit is 0
//! for an integral score (zigzag integer in the upper bits, one byte for small
//! scores) or the varint 1 followed by the 8 bytes of the double. Integral scores
//! are stored as integers exactly where Redis's `d2string` prints them as
//! integers, so `-0` becomes `0` in this encoding, as in Redis.
//!
//! `skiplist`: a member→score hash table (`Dict<f64>`) for O(1) lookups plus an
//! order-statistic B+tree over (score, member) that gives Redis's skiplist
//! complexities: O(log N) insert, delete, rank and access by rank, and ordered
//! walks from any position. A set never converts back to `listpack`, except
//! that results built whole (ZUNIONSTORE, ZRANGESTORE...) pick their encoding
//! from their final size, as Redis does.

use super::dict::Dict;
use super::sbytes::SBytes;
use super::thin::{thin_word, Either, Mut, Ref, ThinBuf};
use super::varint;
use std::cmp::Ordering;

/// The conversion thresholds (zset-max-listpack-entries / -value).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub entries: usize,
    pub value: usize,
}

/// ZADD's input flags.
#[derive(Clone, Copy, Default, Debug)]
pub struct AddFlags {
    pub incr: bool,
    pub nx: bool,
    pub xx: bool,
    pub gt: bool,
    pub lt: bool,
}

/// What `ZSet::add` did (Redis's `zsetAdd` out flags).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AddOutcome {
    /// A new member was added with this score.
    Added(f64),
    /// An existing member got this new score.
    Updated(f64),
    /// The member exists and the (possibly incremented) score equals the old one.
    Unchanged(f64),
    /// Nothing done because of NX/XX/GT/LT.
    Nop,
    /// The increment produced NaN; nothing done.
    NaN,
}

/// Total order of entries: by score, then by member bytes (`-0` equals `0`).
#[inline]
fn cmp_entry(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> Ordering {
    if s1 < s2 {
        Ordering::Less
    } else if s1 > s2 {
        Ordering::Greater
    } else {
        m1.cmp(m2)
    }
}

// ---------------------------------------------------------------------------
// listpack encoding
// ---------------------------------------------------------------------------

/// The integer a score is stored as, where Redis's `d2string` would print one.
#[inline]
fn integral(s: f64) -> Option<i64> {
    if s > -4503599627370495.0 && s < 4503599627370496.0 && s == (s as i64) as f64 {
        Some(s as i64)
    } else {
        None
    }
}

/// The score as the listpack keeps it (`-0` becomes `0`).
#[inline]
fn pack_normalize(s: f64) -> f64 {
    if s == 0.0 {
        0.0
    } else {
        s
    }
}

/// Encodes an entry (a `-0` score is kept: the listpack normalizes before).
fn put_entry(out: &mut Vec<u8>, member: &[u8], score: f64) {
    varint::put(out, member.len() as u64);
    out.extend_from_slice(member);
    match integral(score).filter(|_| score != 0.0 || score.is_sign_positive()) {
        Some(i) => {
            let zz = ((i << 1) ^ (i >> 63)) as u64;
            varint::put(out, zz << 1);
        }
        None => {
            varint::put(out, 1);
            out.extend_from_slice(&score.to_le_bytes());
        }
    }
}

fn entry_size(member: &[u8], score: f64) -> usize {
    let mut v = Vec::with_capacity(24);
    varint::put(&mut v, member.len() as u64);
    match integral(score).filter(|_| score != 0.0 || score.is_sign_positive()) {
        Some(i) => varint::put(&mut v, (((i << 1) ^ (i >> 63)) as u64) << 1),
        None => v.extend_from_slice(&[0; 9]),
    }
    v.len() + member.len()
}

/// Decodes the entry at `pos`: (member, score, position after it).
fn get_entry(buf: &[u8], mut pos: usize) -> Option<(&[u8], f64, usize)> {
    let n = varint::read(buf, &mut pos)? as usize;
    let member = buf.get(pos..pos.checked_add(n)?)?;
    pos += n;
    let v = varint::read(buf, &mut pos)?;
    let score = if v & 1 == 0 {
        let zz = v >> 1;
        (((zz >> 1) as i64) ^ -((zz & 1) as i64)) as f64
    } else {
        let b: [u8; 8] = buf.get(pos..pos + 8)?.try_into().ok()?;
        pos += 8;
        f64::from_le_bytes(b)
    };
    Some((member, score, pos))
}

/// The compact encoding: entries sorted by (score, member) in one exact-size
/// buffer after a 2-byte entry count (`u16::MAX`: count by walking). An empty
/// pack allocates nothing; the pack is a one-word handle.
#[derive(Clone, Default)]
#[repr(transparent)]
struct Pack {
    buf: ThinBuf,
}

thin_word!(Pack);

/// Size of the pack's count header.
const PACK_HDR: usize = 2;

/// Walks the entries of a pack: (member, score, start offset, end offset).
struct PackIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for PackIter<'a> {
    type Item = (&'a [u8], f64, usize, usize);
    fn next(&mut self) -> Option<Self::Item> {
        let start = self.pos;
        let (m, s, end) = get_entry(self.buf, start)?;
        self.pos = end;
        Some((m, s, start, end))
    }
}

impl Pack {
    /// The encoded entries (offsets below are relative to this).
    #[inline]
    fn body(&self) -> &[u8] {
        self.buf.get(PACK_HDR..).unwrap_or(&[])
    }

    fn iter(&self) -> PackIter<'_> {
        PackIter { buf: self.body(), pos: 0 }
    }

    fn len(&self) -> usize {
        match self.buf.get(..PACK_HDR) {
            None => 0,
            Some(h) => match u16::from_le_bytes([h[0], h[1]]) {
                u16::MAX => self.iter().count(),
                n => n as usize,
            },
        }
    }

    /// Builds a pack from encoded entries.
    fn from_body(count: usize, body: &[u8]) -> Pack {
        Pack::from_parts(count, [body, &[], &[]])
    }

    /// A pack of `count` entries encoded in `parts` back to back, in one
    /// allocation.
    fn from_parts(count: usize, parts: [&[u8]; 3]) -> Pack {
        if count == 0 {
            return Pack::default();
        }
        let hdr = (count.min(u16::MAX as usize) as u16).to_le_bytes();
        Pack { buf: ThinBuf::concat(&[&hdr, parts[0], parts[1], parts[2]]) }
    }

    /// (index, start, end, score) of a member.
    fn find(&self, member: &[u8]) -> Option<(usize, usize, usize, f64)> {
        self.iter().enumerate().find(|(_, (m, ..))| *m == member).map(|(i, (_, s, a, b))| (i, a, b, s))
    }

    /// Replaces body bytes `a..b` with `with`, the count changing to `count`.
    fn splice(&mut self, a: usize, b: usize, with: &[u8], count: usize) {
        let body = self.body();
        *self = Pack::from_parts(count, [&body[..a], with, &body[b..]]);
    }

    /// Inserts a member known to be absent at its sorted place.
    fn insert(&mut self, member: &[u8], score: f64) {
        let score = pack_normalize(score);
        let at = self
            .iter()
            .find(|(m, s, ..)| cmp_entry(*s, m, score, member) == Ordering::Greater)
            .map(|(.., a, _)| a)
            .unwrap_or(self.body().len());
        let mut e = Vec::with_capacity(entry_size(member, score));
        put_entry(&mut e, member, score);
        let n = self.len() + 1;
        self.splice(at, at, &e, n);
    }

    fn remove_bytes(&mut self, a: usize, b: usize, n: usize) {
        let left = self.len() - n;
        self.splice(a, b, &[], left);
    }

    /// Byte offsets of the entries of ranks `start..start+count`.
    fn rank_span(&self, start: usize, count: usize) -> Option<(usize, usize)> {
        if count == 0 {
            return None;
        }
        let mut it = self.iter().skip(start);
        let (.., a, mut b) = it.next()?;
        for _ in 1..count {
            match it.next() {
                Some((.., e)) => b = e,
                None => break,
            }
        }
        Some((a, b))
    }
}

// ---------------------------------------------------------------------------
// Order-statistic B+tree
// ---------------------------------------------------------------------------

/// Leaf limits: entries, and bytes (a leaf with several entries splits past
/// this size, so big members never make big copies). Tiny under unit tests,
/// so that they build deep trees.
#[cfg(not(test))]
const LEAF_CAP: usize = 64;
#[cfg(not(test))]
const LEAF_BYTES: usize = 1024;
#[cfg(not(test))]
const INNER_CAP: usize = 64;
#[cfg(test)]
const LEAF_CAP: usize = 4;
#[cfg(test)]
const LEAF_BYTES: usize = 40;
#[cfg(test)]
const INNER_CAP: usize = 4;

/// A separator key of an inner node.
#[derive(Clone)]
struct Item {
    score: f64,
    member: SBytes,
}

impl Item {
    #[inline]
    fn cmp_to(&self, score: f64, member: &[u8]) -> Ordering {
        cmp_entry(self.score, &self.member, score, member)
    }
}

/// Inserts `data` at `at`, growing the buffer by about an eighth when full
/// (not doubling: leaves stay close to their exact size).
fn insert_bytes(buf: &mut Vec<u8>, at: usize, data: &[u8]) {
    if buf.capacity() - buf.len() < data.len() {
        buf.reserve_exact(data.len().max(buf.len() / 8));
    }
    buf.extend_from_slice(data);
    buf[at..].rotate_right(data.len());
}

/// Removes bytes `a..b`, giving memory back once a buffer is mostly slack.
fn remove_bytes(buf: &mut Vec<u8>, a: usize, b: usize) {
    buf.drain(a..b);
    if buf.capacity() > 64 && buf.capacity() > buf.len() + buf.len() / 2 {
        *buf = buf.as_slice().to_vec();
    }
}

/// A leaf: `n` entries sorted by (score, member) in one buffer, encoded as in
/// the listpack (but keeping `-0`).
#[derive(Clone, Default)]
struct Leaf {
    buf: Vec<u8>,
    n: usize,
}

impl Leaf {
    fn iter(&self) -> PackIter<'_> {
        PackIter { buf: &self.buf, pos: 0 }
    }

    /// (index, byte offset) of the first entry not below (score, member), and
    /// the end offset of that entry when it is equal.
    fn seek(&self, score: f64, member: &[u8]) -> (usize, usize, Option<usize>) {
        for (i, (m, s, a, b)) in self.iter().enumerate() {
            match cmp_entry(s, m, score, member) {
                Ordering::Less => {}
                Ordering::Equal => return (i, a, Some(b)),
                Ordering::Greater => return (i, a, None),
            }
        }
        (self.n, self.buf.len(), None)
    }

    fn first_item(&self) -> Option<Item> {
        self.iter().next().map(|(m, s, ..)| Item { score: s, member: SBytes::new(m) })
    }

    /// Splits off the upper half (by count, or by bytes for a leaf over its byte size).
    fn split_half(&mut self) -> Leaf {
        let mut cut = (self.n / 2, 0);
        if self.n <= LEAF_CAP {
            let half = self.buf.len() / 2;
            for (i, (.., a, _)) in self.iter().enumerate() {
                cut = (i, a);
                if a >= half {
                    break;
                }
            }
            cut.0 = cut.0.clamp(1, self.n.saturating_sub(1).max(1));
        }
        let at = self.iter().nth(cut.0).map(|(.., a, _)| a).unwrap_or(self.buf.len());
        let right = Leaf { buf: self.buf[at..].to_vec(), n: self.n - cut.0 };
        self.buf = self.buf[..at].to_vec();
        self.n = cut.0;
        right
    }
}

#[derive(Clone)]
enum Node {
    Leaf(Leaf),
    Inner(Box<Inner>),
}

/// An inner node: `children[i]` holds `sizes[i]` entries; every entry of
/// `children[..=i]` sorts before `seps[i]`, every entry of `children[i+1..]` at or after it.
#[derive(Clone)]
struct Inner {
    seps: Vec<Item>,
    children: Vec<Node>,
    sizes: Vec<usize>,
}

/// Where to remove: by entry or by rank.
#[derive(Clone, Copy)]
enum Loc<'a> {
    Key(f64, &'a [u8]),
    Rank(usize),
}

impl Inner {
    /// The child that holds (or would hold) an entry.
    fn child_for(&self, score: f64, member: &[u8]) -> usize {
        self.seps.partition_point(|s| s.cmp_to(score, member) != Ordering::Greater)
    }

    /// The child holding rank `r`, and the rank inside it.
    fn child_at(&self, mut r: usize) -> Option<(usize, usize)> {
        for (i, &n) in self.sizes.iter().enumerate() {
            if r < n {
                return Some((i, r));
            }
            r -= n;
        }
        None
    }

    /// Merges child `c` with a neighbour and splits again if too big. Leaves
    /// are only merged when the result fits (so a leaf holding a big member is
    /// not copied back and forth); an underfull leaf is otherwise left as is.
    fn fix(&mut self, c: usize) {
        if self.children.len() < 2 {
            return;
        }
        let pairs = [c.checked_sub(1), (c + 1 < self.children.len()).then_some(c)];
        let Some(l) = pairs.into_iter().flatten().find(|&l| match (&self.children[l], &self.children[l + 1]) {
            (Node::Leaf(a), Node::Leaf(b)) => {
                let n = a.n + b.n;
                n <= LEAF_CAP && (n <= 1 || a.buf.len() + b.buf.len() <= LEAF_BYTES)
            }
            _ => true,
        }) else {
            return;
        };
        let right = self.children.remove(l + 1);
        let rsize = self.sizes.remove(l + 1);
        let sep = self.seps.remove(l);
        self.sizes[l] += rsize;
        match (&mut self.children[l], right) {
            (Node::Leaf(a), Node::Leaf(b)) => {
                a.buf.reserve_exact(b.buf.len());
                a.buf.extend_from_slice(&b.buf);
                a.n += b.n;
            }
            (Node::Inner(a), Node::Inner(b)) => {
                let b = *b;
                a.seps.push(sep);
                a.seps.extend(b.seps);
                a.children.extend(b.children);
                a.sizes.extend(b.sizes);
            }
            _ => unreachable!("siblings of one B-tree node have the same height"),
        }
        if self.children[l].over() {
            if let Some((sep, right)) = self.children[l].split_half() {
                let rs = right.size();
                self.sizes[l] -= rs;
                self.seps.insert(l, sep);
                self.children.insert(l + 1, right);
                self.sizes.insert(l + 1, rs);
            }
        }
    }
}

impl Node {
    fn size(&self) -> usize {
        match self {
            Node::Leaf(l) => l.n,
            Node::Inner(n) => n.sizes.iter().sum(),
        }
    }

    fn over(&self) -> bool {
        match self {
            Node::Leaf(l) => l.n > LEAF_CAP || (l.buf.len() > LEAF_BYTES && l.n > 1),
            Node::Inner(n) => n.children.len() > INNER_CAP,
        }
    }

    fn under(&self) -> bool {
        match self {
            Node::Leaf(l) => l.n < LEAF_CAP / 2 && l.buf.len() < LEAF_BYTES / 2,
            Node::Inner(n) => n.children.len() < INNER_CAP / 2,
        }
    }

    /// Splits in two halves: (separator, right half); None if it cannot split.
    fn split_half(&mut self) -> Option<(Item, Node)> {
        match self {
            Node::Leaf(l) => {
                if l.n < 2 {
                    return None;
                }
                let right = l.split_half();
                Some((right.first_item()?, Node::Leaf(right)))
            }
            Node::Inner(n) => {
                let mid = n.children.len() / 2;
                let children = n.children.split_off(mid);
                let sizes = n.sizes.split_off(mid);
                let mut seps = n.seps.split_off(mid - 1);
                let up = seps.remove(0);
                Some((up, Node::Inner(Box::new(Inner { seps, children, sizes }))))
            }
        }
    }

    /// Inserts an entry known to be absent; returns the split-off right part if
    /// the node overflowed.
    fn insert(&mut self, score: f64, member: &[u8], enc: &[u8]) -> Option<(Item, Node)> {
        match self {
            Node::Leaf(l) => {
                let (_, at, _) = l.seek(score, member);
                insert_bytes(&mut l.buf, at, enc);
                l.n += 1;
            }
            Node::Inner(n) => {
                let c = n.child_for(score, member);
                n.sizes[c] += 1;
                if let Some((sep, right)) = n.children[c].insert(score, member, enc) {
                    let rs = right.size();
                    n.sizes[c] -= rs;
                    n.seps.insert(c, sep);
                    n.children.insert(c + 1, right);
                    n.sizes.insert(c + 1, rs);
                }
            }
        }
        if self.over() {
            self.split_half()
        } else {
            None
        }
    }

    fn remove(&mut self, loc: Loc) -> Option<(SBytes, f64)> {
        match self {
            Node::Leaf(l) => {
                let (a, b) = match loc {
                    Loc::Key(s, m) => match l.seek(s, m) {
                        (_, a, Some(b)) => (a, b),
                        _ => return None,
                    },
                    Loc::Rank(r) => l.iter().nth(r).map(|(.., a, b)| (a, b))?,
                };
                let (m, s, _) = get_entry(&l.buf, a)?;
                let out = (SBytes::new(m), s);
                remove_bytes(&mut l.buf, a, b);
                l.n -= 1;
                Some(out)
            }
            Node::Inner(n) => {
                let (c, sub) = match loc {
                    Loc::Key(s, m) => (n.child_for(s, m), loc),
                    Loc::Rank(r) => {
                        let (c, r) = n.child_at(r)?;
                        (c, Loc::Rank(r))
                    }
                };
                let it = n.children[c].remove(sub)?;
                n.sizes[c] -= 1;
                if n.children[c].under() {
                    n.fix(c);
                }
                Some(it)
            }
        }
    }

    fn rank(&self, score: f64, member: &[u8]) -> Option<usize> {
        match self {
            Node::Leaf(l) => match l.seek(score, member) {
                (i, _, Some(_)) => Some(i),
                _ => None,
            },
            Node::Inner(n) => {
                let c = n.child_for(score, member);
                let before: usize = n.sizes[..c].iter().sum();
                n.children[c].rank(score, member).map(|r| before + r)
            }
        }
    }

    fn get(&self, r: usize) -> Option<(&[u8], f64)> {
        match self {
            Node::Leaf(l) => l.iter().nth(r).map(|(m, s, ..)| (m, s)),
            Node::Inner(n) => {
                let (c, r) = n.child_at(r)?;
                n.children[c].get(r)
            }
        }
    }

    /// How many leading entries satisfy `pred` (which must hold on a prefix).
    fn lead(&self, pred: &mut dyn FnMut(f64, &[u8]) -> bool) -> usize {
        match self {
            Node::Leaf(l) => l.iter().take_while(|(m, s, ..)| pred(*s, m)).count(),
            Node::Inner(n) => {
                let c = n.seps.partition_point(|s| pred(s.score, &s.member));
                let before: usize = n.sizes[..c].iter().sum();
                before + n.children[c].lead(pred)
            }
        }
    }

    /// Visits entries from rank `start` onwards; stops when `f` returns false.
    fn walk_fwd<'a>(&'a self, start: usize, f: &mut dyn FnMut(&'a [u8], f64) -> bool) -> bool {
        match self {
            Node::Leaf(l) => l.iter().skip(start).all(|(m, s, ..)| f(m, s)),
            Node::Inner(n) => {
                let mut s = start;
                for (i, ch) in n.children.iter().enumerate() {
                    if s >= n.sizes[i] {
                        s -= n.sizes[i];
                        continue;
                    }
                    if !ch.walk_fwd(s, f) {
                        return false;
                    }
                    s = 0;
                }
                true
            }
        }
    }

    /// Visits entries from rank `pos` down to rank 0; stops when `f` returns
    /// false. `offs` is scratch space for a leaf's entry offsets.
    fn walk_rev<'a>(&'a self, pos: usize, f: &mut dyn FnMut(&'a [u8], f64) -> bool, offs: &mut Vec<usize>) -> bool {
        match self {
            Node::Leaf(l) => {
                offs.clear();
                offs.extend(l.iter().take(pos.saturating_add(1)).map(|(.., a, _)| a));
                for &a in offs.iter().rev() {
                    let Some((m, s, _)) = get_entry(&l.buf, a) else { continue };
                    if !f(m, s) {
                        return false;
                    }
                }
                true
            }
            Node::Inner(n) => {
                let Some((c, r)) = n.child_at(pos) else { return true };
                if !n.children[c].walk_rev(r, f, offs) {
                    return false;
                }
                for i in (0..c).rev() {
                    if n.sizes[i] > 0 && !n.children[i].walk_rev(n.sizes[i] - 1, f, offs) {
                        return false;
                    }
                }
                true
            }
        }
    }
}

/// The ordered half of the `skiplist` encoding.
#[derive(Clone)]
struct Tree {
    root: Node,
    len: usize,
}

impl Tree {
    fn new() -> Self {
        Tree { root: Node::Leaf(Leaf::default()), len: 0 }
    }

    fn insert(&mut self, score: f64, member: &[u8]) {
        self.len += 1;
        let mut enc = Vec::with_capacity(member.len() + 12);
        put_entry(&mut enc, member, score);
        if let Some((sep, right)) = self.root.insert(score, member, &enc) {
            let left = std::mem::replace(&mut self.root, Node::Leaf(Leaf::default()));
            let sizes = vec![left.size(), right.size()];
            self.root = Node::Inner(Box::new(Inner { seps: vec![sep], children: vec![left, right], sizes }));
        }
    }

    fn remove(&mut self, loc: Loc) -> Option<(SBytes, f64)> {
        let it = self.root.remove(loc)?;
        self.len -= 1;
        loop {
            let collapse = matches!(&self.root, Node::Inner(n) if n.children.len() == 1);
            if !collapse {
                break;
            }
            if let Node::Inner(n) = std::mem::replace(&mut self.root, Node::Leaf(Leaf::default())) {
                let mut n = *n;
                self.root = n.children.pop().unwrap_or(Node::Leaf(Leaf::default()));
            }
        }
        Some(it)
    }
}

/// The `skiplist` encoding: a member→score table and the ordered tree.
struct Big {
    dict: Dict<f64>,
    tree: Tree,
}

impl Clone for Big {
    fn clone(&self) -> Self {
        Big { dict: self.dict.clone(), tree: self.tree.clone() }
    }
}

impl Big {
    fn new() -> Self {
        Big { dict: Dict::new(), tree: Tree::new() }
    }

    fn insert_new(&mut self, member: &[u8], score: f64) {
        self.dict.insert_new(member, score);
        self.tree.insert(score, member);
    }
}

// ---------------------------------------------------------------------------
// The sorted set
// ---------------------------------------------------------------------------

/// A pack, or a boxed dict and tree, in one word.
type Repr = Either<Pack, Big>;

/// A zset value.
#[derive(Clone)]
pub struct ZSet {
    repr: Repr,
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet { repr: Either::a(Pack::default()) }
    }
}

impl ZSet {
    /// An empty set in the encoding ZADD creates for a first member of
    /// `first_len` bytes.
    pub fn new_for(first_len: usize, lim: Limits) -> ZSet {
        if lim.entries == 0 || first_len > lim.value {
            ZSet { repr: Either::b(Box::new(Big::new())) }
        } else {
            ZSet::default()
        }
    }

    /// An empty set for about `n` members (Redis's `zsetTypeCreate`):
    /// `skiplist` from the start when `n` exceeds zset-max-listpack-entries.
    pub fn with_size_hint(n: usize, lim: Limits) -> ZSet {
        if n <= lim.entries {
            ZSet::default()
        } else {
            ZSet { repr: Either::b(Box::new(Big::new())) }
        }
    }

    /// Builds a set from entries sorted by (score, member) without duplicates,
    /// in `listpack` when it fits the limits (how stored results are built).
    pub fn from_sorted(items: Vec<(SBytes, f64)>, lim: Limits) -> ZSet {
        let maxlen = items.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
        if items.len() <= lim.entries && maxlen <= lim.value {
            let total: usize = items.iter().map(|(m, s)| entry_size(m, pack_normalize(*s))).sum();
            let mut body = Vec::with_capacity(total);
            for (m, s) in &items {
                put_entry(&mut body, m, pack_normalize(*s));
            }
            ZSet { repr: Either::a(Pack::from_body(items.len(), &body)) }
        } else {
            let mut b = Big::new();
            for (m, s) in items {
                b.tree.insert(s, &m);
                b.dict.insert_new(m, s);
            }
            ZSet { repr: Either::b(Box::new(b)) }
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match self.repr.get() {
            Ref::A(p) => p.len(),
            Ref::B(b) => b.tree.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// DEBUG HTSTATS-KEY's statistics, for the skiplist encoding (its
    /// member-to-score table).
    pub fn table_stats(&self) -> Option<String> {
        match self.repr.get() {
            Ref::B(b) => Some(b.dict.stats()),
            Ref::A(_) => None,
        }
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match self.repr.get() {
            Ref::A(_) => "listpack",
            Ref::B(_) => "skiplist",
        }
    }

    /// Heap bytes owned (for MEMORY USAGE and lazy freeing decisions).
    pub fn heap_size(&self) -> usize {
        match self.repr.get() {
            Ref::A(p) => p.buf.alloc_size(),
            Ref::B(b) => {
                // An O(1) estimate: a table node and bucket per member, and a
                // leaf entry of a short member (long members' bytes not counted).
                let node = Dict::<f64>::entry_bytes(8);
                let slot = 24;
                std::mem::size_of::<Big>()
                    + b.dict.buckets() * std::mem::size_of::<usize>()
                    + b.tree.len * (node + slot)
            }
        }
    }

    /// The score of a member.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match self.repr.get() {
            Ref::A(p) => p.find(member).map(|(.., s)| s),
            Ref::B(b) => b.dict.get(member).copied(),
        }
    }

    fn convert(&mut self) {
        if let Ref::A(p) = self.repr.get() {
            let mut b = Big::new();
            for (m, s, ..) in p.iter() {
                b.insert_new(m, s);
            }
            self.repr = Either::b(Box::new(b));
        }
    }

    /// Redis's `zsetAdd`: adds, updates or increments one member under the
    /// NX/XX/GT/LT/INCR rules, converting to `skiplist` past the limits.
    pub fn add(&mut self, member: &[u8], score: f64, f: AddFlags, lim: Limits) -> AddOutcome {
        if score.is_nan() {
            return AddOutcome::NaN;
        }
        if let Some(cur) = self.score(member) {
            if f.nx {
                return AddOutcome::Nop;
            }
            let mut score = score;
            if f.incr {
                score += cur;
                if score.is_nan() {
                    return AddOutcome::NaN;
                }
            }
            if (f.lt && score >= cur) || (f.gt && score <= cur) {
                return AddOutcome::Nop;
            }
            if score == cur {
                return AddOutcome::Unchanged(score);
            }
            match self.repr.get_mut() {
                Mut::A(p) => {
                    if let Some((_, a, b, _)) = p.find(member) {
                        p.remove_bytes(a, b, 1);
                    }
                    p.insert(member, score);
                }
                Mut::B(b) => {
                    if b.tree.remove(Loc::Key(cur, member)).is_some() {
                        b.tree.insert(score, member);
                    }
                    if let Some(v) = b.dict.get_mut(member) {
                        *v = score;
                    }
                }
            }
            return AddOutcome::Updated(score);
        }
        if f.xx {
            return AddOutcome::Nop;
        }
        if let Ref::A(p) = self.repr.get() {
            if p.len() + 1 > lim.entries || member.len() > lim.value {
                self.convert();
            }
        }
        match self.repr.get_mut() {
            Mut::A(p) => p.insert(member, score),
            Mut::B(b) => b.insert_new(member, score),
        }
        AddOutcome::Added(score)
    }

    /// Removes a member; true when it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self.repr.get_mut() {
            Mut::A(p) => match p.find(member) {
                Some((_, a, b, _)) => {
                    p.remove_bytes(a, b, 1);
                    true
                }
                None => false,
            },
            Mut::B(b) => match b.dict.remove(member) {
                Some(s) => {
                    b.tree.remove(Loc::Key(s, member));
                    true
                }
                None => false,
            },
        }
    }

    /// The 0-based ascending rank of a member.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        match self.repr.get() {
            Ref::A(p) => p.find(member).map(|(i, ..)| i),
            Ref::B(b) => {
                let s = *b.dict.get(member)?;
                b.tree.root.rank(s, member)
            }
        }
    }

    /// The member and score at an ascending rank.
    pub fn get(&self, rank: usize) -> Option<(&[u8], f64)> {
        match self.repr.get() {
            Ref::A(p) => p.iter().nth(rank).map(|(m, s, ..)| (m, s)),
            Ref::B(b) => b.tree.root.get(rank),
        }
    }

    /// Visits members from rank `start` towards the end (or, with `rev`, towards
    /// rank 0) until `f` returns false.
    pub fn walk<'s>(&'s self, start: usize, rev: bool, mut f: impl FnMut(&'s [u8], f64) -> bool) {
        match self.repr.get() {
            Ref::A(p) => {
                if rev {
                    let all: Vec<(&[u8], f64)> =
                        p.iter().take(start.saturating_add(1)).map(|(m, s, ..)| (m, s)).collect();
                    for &(m, s) in all.iter().rev() {
                        if !f(m, s) {
                            return;
                        }
                    }
                } else {
                    for (m, s, ..) in p.iter().skip(start) {
                        if !f(m, s) {
                            return;
                        }
                    }
                }
            }
            Ref::B(b) => {
                if rev {
                    if start < b.tree.len {
                        b.tree.root.walk_rev(start, &mut f, &mut Vec::new());
                    }
                } else {
                    b.tree.root.walk_fwd(start, &mut f);
                }
            }
        }
    }

    /// Number of leading members (in ascending order) for which `pred` holds.
    /// In `listpack` this scans like Redis; in `skiplist` it assumes `pred`
    /// holds on a prefix (true of every score bound, and of lex bounds when all
    /// scores are equal, the case Redis defines).
    pub fn lead(&self, mut pred: impl FnMut(f64, &[u8]) -> bool) -> usize {
        match self.repr.get() {
            Ref::A(p) => p.iter().take_while(|(m, s, ..)| pred(*s, m)).count(),
            Ref::B(b) => b.tree.root.lead(&mut pred),
        }
    }

    /// Number of trailing members for which `pred` holds (see `lead`).
    pub fn trail(&self, mut pred: impl FnMut(f64, &[u8]) -> bool) -> usize {
        match self.repr.get() {
            Ref::A(p) => {
                let mut n = 0;
                for (m, s, ..) in p.iter() {
                    n = if pred(s, m) { n + 1 } else { 0 };
                }
                n
            }
            Ref::B(b) => b.tree.len - b.tree.root.lead(&mut |s, m| !pred(s, m)),
        }
    }

    /// Removes `count` members starting at ascending rank `start`; returns how many.
    pub fn remove_ranks(&mut self, start: usize, count: usize) -> usize {
        let count = count.min(self.len().saturating_sub(start));
        if count == 0 {
            return 0;
        }
        match self.repr.get_mut() {
            Mut::A(p) => {
                if let Some((a, b)) = p.rank_span(start, count) {
                    p.remove_bytes(a, b, count);
                }
            }
            Mut::B(b) => {
                for _ in 0..count {
                    if let Some((m, _)) = b.tree.remove(Loc::Rank(start)) {
                        b.dict.remove(&m);
                    }
                }
            }
        }
        count
    }

    /// Removes and returns the lowest (or, with `max`, the highest) member.
    pub fn pop(&mut self, max: bool) -> Option<(Vec<u8>, f64)> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        let r = if max { n - 1 } else { 0 };
        let (m, s) = self.get(r).map(|(m, s)| (m.to_vec(), s))?;
        self.remove_ranks(r, 1);
        Some((m, s))
    }

    /// One step of ZSCAN: the `skiplist` encoding scans its table with Redis's
    /// cursor; `listpack` returns everything at once with cursor 0 (as Redis).
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], f64)) -> u64 {
        match self.repr.get() {
            Ref::A(p) => {
                for (m, s, ..) in p.iter() {
                    f(m, s);
                }
                0
            }
            Ref::B(b) => {
                let mut cursor = cursor;
                let mut found = 0usize;
                let mut budget = count.saturating_mul(10);
                loop {
                    cursor = b.dict.scan(cursor, |k, v| {
                        found += 1;
                        f(k, *v)
                    });
                    if cursor == 0 || budget == 0 || found >= count {
                        break;
                    }
                    budget -= 1;
                }
                cursor
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    const BIG: Limits = Limits { entries: 0, value: 0 };
    const SMALL: Limits = Limits { entries: 1 << 20, value: 1 << 20 };

    #[test]
    fn a_zset_is_one_word() {
        assert_eq!(std::mem::size_of::<ZSet>(), 8);
    }

    fn all(z: &ZSet) -> Vec<(Vec<u8>, f64)> {
        let mut v = Vec::new();
        z.walk(0, false, |m, s| {
            v.push((m.to_vec(), s));
            true
        });
        v
    }

    /// Checks the B+tree invariants: sizes, order, separators, fill, equal depth.
    fn check_node(n: &Node, root: bool) -> (usize, usize) {
        match n {
            Node::Leaf(l) => {
                assert!(l.n <= LEAF_CAP, "overfull leaf");
                let v: Vec<(Vec<u8>, f64)> = l.iter().map(|(m, s, ..)| (m.to_vec(), s)).collect();
                assert_eq!(v.len(), l.n);
                assert!(v.windows(2).all(|w| cmp_entry(w[0].1, &w[0].0, w[1].1, &w[1].0) == Ordering::Less));
                (l.n, 1)
            }
            Node::Inner(i) => {
                assert!(i.children.len() >= if root { 2 } else { INNER_CAP / 2 }, "underfull inner node");
                assert!(i.children.len() <= INNER_CAP);
                assert_eq!(i.seps.len() + 1, i.children.len());
                let mut depth = None;
                let mut total = 0;
                for (c, ch) in i.children.iter().enumerate() {
                    let (n, d) = check_node(ch, false);
                    assert_eq!(n, i.sizes[c]);
                    assert!(depth.is_none() || depth == Some(d));
                    depth = Some(d);
                    total += n;
                    let mut items = Vec::new();
                    ch.walk_fwd(0, &mut |m, s| {
                        items.push((m.to_vec(), s));
                        true
                    });
                    if c > 0 {
                        let s = &i.seps[c - 1];
                        assert!(items.iter().all(|x| s.cmp_to(x.1, &x.0) != Ordering::Greater));
                    }
                    if c < i.seps.len() {
                        let s = &i.seps[c];
                        assert!(items.iter().all(|x| cmp_entry(x.1, &x.0, s.score, &s.member) == Ordering::Less));
                    }
                }
                (total, depth.unwrap_or(0) + 1)
            }
        }
    }

    #[test]
    fn deep_tree_grows_and_shrinks() {
        let mut z = ZSet::new_for(0, BIG);
        for i in 0..5000u32 {
            let m = format!("m{}", (i * 7919) % 5000);
            z.add(m.as_bytes(), (i % 97) as f64, AddFlags::default(), BIG);
        }
        let Ref::B(b) = z.repr.get() else { panic!("skiplist expected") };
        let (n, depth) = check_node(&b.tree.root, true);
        assert_eq!(n, 5000);
        assert!(depth >= 5, "depth {depth}");
        assert_eq!(z.remove_ranks(1000, 3000), 3000);
        for i in 0..5000u32 {
            z.remove(format!("m{}", (i * 13) % 5000).as_bytes());
            if i % 500 == 0 {
                let Ref::B(b) = z.repr.get() else { panic!("skiplist expected") };
                assert_eq!(check_node(&b.tree.root, true).0, z.len());
            }
        }
        assert!(z.is_empty());
        assert!(z.pop(false).is_none());
        z.add(b"again", 1.0, AddFlags::default(), BIG);
        assert_eq!(z.pop(true), Some((b"again".to_vec(), 1.0)));
    }

    #[test]
    fn pack_scores_roundtrip() {
        let mut z = ZSet::default();
        let scores = [0.0, -0.0, 1.0, -1.0, 1.5, 1e300, -1e-300, f64::INFINITY, f64::NEG_INFINITY, 4503599627370496.0];
        for (i, s) in scores.iter().enumerate() {
            z.add(format!("m{i}").as_bytes(), *s, AddFlags::default(), SMALL);
        }
        for (i, s) in scores.iter().enumerate() {
            let got = z.score(format!("m{i}").as_bytes()).unwrap();
            assert_eq!(got, *s);
        }
        assert_eq!(z.score(b"m1").unwrap().to_bits(), 0.0f64.to_bits());
        let mut big = ZSet::new_for(0, BIG);
        for (i, s) in scores.iter().enumerate() {
            big.add(format!("m{i}").as_bytes(), *s, AddFlags::default(), BIG);
        }
        for (i, s) in scores.iter().enumerate() {
            let mut got = None;
            let r = big.rank(format!("m{i}").as_bytes()).unwrap();
            big.walk(r, false, |_, s| {
                got = Some(s);
                false
            });
            assert_eq!(got.unwrap().to_bits(), s.to_bits());
        }
    }

    #[test]
    fn tree_matches_model() {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        for lim in [BIG, SMALL] {
            let mut z = ZSet::new_for(0, lim);
            let mut model: std::collections::BTreeMap<Vec<u8>, f64> = Default::default();
            for step in 0..20000 {
                let k = rng.gen_range(0..3000);
                let m = if k % 5 == 0 { format!("k{k}{}", "x".repeat(k % 97)) } else { format!("k{k}") }.into_bytes();
                let op = rng.gen_range(0..10);
                if op < 6 {
                    let s = rng.gen_range(0..500) as f64;
                    z.add(&m, s, AddFlags::default(), lim);
                    model.insert(m, s);
                } else if op < 9 {
                    assert_eq!(z.remove(&m), model.remove(&m).is_some());
                } else if !model.is_empty() {
                    let r = rng.gen_range(0..model.len());
                    let n = rng.gen_range(0..20);
                    let mut sorted: Vec<(Vec<u8>, f64)> = model.iter().map(|(k, v)| (k.clone(), *v)).collect();
                    sorted.sort_by(|a, b| cmp_entry(a.1, &a.0, b.1, &b.0));
                    let removed = z.remove_ranks(r, n);
                    for (k, _) in sorted.iter().skip(r).take(removed) {
                        model.remove(k);
                    }
                }
                if let Ref::B(b) = z.repr.get() {
                    if step % 101 == 0 {
                        assert_eq!(check_node(&b.tree.root, true).0, model.len());
                    }
                }
                if step % 997 == 0 || step == 19999 {
                    let mut sorted: Vec<(Vec<u8>, f64)> = model.iter().map(|(k, v)| (k.clone(), *v)).collect();
                    sorted.sort_by(|a, b| cmp_entry(a.1, &a.0, b.1, &b.0));
                    assert_eq!(all(&z), sorted);
                    assert_eq!(z.len(), sorted.len());
                    for (i, (k, s)) in sorted.iter().enumerate() {
                        assert_eq!(z.rank(k), Some(i));
                        assert_eq!(z.get(i).map(|(m, s)| (m.to_vec(), s)), Some((k.clone(), *s)));
                    }
                    let lead = z.lead(|s, _| s < 250.0);
                    assert_eq!(lead, sorted.iter().filter(|x| x.1 < 250.0).count());
                    let trail = z.trail(|s, _| s > 100.0);
                    assert_eq!(trail, sorted.iter().filter(|x| x.1 > 100.0).count());
                    if !sorted.is_empty() {
                        let p = sorted.len() / 2;
                        let mut rev = Vec::new();
                        z.walk(p, true, |m, s| {
                            rev.push((m.to_vec(), s));
                            true
                        });
                        let want: Vec<_> = sorted[..=p].iter().rev().cloned().collect();
                        assert_eq!(rev, want);
                    }
                }
            }
        }
    }
}
