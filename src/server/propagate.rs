//! Propagation: the changes commands make to the dataset, expressed as the
//! commands that redo them (Redis's `propagate`/`alsoPropagate`), for the
//! append-only file (and, later, replicas). A command that changed the data
//! (the dirty counter moved) is propagated as sent, or rewritten into a
//! deterministic form where replaying it verbatim would differ: relative
//! expiries become absolute (`PEXPIREAT`, `SET ... PXAT`), float increments
//! become the value they produced, random and blocking pops become the plain
//! pops that took the same elements. Keys deleted by expiry or eviction
//! propagate as DEL (UNLINK when freed lazily). What one execution unit did (a
//! command, a transaction, a script with its `redis.call`s) goes out
//! together, wrapped in MULTI/EXEC when it is more than one command, as Redis
//! 7.0 does.

use super::Server;
use bytes::Bytes;

/// The stream commands' rewrites.
#[path = "propagate_stream.rs"]
pub mod stream;

/// Commands gathered for the execution unit in progress.
#[derive(Default)]
pub struct Pending {
    /// (database, command), in execution order.
    cmds: Vec<(usize, Vec<Bytes>)>,
    /// Nesting of `commands::call` (EXEC and scripts call commands inside).
    pub depth: u32,
    /// What the stream command running noted for its propagation.
    pub stream: stream::Notes,
    /// The running command is propagated even if the dirty counter did not
    /// grow (Redis's `forceCommandPropagation`: FLUSHALL, whose save resets it).
    pub force: bool,
}

/// Is anything consuming propagated commands?
#[inline]
pub fn wanted(srv: &Server) -> bool {
    srv.aof.on
}

fn b(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}

fn num(n: i64) -> Bytes {
    Bytes::from(n.to_string())
}

/// Records a command of the current unit.
pub fn push(srv: &mut Server, db: usize, cmd: Vec<Bytes>) {
    srv.propagation.cmds.push((db, cmd));
}

/// Records the deletion of keys the databases expired since the last call
/// (DEL, or UNLINK under `lazyfree-lazy-expire`).
pub fn expired_keys(srv: &mut Server) {
    let verb = if srv.config.lazyfree_lazy_expire { "UNLINK" } else { "DEL" };
    for db in 0..srv.dbs.len() {
        if srv.dbs[db].expired_log.is_empty() {
            continue;
        }
        for key in std::mem::take(&mut srv.dbs[db].expired_log) {
            srv.propagation.cmds.push((db, vec![b(verb), Bytes::copy_from_slice(&key)]));
        }
    }
}

/// Deletions made outside any command (active expiry, eviction): each one
/// goes out on its own.
pub fn flush_background(srv: &mut Server) {
    expired_keys(srv);
    for (db, cmd) in std::mem::take(&mut srv.propagation.cmds) {
        srv.aof.append(db, &cmd, srv.config.aof_timestamp_enabled);
    }
}

/// Ends an execution unit: hands its commands to the AOF, wrapped in
/// MULTI/EXEC when there are several.
pub fn end_unit(srv: &mut Server) {
    if srv.propagation.cmds.is_empty() {
        return;
    }
    let cmds = std::mem::take(&mut srv.propagation.cmds);
    let stamp = srv.config.aof_timestamp_enabled;
    let wrap = cmds.len() > 1;
    if wrap {
        srv.aof.append(cmds[0].0, &[b("MULTI")], stamp);
    }
    let mut last = cmds[0].0;
    for (db, cmd) in &cmds {
        srv.aof.append(*db, cmd, stamp);
        last = *db;
    }
    if wrap {
        srv.aof.append(last, &[b("EXEC")], stamp);
    }
}

/// After a command ran in database `db` (as selected when it started):
/// records what it changed. `reply` is its reply (pops take their elements
/// from it); `changed` says whether the dirty counter grew (or the command
/// forced its propagation).
pub fn after_call(srv: &mut Server, db: usize, name: &str, args: &[Bytes], reply: &[u8], changed: bool) {
    expired_keys(srv);
    if name.starts_with('x') {
        return stream::after_call(srv, db, name, args, reply, changed);
    }
    if !changed || matches!(name, "exec" | "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro") {
        // Transactions and scripts propagate the commands they ran.
        return;
    }
    for cmd in rewrite(srv, db, name, args, reply) {
        push(srv, db, cmd);
    }
}

