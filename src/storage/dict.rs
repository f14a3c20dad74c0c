//! `Dict`: the keyspace hash table. Chained buckets in a power-of-two table with
//! incremental rehashing into a second table, the design that makes SCAN's
//! guarantee possible: with a reverse-binary cursor, every key present for the
//! whole iteration is returned once or more even while the table grows or
//! shrinks between calls. Rehashing moves one bucket per write so that no
//! single command pays for a whole resize.
//!
//! Each entry is one allocation: the chain link and the value, then the key's
//! bytes. Keeping the key inside the entry, at its exact length, costs 8 to
//! 24 bytes less per key than a fixed-size key field (and no second
//! allocation for a long key). The key's length rides in the top byte of the
//! entry's own chain link, which no user-space address uses, so a set member
//! takes 8 bytes plus its length.

use std::alloc::Layout;
use std::marker::PhantomData;
use std::ptr::NonNull;

type Link<V> = Option<NonNull<Head<V>>>;

/// The fixed part of an entry; the key follows it in the same allocation
/// (after a 4-byte little-endian length when it is 255 bytes or longer).
#[repr(C)]
struct Head<V> {
    next: Next<V>,
    val: V,
}

/// The key-length tag that says a 4-byte length precedes the key.
const LONG_KEY: u8 = 0xFF;
/// Where the tag sits in a link: addresses use the low 56 bits at most (47
/// or 48 on x86-64 and AArch64 Linux; `new_node` checks every entry's).
const TAG_SHIFT: u32 = 56;
const ADDR_MASK: usize = (1 << TAG_SHIFT) - 1;

/// An entry's link to the next entry of its chain, carrying in its top byte
/// the entry's own key length (or `LONG_KEY`).
struct Next<V> {
    raw: *mut Head<V>,
}

impl<V> Next<V> {
    #[inline]
    fn new(tag: u8, link: Link<V>) -> Self {
        let mut n = Next { raw: std::ptr::without_provenance_mut((tag as usize) << TAG_SHIFT) };
        n.set(link);
        n
    }

    /// The next entry of the chain.
    #[inline]
    fn get(&self) -> Link<V> {
        NonNull::new(self.raw.map_addr(|a| a & ADDR_MASK))
    }

    /// Links to `link`, keeping the tag.
    #[inline]
    fn set(&mut self, link: Link<V>) {
        let tag = self.raw.addr() & !ADDR_MASK;
        self.raw = match link {
            Some(p) => p.as_ptr().map_addr(|a| a | tag),
            None => std::ptr::without_provenance_mut(tag),
        };
    }

    #[inline]
    fn tag(&self) -> u8 {
        (self.raw.addr() >> TAG_SHIFT) as u8
    }
}

impl<V> Head<V> {
    /// Where the key (or its 4-byte length) starts.
    const KEY_AT: usize = std::mem::size_of::<Head<V>>();

    fn layout(klen: usize) -> Layout {
        let prefix = if klen < LONG_KEY as usize { 0 } else { 4 };
        Layout::from_size_align(Self::KEY_AT + prefix + klen, std::mem::align_of::<Head<V>>())
            .expect("key lengths are bounded by the protocol's bulk limit")
    }
}

/// Allocates an entry holding `key`, `val` and the link `next`.
fn new_node<V>(key: &[u8], val: V, next: Link<V>) -> NonNull<Head<V>> {
    assert!(key.len() <= u32::MAX as usize, "key longer than 4 GiB");
    let layout = Head::<V>::layout(key.len());
    // SAFETY: the layout's size is non-zero (the head holds a link).
    let raw = unsafe { std::alloc::alloc(layout) };
    let Some(raw) = NonNull::new(raw) else { std::alloc::handle_alloc_error(layout) };
    // Links carry a tag in the top byte: an address using it cannot be linked.
    assert!(raw.as_ptr().addr() & !ADDR_MASK == 0, "allocation above 2^56");
    let head = raw.cast::<Head<V>>();
    let tag = if key.len() < LONG_KEY as usize { key.len() as u8 } else { LONG_KEY };
    // SAFETY: `raw` is a fresh block of `layout.size()` bytes aligned for
    // `Head<V>`: the head fits at its start, and the key's bytes (after a
    // 4-byte length for a long key) fit from KEY_AT to the end, as `layout`
    // counted.
    unsafe {
        head.as_ptr().write(Head { next: Next::new(tag, next), val });
        let mut kp = raw.as_ptr().add(Head::<V>::KEY_AT);
        if tag == LONG_KEY {
            std::ptr::copy_nonoverlapping((key.len() as u32).to_le_bytes().as_ptr(), kp, 4);
            kp = kp.add(4);
        }
        std::ptr::copy_nonoverlapping(key.as_ptr(), kp, key.len());
    }
    head
}

