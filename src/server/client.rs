//! Per-connection state that commands read and change: selected database,
//! protocol version, authentication, name, flags, the MULTI queue and WATCHed
//! keys, and what CLIENT LIST / CLIENT INFO show (Redis 7.0's field order and
//! flag letters).

use bytes::Bytes;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

/// CLIENT REPLY mode.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ReplyMode {
    On,
    Off,
    /// Skip the reply of the next command only.
    Skip,
}

/// Wakes a connection task from outside (CLIENT KILL, shutdown).
#[derive(Default)]
pub struct Signal {
    pub kill: AtomicBool,
    /// Fires on kill and at shutdown.
    pub notify: Notify,
    /// Fires when a blocked client was served, timed out by CLIENT UNBLOCK, etc.
    pub wake: Notify,
}

/// What a client blocked in BLPOP & co. waits for.
pub struct Blocked {
    /// Database the command was issued in.
    pub db: usize,
    pub keys: Vec<crate::storage::SBytes>,
    /// Absolute deadline in ms; None waits forever.
    pub deadline: Option<i64>,
    /// The blocking command, re-run when one of its keys gets data.
    pub args: Vec<Bytes>,
    pub on_timeout: TimeoutReply,
}

/// The reply a blocking command gives when it may not block (inside MULTI or a
/// script); a real timeout always replies a null array.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TimeoutReply {
    /// `*-1` (RESP3 `_`): BLPOP, BRPOP, BLMPOP, BZPOPMIN/MAX, BZMPOP.
    NullArray,
    /// `$-1` (RESP3 `_`): BLMOVE, BRPOPLPUSH.
    NullBulk,
}

impl Signal {
    pub fn kill(&self) {
        self.kill.store(true, Ordering::SeqCst);
        self.notify.notify_one();
    }
    pub fn killed(&self) -> bool {
        self.kill.load(Ordering::SeqCst)
    }
}

pub struct Client {
    pub id: u64,
    /// `ip:port` of the peer (or the unix socket path).
    pub addr: String,
    /// `ip:port` of our side.
    pub laddr: String,
    pub fd: i32,
    pub name: Option<Bytes>,
    pub lib_name: Option<Bytes>,
    pub lib_ver: Option<Bytes>,
    pub db: usize,
    pub authenticated: bool,
    pub user: String,
    pub created_ms: i64,
    pub last_interaction_ms: i64,
    /// Full name of the last command run (`client|list`).
    pub last_cmd: String,
    pub reply_mode: ReplyMode,
    /// Close once the pending replies are written (QUIT, CLIENT KILL of self).
    pub close_after_reply: bool,
    pub monitor: bool,
    pub no_evict: bool,
    pub unix_socket: bool,
    /// Bytes waiting in the query buffer (for CLIENT LIST `qbuf`).
    pub qbuf: usize,
    /// Bytes waiting in the output buffer (for CLIENT LIST `omem`).
    pub omem: usize,
    /// Protocol version (2 or 3) as last set by HELLO.
    pub resp: u8,
    pub signal: Arc<Signal>,
    /// Where MONITOR lines go once this client is a monitor.
    pub monitor_tx: Option<tokio::sync::mpsc::UnboundedSender<Bytes>>,
    /// Pub/sub subscription counts (channels, patterns, shard channels), kept
    /// by the pub/sub commands; nonzero means the client is in pub/sub mode.
    pub sub_channels: usize,
    pub sub_patterns: usize,
    pub sub_shard: usize,
    /// Commands queued in MULTI, or -1 outside a transaction.
    pub multi: i64,
    /// The commands queued since MULTI (not kept once the transaction is
    /// flagged to fail, as Redis does).
    pub queue: Vec<Vec<Bytes>>,
    /// Bytes of the queued commands as Redis counts them (CLIENT LIST `multi-mem`).
    pub multi_mem: usize,
    /// A watched key was touched: the next EXEC fails (flag `d`).
    pub dirty_cas: bool,
    /// A command was rejected while queueing: EXEC replies EXECABORT.
    pub dirty_exec: bool,
    /// Keys this client WATCHes, as (db, key), in the order watched.
    pub watched: Vec<(usize, crate::storage::SBytes)>,
    /// Set while blocked in a blocking command (flag `b`).
    pub blocked: Option<Box<Blocked>>,
    /// Replies produced for this client by another client's command (a blocked
    /// command served by a push, CLIENT UNBLOCK); the connection writes them.
    pub pending_out: Vec<u8>,
    /// The connection is our replication master (type `master`, flag `M`).
    pub is_master: bool,
    /// CLIENT TRACKING settings while tracking is on (see `server::tracking`).
    pub tracking: Option<Box<super::tracking::TrackState>>,
    /// This client's memory as last added to `Server::client_memory`.
    pub mem_counted: usize,
}

/// The id of the client that replays the append-only file (`persist::aof`),
/// which no connection can have.
pub const AOF_CLIENT_ID: u64 = u64::MAX - 1;

/// Client types as CLIENT LIST TYPE / CLIENT KILL TYPE name them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ClientType {
    Normal,
    Replica,
    PubSub,
    Master,
}

