//! Blocking commands (BLPOP, BRPOP, BRPOPLPUSH, BLMOVE, BLMPOP, BZPOPMIN,
//! BZPOPMAX, BZMPOP) and their
//! machinery: a command that finds nothing to serve blocks
//! its client on keys (`Ctx::block`); a write that gives one of those keys data
//! marks it ready (`Ctx::key_ready`); after the writing command completes,
//! `serve_ready` re-runs the blocked commands on their clients' behalf, first
//! blocked first served, and hands each reply to its connection. Timeouts and
//! CLIENT UNBLOCK end a block with the command's timeout reply or an error.

use super::{lists, zsets, Ctx, Handler};
use crate::resp::Reply;
use crate::server::client::{Blocked, Client, TimeoutReply};
use crate::server::{Server, Shared};
use crate::storage::SBytes;
use crate::util::eq_ic;
use bytes::Bytes;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("blpop", blpop),
    ("brpop", brpop),
    ("brpoplpush", brpoplpush),
    ("blmove", blmove),
    ("blmpop", blmpop),
    ("bzpopmin", bzpopmin),
    ("bzpopmax", bzpopmax),
    ("bzmpop", bzmpop),
    ("client|unblock", client_unblock),
];

/// BLPOP / BRPOP key [key ...] timeout
fn bpop(ctx: &mut Ctx, args: &[Bytes], left: bool) {
    let Ok(deadline) = parse_timeout(ctx, &args[args.len() - 1]) else { return };
    let keys = &args[1..args.len() - 1];
    for k in keys {
        if lists::pop_reply(ctx, k, left, None, true) {
            return;
        }
    }
    ctx.block(args, keys, deadline, TimeoutReply::NullArray);
}

fn blpop(ctx: &mut Ctx, args: &[Bytes]) {
    bpop(ctx, args, true);
}

fn brpop(ctx: &mut Ctx, args: &[Bytes]) {
    bpop(ctx, args, false);
}

/// BZPOPMIN / BZPOPMAX key [key ...] timeout
fn bzpop(ctx: &mut Ctx, args: &[Bytes], max: bool) {
    let Ok(deadline) = parse_timeout(ctx, &args[args.len() - 1]) else { return };
    let keys = &args[1..args.len() - 1];
    for k in keys {
        if zsets::pop_reply(ctx, k, max, None, zsets::PopShape::KeyFlat) {
            return;
        }
    }
    ctx.block(args, keys, deadline, TimeoutReply::NullArray);
}

fn bzpopmin(ctx: &mut Ctx, args: &[Bytes]) {
    bzpop(ctx, args, false);
}

fn bzpopmax(ctx: &mut Ctx, args: &[Bytes]) {
    bzpop(ctx, args, true);
}

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]
fn bzmpop(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(m) = zsets::parse_mpop(ctx, args, 2) else { return };
    let Ok(deadline) = parse_timeout(ctx, &args[1]) else { return };
    for k in m.keys.clone() {
        if zsets::pop_reply(ctx, &args[k], m.max, Some(m.count), zsets::PopShape::KeyNested) {
            return;
        }
    }
    ctx.block(args, &args[m.keys.clone()], deadline, TimeoutReply::NullArray);
}

/// Moves or blocks on `src` (BRPOPLPUSH, BLMOVE).
fn bmove(ctx: &mut Ctx, args: &[Bytes], from_left: bool, to_left: bool, timeout: &[u8]) {
    let Ok(deadline) = parse_timeout(ctx, timeout) else { return };
    if !lists::move_element(ctx, &args[1], &args[2], from_left, to_left) {
        ctx.block(args, &args[1..2], deadline, TimeoutReply::NullBulk);
    }
}

