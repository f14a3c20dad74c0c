//! The list type, laid out like Redis's quicklist: a deque of nodes, each node
//! one contiguous byte buffer of compactly encoded elements (a listpack-like
//! format of our own), bounded by `list-max-listpack-size` (negative: a byte
//! limit of 4/8/16/32/64 KB per node; positive: an element count, never more
//! than 8 KB). Pushes and pops at either end touch one node; positional
//! operations walk node counts from the nearer end, then entries inside one
//! small node. Redis 7.0 reports every list as `quicklist`. With
//! `list-compress-depth` d > 0, nodes more than d from either end are kept
//! LZF-compressed, as in Redis (see `List`).
//!
//! Entry format: a header, the payload, then a back-length (the size of header
//! plus payload, 7 bits per byte, read right to left) so a node can be walked
//! in both directions. Strings that are canonical decimal integers are stored
//! as integers (1 to 9 bytes); since only canonical forms are converted, an
//! element always reads back byte for byte as it was written.
//!
//! | header | meaning |
//! |---|---|
//! | `0xxxxxxx` | integer 0..127 |
//! | `10llllll` | string of 0..63 bytes |
//! | `110iiiii i8` | 13-bit signed integer |
//! | `1110llll l8` | string of up to 4095 bytes |
//! | `F0 u32` / `F5 u64` | string with a 32/64-bit length |
//! | `F1`..`F4` | 16/24/32/64-bit signed integer |

use std::collections::VecDeque;

/// Byte limits per node for `list-max-listpack-size` -1..-5.
const BYTE_LIMITS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// Byte limit of a node when the fill is an element count (Redis's safety limit).
const SAFETY_LIMIT: usize = 8192;

/// One element as stored: an integer (from a canonical decimal string) or bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Item<'_> {
    /// The element's bytes, as the client wrote them.
    pub fn to_vec(&self) -> Vec<u8> {
        match *self {
            Item::Int(n) => itoa::Buffer::new().format(n).as_bytes().to_vec(),
            Item::Str(s) => s.to_vec(),
        }
    }

    /// True when the element equals the needle's bytes.
    #[inline]
    pub fn matches(&self, n: &Needle) -> bool {
        match *self {
            Item::Int(v) => n.int == Some(v),
            Item::Str(s) => n.int.is_none() && s == n.bytes,
        }
    }
}

/// A client value prepared for comparisons with stored elements.
pub struct Needle<'a> {
    bytes: &'a [u8],
    int: Option<i64>,
}

impl<'a> Needle<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Needle { bytes, int: as_int(bytes) }
    }
}

/// The integer a string is stored as, when it is one in canonical form.
#[inline]
fn as_int(b: &[u8]) -> Option<i64> {
    // parse_i64 is strict (no sign `+`, no leading zeros, no `-0`), so the
    // integer formats back to exactly these bytes.
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    crate::util::parse_i64(b)
}

// ---------------------------------------------------------------------------
// Entry encoding
// ---------------------------------------------------------------------------

/// An element encoded as header (integers are all header) plus payload.
struct Enc<'a> {
    head: [u8; 9],
    hlen: usize,
    body: &'a [u8],
}

impl Enc<'_> {
    /// Header plus payload.
    #[inline]
    fn len(&self) -> usize {
        self.hlen + self.body.len()
    }

    /// Bytes the entry occupies in a node (with its back-length).
    #[inline]
    fn size(&self) -> usize {
        let l = self.len();
        l + backlen_size(l)
    }

    /// Writes the entry into `dst`, which is exactly `size()` bytes.
    fn write(&self, dst: &mut [u8]) {
        dst[..self.hlen].copy_from_slice(&self.head[..self.hlen]);
        let l = self.len();
        dst[self.hlen..l].copy_from_slice(self.body);
        write_backlen(&mut dst[l..], l);
    }
}

fn encode(v: &[u8]) -> Enc<'_> {
    let mut head = [0u8; 9];
    if let Some(n) = as_int(v) {
        let hlen = if (0..=127).contains(&n) {
            head[0] = n as u8;
            1
        } else if (-4096..=4095).contains(&n) {
            let u = (n as u16) & 0x1FFF;
            head[0] = 0xC0 | (u >> 8) as u8;
            head[1] = u as u8;
            2
        } else if i16::try_from(n).is_ok() {
            head[0] = 0xF1;
            head[1..3].copy_from_slice(&(n as i16).to_le_bytes());
            3
        } else if (-(1 << 23)..(1 << 23)).contains(&n) {
            head[0] = 0xF2;
            head[1..4].copy_from_slice(&(n as i32).to_le_bytes()[..3]);
            4
        } else if i32::try_from(n).is_ok() {
            head[0] = 0xF3;
            head[1..5].copy_from_slice(&(n as i32).to_le_bytes());
            5
        } else {
            head[0] = 0xF4;
            head[1..9].copy_from_slice(&n.to_le_bytes());
            9
        };
        return Enc { head, hlen, body: &[] };
    }
    let len = v.len();
    let hlen = if len < 64 {
        head[0] = 0x80 | len as u8;
        1
    } else if len < 4096 {
        head[0] = 0xE0 | (len >> 8) as u8;
        head[1] = len as u8;
        2
    } else if let Ok(l32) = u32::try_from(len) {
        head[0] = 0xF0;
        head[1..5].copy_from_slice(&l32.to_le_bytes());
        5
    } else {
        head[0] = 0xF5;
        head[1..9].copy_from_slice(&(len as u64).to_le_bytes());
        9
    };
    Enc { head, hlen, body: v }
}

/// Decodes the entry at `p`: the element and its header-plus-payload length.
#[inline]
fn decode(buf: &[u8], p: usize) -> (Item<'_>, usize) {
    let h = buf[p];
    let str_at = |start: usize, n: usize| Item::Str(&buf[start..start + n]);
    match h {
        0x00..=0x7F => (Item::Int(h as i64), 1),
        0x80..=0xBF => {
            let n = (h & 0x3F) as usize;
            (str_at(p + 1, n), 1 + n)
        }
        0xC0..=0xDF => {
            let u = ((h as u16 & 0x1F) << 8) | buf[p + 1] as u16;
            (Item::Int((((u << 3) as i16) >> 3) as i64), 2)
        }
        0xE0..=0xEF => {
            let n = ((h as usize & 0x0F) << 8) | buf[p + 1] as usize;
            (str_at(p + 2, n), 2 + n)
        }
        0xF0 => {
            let n = u32::from_le_bytes([buf[p + 1], buf[p + 2], buf[p + 3], buf[p + 4]]) as usize;
            (str_at(p + 5, n), 5 + n)
        }
        0xF1 => (Item::Int(i16::from_le_bytes([buf[p + 1], buf[p + 2]]) as i64), 3),
        0xF2 => {
            let v = i32::from_le_bytes([0, buf[p + 1], buf[p + 2], buf[p + 3]]) >> 8;
            (Item::Int(v as i64), 4)
        }
        0xF3 => (Item::Int(i32::from_le_bytes([buf[p + 1], buf[p + 2], buf[p + 3], buf[p + 4]]) as i64), 5),
        0xF4 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[p + 1..p + 9]);
            (Item::Int(i64::from_le_bytes(b)), 9)
        }
        _ => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[p + 1..p + 9]);
            (str_at(p + 9, u64::from_le_bytes(b) as usize), 9 + u64::from_le_bytes(b) as usize)
        }
    }
}