/// The key of the entry at `p`.
///
/// # Safety
/// `p` must come from `new_node` and not be freed for `'a`.
#[inline]
unsafe fn key_of<'a, V>(p: NonNull<Head<V>>) -> &'a [u8] {
    // SAFETY: by the contract the block is live and was written by
    // `new_node`: the link's tag tells how many key bytes follow KEY_AT (or
    // that a 4-byte length precedes them).
    unsafe {
        let kp = p.as_ptr().cast::<u8>().add(Head::<V>::KEY_AT);
        let short = (*p.as_ptr()).next.tag();
        if short != LONG_KEY {
            std::slice::from_raw_parts(kp, short as usize)
        } else {
            let mut len = [0u8; 4];
            std::ptr::copy_nonoverlapping(kp, len.as_mut_ptr(), 4);
            std::slice::from_raw_parts(kp.add(4), u32::from_le_bytes(len) as usize)
        }
    }
}

/// The entry at `p`.
///
/// # Safety
/// As for `key_of`; no `&mut` to it may live during `'a`.
#[inline]
unsafe fn node<'a, V>(p: NonNull<Head<V>>) -> &'a Head<V> {
    // SAFETY: by the contract.
    unsafe { &*p.as_ptr() }
}

/// Frees the entry at `p` and gives back its value.
///
/// # Safety
/// `p` must come from `new_node`, be unlinked from every chain, and not be
/// used afterwards.
unsafe fn free_node<V>(p: NonNull<Head<V>>) -> V {
    // SAFETY: by the contract the block is live and ours alone: the value is
    // moved out once, and the block freed with the layout it was made with
    // (from the key's length, read before the free).
    unsafe {
        let layout = Head::<V>::layout(key_of(p).len());
        let val = std::ptr::read(&(*p.as_ptr()).val);
        std::alloc::dealloc(p.as_ptr().cast(), layout);
        val
    }
}

struct Table<V> {
    buckets: Vec<Link<V>>,
}

impl<V> Table<V> {
    fn with_size(n: usize) -> Self {
        Table { buckets: vec![None; n] }
    }
    fn mask(&self) -> usize {
        self.buckets.len().wrapping_sub(1)
    }
}

const INITIAL_SIZE: usize = 4;

/// Chain lengths DEBUG HTSTATS counts separately (longer ones share the last).
const STATS_VECTLEN: usize = 50;

impl<V> Table<V> {
    /// Statistics of this table (`which` 0: the main one, 1: the rehashing
    /// target), with Redis's single-precision averages and percentages.
    fn stats(&self, which: usize) -> String {
        let name = if which == 0 { "main hash table" } else { "rehashing target" };
        let mut lengths = [0usize; STATS_VECTLEN];
        let (mut slots, mut max, mut total) = (0usize, 0usize, 0usize);
        for b in &self.buckets {
            let mut n = 0;
            let mut link = *b;
            while let Some(p) = link {
                n += 1;
                // SAFETY: `p` is a live entry of this table (owned by the
                // dict borrowed through `self`).
                link = unsafe { node(p) }.next.get();
            }
            lengths[n.min(STATS_VECTLEN - 1)] += 1;
            if n > 0 {
                slots += 1;
                max = max.max(n);
                total += n;
            }
        }
        if total == 0 {
            return format!("Hash table {which} stats ({name}):\nNo stats available for empty dictionaries\n");
        }
        let size = self.buckets.len();
        // Redis divides the chains' total and its element count by the
        // slots: the same number here, where the elements are counted.
        let avg = total as f32 / slots as f32;
        let mut out = format!(
            "Hash table {which} stats ({name}):\n table size: {size}\n number of elements: {total}\n different slots: {slots}\n max chain length: {max}\n avg chain length (counted): {avg:.2}\n avg chain length (computed): {avg:.2}\n Chain length distribution:\n",
        );
        for (len, &count) in lengths.iter().enumerate().take(STATS_VECTLEN - 1) {
            if count > 0 {
                out.push_str(&format!("   {len}: {count} ({:.2}%)\n", count as f32 / size as f32 * 100.0));
            }
        }
        out
    }
}

pub struct Dict<V> {
    t0: Table<V>,
    t1: Table<V>,
    /// Next bucket of `t0` to move into `t1`, while rehashing.
    rehash_idx: Option<usize>,
    len: usize,
}

