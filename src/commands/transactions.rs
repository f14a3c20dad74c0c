//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH. Inside MULTI the
//! dispatcher queues commands in the client (`queue`); EXEC runs them one after
//! the other within the same hold of the server lock, which makes the block
//! atomic. WATCH registers keys in the server's watch registry; every change to
//! a watched key touches it (`Server::touch_watched_key`), which makes the
//! watching clients' EXEC fail.
//!
//! How changes are found: a database whose keys are watched records the
//! lookups, writes and expiries of those keys (`storage::db::KeyEvent`). After
//! each command, `process_key_events` touches a key when it expired, or when
//! the command changed the dataset (the dirty counter moved) and it either wrote
//! the key through the database or looked it up at one of its non-read-only key
//! positions while it existed before or after (changes made in place, such as
//! SADD of a new member). A command that changes nothing (SADD of an existing
//! member, DEL of a missing key) touches nothing, as in Redis.

use super::table::{flag, Command};
use super::{Ctx, Handler};
use crate::server::client::Client;
use crate::server::{Server, Shared};
use crate::storage::db::KeyEvent;
use crate::storage::SBytes;
use bytes::Bytes;

pub const COMMANDS: &[(&str, Handler)] =
    &[("multi", multi), ("exec", exec), ("discard", discard_cmd), ("watch", watch), ("unwatch", unwatch)];

/// The commands that run at once inside MULTI instead of being queued.
pub fn runs_in_multi(cmd: &Command) -> bool {
    matches!(cmd.name.as_str(), "exec" | "discard" | "multi" | "watch" | "quit" | "reset")
}

/// Whether the queued commands include one that writes or may replicate (the
/// EXEC of such a transaction waits while CLIENT PAUSE WRITE is in force).
pub fn queue_may_replicate(sh: &Shared, srv: &Server, client: &Client) -> bool {
    client.queue.iter().any(|args| {
        super::resolve_queued(sh, args)
            .is_some_and(|c| super::request_flags(srv, c, args) & (flag::WRITE | flag::MAY_REPLICATE) != 0)
    })
}

/// True when a queued command may enlarge memory (EXEC is refused with
/// `-OOM` then, as Redis checks the transaction's accumulated flags).
pub fn queue_denyoom(sh: &Shared, srv: &Server, client: &Client) -> bool {
    client.queue.iter().any(|args| super::resolve_queued(sh, args).is_some_and(|c| super::denies_oom(srv, c, args)))
}

/// Queues a command of an open transaction (Redis's `queueMultiCommand`):
/// nothing is kept once the transaction is bound to fail.
pub fn queue(client: &mut Client, args: &[Bytes]) {
    if client.dirty_cas || client.dirty_exec {
        return;
    }
    client.multi_mem += args.iter().map(|a| a.len()).sum::<usize>() + std::mem::size_of::<usize>() * args.len();
    client.queue.push(args.to_vec());
    client.multi += 1;
}

/// Redis's `discardTransaction`: leaves MULTI, forgets the queue and the
/// failure flags, and unwatches every key.
pub fn discard(srv: &mut Server, client: &mut Client) {
    client.queue = Vec::new();
    client.multi = -1;
    client.multi_mem = 0;
    client.dirty_cas = false;
    client.dirty_exec = false;
    srv.unwatch_all(client);
}

/// What happened to one watched key during a command.
struct Seen {
    key: SBytes,
    expired: bool,
    written: bool,
    looked: bool,
    existed: bool,
}