/// Bytes of the back-length of an entry of `l` bytes.
#[inline]
fn backlen_size(l: usize) -> usize {
    let mut n = 1;
    let mut x = l >> 7;
    while x > 0 {
        n += 1;
        x >>= 7;
    }
    n
}

/// Writes `l` into `dst` (exactly `backlen_size(l)` bytes): the last byte holds
/// the low 7 bits; a set high bit means more bits in the byte to its left.
fn write_backlen(dst: &mut [u8], l: usize) {
    let n = dst.len();
    for g in 0..n {
        let more = if g + 1 < n { 0x80 } else { 0 };
        dst[n - 1 - g] = ((l >> (7 * g)) & 0x7F) as u8 | more;
    }
}

/// Reads the back-length that ends just before `end`: (length, its byte count).
#[inline]
fn read_backlen(buf: &[u8], end: usize) -> (usize, usize) {
    let mut l = 0usize;
    let mut g = 0;
    loop {
        let b = buf[end - 1 - g];
        l |= ((b & 0x7F) as usize) << (7 * g);
        g += 1;
        if b & 0x80 == 0 {
            return (l, g);
        }
    }
}

/// Size in the node of the entry at `p`.
#[inline]
fn entry_size(buf: &[u8], p: usize) -> usize {
    let l = decode(buf, p).1;
    l + backlen_size(l)
}

// ---------------------------------------------------------------------------
// Nodes
// ---------------------------------------------------------------------------

/// Size of a node's header: entry count (u16), the list's fill and the
/// node's compression flags (u16: `fill + 5` in the low 13 bits,
/// `COMPRESSED` and `INCOMPRESSIBLE` above), the list's compress depth (u16)
/// and the bytes of entries (u32; for a compressed node, their size once
/// decompressed).
const NHDR: usize = 10;
/// The fill's bits in the second header field.
const FILL_BITS: u16 = 0x1FFF;
/// The entries are stored LZF-compressed (the node is then exact-size).
const COMPRESSED: u16 = 1 << 15;
/// Compressing the entries did not pay; cleared when they change, so a node
/// is not compressed again and again in vain.
const INCOMPRESSIBLE: u16 = 1 << 14;
/// Largest count fill stored: a node under a count fill holds at most
/// SAFETY_LIMIT bytes and an entry takes at least 2, so bigger fills behave
/// exactly as this one.
const FILL_STORED_MAX: i32 = (SAFETY_LIMIT / 2) as i32;
/// Largest compress depth (Redis's COMPRESS_MAX).
const DEPTH_MAX: i32 = u16::MAX as i32;
/// Nodes with fewer bytes of entries stay raw (Redis's MIN_COMPRESS_BYTES).
const MIN_COMPRESS_BYTES: usize = 48;
/// Compression must save more than this many bytes (MIN_COMPRESS_IMPROVE).
const MIN_COMPRESS_IMPROVE: usize = 8;
/// Nodes up to this size are kept exact-size (small lists are one such node);
/// bigger ones keep up to an eighth of growth room, so that pushes and pops at
/// the ends of long lists do not reallocate every time.
const SLACK_FROM: usize = 512;

/// The buffer size a node of `total` bytes (header and entries) is given.
fn target_capacity(total: usize) -> usize {
    if total > SLACK_FROM {
        total + total / 8
    } else {
        total
    }
}

/// A list's settings as they were when it was created (Redis keeps both per
/// quicklist): the fill (`list-max-listpack-size`) and the compress depth
/// (`list-compress-depth`: that many nodes at each end stay raw, the others
/// are LZF-compressed). Kept in every node's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cfg {
    fill: i32,
    depth: usize,
}

impl Cfg {
    fn new(fill: i32, depth: i32) -> Cfg {
        Cfg { fill: fill.clamp(-5, FILL_STORED_MAX), depth: depth.clamp(0, DEPTH_MAX) as usize }
    }
}

/// Offset of the entry after the one at `off` in a node's entries.
#[inline]
fn next_off(data: &[u8], off: usize) -> usize {
    off + entry_size(data, off)
}

/// Offset of the entry before the one at `off` (`off` > 0; may be the end).
#[inline]
fn prev_off(data: &[u8], off: usize) -> usize {
    let (l, n) = read_backlen(data, off);
    off - n - l
}

/// Offset of the `k`-th of the `count` entries in `data` (walked from the
/// nearer end).
fn offset_of(data: &[u8], count: usize, k: usize) -> usize {
    if k <= count / 2 {
        let mut off = 0;
        for _ in 0..k {
            off = next_off(data, off);
        }
        off
    } else {
        let mut off = data.len();
        for _ in k..count {
            off = prev_off(data, off);
        }
        off
    }
}

/// A run of consecutive elements in one buffer: the header, the entries, then
/// (for big raw nodes) growth room; or the header and the entries
/// LZF-compressed. A node is a 16-byte handle, so a one-node list needs no
/// other allocation.
#[derive(Clone)]
struct Node {
    buf: Box<[u8]>,
}

impl Node {
    /// A node without entries for a list of these settings.
    fn empty(cfg: Cfg) -> Node {
        Node::from_data(&[], 0, cfg)
    }

    fn with(enc: &Enc, cfg: Cfg) -> Node {
        let mut n = Node::empty(cfg);
        n.insert(0, enc);
        n
    }

    /// A raw node of these settings holding `count` entries encoded in `data`.
    fn from_data(data: &[u8], count: usize, cfg: Cfg) -> Node {
        let total = NHDR + data.len();
        let mut v = Vec::with_capacity(target_capacity(total));
        v.extend_from_slice(&(count as u16).to_le_bytes());
        v.extend_from_slice(&((cfg.fill + 5) as u16).to_le_bytes());
        v.extend_from_slice(&(cfg.depth as u16).to_le_bytes());
        v.extend_from_slice(&(data.len() as u32).to_le_bytes());
        v.extend_from_slice(data);
        v.resize(target_capacity(total), 0);
        Node { buf: v.into_boxed_slice() }
    }

    #[inline]
    fn count(&self) -> usize {
        u16::from_le_bytes([self.buf[0], self.buf[1]]) as usize
    }

    #[inline]
    fn set_count(&mut self, n: usize) {
        self.buf[..2].copy_from_slice(&(n as u16).to_le_bytes());
    }

    /// The fill and the flags.
    #[inline]
    fn word(&self) -> u16 {
        u16::from_le_bytes([self.buf[2], self.buf[3]])
    }

    #[inline]
    fn set_word(&mut self, w: u16) {
        self.buf[2..4].copy_from_slice(&w.to_le_bytes());
    }

    #[inline]
    fn fill(&self) -> i32 {
        (self.word() & FILL_BITS) as i32 - 5
    }

    #[inline]
    fn cfg(&self) -> Cfg {
        Cfg { fill: self.fill(), depth: u16::from_le_bytes([self.buf[4], self.buf[5]]) as usize }
    }

    #[inline]
    fn is_compressed(&self) -> bool {
        self.word() & COMPRESSED != 0
    }

    /// Size of the encoded entries (decompressed).
    #[inline]
    fn bytes(&self) -> usize {
        u32::from_le_bytes([self.buf[6], self.buf[7], self.buf[8], self.buf[9]]) as usize
    }

    /// Sets the size of the entries, which have changed: a compression that
    /// did not pay may pay now.
    #[inline]
    fn set_bytes(&mut self, n: usize) {
        self.buf[6..10].copy_from_slice(&(n as u32).to_le_bytes());
        self.set_word(self.word() & !INCOMPRESSIBLE);
    }