// SAFETY: a Dict owns its entries as a Box owns its contents: nothing else
// points to them, and they are reached only through `&self`/`&mut self`. So
// it may move to another thread when its values may, and be shared when they
// may be shared.
unsafe impl<V: Send> Send for Dict<V> {}
// SAFETY: as above; `&Dict` only hands out `&V` and `&[u8]`.
unsafe impl<V: Sync> Sync for Dict<V> {}

/// A hint that the cache line at `p` will be read soon (no effect on what
/// the program computes).
#[inline]
fn prefetch_line(p: *const i8) {
    // SAFETY: the intrinsic needs SSE, which every x86_64 CPU has (it is in
    // the target's baseline), and a prefetch never faults nor reads or
    // writes memory as far as the program is concerned, whatever `p` is.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// One hasher for every table, seeded at random once per process (so clients
/// cannot precompute colliding keys; a field per table would cost 32 bytes in
/// each small collection's hashtable).
static HASHER: std::sync::LazyLock<ahash::RandomState> = std::sync::LazyLock::new(ahash::RandomState::new);

impl<V> Default for Dict<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V> Dict<V> {
    pub fn new() -> Self {
        Dict { t0: Table { buckets: Vec::new() }, t1: Table { buckets: Vec::new() }, rehash_idx: None, len: 0 }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of buckets (both tables while rehashing), for OBJECT/DEBUG output.
    pub fn buckets(&self) -> usize {
        self.t0.buckets.len() + self.t1.buckets.len()
    }

    /// Bytes one entry with a key of `klen` bytes asks the allocator for.
    pub fn entry_bytes(klen: usize) -> usize {
        Head::<V>::layout(klen).size()
    }

    #[inline]
    fn hash(&self, key: &[u8]) -> usize {
        HASHER.hash_one(key) as usize
    }

    pub fn is_rehashing(&self) -> bool {
        self.rehash_idx.is_some()
    }

    /// Moves up to `n` buckets from the old table to the new one.
    pub fn rehash_step(&mut self, n: usize) {
        let Some(mut idx) = self.rehash_idx else { return };
        let mut empty_visits = n * 10;
        let mut moved = 0;
        while moved < n && idx < self.t0.buckets.len() {
            let mut link = self.t0.buckets[idx].take();
            if link.is_none() {
                idx += 1;
                empty_visits -= 1;
                if empty_visits == 0 {
                    break;
                }
                continue;
            }
            let m1 = self.t1.mask();
            while let Some(p) = link {
                // SAFETY: `p` is an entry of this dict (owned, live); `&mut
                // self` excludes every other reference to it.
                let b = unsafe {
                    link = (*p.as_ptr()).next.get();
                    let b = self.hash(key_of(p)) & m1;
                    (*p.as_ptr()).next.set(self.t1.buckets[b]);
                    b
                };
                self.t1.buckets[b] = Some(p);
            }
            idx += 1;
            moved += 1;
        }
        if idx >= self.t0.buckets.len() {
            self.t0 = std::mem::replace(&mut self.t1, Table { buckets: Vec::new() });
            self.rehash_idx = None;
        } else {
            self.rehash_idx = Some(idx);
        }
    }

    fn resize_to(&mut self, want: usize) {
        let size = want.max(INITIAL_SIZE).next_power_of_two();
        if self.t0.buckets.is_empty() {
            self.t0 = Table::with_size(size);
            return;
        }
        if size == self.t0.buckets.len() {
            return;
        }
        self.t1 = Table::with_size(size);
        self.rehash_idx = Some(0);
    }

    fn expand_if_needed(&mut self) {
        if self.is_rehashing() {
            return;
        }
        if self.t0.buckets.is_empty() {
            self.resize_to(INITIAL_SIZE);
        } else if self.len >= self.t0.buckets.len() {
            self.resize_to(self.len + 1);
        }
    }

    /// The hash of `key` as every table uses it (for `prefetch` and
    /// `insert_absent`, so that a bulk insert hashes each key once).
    #[inline]
    pub fn hash_of(key: &[u8]) -> usize {
        HASHER.hash_one(key) as usize
    }

    /// Inserts `key` (of hash `h`) unless it is present, walking its chain
    /// once; gives key and value back when it is present.
    pub fn insert_absent<K: AsRef<[u8]>>(&mut self, key: K, h: usize, val: V) -> Result<(), (K, V)> {
        if self.find_h(key.as_ref(), h).is_some() {
            return Err((key, val));
        }
        self.link_new(key.as_ref(), h, val);
        Ok(())
    }

    /// Links a new entry for an absent key of hash `h`.
    fn link_new(&mut self, key: &[u8], h: usize, val: V) {
        self.rehash_step(1);
        self.expand_if_needed();
        let t = if self.is_rehashing() { &mut self.t1 } else { &mut self.t0 };
        let b = h & t.mask();
        t.buckets[b] = Some(new_node(key, val, t.buckets[b]));
        self.len += 1;
    }

    /// Asks the CPU to fetch what a lookup of the key of hash `h` will read: the bucket
    /// and, once that is in cache, the first entry of its chain. A bulk
    /// insert (loading a file) issues it a few keys ahead, so that the cache
    /// misses of several lookups overlap instead of adding up.
    #[inline]
    pub fn prefetch(&self, h: usize, chain: bool) {
        let t = if self.is_rehashing() { &self.t1 } else { &self.t0 };
        if t.buckets.is_empty() {
            return;
        }
        let slot = &t.buckets[h & t.mask()];
        let addr: *const Link<V> = slot;
        prefetch_line(addr.cast());
        if chain {
            if let Some(p) = *slot {
                prefetch_line(p.as_ptr().cast());
            }
        }
    }

    /// Makes room for `n` entries at once (a file announces its table sizes
    /// before the keys): no rehashing while they are added.
    pub fn reserve(&mut self, n: usize) {
        if !self.is_rehashing() && n > self.t0.buckets.len() {
            self.resize_to(n);
        }
    }

    /// Starts shrinking when the table is less than 10% full (as Redis's cron does).
    pub fn shrink_if_needed(&mut self) {
        if !self.is_rehashing() && self.t0.buckets.len() > INITIAL_SIZE && self.len * 10 < self.t0.buckets.len() {
            self.resize_to(self.len);
        }
    }

    /// The entry holding `key` (of hash `h`).
    fn find_h(&self, key: &[u8], h: usize) -> Link<V> {
        if self.len == 0 {
            return None;
        }
        for t in [&self.t0, &self.t1] {
            if t.buckets.is_empty() {
                continue;
            }
            let mut cur = t.buckets[h & t.mask()];
            while let Some(p) = cur {
                // SAFETY: `p` is a live entry of this dict, borrowed with `&self`.
                unsafe {
                    if key_of(p) == key {
                        return Some(p);
                    }
                    cur = node(p).next.get();
                }
            }
            if !self.is_rehashing() {
                break;
            }
        }
        None
    }

    #[inline]
    fn find(&self, key: &[u8]) -> Link<V> {
        self.find_h(key, self.hash(key))
    }

    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<&V> {
        // SAFETY: the entry lives as long as the `&self` borrow.
        self.find(key).map(|p| unsafe { &node(p).val })
    }

    /// `get` for a key whose hash (`hash_of`) is known.
    #[inline]
    pub fn get_h(&self, key: &[u8], h: usize) -> Option<&V> {
        // SAFETY: the entry lives as long as the `&self` borrow.
        self.find_h(key, h).map(|p| unsafe { &node(p).val })
    }

    /// `get_mut` for a key whose hash (`hash_of`) is known.
    #[inline]
    pub fn get_mut_h(&mut self, key: &[u8], h: usize) -> Option<&mut V> {
        // SAFETY: the entry is owned by this dict and `&mut self` is the
        // only access to it for the returned borrow.
        self.find_h(key, h).map(|p| unsafe { &mut (*p.as_ptr()).val })
    }

    #[inline]
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        // SAFETY: the entry is owned by this dict and `&mut self` is the
        // only access to it for the returned borrow.
        self.find(key).map(|p| unsafe { &mut (*p.as_ptr()).val })
    }

    pub fn get_key_value(&self, key: &[u8]) -> Option<(&[u8], &V)> {
        // SAFETY: the entry lives as long as the `&self` borrow.
        self.find(key).map(|p| unsafe { (key_of(p), &node(p).val) })
    }

    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.find(key).is_some()
    }

    /// Inserts or replaces; returns the previous value.
    pub fn insert<K: AsRef<[u8]>>(&mut self, key: K, val: V) -> Option<V> {
        let key = key.as_ref();
        let h = self.hash(key);
        if let Some(p) = self.find_h(key, h) {
            // SAFETY: as in `get_mut`.
            return Some(std::mem::replace(unsafe { &mut (*p.as_ptr()).val }, val));
        }
        self.link_new(key, h, val);
        None
    }

    /// Inserts a key known to be absent.
    pub fn insert_new<K: AsRef<[u8]>>(&mut self, key: K, val: V) {
        let key = key.as_ref();
        let h = self.hash(key);
        self.link_new(key, h, val);
    }

    /// Removes a key, returning its value.
    pub fn remove(&mut self, key: &[u8]) -> Option<V> {
        if self.len == 0 {
            return None;
        }
        self.rehash_step(1);
        let h = self.hash(key);
        let rehashing = self.is_rehashing();
        let mut found = None;
        'tables: for t in [&mut self.t0, &mut self.t1] {
            if t.buckets.is_empty() {
                continue;
            }
            let b = h & t.mask();
            let mut prev: Link<V> = None;
            let mut cur = t.buckets[b];
            // SAFETY: `prev` and `cur` are live entries of this table, all
            // ours under `&mut self`; an unlinked entry is not reached again.
            unsafe {
                while let Some(p) = cur {
                    if key_of(p) == key {
                        let next = node(p).next.get();
                        match prev {
                            Some(q) => (*q.as_ptr()).next.set(next),
                            None => t.buckets[b] = next,
                        }
                        found = Some(p);
                        break 'tables;
                    }
                    prev = cur;
                    cur = node(p).next.get();
                }
            }
            if !rehashing {
                break;
            }
        }
        let p = found?;
        self.len -= 1;
        self.shrink_if_needed();
        // SAFETY: `p` was unlinked above and is referenced nowhere else.
        Some(unsafe { free_node(p) })
    }

    /// Removes everything and returns the old contents as a standalone dict
    /// (so that a caller may free it elsewhere).
    pub fn take(&mut self) -> Dict<V> {
        std::mem::take(self)
    }

    /// The chain statistics DEBUG HTSTATS prints, in Redis's words: the
    /// main table, then the rehashing target while a rehash runs.
    pub fn stats(&self) -> String {
        let mut out = self.t0.stats(0);
        if self.is_rehashing() {
            out.push_str(&self.t1.stats(1));
        }
        out
    }

    /// Visits the buckets at `cursor` and returns the next cursor (0 when done),
    /// with Redis's reverse-binary cursor algorithm.
    pub fn scan<'a, F: FnMut(&'a [u8], &'a V)>(&'a self, cursor: u64, mut f: F) -> u64 {
        if self.len == 0 {
            return 0;
        }
        let mut v = cursor as usize;
        let emit = |t: &'a Table<V>, idx: usize, f: &mut F| {
            let mut cur = t.buckets[idx];
            while let Some(p) = cur {
                // SAFETY: a live entry, borrowed for 'a with `&'a self`.
                let n = unsafe { node(p) };
                f(unsafe { key_of(p) }, &n.val);
                cur = n.next.get();
            }
        };
        if !self.is_rehashing() {
            let m0 = self.t0.mask();
            emit(&self.t0, v & m0, &mut f);
            v |= !m0;
            v = v.reverse_bits().wrapping_add(1).reverse_bits();
        } else {
            let (small, big) = if self.t0.buckets.len() <= self.t1.buckets.len() {
                (&self.t0, &self.t1)
            } else {
                (&self.t1, &self.t0)
            };
            let m0 = small.mask();
            let m1 = big.mask();
            emit(small, v & m0, &mut f);
            loop {
                emit(big, v & m1, &mut f);
                v |= !m1;
                v = v.reverse_bits().wrapping_add(1).reverse_bits();
                if v & (m0 ^ m1) == 0 {
                    break;
                }
            }
        }
        v as u64
    }

    /// A uniformly chosen non-empty bucket, then a random element of its chain.
    pub fn random<R: rand::Rng>(&self, rng: &mut R) -> Option<(&[u8], &V)> {
        if self.len == 0 {
            return None;
        }
        loop {
            let (t, idx) = if self.is_rehashing() {
                let start = self.rehash_idx.unwrap_or(0);
                let total = self.t0.buckets.len() + self.t1.buckets.len() - start;
                let r = start + rng.gen_range(0..total);
                if r < self.t0.buckets.len() {
                    (&self.t0, r)
                } else {
                    (&self.t1, r - self.t0.buckets.len())
                }
            } else {
                (&self.t0, rng.gen_range(0..self.t0.buckets.len()))
            };
            let Some(head) = t.buckets[idx] else { continue };
            let chain = Chain::<V> { cur: Some(head), _dict: PhantomData };
            let pick = rng.gen_range(0..chain.count());
            return Chain::<V> { cur: Some(head), _dict: PhantomData }.nth(pick);
        }
    }

    /// An entry drawn uniformly (Redis's dictGetFairRandomKey only
    /// approaches this), by rejection sampling over (window, slot) pairs: a
    /// window of adjacent buckets (`Windows`) drawn uniformly with a slot
    /// below `WINDOW_SLOTS`; when the window holds an entry at that slot it
    /// is the pick, so every entry weighs the same whatever its chain. If
    /// rejection keeps failing (a nearly empty table in the middle of a
    /// shrink): a run of consecutive scan steps from a random start holding
    /// at least 20 entries (or the whole table), one of them chosen uniformly.
    pub fn fair_random<R: rand::Rng>(&self, rng: &mut R) -> Option<(&[u8], &V)> {
        const WANT: usize = 20;
        if self.len == 0 {
            return None;
        }
        let windows = Windows::of(self);
        for _ in 0..2000 {
            if let Some(e) = windows.slot(self, rng.gen(), rng.gen_range(0..WINDOW_SLOTS)) {
                return Some(e);
            }
        }
        // One throwaway step turns a random number into a cursor of the table's cycle.
        let start = self.scan(rng.gen(), |_, _| {});
        let mut cursor = start;
        let mut seen = 0usize;
        let mut steps = 0usize;
        let mut pick = None;
        loop {
            cursor = self.scan(cursor, |k, v| {
                seen += 1;
                if rng.gen_range(0..seen) == 0 {
                    pick = Some((k, v));
                }
            });
            steps += 1;
            if seen >= WANT || cursor == start || (seen > 0 && steps >= WANT * 10) {
                break;
            }
        }
        pick
    }

    /// Up to `count` entries from a random stretch of buckets (Redis's
    /// `dictGetSomeKeys`): cheaper than `count` calls of `random`, and what
    /// eviction samples. Gives up after `count * 10` buckets, so a sparse table
    /// may yield fewer; entries are distinct. The chains' first entries are
    /// prefetched as their buckets are found and read afterwards, so the
    /// cache misses of the sample overlap.
    pub fn sample<'a, R: rand::Rng>(&'a self, rng: &mut R, count: usize, mut f: impl FnMut(&'a [u8], &'a V)) {
        if self.len == 0 || count == 0 {
            return;
        }
        let count = count.min(self.len);
        let tables: &[&Table<V>] = if self.is_rehashing() { &[&self.t0, &self.t1] } else { &[&self.t0] };
        let max_mask = tables.iter().map(|t| t.mask()).max().unwrap_or(0);
        let skip_below = self.rehash_idx.unwrap_or(0);
        let mut i = rng.gen::<usize>() & max_mask;
        let mut heads: Vec<NonNull<Head<V>>> = Vec::with_capacity(count);
        let mut empty_run = 0;
        'scan: for _ in 0..count * 10 {
            for (n, t) in tables.iter().enumerate() {
                // Buckets of the old table below the rehash index are empty.
                if n == 0 && tables.len() == 2 && i < skip_below {
                    continue;
                }
                if i > t.mask() {
                    continue;
                }
                let Some(head) = t.buckets[i] else {
                    empty_run += 1;
                    if empty_run >= 5 && empty_run > count {
                        // A long empty run: jump elsewhere.
                        i = rng.gen::<usize>() & max_mask;
                        empty_run = 0;
                    }
                    continue;
                };
                empty_run = 0;
                prefetch_line(head.as_ptr().cast());
                heads.push(head);
                if heads.len() == count {
                    break 'scan;
                }
            }
            i = (i + 1) & max_mask;
        }
        let mut got = 0;
        for head in heads {
            for (k, v) in (Chain::<'a, V> { cur: Some(head), _dict: PhantomData }) {
                f(k, v);
                got += 1;
                if got == count {
                    return;
                }
            }
        }
    }

    pub fn iter(&self) -> Iter<'_, V> {
        Iter { tables: [&self.t0, &self.t1], t: 0, bucket: 0, chain: Chain { cur: None, _dict: PhantomData } }
    }
}