impl ClientType {
    /// Parses a type name (`normal`, `slave`/`replica`, `pubsub`, `master`), any case.
    pub fn from_name(name: &[u8]) -> Option<ClientType> {
        match name.to_ascii_lowercase().as_slice() {
            b"normal" => Some(ClientType::Normal),
            b"slave" | b"replica" => Some(ClientType::Replica),
            b"pubsub" => Some(ClientType::PubSub),
            b"master" => Some(ClientType::Master),
            _ => None,
        }
    }
}

impl Client {
    pub fn new(id: u64, addr: String, laddr: String, fd: i32, now: i64) -> Client {
        Client {
            id,
            addr,
            laddr,
            fd,
            name: None,
            lib_name: None,
            lib_ver: None,
            db: 0,
            authenticated: false,
            user: "default".into(),
            created_ms: now,
            last_interaction_ms: now,
            last_cmd: "NULL".into(),
            reply_mode: ReplyMode::On,
            close_after_reply: false,
            monitor: false,
            no_evict: false,
            unix_socket: false,
            qbuf: 0,
            omem: 0,
            resp: 2,
            signal: Arc::new(Signal::default()),
            monitor_tx: None,
            sub_channels: 0,
            sub_patterns: 0,
            sub_shard: 0,
            multi: -1,
            queue: Vec::new(),
            multi_mem: 0,
            dirty_cas: false,
            dirty_exec: false,
            watched: Vec::new(),
            blocked: None,
            pending_out: Vec::new(),
            is_master: false,
            tracking: None,
            mem_counted: 0,
        }
    }

    /// Redis's `mustObeyClient`: the AOF being loaded or our master, whose
    /// commands were already accepted once and must be applied as written.
    pub fn must_obey(&self) -> bool {
        self.id == AOF_CLIENT_ID || self.is_master
    }

    /// True while the client has any pub/sub subscription (RESP2 pub/sub mode).
    pub fn in_pubsub(&self) -> bool {
        self.sub_channels + self.sub_patterns + self.sub_shard > 0
    }

    /// The type CLIENT LIST TYPE and CLIENT KILL TYPE match against. Monitors
    /// count as normal clients, as in Redis.
    pub fn client_type(&self) -> ClientType {
        if self.is_master {
            ClientType::Master
        } else if self.in_pubsub() {
            ClientType::PubSub
        } else {
            ClientType::Normal
        }
    }

    /// The `flags=` letters of CLIENT LIST, in Redis's order.
    pub fn flag_letters(&self) -> String {
        let mut f = String::new();
        if self.monitor {
            f.push('O');
        }
        if self.is_master {
            f.push('M');
        }
        if self.in_pubsub() {
            f.push('P');
        }
        if self.multi >= 0 {
            f.push('x');
        }
        if self.blocked.is_some() {
            f.push('b');
        }
        if let Some(t) = &self.tracking {
            f.push('t');
            if t.broken {
                f.push('R');
            }
            if t.bcast {
                f.push('B');
            }
        }
        if self.dirty_cas {
            f.push('d');
        }
        if self.close_after_reply {
            f.push('c');
        }
        if self.unix_socket {
            f.push('U');
        }
        if self.no_evict {
            f.push('e');
        }
        if f.is_empty() {
            f.push('N');
        }
        f
    }

    /// The query buffer's free part as CLIENT LIST shows it.
    fn qbuf_free(&self) -> usize {
        if self.qbuf > 0 {
            20474usize.saturating_sub(self.qbuf)
        } else {
            0
        }
    }

    /// The memory this client holds (CLIENT LIST `tot-mem`, what client
    /// eviction counts): buffers, queued MULTI commands, watched keys and
    /// subscriptions, and the client itself.
    pub fn memory(&self) -> usize {
        const PER_ITEM: usize = 48;
        let items = self.watched.len() + self.sub_channels + self.sub_patterns + self.sub_shard;
        self.qbuf
            + self.qbuf_free()
            + self.omem
            + 1024
            + std::mem::size_of::<Client>()
            + self.multi_mem
            + items * PER_ITEM
    }

    /// One line of CLIENT LIST / CLIENT INFO (without the trailing newline),
    /// with Redis 7.0's fields in order.
    pub fn info_line(&self, now: i64) -> String {
        let name = self.name.as_ref().map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default();
        let qbuf_free = self.qbuf_free();
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem=0 multi-mem={} rbs=1024 rbp=0 obl=0 oll=0 omem={} tot-mem={} events=r cmd={} user={} redir={} resp={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            name,
            (now / 1000 - self.created_ms / 1000).max(0),
            (now / 1000 - self.last_interaction_ms / 1000).max(0),
            self.flag_letters(),
            self.db,
            self.sub_channels,
            self.sub_patterns,
            self.sub_shard,
            self.multi,
            self.qbuf,
            qbuf_free,
            self.multi_mem,
            self.omem,
            self.memory(),
            self.last_cmd,
            self.user,
            self.tracking.as_ref().map_or(-1, |t| t.redirect as i64),
            self.resp
        )
    }
}
