//! The stream type: entries packed in listpack nodes keyed by their master ID
//! (the layout Redis 7.0 keeps in its radix tree, so nodes are written to RDB
//! as they are), the stream's metadata (last, first and max-deleted IDs,
//! entries added) and its consumer groups with their pending-entries lists.
//!
//! A node is a listpack: `count deleted n-fields field... 0` (the master
//! entry), then per entry `flags ms-delta seq-delta [n-fields] [field] value
//! ... lp-count`; entries with the master's field names store only their
//! values (flag SAMEFIELDS), deleted entries stay in place flagged DELETED.

use super::sbytes::SBytes;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// A stream entry ID (`ms-seq`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Debug, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const ZERO: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId { ms: u64::MAX, seq: u64::MAX };

    pub fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    /// The next ID (Redis's `streamIncrID`); None past the last possible one.
    pub fn incr(self) -> Option<StreamId> {
        if self.seq == u64::MAX {
            if self.ms == u64::MAX {
                return None;
            }
            return Some(StreamId { ms: self.ms + 1, seq: 0 });
        }
        Some(StreamId { ms: self.ms, seq: self.seq + 1 })
    }

    /// The previous ID (Redis's `streamDecrID`); None before 0-0.
    pub fn decr(self) -> Option<StreamId> {
        if self.seq == 0 {
            if self.ms == 0 {
                return None;
            }
            return Some(StreamId { ms: self.ms - 1, seq: u64::MAX });
        }
        Some(StreamId { ms: self.ms, seq: self.seq - 1 })
    }

    pub fn is_zero(self) -> bool {
        self.ms == 0 && self.seq == 0
    }

    /// The 128-bit big-endian form used as radix-tree key and in RDB files.
    pub fn to_be_bytes(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.ms.to_be_bytes());
        b[8..].copy_from_slice(&self.seq.to_be_bytes());
        b
    }

    pub fn from_be_bytes(b: &[u8]) -> Option<StreamId> {
        if b.len() != 16 {
            return None;
        }
        let ms = u64::from_be_bytes(b[..8].try_into().ok()?);
        let seq = u64::from_be_bytes(b[8..].try_into().ok()?);
        Some(StreamId { ms, seq })
    }

    /// `ms-seq` text.
    pub fn to_text(self) -> String {
        format!("{}-{}", self.ms, self.seq)
    }
}

pub use super::listpack as lp;

use lp::Ele;

pub const FLAG_DELETED: i64 = 1;
pub const FLAG_SAMEFIELDS: i64 = 2;

/// Largest node / element size Redis accepts (`STREAM_LISTPACK_MAX_SIZE`).
pub const LISTPACK_MAX_SIZE: usize = 1 << 30;

/// The master entry of a node: live and deleted counts, field names.
struct Master {
    count: i64,
    deleted: i64,
    /// Positions of the master field names.
    fields: Vec<usize>,
    /// Position of the first entry.
    first: usize,
}

fn read_master(lp: &[u8]) -> Option<Master> {
    let (count, p) = lp::get_int(lp, lp::HEADER)?;
    let (deleted, p) = lp::get_int(lp, p)?;
    let (nf, mut p) = lp::get_int(lp, p)?;
    if nf < 0 || nf as usize > lp.len() {
        return None;
    }
    let mut fields = Vec::with_capacity(nf as usize);
    for _ in 0..nf {
        fields.push(p);
        p = lp::get(lp, p)?.1;
    }
    // The master terminator (0) may be the last element of an empty node.
    let first = match lp::get(lp, p) {
        Some((_, n)) => n,
        None => lp.len() - 1,
    };
    Some(Master { count, deleted, fields, first })
}

/// One entry inside a node, as located by a scan.
#[derive(Clone, Copy)]
struct RawEntry {
    id: StreamId,
    flags: i64,
    flags_pos: usize,
    /// Position of the first field (or value, with SAMEFIELDS).
    data: usize,
    nfields: usize,
    /// Position just after the entry (after its lp-count).
    end: usize,
}

fn read_entry(lp: &[u8], p: usize, master_id: StreamId, m: &Master) -> Option<RawEntry> {
    let (flags, q) = lp::get_int(lp, p)?;
    let (msd, q) = lp::get_int(lp, q)?;
    let (seqd, mut q) = lp::get_int(lp, q)?;
    let id = StreamId { ms: master_id.ms.wrapping_add(msd as u64), seq: master_id.seq.wrapping_add(seqd as u64) };
    let nfields;
    let mut items;
    if flags & FLAG_SAMEFIELDS != 0 {
        nfields = m.fields.len();
        items = nfields;
    } else {
        let (n, q2) = lp::get_int(lp, q)?;
        if n < 0 || n as usize > lp.len() {
            return None;
        }
        q = q2;
        nfields = n as usize;
        items = nfields * 2;
    }
    let data = q;
    while items > 0 {
        q = lp::get(lp, q)?.1;
        items -= 1;
    }
    // lp-count
    let end = match lp::get(lp, q) {
        Some((_, n)) => n,
        None => {
            if lp.get(q) == Some(&lp::EOF) {
                return None;
            }
            lp.len() - 1
        }
    };
    Some(RawEntry { id, flags, flags_pos: p, data, nfields, end })
}

/// The entry that ends at `p` (the start of the next entry, or the
/// terminator), found through its lp-count.
fn entry_before(lp: &[u8], p: usize, master_id: StreamId, m: &Master) -> Option<RawEntry> {
    let count_pos = lp::prev(lp, p)?;
    let (count, _) = lp::get_int(lp, count_pos)?;
    let mut q = count_pos;
    for _ in 0..usize::try_from(count).ok()? {
        q = lp::prev(lp, q)?;
    }
    if q < m.first {
        return None;
    }
    read_entry(lp, q, master_id, m)
}

/// Every entry of a node (deleted ones included), in order.
fn node_entries(lp: &[u8], master_id: StreamId) -> Option<(Master, Vec<RawEntry>)> {
    let m = read_master(lp)?;
    let out = node_entries_of(lp, master_id, &m)?;
    Some((m, out))
}