impl<V: Clone> Clone for Dict<V> {
    fn clone(&self) -> Self {
        let mut d = Dict::new();
        d.reserve(self.len);
        for (k, v) in self.iter() {
            d.insert_new(k, v.clone());
        }
        d
    }
}

/// The slot bound of `Dict::fair_random`: a window holding more entries
/// than this weighs less than its share, which windows of one entry or fewer
/// on average leave to about one window in a million.
const WINDOW_SLOTS: usize = 8;

/// How `Dict::fair_random` cuts a dict's tables into windows of adjacent
/// buckets: in each table as wide (a power of two up to 8, one cache line of
/// links) as keeps a window at one entry or fewer on average, counting every
/// entry as if it were in that table, so that a sparse table costs no more
/// draws than a full one. During a rehash the emptied start of the old table
/// is left out.
struct Windows {
    /// Width, first bucket and number of windows in `t0`; width and number in `t1`.
    w0: usize,
    from0: usize,
    n0: usize,
    w1: usize,
    n1: usize,
}

impl Windows {
    fn of<V>(d: &Dict<V>) -> Windows {
        let width = |buckets: usize| {
            let mut w = 1;
            while w < WINDOW_SLOTS && w * 2 <= buckets.max(1) && w * 2 * d.len <= buckets {
                w *= 2;
            }
            w
        };
        let start0 = d.rehash_idx.unwrap_or(0);
        let w0 = width(d.t0.buckets.len() - start0);
        let from0 = start0 & !(w0 - 1);
        let w1 = width(d.t1.buckets.len());
        Windows { w0, from0, n0: (d.t0.buckets.len() - from0) / w0, w1, n1: d.t1.buckets.len() / w1 }
    }