    /// The encoded entries (all offsets are relative to these bytes) of a raw
    /// node.
    #[inline]
    fn data(&self) -> &[u8] {
        debug_assert!(!self.is_compressed(), "entries of a compressed node read directly");
        &self.buf[NHDR..NHDR + self.bytes()]
    }

    /// Resizes the buffer when a node of `total` bytes (header and entries)
    /// does not fit it, or leaves too much of it unused; the first
    /// min(old, new) bytes are kept.
    fn fit(&mut self, total: usize) {
        let cap = self.buf.len();
        let wrong = if total > SLACK_FROM { cap < total || cap > total + total / 4 } else { cap != total };
        if wrong {
            let want = target_capacity(total);
            let mut v = std::mem::take(&mut self.buf).into_vec();
            if want > v.len() {
                v.reserve_exact(want - v.len());
            }
            v.resize(want, 0);
            self.buf = v.into_boxed_slice();
        }
    }

    #[inline]
    fn next(&self, off: usize) -> usize {
        next_off(self.data(), off)
    }

    #[inline]
    fn last(&self) -> usize {
        prev_off(self.data(), self.bytes())
    }

    /// Offset of the `k`-th entry.
    fn offset_of(&self, k: usize) -> usize {
        offset_of(self.data(), self.count(), k)
    }

    /// Inserts an entry at `off`.
    fn insert(&mut self, off: usize, enc: &Enc) {
        let size = enc.size();
        let used = self.bytes();
        self.fit(NHDR + used + size);
        self.buf.copy_within(NHDR + off..NHDR + used, NHDR + off + size);
        enc.write(&mut self.buf[NHDR + off..NHDR + off + size]);
        self.set_bytes(used + size);
        let count = self.count();
        self.set_count(count + 1);
    }

    /// Replaces the entry at `off`.
    fn replace(&mut self, off: usize, enc: &Enc) {
        let old = entry_size(self.data(), off);
        let size = enc.size();
        let used = self.bytes();
        let at = NHDR + off;
        let new_used = used - old + size;
        if size > old {
            self.fit(NHDR + new_used);
        }
        self.buf.copy_within(at + old..NHDR + used, at + size);
        enc.write(&mut self.buf[at..at + size]);
        self.set_bytes(new_used);
        if size < old {
            self.fit(NHDR + new_used);
        }
    }

    /// Removes `n` entries starting at `off`.
    fn remove(&mut self, off: usize, n: usize) {
        let mut end = off;
        for _ in 0..n {
            end = self.next(end);
        }
        let used = self.bytes();
        self.buf.copy_within(NHDR + end..NHDR + used, NHDR + off);
        let new_used = used - (end - off);
        self.set_bytes(new_used);
        let count = self.count();
        self.set_count(count - n);
        self.fit(NHDR + new_used);
    }

    /// Splits at entry `k`: this node keeps entries before `k`, the result holds the rest.
    fn split_off(&mut self, k: usize) -> Node {
        let off = self.offset_of(k);
        let count = self.count();
        let tail = Node::from_data(&self.data()[off..], count - k, self.cfg());
        self.set_bytes(off);
        self.set_count(k);
        self.fit(NHDR + off);
        tail
    }

    /// Appends the entries of `other`.
    fn append(&mut self, other: &Node) {
        let used = self.bytes();
        let add = other.bytes();
        self.fit(NHDR + used + add);
        self.buf[NHDR + used..NHDR + used + add].copy_from_slice(other.data());
        self.set_bytes(used + add);
        let count = self.count() + other.count();
        self.set_count(count);
    }

    // Compression (`list-compress-depth`)

    /// Stores the entries LZF-compressed when that pays, as Redis's
    /// `__quicklistCompressNode` decides: at least MIN_COMPRESS_BYTES of
    /// entries, and the compressed form more than MIN_COMPRESS_IMPROVE bytes
    /// smaller. Nothing for a compressed node, or one whose entries did not
    /// compress and have not changed since.
    fn compress(&mut self) {
        if self.word() & (COMPRESSED | INCOMPRESSIBLE) != 0 {
            return;
        }
        let raw = self.bytes();
        if raw >= MIN_COMPRESS_BYTES {
            let mut v = Vec::with_capacity(NHDR + raw + 8);
            v.extend_from_slice(&self.buf[..NHDR]);
            if crate::lzf::compress_append(self.data(), raw, &mut v) && v.len() - NHDR + MIN_COMPRESS_IMPROVE < raw {
                let mut node = Node { buf: v.into_boxed_slice() };
                node.set_word(self.word() | COMPRESSED);
                *self = node;
                return;
            }
        }
        let w = self.word() | INCOMPRESSIBLE;
        self.set_word(w);
    }

    /// Stores the entries raw again (nothing for a raw node).
    fn decompress(&mut self) {
        if !self.is_compressed() {
            return;
        }
        let raw = self.bytes();
        let cap = target_capacity(NHDR + raw);
        let mut v = Vec::with_capacity(cap);
        v.extend_from_slice(&self.buf[..NHDR]);
        v.resize(NHDR + raw, 0);
        self.unpack(&mut v[NHDR..]);
        v.resize(cap, 0);
        let mut node = Node { buf: v.into_boxed_slice() };
        node.set_word(self.word() & !COMPRESSED);
        *self = node;
    }

    /// Decompresses the entries of a compressed node into `out`, which is
    /// exactly `bytes()` long.
    fn unpack(&self, out: &mut [u8]) {
        // A compressed node only ever holds what `compress` wrote: our own
        // compressor's output for exactly `bytes()` bytes (compressed data
        // from RDB files and RESTORE payloads is decompressed, checked and
        // re-encoded element by element when loaded), so this cannot fail.
        let ok = crate::lzf::decompress_into(&self.buf[NHDR..], out).is_some();
        assert!(ok, "a compressed list node holds invalid LZF data");
    }

    /// The entries: the node's own bytes when it is raw, else decompressed
    /// into `scratch`.
    fn entries<'s>(&'s self, scratch: &'s mut Vec<u8>) -> &'s [u8] {
        if !self.is_compressed() {
            return self.data();
        }
        scratch.clear();
        scratch.resize(self.bytes(), 0);
        self.unpack(scratch);
        scratch
    }
}

/// Offsets of all entries in `data`, in order.
fn offsets(data: &[u8], out: &mut Vec<usize>) {
    out.clear();
    let mut off = 0;
    while off < data.len() {
        out.push(off);
        off = next_off(data, off);
    }
}

/// Nodes of a list longer than one node, and its element count.
#[derive(Clone)]
struct Many {
    d: VecDeque<Node>,
    len: usize,
}

/// The nodes of a list. Most lists fit in one node, which is held directly
/// (the whole list is then one allocation); longer lists keep a deque.
#[derive(Clone)]
enum Nodes {
    /// Also the empty list (a node without entries).
    One(Node),
    Many(Box<Many>),
}

impl Nodes {
    #[inline]
    fn len(&self) -> usize {
        match self {
            Nodes::One(n) if n.count() == 0 => 0,
            Nodes::One(_) => 1,
            Nodes::Many(m) => m.d.len(),
        }
    }

