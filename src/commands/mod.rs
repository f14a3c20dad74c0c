//! Command execution: the context a command runs in, the dispatcher that checks
//! a request against the command table (existence, arity, authentication) and
//! runs it with statistics, slowlog and MONITOR feeding, and the registry of
//! every family's handlers.
//!
//! A family module (strings, keys, server...) exports `COMMANDS: &[(name, handler)]`;
//! adding a command is one handler plus one line there.

pub mod table;

pub mod bitmaps;
pub mod blocking;
pub mod config;
pub mod connection;
pub mod functions;
pub mod geo;
pub mod geohash;
pub mod hashes;
pub mod hyperloglog;
pub mod keys;
pub mod lists;
pub mod memory;
pub mod persistence;
pub mod pubsub;
pub mod scripting;
pub mod server;
pub mod sets;
pub mod sort;
pub mod streams;
pub mod strings;
pub mod transactions;
pub mod zsets;

use crate::resp::Reply;
use crate::server::client::{Client, ReplyMode};
use crate::server::propagate;
use crate::server::{Server, Shared};
use crate::storage::{Db, Entry};
use bytes::Bytes;
use table::{flag, Command};

/// A command implementation.
pub type Handler = fn(&mut Ctx, &[Bytes]);

/// The families whose handlers make up the command table.
macro_rules! families {
    ($($family:ident),* $(,)?) => {
        const FAMILIES: &[&[(&str, Handler)]] = &[$($family::COMMANDS),*];
        const N_HANDLERS: usize = 0 $(+ $family::COMMANDS.len())*;
    };
}
families!(
    keys,
    strings,
    bitmaps,
    lists,
    hashes,
    sets,
    zsets,
    geo,
    blocking,
    connection,
    server,
    config,
    sort,
    transactions,
    pubsub,
    persistence,
    scripting,
    functions,
    hyperloglog,
    streams,
    memory,
);

/// Every registered command. The table holds exactly these.
pub static HANDLERS: &[(&str, Handler)] = &concat_handlers();

const fn concat_handlers() -> [(&'static str, Handler); N_HANDLERS] {
    let mut out: [(&str, Handler); N_HANDLERS] = [("", noop); N_HANDLERS];
    let mut n = 0;
    let mut p = 0;
    while p < FAMILIES.len() {
        let mut i = 0;
        while i < FAMILIES[p].len() {
            out[n] = FAMILIES[p][i];
            n += 1;
            i += 1;
        }
        p += 1;
    }
    out
}

fn noop(_: &mut Ctx, _: &[Bytes]) {}

/// Redis's common error replies.
pub mod err {
    pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
    pub const SYNTAX: &str = "ERR syntax error";
    pub const NOT_INT: &str = "ERR value is not an integer or out of range";
    pub const NOT_FLOAT: &str = "ERR value is not a valid float";
    pub const NO_SUCH_KEY: &str = "ERR no such key";
    pub const DB_INDEX: &str = "ERR DB index is out of range";
    pub const OVERFLOW: &str = "ERR increment or decrement would overflow";
    pub const NOAUTH: &str = "NOAUTH Authentication required.";
    pub const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";
}

/// What a running command sees: the server state (locked), its client and its
/// reply buffer, and the time it started (used for every expiry decision of the
/// command, so a command sees one consistent instant).
pub struct Ctx<'a> {
    pub sh: &'a Shared,
    pub srv: &'a mut Server,
    pub client: &'a mut Client,
    pub out: &'a mut Reply,
    pub cmd: &'a Command,
    pub now: i64,
    /// Set when the command replied with an error (for failed_calls).
    pub failed: bool,
    /// The command is being re-run for a blocked client (see `blocking`).
    pub serving_blocked: bool,
    /// Blocking is not allowed (MULTI, scripts): blocking commands time out at once.
    pub no_block: bool,
}

impl<'a> Ctx<'a> {
    /// The selected database.
    #[inline]
    pub fn db(&mut self) -> &mut Db {
        &mut self.srv.dbs[self.client.db]
    }

    /// Writes an error reply and counts it in errorstats.
    pub fn err(&mut self, msg: &str) {
        self.failed = true;
        self.srv.stats.count_error(msg);
        self.out.error(msg);
    }

