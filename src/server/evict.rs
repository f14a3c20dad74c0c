//! maxmemory: keeping used memory under the limit by evicting keys, as Redis's
//! `performEvictions` does before each command. The eight policies choose
//! from all keys or only keys with a TTL, by approximated LRU or LFU (sampling
//! `maxmemory-samples` keys per database into a pool of the 16 best
//! candidates), at random, or by nearest expiry. Each call spends at most the
//! time `maxmemory-eviction-tenacity` allows; past it a background task keeps
//! evicting (`Running`), and commands are refused with `-OOM` only when
//! nothing can be evicted (`Fail`).

use super::client::Client;
use super::{notify, Server, Shared};
use crate::resp::Reply;
use crate::storage::lru::Access;
use crate::storage::SBytes;
use std::time::Instant;

/// `maxmemory-policy`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Policy {
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
    AllkeysLru,
    AllkeysLfu,
    AllkeysRandom,
    NoEviction,
}

impl Policy {
    /// From the directive's enum value (`config::registry::MAXMEMORY_POLICY`).
    pub fn from_bits(b: u32) -> Policy {
        match b {
            0 => Policy::VolatileLru,
            1 => Policy::VolatileLfu,
            2 => Policy::VolatileRandom,
            3 => Policy::VolatileTtl,
            4 => Policy::AllkeysLru,
            5 => Policy::AllkeysLfu,
            6 => Policy::AllkeysRandom,
            _ => Policy::NoEviction,
        }
    }

    pub fn is_lfu(self) -> bool {
        matches!(self, Policy::VolatileLfu | Policy::AllkeysLfu)
    }

    /// RDB files carry idle times under these (Redis's MAXMEMORY_FLAG_LRU).
    pub fn is_lru(self) -> bool {
        matches!(self, Policy::VolatileLru | Policy::AllkeysLru)
    }

    fn all_keys(self) -> bool {
        matches!(self, Policy::AllkeysLru | Policy::AllkeysLfu | Policy::AllkeysRandom)
    }

    fn random(self) -> bool {
        matches!(self, Policy::AllkeysRandom | Policy::VolatileRandom)
    }
}

/// What `perform` achieved.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
    /// Memory is within the limit (or eviction does not apply now).
    Ok,
    /// Over the limit, and the background task is still evicting.
    Running,
    /// Over the limit and nothing can be evicted: `denyoom` commands fail.
    Fail,
}

/// Candidates the pool keeps between calls.
const POOL_SIZE: usize = 16;

struct Candidate {
    /// Greater is a better candidate (idle ms, 255 - LFU counter, or
    /// u64::MAX - expiry time).
    rank: u64,
    db: usize,
    key: SBytes,
}

/// Eviction state and statistics, part of `Server`.
#[derive(Default)]
pub struct State {
    /// Best candidates so far, ascending by rank.
    pool: Vec<Candidate>,
    /// Round-robin database for the random policies.
    next_db: usize,
    /// INFO stats `evicted_keys`.
    pub evicted_keys: u64,
    /// Since when memory has been over the limit (INFO
    /// `current_eviction_exceeded_time`), and the total of past such times.
    pub exceeded_since: Option<Instant>,
    pub total_exceeded_us: u64,
    /// The background task is evicting (a call ran out of time).
    pub running: bool,
    /// Memory was over the limit with nothing to evict when the current
    /// command started (a script's first write is refused then).
    pub pre_command_oom: bool,
}

impl State {
    /// Milliseconds of the current over-the-limit period (0 when within it).
    pub fn current_exceeded_ms(&self) -> u64 {
        self.exceeded_since.map_or(0, |t| t.elapsed().as_millis() as u64)
    }

    /// Milliseconds over the limit in total, the current period included.
    pub fn total_exceeded_ms(&self) -> u64 {
        (self.total_exceeded_us + self.exceeded_since.map_or(0, |t| t.elapsed().as_micros() as u64)) / 1000
    }

    /// CONFIG RESETSTAT.
    pub fn reset_stats(&mut self) {
        self.evicted_keys = 0;
        self.total_exceeded_us = 0;
        self.exceeded_since = None;
    }
}

/// Memory counted against `maxmemory` (all allocations, minus the buffers
/// Redis leaves out: replica output and AOF buffers, which ferrokv does not
/// keep).
pub fn counted_memory() -> usize {
    super::stats::used_memory()
}

/// Bytes to free to get within `maxmemory` (0 when within, or no limit).
pub fn to_free(srv: &Server) -> usize {
    let max = srv.config.maxmemory;
    if max == 0 {
        return 0;
    }
    counted_memory().saturating_sub(usize::try_from(max).unwrap_or(usize::MAX))
}

