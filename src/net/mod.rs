//! Networking: the TCP (and unix socket) listeners and the per-connection loop.
//! A connection task reads what the socket has, parses every complete request,
//! takes the server lock once for the whole batch (so a pipeline of 16 costs one
//! lock), executes, and writes all replies with one write.

use crate::commands;
use crate::resp::{Limits, Parser, Reply};
use crate::server::client::Client;
use crate::server::Shared;
use bytes::{Bytes, BytesMut};
use std::sync::atomic::Ordering;
use std::sync::Arc;

pub mod park;
pub mod socket;
use socket::Sock;

const READ_CHUNK: usize = 16 * 1024;

/// Text Redis sends to a non-local client in protected mode before closing.
pub const PROTECTED_MODE_MSG: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// Accepts TCP connections until shutdown.
pub async fn serve_tcp(sh: Arc<Shared>, listener: tokio::net::TcpListener) {
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = sh.shutdown_notify.notified() => return,
        };
        let (sock, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                crate::log::warning(&format!("Accepting client connection: {e}"));
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = sock.set_nodelay(true);
        let local = sock.local_addr().map(|a| a.to_string()).unwrap_or_default();
        let fd = {
            use std::os::fd::AsRawFd;
            sock.as_raw_fd()
        };
        let loopback = peer.ip().is_loopback();
        let sock = match Sock::from_tcp(sock) {
            Ok(s) => s,
            Err(e) => {
                crate::log::warning(&format!("Error registering fd event for the new client: {e}"));
                continue;
            }
        };
        let sh2 = sh.clone();
        tokio::spawn(async move {
            handle(sh2, sock, peer.to_string(), local, fd, loopback, false).await;
        });
    }
}

/// Accepts unix socket connections until shutdown.
pub async fn serve_unix(sh: Arc<Shared>, listener: tokio::net::UnixListener, path: String) {
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = sh.shutdown_notify.notified() => return,
        };
        let Ok((sock, _)) = accepted else {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let fd = {
            use std::os::fd::AsRawFd;
            sock.as_raw_fd()
        };
        let Ok(sock) = Sock::from_unix(sock) else { continue };
        let sh2 = sh.clone();
        let p = path.clone();
        tokio::spawn(async move {
            handle(sh2, sock, format!("{p}:0"), format!("{p}:0"), fd, true, true).await;
        });
    }
}

fn set_keepalive(fd: i32, secs: u64) {
    if secs == 0 {
        return;
    }
    let on: libc::c_int = 1;
    let idle: libc::c_int = secs as libc::c_int;
    let intvl: libc::c_int = (secs / 3).max(1) as libc::c_int;
    let cnt: libc::c_int = 3;
    let sz = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `fd` is a valid open socket owned by `sock` for the duration of these
    // calls, and each option value points to a live c_int of the stated size.
    unsafe {
        libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE, &on as *const _ as *const libc::c_void, sz);
        libc::setsockopt(fd, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, &idle as *const _ as *const libc::c_void, sz);
        libc::setsockopt(fd, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, &intvl as *const _ as *const libc::c_void, sz);
        libc::setsockopt(fd, libc::IPPROTO_TCP, libc::TCP_KEEPCNT, &cnt as *const _ as *const libc::c_void, sz);
    }
}

/// Registers a new client, or refuses it (maxclients, protected mode).
fn admit(
    mut srv: parking_lot::MutexGuard<'_, crate::server::Server>,
    addr: String,
    laddr: String,
    fd: i32,
    loopback: bool,
    unix: bool,
) -> Result<(u64, Arc<crate::server::client::Signal>), &'static str> {
    let now = crate::util::now_ms();
    if srv.clients.len() + 1 > srv.config.maxclients {
        srv.stats.rejected_connections += 1;
        return Err("-ERR max number of clients reached\r\n");
    }
    if srv.config.protected_mode && srv.config.requirepass.is_none() && !loopback && !unix {
        let bind = srv.config.bind.join(" ");
        if bind.is_empty() || bind == "* -::*" || bind == "*" {
            srv.stats.rejected_connections += 1;
            return Err(PROTECTED_MODE_MSG);
        }
    }
    let id = srv.next_client_id;
    srv.next_client_id += 1;
    let mut c = Client::new(id, addr, laddr, fd, now);
    c.unix_socket = unix;
    c.authenticated = srv.config.requirepass.is_none();
    let sig = c.signal.clone();
    srv.clients.insert(id, Box::new(c));
    srv.stats.total_connections_received += 1;
    Ok((id, sig))
}

