//! The server's state. `Server` is everything commands may touch (databases,
//! configuration, statistics, the client registry); it lives behind one lock in
//! `Shared`, and a connection holds that lock while it executes a batch of
//! commands, which makes every command atomic and keeps Redis's single order of
//! execution (see docs/architecture.md). Parsing and reply writing happen outside
//! the lock, on every core.

pub mod client;
pub mod client_evict;
pub mod digest;
pub mod evict;
pub mod notify;
pub mod propagate;
pub mod pubsub;
pub mod stats;
pub mod tracking;

use crate::commands::table::Table;
use crate::config::Config;
use crate::storage::{Db, SBytes};
use client::Client;
use parking_lot::Mutex;
use stats::Stats;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// One SLOWLOG entry.
pub struct SlowlogEntry {
    pub id: u64,
    pub time: i64,
    pub duration_us: i64,
    pub args: Vec<Vec<u8>>,
    pub addr: String,
    pub name: String,
}

/// CLIENT PAUSE state.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum PauseKind {
    All,
    Write,
}

pub struct Server {
    pub dbs: Vec<Db>,
    /// What the server lock sits in, for threads that take it (a background
    /// snapshot); empty for a server built outside `Shared` (unit tests).
    pub shared: std::sync::Weak<Shared>,
    pub config: Config,
    pub stats: Stats,
    /// Clients not currently executing (a running client is held by its task).
    pub clients: HashMap<u64, Box<Client>, ahash::RandomState>,
    pub next_client_id: u64,
    pub slowlog: VecDeque<SlowlogEntry>,
    pub slowlog_next_id: u64,
    /// Monitors receiving every command.
    pub monitors: Vec<(u64, tokio::sync::mpsc::UnboundedSender<bytes::Bytes>)>,
    /// Pub/Sub subscriptions and delivery.
    pub pubsub: pubsub::PubSub,
    /// The Lua interpreter, created on first use (taken out while a script runs).
    pub lua: Option<Box<crate::scripting::Engine>>,
    /// Writes since the last save (INFO `rdb_changes_since_last_save`).
    pub dirty: u64,
    pub lastsave: i64,
    pub active_expire_enabled: bool,
    pub pause: Option<(PauseKind, i64)>,
    pub rng: rand::rngs::SmallRng,
    /// Set by SHUTDOWN; the accept loop and the main task watch it.
    pub shutdown_requested: bool,
    /// Latency events: name → (time of latest, latest ms, max ms).
    pub latency: HashMap<String, Vec<(i64, u64)>>,
    pub latency_max: HashMap<String, u64>,
    /// Replication IDs (INFO replication; DEBUG CHANGE-REPL-ID renews the first).
    pub replid: String,
    pub replid2: String,
    /// DEBUG QUICKLIST-PACKED-THRESHOLD: list elements this large go in plain nodes.
    pub quicklist_packed_threshold: usize,
    /// Clients blocked on a key (BLPOP and friends), per (db, key), in arrival order.
    pub blocked_on: HashMap<(usize, crate::storage::SBytes), VecDeque<u64>>,
    /// Keys that received data while someone was blocked on them; served after
    /// the current command completes.
    pub ready_keys: Vec<(usize, crate::storage::SBytes)>,
    /// Clients blocked in XREADGROUP (while none are, deleted stream keys need
    /// no scan) and in XREAD or XREADGROUP (while none are, a key's unserved
    /// list waiter ends its serving at once).
    pub group_readers: usize,
    pub stream_readers: usize,
    /// WATCHed keys: per (db, key), the watching clients in the order they
    /// started watching. The key also sits in `dbs[db].watched`, which makes the
    /// database record what happens to it (see `commands::transactions`).
    pub watched_keys: HashMap<(usize, SBytes), Vec<Watcher>, ahash::RandomState>,
    /// Clients a touch flagged while they were out of `clients` and were not
    /// the touching client either (the caller of a script whose `redis.call`
    /// runs as another client); flagged when their command returns.
    pub dirty_cas_pending: Vec<u64>,
    /// RDB persistence: background save, save statistics (see `persist`).
    pub persist: crate::persist::State,
    /// maxmemory eviction state and statistics (see `evict`).
    pub evict: evict::State,
    /// Changes of the execution unit in progress, on their way to the AOF.
    pub propagation: propagate::Pending,
    /// The append-only file (see `persist::aof`).
    pub aof: crate::persist::aof::Aof,
    /// Client-side caching: tracked keys, BCAST prefixes, queued invalidations.
    pub tracking: tracking::Tracking,
    /// When the last command of the running batch ended (µs), the next
    /// one's start; cleared between batches (see `commands::call`).
    pub clock_us: Option<i64>,
    /// Memory held by clients, as client eviction counts it (`client_evict`).
    pub client_memory: usize,
    /// The client whose request is running (0 outside one). While a script
    /// runs, commands run as the script's client, but this stays the
    /// caller: Redis's `server.current_client` (NOLOOP and BCAST tracking,
    /// Pub/Sub messages for the caller).
    pub current_client: u64,
}