    fn iter(&self) -> impl DoubleEndedIterator<Item = &Node> {
        let (one, many) = match self {
            Nodes::One(n) => (Some(n).filter(|n| n.count() > 0), None),
            Nodes::Many(m) => (None, Some(m.d.iter())),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }

    #[inline]
    fn front(&self) -> Option<&Node> {
        match self {
            Nodes::One(n) => Some(n).filter(|n| n.count() > 0),
            Nodes::Many(m) => m.d.front(),
        }
    }

    #[inline]
    fn back(&self) -> Option<&Node> {
        match self {
            Nodes::One(n) => Some(n).filter(|n| n.count() > 0),
            Nodes::Many(m) => m.d.back(),
        }
    }

    #[inline]
    fn front_mut(&mut self) -> Option<&mut Node> {
        match self {
            Nodes::One(n) => Some(n).filter(|n| n.count() > 0),
            Nodes::Many(m) => m.d.front_mut(),
        }
    }

    #[inline]
    fn back_mut(&mut self) -> Option<&mut Node> {
        match self {
            Nodes::One(n) => Some(n).filter(|n| n.count() > 0),
            Nodes::Many(m) => m.d.back_mut(),
        }
    }

    /// Heap bytes of the node table itself.
    fn table_bytes(&self) -> usize {
        match self {
            Nodes::One(_) => 0,
            Nodes::Many(m) => std::mem::size_of::<Many>() + m.d.capacity() * std::mem::size_of::<Node>(),
        }
    }

    /// Back to the one-node form when one node is left; frees a mostly empty table.
    fn settle(&mut self, cfg: Cfg) {
        if let Nodes::Many(m) = self {
            match m.d.len() {
                0 => *self = Nodes::One(Node::empty(cfg)),
                1 => {
                    if let Some(n) = m.d.pop_front() {
                        *self = Nodes::One(n);
                    }
                }
                n if m.d.capacity() > 8 && n < m.d.capacity() / 4 => m.d.shrink_to(n * 2),
                _ => {}
            }
        }
    }

    /// Inserts a node at `at`. A one-node list becomes a deque whose element
    /// count is taken from the nodes (callers turn a list into a deque first,
    /// with `List::ensure_many`, when they adjust the count themselves).
    fn insert(&mut self, at: usize, node: Node) {
        match self {
            Nodes::One(n) if n.count() == 0 => *self = Nodes::One(node),
            Nodes::Many(m) => m.d.insert(at, node),
            Nodes::One(n) => {
                let cfg = n.cfg();
                let first = std::mem::replace(n, Node::empty(cfg));
                let mut d = VecDeque::with_capacity(4);
                d.push_back(first);
                d.insert(at, node);
                let len = d.iter().map(Node::count).sum();
                *self = Nodes::Many(Box::new(Many { d, len }));
            }
        }
    }

    fn remove(&mut self, at: usize, cfg: Cfg) -> Option<Node> {
        let n = match self {
            Nodes::One(n) => Some(std::mem::replace(n, Node::empty(cfg))),
            Nodes::Many(m) => m.d.remove(at),
        };
        self.settle(cfg);
        n
    }

    /// Removes nodes `a..b`.
    fn drain(&mut self, a: usize, b: usize, cfg: Cfg) {
        match self {
            Nodes::One(n) => {
                if a == 0 && b >= 1 {
                    *n = Node::empty(cfg);
                }
            }
            Nodes::Many(m) => {
                m.d.drain(a..b);
                self.settle(cfg);
            }
        }
    }

    /// Builds the nodes of a list of `len` elements.
    fn from_deque(d: VecDeque<Node>, len: usize, cfg: Cfg) -> Self {
        let mut n = Nodes::Many(Box::new(Many { d, len }));
        n.settle(cfg);
        n
    }
}

impl std::ops::Index<usize> for Nodes {
    type Output = Node;
    #[inline]
    fn index(&self, i: usize) -> &Node {
        match self {
            Nodes::One(n) => n,
            Nodes::Many(m) => &m.d[i],
        }
    }
}

impl std::ops::IndexMut<usize> for Nodes {
    #[inline]
    fn index_mut(&mut self, i: usize) -> &mut Node {
        match self {
            Nodes::One(n) => n,
            Nodes::Many(m) => &mut m.d[i],
        }
    }
}

// ---------------------------------------------------------------------------
// The list
// ---------------------------------------------------------------------------

/// A list value: 16 bytes (a `Value` boxes it). Its settings
/// (`list-max-listpack-size` and `list-compress-depth` when the list was
/// created, kept as Redis does) are in every node's header.
///
/// With a compress depth d > 0, the d nodes at each end are raw and every node
/// further inside is stored LZF-compressed (when that pays), as in Redis's
/// quicklist: a node is compressed when it moves deeper than d (nodes were
/// added at an end), decompressed when it comes within d of an end (nodes
/// were removed), and decompressed for a change inside the list, then
/// compressed again. Reads decompress a copy (see `Iter`). The end nodes are
/// always raw, so pushes and pops only compress or decompress when they add
/// or remove a node.
#[derive(Clone)]
pub struct List {
    nodes: Nodes,
}

impl Default for List {
    fn default() -> Self {
        List::new(-2, 0)
    }
}

impl List {
    /// An empty list whose nodes follow `fill` (`list-max-listpack-size`),
    /// compressed beyond `depth` nodes from each end (`list-compress-depth`,
    /// 0: never).
    pub fn new(fill: i32, depth: i32) -> List {
        List { nodes: Nodes::One(Node::empty(Cfg::new(fill, depth))) }
    }

