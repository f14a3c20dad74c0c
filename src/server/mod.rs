//! The server's state. `Server` is everything commands may touch (databases,
//! configuration, statistics, the client registry); it lives behind one lock in
//! `Shared`, and a connection holds that lock while it executes a batch of
//! commands, which makes every command atomic and keeps Redis's single order of
//! execution (see docs/architecture.md). Parsing and reply writing happen outside
//! the lock, on every core.

pub mod client;
pub mod stats;

use crate::commands::table::Table;
use crate::config::Config;
use crate::storage::Db;
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
    pub config: Config,
    pub stats: Stats,
    /// Clients not currently executing (a running client is held by its task).
    pub clients: HashMap<u64, Box<Client>, ahash::RandomState>,
    pub next_client_id: u64,
    pub slowlog: VecDeque<SlowlogEntry>,
    pub slowlog_next_id: u64,
    /// Monitors receiving every command.
    pub monitors: Vec<(u64, tokio::sync::mpsc::UnboundedSender<bytes::Bytes>)>,
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
}

impl Server {
    pub fn new(config: Config) -> Server {
        use rand::SeedableRng;
        let n = config.databases;
        Server {
            dbs: (0..n).map(|_| Db::new()).collect(),
            config,
            stats: Stats::default(),
            clients: HashMap::default(),
            // Redis gives its first connection id 3 (two internal clients come first).
            next_client_id: 3,
            slowlog: VecDeque::new(),
            slowlog_next_id: 0,
            monitors: Vec::new(),
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
            replid: random_hex40(),
            replid2: "0".repeat(40),
            quicklist_packed_threshold: 1 << 30,
        }
    }

    /// Total keys that expired in all databases.
    pub fn expired_keys(&self) -> u64 {
        self.dbs.iter().map(|d| d.expired_keys).sum()
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
}

impl Shared {
    pub fn new(config: Config, config_file: Option<String>) -> Arc<Shared> {
        let run_id: String = {
            use rand::Rng;
            let mut r = rand::thread_rng();
            (0..40).map(|_| char::from_digit(r.gen_range(0..16), 16).unwrap_or('0')).collect()
        };
        let port = config.port as u64;
        Arc::new(Shared {
            server: Mutex::new(Server::new(config)),
            table: Table::new(crate::commands::HANDLERS),
            start_ms: crate::util::now_ms(),
            run_id,
            connected: AtomicU64::new(0),
            shutdown: AtomicBool::new(false),
            shutdown_notify: tokio::sync::Notify::new(),
            tcp_port: AtomicU64::new(port),
            config_file,
            executable: std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default(),
        })
    }

    pub fn request_shutdown(&self) {
        self.shutdown.store(true, Ordering::SeqCst);
        self.shutdown_notify.notify_waiters();
    }
}
