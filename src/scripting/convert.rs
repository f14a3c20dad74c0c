//! Between Redis replies and Lua values, with Redis's rules.
//!
//! `redis.call` (`Runner::dispatch`) runs a command into a scratch reply
//! buffer (RESP2, or RESP3 after `redis.setresp(3)`), which `rawcall.rs`
//! pushes into Lua: integers → numbers, bulks → strings, nil → false (RESP2)
//! or nil (RESP3), arrays → tables, status → {ok=...}, errors → {err=...},
//! and RESP3's map/set/double/boolean/big number/verbatim forms → their
//! tables. A script's return value goes the other way (here): numbers are
//! truncated to integers, false → nil, true → 1, a table with `err`/`ok` →
//! error/status, other tables → arrays up to the first nil.

use super::Mode;
use crate::commands::table::flag;
use crate::commands::Ctx;
use crate::resp::Reply;
use crate::server::client::Client;
use bytes::Bytes;
use mlua::{Table, Value};

/// Deepest table nesting converted to a reply (deeper levels become nil).
const MAX_DEPTH: usize = 1000;

/// The state behind `redis.call` for one script run.
pub struct Runner<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    mode: Mode,
    /// The client commands run as (Redis's fake Lua client): the caller's
    /// database, its own SELECT.
    client: Box<Client>,
    scratch: Reply,
    /// Protocol of replies given to the script (`redis.setresp`).
    pub resp: u8,
    watch: std::sync::Arc<super::Watch>,
    /// The script declared `allow-oom`: its writes are never refused for memory.
    pub allow_oom: bool,
    /// A write command ran (after which the script may not be stopped
    /// half-way for memory).
    wrote: bool,
}

/// What `redis.call` runs commands as, kept between runs as Redis keeps its
/// Lua client: the client and the buffer its replies go to.
pub struct LuaClient {
    client: Box<Client>,
    scratch: Reply,
}

impl<'c, 'a> Runner<'c, 'a> {
    /// A runner whose commands run as `kept` (None makes one), in the
    /// caller's database.
    pub fn new(ctx: &'c mut Ctx<'a>, mode: Mode, watch: std::sync::Arc<super::Watch>, kept: Option<LuaClient>) -> Self {
        let LuaClient { mut client, scratch } = kept.unwrap_or_else(|| LuaClient {
            client: Box::new(Client::new(super::LUA_CLIENT_ID, "lua".into(), String::new(), -1, ctx.now)),
            scratch: Reply::new(),
        });
        client.db = ctx.client.db;
        client.authenticated = true;
        Runner { ctx, mode, client, scratch, resp: 2, watch, allow_oom: false, wrote: false }
    }

    /// The client and its reply buffer, for the next run (a buffer grown
    /// past 1 MB by a big reply is let go).
    pub fn into_client(self) -> LuaClient {
        let mut scratch = self.scratch;
        if scratch.buf.capacity() > 1 << 20 {
            scratch = Reply::new();
        }
        LuaClient { client: self.client, scratch }
    }

    /// The shared server parts (command table).
    pub fn shared(&self) -> &'a crate::server::Shared {
        self.ctx.sh
    }

    /// Runs a command for `redis.call`/`redis.pcall` (`argv` not empty);
    /// its reply (an error reply when it failed) is then in `reply()`. A
    /// command the script may not run is refused with the error text.
    pub fn dispatch(&mut self, argv: &[Bytes]) -> Result<(), &'static str> {
        let resp = self.resp;
        let sh = self.ctx.sh;
        let Some(cmd) = sh.table.lookup(&argv[0]) else {
            return Err("ERR Unknown Redis command called from script");
        };
        let cmd = match cmd.subcommands.is_empty() {
            true => cmd,
            false => {
                match argv.get(1).and_then(|s| cmd.subcommands.get(&String::from_utf8_lossy(s).to_ascii_lowercase())) {
                    Some(sub) => sub,
                    None if argv.len() < 2 => return Err("ERR Wrong number of args calling Redis command from script"),
                    None => return Err("ERR Unknown Redis command called from script"),
                }
            }
        };
        if !cmd.arity_ok(argv.len()) || cmd.handler.is_none() {
            return Err("ERR Wrong number of args calling Redis command from script");
        }
        // Refusals from here on count as rejected calls of the command.
        if cmd.has(flag::NOSCRIPT) {
            return self.rejected(cmd, "ERR This Redis command is not allowed from script");
        }
        if self.mode == Mode::ReadOnly && (cmd.has(flag::WRITE) || cmd.has(flag::MAY_REPLICATE)) {
            return self.rejected(cmd, "ERR Write commands are not allowed from read-only scripts.");
        }
        // Redis's scriptVerifyOOM: memory was over the limit with nothing to
        // evict when the script started, and it has not written yet.
        let srv = &self.ctx.srv;
        if cmd.has(flag::DENYOOM)
            && !self.allow_oom
            && !self.wrote
            && srv.config.maxmemory != 0
            && srv.evict.pre_command_oom
        {
            return self.rejected(cmd, crate::commands::err::OOM);
        }
        if cmd.has(flag::WRITE) {
            self.wrote = true;
        }
        self.scratch.buf.clear();
        self.scratch.resp = resp;
        self.client.resp = resp;
        let dirty = self.ctx.srv.dirty;
        crate::commands::call(sh, self.ctx.srv, &mut self.client, &mut self.scratch, argv, cmd, true);
        if self.ctx.srv.dirty != dirty {
            // A script that changed the dataset can no longer be killed.
            self.watch.note_write();
        }
        Ok(())
    }

    /// The reply of the last command `dispatch` ran (RESP `resp`).
    pub fn reply(&self) -> &[u8] {
        &self.scratch.buf
    }
}

