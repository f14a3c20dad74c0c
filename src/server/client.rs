//! Per-connection state that commands read and change: selected database,
//! protocol version, authentication, name, flags, and what CLIENT LIST shows.

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
    pub notify: Notify,
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
        }
    }

    /// The `flags=` letters of CLIENT LIST.
    pub fn flag_letters(&self) -> String {
        let mut f = String::new();
        if self.monitor {
            f.push('O');
        }
        if self.close_after_reply {
            f.push('c');
        }
        if self.no_evict {
            f.push('e');
        }
        if self.unix_socket {
            f.push('U');
        }
        if f.is_empty() {
            f.push('N');
        }
        f
    }

    /// One line of CLIENT LIST / CLIENT INFO, with Redis 7.0's fields in order.
    pub fn info_line(&self, now: i64) -> String {
        let name = self.name.as_ref().map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default();
        let lib_name = self.lib_name.as_ref().map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default();
        let lib_ver = self.lib_ver.as_ref().map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default();
        let _ = (&lib_name, &lib_ver);
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub=0 psub=0 ssub=0 multi=-1 qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem={} tot-mem={} events=r cmd={} user={} redir=-1 resp={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            name,
            (now - self.created_ms).max(0) / 1000,
            (now - self.last_interaction_ms).max(0) / 1000,
            self.flag_letters(),
            self.db,
            self.qbuf,
            0,
            self.omem,
            self.qbuf + self.omem + 1024,
            self.last_cmd,
            self.user,
            self.resp
        )
    }
}