    pub fn wrongtype(&mut self) {
        self.err(err::WRONGTYPE);
    }

    pub fn syntax(&mut self) {
        self.err(err::SYNTAX);
    }

    /// Looks a key up for reading: counts a keyspace hit or miss.
    pub fn lookup_read(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.notify_lookup(key, true);
        let now = self.now;
        let srv = &mut *self.srv;
        let e = srv.dbs[self.client.db].get(key, now);
        if e.is_some() {
            srv.stats.keyspace_hits += 1;
        } else {
            srv.stats.keyspace_misses += 1;
        }
        e
    }

    /// Looks a key up for writing (no hit/miss accounting).
    #[inline]
    pub fn lookup_write(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.notify_lookup(key, false);
        let now = self.now;
        self.srv.dbs[self.client.db].get(key, now)
    }

    /// Records `n` changes to the dataset (for save points and INFO).
    #[inline]
    pub fn dirty(&mut self, n: u64) {
        self.srv.dirty += n;
    }

    /// Tells blocked clients that `key` (in the selected db) received data: a
    /// push to a list or sorted set calls this. Clients blocked on it are served,
    /// in arrival order, once the current command has finished.
    pub fn key_ready(&mut self, key: &[u8]) {
        self.key_ready_in(self.client.db, key);
    }

    /// `key_ready` for a key of database `db` (MOVE, COPY ... DB).
    pub fn key_ready_in(&mut self, db: usize, key: &[u8]) {
        if self.srv.blocked_on.is_empty() {
            return;
        }
        let k = (db, crate::storage::SBytes::new(key));
        if self.srv.blocked_on.contains_key(&k) && !self.srv.ready_keys.contains(&k) {
            self.srv.ready_keys.push(k);
        }
    }

    /// Publishes the keyspace notification `event` of class `class` (a
    /// `server::notify` flag) for `key` of the selected database. Returns at
    /// once when the class is off.
    #[inline]
    pub fn notify(&mut self, class: u32, event: &str, key: &[u8]) {
        if self.srv.config.notify_keyspace_events & class != 0 {
            let db = self.client.db;
            crate::server::notify::publish(self.srv, class, event, key, db, self.client.id, self.out);
        }
    }

    /// `notify` for a key of database `db` (MOVE, COPY ... DB).
    #[inline]
    pub fn notify_in(&mut self, db: usize, class: u32, event: &str, key: &[u8]) {
        if self.srv.config.notify_keyspace_events & class != 0 {
            crate::server::notify::publish(self.srv, class, event, key, db, self.client.id, self.out);
        }
    }

    /// Publishes now what the databases recorded (key creations, expiries),
    /// for a command that replies before its own event (Redis publishes `new`
    /// at the creation).
    #[inline]
    pub fn notify_flush(&mut self) {
        if self.srv.config.notify_keyspace_events != 0 {
            crate::server::notify::flush(self.srv, self.client.id, self.out);
        }
    }

    /// A lookup of `key` (a read when `read`) is about to happen while
    /// notifications are on: expires the key now, so its `expired` event comes
    /// before the reply, and publishes `keymiss` for a read that finds
    /// nothing. Family lookups that bypass `lookup_read`/`lookup_write` call it.
    #[inline]
    pub fn notify_lookup(&mut self, key: &[u8], read: bool) {
        if self.srv.config.notify_keyspace_events != 0 {
            let (db, now) = (self.client.db, self.now);
            crate::server::notify::before_lookup(self.srv, db, key, read, now, self.client.id, self.out);
        }
    }

    /// Parses an integer argument or replies with Redis's error.
    pub fn int_arg(&mut self, a: &[u8]) -> Option<i64> {
        let v = crate::util::parse_i64(a);
        if v.is_none() {
            self.err(err::NOT_INT);
        }
        v
    }
}

/// Replies with a help text as Redis's `addReplyHelp` does: the
/// `<NAME> <subcommand> ...` header, the given lines, then the HELP entry.
pub fn reply_help(ctx: &mut Ctx, name: &str, lines: &[&str]) {
    ctx.out.array_len(lines.len() + 3);
    ctx.out.status(&format!("{name} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"));
    for l in lines {
        ctx.out.status(l);
    }
    ctx.out.status("HELP");
    ctx.out.status("    Prints this help.");
}