fn node_entries_of(lp: &[u8], master_id: StreamId, m: &Master) -> Option<Vec<RawEntry>> {
    let mut out = Vec::with_capacity((m.count + m.deleted).clamp(0, 1024) as usize);
    let mut p = m.first;
    while p < lp.len().saturating_sub(1) {
        let e = read_entry(lp, p, master_id, m)?;
        p = e.end;
        out.push(e);
    }
    Some(out)
}

/// The fields of one entry: (name, value) pairs.
pub type Fields<'a> = Vec<(Ele<'a>, Ele<'a>)>;

fn entry_fields<'a>(lp: &'a [u8], m: &Master, e: &RawEntry) -> Fields<'a> {
    let mut out = Vec::with_capacity(e.nfields);
    let mut p = e.data;
    for i in 0..e.nfields {
        if e.flags & FLAG_SAMEFIELDS != 0 {
            let Some((name, _)) = m.fields.get(i).and_then(|&fp| lp::get(lp, fp)) else { break };
            let Some((val, n)) = lp::get(lp, p) else { break };
            out.push((name, val));
            p = n;
        } else {
            let Some((name, n)) = lp::get(lp, p) else { break };
            let Some((val, n2)) = lp::get(lp, n) else { break };
            out.push((name, val));
            p = n2;
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Consumer groups

/// A pending entry: delivered to a consumer, not yet acknowledged.
#[derive(Clone, Debug)]
pub struct Nack {
    pub delivery_time: i64,
    pub delivery_count: u64,
    pub consumer: SBytes,
}

#[derive(Clone, Debug, Default)]
pub struct Consumer {
    pub seen_time: i64,
    pub pel: BTreeSet<StreamId>,
}

/// Redis's `SCG_INVALID_ENTRIES_READ`.
pub const INVALID_ENTRIES_READ: i64 = -1;

#[derive(Clone, Debug)]
pub struct Group {
    pub last_id: StreamId,
    pub entries_read: i64,
    pub pel: BTreeMap<StreamId, Nack>,
    pub consumers: BTreeMap<Vec<u8>, Consumer>,
}

impl Group {
    pub fn new(last_id: StreamId, entries_read: i64) -> Group {
        Group { last_id, entries_read, pel: BTreeMap::new(), consumers: BTreeMap::new() }
    }

    /// Removes a pending entry from the group and its consumer.
    pub fn remove_nack(&mut self, id: StreamId) -> Option<Nack> {
        let n = self.pel.remove(&id)?;
        if let Some(c) = self.consumers.get_mut(n.consumer.as_slice()) {
            c.pel.remove(&id);
        }
        Some(n)
    }

    /// Assigns the pending entry `id` to `consumer` (moving it from its owner).
    pub fn assign(&mut self, id: StreamId, consumer: &[u8]) {
        let Some(n) = self.pel.get_mut(&id) else { return };
        if n.consumer.as_slice() != consumer {
            if let Some(c) = self.consumers.get_mut(n.consumer.as_slice()) {
                c.pel.remove(&id);
            }
            n.consumer = SBytes::new(consumer);
        }
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pel.insert(id);
        }
    }

    /// Deletes a consumer and its pending entries; returns how many it had.
    pub fn del_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let c = self.consumers.remove(name)?;
        for id in &c.pel {
            self.pel.remove(id);
        }
        Some(c.pel.len())
    }
}

// ---------------------------------------------------------------------------
// Node storage

/// Closed (full) nodes are copied, a run at a time, into shared chunks of
/// this many bytes, one allocator size class exactly, so a node costs its
/// own length rather than that rounded up to its size class (a 2.2 KB node
/// otherwise takes a 2.5 KB block).
const CHUNK_BYTES: usize = 64 * 1024;

/// A run is packed only when it fills at least this much of a chunk.
const CHUNK_MIN_FILL: usize = CHUNK_BYTES - CHUNK_BYTES / 16;

/// Closed nodes side by side, never changed: a node that changes is copied
/// out of its chunk first.
struct Chunk {
    buf: Vec<u8>,
    /// How many nodes it was made with, and their first and last master IDs.
    nodes: usize,
    first: StreamId,
    last: StreamId,
}

/// One node's listpack: its own buffer (the tail that takes appends, a node
/// loaded or changed), or a slice of a chunk.
#[derive(Clone)]
pub struct Node(Repr);

#[derive(Clone)]
enum Repr {
    Own(Vec<u8>),
    Packed { chunk: Arc<Chunk>, off: u32, len: u32 },
}

impl Node {
    pub fn new(lp: Vec<u8>) -> Node {
        Node(Repr::Own(lp))
    }

    pub fn is_packed(&self) -> bool {
        matches!(self.0, Repr::Packed { .. })
    }

    /// Heap bytes this node accounts for.
    fn heap_size(&self) -> usize {
        match &self.0 {
            Repr::Own(v) => v.capacity(),
            Repr::Packed { len, .. } => *len as usize,
        }
    }

    /// The buffer, when the node has its own.
    fn own_mut(&mut self) -> Option<&mut Vec<u8>> {
        match &mut self.0 {
            Repr::Own(v) => Some(v),
            Repr::Packed { .. } => None,
        }
    }

    /// Gives a packed node its own exact-size copy; returns the chunk it
    /// left (the reference it held).
    fn unpack(&mut self) -> Option<Arc<Chunk>> {
        if !self.is_packed() {
            return None;
        }
        let own = Repr::Own(self.to_vec());
        match std::mem::replace(&mut self.0, own) {
            Repr::Packed { chunk, .. } => Some(chunk),
            Repr::Own(_) => None,
        }
    }

    /// A full node's buffer cut to its length (the allocator keeps a block
    /// that shrinks in place at its old size, so this is a copy).
    fn shrink(&mut self) {
        if let Repr::Own(v) = &mut self.0 {
            if v.capacity() > v.len() {
                *v = v.as_slice().to_vec();
            }
        }
    }
}