impl Runner<'_, '_> {
    /// A command the script may not run here: counted as a rejected call.
    fn rejected(&mut self, cmd: &crate::commands::table::Command, msg: &'static str) -> Result<(), &'static str> {
        self.ctx.srv.stats.cmd(cmd.id).rejected_calls += 1;
        Err(msg)
    }
}

/// Writes a script's return value as the reply.
pub fn lua_to_reply(ctx: &mut Ctx, v: &Value, depth: usize) {
    match v {
        Value::Nil => ctx.out.null(),
        Value::Boolean(true) => ctx.out.int(1),
        Value::Boolean(false) => ctx.out.null(),
        Value::Integer(n) => ctx.out.int(*n),
        // As C's cast on x86: out-of-range values and NaN become i64::MIN.
        Value::Number(n) => ctx.out.int(if n.is_finite() && n.abs() < 9.2e18 { *n as i64 } else { i64::MIN }),
        Value::String(s) => ctx.out.bulk(&s.as_bytes()),
        Value::Table(t) if depth < MAX_DEPTH => table_to_reply(ctx, t, depth),
        _ => ctx.out.null(),
    }
}

fn table_to_reply(ctx: &mut Ctx, t: &Table, depth: usize) {
    if let Ok(Value::String(e)) = t.raw_get::<Value>("err") {
        let msg = String::from_utf8_lossy(&e.as_bytes()).into_owned();
        ctx.err(&msg);
        return;
    }
    if let Ok(Value::String(s)) = t.raw_get::<Value>("ok") {
        let msg = String::from_utf8_lossy(&s.as_bytes()).replace(['\r', '\n'], " ");
        ctx.out.status(&msg);
        return;
    }
    if let Ok(d @ (Value::Number(_) | Value::Integer(_))) = t.raw_get::<Value>("double") {
        let d = match d {
            Value::Number(f) => f,
            Value::Integer(i) => i as f64,
            _ => 0.0,
        };
        ctx.out.double(d);
        return;
    }
    if let Ok(Value::Table(m)) = t.raw_get::<Value>("map") {
        let pairs: Vec<(Value, Value)> = m.pairs::<Value, Value>().filter_map(Result::ok).collect();
        ctx.out.map_len(pairs.len());
        for (k, v) in &pairs {
            lua_to_reply(ctx, k, depth + 1);
            lua_to_reply(ctx, v, depth + 1);
        }
        return;
    }
    if let Ok(Value::Table(s)) = t.raw_get::<Value>("set") {
        let keys: Vec<Value> = s.pairs::<Value, Value>().filter_map(Result::ok).map(|(k, _)| k).collect();
        ctx.out.set_len(keys.len());
        for k in &keys {
            lua_to_reply(ctx, k, depth + 1);
        }
        return;
    }
    let mut items = Vec::new();
    let mut i = 1;
    loop {
        match t.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) => items.push(v),
        }
        i += 1;
    }
    ctx.out.array_len(items.len());
    for v in &items {
        lua_to_reply(ctx, v, depth + 1);
    }
}

/// Replies with a script's error: the error table's text, then where it
/// happened (`script: <sha>, on @user_script:<line>.`), as Redis 7.0.
pub fn script_error(ctx: &mut Ctx, v: &Value, sha: &str) {
    let Value::Table(t) = v else {
        ctx.err("ERR Error running script: execution failure");
        return;
    };
    let msg = match t.raw_get::<Value>("err") {
        Ok(Value::String(s)) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
        _ => "ERR unknown error".to_string(),
    };
    let source = t.raw_get::<Option<String>>("source").ok().flatten();
    let line = t.raw_get::<Option<i64>>("line").ok().flatten();
    let full = match (source, line) {
        (Some(s), Some(l)) => format!("{msg} script: {sha}, on {s}:{l}."),
        _ => msg,
    };
    ctx.err(&full);
}