/// Formats Redis's unknown-command error.
fn unknown_command_error(args: &[Bytes]) -> String {
    let mut tail = String::new();
    for a in &args[1..] {
        if tail.len() >= 128 {
            break;
        }
        let room = 128 - tail.len();
        let s = String::from_utf8_lossy(a);
        let s: String = s.chars().take(room).collect();
        tail.push_str(&format!("'{s}' "));
    }
    let name: String = String::from_utf8_lossy(&args[0]).chars().take(128).collect();
    format!("ERR unknown command '{name}', with args beginning with: {tail}")
}

/// Resolves a request to its command (or subcommand). On failure: the error
/// text and, for an arity error, the command it was meant for.
fn resolve<'t>(sh: &'t Shared, args: &[Bytes]) -> Result<&'t Command, (String, Option<&'t Command>)> {
    let Some(cmd) = sh.table.lookup(&args[0]) else {
        return Err((unknown_command_error(args), None));
    };
    let cmd = if !cmd.subcommands.is_empty() && args.len() >= 2 {
        let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
        match cmd.subcommands.get(&sub) {
            Some(s) => s,
            None => {
                let shown: String = String::from_utf8_lossy(&args[1]).chars().take(128).collect();
                let msg = format!("ERR unknown subcommand '{shown}'. Try {} HELP.", cmd.name.to_ascii_uppercase());
                return Err((msg, None));
            }
        }
    } else {
        cmd
    };
    if !cmd.arity_ok(args.len()) || cmd.handler.is_none() {
        return Err((format!("ERR wrong number of arguments for '{}' command", cmd.name), Some(cmd)));
    }
    Ok(cmd)
}

/// The command a queued request resolves to (it resolved when queued).
pub(crate) fn resolve_queued<'t>(sh: &'t Shared, args: &[Bytes]) -> Option<&'t Command> {
    resolve(sh, args).ok()
}

/// Runs one request for `client`, appending its reply to `out`.
pub fn execute(sh: &Shared, srv: &mut Server, client: &mut Client, out: &mut Reply, args: &[Bytes]) {
    if args.is_empty() {
        return;
    }
    let mark = out.buf.len();
    let mode_before = client.reply_mode;
    if mode_before == ReplyMode::Skip {
        client.reply_mode = ReplyMode::On;
    }
    srv.current_client = client.id;
    run(sh, srv, client, out, args);
    srv.current_client = 0;
    if !srv.pubsub.held.is_empty() {
        // Messages a script's calls published to this client precede its reply.
        let held = std::mem::take(&mut srv.pubsub.held);
        let at = mark.min(out.buf.len());
        let tail = out.buf.split_off(at);
        out.buf.extend_from_slice(&held);
        out.buf.extend_from_slice(&tail);
    }
    blocking::signal_deleted_streams(srv);
    if !srv.ready_keys.is_empty() {
        // After the whole command (all of EXEC), never in the middle of it.
        let dirty = srv.dirty;
        blocking::serve_ready(sh, srv);
        if srv.observing_keys() {
            transactions::process_key_events(srv, client, None, srv.dirty.wrapping_sub(dirty), false);
        }
    }
    let drop_reply = match mode_before {
        ReplyMode::Skip => true,
        ReplyMode::Off => client.reply_mode == ReplyMode::Off,
        ReplyMode::On => false,
    };
    if drop_reply {
        out.buf.truncate(mark);
    }
    // Invalidations of keys this request changed, after its reply.
    crate::server::tracking::deliver(srv, Some((client, out)));
    if let Some(t) = client.tracking.as_mut() {
        // CLIENT CACHING lasts for the next command (all of a transaction).
        if client.multi < 0 && !args[0].eq_ignore_ascii_case(b"client") {
            t.caching = false;
        }
    }
}