impl std::ops::Deref for Node {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.0 {
            Repr::Own(v) => v,
            Repr::Packed { chunk, off, len } => {
                chunk.buf.get(*off as usize..*off as usize + *len as usize).unwrap_or_default()
            }
        }
    }
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

/// The nodes keyed by master ID (the map of Redis's radix tree).
#[derive(Clone, Default)]
pub struct Nodes(BTreeMap<StreamId, Node>);

impl std::ops::Deref for Nodes {
    type Target = BTreeMap<StreamId, Node>;

    fn deref(&self) -> &BTreeMap<StreamId, Node> {
        &self.0
    }
}

impl std::fmt::Debug for Nodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.0.iter()).finish()
    }
}

impl Nodes {
    /// Adds a node (RDB loading, RESTORE). Nodes come in order, so the
    /// closed ones before it are packed as they would have been by appends.
    pub fn insert(&mut self, master: StreamId, lp: Vec<u8>) -> Option<Node> {
        let len = lp.len();
        let old = self.0.insert(master, Node::new(lp));
        if old.is_none() && self.0.keys().next_back() == Some(&master) {
            if let Some((&prev, _)) = self.0.range(..master).next_back() {
                self.pack_run(prev, len);
            }
        }
        old
    }

    /// Packs the run of closed, unpacked nodes that ends at `end` into a
    /// chunk once a further node of `next_len` bytes would not fit in it.
    fn pack_run(&mut self, end: StreamId, next_len: usize) {
        let mut run = Vec::new();
        let mut sum = 0usize;
        for (&k, n) in self.0.range(..=end).rev() {
            if n.is_packed() || sum + n.len() > CHUNK_BYTES {
                break;
            }
            sum += n.len();
            run.push(k);
        }
        if run.len() < 2 || sum < CHUNK_MIN_FILL || sum + next_len <= CHUNK_BYTES {
            return;
        }
        run.reverse();
        let mut buf = Vec::with_capacity(CHUNK_BYTES);
        let mut spans = Vec::with_capacity(run.len());
        for k in &run {
            let Some(n) = self.0.get(k) else { return };
            spans.push((buf.len() as u32, n.len() as u32));
            buf.extend_from_slice(n);
        }
        let (Some(&first), Some(&last)) = (run.first(), run.last()) else { return };
        let chunk = Arc::new(Chunk { buf, nodes: run.len(), first, last });
        for (k, (off, len)) in run.iter().zip(spans) {
            if let Some(n) = self.0.get_mut(k) {
                n.0 = Repr::Packed { chunk: chunk.clone(), off, len };
            }
        }
    }

    /// A node that left `chunk` (removed or unpacked; `chunk` is the
    /// reference it held): once a quarter of the chunk's nodes are gone,
    /// the rest are given their own copies so the chunk is freed rather
    /// than kept for a few nodes.
    fn release(&mut self, chunk: Arc<Chunk>) {
        let left = Arc::strong_count(&chunk) - 1;
        if left * 4 >= chunk.nodes * 3 || chunk.first > chunk.last {
            return;
        }
        for (_, n) in self.0.range_mut(chunk.first..=chunk.last) {
            if matches!(&n.0, Repr::Packed { chunk: c, .. } if Arc::ptr_eq(c, &chunk)) {
                n.unpack();
            }
        }
    }

    /// The node at `master`, with a buffer of its own to change.
    fn get_own(&mut self, master: StreamId) -> Option<&mut Vec<u8>> {
        if let Some(chunk) = self.0.get_mut(&master)?.unpack() {
            self.release(chunk);
        }
        self.0.get_mut(&master)?.own_mut()
    }

    /// Removes a node.
    fn remove_node(&mut self, master: StreamId) {
        if let Some(Node(Repr::Packed { chunk, .. })) = self.0.remove(&master) {
            self.release(chunk);
        }
    }
}

// ---------------------------------------------------------------------------
// The stream

#[derive(Clone, Debug, Default)]
pub struct Stream {
    /// Nodes keyed by master ID.
    pub nodes: Nodes,
    pub length: u64,
    pub last_id: StreamId,
    pub first_id: StreamId,
    pub max_deleted_entry_id: StreamId,
    pub entries_added: u64,
    pub cgroups: Option<Box<BTreeMap<Vec<u8>, Group>>>,
}

/// How XADD chooses the new entry's ID.
#[derive(Clone, Copy, Debug)]
pub enum IdSpec {
    /// `*`: from the clock.
    Auto,
    /// `ms-*`: the sequence is generated.
    Ms(u64),
    /// `ms-seq`.
    Exact(StreamId),
}

#[derive(Debug, PartialEq, Eq)]
pub enum AppendError {
    /// The ID is not greater than the top item (EDOM).
    IdTooSmall,
    /// Elements too large (ERANGE).
    TooLarge,
}

/// Trimming as XADD/XTRIM ask for it.
#[derive(Clone, Copy, Debug)]
pub enum TrimStrategy {
    None,
    MaxLen(u64),
    MinId(StreamId),
}

#[derive(Clone, Copy, Debug)]
pub struct TrimArgs {
    pub strategy: TrimStrategy,
    pub approx: bool,
    /// 0 = no limit.
    pub limit: i64,
}

/// Node size limits (`stream-node-max-bytes`, `stream-node-max-entries`).
#[derive(Clone, Copy, Debug)]
pub struct NodeLimits {
    pub max_bytes: usize,
    pub max_entries: i64,
}

impl Stream {
    pub fn new() -> Stream {
        Stream::default()
    }