async fn handle(sh: Arc<Shared>, sock: Sock, addr: String, laddr: String, fd: i32, loopback: bool, unix: bool) {
    let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
    if !lock_or_serve_busy(&sh, &sock, &mut rbuf).await {
        return;
    }
    let admitted = {
        let srv = sh.lock_async().await;
        if !unix {
            set_keepalive(fd, srv.config.tcp_keepalive);
        }
        admit(srv, addr, laddr, fd, loopback, unix)
    };
    let (id, signal) = match admitted {
        Ok(x) => x,
        Err(msg) => {
            let _ = sock.write_all(msg.as_bytes()).await;
            return;
        }
    };
    sh.connected.fetch_add(1, Ordering::Relaxed);
    connection_loop(&sh, &sock, id, &signal, rbuf).await;
    sh.connected.fetch_sub(1, Ordering::Relaxed);
    let mut srv = sh.lock_async().await;
    if let Some(mut client) = srv.clients.remove(&id) {
        commands::blocking::unblock(&mut srv, &mut client);
        srv.unwatch_all(&mut client);
        crate::server::tracking::disable(&mut srv, &mut client);
        crate::server::client_evict::forget(&mut srv, &client);
    }
    srv.monitors.retain(|(mid, _)| *mid != id);
    srv.pubsub.remove_client(id);
}

/// A request still arriving is reported for client memory (and eviction)
/// each time it has grown by this much.
const EVICT_CHECK_BYTES: usize = 64 * 1024;

/// Records `pending` reply bytes as client `id`'s output memory; true when
/// that got the client evicted.
async fn report_output(sh: &Shared, id: u64, pending: usize) -> bool {
    let mut srv = sh.lock_async().await;
    if let Some(c) = srv.clients.get_mut(&id) {
        c.omem = pending;
    }
    crate::server::client_evict::account_and_evict(&mut srv, id)
}

/// A connection's limits outside the parser, refreshed whenever the lock is
/// held for a batch.
struct ConnLimits {
    /// `client-query-buffer-limit`.
    query: usize,
    /// The soft limit of the `normal` class of `client-output-buffer-limit`:
    /// bytes, and how long the unwritten replies may stay above them (Redis
    /// closes the client once that lasted longer than the limit's seconds).
    soft_output: Option<(usize, std::time::Duration)>,
}

impl ConnLimits {
    fn new(srv: &crate::server::Server, subscriber: bool) -> ConnLimits {
        let l = &srv.config.normal_obuf;
        let soft_output = (l.soft > 0 && !subscriber)
            .then(|| (l.soft, std::time::Duration::from_millis(l.soft_secs.max(0) as u64 * 1000 + 1)));
        ConnLimits { query: srv.config.client_query_buffer_limit, soft_output }
    }
}

/// Logs, as Redis does, that client `id` goes for its output buffer.
async fn log_obuf_close(sh: &Shared, id: u64) {
    let srv = sh.lock_async().await;
    if let Some(c) = srv.clients.get(&id) {
        crate::log::warning(&format!(
            "Client {} scheduled to be closed ASAP for overcoming of output buffer limits.",
            c.info_line(crate::util::now_ms())
        ));
    }
}

/// Bytes of messages gathered into one socket write.
const GATHER_MAX: usize = 64 * 1024;

/// The Pub/Sub messages on their way to this connection (see `server::pubsub`).
#[derive(Default)]
struct Pushes {
    rx: Option<tokio::sync::mpsc::UnboundedReceiver<Bytes>>,
    /// Bytes sent to `rx` and not yet written (the output-limit figure).
    queued: Arc<std::sync::atomic::AtomicUsize>,
}