/// Redis's `processCommand`: checks the request, then queues it (inside
/// MULTI) or calls it.
fn run(sh: &Shared, srv: &mut Server, client: &mut Client, out: &mut Reply, args: &[Bytes]) {
    let cmd = match resolve(sh, args) {
        Ok(cmd) => cmd,
        Err((msg, cmd)) => {
            set_last_cmd(client, cmd);
            reject(srv, client, out, args, cmd, &msg);
            return;
        }
    };
    set_last_cmd(client, Some(cmd));
    if cmd.name == "debug" && !server::debug_allowed(srv, client) {
        reject(srv, client, out, args, Some(cmd), server::DEBUG_NOT_ALLOWED);
        return;
    }
    if !client.authenticated && !cmd.has(flag::NO_AUTH) && srv.config.requirepass.is_some() {
        reject(srv, client, out, args, Some(cmd), err::NOAUTH);
        return;
    }
    if client.multi >= 0 && cmd.has(flag::NO_MULTI) {
        reject(srv, client, out, args, Some(cmd), "ERR Command not allowed inside a transaction");
        return;
    }
    if srv.config.maxmemory != 0 && out_of_memory(sh, srv, client, out, cmd, args) {
        reject(srv, client, out, args, Some(cmd), err::OOM);
        return;
    }
    if let Some(msg) = crate::persist::denied_by_disk_error(sh, srv, client, cmd) {
        reject(srv, client, out, args, Some(cmd), msg);
        return;
    }
    if client.resp == 2 && client.in_pubsub() && !pubsub::ALLOWED_WHEN_SUBSCRIBED.contains(&cmd.name.as_str()) {
        let msg = format!(
            "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            cmd.name
        );
        reject(srv, client, out, args, Some(cmd), &msg);
        return;
    }
    if srv.persist.loading.is_some()
        && client.id != crate::server::client::AOF_CLIENT_ID
        && denied_while_loading(sh, client, cmd)
    {
        reject(srv, client, out, args, Some(cmd), crate::persist::LOADING_ERR);
        return;
    }
    if client.multi >= 0 && !transactions::runs_in_multi(cmd) {
        client.last_interaction_ms = crate::util::now_ms();
        transactions::queue(client, args);
        out.status("QUEUED");
        return;
    }
    call(sh, srv, client, out, args, cmd, false);
}

/// The maxmemory step of `processCommand`: evicts what the policy allows, and
/// says whether `cmd` must be refused because memory stays over the limit.
/// Inside MULTI every command but EXEC, DISCARD, QUIT and RESET is refused
/// then (queueing grows memory); EXEC when it queued a `denyoom` command.
fn out_of_memory(
    sh: &Shared,
    srv: &mut Server,
    client: &mut Client,
    out: &mut Reply,
    cmd: &Command,
    args: &[Bytes],
) -> bool {
    let outcome = crate::server::evict::perform(srv, client, out);
    if srv.evict.running {
        sh.evict_wake.notify_one();
    }
    let oom = outcome == crate::server::evict::Outcome::Fail;
    srv.evict.pre_command_oom = oom;
    if !oom {
        return false;
    }
    let name = cmd.name.as_str();
    denies_oom(srv, cmd, args)
        || (name == "exec" && transactions::queue_denyoom(sh, srv, client))
        || (client.multi >= 0 && !matches!(name, "exec" | "discard" | "quit" | "reset"))
}

/// Whether a request may enlarge memory (see `request_flags`).
pub(crate) fn denies_oom(srv: &Server, cmd: &Command, args: &[Bytes]) -> bool {
    request_flags(srv, cmd, args) & flag::DENYOOM != 0
}

/// The flags a request runs with (Redis's `getCommandFlags`): a script or
/// function that declares its flags (a shebang, function flags) replaces the
/// command's `write`, `denyoom` and `may-replicate` with what it declared.
pub(crate) fn request_flags(srv: &Server, cmd: &Command, args: &[Bytes]) -> u32 {
    let engine = srv.lua.as_deref();
    let declared = match cmd.name.as_str() {
        "eval" | "eval_ro" => scripting::eval_declared(engine, args, false),
        "evalsha" | "evalsha_ro" => scripting::eval_declared(engine, args, true),
        "fcall" | "fcall_ro" => args.get(1).and_then(|name| engine?.libs.function(name)).map(|(_, flags)| {
            use crate::scripting::functions::Flag;
            crate::scripting::Declared {
                shebang: true,
                no_writes: flags.contains(&Flag::NoWrites),
                allow_oom: flags.contains(&Flag::AllowOom),
            }
        }),
        _ => None,
    };
    match declared {
        Some(d) if d.shebang => {
            let mut f = cmd.flags & !(flag::WRITE | flag::DENYOOM | flag::MAY_REPLICATE);
            if d.deny_oom() {
                f |= flag::DENYOOM;
            }
            if !d.no_writes {
                f |= flag::WRITE;
            }
            f
        }
        _ => cmd.flags,
    }
}