    /// The entry at position `slot` (from 0) of the window `x` picks
    /// uniformly, if that window holds that many.
    fn slot<'a, V>(&self, d: &'a Dict<V>, x: u64, slot: usize) -> Option<(&'a [u8], &'a V)> {
        // Multiply-shift: a uniform index below n0 + n1 from 64 random bits.
        let i = ((x as u128 * (self.n0 + self.n1) as u128) >> 64) as usize;
        let (t, first, w) = if i < self.n0 {
            (&d.t0, self.from0 + i * self.w0, self.w0)
        } else {
            (&d.t1, (i - self.n0) * self.w1, self.w1)
        };
        t.buckets[first..first + w].iter().flat_map(|&head| Chain::<V> { cur: head, _dict: PhantomData }).nth(slot)
    }
}

impl<V> Drop for Dict<V> {
    fn drop(&mut self) {
        // Free chains iteratively so a long chain cannot overflow the stack.
        for t in [&mut self.t0, &mut self.t1] {
            for b in t.buckets.iter_mut() {
                let mut link = b.take();
                while let Some(p) = link {
                    // SAFETY: every entry is reachable from one bucket only;
                    // its link is read before it is freed, and the bucket
                    // was emptied, so nothing reaches it again.
                    unsafe {
                        link = node(p).next.get();
                        drop(free_node(p));
                    }
                }
            }
        }
    }
}