/// One client watching one key.
pub struct Watcher {
    pub client: u64,
    /// The key was logically expired (present, TTL passed) when WATCH ran: its
    /// deletion is no change, and EXEC does not fail because it is expired.
    pub expired: bool,
}

impl Server {
    pub fn new(config: Config, shared: std::sync::Weak<Shared>) -> Server {
        use rand::SeedableRng;
        let n = config.databases;
        let mut srv = Server {
            dbs: (0..n).map(|_| Db::new()).collect(),
            shared,
            config,
            stats: Stats::default(),
            clients: HashMap::default(),
            // Redis gives its first connection id 3 (two internal clients come first).
            next_client_id: 3,
            slowlog: VecDeque::new(),
            slowlog_next_id: 0,
            monitors: Vec::new(),
            pubsub: pubsub::PubSub::default(),
            lua: None,
            dirty: 0,
            lastsave: crate::util::now_ms() / 1000,
            active_expire_enabled: true,
            pause: None,
            rng: rand::rngs::SmallRng::from_entropy(),
            shutdown_requested: false,
            latency: HashMap::new(),
            latency_max: HashMap::new(),
            blocked_on: HashMap::new(),
            ready_keys: Vec::new(),
            group_readers: 0,
            stream_readers: 0,
            watched_keys: HashMap::default(),
            dirty_cas_pending: Vec::new(),
            persist: crate::persist::State::default(),
            evict: evict::State::default(),
            propagation: propagate::Pending::default(),
            aof: crate::persist::aof::Aof::default(),
            tracking: tracking::Tracking::default(),
            clock_us: None,
            client_memory: 0,
            current_client: 0,
            replid: random_hex40(),
            replid2: "0".repeat(40),
            quicklist_packed_threshold: 1 << 30,
        };
        evict::sync(&mut srv);
        srv
    }

    /// Total keys that expired in all databases.
    pub fn expired_keys(&self) -> u64 {
        self.dbs.iter().map(|d| d.expired_keys).sum()
    }

    /// WATCH: `client` watches `key` of database `db` (once per key and db).
    pub fn watch_key(&mut self, client: &mut Client, db: usize, key: &[u8], now: i64) {
        if client.watched.iter().any(|(d, k)| *d == db && k.as_ref() == key) {
            return;
        }
        let k = SBytes::new(key);
        let expired = self.dbs[db].key_is_expired(key, now);
        self.watched_keys.entry((db, k.clone())).or_default().push(Watcher { client: client.id, expired });
        self.dbs[db].watched.insert(k.clone());
        client.watched.push((db, k));
    }