fn set_last_cmd(client: &mut Client, cmd: Option<&Command>) {
    client.last_cmd.clear();
    client.last_cmd.push_str(cmd.map_or("NULL", |c| c.name.as_str()));
}

/// While the dataset loads: commands without the `loading` flag are
/// refused, and EXEC when it queued one.
fn denied_while_loading(sh: &Shared, client: &Client, cmd: &Command) -> bool {
    !cmd.has(flag::LOADING)
        || (cmd.name == "exec"
            && client.queue.iter().any(|a| resolve_queued(sh, a).is_some_and(|c| !c.has(flag::LOADING))))
}

/// Redis's `rejectCommand`: replies the error, counts it (and a rejected call
/// of the command), and makes an open transaction fail. A rejected EXEC ends
/// the transaction with EXECABORT.
fn reject(srv: &mut Server, client: &mut Client, out: &mut Reply, args: &[Bytes], cmd: Option<&Command>, msg: &str) {
    client.last_interaction_ms = crate::util::now_ms();
    if let Some(c) = cmd {
        srv.stats.cmd(c.id).rejected_calls += 1;
    }
    if client.multi >= 0 {
        client.dirty_exec = true;
    }
    if cmd.is_some_and(|c| c.name == "exec") {
        transactions::discard(srv, client);
        let reason = msg.strip_prefix("ERR ").unwrap_or(msg);
        let m = format!("EXECABORT Transaction discarded because of: {reason}");
        srv.stats.count_error(&m);
        out.error(&m);
        if !srv.monitors.is_empty() {
            feed_monitors(srv, client, args);
        }
        return;
    }
    srv.stats.count_error(msg);
    out.error(msg);
}

/// Redis's `call`: runs a command that passed the checks, with statistics,
/// WATCH touches, MONITOR feeding and slowlog. EXEC calls it for each queued
/// command (`no_block`: blocking commands reply as if timed out).
pub(crate) fn call(
    sh: &Shared,
    srv: &mut Server,
    client: &mut Client,
    out: &mut Reply,
    args: &[Bytes],
    cmd: &Command,
    no_block: bool,
) {
    let handler = cmd.handler.unwrap_or(noop);
    // The start is the command's instant and the difference its duration.
    // Within a batch, a command starts when the previous one ended (one
    // clock read per command); commands run by EXEC or a script read it.
    let top = srv.propagation.depth == 0;
    let cached = if top { srv.clock_us.take() } else { None };
    let start_us = cached.unwrap_or_else(crate::util::now_us);
    let now = start_us / 1000;
    client.last_interaction_ms = now;
    let watching = srv.observing_keys();
    if watching {
        // Keys that expired in the background since the last command.
        transactions::process_key_events(srv, client, None, 0, false);
    }
    let dirty = srv.dirty;
    if srv.config.notify_keyspace_events != 0 {
        crate::server::notify::before_command(srv, client.id, out);
    }
    if srv.config.maxmemory_policy.is_lfu() {
        crate::storage::lru::next_command();
    }
    let (db_before, reply_at) = (client.db, out.buf.len());
    srv.propagation.depth += 1;
    // A script run by a tracking client: the reads inside it track this
    // command's keys (see `server::tracking`).
    let script_tracking = cmd.has(flag::SCRIPT_CALL)
        && client.tracking.as_ref().is_some_and(|t| t.remembers())
        && srv.tracking.script_keys.is_none();
    if script_tracking {
        srv.tracking.script_keys = Some((client.id, crate::server::tracking::command_keys(cmd, args)));
    }
    let mut ctx = Ctx { sh, srv, client, out, cmd, now, failed: false, serving_blocked: false, no_block };
    handler(&mut ctx, args);
    let failed = ctx.failed;
    if script_tracking {
        srv.tracking.script_keys = None;
    }
    srv.propagation.depth -= 1;
    // As Redis's `call`: a command that lowered the counter (SAVE, DEBUG
    // RELOAD) changed nothing to propagate, unless it forced it.
    let changed = std::mem::take(&mut srv.propagation.force) || srv.dirty > dirty;
    if propagate::wanted(srv) {
        let reply = out.buf.get(reply_at..).unwrap_or_default();
        propagate::after_call(srv, db_before, &cmd.name, args, reply, changed);
        if srv.propagation.depth == 0 {
            propagate::end_unit(srv);
        }
    }
    if srv.config.notify_keyspace_events != 0 {
        // Expiries and creations the command caused after its last event.
        crate::server::notify::flush(srv, client.id, out);
    }
    let end_us = crate::util::now_us();
    if top {
        srv.clock_us = Some(end_us);
    }
    let us = (end_us - start_us).max(0) as u64;
    if watching || srv.observing_keys() {
        transactions::process_key_events(srv, client, Some((cmd, args)), srv.dirty.wrapping_sub(dirty), failed);
        if !srv.dirty_cas_pending.is_empty() {
            srv.apply_pending_dirty_cas(client);
        }
    }
    // Client-side caching remembers the keys a read-only command read
    // (scripts' own read-only forms excepted: their reads count instead).
    if cmd.has(flag::READONLY)
        && !cmd.has(flag::SCRIPT_CALL)
        && (client.tracking.is_some() || srv.tracking.script_keys.is_some())
    {
        crate::server::tracking::after_read(srv, client, cmd, args);
    }
    let track = srv.config.latency_tracking;
    srv.stats.record_call(cmd.id, us, failed, track);
    srv.stats.total_commands_processed += 1;
    if us >= 1000 {
        let event = if cmd.has(flag::FAST) { "fast-command" } else { "command" };
        server::latency_add_sample_if_needed(srv, event, us / 1000);
    }
    // Fed after the command ran, with the database it left selected, as Redis
    // 7.0 does (so EXEC follows the commands it ran); admin commands are not shown.
    if !srv.monitors.is_empty() && !cmd.has(flag::SKIP_MONITOR) && !cmd.has(flag::ADMIN) {
        feed_monitors(srv, client, args);
    }
    let slower = srv.config.slowlog_log_slower_than;
    if slower >= 0 && us as i64 >= slower && !cmd.has(flag::SKIP_SLOWLOG) {
        slowlog_push(srv, client, args, us as i64, now);
    }
}