/// Turns the key events the databases recorded into touches of watched keys.
/// `cmd` is the command that ran (None: blocked clients were served, whose keys
/// are all written ones); `dirty` is how many changes it counted, `failed`
/// whether it replied an error.
pub fn process_key_events(
    srv: &mut Server,
    cur: &mut Client,
    cmd: Option<(&Command, &[Bytes])>,
    dirty: u64,
    failed: bool,
) {
    let name = cmd.map_or("", |(c, _)| c.name.as_str());
    // LTRIM signals its key even when it removes nothing.
    let changed = dirty > 0 || (name == "ltrim" && !failed);
    // SMOVE signals its destination only when the member was added to it (the
    // second change it counts).
    let unchanged: Option<&[u8]> = match cmd {
        Some((_, args)) if name == "smove" && dirty < 2 => args.get(2).map(|a| a.as_ref()),
        _ => None,
    };
    // COPY writes its destination only by storing it (its key positions are
    // not all in the selected database: COPY k k DB 1 reads k here).
    let stores_only = name == "copy";
    let mut write_keys: Option<Vec<Bytes>> = None;
    for db in 0..srv.dbs.len() {
        if srv.dbs[db].key_events.is_empty() {
            continue;
        }
        let events = std::mem::take(&mut srv.dbs[db].key_events);
        let mut seen: Vec<Seen> = Vec::new();
        // Many keys (an MSET while everything is observed): find them by hash.
        let mut index: Option<std::collections::HashMap<SBytes, usize, ahash::RandomState>> =
            (events.len() > 16).then(Default::default);
        for (key, ev) in events {
            let found = match &index {
                Some(ix) => ix.get(&key).copied(),
                None => seen.iter().position(|s| s.key == key),
            };
            let i = match found {
                Some(i) => i,
                None => {
                    if let Some(ix) = &mut index {
                        ix.insert(key.clone(), seen.len());
                    }
                    seen.push(Seen { key, expired: false, written: false, looked: false, existed: false });
                    seen.len() - 1
                }
            };
            let s = &mut seen[i];
            match ev {
                KeyEvent::Expired => s.expired = true,
                KeyEvent::Written => s.written = true,
                KeyEvent::Looked { existed } => {
                    s.looked = true;
                    s.existed |= existed;
                }
            }
        }
        for s in seen {
            if s.expired {
                // The deletion happened before anything else the command did.
                srv.signal_modified(cur, db, &s.key, false);
            }
            if !changed {
                continue;
            }
            let present = srv.dbs[db].main().contains_key(&s.key);
            let modified = s.written
                || (s.looked && !stores_only && (s.existed || present) && unchanged != Some(s.key.as_ref()) && {
                    let wk = write_keys.get_or_insert_with(|| written_positions(cmd));
                    cmd.is_none() || wk.iter().any(|k| k.as_ref() == s.key.as_ref())
                });
            if modified {
                srv.signal_modified(cur, db, &s.key, present);
            }
        }
    }
}

/// Key events no command caused (active expiry): touches and invalidations
/// go out at once, as no client is running.
pub fn process_background_events(srv: &mut Server) {
    let mut nobody = Client::new(0, String::new(), String::new(), -1, crate::util::now_ms());
    process_key_events(srv, &mut nobody, None, 0, false);
    crate::server::tracking::before_sleep(srv, None);
}

/// The keys a command may write: those at key positions not flagged read-only.
fn written_positions(cmd: Option<(&Command, &[Bytes])>) -> Vec<Bytes> {
    let Some((cmd, args)) = cmd else { return Vec::new() };
    super::server::get_keys(cmd, args)
        .into_iter()
        .filter(|(_, flags)| !flags.iter().any(|f| f == "RO"))
        .filter_map(|(pos, _)| args.get(pos).cloned())
        .collect()
}

impl Ctx<'_> {
    /// FLUSHDB / FLUSHALL are about to empty database `db`: watched keys that
    /// exist in it are touched.
    pub fn touch_flushed_db(&mut self, db: usize) {
        if !self.srv.watched_keys.is_empty() {
            self.srv.touch_all_watched_in_db(self.client, db, None, self.now);
        }
    }

    /// SWAPDB is about to swap databases `a` and `b`: watched keys of either
    /// that exist in either are touched.
    pub fn touch_swapped_dbs(&mut self, a: usize, b: usize) {
        if !self.srv.watched_keys.is_empty() {
            self.srv.touch_all_watched_in_db(self.client, a, Some(b), self.now);
            self.srv.touch_all_watched_in_db(self.client, b, Some(a), self.now);
        }
    }
}