    /// Number of elements.
    #[inline]
    pub fn len(&self) -> usize {
        match &self.nodes {
            Nodes::One(n) => n.count(),
            Nodes::Many(m) => m.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of nodes (allocations holding elements).
    pub fn node_count(&self) -> usize {
        match &self.nodes {
            Nodes::One(_) => 1,
            Nodes::Many(m) => m.d.len(),
        }
    }

    /// DEBUG OBJECT's quicklist fields, as Redis prints them: node count,
    /// average elements per node, fill, whether nodes get compressed, and
    /// the bytes of the nodes as Redis's listpacks (a 6-byte header, each
    /// element as `lpAppend` encodes it, an end byte).
    pub fn debug_fields(&self) -> String {
        let nodes = self.node_count();
        let cfg = self.cfg();
        let mut size = 7 * nodes;
        let mut scratch = Vec::new();
        self.iter().for_each(|x| {
            scratch.clear();
            match x {
                Item::Int(n) => super::listpack::encode_int(&mut scratch, n),
                Item::Str(b) => super::listpack::encode_raw(&mut scratch, b),
            }
            size += scratch.len();
        });
        format!(
            " ql_nodes:{nodes} ql_avg_node:{:.2} ql_listpack_max:{} ql_compressed:{} ql_uncompressed_size:{size}",
            self.len() as f64 / nodes as f64,
            cfg.fill,
            u8::from(cfg.depth != 0)
        )
    }

    /// The settings this list was created with.
    #[inline]
    fn cfg(&self) -> Cfg {
        match &self.nodes {
            Nodes::One(n) => n.cfg(),
            Nodes::Many(m) => m.d.front().map_or(Cfg::new(-2, 0), Node::cfg),
        }
    }

    /// `list-max-listpack-size` as it was when the list was created.
    #[inline]
    pub fn fill(&self) -> i32 {
        self.cfg().fill
    }

    /// Adds `d` to the element count of a many-node list (a one-node list's
    /// count is its node's).
    #[inline]
    fn adj_len(&mut self, d: isize) {
        if let Nodes::Many(m) = &mut self.nodes {
            m.len = m.len.wrapping_add_signed(d);
        }
    }

    /// Turns a one-node list into the deque form (before a node is added by a
    /// caller that adjusts the element count itself).
    fn ensure_many(&mut self) {
        if let Nodes::One(n) = &mut self.nodes {
            let cfg = n.cfg();
            let first = std::mem::replace(n, Node::empty(cfg));
            let len = first.count();
            let mut d = VecDeque::with_capacity(4);
            if len > 0 {
                d.push_back(first);
            }
            self.nodes = Nodes::Many(Box::new(Many { d, len }));
        }
    }

    /// The name OBJECT ENCODING reports (Redis 7.0 has no other list encoding).
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    /// Heap bytes owned (for MEMORY USAGE and lazy freeing decisions):
    /// compressed nodes count with their compressed size.
    pub fn heap_size(&self) -> usize {
        self.nodes.table_bytes() + self.nodes.iter().map(|n| n.buf.len()).sum::<usize>()
    }

    /// Nodes stored compressed.
    #[cfg(test)]
    fn compressed_nodes(&self) -> usize {
        self.nodes.iter().filter(|n| n.is_compressed()).count()
    }

    fn byte_limit(&self) -> usize {
        let fill = self.fill();
        if fill < 0 {
            BYTE_LIMITS[(-fill - 1) as usize]
        } else {
            SAFETY_LIMIT
        }
    }

    /// May `node` take one more entry of `add` bytes?
    #[inline]
    fn fits(&self, node: &Node, add: usize) -> bool {
        let fill = self.fill();
        node.bytes() + add <= self.byte_limit() && (fill < 0 || (node.count() as i32) < fill)
    }

    /// May nodes `a` and `b` become one?
    fn mergeable(&self, a: &Node, b: &Node) -> bool {
        let fill = self.fill();
        a.bytes() + b.bytes() <= self.byte_limit() && (fill < 0 || (a.count() + b.count()) as i32 <= fill)
    }

    fn insert_node(&mut self, at: usize, node: Node) {
        self.nodes.insert(at, node);
    }

    /// After nodes were added or removed, Redis's `__quicklistCompress`: the
    /// nodes within the depth of either end raw, the ones just beyond it
    /// compressed (two on each side, as one operation adds at most two nodes,
    /// which moves two nodes past the depth). O(depth) header checks, and
    /// compressions only of nodes not compressed yet (normally one); nothing
    /// when compression is off.
    fn fix_ends(&mut self) {
        let depth = self.cfg().depth;
        if depth == 0 {
            return;
        }
        let Nodes::Many(m) = &mut self.nodes else { return };
        let n = m.d.len();
        for i in 0..depth.min(n.div_ceil(2)) {
            m.d[i].decompress();
            m.d[n - 1 - i].decompress();
        }
        for i in depth..(depth + 2).min(n.saturating_sub(depth)) {
            m.d[i].compress();
            m.d[n - 1 - i].compress();
        }
    }

    /// After nodes `a..b` were changed (they are raw, or were left as they
    /// were): each stored as its position wants (compressed when deeper than
    /// the depth), then `fix_ends`, as nodes may have been added or removed.
    fn fix_range(&mut self, a: usize, b: usize) {
        let depth = self.cfg().depth;
        if depth == 0 {
            return;
        }
        if let Nodes::Many(m) = &mut self.nodes {
            let n = m.d.len();
            for i in a..b.min(n) {
                if i >= depth && i + depth < n {
                    m.d[i].compress();
                } else {
                    m.d[i].decompress();
                }
            }
        }
        self.fix_ends();
    }

    /// The node holding element `i` (< len) and its position in that node.
    fn locate(&self, i: usize) -> (usize, usize) {
        let len = self.len();
        if i < len / 2 {
            let mut acc = 0;
            for (ni, n) in self.nodes.iter().enumerate() {
                let c = n.count();
                if i < acc + c {
                    return (ni, i - acc);
                }
                acc += c;
            }
        } else {
            let mut acc = len;
            for ni in (0..self.nodes.len()).rev() {
                acc -= self.nodes[ni].count();
                if i >= acc {
                    return (ni, i - acc);
                }
            }
        }
        (0, 0)
    }

    /// Adds an element at the head (`front`) or the tail.
    pub fn push(&mut self, v: &[u8], front: bool) {
        let enc = encode(v);
        let size = enc.size();
        let fits = match if front { self.nodes.front() } else { self.nodes.back() } {
            Some(n) => self.fits(n, size),
            None => {
                // Empty list: the one (empty) node takes the element.
                if let Nodes::One(n) = &mut self.nodes {
                    n.insert(0, &enc);
                    return;
                }
                false
            }
        };
        if fits {
            self.adj_len(1);
            if let Some(n) = if front { self.nodes.front_mut() } else { self.nodes.back_mut() } {
                let at = if front { 0 } else { n.bytes() };
                n.insert(at, &enc);
            }
            return;
        }
        self.ensure_many();
        self.adj_len(1);
        let at = if front { 0 } else { self.nodes.len() };
        let cfg = self.cfg();
        self.insert_node(at, Node::with(&enc, cfg));
        self.fix_ends();
    }

    /// Removes and returns the first (`front`) or last element.
    pub fn pop(&mut self, front: bool) -> Option<Vec<u8>> {
        let node = if front { self.nodes.front_mut()? } else { self.nodes.back_mut()? };
        let off = if front { 0 } else { node.last() };
        let v = decode(node.data(), off).0.to_vec();
        if node.count() == 1 {
            let cfg = node.cfg();
            self.adj_len(-1);
            let at = if front { 0 } else { self.nodes.len() - 1 };
            self.nodes.remove(at, cfg);
            self.fix_ends();
        } else {
            node.remove(off, 1);
            self.adj_len(-1);
        }
        Some(v)
    }

    /// The first (`front`) or last element (the end nodes are never compressed).
    pub fn end(&self, front: bool) -> Option<Item<'_>> {
        let node = if front { self.nodes.front()? } else { self.nodes.back()? };
        let off = if front { 0 } else { node.last() };
        Some(decode(node.data(), off).0)
    }

    /// Replaces the element at `i`; false when `i` >= len.
    pub fn set(&mut self, i: usize, v: &[u8]) -> bool {
        if i >= self.len() {
            return false;
        }
        let enc = encode(v);
        let limit = self.byte_limit();
        let (ni, k) = self.locate(i);
        let node = &mut self.nodes[ni];
        node.decompress();
        let off = node.offset_of(k);
        let old = entry_size(node.data(), off);
        if node.count() == 1 || node.bytes() - old + enc.size() <= limit {
            node.replace(off, &enc);
            self.fix_range(ni, ni + 1);
            return true;
        }
        self.ensure_many();
        let node = &mut self.nodes[ni];
        node.remove(off, 1);
        self.adj_len(-1);
        self.insert(i, v);
        // Node `ni` (changed) is now among `ni..ni + 3`: `insert` adds at
        // most two nodes, at or after `ni`.
        self.fix_range(ni, ni + 3);
        true
    }

    /// Inserts `v` so that it becomes element `i` (`i` >= len appends).
    pub fn insert(&mut self, i: usize, v: &[u8]) {
        if i == 0 {
            return self.push(v, true);
        }
        if i >= self.len() {
            return self.push(v, false);
        }
        let enc = encode(v);
        let size = enc.size();
        let (ni, k) = self.locate(i);
        if self.fits(&self.nodes[ni], size) {
            self.adj_len(1);
            let node = &mut self.nodes[ni];
            node.decompress();
            let off = node.offset_of(k);
            node.insert(off, &enc);
            self.fix_range(ni, ni + 1);
            return;
        }
        self.ensure_many();
        self.adj_len(1);
        let cfg = self.cfg();
        if k == 0 {
            // Between two nodes: the previous one may have room at its end.
            if ni > 0 && self.fits(&self.nodes[ni - 1], size) {
                let prev = &mut self.nodes[ni - 1];
                prev.decompress();
                let end = prev.bytes();
                prev.insert(end, &enc);
                self.fix_range(ni - 1, ni);
            } else {
                self.insert_node(ni, Node::with(&enc, cfg));
                self.fix_range(ni, ni + 1);
            }
            return;
        }
        // Full node: split it at the insertion point.
        self.nodes[ni].decompress();
        let mut tail = self.nodes[ni].split_off(k);
        if self.fits(&self.nodes[ni], size) {
            let node = &mut self.nodes[ni];
            let end = node.bytes();
            node.insert(end, &enc);
            self.insert_node(ni + 1, tail);
        } else if self.fits(&tail, size) {
            tail.insert(0, &enc);
            self.insert_node(ni + 1, tail);
        } else {
            self.insert_node(ni + 1, Node::with(&enc, cfg));
            self.insert_node(ni + 2, tail);
        }
        self.fix_range(ni, ni + 3);
    }

    /// Removes `n` elements starting at element `start` (clipped to the list).
    pub fn remove_range(&mut self, start: usize, n: usize) {
        let len = self.len();
        if start >= len || n == 0 {
            return;
        }
        let n = n.min(len - start);
        let cfg = self.cfg();
        let (mut ni, k) = self.locate(start);
        self.adj_len(-(n as isize));
        let mut left = n;
        if k > 0 {
            let node = &mut self.nodes[ni];
            node.decompress();
            let m = left.min(node.count() - k);
            let off = node.offset_of(k);
            node.remove(off, m);
            left -= m;
            ni += 1;
        }
        let mut end = ni;
        while left > 0 && end < self.nodes.len() && self.nodes[end].count() <= left {
            left -= self.nodes[end].count();
            end += 1;
        }
        if end > ni {
            self.nodes.drain(ni, end, cfg);
        }
        if left > 0 {
            let node = &mut self.nodes[ni];
            node.decompress();
            node.remove(0, left);
        }
        if ni > 0 && ni < self.nodes.len() && self.mergeable(&self.nodes[ni - 1], &self.nodes[ni]) {
            self.merge_next(ni - 1);
        }
        self.fix_range(ni.saturating_sub(1), ni + 1);
    }

    /// Appends node `i + 1` to node `i` (both left raw).
    fn merge_next(&mut self, i: usize) {
        let cfg = self.cfg();
        if let Some(mut b) = self.nodes.remove(i + 1, cfg) {
            b.decompress();
            let a = &mut self.nodes[i];
            a.decompress();
            a.append(&b);
        }
    }

    /// Removes up to `limit` elements equal to `v` (0: all), scanning from the
    /// tail when `from_tail`. Returns how many were removed.
    pub fn remove_matching(&mut self, v: &[u8], limit: usize, from_tail: bool) -> usize {
        let needle = Needle::new(v);
        let mut removed = 0;
        let mut offs = Vec::new();
        let mut dead = Vec::new();
        let mut scratch = Vec::new();
        let n_nodes = self.nodes.len();
        for step in 0..n_nodes {
            if limit != 0 && removed == limit {
                break;
            }
            let ni = if from_tail { n_nodes - 1 - step } else { step };
            let node = &self.nodes[ni];
            // A compressed node is read from a copy, and stays as it is
            // unless something is removed from it.
            let data = node.entries(&mut scratch);
            offsets(data, &mut offs);
            dead.clear();
            for j in 0..offs.len() {
                let j = if from_tail { offs.len() - 1 - j } else { j };
                if decode(data, offs[j]).0.matches(&needle) {
                    dead.push(j);
                    removed += 1;
                    if limit != 0 && removed == limit {
                        break;
                    }
                }
            }
            if dead.is_empty() {
                continue;
            }
            dead.sort_unstable();
            let gone: usize = dead.iter().map(|&j| entry_size(data, offs[j])).sum();
            let mut kept = Vec::with_capacity(data.len() - gone);
            let mut from = 0;
            for &j in &dead {
                kept.extend_from_slice(&data[from..offs[j]]);
                from = next_off(data, offs[j]);
            }
            kept.extend_from_slice(&data[from..]);
            let rebuilt = Node::from_data(&kept, node.count() - dead.len(), node.cfg());
            self.nodes[ni] = rebuilt;
        }
        if removed > 0 {
            self.adj_len(-(removed as isize));
            self.compact();
        }
        removed
    }

    /// Drops empty nodes and merges neighbours that fit in one node, then
    /// stores every node as its position wants.
    fn compact(&mut self) {
        let cfg = self.cfg();
        let len = self.len();
        let old = std::mem::replace(&mut self.nodes, Nodes::One(Node::empty(cfg)));
        let old: Vec<Node> = match old {
            Nodes::One(n) => vec![n],
            Nodes::Many(m) => m.d.into(),
        };
        let mut out: VecDeque<Node> = VecDeque::with_capacity(old.len());
        for mut node in old {
            if node.count() == 0 {
                continue;
            }
            if let Some(last) = out.back_mut() {
                if self.mergeable(last, &node) {
                    last.decompress();
                    node.decompress();
                    last.append(&node);
                    continue;
                }
            }
            out.push_back(node);
        }
        out.shrink_to_fit();
        self.nodes = Nodes::from_deque(out, len, cfg);
        let n = self.nodes.len();
        self.fix_range(0, n);
    }

    /// Index of the first element equal to `v`, from the head.
    pub fn position(&self, v: &[u8]) -> Option<usize> {
        let needle = Needle::new(v);
        let mut it = self.iter();
        let mut i = 0;
        while let Some(x) = it.next_item() {
            if x.matches(&needle) {
                return Some(i);
            }
            i += 1;
        }
        None
    }

    /// All elements from the head.
    pub fn iter(&self) -> Iter<'_> {
        self.iter_from(0, true)
    }