/// The access mode every database keeps its keys' access fields in.
pub fn access_mode(srv: &Server) -> Access {
    if srv.config.maxmemory_policy.is_lfu() {
        Access::Lfu { log_factor: srv.config.lfu_log_factor, decay_time: srv.config.lfu_decay_time }
    } else {
        Access::Lru
    }
}

/// Brings the databases in step with the configuration (access mode and the
/// lazy-free directives they apply themselves). Called at startup and after
/// CONFIG SET.
pub fn sync(srv: &mut Server) {
    let access = access_mode(srv);
    let (expire, server_del) = (srv.config.lazyfree_lazy_expire, srv.config.lazyfree_lazy_server_del);
    for db in srv.dbs.iter_mut() {
        db.access = access;
        db.lazy_expire = expire;
        db.lazy_server_del = server_del;
    }
}

/// The time one call may spend evicting (Redis's `evictionTimeLimitUs`).
fn time_limit_us(tenacity: u32) -> u64 {
    match tenacity {
        0..=10 => 50 * tenacity as u64,
        11..=99 => (500.0 * 1.15f64.powi(tenacity as i32 - 10)) as u64,
        _ => u64::MAX,
    }
}

/// Evicts keys until memory is within `maxmemory`, the time limit passes, or
/// nothing is left to evict. `cur` and `out` are the client whose command
/// triggered it (keyspace events it is subscribed to go into its reply).
pub fn perform(srv: &mut Server, cur: &mut Client, out: &mut Reply) -> Outcome {
    let outcome = evict(srv, cur, out);
    match outcome {
        Outcome::Ok => {
            if let Some(t) = srv.evict.exceeded_since.take() {
                srv.evict.total_exceeded_us += t.elapsed().as_micros() as u64;
            }
        }
        Outcome::Running | Outcome::Fail => {
            srv.evict.exceeded_since.get_or_insert_with(Instant::now);
        }
    }
    outcome
}

fn evict(srv: &mut Server, cur: &mut Client, out: &mut Reply) -> Outcome {
    if srv.config.maxmemory == 0 {
        return Outcome::Ok;
    }
    let need = to_free(srv);
    if need == 0 {
        return Outcome::Ok;
    }
    let policy = srv.config.maxmemory_policy;
    if policy == Policy::NoEviction {
        return Outcome::Fail;
    }
    let start = Instant::now();
    let limit = time_limit_us(srv.config.maxmemory_eviction_tenacity);
    let lazy = srv.config.lazyfree_lazy_eviction;
    let monitor = srv.config.latency_monitor_threshold > 0;
    let mut freed = 0usize;
    let mut keys_freed = 0u64;
    while freed < need {
        let Some((db, key)) = pick(srv, policy) else {
            // Nothing left to evict. Values being freed in the background
            // may still bring memory down: wait for them briefly.
            if crate::storage::lazyfree::pending() > 0 {
                std::thread::sleep(std::time::Duration::from_micros(limit.min(100_000)));
                if to_free(srv) == 0 {
                    return Outcome::Ok;
                }
            }
            return Outcome::Fail;
        };
        let before = counted_memory();
        // Timed only for the latency monitor, as Redis's latencyStartMonitor.
        let t0 = monitor.then(Instant::now);
        if let Some(entry) = srv.dbs[db].evict(&key) {
            crate::storage::lazyfree::free_entry(entry, lazy);
        }
        if let Some(t0) = t0 {
            let del_ms = t0.elapsed().as_millis() as u64;
            if del_ms > 0 {
                crate::commands::server::latency_add_sample_if_needed(srv, "eviction-del", del_ms);
            }
        }
        freed += before.saturating_sub(counted_memory());
        srv.evict.evicted_keys += 1;
        keys_freed += 1;
        if super::propagate::wanted(srv) {
            let verb = if lazy { "UNLINK" } else { "DEL" };
            let cmd = vec![bytes::Bytes::from_static(verb.as_bytes()), bytes::Bytes::copy_from_slice(&key)];
            super::propagate::push(srv, db, cmd);
            super::propagate::flush_background(srv);
        }
        srv.signal_modified(cur, db, &key, false);
        notify::publish(srv, notify::EVICTED, "evicted", &key, db, cur.id, out);
        if keys_freed.is_multiple_of(16) {
            // Freed in the background: the figure above undercounts.
            if lazy && to_free(srv) == 0 {
                break;
            }
            if start.elapsed().as_micros() as u64 > limit {
                srv.evict.running = true;
                break;
            }
        }
    }
    if monitor {
        let cycle_ms = start.elapsed().as_millis() as u64;
        if cycle_ms > 0 {
            crate::commands::server::latency_add_sample_if_needed(srv, "eviction-cycle", cycle_ms);
        }
    }
    if srv.evict.running {
        Outcome::Running
    } else {
        Outcome::Ok
    }
}