/// The entries of one chain, borrowed from their dict for `'a`.
struct Chain<'a, V> {
    cur: Link<V>,
    _dict: PhantomData<&'a Dict<V>>,
}

impl<'a, V> Iterator for Chain<'a, V> {
    type Item = (&'a [u8], &'a V);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let p = self.cur?;
        // SAFETY: the chain was taken from a dict borrowed for 'a, whose
        // entries live and are not mutated during that borrow.
        let n = unsafe { node(p) };
        self.cur = n.next.get();
        Some((unsafe { key_of(p) }, &n.val))
    }
}

pub struct Iter<'a, V> {
    tables: [&'a Table<V>; 2],
    t: usize,
    bucket: usize,
    chain: Chain<'a, V>,
}

impl<'a, V> Iterator for Iter<'a, V> {
    type Item = (&'a [u8], &'a V);
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.chain.next() {
                return Some(item);
            }
            if self.t >= 2 {
                return None;
            }
            let t = self.tables[self.t];
            if self.bucket >= t.buckets.len() {
                self.t += 1;
                self.bucket = 0;
                continue;
            }
            self.chain.cur = t.buckets[self.bucket];
            self.bucket += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::SBytes;
    use std::collections::HashSet;

    #[test]
    fn insert_get_remove() {
        let mut d = Dict::new();
        for i in 0..1000 {
            d.insert(SBytes::from(format!("k{i}").as_str()), i);
        }
        assert_eq!(d.len(), 1000);
        for i in 0..1000 {
            assert_eq!(d.get(format!("k{i}").as_bytes()), Some(&i));
        }
        for i in 0..990 {
            assert!(d.remove(format!("k{i}").as_bytes()).is_some());
        }
        assert_eq!(d.len(), 10);
        assert_eq!(d.iter().count(), 10);
    }