    /// Drops every watch of `client` (UNWATCH, EXEC, DISCARD, disconnect, and a
    /// touch that made it dirty).
    pub fn unwatch_all(&mut self, client: &mut Client) {
        for (db, key) in client.watched.drain(..) {
            let entry = (db, key);
            let Some(list) = self.watched_keys.get_mut(&entry) else { continue };
            list.retain(|w| w.client != client.id);
            if list.is_empty() {
                self.watched_keys.remove(&entry);
                let d = &mut self.dbs[db];
                d.watched.remove(&entry.1);
                if d.watched.is_empty() && !d.observe_all {
                    d.key_events.clear();
                }
            }
        }
    }

    /// Whether a key `client` watches has a TTL that passed since WATCH (EXEC
    /// then fails). Keys already expired when watched do not count.
    pub fn watched_key_expired(&self, client: &Client, now: i64) -> bool {
        client.watched.iter().any(|(db, key)| {
            let fresh = self
                .watched_keys
                .get(&(*db, key.clone()))
                .and_then(|l| l.iter().find(|w| w.client == client.id))
                .is_some_and(|w| !w.expired);
            fresh && self.dbs[*db].key_is_expired(key, now)
        })
    }

    /// Whether the databases record key events (for WATCH or tracking).
    pub fn observing_keys(&self) -> bool {
        !self.watched_keys.is_empty() || self.tracking.observing()
    }

    /// Redis's `signalModifiedKey`: `key` of `db` changed (`present`: it
    /// exists now). Watchers lose their transaction; tracking clients that
    /// may cache it get an invalidation.
    pub fn signal_modified(&mut self, cur: &mut Client, db: usize, key: &[u8], present: bool) {
        if !self.watched_keys.is_empty() {
            self.touch_watched_key(cur, db, key, present);
        }
        if self.tracking.observing() {
            tracking::invalidate_key(self, key, true);
        }
    }

    /// Redis's `touchWatchedKey`: `key` of `db` was modified (or deleted by
    /// expiry); `present` says whether it exists now. Clients watching it get
    /// the dirty-CAS flag, so their EXEC fails, and stop watching anything.
    /// `cur` is the client running the command (not in `clients` meanwhile).
    pub fn touch_watched_key(&mut self, cur: &mut Client, db: usize, key: &[u8], present: bool) {
        let Some(list) = self.watched_keys.get_mut(&(db, SBytes::new(key))) else { return };
        let mut dirty = Vec::new();
        for w in list.iter_mut() {
            if w.expired {
                if !present {
                    // The expired key is now deleted: logically no change.
                    w.expired = false;
                    continue;
                }
                // As Redis 7.0 does, the remaining watchers are left alone.
                break;
            }
            dirty.push(w.client);
        }
        for id in dirty {
            self.mark_dirty_cas(cur, id);
        }
    }

    /// Redis's `touchAllWatchedKeysInDb`: database `emptied` is flushed, or
    /// swapped with `replaced_with` (SWAPDB). Called before the change.
    pub fn touch_all_watched_in_db(
        &mut self,
        cur: &mut Client,
        emptied: usize,
        replaced_with: Option<usize>,
        now: i64,
    ) {
        if self.dbs[emptied].watched.is_empty() {
            return;
        }
        let keys: Vec<SBytes> = self.dbs[emptied].watched.iter().cloned().collect();
        let mut dirty = Vec::new();
        for key in keys {
            let exists_in_emptied = self.dbs[emptied].main().contains_key(&key);
            let in_replaced = replaced_with.is_some_and(|r| self.dbs[r].main().contains_key(&key));
            if !exists_in_emptied && !in_replaced {
                continue;
            }
            let replaced_expired = replaced_with.is_some_and(|r| self.dbs[r].key_is_expired(&key, now));
            let Some(list) = self.watched_keys.get_mut(&(emptied, key)) else { continue };
            for w in list.iter_mut() {
                if w.expired {
                    if !in_replaced {
                        w.expired = false;
                        continue;
                    } else if replaced_expired {
                        continue;
                    }
                } else if !exists_in_emptied && replaced_expired {
                    w.expired = true;
                    continue;
                }
                dirty.push(w.client);
            }
        }
        for id in dirty {
            self.mark_dirty_cas(cur, id);
        }
    }