    pub fn len(&self) -> u64 {
        self.length
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Approximate heap bytes.
    pub fn heap_size(&self) -> usize {
        let mut n = std::mem::size_of::<Stream>();
        for lp in self.nodes.values() {
            n += lp.heap_size() + 48;
        }
        if let Some(g) = &self.cgroups {
            for (name, grp) in g.iter() {
                n += name.len() + 64 + grp.pel.len() * 64;
                for (cn, c) in &grp.consumers {
                    n += cn.len() + 64 + c.pel.len() * 24;
                }
            }
        }
        n
    }

    /// Adds an entry (Redis's `streamAppendItem`). `fv` holds field, value, ...
    pub fn append(
        &mut self,
        fv: &[&[u8]],
        spec: IdSpec,
        lim: NodeLimits,
        now_ms: u64,
    ) -> Result<StreamId, AppendError> {
        let id = match spec {
            IdSpec::Exact(id) => id,
            IdSpec::Ms(ms) => {
                if self.last_id.ms == ms {
                    if self.last_id.seq == u64::MAX {
                        // Redis 7.0 fails here without setting errno to EDOM,
                        // so XADD reports the other error.
                        return Err(AppendError::TooLarge);
                    }
                    StreamId { ms, seq: self.last_id.seq + 1 }
                } else {
                    StreamId { ms, seq: 0 }
                }
            }
            IdSpec::Auto => {
                if now_ms > self.last_id.ms {
                    StreamId { ms: now_ms, seq: 0 }
                } else {
                    self.last_id.incr().unwrap_or(StreamId::ZERO)
                }
            }
        };
        if id <= self.last_id {
            return Err(AppendError::IdTooSmall);
        }
        let numfields = fv.len() / 2;
        let totelelen: usize = fv.iter().map(|s| s.len()).sum();
        if totelelen > LISTPACK_MAX_SIZE {
            return Err(AppendError::TooLarge);
        }
        // Can the tail node take it?
        let mut use_tail = false;
        let mut tail_packed = false;
        let mut closed = None;
        if let Some((&tail, lp)) = self.nodes.iter().next_back() {
            let mut max_bytes = lim.max_bytes;
            if max_bytes == 0 || max_bytes > LISTPACK_MAX_SIZE {
                max_bytes = LISTPACK_MAX_SIZE;
            }
            let mut full = lp.len() + totelelen >= max_bytes;
            if !full && lim.max_entries != 0 {
                let count = lp::get_int(lp, lp::HEADER).map_or(0, |x| x.0);
                let deleted = lp::get_int(lp, lp::HEADER).and_then(|(_, p)| lp::get_int(lp, p)).map_or(0, |x| x.0);
                if count.saturating_add(deleted) >= lim.max_entries {
                    full = true;
                }
            }
            if full {
                closed = Some((tail, lp.len()));
            } else {
                use_tail = true;
                tail_packed = lp.is_packed();
            }
        }
        if let Some((tail, len)) = closed {
            // The full node gets exactly its size (shrinking in place would
            // keep the bigger block: the allocator does not move a block
            // that stays over half its size), then goes in a chunk with the
            // nodes closed before it once they fill one.
            if let Some(n) = self.nodes.0.get_mut(&tail) {
                n.shrink();
            }
            self.nodes.pack_run(tail, len);
        }
        let mut flags = 0i64;
        if !use_tail {
            let mut lp = if self.nodes.is_empty() {
                lp::new()
            } else {
                // The previous node filled up: room for a whole node, so
                // appends never reallocate (a small stream grows as needed).
                lp::with_capacity(lim.max_bytes.clamp(64, 4096))
            };
            lp::append_int(&mut lp, 1);
            lp::append_int(&mut lp, 0);
            lp::append_int(&mut lp, numfields as i64);
            for i in 0..numfields {
                lp::append_str(&mut lp, fv[i * 2]);
            }
            lp::append_int(&mut lp, 0);
            self.nodes.0.insert(id, Node::new(lp));
            flags |= FLAG_SAMEFIELDS;
        } else if tail_packed {
            // A node packed when it closed takes entries again (the nodes
            // after it were deleted): it gets its own buffer back.
            if let Some(&mid) = self.nodes.keys().next_back() {
                self.nodes.get_own(mid);
            }
        }
        let Some(tail) = self.nodes.0.last_entry() else { return Err(AppendError::IdTooSmall) };
        let master_id = *tail.key();
        let Some(lp) = tail.into_mut().own_mut() else { return Err(AppendError::IdTooSmall) };
        if use_tail {
            let (count, _) = lp::get_int(lp, lp::HEADER).unwrap_or((0, 0));
            lp::replace_int(lp, lp::HEADER, count.saturating_add(1));
            if let Some(m) = read_master(lp) {
                if m.fields.len() == numfields
                    && m.fields
                        .iter()
                        .enumerate()
                        .all(|(i, &p)| lp::get(lp, p).is_some_and(|(e, _)| e.eq_bytes(fv[i * 2])))
                {
                    flags |= FLAG_SAMEFIELDS;
                }
            }
        }
        lp::append_int(lp, flags);
        lp::append_int(lp, id.ms.wrapping_sub(master_id.ms) as i64);
        lp::append_int(lp, id.seq.wrapping_sub(master_id.seq) as i64);
        if flags & FLAG_SAMEFIELDS == 0 {
            lp::append_int(lp, numfields as i64);
        }
        for i in 0..numfields {
            if flags & FLAG_SAMEFIELDS == 0 {
                lp::append_str(lp, fv[i * 2]);
            }
            lp::append_str(lp, fv[i * 2 + 1]);
        }
        let mut lp_count = numfields as i64 + 3;
        if flags & FLAG_SAMEFIELDS == 0 {
            lp_count += numfields as i64 + 1;
        }
        lp::append_int(lp, lp_count);
        self.length += 1;
        self.entries_added = self.entries_added.wrapping_add(1);
        self.last_id = id;
        if self.length == 1 {
            self.first_id = id;
        }
        Ok(id)
    }

    /// Calls `f(id, fields)` for each live entry with `start <= id <= end`, in
    /// order (reverse order when `rev`), until it returns false.
    pub fn range(&self, start: StreamId, end: StreamId, rev: bool, mut f: impl FnMut(StreamId, &Fields) -> bool) {
        if start > end {
            return;
        }
        let first_key = self.nodes.range(..=start).next_back().map(|(k, _)| *k).unwrap_or(start);
        let iter: Box<dyn Iterator<Item = (&StreamId, &Node)>> = if rev {
            Box::new(self.nodes.range(first_key..=end).rev())
        } else {
            Box::new(self.nodes.range(first_key..=end))
        };
        for (&mid, lp) in iter {
            let Some(m) = read_master(lp) else { continue };
            // As Redis's iterator: tombstones are skipped without looking at
            // their IDs; the first live entry past the range ends the walk.
            // Forward walks read entries as they go (a COUNT 1 read decodes
            // one entry, not the node); backward walks list the node first.
            if !rev {
                let mut p = m.first;
                while p < lp.len().saturating_sub(1) {
                    let Some(e) = read_entry(lp, p, mid, &m) else { break };
                    p = e.end;
                    if e.flags & FLAG_DELETED != 0 || e.id < start {
                        continue;
                    }
                    if e.id > end || !f(e.id, &entry_fields(lp, &m, &e)) {
                        return;
                    }
                }
                continue;
            }
            // Backward: each entry ends with its element count (lp-count),
            // which leads from its end to its start.
            let mut p = lp.len().saturating_sub(1);
            while p > m.first {
                let Some(e) = entry_before(lp, p, mid, &m) else { break };
                p = e.flags_pos;
                if e.flags & FLAG_DELETED != 0 || e.id > end {
                    continue;
                }
                if e.id < start || !f(e.id, &entry_fields(lp, &m, &e)) {
                    return;
                }
            }
        }
    }

    /// The first (or last) live entry ID (Redis's `streamGetEdgeID` skipping
    /// tombstones); None when the stream is empty.
    pub fn edge_id(&self, first: bool) -> Option<StreamId> {
        let mut out = None;
        self.range(StreamId::ZERO, StreamId::MAX, !first, |id, _| {
            out = Some(id);
            false
        });
        out
    }

    /// The last live ID, or 0-0 (Redis's `streamLastValidID`).
    pub fn last_valid_id(&self) -> StreamId {
        self.edge_id(false).unwrap_or(StreamId::ZERO)
    }

    pub fn entry_exists(&self, id: StreamId) -> bool {
        let mut found = false;
        self.range(id, id, false, |_, _| {
            found = true;
            false
        });
        found
    }

    /// Marks entry `id` deleted (Redis's `streamDeleteItem`).
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some((&mid, lp)) = self.nodes.range(..=id).next_back() else { return false };
        let Some((m, entries)) = node_entries(lp, mid) else { return false };
        let Some(e) = entries.iter().find(|e| e.id == id && e.flags & FLAG_DELETED == 0).copied() else {
            return false;
        };
        if m.count == 1 {
            self.nodes.remove_node(mid);
        } else {
            let Some(lp) = self.nodes.get_own(mid) else { return false };
            lp::replace_int(lp, e.flags_pos, e.flags | FLAG_DELETED);
            lp::replace_int(lp, lp::HEADER, m.count - 1);
            if let Some((_, p)) = lp::get(lp, lp::HEADER) {
                lp::replace_int(lp, p, m.deleted + 1);
            }
        }
        self.length = self.length.saturating_sub(1);
        true
    }