impl Pushes {
    /// Moves every message already queued into `out` (called under the server
    /// lock before a batch runs, so they precede the batch's replies as in Redis).
    fn drain_into(&mut self, out: &mut Reply) {
        let Some(rx) = &mut self.rx else { return };
        while let Ok(m) = rx.try_recv() {
            self.queued.fetch_sub(m.len(), Ordering::Relaxed);
            out.buf.extend_from_slice(&m);
        }
    }

    /// `first` and whatever else is queued, up to 64 KB, as one write.
    fn gather(&mut self, first: Bytes) -> Bytes {
        let Some(rx) = &mut self.rx else { return first };
        let mut more = match rx.try_recv() {
            Ok(m) => m,
            Err(_) => return first,
        };
        // Room for a full write at once (growing by doubling would copy it
        // again and again).
        let mut buf = BytesMut::with_capacity(GATHER_MAX + first.len() + more.len());
        buf.extend_from_slice(&first);
        loop {
            buf.extend_from_slice(&more);
            if buf.len() >= GATHER_MAX {
                break;
            }
            match rx.try_recv() {
                Ok(m) => more = m,
                Err(_) => break,
            }
        }
        buf.freeze()
    }
}

/// Waits until a new connection can be registered. While a script keeps the
/// server busy the connection is served as Redis serves it then (BUSY
/// replies, SCRIPT KILL, SHUTDOWN NOSAVE) before it is registered; a partial
/// request stays in `rbuf`. False when the peer left.
async fn lock_or_serve_busy(sh: &Shared, sock: &Sock, rbuf: &mut BytesMut) -> bool {
    let mut parser = Parser::new();
    loop {
        if sh.script.idle() {
            return true;
        }
        if !sh.script.busy(crate::util::now_ms()) {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            continue;
        }
        if rbuf.capacity() - rbuf.len() < 1024 {
            rbuf.reserve(READ_CHUNK);
        }
        let wait = tokio::time::sleep(std::time::Duration::from_millis(5));
        tokio::select! {
            r = sock.read_buf(rbuf) => match r {
                Ok(0) | Err(_) => return false,
                Ok(_) => {}
            },
            _ = wait => continue,
        }
        let mut batch = Vec::new();
        let lim = Limits { max_bulk_len: 512 << 20, authenticated: false };
        while let Ok(Some(args)) = parser.next(rbuf, lim) {
            if !args.is_empty() {
                batch.push(args);
            }
        }
        let mut out = Reply::new();
        busy_replies(sh, &mut batch, &mut out);
        if sock.write_all(&out.buf).await.is_err() {
            return false;
        }
    }
}