    /// Upper bound for chi2/df over `n` members: five standard deviations above the
    /// mean of 1 (the hash seed is random per process, so the draw varies per run).
    fn chi_bound(n: usize) -> f64 {
        1.0 + 5.0 * (2.0 / (n - 1) as f64).sqrt()
    }

    /// Chi-square per degree of freedom of `fair_random` draws (about 1 when uniform).
    fn chi_per_df(d: &Dict<()>, draws: usize) -> f64 {
        use rand::SeedableRng;
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        let mut counts = std::collections::HashMap::new();
        for _ in 0..draws {
            let k = d.fair_random(&mut rng).map(|(k, _)| k.to_vec()).unwrap_or_default();
            *counts.entry(k).or_insert(0usize) += 1;
        }
        assert_eq!(counts.len(), d.len());
        let e = draws as f64 / d.len() as f64;
        let chi: f64 = counts.values().map(|&c| (c as f64 - e).powi(2) / e).sum();
        chi / (d.len() - 1) as f64
    }

    #[test]
    fn hashtable_random_is_uniform_even_while_rehashing() {
        for n in [10usize, 100, 513, 700, 5000] {
            let mut d: Dict<()> = Dict::new();
            for i in 0..n {
                d.insert_new(format!("m{i}"), ());
            }
            let x = chi_per_df(&d, (n * 50).max(20000));
            assert!(x < chi_bound(n), "n={n} rehashing={} chi2/df={x}", d.is_rehashing());
        }
        let mut d: Dict<()> = Dict::new();
        for i in 0..1000 {
            d.insert_new(format!("m{i}"), ());
        }
        for i in 60..1000 {
            d.remove(format!("m{i}").as_bytes());
        }
        let x = chi_per_df(&d, 6000);
        assert!(x < chi_bound(60), "shrunk: rehashing={} chi2/df={x}", d.is_rehashing());
    }