    /// Trims the stream (Redis's `streamTrim`); returns the entries removed.
    pub fn trim(&mut self, a: &TrimArgs) -> i64 {
        if let TrimStrategy::None = a.strategy {
            return 0;
        }
        let mut deleted: i64 = 0;
        // Each pass either removes the first node or stops, so the node to
        // look at is always the first one.
        while let Some(&mid) = self.nodes.keys().next() {
            if let TrimStrategy::MaxLen(max) = a.strategy {
                if self.length <= max {
                    break;
                }
            }
            let Some(lp) = self.nodes.get(&mid) else { break };
            let Some((m, entries)) = node_entries(lp, mid) else { break };
            let count = m.count;
            if a.limit != 0 && deleted.saturating_add(count) > a.limit {
                break;
            }
            let remove = match a.strategy {
                TrimStrategy::MaxLen(max) => self.length.saturating_sub(count.max(0) as u64) >= max,
                TrimStrategy::MinId(min) => entries.last().map_or(mid, |e| e.id) < min,
                TrimStrategy::None => false,
            };
            if remove {
                self.nodes.remove_node(mid);
                self.length = self.length.saturating_sub(count.max(0) as u64);
                deleted += count;
                continue;
            }
            if a.approx {
                break;
            }
            let Some(lp) = self.nodes.get_own(mid) else { break };
            let mut from_lp = 0i64;
            for e in &entries {
                let stop = match a.strategy {
                    TrimStrategy::MaxLen(max) => self.length <= max,
                    TrimStrategy::MinId(min) => e.id >= min,
                    TrimStrategy::None => true,
                };
                if stop {
                    break;
                }
                if e.flags & FLAG_DELETED == 0 {
                    // Same encoded size (flags are tiny), so positions hold.
                    lp::replace_int(lp, e.flags_pos, e.flags | FLAG_DELETED);
                    from_lp += 1;
                    self.length = self.length.saturating_sub(1);
                }
            }
            deleted += from_lp;
            lp::replace_int(lp, lp::HEADER, count - from_lp);
            if let Some((_, p)) = lp::get(lp, lp::HEADER) {
                lp::replace_int(lp, p, m.deleted + from_lp);
            }
            break;
        }
        if self.length > 0 {
            self.first_id = self.edge_id(true).unwrap_or(StreamId::ZERO);
        } else {
            self.first_id = StreamId::ZERO;
        }
        deleted
    }

    /// Redis's `streamRangeHasTombstones`.
    pub fn range_has_tombstones(&self, start: Option<StreamId>, end: Option<StreamId>) -> bool {
        if self.length == 0 || self.max_deleted_entry_id.is_zero() {
            return false;
        }
        if self.first_id > self.max_deleted_entry_id {
            return false;
        }
        let s = start.unwrap_or(StreamId::ZERO);
        let e = end.unwrap_or(StreamId::MAX);
        s <= self.max_deleted_entry_id && self.max_deleted_entry_id <= e
    }