async fn connection_loop(
    sh: &Shared,
    sock: &Sock,
    id: u64,
    signal: &crate::server::client::Signal,
    mut rbuf: BytesMut,
) {
    let mut out = Reply::new();
    let mut parser = Parser::new();
    let mut batch: Vec<Vec<Bytes>> = Vec::new();
    let mut monitor_rx: Option<tokio::sync::mpsc::UnboundedReceiver<Bytes>> = None;
    let mut pushes = Pushes::default();
    // Parser limits, refreshed whenever the lock is held for a batch.
    let (mut limits, mut conn_limits) = {
        let srv = sh.lock_async().await;
        let authed = srv.clients.get(&id).map(|c| c.authenticated).unwrap_or(true);
        (Limits { max_bulk_len: srv.config.proto_max_bulk_len, authenticated: authed }, ConnLimits::new(&srv, false))
    };
    // Fires on CLIENT KILL and at shutdown; armed once for the connection's life.
    let killed = signal.notify.notified();
    tokio::pin!(killed);
    // Set when requests arrived while we were writing or blocked: they must be
    // parsed before waiting for more.
    let mut unparsed = !rbuf.is_empty();
    // The size of a request still arriving, as last reported (client memory).
    let mut reported = 0;
    loop {
        if signal.killed() || sh.shutdown.load(Ordering::Relaxed) {
            return;
        }
        // Read only when nothing is left to run (commands pipelined behind a
        // blocking command wait in `batch`).
        let mut n = 0;
        if batch.is_empty() && !unparsed {
            if rbuf.capacity() - rbuf.len() < 1024 {
                rbuf.reserve(READ_CHUNK);
            }
            n = tokio::select! {
                biased;
                r = sock.read_buf(&mut rbuf) => match r {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                },
                _ = &mut killed => return,
                _ = signal.wake.notified() => {
                    // Messages another client's command left for this one
                    // (client-side caching invalidations).
                    let pending = {
                        let mut srv = sh.lock_async().await;
                        srv.clients.get_mut(&id).map(|c| std::mem::take(&mut c.pending_out)).unwrap_or_default()
                    };
                    sh.group_commit.durable().await;
                    if !pending.is_empty() && sock.write_all(&pending).await.is_err() {
                        return;
                    }
                    continue;
                }
                Some(line) = recv_monitor(&mut monitor_rx) => {
                    if sock.write_all(&line).await.is_err() {
                        return;
                    }
                    continue;
                }
                Some(first) = recv_monitor(&mut pushes.rx) => {
                    // Let the connections with requests ready (publishers)
                    // run theirs first, so that their messages go out in one
                    // write, as Redis writes a client's buffer once per
                    // event-loop pass.
                    tokio::task::yield_now().await;
                    let data = pushes.gather(first);
                    // A subscriber that does not read is cut off by the output
                    // limit: the kill must end a write that cannot complete.
                    let ok = tokio::select! {
                        r = sock.write_all(&data) => r.is_ok(),
                        _ = &mut killed => false,
                    };
                    pushes.queued.fetch_sub(data.len(), Ordering::Relaxed);
                    if !ok {
                        return;
                    }
                    continue;
                }
            };
        }
        unparsed = false;
        // A large request still arriving counts toward client memory (and
        // client eviction), reported at each step of its growth.
        let arriving = rbuf.len() + parser.pending_bytes();
        if arriving >= reported + EVICT_CHECK_BYTES {
            reported = arriving;
            let mut srv = sh.lock_async().await;
            if let Some(c) = srv.clients.get_mut(&id) {
                c.qbuf = arriving;
            }
            if crate::server::client_evict::account_and_evict(&mut srv, id) {
                return;
            }
        }
        // Redis checks the limit on what has arrived before parsing it.
        if rbuf.len() + parser.pending_bytes() > conn_limits.query {
            sh.server.lock().stats.client_query_buffer_limit_disconnections += 1;
            crate::log::warning("Closing client that reached max query buffer length");
            return;
        }
        // Parse every complete request now in the buffer.
        let mut proto_err = None;
        loop {
            match parser.next(&mut rbuf, limits) {
                Ok(Some(args)) => {
                    if !args.is_empty() {
                        batch.push(args);
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    proto_err = Some(e);
                    break;
                }
            }
        }
        if proto_err.is_none() && rbuf.len() > conn_limits.query {
            // Redis closes a client whose query buffer passes the limit, without a reply.
            sh.server.lock().stats.client_query_buffer_limit_disconnections += 1;
            crate::log::warning("Closing client that reached max query buffer length");
            return;
        }
        let mut close = false;
        let mut blocked = None;
        let pipelined = batch.len() > 1;
        if !batch.is_empty() {
            reported = 0;
            loop {
                // A script that runs long hands this worker's other
                // connections to another thread (`scripting::release_worker`).
                let r = run_batch(
                    sh,
                    id,
                    &mut batch,
                    &mut out,
                    n,
                    rbuf.len(),
                    &mut limits,
                    &mut conn_limits,
                    &mut monitor_rx,
                    &mut pushes,
                );
                match r {
                    Batch::Done { close: c, blocked: b } => {
                        close = c;
                        blocked = b;
                        break;
                    }
                    Batch::Paused(wait) => tokio::time::sleep(wait).await,
                    Batch::Gone => return,
                    Batch::Busy => {
                        busy_replies(sh, &mut batch, &mut out);
                        break;
                    }
                    Batch::Wait => tokio::time::sleep(std::time::Duration::from_millis(1)).await,
                }
            }
        }
        if let Some(e) = proto_err {
            if blocked.is_none() {
                out.error(&format!("ERR Protocol error: {}", e.0));
                close = true;
                crate::log::verbose(&format!("Protocol error ({}) from client", e.0));
            }
        }
        if !out.buf.is_empty() {
            let before = rbuf.len();
            // Replies count toward the client's output memory (CLIENT LIST
            // `omem`, `mem_clients_normal`, client eviction) while they wait
            // to be written, as Redis's reply buffers: large ones from the
            // start, the others when the socket does not take them at once.
            // An evicted client stops waiting for a reader that does not read.
            let mut reported = out.buf.len() >= EVICT_CHECK_BYTES;
            if reported && report_output(sh, id, out.buf.len()).await {
                return;
            }
            if pipelined {
                // Let the other connections with requests ready run theirs
                // first, so that the replies go out together, as from Redis's
                // event loop: a client woken once reads many replies. (For
                // single requests the extra round costs more than it saves.)
                tokio::task::yield_now().await;
            }
            // Under `appendfsync always`, not before the changes are on disk.
            sh.group_commit.durable().await;
            let Ok(sent) = sock.try_write(&out.buf) else { return };
            let rest = &out.buf[sent..];
            if !rest.is_empty() && !reported {
                reported = true;
                if report_output(sh, id, rest.len()).await {
                    return;
                }
            }
            let written = rest.is_empty()
                || tokio::select! {
                    r = sock.write_all_reading(rest, &mut rbuf, conn_limits.query.saturating_add(1), conn_limits.soft_output) => match r {
                        Ok(()) => true,
                        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                            log_obuf_close(sh, id).await;
                            false
                        }
                        Err(_) => false,
                    },
                    _ = &mut killed => false,
                };
            if !written {
                return;
            }
            if reported && report_output(sh, id, 0).await {
                return;
            }
            unparsed = rbuf.len() > before;
            out.buf.clear();
            if out.buf.capacity() > 1 << 20 {
                out.buf = BytesMut::with_capacity(16 * 1024);
            }
        }
        if close {
            return;
        }
        if let Some(deadline) = blocked {
            if !wait_while_blocked(sh, sock, id, signal, deadline, &mut rbuf, killed.as_mut()).await {
                return;
            }
            unparsed = !rbuf.is_empty();
        }
    }
}