/// The absolute expiry (ms) `key` has now in `db`.
fn expiry(srv: &Server, db: usize, key: &[u8]) -> Option<i64> {
    srv.dbs[db].get_expire(key)
}

fn exists(srv: &Server, db: usize, key: &[u8]) -> bool {
    srv.dbs[db].main().contains_key(key)
}

/// A key an expiring command deleted (its time was already past).
fn deleted(srv: &Server, key: &Bytes) -> Vec<Bytes> {
    let verb = if srv.config.lazyfree_lazy_expire { "UNLINK" } else { "DEL" };
    vec![b(verb), key.clone()]
}

/// The commands that redo what `args` did.
fn rewrite(srv: &Server, db: usize, name: &str, args: &[Bytes], reply: &[u8]) -> Vec<Vec<Bytes>> {
    let key = || args[1].clone();
    let ttl_form = |k: &Bytes| -> Vec<Bytes> {
        match expiry(srv, db, k) {
            Some(at) => vec![b("PEXPIREAT"), k.clone(), num(at)],
            None if exists(srv, db, k) => vec![b("PERSIST"), k.clone()],
            None => deleted(srv, k),
        }
    };
    let verbatim = || vec![args.to_vec()];
    match name {
        "expire" | "pexpire" | "expireat" => vec![ttl_form(&args[1])],
        "pexpireat" if exists(srv, db, &args[1]) => verbatim(),
        "pexpireat" => vec![deleted(srv, &args[1])],
        "setex" | "psetex" => match expiry(srv, db, &args[1]) {
            Some(at) => vec![vec![b("SET"), key(), args[3].clone(), b("PXAT"), num(at)]],
            None => verbatim(),
        },
        "set" => {
            let relative = args[3..].iter().any(|a| {
                a.eq_ignore_ascii_case(b"ex") || a.eq_ignore_ascii_case(b"px") || a.eq_ignore_ascii_case(b"exat")
            });
            match expiry(srv, db, &args[1]) {
                Some(at) if relative => vec![vec![b("SET"), key(), args[2].clone(), b("PXAT"), num(at)]],
                None if relative && !exists(srv, db, &args[1]) => vec![deleted(srv, &args[1])],
                _ => verbatim(),
            }
        }
        "getex" => vec![ttl_form(&args[1])],
        "getdel" => vec![vec![b("DEL"), key()]],
        "incrbyfloat" => match parse(reply) {
            Some(R::Bulk(v)) => vec![vec![b("SET"), key(), Bytes::from(v), b("KEEPTTL")]],
            _ => verbatim(),
        },
        "hincrbyfloat" => match parse(reply) {
            Some(R::Bulk(v)) => vec![vec![b("HSET"), key(), args[2].clone(), Bytes::from(v)]],
            _ => verbatim(),
        },
        "restore" => {
            let absttl = args[4..].iter().any(|a| a.eq_ignore_ascii_case(b"absttl"));
            match expiry(srv, db, &args[1]) {
                Some(at) if !absttl => {
                    let mut v = args.to_vec();
                    v[2] = num(at);
                    v.push(b("ABSTTL"));
                    vec![v]
                }
                _ => verbatim(),
            }
        }
        "spop" => {
            if args.len() > 2 && !exists(srv, db, &args[1]) {
                // SPOP with a count that took every member.
                let verb = if srv.config.lazyfree_lazy_server_del { "UNLINK" } else { "DEL" };
                return vec![vec![b(verb), key()]];
            }
            let members = match parse(reply) {
                Some(R::Bulk(m)) => vec![Bytes::from(m)],
                Some(R::Arr(v)) => v.into_iter().filter_map(R::into_bulk).map(Bytes::from).collect(),
                _ => Vec::new(),
            };
            members
                .chunks(1024)
                .map(|chunk| {
                    let mut c = vec![b("SREM"), key()];
                    c.extend(chunk.iter().cloned());
                    c
                })
                .collect()
        }
        "blpop" | "brpop" | "bzpopmin" | "bzpopmax" => {
            let verb = match name {
                "blpop" => "LPOP",
                "brpop" => "RPOP",
                "bzpopmin" => "ZPOPMIN",
                _ => "ZPOPMAX",
            };
            match parse(reply).and_then(R::first_bulk) {
                Some(k) => vec![vec![b(verb), Bytes::from(k)]],
                None => Vec::new(),
            }
        }
        "brpoplpush" => vec![vec![b("RPOPLPUSH"), args[1].clone(), args[2].clone()]],
        "blmove" => vec![vec![
            b("LMOVE"),
            args[1].clone(),
            args[2].clone(),
            Bytes::from(args[3].to_ascii_uppercase()),
            Bytes::from(args[4].to_ascii_uppercase()),
        ]],
        "lmpop" | "blmpop" | "zmpop" | "bzmpop" => mpop(name, args, reply),
        _ => verbatim(),
    }
}