    /// Redis's `streamEstimateDistanceFromFirstEverEntry`.
    pub fn estimate_distance(&self, id: StreamId) -> i64 {
        if self.entries_added == 0 {
            return 0;
        }
        if self.length == 0 && id <= self.last_id {
            return self.entries_added as i64;
        }
        if id == self.last_id {
            return self.entries_added as i64;
        } else if id > self.last_id {
            return INVALID_ENTRIES_READ;
        }
        if self.max_deleted_entry_id.is_zero() || self.max_deleted_entry_id < self.first_id {
            if id < self.first_id {
                return self.entries_added.wrapping_sub(self.length) as i64;
            } else if id == self.first_id {
                return self.entries_added.wrapping_sub(self.length).wrapping_add(1) as i64;
            }
        }
        INVALID_ENTRIES_READ
    }

    /// The lag of a group, None when it cannot be computed.
    pub fn group_lag(&self, g: &Group) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if g.entries_read != INVALID_ENTRIES_READ && !self.range_has_tombstones(Some(g.last_id), None) {
            return Some((self.entries_added as i64).wrapping_sub(g.entries_read));
        }
        let er = self.estimate_distance(g.last_id);
        if er != INVALID_ENTRIES_READ {
            return Some((self.entries_added as i64).wrapping_sub(er));
        }
        None
    }

    /// How many nodes Redis's radix tree holding these node keys has: the
    /// head, one node per compressed chain, per branching point and per key.
    pub fn rax_nodes(&self) -> u64 {
        let keys: Vec<[u8; 16]> = self.nodes.keys().map(|k| k.to_be_bytes()).collect();
        if keys.is_empty() {
            return 1;
        }
        fn count(keys: &[[u8; 16]], depth: usize) -> u64 {
            if depth == 16 {
                return 1;
            }
            // Common prefix of the (sorted) keys from `depth`.
            let first = &keys[0];
            let last = &keys[keys.len() - 1];
            let mut p = depth;
            while p < 16 && first[p] == last[p] {
                p += 1;
            }
            if p > depth {
                return 1 + count(keys, p);
            }
            // A branching node, then each child.
            let mut n = 1;
            let mut i = 0;
            while i < keys.len() {
                let c = keys[i][depth];
                let mut j = i;
                while j < keys.len() && keys[j][depth] == c {
                    j += 1;
                }
                n += count(&keys[i..j], depth + 1);
                i = j;
            }
            n
        }
        count(&keys, 0)
    }

    pub fn groups(&self) -> impl Iterator<Item = (&Vec<u8>, &Group)> {
        self.cgroups.iter().flat_map(|g| g.iter())
    }

    pub fn group_count(&self) -> usize {
        self.cgroups.as_ref().map_or(0, |g| g.len())
    }

    pub fn group(&self, name: &[u8]) -> Option<&Group> {
        self.cgroups.as_ref()?.get(name)
    }

    pub fn group_mut(&mut self, name: &[u8]) -> Option<&mut Group> {
        self.cgroups.as_mut()?.get_mut(name)
    }

    /// Creates a group; false when the name exists.
    pub fn create_group(&mut self, name: &[u8], last_id: StreamId, entries_read: i64) -> bool {
        let g = self.cgroups.get_or_insert_with(Default::default);
        if g.contains_key(name) {
            return false;
        }
        g.insert(name.to_vec(), Group::new(last_id, entries_read));
        true
    }

    pub fn destroy_group(&mut self, name: &[u8]) -> bool {
        self.cgroups.as_mut().is_some_and(|g| g.remove(name).is_some())
    }

    /// Node listpacks with their master IDs, in order (for RDB).
    pub fn node_iter(&self) -> impl Iterator<Item = (&StreamId, &[u8])> {
        self.nodes.iter().map(|(k, n)| (k, &**n))
    }

    /// Checks a node loaded from outside (RDB, RESTORE): the listpack's
    /// framing, the master entry and every entry (flags, lp-count, live IDs
    /// in increasing order, counts matching the master entry). Returns the
    /// live count and the node's first and last live IDs.
    pub fn validate_node(lp: &[u8], master: StreamId) -> Option<(i64, Option<(StreamId, StreamId)>)> {
        lp::validate(lp)?;
        let m = read_master(lp)?;
        if m.count < 0 || m.deleted < 0 {
            return None;
        }
        // The master terminator must be 0.
        let term_pos = match m.fields.last() {
            Some(&p) => lp::get(lp, p)?.1,
            None => lp::get(lp, lp::get(lp, lp::get(lp, lp::HEADER)?.1)?.1)?.1,
        };
        if lp::get_int(lp, term_pos)?.0 != 0 {
            return None;
        }
        let mut p = m.first;
        let (mut live, mut dead) = (0i64, 0i64);
        let mut prev: Option<StreamId> = None;
        let mut first = None;
        while p < lp.len() - 1 {
            let (flags, _) = lp::get(lp, p)?;
            let Ele::Int(flags) = flags else { return None };
            if !(0..=3).contains(&flags) {
                return None;
            }
            let e = read_entry(lp, p, master, &m)?;
            // lp-count must match the entry's element count.
            let lp_count_pos = {
                let mut q = e.data;
                let items = if flags & FLAG_SAMEFIELDS != 0 { e.nfields } else { e.nfields * 2 };
                for _ in 0..items {
                    q = lp::get(lp, q)?.1;
                }
                q
            };
            let (lc, _) = lp::get(lp, lp_count_pos)?;
            let expect = if flags & FLAG_SAMEFIELDS != 0 { e.nfields as i64 + 3 } else { e.nfields as i64 * 2 + 4 };
            if lc != Ele::Int(expect) {
                return None;
            }
            // Live entries are in increasing order (tombstones may not be:
            // XSETID can move the top below a deleted tail).
            if flags & FLAG_DELETED != 0 {
                dead += 1;
            } else {
                if prev.is_some_and(|pv| e.id <= pv) {
                    return None;
                }
                prev = Some(e.id);
                if first.is_none() {
                    first = Some(e.id);
                }
                live += 1;
            }
            p = e.end;
        }
        if live != m.count || dead != m.deleted {
            return None;
        }
        Some((m.count, first.zip(prev)))
    }
}