/// Waits while the client is blocked (BLPOP & co.) until it is served, times
/// out or is unblocked, writing the reply it gets. Keeps reading the socket so a
/// disconnect is noticed. Returns false when the connection must close.
async fn wait_while_blocked(
    sh: &Shared,
    sock: &Sock,
    id: u64,
    signal: &crate::server::client::Signal,
    deadline: Option<i64>,
    rbuf: &mut BytesMut,
    mut killed: std::pin::Pin<&mut tokio::sync::futures::Notified<'_>>,
) -> bool {
    loop {
        let timer = async {
            match deadline {
                Some(d) => {
                    let wait = (d - crate::util::now_ms()).max(0) as u64;
                    tokio::time::sleep(std::time::Duration::from_millis(wait)).await
                }
                None => std::future::pending().await,
            }
        };
        if rbuf.capacity() - rbuf.len() < 1024 {
            rbuf.reserve(READ_CHUNK);
        }
        tokio::select! {
            biased;
            _ = killed.as_mut() => return false,
            _ = signal.wake.notified() => {}
            _ = timer => {}
            r = sock.read_buf(rbuf) => match r {
                Ok(0) | Err(_) => return false,
                Ok(_) => continue,
            },
        }
        let (reply, still_blocked) = {
            let mut srv = sh.lock_async().await;
            let Some(mut client) = srv.clients.remove(&id) else { return false };
            commands::blocking::expire_block(&mut srv, &mut client, crate::util::now_ms());
            let reply = std::mem::take(&mut client.pending_out);
            let still = client.blocked.is_some();
            srv.clients.insert(id, client);
            (reply, still)
        };
        sh.group_commit.durable().await;
        if !reply.is_empty() && sock.write_all(&reply).await.is_err() {
            return false;
        }
        if !still_blocked {
            return true;
        }
    }
}