    /// Elements from element `i`, towards the tail (`forward`) or the head.
    pub fn iter_from(&self, i: usize, forward: bool) -> Iter<'_> {
        let len = self.len();
        let mut it = Iter {
            list: self,
            ni: 0,
            raw: &[],
            unpacked: Vec::new(),
            packed: false,
            off: 0,
            step: 0,
            left: 0,
            forward,
            started: false,
        };
        if i < len {
            let (ni, k) = self.locate(i);
            it.enter(ni);
            it.off = offset_of(it.data(), self.nodes[ni].count(), k);
            it.left = if forward { len - i } else { i + 1 };
        }
        it
    }

    /// Every element, copied (tests and debugging).
    pub fn to_vecs(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::with_capacity(self.len());
        self.iter().for_each(|x| out.push(x.to_vec()));
        out
    }
}

/// A cursor over a list's elements in one direction: `while let Some(item) =
/// it.next_item()`. The elements of a compressed node are read from a
/// decompressed copy of that node held by the cursor, so an element borrows
/// the cursor (not a std `Iterator`) until the next call.
pub struct Iter<'a> {
    list: &'a List,
    /// The current node.
    ni: usize,
    /// Its entries when it is raw.
    raw: &'a [u8],
    /// Its entries, decompressed, when it is compressed (`packed`).
    unpacked: Vec<u8>,
    packed: bool,
    /// Offset of the next element to return, in the current node's entries.
    off: usize,
    /// Bytes from the element last returned to the one after it (forward).
    step: usize,
    /// Elements left to return.
    left: usize,
    forward: bool,
    /// An element was returned (`off` is still at it).
    started: bool,
}