/// Parses a stream ID as Redis's `streamGenericParseIDOrReply`. `missing_seq`
/// fills an omitted sequence; `strict` refuses `-` and `+`; `allow_seq_star`
/// accepts `ms-*` (XADD), reported through the second value (false when the
/// sequence is to be generated).
pub fn parse_id(s: &[u8], missing_seq: u64, strict: bool, allow_seq_star: bool) -> Option<(StreamId, bool)> {
    if s.len() > 127 {
        return None;
    }
    // C string semantics: the text ends at the first NUL.
    let s = match s.iter().position(|&b| b == 0) {
        Some(i) => &s[..i],
        None => s,
    };
    if strict && (s == b"-" || s == b"+") {
        return None;
    }
    if s == b"-" {
        return Some((StreamId::ZERO, true));
    }
    if s == b"+" {
        return Some((StreamId::MAX, true));
    }
    let (ms_part, seq_part) = match s.iter().position(|&b| b == b'-') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let ms = string2ull(ms_part)?;
    let mut seq_given = true;
    let seq = match seq_part {
        Some(b"*") if allow_seq_star => {
            seq_given = false;
            0
        }
        Some(p) => string2ull(p)?,
        None => missing_seq,
    };
    Some((StreamId { ms, seq }, seq_given))
}