fn slowlog_push(srv: &mut Server, client: &Client, args: &[Bytes], us: i64, now: i64) {
    const MAX_ARGS: usize = 32;
    const MAX_ARG_LEN: usize = 128;
    let mut v: Vec<Vec<u8>> = Vec::new();
    let n = args.len().min(MAX_ARGS);
    for (i, a) in args.iter().take(n).enumerate() {
        if i == MAX_ARGS - 1 && args.len() > MAX_ARGS {
            v.push(format!("... ({} more arguments)", args.len() - MAX_ARGS + 1).into_bytes());
        } else if a.len() > MAX_ARG_LEN {
            let mut s = a[..MAX_ARG_LEN].to_vec();
            s.extend_from_slice(format!("... ({} more bytes)", a.len() - MAX_ARG_LEN).as_bytes());
            v.push(s);
        } else {
            v.push(a.to_vec());
        }
    }
    let id = srv.slowlog_next_id;
    srv.slowlog_next_id += 1;
    srv.slowlog.push_front(crate::server::SlowlogEntry {
        id,
        time: now / 1000,
        duration_us: us,
        args: v,
        addr: client.addr.clone(),
        name: client.name.as_ref().map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default(),
    });
    while srv.slowlog.len() > srv.config.slowlog_max_len {
        srv.slowlog.pop_back();
    }
}

/// Sends a MONITOR line (`+<time> [<db> <addr>] "arg" ...`) to every monitor.
fn feed_monitors(srv: &mut Server, client: &Client, args: &[Bytes]) {
    let us = crate::util::now_us();
    let mut line = format!("+{}.{:06} [{} {}]", us / 1_000_000, us % 1_000_000, client.db, client.addr);
    for a in args {
        line.push(' ');
        crate::util::push_repr(&mut line, a);
    }
    line.push_str("\r\n");
    let msg = Bytes::from(line);
    srv.monitors.retain(|(_, tx)| tx.send(msg.clone()).is_ok());
}
