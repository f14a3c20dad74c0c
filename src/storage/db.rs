//! One logical database (SELECT n): the key→value table, the key→expiry table,
//! lazy expiry on access and the sampling step of active expiry. For WATCH, a
//! database whose keys are watched records what happens to those keys
//! (`KeyEvent`); `commands::transactions` turns the records into touches.
//! For keyspace notifications, a database records the expiries and key
//! creations it performs (`Notice`, only while `notify` asks for them);
//! `server::notify` publishes them. While a snapshot runs, every change to an
//! entry first lets the snapshot keep the entry as it was (`storage::snapshot`);
//! that is why the tables are private and entries change only through `Db`.

use super::dict::Dict;
use super::sbytes::SBytes;
use super::snapshot::DbSnap;
use super::value::{Entry, Value};

pub use super::lru::{idle_secs, lru_clock, Access, LRU_CLOCK_MAX};

/// What happened to a watched key during a command (see `Db::watched`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum KeyEvent {
    /// Looked up (by a read or a write); whether it existed then.
    Looked { existed: bool },
    /// Stored, deleted, or its TTL set or removed.
    Written,
    /// Deleted because its TTL passed.
    Expired,
}

/// An event the database itself causes, for keyspace notifications.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Notice {
    /// The key was deleted because its TTL passed (`expired`).
    Expired,
    /// The key was created (`new`).
    New,
}

/// `Db::notify` bits: record expiries / key creations.
pub const NOTE_EXPIRED: u8 = 1;
pub const NOTE_NEW: u8 = 2;

#[derive(Default)]
pub struct Db {
    main: Dict<Entry>,
    expires: Dict<i64>,
    /// The epoch of the latest snapshot, given to entries created (see
    /// `storage::snapshot`).
    pub epoch: u16,
    /// This database's part of the running snapshot, if one runs.
    pub snap: Option<Box<DbSnap>>,
    /// Where active expiry resumes scanning the expires table.
    pub expires_cursor: u64,
    /// Keys removed because their TTL passed (lazy and active).
    pub expired_keys: u64,
    /// Running average TTL of sampled keys (INFO keyspace `avg_ttl`).
    pub avg_ttl: i64,
    /// Keys of this database that some client WATCHes (kept by the server's
    /// watch registry); events on them are recorded in `key_events`.
    pub watched: std::collections::HashSet<SBytes, ahash::RandomState>,
    pub key_events: Vec<(SBytes, KeyEvent)>,
    /// Record events on every key (while client-side caching tracks keys,
    /// see `server::tracking`).
    pub observe_all: bool,
    /// What to record in `notices` (`NOTE_*`; 0 while notifications are off).
    pub notify: u8,
    /// Expiries and creations not yet published, oldest first.
    pub notices: Vec<(SBytes, Notice)>,
    /// How lookups refresh a key's access field (LRU clock or LFU counter).
    pub access: Access,
    /// Random state for the LFU counter's probabilistic increments.
    pub access_rng: u64,
    /// The entry whose LFU counter the current command already counted
    /// (command number, entry address), so a second lookup is not a second access.
    lfu_counted: (u64, usize),
    /// Free big values in the background when their TTL passes
    /// (`lazyfree-lazy-expire`) / when a store replaces them
    /// (`lazyfree-lazy-server-del`).
    pub lazy_expire: bool,
    pub lazy_server_del: bool,
    /// Record keys deleted by expiry in `expired_log` (while their deletion
    /// is propagated to the append-only file).
    pub log_expired: bool,
    pub expired_log: Vec<SBytes>,
}

/// Outcome of one active-expiry sampling pass over a database.
pub struct SampleResult {
    pub sampled: usize,
    pub expired: usize,
}