enum Batch {
    /// The batch ran (or stopped at a blocking command, whose deadline is given;
    /// the commands after it stay in the batch).
    Done { close: bool, blocked: Option<Option<i64>> },
    /// CLIENT PAUSE applies: try again after the wait.
    Paused(std::time::Duration),
    /// The client was removed from the registry.
    Gone,
    /// A script holds the server past `busy-reply-threshold`: the batch gets
    /// BUSY replies (or is SCRIPT KILL / SHUTDOWN NOSAVE), without the lock.
    Busy,
    /// The lock is taken (a script is running): try again shortly.
    Wait,
}

/// Replies to a batch while a script is busy: SCRIPT KILL / FUNCTION KILL and
/// SHUTDOWN NOSAVE act on the script; everything else gets BUSY, as in Redis.
fn busy_replies(sh: &Shared, batch: &mut Vec<Vec<Bytes>>, out: &mut Reply) {
    use crate::scripting::KillOutcome;
    for args in batch.drain(..) {
        let is = |i: usize, w: &str| args.get(i).is_some_and(|a| a.eq_ignore_ascii_case(w.as_bytes()));
        let function = is(0, "function");
        if (is(0, "script") || function) && is(1, "kill") && args.len() == 2 {
            match sh.script.kill(false, function) {
                KillOutcome::Killed => out.ok(),
                KillOutcome::NotBusy => out.error("NOTBUSY No scripts in execution right now."),
                KillOutcome::WrongKind => busy_error(sh, out),
                KillOutcome::Unkillable => out.error(
                    "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.",
                ),
            }
        } else if is(0, "shutdown") && is(1, "nosave") {
            sh.script.kill(true, false);
            crate::log::warning("User requested shutdown...");
            sh.request_shutdown();
        } else {
            busy_error(sh, out);
        }
    }
}

fn busy_error(sh: &Shared, out: &mut Reply) {
    if sh.script.is_function() {
        out.error("BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.");
    } else {
        out.error("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.");
    }
}

/// Executes a batch of parsed requests under one hold of the server lock.
#[allow(clippy::too_many_arguments)]
fn run_batch(
    sh: &Shared,
    id: u64,
    batch: &mut Vec<Vec<Bytes>>,
    out: &mut Reply,
    nread: usize,
    pending: usize,
    limits: &mut Limits,
    conn_limits: &mut ConnLimits,
    monitor_rx: &mut Option<tokio::sync::mpsc::UnboundedReceiver<Bytes>>,
    pushes: &mut Pushes,
) -> Batch {
    // Never wait long for the lock: a script may hold it for a long time, and
    // this thread must stay free to serve other connections meanwhile.
    let Some(mut srv) = sh.server.try_lock_for(std::time::Duration::from_millis(2)) else {
        return if sh.script.busy(crate::util::now_ms()) { Batch::Busy } else { Batch::Wait };
    };
    if let Some(wait) = pause_wait(sh, &mut srv, batch, id) {
        return Batch::Paused(wait);
    }
    srv.stats.net_input_bytes += nread as u64;
    srv.clock_us = None;
    let Some(mut client) = srv.clients.remove(&id) else { return Batch::Gone };
    out.resp = client.resp;
    pushes.drain_into(out);
    // Invalidation messages other clients' commands left for this one.
    if !client.pending_out.is_empty() {
        out.buf.extend_from_slice(&std::mem::take(&mut client.pending_out));
    }
    let mut close = false;
    let mut ran = 0;
    for args in batch.iter() {
        ran += 1;
        commands::execute(sh, &mut srv, &mut client, out, args);
        if client.monitor != monitor_rx.is_some() {
            // MONITOR turned on (later commands of this batch are already seen) or RESET turned it off.
            srv.monitors.retain(|(mid, _)| *mid != id);
            *monitor_rx = None;
            if client.monitor {
                let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                srv.monitors.push((id, tx));
                *monitor_rx = Some(rx);
            }
        }
        if client.in_pubsub() {
            if srv.pubsub.needs_outlet(id) {
                let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                let outlet =
                    crate::server::pubsub::Outlet { tx, queued: pushes.queued.clone(), signal: client.signal.clone() };
                srv.pubsub.set_outlet(id, outlet);
                pushes.drain_into(out);
                pushes.rx = Some(rx);
            }
            srv.pubsub.set_resp(id, out.resp);
        }
        if !client.in_pubsub() && obuf_limit_reached(&mut srv, &mut client, out.buf.len()) {
            // Redis frees such a client before anything more is written to it.
            out.buf.clear();
            close = true;
            break;
        }
        if client.close_after_reply {
            close = true;
            break;
        }
        if client.blocked.is_some() {
            break;
        }
    }
    batch.drain(..ran);
    let blocked = client.blocked.as_ref().map(|b| b.deadline);
    client.resp = out.resp;
    client.qbuf = pending;
    srv.stats.net_output_bytes += out.buf.len() as u64;
    *limits = Limits { max_bulk_len: srv.config.proto_max_bulk_len, authenticated: client.authenticated };
    *conn_limits = ConnLimits::new(&srv, client.in_pubsub());
    if srv.tracking.observing() {
        // Redis's beforeSleep: BCAST broadcasts, the tracking table's limit.
        crate::server::tracking::before_sleep(&mut srv, Some((&mut client, out)));
    }
    crate::server::client_evict::account(&mut srv.client_memory, &mut client);
    srv.clients.insert(id, client);
    srv.clock_us = None;
    // The batch's changes reach the AOF before its replies are sent.
    crate::persist::aof::flush(&mut srv);
    if crate::server::client_evict::evict(&mut srv, id) {
        // Evicted by `maxmemory-clients`: closed without its replies.
        out.buf.clear();
        return Batch::Done { close: true, blocked: None };
    }
    Batch::Done { close, blocked }
}