    /// Flags client `id` dirty-CAS and drops its watches.
    fn mark_dirty_cas(&mut self, cur: &mut Client, id: u64) {
        if cur.id == id {
            cur.dirty_cas = true;
            self.unwatch_all(cur);
        } else if let Some(mut c) = self.clients.remove(&id) {
            c.dirty_cas = true;
            self.unwatch_all(&mut c);
            self.clients.insert(id, c);
        } else if !self.dirty_cas_pending.contains(&id) {
            self.dirty_cas_pending.push(id);
        }
    }

    /// Applies the pending dirty-CAS flags that can be applied now (`cur` is
    /// the client whose command just returned).
    pub fn apply_pending_dirty_cas(&mut self, cur: &mut Client) {
        let pending = std::mem::take(&mut self.dirty_cas_pending);
        for id in pending {
            self.mark_dirty_cas(cur, id);
        }
    }
}

/// 40 random hex digits (run ids, replication ids).
pub fn random_hex40() -> String {
    use rand::Rng;
    let mut r = rand::thread_rng();
    (0..40).map(|_| char::from_digit(r.gen_range(0..16), 16).unwrap_or('0')).collect()
}

/// What every task shares: the locked server state plus the few facts that
/// are read without the lock.
pub struct Shared {
    pub server: Mutex<Server>,
    pub table: Table,
    pub start_ms: i64,
    pub run_id: String,
    pub connected: AtomicU64,
    pub shutdown: AtomicBool,
    pub shutdown_notify: tokio::sync::Notify,
    /// The TCP port actually bound (for INFO when `port 0` picks one).
    pub tcp_port: AtomicU64,
    pub config_file: Option<String>,
    pub executable: String,
    /// The running Lua script, as seen from outside the lock (BUSY, SCRIPT KILL).
    pub script: Arc<crate::scripting::Watch>,
    /// Wakes the background eviction task (`evict::background`).
    pub evict_wake: tokio::sync::Notify,
    /// The AOF's group commit (`appendfsync always`): replies wait for it.
    pub group_commit: Arc<crate::persist::group_commit::GroupCommit>,
}

impl Shared {
    pub fn new(config: Config, config_file: Option<String>) -> Arc<Shared> {
        let run_id: String = {
            use rand::Rng;
            let mut r = rand::thread_rng();
            (0..40).map(|_| char::from_digit(r.gen_range(0..16), 16).unwrap_or('0')).collect()
        };
        let port = config.port as u64;
        Arc::new_cyclic(|me| {
            let server = Server::new(config, me.clone());
            Shared {
                group_commit: server.aof.group_commit.clone(),
                server: Mutex::new(server),
                table: Table::new(crate::commands::HANDLERS),
                start_ms: crate::util::now_ms(),
                run_id,
                connected: AtomicU64::new(0),
                shutdown: AtomicBool::new(false),
                shutdown_notify: tokio::sync::Notify::new(),
                tcp_port: AtomicU64::new(port),
                config_file,
                executable: std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default(),
                script: Arc::default(),
                evict_wake: tokio::sync::Notify::new(),
            }
        })
    }

    /// The server lock, from async code: waits without blocking the thread
    /// (a long script may hold the lock while this worker serves others).
    pub async fn lock_async(&self) -> parking_lot::MutexGuard<'_, Server> {
        loop {
            if let Some(g) = self.server.try_lock_for(std::time::Duration::from_millis(2)) {
                return g;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    }

    pub fn request_shutdown(&self) {
        self.shutdown.store(true, Ordering::SeqCst);
        self.shutdown_notify.notify_waiters();
    }
}