impl<'a> Iter<'a> {
    /// Returns at most `n` more elements.
    pub fn limit(mut self, n: usize) -> Self {
        self.left = self.left.min(n);
        self
    }

    /// Calls `f` with every element left.
    pub fn for_each(mut self, mut f: impl FnMut(Item<'_>)) {
        while let Some(x) = self.next_item() {
            f(x);
        }
    }

    /// Makes node `ni` the current one.
    fn enter(&mut self, ni: usize) {
        let list: &'a List = self.list;
        let node = &list.nodes[ni];
        self.ni = ni;
        self.packed = node.is_compressed();
        if self.packed {
            node.entries(&mut self.unpacked);
        } else {
            self.raw = node.data();
        }
    }

    /// The current node's entries.
    #[inline]
    fn data(&self) -> &[u8] {
        if self.packed {
            &self.unpacked
        } else {
            self.raw
        }
    }

    /// The next element.
    #[inline]
    pub fn next_item(&mut self) -> Option<Item<'_>> {
        if self.left == 0 {
            return None;
        }
        if self.started {
            self.advance();
        }
        self.started = true;
        self.left -= 1;
        let data: &[u8] = if self.packed { &self.unpacked } else { self.raw };
        let (item, l) = decode(data, self.off);
        if self.forward {
            self.step = l + backlen_size(l);
        }
        Some(item)
    }