impl Db {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.main.len()
    }

    pub fn is_empty(&self) -> bool {
        self.main.is_empty()
    }

    /// The key table, to read (entries change only through `Db`).
    #[inline]
    pub fn main(&self) -> &Dict<Entry> {
        &self.main
    }

    /// Moves buckets of a rehashing key table (or, when that is done, the
    /// expiry table) until `budget` has passed since `start`; true when it
    /// had a table to rehash.
    pub fn rehash_for(&mut self, start: std::time::Instant, budget: std::time::Duration) -> bool {
        fn run<V>(d: &mut Dict<V>, start: std::time::Instant, budget: std::time::Duration) -> bool {
            if !d.is_rehashing() {
                return false;
            }
            while d.is_rehashing() && start.elapsed() < budget {
                d.rehash_step(100);
            }
            true
        }
        run(&mut self.main, start, budget) || run(&mut self.expires, start, budget)
    }

    /// The expiry table, to read.
    #[inline]
    pub fn expires(&self) -> &Dict<i64> {
        &self.expires
    }

    /// Before `key`'s entry changes or goes: a running snapshot keeps it as it was.
    #[inline]
    fn keep(&mut self, key: &[u8]) {
        if let Some(s) = self.snap.as_deref_mut() {
            if let Some(e) = self.main.get(key) {
                s.keep(key, e, &self.expires);
            }
        }
    }

    /// Inserts an entry for a key known to be absent; a running snapshot
    /// does not hold it (it did not exist when the snapshot began).
    #[inline]
    fn insert_entry(&mut self, key: &[u8], e: Entry) {
        e.saved.set(self.epoch);
        self.main.insert_new(key, e);
    }

    /// Makes room for `keys` keys, `expires` of them with a TTL (loading).
    pub fn reserve(&mut self, keys: usize, expires: usize) {
        self.main.reserve(keys);
        self.expires.reserve(expires);
    }

    /// A key's entry to change in place, without expiry or access bookkeeping
    /// (the caller looked the key up already).
    pub fn entry_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.keep(key);
        self.main.get_mut(key)
    }

    /// SWAPDB: exchanges the data of two databases (with their parts of a
    /// running snapshot); the rest (watched keys, settings) stays.
    pub fn swap_data(&mut self, other: &mut Db) {
        std::mem::swap(&mut self.main, &mut other.main);
        std::mem::swap(&mut self.expires, &mut other.expires);
        std::mem::swap(&mut self.avg_ttl, &mut other.avg_ttl);
        std::mem::swap(&mut self.snap, &mut other.snap);
        self.expires_cursor = 0;
        other.expires_cursor = 0;
    }

    /// Whether events on `key` are recorded (watched, or everything observed).
    #[inline]
    pub fn observed(&self, key: &[u8]) -> bool {
        self.observe_all || (!self.watched.is_empty() && self.watched.contains(key))
    }

    /// Records an event on `key` if it is observed.
    #[inline]
    fn note(&mut self, key: &[u8], ev: KeyEvent) {
        if self.observed(key) {
            self.key_events.push((SBytes::new(key), ev));
        }
    }

    /// Records a lookup of `key` if it is watched.
    #[inline]
    fn note_lookup(&mut self, key: &[u8]) {
        if self.observed(key) {
            let existed = self.main.contains_key(key);
            self.key_events.push((SBytes::new(key), KeyEvent::Looked { existed }));
        }
    }

    /// Records a write of a watched key; a logically expired value being
    /// replaced counts as expired first (Redis deletes it on the write's lookup).
    #[inline]
    fn note_write(&mut self, key: &[u8], now: i64) {
        if self.observed(key) {
            if self.main.get(key).is_some_and(|e| self.is_expired(key, e, now)) {
                self.key_events.push((SBytes::new(key), KeyEvent::Expired));
            }
            self.key_events.push((SBytes::new(key), KeyEvent::Written));
        }
    }

    /// Records a key deleted by expiry, for notifications.
    #[inline]
    fn notice_expired(&mut self, key: &[u8]) {
        if self.notify & NOTE_EXPIRED != 0 {
            self.notices.push((SBytes::new(key), Notice::Expired));
        }
    }

    /// Records a key creation, for notifications.
    #[inline]
    fn notice_new(&mut self, key: &[u8]) {
        if self.notify & NOTE_NEW != 0 {
            self.notices.push((SBytes::new(key), Notice::New));
        }
    }

    /// Before a store over `key` while notifications are on: a value whose
    /// time has passed is deleted first (`expired`, then `new`), as Redis's
    /// write lookup does.
    #[inline]
    fn before_store(&mut self, key: &[u8], now: i64) {
        if self.notify != 0 {
            self.expire_if_needed(key, now);
        }
    }

    /// True if the key exists and its TTL has passed (it is logically gone but
    /// not deleted yet).
    pub fn key_is_expired(&self, key: &[u8], now: i64) -> bool {
        self.main.get(key).is_some_and(|e| self.is_expired(key, e, now))
    }

    /// True if the key has a TTL that has passed.
    #[inline]
    fn is_expired(&self, key: &[u8], e: &Entry, now: i64) -> bool {
        self.is_expired_h(key, Dict::<Entry>::hash_of(key), e, now)
    }

    /// `is_expired` for a key whose hash is known.
    #[inline]
    fn is_expired_h(&self, key: &[u8], h: usize, e: &Entry, now: i64) -> bool {
        e.has_expire && self.expires.get_h(key, h).is_some_and(|&when| when <= now)
    }

    /// Deletes `key` if its TTL has passed; returns true when it did.
    pub fn expire_if_needed(&mut self, key: &[u8], now: i64) -> bool {
        self.expire_if_needed_h(key, Dict::<Entry>::hash_of(key), now)
    }

    /// `expire_if_needed` for a key whose hash is known.
    fn expire_if_needed_h(&mut self, key: &[u8], h: usize, now: i64) -> bool {
        let expired = match self.main.get_h(key, h) {
            Some(e) => self.is_expired_h(key, h, e, now),
            None => false,
        };
        if expired {
            self.unlink_expired(key);
            self.expired_keys += 1;
            self.note(key, KeyEvent::Expired);
            self.notice_expired(key);
        }
        expired
    }

    /// Looks a key up for a command: expires it lazily and refreshes its access
    /// field (LRU clock or LFU counter).
    #[inline]
    pub fn get(&mut self, key: &[u8], now: i64) -> Option<&mut Entry> {
        // One hash for both tables; with TTLs in the db, the TTL's bucket is
        // fetched while the key's entry is, so that the two misses overlap.
        let h = Dict::<Entry>::hash_of(key);
        if !self.expires.is_empty() {
            self.expires.prefetch(h, false);
            self.expire_if_needed_h(key, h, now);
        }
        self.note_lookup(key);
        let e = self.main.get_mut_h(key, h)?;
        if let Some(s) = self.snap.as_deref_mut() {
            s.keep(key, e, &self.expires);
        }
        match self.access {
            Access::Lru => e.lru = lru_clock(now),
            lfu => {
                let seen = (super::lru::command_epoch(), e as *const Entry as usize);
                if self.lfu_counted != seen {
                    self.lfu_counted = seen;
                    e.lru = lfu.touched(e.lru, now, &mut self.access_rng);
                }
            }
        }
        Some(e)
    }

    /// Looks a key up without touching its LRU clock (OBJECT, TYPE-like introspection).
    pub fn peek(&mut self, key: &[u8], now: i64) -> Option<&Entry> {
        self.expire_if_needed(key, now);
        self.note_lookup(key);
        self.main.get(key)
    }

    pub fn contains(&mut self, key: &[u8], now: i64) -> bool {
        self.expire_if_needed(key, now);
        self.note_lookup(key);
        self.main.contains_key(key)
    }

    /// Stores a value, dropping any TTL (SET semantics).
    pub fn set(&mut self, key: &[u8], value: Value, now: i64) {
        self.before_store(key, now);
        self.note_write(key, now);
        self.keep(key);
        if let Some(e) = self.main.get_mut(key) {
            if e.has_expire {
                e.has_expire = false;
                self.expires.remove(key);
            }
            let old = std::mem::replace(&mut e.value, value);
            e.lru = self.access.overwritten(e.lru, now);
            super::lazyfree::free_value(old, self.lazy_server_del);
        } else {
            let lru = self.access.fresh(now);
            self.insert_entry(key, Entry::new(value, lru));
            self.notice_new(key);
        }
    }

    /// Stores a value keeping an existing TTL (KEEPTTL, and in-place updates).
    pub fn set_keep_ttl(&mut self, key: &[u8], value: Value, now: i64) {
        self.before_store(key, now);
        self.note_write(key, now);
        self.keep(key);
        if let Some(e) = self.main.get_mut(key) {
            let old = std::mem::replace(&mut e.value, value);
            e.lru = self.access.overwritten(e.lru, now);
            super::lazyfree::free_value(old, self.lazy_server_del);
        } else {
            let lru = self.access.fresh(now);
            self.insert_entry(key, Entry::new(value, lru));
            self.notice_new(key);
        }
    }

    /// Adds an existing entry (its value and LRU clock) under a key known to be
    /// absent (RENAME, MOVE).
    pub fn add_entry(&mut self, key: &[u8], entry: Entry) {
        self.note(key, KeyEvent::Written);
        self.insert_entry(key, entry);
        self.notice_new(key);
    }

    /// Adds a loaded key (of table hash `h`) unless it exists; gives the key
    /// back when it does. Loading records no events.
    pub fn add_loaded(&mut self, key: SBytes, h: usize, entry: Entry) -> Result<(), SBytes> {
        entry.saved.set(self.epoch);
        self.main.insert_absent(key, h, entry).map_err(|(k, _)| k)
    }

    /// Adds a key known to be absent (after `contains` returned false).
    pub fn add(&mut self, key: &[u8], value: Value, now: i64) {
        self.note_write(key, now);
        self.insert_entry(key, Entry::new(value, self.access.fresh(now)));
        self.notice_new(key);
    }

    /// Removes a key and its TTL; returns the value.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let e = self.unlink(key)?;
        self.note(key, KeyEvent::Written);
        Some(e)
    }

    /// Removes a key the server evicts (maxmemory); nothing is recorded, the
    /// caller touches its watchers.
    pub fn evict(&mut self, key: &[u8]) -> Option<Entry> {
        self.unlink(key)
    }

    /// Deletes a key whose TTL passed, freeing it as `lazyfree-lazy-expire` says.
    fn unlink_expired(&mut self, key: &[u8]) {
        if self.log_expired {
            self.expired_log.push(SBytes::new(key));
        }
        if let Some(e) = self.unlink(key) {
            super::lazyfree::free_entry(e, self.lazy_expire);
        }
    }

    /// `remove` without recording a write (expiry).
    fn unlink(&mut self, key: &[u8]) -> Option<Entry> {
        self.keep(key);
        let e = self.main.remove(key)?;
        if e.has_expire {
            self.expires.remove(key);
        }
        Some(e)
    }

    /// Sets an absolute expiry (ms). The key must exist.
    pub fn set_expire(&mut self, key: &[u8], when_ms: i64) {
        self.keep(key);
        if let Some(e) = self.main.get_mut(key) {
            e.has_expire = true;
            self.expires.insert(key, when_ms);
            self.note(key, KeyEvent::Written);
        }
    }

    /// The absolute expiry of a key, if it has one.
    pub fn get_expire(&self, key: &[u8]) -> Option<i64> {
        match self.main.get(key) {
            Some(e) if e.has_expire => self.expires.get(key).copied(),
            _ => None,
        }
    }

    /// Removes a TTL; returns true if there was one.
    pub fn persist(&mut self, key: &[u8]) -> bool {
        self.keep(key);
        match self.main.get_mut(key) {
            Some(e) if e.has_expire => {
                e.has_expire = false;
                self.expires.remove(key);
                self.note(key, KeyEvent::Written);
                true
            }
            _ => false,
        }
    }

    /// Empties the database and returns its old tables, so that a caller can
    /// free them on another thread (FLUSHDB ASYNC). A running snapshot that
    /// has not read them all keeps them instead (empty tables are returned).
    pub fn take_all(&mut self) -> (Dict<Entry>, Dict<i64>) {
        self.expires_cursor = 0;
        self.avg_ttl = 0;
        let old = (self.main.take(), self.expires.take());
        match self.snap.as_deref_mut() {
            Some(s) if !s.scanned && s.frozen.is_none() => {
                s.frozen = Some(old);
                (Dict::new(), Dict::new())
            }
            _ => old,
        }
    }

    /// A step of the running snapshot's scan over this database (see
    /// `DbSnap::scan`): (keys seen, keys written, scan complete).
    pub fn snapshot_scan(&mut self, buf: &mut Vec<u8>, budget: usize) -> (usize, u64, bool) {
        match self.snap.as_deref_mut() {
            Some(s) => {
                let (seen, written) = s.scan(&self.main, &self.expires, buf, budget);
                (seen, written, s.scanned)
            }
            None => (0, 0, true),
        }
    }

    /// Marks every entry as held by snapshot epoch 0 (before the epoch
    /// counter wraps).
    pub fn reset_epochs(&mut self) {
        for (_, e) in self.main.iter() {
            e.saved.set(0);
        }
        self.epoch = 0;
    }

    /// A random key that is not expired (tries a bounded number of times when
    /// every sampled key is a stale volatile one, as Redis does).
    pub fn random_key<R: rand::Rng>(&mut self, rng: &mut R, now: i64) -> Option<SBytes> {
        let mut tries = 0;
        loop {
            let (k, e) = self.main.random(rng)?;
            let k = SBytes::new(k);
            if self.is_expired(&k, e, now) {
                tries += 1;
                if self.main.len() == self.expires.len() && tries >= 100 {
                    // All keys are volatile: return one even if logically expired.
                    return Some(k);
                }
                self.unlink_expired(&k);
                self.expired_keys += 1;
                self.note(&k, KeyEvent::Expired);
                self.notice_expired(&k);
                continue;
            }
            return Some(k);
        }
    }

    /// One active-expiry pass: samples up to `n` keys with a TTL from where the
    /// previous pass stopped, deleting those whose time has passed.
    pub fn sample_expired(&mut self, n: usize, now: i64) -> SampleResult {
        let mut res = SampleResult { sampled: 0, expired: 0 };
        if self.expires.is_empty() {
            return res;
        }
        let mut dead: Vec<SBytes> = Vec::new();
        let mut ttl_sum = 0i64;
        let mut ttl_n = 0i64;
        let mut buckets = 0;
        let mut cursor = self.expires_cursor;
        while res.sampled < n && buckets < n * 20 {
            cursor = self.expires.scan(cursor, |k, &when| {
                res.sampled += 1;
                if when <= now {
                    dead.push(SBytes::new(k));
                } else {
                    ttl_sum += when - now;
                    ttl_n += 1;
                }
            });
            buckets += 1;
            if cursor == 0 {
                break;
            }
        }
        self.expires_cursor = cursor;
        for k in &dead {
            self.unlink_expired(k);
            self.note(k, KeyEvent::Expired);
            self.notice_expired(k);
        }
        res.expired = dead.len();
        self.expired_keys += dead.len() as u64;
        if ttl_n > 0 {
            let avg = ttl_sum / ttl_n;
            self.avg_ttl = if self.avg_ttl == 0 { avg } else { (self.avg_ttl / 50) * 49 + avg / 50 };
        }
        res
    }
}