/// Redis's `string2ull`: a strict integer, else what C's `strtoull` accepts
/// (leading spaces, a sign, the whole string used, no overflow).
pub fn string2ull(s: &[u8]) -> Option<u64> {
    if let Some(v) = crate::util::parse_i64(s) {
        return if v < 0 { None } else { Some(v as u64) };
    }
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    let digits = &s[i..];
    if digits.is_empty() || !digits.iter().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v.checked_mul(10)?.checked_add((d - b'0') as u64)?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim() -> NodeLimits {
        NodeLimits { max_bytes: 4096, max_entries: 100 }
    }

    #[test]
    fn append_range_delete() {
        let mut s = Stream::new();
        for i in 1..=250u64 {
            let v = i.to_string();
            s.append(&[b"f", v.as_bytes()], IdSpec::Exact(StreamId::new(i, 0)), lim(), 0).expect("append");
        }
        assert_eq!(s.len(), 250);
        assert_eq!(s.nodes.len(), 3);
        let mut n = 0;
        s.range(StreamId::ZERO, StreamId::MAX, false, |_, _| {
            n += 1;
            true
        });
        assert_eq!(n, 250);
        assert!(s.delete(StreamId::new(5, 0)));
        assert!(!s.delete(StreamId::new(5, 0)));
        assert_eq!(s.len(), 249);
        for (k, lp) in s.nodes.iter() {
            assert!(Stream::validate_node(lp, *k).is_some());
        }
        let t = TrimArgs { strategy: TrimStrategy::MaxLen(10), approx: false, limit: 0 };
        assert_eq!(s.trim(&t), 239);
        assert_eq!(s.len(), 10);
        assert_eq!(s.first_id, StreamId::new(241, 0));
    }

    #[test]
    fn parse_ids() {
        assert_eq!(parse_id(b"1-2", 0, true, false), Some((StreamId::new(1, 2), true)));
        assert_eq!(parse_id(b"5", 7, true, false), Some((StreamId::new(5, 7), true)));
        assert_eq!(parse_id(b"-", 0, true, false), None);
        assert_eq!(parse_id(b"+", 0, false, false), Some((StreamId::MAX, true)));
        assert_eq!(parse_id(b"3-*", 0, true, true), Some((StreamId::new(3, 0), false)));
        assert_eq!(parse_id(b"18446744073709551615-1", 0, true, false), Some((StreamId::new(u64::MAX, 1), true)));
        assert_eq!(parse_id(b"18446744073709551616", 0, true, false), None);
        assert_eq!(parse_id(b"+5", 0, true, false), Some((StreamId::new(5, 0), true)));
    }

    #[test]
    fn rax_node_counts() {
        let mut s = Stream::new();
        assert_eq!(s.rax_nodes(), 1);
        s.nodes.insert(StreamId::new(1, 1), lp::new());
        assert_eq!(s.rax_nodes(), 2);
    }

    type Entries = Vec<(StreamId, Vec<(Vec<u8>, Vec<u8>)>)>;

    fn entries(s: &Stream) -> Entries {
        let mut out = Vec::new();
        s.range(StreamId::ZERO, StreamId::MAX, false, |id, f| {
            out.push((id, f.iter().map(|(a, b)| (a.to_vec(), b.to_vec())).collect()));
            true
        });
        out
    }

    fn filled(n: u64, lim: NodeLimits) -> Stream {
        let mut s = Stream::new();
        for i in 1..=n {
            let v = format!("value{i}");
            s.append(&[b"field", v.as_bytes()], IdSpec::Exact(StreamId::new(1000 + i / 3, i)), lim, 0).expect("append");
        }
        s
    }

    fn packed(s: &Stream) -> usize {
        s.nodes.values().filter(|n| n.is_packed()).count()
    }

    fn check_nodes(s: &Stream) {
        for (k, lp) in s.node_iter() {
            assert!(Stream::validate_node(lp, *k).is_some(), "node {k:?}");
        }
    }

    #[test]
    fn closed_nodes_are_packed_in_chunks() {
        let s = filled(10_000, lim());
        assert_eq!(s.nodes.len(), 100);
        // Nodes of about 2 KB: a chunk takes ~30 of them; the tail and the
        // last closed ones are left out.
        let p = packed(&s);
        assert!((60..=99).contains(&p), "{p} packed");
        assert!(!s.nodes.values().next_back().is_some_and(|n| n.is_packed()));
        check_nodes(&s);
        let all = entries(&s);
        assert_eq!(all.len(), 10_000);
        for (i, (id, f)) in all.iter().enumerate() {
            let i = i as u64 + 1;
            assert_eq!(*id, StreamId::new(1000 + i / 3, i));
            assert_eq!(f, &vec![(b"field".to_vec(), format!("value{i}").into_bytes())]);
        }
        // Backwards too.
        let mut rev = Vec::new();
        s.range(StreamId::ZERO, StreamId::MAX, true, |id, _| {
            rev.push(id);
            true
        });
        assert_eq!(rev.len(), 10_000);
        assert!(rev.windows(2).all(|w| w[0] > w[1]));
        // Packed nodes cost their length: well under 2.5 KB per node.
        let bytes: usize = s.nodes.values().map(|n| n.len()).sum();
        assert!(s.heap_size() < bytes + 100 * 64 + 8192, "{} vs {bytes}", s.heap_size());
        // Small nodes are packed too, many to a chunk.
        let small = filled(3000, NodeLimits { max_bytes: 4096, max_entries: 5 });
        assert!(packed(&small) > 500);
        assert_eq!(entries(&small).len(), 3000);
        // Nodes bigger than a chunk allows stay on their own.
        let mut big = Stream::new();
        let v = vec![b'x'; 40_000];
        for i in 1..=20 {
            big.append(&[b"f", &v], IdSpec::Exact(StreamId::new(i, 0)), lim(), 0).expect("append");
        }
        assert_eq!(big.nodes.len(), 20);
        assert_eq!(packed(&big), 0);
    }

    #[test]
    fn packed_nodes_change_through_copies() {
        let mut s = filled(10_000, lim());
        let mut want = entries(&s);
        let copy = s.clone();
        // Deleting in a packed node gives it its own buffer.
        let (&first, _) = s.nodes.iter().find(|(_, n)| n.is_packed()).expect("a packed node");
        let victim = StreamId::new(1000 + first.seq / 3 + 1, first.seq + 3);
        assert!(s.delete(victim));
        assert!(!s.delete(victim));
        want.retain(|(id, _)| *id != victim);
        assert!(!s.nodes[&first].is_packed());
        assert_eq!(entries(&s), want);
        check_nodes(&s);
        // The copy still has everything.
        assert_eq!(entries(&copy).len(), 10_000);
        // Deleting whole nodes: once a quarter of a chunk's nodes are gone,
        // the rest get their own buffers and the chunk is freed.
        let mut t = filled(10_000, lim());
        let before = packed(&t);
        let ids: Vec<StreamId> = entries(&t).iter().map(|e| e.0).take(1500).collect();
        for id in &ids {
            assert!(t.delete(*id));
        }
        assert!(packed(&t) < before - 15, "{} of {before}", packed(&t));
        let left = entries(&t);
        assert_eq!(left.len(), 8500);
        assert_eq!(left[0].0, entries(&copy)[1500].0);
        check_nodes(&t);
        // Trimming, exact and approximate, over packed nodes.
        let mut u = filled(10_000, lim());
        let all = entries(&u);
        let removed = u.trim(&TrimArgs { strategy: TrimStrategy::MaxLen(7777), approx: false, limit: 0 });
        assert_eq!(removed, 2223);
        assert_eq!(entries(&u), all[2223..].to_vec());
        assert_eq!(u.first_id, all[2223].0);
        check_nodes(&u);
        let removed = u.trim(&TrimArgs { strategy: TrimStrategy::MaxLen(5000), approx: true, limit: 0 });
        assert_eq!(u.len(), 7777 - removed as u64);
        assert_eq!(entries(&u), all[10_000 - u.len() as usize..].to_vec());
        check_nodes(&u);
    }

    #[test]
    fn a_packed_tail_takes_entries_again() {
        // Nodes closed by size: each ~4 KB, so 15 fill a chunk.
        let l = NodeLimits { max_bytes: 4096, max_entries: 0 };
        let mut s = Stream::new();
        let v = vec![b'v'; 200];
        for i in 1..=400u64 {
            s.append(&[b"f", &v], IdSpec::Exact(StreamId::new(i, 0)), l, 0).expect("append");
        }
        assert!(packed(&s) >= 15);
        // Empty every node after the last packed one.
        let last_packed = *s.nodes.iter().rev().find(|(_, n)| n.is_packed()).expect("packed").0;
        let later: Vec<StreamId> = entries(&s).iter().map(|e| e.0).filter(|&id| id > last_packed).collect();
        let later: Vec<StreamId> = later
            .into_iter()
            .filter(|&id| s.nodes.range(..=id).next_back().is_some_and(|(k, _)| *k > last_packed))
            .collect();
        for id in later {
            assert!(s.delete(id));
        }
        assert_eq!(s.nodes.keys().next_back(), Some(&last_packed));
        assert!(s.nodes[&last_packed].is_packed());
        // A small entry fits in it again.
        let id = s.append(&[b"f", b"small"], IdSpec::Exact(StreamId::new(10_000, 0)), l, 0).expect("append");
        assert_eq!(s.nodes.keys().next_back(), Some(&last_packed));
        assert!(!s.nodes[&last_packed].is_packed());
        let all = entries(&s);
        assert_eq!(all.last().map(|e| e.0), Some(id));
        check_nodes(&s);
    }

    #[test]
    fn loaded_nodes_are_packed() {
        let s = filled(10_000, lim());
        let mut t = Stream::new();
        for (k, lp) in s.node_iter() {
            assert!(t.nodes.insert(*k, lp.to_vec()).is_none());
        }
        t.length = s.length;
        t.last_id = s.last_id;
        t.first_id = s.first_id;
        assert!(packed(&t) >= 60);
        assert_eq!(entries(&t), entries(&s));
        assert_eq!(format!("{:?}", t.nodes), format!("{:?}", s.nodes));
        // Re-adding a key answers the node it replaced.
        let (&k, lp) = s.nodes.iter().next().expect("a node");
        assert!(t.nodes.insert(k, lp.to_vec()).is_some());
    }
}