    /// Moves from the element last returned to the next one.
    #[inline]
    fn advance(&mut self) {
        if self.forward {
            self.off += self.step;
            if self.off >= self.data().len() {
                self.enter(self.ni + 1);
                self.off = 0;
            }
        } else if self.off == 0 {
            self.enter(self.ni - 1);
            let d = self.data();
            self.off = prev_off(d, d.len());
        } else {
            self.off = prev_off(self.data(), self.off);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// Elements from `i` in one direction, copied.
    fn from(l: &List, i: usize, forward: bool) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        l.iter_from(i, forward).for_each(|x| out.push(x.to_vec()));
        out
    }

    /// Element `i`, copied.
    fn get(l: &List, i: usize) -> Option<Vec<u8>> {
        l.iter_from(i, true).next_item().map(|x| x.to_vec())
    }

    fn check(l: &List, model: &VecDeque<Vec<u8>>) {
        assert_eq!(l.len(), model.len());
        assert_eq!(l.nodes.iter().map(|n| n.count()).sum::<usize>(), l.len());
        assert!(l.nodes.iter().all(|n| n.count() > 0));
        assert_eq!(l.to_vecs(), model.iter().cloned().collect::<Vec<_>>());
        if !model.is_empty() {
            assert_eq!(from(l, l.len() - 1, false), model.iter().rev().cloned().collect::<Vec<_>>());
        }
        check_compression(l);
    }

    /// The nodes within the depth of either end are raw; deeper ones are
    /// compressed unless compressing them does not pay.
    fn check_compression(l: &List) {
        let depth = l.cfg().depth;
        let nodes: Vec<&Node> = l.nodes.iter().collect();
        let n = nodes.len();
        for (i, node) in nodes.iter().enumerate() {
            let deep = depth > 0 && i >= depth && i + depth < n;
            if !deep {
                assert!(!node.is_compressed(), "node {i} of {n} compressed at depth {depth}");
            } else if !node.is_compressed() {
                let mut c = (*node).clone();
                c.set_bytes(c.bytes());
                c.compress();
                assert!(!c.is_compressed(), "node {i} of {n} raw at depth {depth} though it compresses");
            }
        }
    }

    fn value(r: &mut StdRng) -> Vec<u8> {
        match r.gen_range(0..10) {
            0 => r.gen_range(-200i64..200).to_string().into_bytes(),
            1 => r.gen::<i64>().to_string().into_bytes(),
            2 => r.gen_range(-70000i64..70000).to_string().into_bytes(),
            3 => r.gen_range(-(1i64 << 32)..(1 << 32)).to_string().into_bytes(),
            4 => vec![b'x'; r.gen_range(0..300)],
            5 => vec![b'y'; r.gen_range(4000..5000)],
            6 => b"-0".to_vec(),
            7 => b"007".to_vec(),
            _ => vec![b'a' + r.gen_range(0..3u8)],
        }
    }

    #[test]
    fn small_header() {
        assert_eq!(std::mem::size_of::<List>(), 16);
        let mut l = List::new(-2, 0);
        l.push(b"hello", false);
        assert_eq!(l.nodes.table_bytes(), 0);
    }

    #[test]
    fn roundtrip_encodings() {
        for v in [
            "0",
            "127",
            "128",
            "-1",
            "-4096",
            "4095",
            "4096",
            "-4097",
            "32767",
            "-32768",
            "32768",
            "8388607",
            "-8388608",
            "8388608",
            "2147483647",
            "-2147483648",
            "2147483648",
            "9223372036854775807",
            "-9223372036854775808",
            "",
            "-0",
            "01",
            "+1",
            " 1",
            "abc",
        ] {
            let mut l = List::new(-2, 0);
            l.push(v.as_bytes(), false);
            assert_eq!(get(&l, 0), Some(v.as_bytes().to_vec()), "{v}");
            assert!(l.end(true).is_some_and(|i| i.matches(&Needle::new(v.as_bytes()))));
        }
        for n in [0usize, 63, 64, 127, 128, 4095, 4096, 16383, 16384, 70000] {
            let v = vec![b'z'; n];
            let mut l = List::new(-2, 0);
            l.push(&v, true);
            l.push(b"1", true);
            assert_eq!(get(&l, 1), Some(v.clone()));
            assert_eq!(from(&l, 1, false), vec![v.clone(), b"1".to_vec()]);
        }
    }

    #[test]
    fn random_ops_against_model() {
        let cases = [-5, -2, -1, 0, 1, 2, 3, 7, 128].into_iter().flat_map(|f| [(f, 0), (f, 1), (f, 2), (f, 3)]);
        for (fill, depth) in cases {
            let seed: u64 = rand::thread_rng().gen();
            let mut r = StdRng::seed_from_u64(seed);
            let mut l = List::new(fill, depth);
            let mut m: VecDeque<Vec<u8>> = VecDeque::new();
            for step in 0..4000 {
                let op = r.gen_range(0..10);
                match op {
                    0 | 1 => {
                        let v = value(&mut r);
                        let front = r.gen_bool(0.5);
                        l.push(&v, front);
                        if front {
                            m.push_front(v)
                        } else {
                            m.push_back(v)
                        }
                    }
                    2 => {
                        let front = r.gen_bool(0.5);
                        let a = l.pop(front);
                        let b = if front { m.pop_front() } else { m.pop_back() };
                        assert_eq!(a, b);
                    }
                    3 => {
                        let i = r.gen_range(0..=m.len());
                        let v = value(&mut r);
                        l.insert(i, &v);
                        m.insert(i, v);
                    }
                    4 if !m.is_empty() => {
                        let i = r.gen_range(0..m.len());
                        let v = value(&mut r);
                        assert!(l.set(i, &v));
                        m[i] = v;
                    }
                    5 => {
                        let s = r.gen_range(0..=m.len());
                        let n = r.gen_range(0..5);
                        l.remove_range(s, n);
                        let e = (s + n).min(m.len());
                        m.drain(s..e);
                    }
                    6 => {
                        let v = value(&mut r);
                        let limit = r.gen_range(0..3);
                        let tail = r.gen_bool(0.5);
                        let got = l.remove_matching(&v, limit, tail);
                        let mut removed = 0;
                        let idx: Vec<usize> = if tail { (0..m.len()).rev().collect() } else { (0..m.len()).collect() };
                        let mut dead = Vec::new();
                        for i in idx {
                            if m[i] == v && (limit == 0 || removed < limit) {
                                dead.push(i);
                                removed += 1;
                            }
                        }
                        dead.sort_unstable();
                        for i in dead.into_iter().rev() {
                            m.remove(i);
                        }
                        assert_eq!(got, removed);
                    }
                    7 if !m.is_empty() => {
                        let i = r.gen_range(0..m.len());
                        assert_eq!(get(&l, i), Some(m[i].clone()));
                        assert_eq!(from(&l, i, true), m.iter().skip(i).cloned().collect::<Vec<_>>());
                        assert_eq!(from(&l, i, false), m.iter().take(i + 1).rev().cloned().collect::<Vec<_>>());
                    }
                    _ => {}
                }
                if step % 97 == 0 || (depth > 0 && step % 7 == 0) {
                    check(&l, &m);
                }
            }
            check(&l, &m);
            let c = l.clone();
            check(&c, &m);
        }
    }

    /// A list of `n` elements of `size` compressible bytes, pushed at the
    /// tail, one element per node.
    fn one_per_node(n: usize, size: usize, depth: i32) -> List {
        let mut l = List::new(1, depth);
        for i in 0..n {
            l.push(format!("{i:0>size$}").as_bytes(), false);
        }
        l
    }

    /// Which nodes are compressed, as a string of `c` and `r`.
    fn pattern(l: &List) -> String {
        l.nodes.iter().map(|n| if n.is_compressed() { 'c' } else { 'r' }).collect()
    }

    #[test]
    fn node_compression_round_trip() {
        let l = one_per_node(3, 200, 1);
        let mut node = l.nodes[1].clone();
        assert!(node.is_compressed());
        assert!(node.buf.len() < NHDR + node.bytes() / 2, "{} bytes", node.buf.len());
        let mut scratch = Vec::new();
        let copy = node.entries(&mut scratch).to_vec();
        node.decompress();
        assert!(!node.is_compressed());
        assert_eq!(node.data(), &copy[..]);
        assert_eq!(node.cfg(), Cfg::new(1, 1));
        assert_eq!(decode(node.data(), 0).0.to_vec(), format!("{:0>200}", 1).into_bytes());
        node.compress();
        assert_eq!(node.buf, l.nodes[1].buf);
        // Settings survive in the header of a compressed node.
        assert_eq!(node.cfg(), Cfg::new(1, 1));
        assert_eq!((node.count(), node.bytes()), (1, copy.len()));
    }

    #[test]
    fn compression_thresholds() {
        // A string of n < 62 bytes takes n + 2 bytes: 46 gives a 48-byte node.
        for (n, compressed) in [(45, false), (46, true)] {
            let mut node = Node::with(&encode(&vec![b'a'; n]), Cfg::new(-2, 1));
            node.compress();
            assert_eq!(node.is_compressed(), compressed, "{} bytes", node.bytes());
        }
        // Exactly when the compressed form saves more than 8 bytes.
        let mut x: u32 = 7;
        let mut seen = [false; 2];
        for len in 46..400 {
            for alphabet in [2u32, 4, 16, 256] {
                let v: Vec<u8> = (0..len)
                    .map(|_| {
                        x = x.wrapping_mul(1103515245).wrapping_add(12345);
                        b'a'.wrapping_add(((x >> 16) % alphabet) as u8)
                    })
                    .collect();
                let mut node = Node::with(&encode(&v), Cfg::new(-2, 1));
                let raw = node.bytes();
                let clen = crate::lzf::compress(node.data(), raw).map_or(usize::MAX, |c| c.len());
                let pays = clen.saturating_add(MIN_COMPRESS_IMPROVE) < raw;
                seen[pays as usize] = true;
                node.compress();
                assert_eq!(node.is_compressed(), pays, "raw {raw} compressed {clen}");
                if !pays {
                    // Not tried again until the entries change.
                    assert!(node.word() & INCOMPRESSIBLE != 0);
                    node.insert(0, &encode(&[b'z'; 300]));
                    assert!(node.word() & INCOMPRESSIBLE == 0);
                }
            }
        }
        assert_eq!(seen, [true, true]);
    }

    #[test]
    fn depth_follows_pushes_and_pops_at_both_ends() {
        for depth in [1usize, 2, 3] {
            let mut l = List::new(1, depth as i32);
            let v = |i: usize| format!("{i:0>100}").into_bytes();
            let want =
                |n: usize| -> String { (0..n).map(|i| if i >= depth && i + depth < n { 'c' } else { 'r' }).collect() };
            let mut model = VecDeque::new();
            for i in 0..20 {
                let front = i % 3 == 0;
                l.push(&v(i), front);
                if front {
                    model.push_front(v(i));
                } else {
                    model.push_back(v(i));
                }
                assert_eq!(pattern(&l), want(model.len()), "depth {depth} after push {i}");
            }
            check(&l, &model);
            let full = l.heap_size();
            let mut plain = List::new(1, 0);
            for x in &model {
                plain.push(x, false);
            }
            assert!(full * 4 < plain.heap_size() * 3, "{full} vs {}", plain.heap_size());
            for i in 0..20 {
                let front = i % 2 == 0;
                let got = l.pop(front);
                assert_eq!(got, if front { model.pop_front() } else { model.pop_back() });
                assert_eq!(pattern(&l), want(model.len()), "depth {depth} after pop {i}");
            }
            assert!(l.is_empty());
            // Several nodes at once: LTRIM-like removals and pops with a count.
            let mut l = one_per_node(30, 100, depth as i32);
            l.remove_range(0, 7);
            assert_eq!(pattern(&l), want(23));
            l.remove_range(20, 3);
            assert_eq!(pattern(&l), want(20));
            l.remove_range(3, 10);
            assert_eq!(pattern(&l), want(10));
            l.remove_range(1, 8);
            assert_eq!(pattern(&l), want(2));
        }
    }

    #[test]
    fn changes_inside_a_compressed_list() {
        let mut l = one_per_node(12, 100, 1);
        let mut model: VecDeque<Vec<u8>> = l.to_vecs().into();
        assert_eq!(pattern(&l), "rccccccccccr");
        assert!(l.set(5, b"changed"));
        model[5] = b"changed".to_vec();
        l.insert(7, &[b'i'; 100]);
        model.insert(7, vec![b'i'; 100]);
        check(&l, &model);
        assert_eq!(l.remove_matching(&model[3].clone(), 0, false), 1);
        model.remove(3);
        check(&l, &model);
        assert_eq!(l.position(&model[9].clone()), Some(9));
        let c = l.clone();
        check(&c, &model);
        // Compression is per list: a list made with depth 0 stays raw.
        let mut raw = List::new(1, 0);
        for x in &model {
            raw.push(x, true);
        }
        assert_eq!(raw.compressed_nodes(), 0);
    }
}
