//! `Dict`: the keyspace hash table. Chained buckets in a power-of-two table with
//! incremental rehashing into a second table, the design that makes SCAN's
//! guarantee possible: with a reverse-binary cursor, every key present for the
//! whole iteration is returned once or more even while the table grows or
//! shrinks between calls. Rehashing moves one bucket per write so that no
//! single command pays for a whole resize.

use super::sbytes::SBytes;

type Link<V> = Option<Box<Node<V>>>;

pub struct Node<V> {
    pub key: SBytes,
    pub val: V,
    next: Link<V>,
}

struct Table<V> {
    buckets: Vec<Link<V>>,
}

impl<V> Table<V> {
    fn with_size(n: usize) -> Self {
        let mut buckets = Vec::with_capacity(n);
        buckets.resize_with(n, || None);
        Table { buckets }
    }
    fn mask(&self) -> usize {
        self.buckets.len().wrapping_sub(1)
    }
}

const INITIAL_SIZE: usize = 4;

pub struct Dict<V> {
    t0: Table<V>,
    t1: Table<V>,
    /// Next bucket of `t0` to move into `t1`, while rehashing.
    rehash_idx: Option<usize>,
    len: usize,
}

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
            while let Some(mut node) = link {
                link = node.next.take();
                let b = self.hash(&node.key) & m1;
                node.next = self.t1.buckets[b].take();
                self.t1.buckets[b] = Some(node);
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
    pub fn insert_absent(&mut self, key: SBytes, h: usize, val: V) -> Result<(), (SBytes, V)> {
        if self.find_node_h(&key, h).is_some() {
            return Err((key, val));
        }
        self.rehash_step(1);
        self.expand_if_needed();
        let t = if self.is_rehashing() { &mut self.t1 } else { &mut self.t0 };
        let b = h & t.mask();
        let next = t.buckets[b].take();
        t.buckets[b] = Some(Box::new(Node { key, val, next }));
        self.len += 1;
        Ok(())
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
            if let Some(node) = slot.as_deref() {
                let addr: *const Node<V> = node;
                prefetch_line(addr.cast());
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

    fn find_node(&self, key: &[u8]) -> Option<&Node<V>> {
        self.find_node_h(key, self.hash(key))
    }

    fn find_node_h(&self, key: &[u8], h: usize) -> Option<&Node<V>> {
        if self.len == 0 {
            return None;
        }
        for t in [&self.t0, &self.t1] {
            if t.buckets.is_empty() {
                continue;
            }
            let mut cur = t.buckets[h & t.mask()].as_deref();
            while let Some(n) = cur {
                if n.key.as_slice() == key {
                    return Some(n);
                }
                cur = n.next.as_deref();
            }
            if !self.is_rehashing() {
                break;
            }
        }
        None
    }

    fn find_node_mut(&mut self, key: &[u8]) -> Option<&mut Node<V>> {
        if self.len == 0 {
            return None;
        }
        let h = self.hash(key);
        let rehashing = self.is_rehashing();
        for t in [&mut self.t0, &mut self.t1] {
            if t.buckets.is_empty() {
                continue;
            }
            let m = t.mask();
            let mut cur = t.buckets[h & m].as_deref_mut();
            while let Some(n) = cur {
                if n.key.as_slice() == key {
                    return Some(n);
                }
                cur = n.next.as_deref_mut();
            }
            if !rehashing {
                break;
            }
        }
        None
    }

    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<&V> {
        self.find_node(key).map(|n| &n.val)
    }

    #[inline]
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        self.find_node_mut(key).map(|n| &mut n.val)
    }

    pub fn get_key_value(&self, key: &[u8]) -> Option<(&SBytes, &V)> {
        self.find_node(key).map(|n| (&n.key, &n.val))
    }

    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.find_node(key).is_some()
    }

    /// Inserts or replaces; returns the previous value.
    pub fn insert(&mut self, key: SBytes, val: V) -> Option<V> {
        if let Some(n) = self.find_node_mut(&key) {
            return Some(std::mem::replace(&mut n.val, val));
        }
        self.insert_new(key, val);
        None
    }

    /// Inserts a key known to be absent.
    pub fn insert_new(&mut self, key: SBytes, val: V) {
        self.rehash_step(1);
        self.expand_if_needed();
        let h = self.hash(&key);
        let t = if self.is_rehashing() { &mut self.t1 } else { &mut self.t0 };
        let b = h & t.mask();
        let next = t.buckets[b].take();
        t.buckets[b] = Some(Box::new(Node { key, val, next }));
        self.len += 1;
    }

    /// Removes a key, returning its stored key and value.
    pub fn remove(&mut self, key: &[u8]) -> Option<(SBytes, V)> {
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
            let mut link = &mut t.buckets[b];
            loop {
                match link {
                    None => break,
                    Some(n) if n.key.as_slice() == key => {
                        let mut node = link.take().expect("checked above");
                        *link = node.next.take();
                        found = Some(node);
                        break 'tables;
                    }
                    Some(n) => link = &mut n.next,
                }
            }
            if !rehashing {
                break;
            }
        }
        let node = found?;
        self.len -= 1;
        self.shrink_if_needed();
        let Node { key, val, .. } = *node;
        Some((key, val))
    }

    /// Removes everything and returns the old contents as a standalone dict
    /// (so that a caller may free it elsewhere).
    pub fn take(&mut self) -> Dict<V> {
        std::mem::take(self)
    }

    /// Visits the buckets at `cursor` and returns the next cursor (0 when done),
    /// with Redis's reverse-binary cursor algorithm.
    pub fn scan<'a, F: FnMut(&'a SBytes, &'a V)>(&'a self, cursor: u64, mut f: F) -> u64 {
        if self.len == 0 {
            return 0;
        }
        let mut v = cursor as usize;
        let emit = |t: &'a Table<V>, idx: usize, f: &mut F| {
            let mut cur = t.buckets[idx].as_deref();
            while let Some(n) = cur {
                f(&n.key, &n.val);
                cur = n.next.as_deref();
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
    pub fn random<R: rand::Rng>(&self, rng: &mut R) -> Option<(&SBytes, &V)> {
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
            let Some(head) = t.buckets[idx].as_deref() else { continue };
            let mut n = 0;
            let mut cur = Some(head);
            while let Some(x) = cur {
                n += 1;
                cur = x.next.as_deref();
            }
            let pick = rng.gen_range(0..n);
            let mut cur = head;
            for _ in 0..pick {
                cur = cur.next.as_deref().expect("chain length counted");
            }
            return Some((&cur.key, &cur.val));
        }
    }

    /// Up to `count` entries from a random stretch of buckets (Redis's
    /// `dictGetSomeKeys`): cheaper than `count` calls of `random`, and what
    /// eviction samples. Gives up after `count * 10` buckets, so a sparse table
    /// may yield fewer; entries are distinct. The chains' first entries are
    /// prefetched as their buckets are found and read afterwards, so the
    /// cache misses of the sample overlap.
    pub fn sample<'a, R: rand::Rng>(&'a self, rng: &mut R, count: usize, mut f: impl FnMut(&'a SBytes, &'a V)) {
        if self.len == 0 || count == 0 {
            return;
        }
        let count = count.min(self.len);
        let tables: &[&Table<V>] = if self.is_rehashing() { &[&self.t0, &self.t1] } else { &[&self.t0] };
        let max_mask = tables.iter().map(|t| t.mask()).max().unwrap_or(0);
        let skip_below = self.rehash_idx.unwrap_or(0);
        let mut i = rng.gen::<usize>() & max_mask;
        let mut heads: Vec<&'a Node<V>> = Vec::with_capacity(count);
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
                let Some(head) = t.buckets[i].as_deref() else {
                    empty_run += 1;
                    if empty_run >= 5 && empty_run > count {
                        // A long empty run: jump elsewhere.
                        i = rng.gen::<usize>() & max_mask;
                        empty_run = 0;
                    }
                    continue;
                };
                empty_run = 0;
                let addr: *const Node<V> = head;
                prefetch_line(addr.cast());
                heads.push(head);
                if heads.len() == count {
                    break 'scan;
                }
            }
            i = (i + 1) & max_mask;
        }
        let mut got = 0;
        for head in heads {
            let mut cur = Some(head);
            while let Some(x) = cur {
                f(&x.key, &x.val);
                got += 1;
                if got == count {
                    return;
                }
                cur = x.next.as_deref();
            }
        }
    }

    pub fn iter(&self) -> Iter<'_, V> {
        Iter { tables: [&self.t0, &self.t1], t: 0, bucket: 0, node: None }
    }
}

impl<V> Drop for Dict<V> {
    fn drop(&mut self) {
        // Free chains iteratively so a long chain cannot overflow the stack.
        for t in [&mut self.t0, &mut self.t1] {
            for b in t.buckets.iter_mut() {
                let mut link = b.take();
                while let Some(mut n) = link {
                    link = n.next.take();
                }
            }
        }
    }
}

pub struct Iter<'a, V> {
    tables: [&'a Table<V>; 2],
    t: usize,
    bucket: usize,
    node: Option<&'a Node<V>>,
}

impl<'a, V> Iterator for Iter<'a, V> {
    type Item = (&'a SBytes, &'a V);
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(n) = self.node {
                self.node = n.next.as_deref();
                return Some((&n.key, &n.val));
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
            self.node = t.buckets[self.bucket].as_deref();
            self.bucket += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