/// The hard limit of the `normal` class of `client-output-buffer-limit`
/// applied to the replies a batch has produced so far; logs Redis's line when
/// the client must go. (A batch's replies are written out before the next
/// batch runs, so the soft limit, which needs a buffer staying big over
/// time, does not apply yet.)
fn obuf_limit_reached(srv: &mut crate::server::Server, client: &mut Client, size: usize) -> bool {
    let hard = srv.config.normal_obuf.hard;
    if hard == 0 || size <= hard {
        return false;
    }
    let now = crate::util::now_ms();
    client.omem = size;
    crate::log::warning(&format!(
        "Client {} scheduled to be closed ASAP for overcoming of output buffer limits.",
        client.info_line(now)
    ));
    true
}

async fn recv_monitor(rx: &mut Option<tokio::sync::mpsc::UnboundedReceiver<Bytes>>) -> Option<Bytes> {
    match rx {
        Some(r) => r.recv().await,
        None => std::future::pending().await,
    }
}

/// While CLIENT PAUSE is in force and applies to this batch, how long to wait
/// before looking again. Clears an elapsed pause.
fn pause_wait(
    sh: &Shared,
    srv: &mut crate::server::Server,
    batch: &[Vec<Bytes>],
    id: u64,
) -> Option<std::time::Duration> {
    use crate::commands::table::flag;
    use crate::server::PauseKind;
    let (kind, until) = srv.pause?;
    let now = crate::util::now_ms();
    if now >= until {
        srv.pause = None;
        return None;
    }
    let applies = match kind {
        PauseKind::All => true,
        PauseKind::Write => batch.iter().any(|args| {
            sh.table.lookup(&args[0]).is_some_and(|c| {
                let c = if !c.subcommands.is_empty() && args.len() > 1 {
                    c.subcommands.get(&String::from_utf8_lossy(&args[1]).to_ascii_lowercase()).unwrap_or(c)
                } else {
                    c
                };
                // A script's declared flags count (a `no-writes` one runs).
                commands::request_flags(srv, c, args) & (flag::WRITE | flag::MAY_REPLICATE) != 0
                    // EXEC of a transaction that would write waits too.
                    || (c.name == "exec"
                        && srv.clients.get(&id).is_some_and(|cl| commands::transactions::queue_may_replicate(sh, srv, cl)))
            })
        }),
    };
    applies.then(|| std::time::Duration::from_millis(((until - now) as u64).min(20)))
}