/// LMPOP/BLMPOP/ZMPOP/BZMPOP as the plain pop of the key and count they took.
fn mpop(name: &str, args: &[Bytes], reply: &[u8]) -> Vec<Vec<Bytes>> {
    let Some(R::Arr(v)) = parse(reply) else { return Vec::new() };
    let mut it = v.into_iter();
    let (Some(R::Bulk(key)), Some(R::Arr(items))) = (it.next(), it.next()) else { return Vec::new() };
    // The direction word follows the keys: numkeys is at 1 (LMPOP/ZMPOP) or 2.
    let numkeys_at = if name.starts_with('b') { 2 } else { 1 };
    let nk = args.get(numkeys_at).and_then(|n| crate::util::parse_i64(n)).unwrap_or(0).max(0) as usize;
    let dir = args.get(numkeys_at + 1 + nk).map(|d| d.to_ascii_uppercase()).unwrap_or_default();
    let verb = match (name.contains('z'), dir.as_slice()) {
        (false, b"LEFT") => "LPOP",
        (false, _) => "RPOP",
        (true, b"MIN") => "ZPOPMIN",
        (true, _) => "ZPOPMAX",
    };
    vec![vec![b(verb), Bytes::from(key), num(items.len() as i64)]]
}

/// A reply, as far as the rewrites read it.
enum R {
    Bulk(Vec<u8>),
    Arr(Vec<R>),
    Other,
}

impl R {
    fn into_bulk(self) -> Option<Vec<u8>> {
        match self {
            R::Bulk(v) => Some(v),
            _ => None,
        }
    }

    fn first_bulk(self) -> Option<Vec<u8>> {
        match self {
            R::Arr(v) => v.into_iter().next().and_then(R::into_bulk),
            _ => None,
        }
    }
}

/// Parses one RESP2/RESP3 reply (maps read as flat arrays).
fn parse(buf: &[u8]) -> Option<R> {
    let mut pos = 0;
    parse_at(buf, &mut pos)
}

fn parse_at(buf: &[u8], pos: &mut usize) -> Option<R> {
    let rest = buf.get(*pos..)?;
    let end = rest.windows(2).position(|w| w == b"\r\n")?;
    let line = &rest[1..end];
    let kind = *rest.first()?;
    *pos += end + 2;
    let n = || crate::util::parse_i64(line);
    match kind {
        b'$' | b'=' => {
            let len = usize::try_from(n()?).ok();
            let Some(len) = len else { return Some(R::Other) };
            let data = buf.get(*pos..*pos + len)?.to_vec();
            *pos += len + 2;
            Some(R::Bulk(data))
        }
        b'+' => Some(R::Bulk(line.to_vec())),
        b'*' | b'~' | b'>' | b'%' => {
            let Ok(count) = usize::try_from(n()?) else { return Some(R::Other) };
            let count = if kind == b'%' { count * 2 } else { count };
            let mut v = Vec::with_capacity(count.min(1024));
            for _ in 0..count {
                v.push(parse_at(buf, pos)?);
            }
            Some(R::Arr(v))
        }
        _ => Some(R::Other),
    }
}