fn multi(ctx: &mut Ctx, _args: &[Bytes]) {
    if ctx.client.multi >= 0 {
        ctx.err("ERR MULTI calls can not be nested");
        return;
    }
    ctx.client.multi = 0;
    ctx.out.ok();
}

fn discard_cmd(ctx: &mut Ctx, _args: &[Bytes]) {
    if ctx.client.multi < 0 {
        ctx.err("ERR DISCARD without MULTI");
        return;
    }
    discard(ctx.srv, ctx.client);
    ctx.out.ok();
}

fn exec(ctx: &mut Ctx, _args: &[Bytes]) {
    if ctx.client.multi < 0 {
        ctx.err("ERR EXEC without MULTI");
        return;
    }
    if ctx.srv.watched_key_expired(ctx.client, ctx.now) {
        ctx.client.dirty_cas = true;
    }
    if ctx.client.dirty_exec {
        ctx.err("EXECABORT Transaction discarded because of previous errors.");
        discard(ctx.srv, ctx.client);
        return;
    }
    if ctx.client.dirty_cas {
        ctx.out.null_array();
        discard(ctx.srv, ctx.client);
        return;
    }
    ctx.srv.unwatch_all(ctx.client);
    let queued = std::mem::take(&mut ctx.client.queue);
    ctx.out.array_len(queued.len());
    for args in &queued {
        match super::resolve_queued(ctx.sh, args) {
            Some(cmd) => super::call(ctx.sh, ctx.srv, ctx.client, ctx.out, args, cmd, true),
            // Cannot happen (the command resolved when queued); keep the array whole.
            None => ctx.out.error("ERR unknown command"),
        }
    }
    discard(ctx.srv, ctx.client);
}

fn watch(ctx: &mut Ctx, args: &[Bytes]) {
    if ctx.client.multi >= 0 {
        ctx.err("ERR WATCH inside MULTI is not allowed");
        return;
    }
    // No point in watching once a watched key was touched.
    if !ctx.client.dirty_cas {
        let db = ctx.client.db;
        for k in &args[1..] {
            ctx.srv.watch_key(ctx.client, db, k, ctx.now);
        }
    }
    ctx.out.ok();
}

fn unwatch(ctx: &mut Ctx, _args: &[Bytes]) {
    ctx.srv.unwatch_all(ctx.client);
    ctx.client.dirty_cas = false;
    ctx.out.ok();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn client(id: u64) -> Client {
        Client::new(id, "127.0.0.1:1".into(), "127.0.0.1:2".into(), -1, 0)
    }

    /// Watches leave nothing behind once dropped (UNWATCH, EXEC, a disconnect
    /// all go through `unwatch_all`), and a touch unwatches the dirtied client.
    #[test]
    fn registry_is_emptied() {
        let mut srv = Server::new(Config::default(), std::sync::Weak::new());
        let mut a = client(10);
        let mut b = client(11);
        srv.watch_key(&mut a, 0, b"k", 0);
        srv.watch_key(&mut a, 0, b"k", 0);
        srv.watch_key(&mut a, 1, b"k", 0);
        srv.watch_key(&mut b, 0, b"k", 0);
        assert_eq!(a.watched.len(), 2);
        assert_eq!(srv.watched_keys[&(0, SBytes::new(b"k"))].len(), 2);
        srv.unwatch_all(&mut a);
        assert!(a.watched.is_empty());
        assert!(srv.dbs[1].watched.is_empty());
        assert_eq!(srv.watched_keys.len(), 1);
        srv.clients.insert(b.id, Box::new(b));
        // `a` (running the command) touches the key `b` watches.
        srv.touch_watched_key(&mut a, 0, b"k", true);
        let b = &srv.clients[&11];
        assert!(b.dirty_cas && b.watched.is_empty());
        assert!(srv.watched_keys.is_empty());
        assert!(srv.dbs[0].watched.is_empty() && srv.dbs[0].key_events.is_empty());
    }
}