    #[test]
    fn fair_random_is_uniform_in_sparse_and_shrinking_tables() {
        // Sparse: 2048 buckets for 224 entries (windows of 8 buckets), then
        // a shrink in progress.
        let mut d: Dict<()> = Dict::new();
        for i in 0..2048 {
            d.insert_new(format!("m{i}"), ());
        }
        while d.is_rehashing() {
            d.rehash_step(100);
        }
        let mut i = 2047;
        while d.len() > 224 {
            d.remove(format!("m{i}").as_bytes());
            i -= 1;
        }
        assert!(!d.is_rehashing() && d.buckets() == 2048);
        let x = chi_per_df(&d, 224 * 1000);
        assert!(x < chi_bound(224), "sparse: chi2/df={x}");
        while d.len() > 64 {
            d.remove(format!("m{i}").as_bytes());
            i -= 1;
        }
        assert!(d.is_rehashing(), "removals below a tenth start a shrink");
        let x = chi_per_df(&d, 64_000);
        assert!(x < chi_bound(64), "shrinking: chi2/df={x}");
    }

    /// Keys of every length class (empty, short, 254, 255 and long) keep
    /// their bytes through chains that are relinked: growth, shrinking and
    /// removals in the middle of chains rewrite links, never the key-length
    /// tag they carry.
    #[test]
    fn key_lengths_survive_relinking() {
        let lens = [0usize, 1, 7, 8, 15, 16, 200, 254, 255, 256, 1000, 70000];
        let key = |i: usize, l: usize| {
            let mut k = format!("{i}:").into_bytes();
            k.resize(l.max(k.len()), b'x' + (i % 3) as u8);
            if l == 0 && i == 0 {
                k.clear();
            }
            k
        };
        let mut d = Dict::new();
        let mut keys = Vec::new();
        for i in 0..3000 {
            let k = key(i, lens[i % lens.len()]);
            d.insert(k.as_slice(), i);
            keys.push(k);
        }
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(d.get_key_value(k), Some((k.as_slice(), &i)));
            assert_eq!(Dict::<usize>::entry_bytes(k.len()), 16 + k.len() + if k.len() < 255 { 0 } else { 4 });
        }
        for (i, k) in keys.iter().enumerate() {
            if i % 3 != 0 {
                assert_eq!(d.remove(k), Some(i));
            }
        }
        d.shrink_if_needed();
        while d.is_rehashing() {
            d.rehash_step(100);
        }
        let mut left: Vec<_> = d.iter().map(|(k, v)| (k.to_vec(), *v)).collect();
        left.sort_by_key(|e| e.1);
        let want: Vec<_> = keys.iter().enumerate().filter(|e| e.0 % 3 == 0).map(|(i, k)| (k.clone(), i)).collect();
        assert_eq!(left, want);
    }

    #[test]
    fn scan_guarantee_while_growing_and_shrinking() {
        let mut d = Dict::new();
        for i in 0..500 {
            d.insert(SBytes::from(format!("stay{i}").as_str()), ());
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            cursor = d.scan(cursor, |k, _| {
                seen.insert(k.to_vec());
            });
            round += 1;
            if round < 40 {
                for j in 0..100 {
                    d.insert(SBytes::from(format!("tmp{round}_{j}").as_str()), ());
                }
            } else {
                let tmp: Vec<Vec<u8>> =
                    d.iter().filter(|(k, _)| k.starts_with(b"tmp")).map(|(k, _)| k.to_vec()).take(300).collect();
                for k in tmp {
                    d.remove(&k);
                }
            }
            if cursor == 0 {
                break;
            }
        }
        for i in 0..500 {
            assert!(seen.contains(format!("stay{i}").as_bytes()), "missing stay{i}");
        }
    }
}