/// BRPOPLPUSH source destination timeout
fn brpoplpush(ctx: &mut Ctx, args: &[Bytes]) {
    bmove(ctx, args, false, true, &args[3]);
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout
fn blmove(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(from_left) = lists::parse_where(ctx, &args[3]) else { return };
    let Some(to_left) = lists::parse_where(ctx, &args[4]) else { return };
    bmove(ctx, args, from_left, to_left, &args[5]);
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
fn blmpop(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(m) = lists::parse_mpop(ctx, args, 2) else { return };
    let Ok(deadline) = parse_timeout(ctx, &args[1]) else { return };
    if !lists::mpop_reply(ctx, args, &m) {
        ctx.block(args, &args[m.keys.clone()], deadline, TimeoutReply::NullArray);
    }
}

impl Ctx<'_> {
    /// Blocks the client on `keys` until one gets data or `deadline` (absolute
    /// ms; None = forever) passes. The command writes no reply now. Where a
    /// command may not block (inside MULTI or a script), the timeout reply is
    /// given at once, as Redis does.
    pub fn block(&mut self, args: &[Bytes], keys: &[Bytes], deadline: Option<i64>, on_timeout: TimeoutReply) {
        if self.no_block {
            match on_timeout {
                TimeoutReply::NullArray => self.out.null_array(),
                TimeoutReply::NullBulk => self.out.null(),
            }
            return;
        }
        let db = self.client.db;
        let keys: Vec<SBytes> = keys.iter().map(|k| SBytes::new(k)).collect();
        if !self.serving_blocked {
            if is_group_read(args) {
                self.srv.group_readers += 1;
            }
            if is_stream_read(args) {
                self.srv.stream_readers += 1;
            }
            for k in &keys {
                let q = self.srv.blocked_on.entry((db, k.clone())).or_default();
                if !q.contains(&self.client.id) {
                    q.push_back(self.client.id);
                }
            }
        }
        self.client.blocked = Some(Box::new(Blocked { db, keys, deadline, args: args.to_vec(), on_timeout }));
    }
}

/// Writes the reply a blocked command gets when its timeout passes (or CLIENT
/// UNBLOCK ... TIMEOUT): a null array for every blocking list command, as Redis.
pub fn timeout_reply(out: &mut Reply) {
    out.null_array();
}

/// A blocking timeout was invalid; the error has been replied.
#[derive(Debug)]
pub struct BadTimeout;

/// Parses a blocking timeout in seconds (fractions allowed, 0 = forever) into an
/// absolute deadline, with Redis's errors.
pub fn parse_timeout(ctx: &mut Ctx, arg: &[u8]) -> Result<Option<i64>, BadTimeout> {
    let Some(secs) = crate::util::parse_f64(arg) else {
        ctx.err("ERR timeout is not a float or out of range");
        return Err(BadTimeout);
    };
    let ms = (secs * 1000.0).ceil();
    if ms.is_nan() || ms >= i64::MAX as f64 {
        // Redis's conversion of out-of-range milliseconds to an integer yields a
        // negative number, so it reports them as negative.
        ctx.err("ERR timeout is negative");
        return Err(BadTimeout);
    }
    let ms = ms as i64;
    if ms < 0 {
        ctx.err("ERR timeout is negative");
        return Err(BadTimeout);
    }
    if ms == 0 {
        return Ok(None);
    }
    match ms.checked_add(ctx.now) {
        Some(d) => Ok(Some(d)),
        None => {
            ctx.err("ERR timeout is out of range");
            Err(BadTimeout)
        }
    }
}

/// Removes a client from the wait queues of every key it is blocked on.
pub fn unblock(srv: &mut Server, client: &mut Client) -> Option<Box<Blocked>> {
    let b = client.blocked.take()?;
    if is_group_read(&b.args) {
        srv.group_readers = srv.group_readers.saturating_sub(1);
    }
    if is_stream_read(&b.args) {
        srv.stream_readers = srv.stream_readers.saturating_sub(1);
    }
    for k in &b.keys {
        let key = (b.db, k.clone());
        if let Some(q) = srv.blocked_on.get_mut(&key) {
            q.retain(|&id| id != client.id);
            if q.is_empty() {
                srv.blocked_on.remove(&key);
            }
        }
    }
    Some(b)
}

/// Serves the clients blocked on keys that received data, in arrival order,
/// until each key runs dry or its waiters are served. Runs under the lock, right
/// after the command that made the keys ready.
pub fn serve_ready(sh: &Shared, srv: &mut Server) {
    let mut i = 0;
    while i < srv.ready_keys.len() {
        let key = srv.ready_keys[i].clone();
        i += 1;
        // Stream readers each wait for their own ID: one that finds nothing
        // does not stop the ones behind it (`at` skips it). The first list or
        // sorted-set waiter left unserved means the key has nothing for the
        // others of its kind.
        let mut at = 0;
        let mut pops_done = false;
        while let Some(&cid) = srv.blocked_on.get(&key).and_then(|q| q.get(at)) {
            let Some(mut client) = srv.clients.remove(&cid) else {
                // The client went away without cleaning up (cannot normally happen).
                if let Some(q) = srv.blocked_on.get_mut(&key) {
                    q.remove(at);
                }
                continue;
            };
            let stream_reader = client.blocked.as_ref().is_some_and(|b| is_stream_read(&b.args));
            if pops_done && !stream_reader {
                srv.clients.insert(cid, client);
                if srv.stream_readers == 0 {
                    break;
                }
                at += 1;
                continue;
            }
            let served = serve_one(sh, srv, &mut client);
            srv.clients.insert(cid, client);
            if !served {
                if !stream_reader {
                    pops_done = true;
                    if srv.stream_readers == 0 {
                        break;
                    }
                }
                at += 1;
            }
        }
    }
    srv.ready_keys.clear();
}

/// Re-runs a blocked client's command. Returns false (leaving it blocked, in
/// place) when the command still finds nothing to serve.
fn serve_one(sh: &Shared, srv: &mut Server, client: &mut Client) -> bool {
    let Some(b) = client.blocked.take() else { return true };
    let Some(cmd) = sh.table.lookup(&b.args[0]) else { return true };
    let Some(handler) = cmd.handler else { return true };
    let mut out = Reply::new();
    out.resp = client.resp;
    let db = client.db;
    client.db = b.db;
    let now = crate::util::now_ms();
    let start = std::time::Instant::now();
    let dirty = srv.dirty;
    let mut ctx =
        Ctx { sh, srv, client, out: &mut out, cmd, now, failed: false, serving_blocked: true, no_block: false };
    handler(&mut ctx, &b.args);
    let failed = ctx.failed;
    client.db = db;
    if crate::server::propagate::wanted(srv) && (srv.dirty != dirty || is_group_read(&b.args)) {
        // Served: propagated as the pop it did (a group read as the XCLAIMs
        // it delivered), in a unit of its own.
        crate::server::propagate::after_call(srv, b.db, &cmd.name, &b.args, &out.buf, true);
        crate::server::propagate::end_unit(srv);
    }
    if client.blocked.is_some() {
        // Still nothing to serve: back to waiting, keeping its place in line.
        client.blocked = Some(b);
        return false;
    }
    client.blocked = Some(b);
    unblock(srv, client);
    let track = srv.config.latency_tracking;
    srv.stats.record_call(cmd.id, start.elapsed().as_micros() as u64, failed, track);
    srv.stats.total_commands_processed += 1;
    client.pending_out.extend_from_slice(&out.buf);
    client.signal.wake.notify_one();
    true
}

fn is_group_read(args: &[Bytes]) -> bool {
    args.first().is_some_and(|a| eq_ic(a, b"xreadgroup"))
}

fn is_stream_read(args: &[Bytes]) -> bool {
    args.first().is_some_and(|a| eq_ic(a, b"xreadgroup") || eq_ic(a, b"xread"))
}

/// After a command: keys that clients wait on in XREADGROUP and that no
/// longer hold a stream (deleted, overwritten, flushed, expired) are made
/// ready, so those clients get Redis's error (`signalDeletedKeyAsReady`).
pub fn signal_deleted_streams(srv: &mut Server) {
    if srv.group_readers == 0 || srv.blocked_on.is_empty() {
        return;
    }
    let now = crate::util::now_ms();
    let mut ready = Vec::new();
    for ((db, key), q) in srv.blocked_on.iter() {
        let Some(d) = srv.dbs.get(*db) else { continue };
        let live = !d.key_is_expired(key, now)
            && d.main().get(key).is_some_and(|e| matches!(e.value, crate::storage::Value::Stream(_)));
        if live {
            continue;
        }
        let waits = q
            .iter()
            .any(|id| srv.clients.get(id).and_then(|c| c.blocked.as_ref()).is_some_and(|b| is_group_read(&b.args)));
        if waits {
            ready.push((*db, key.clone()));
        }
    }
    for k in ready {
        if !srv.ready_keys.contains(&k) {
            srv.ready_keys.push(k);
        }
    }
}

/// Ends blocks whose deadline passed: the command's timeout reply goes to
/// `pending_out`. Called by the blocked connection when its timer fires.
pub fn expire_block(srv: &mut Server, client: &mut Client, now: i64) {
    let timed_out = client.blocked.as_ref().is_some_and(|b| b.deadline.is_some_and(|d| d <= now));
    if timed_out && unblock(srv, client).is_some() {
        let mut out = Reply::new();
        out.resp = client.resp;
        timeout_reply(&mut out);
        client.pending_out.extend_from_slice(&out.buf);
    }
}

/// CLIENT UNBLOCK id [TIMEOUT|ERROR]
fn client_unblock(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(id) = crate::util::parse_i64(&args[2]) else {
        ctx.err(super::err::NOT_INT);
        return;
    };
    let error = match args.get(3) {
        None => false,
        Some(a) if eq_ic(a, b"timeout") => false,
        Some(a) if eq_ic(a, b"error") => true,
        Some(_) if args.len() > 4 => {
            ctx.err("ERR wrong number of arguments for 'client|unblock' command");
            return;
        }
        Some(_) => {
            ctx.err("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            return;
        }
    };
    let Some(mut target) = ctx.srv.clients.remove(&(id as u64)) else {
        ctx.out.int(0);
        return;
    };
    let done = match unblock(ctx.srv, &mut target) {
        Some(_) => {
            let mut out = Reply::new();
            out.resp = target.resp;
            if error {
                out.error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
            } else {
                timeout_reply(&mut out);
            }
            target.pending_out.extend_from_slice(&out.buf);
            target.signal.wake.notify_one();
            1
        }
        None => 0,
    };
    ctx.srv.clients.insert(id as u64, target);
    ctx.out.int(done);
}