/// The next key to evict under `policy`, or None when there is none.
fn pick(srv: &mut Server, policy: Policy) -> Option<(usize, SBytes)> {
    let all = policy.all_keys();
    if policy.random() {
        let n = srv.dbs.len();
        for _ in 0..n {
            srv.evict.next_db = (srv.evict.next_db + 1) % n;
            let db = &srv.dbs[srv.evict.next_db];
            let table_len = if all { db.main().len() } else { db.expires().len() };
            if table_len == 0 {
                continue;
            }
            let key = if all {
                db.main().random(&mut srv.rng).map(|(k, _)| SBytes::new(k))
            } else {
                db.expires().random(&mut srv.rng).map(|(k, _)| SBytes::new(k))
            };
            if let Some(k) = key {
                return Some((srv.evict.next_db, k));
            }
        }
        return None;
    }
    loop {
        let mut total = 0;
        for i in 0..srv.dbs.len() {
            let n = if all { srv.dbs[i].main().len() } else { srv.dbs[i].expires().len() };
            if n > 0 {
                populate(srv, i, policy);
                total += n;
            }
        }
        if total == 0 {
            return None;
        }
        // Best first; a candidate whose key is gone since it was sampled is
        // dropped and the next one tried.
        while let Some(c) = srv.evict.pool.pop() {
            let db = &srv.dbs[c.db];
            let present = if all { db.main().contains_key(&c.key) } else { db.expires().contains_key(&c.key) };
            if present {
                return Some((c.db, c.key));
            }
        }
    }
}

/// Samples keys of database `i` into the pool (Redis's `evictionPoolPopulate`).
fn populate(srv: &mut Server, i: usize, policy: Policy) {
    let now = crate::util::now_ms();
    let samples = srv.config.maxmemory_samples.max(1);
    let Server { dbs, evict, rng, .. } = srv;
    let db = &dbs[i];
    let access = db.access;
    let pool = &mut evict.pool;
    // A sampled key is copied only when it enters the pool.
    let mut offer = |rank: u64, key: &[u8]| {
        if pool.len() == POOL_SIZE && pool.first().is_some_and(|c| c.rank >= rank) {
            // Not better than anything kept.
            return;
        }
        if pool.iter().any(|c| c.db == i && &*c.key == key) {
            return;
        }
        // The first candidate with a greater rank: insert before it.
        let at = pool.iter().position(|c| c.rank >= rank).unwrap_or(pool.len());
        let c = Candidate { rank, db: i, key: SBytes::new(key) };
        if pool.len() == POOL_SIZE {
            pool.remove(0);
            pool.insert(at - 1, c);
        } else {
            pool.insert(at, c);
        }
    };
    if policy == Policy::VolatileTtl {
        db.expires().sample(rng, samples, |k, &when| offer(u64::MAX - when.max(0) as u64, k));
    } else if policy.all_keys() {
        db.main().sample(rng, samples, |k, e| offer(access.rank(e.lru, now), k));
    } else {
        db.expires().sample(rng, samples, |k, _| {
            if let Some(e) = db.main().get(k) {
                offer(access.rank(e.lru, now), k);
            }
        });
    }
}

/// The background eviction task (Redis's eviction timer): while a call ran
/// out of time with memory still over the limit, it keeps evicting in slices
/// of the same length, releasing the lock between them.
pub async fn background(sh: std::sync::Arc<Shared>) {
    loop {
        let woken = sh.evict_wake.notified();
        let stop = sh.shutdown_notify.notified();
        tokio::pin!(woken, stop);
        stop.as_mut().enable();
        if sh.shutdown.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        tokio::select! {
            _ = woken => {}
            _ = stop => return,
        }
        loop {
            {
                let mut srv = sh.lock_async().await;
                if !srv.evict.running {
                    break;
                }
                srv.evict.running = false;
                let mut nobody = Client::new(0, String::new(), String::new(), -1, crate::util::now_ms());
                let outcome = perform(&mut srv, &mut nobody, &mut Reply::new());
                super::tracking::before_sleep(&mut srv, None);
                crate::persist::aof::flush(&mut srv);
                if outcome != Outcome::Running {
                    break;
                }
            }
            tokio::task::yield_now().await;
        }
    }
}
