//! Hash commands: HSET/HMSET, HSETNX, HGET, HMGET, HDEL, HLEN, HSTRLEN,
//! HEXISTS, HKEYS, HVALS, HGETALL, HINCRBY, HINCRBYFLOAT, HRANDFIELD and HSCAN,
//! with Redis 7.0's replies, errors, RESP3 shapes and encoding conversions
//! (the conversions themselves live in `storage::hash`).

use super::strings::ld;
use super::{err, Ctx, Handler};
use crate::resp::Reply;
use crate::server::notify;
use crate::storage::glob::glob_match;
use crate::storage::hash::{Hash, Item, Limits};
use crate::storage::{SBytes, Value};
use crate::util::eq_ic;
use bytes::Bytes;
use rand::rngs::SmallRng;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("hset", hset),
    ("hmset", hmset),
    ("hsetnx", hsetnx),
    ("hget", hget),
    ("hmget", hmget),
    ("hdel", hdel),
    ("hlen", hlen),
    ("hstrlen", hstrlen),
    ("hexists", hexists),
    ("hkeys", hkeys),
    ("hvals", hvals),
    ("hgetall", hgetall),
    ("hincrby", hincrby),
    ("hincrbyfloat", hincrbyfloat),
    ("hrandfield", hrandfield),
    ("hscan", hscan),
];

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// What a key holds, as far as hash commands care.
enum Got<'c> {
    Missing,
    Wrong,
    Hash(&'c mut Hash),
}

/// A looked-up key together with the reply writer and the random generator
/// (disjoint parts of the context, usable at the same time).
struct View<'c> {
    got: Got<'c>,
    out: &'c mut Reply,
    rng: &'c mut SmallRng,
}

/// Looks `key` up; `read` counts a keyspace hit or miss (read commands).
fn lookup<'c>(ctx: &'c mut Ctx, key: &[u8], read: bool) -> View<'c> {
    ctx.notify_lookup(key, read);
    let now = ctx.now;
    let db = ctx.client.db;
    let srv = &mut *ctx.srv;
    let e = srv.dbs[db].get(key, now);
    if read {
        if e.is_some() {
            srv.stats.keyspace_hits += 1;
        } else {
            srv.stats.keyspace_misses += 1;
        }
    }
    let got = match e {
        None => Got::Missing,
        Some(e) => match &mut e.value {
            Value::Hash(h) => Got::Hash(h),
            _ => Got::Wrong,
        },
    };
    View { got, out: &mut *ctx.out, rng: &mut srv.rng }
}

/// The listpack thresholds currently configured.
fn limits(ctx: &Ctx) -> Limits {
    Limits { max_entries: ctx.srv.config.hash_max_listpack_entries, max_value: ctx.srv.config.hash_max_listpack_value }
}

/// Runs `f` on the hash at `key`, or on a new hash when the key is missing
/// (stored only if `f` leaves it non-empty). None after replying WRONGTYPE.
fn write<R>(ctx: &mut Ctx, key: &[u8], f: impl FnOnce(&mut Hash) -> R) -> Option<R> {
    match lookup(ctx, key, false).got {
        Got::Hash(h) => Some(f(h)),
        Got::Wrong => {
            ctx.wrongtype();
            None
        }
        Got::Missing => {
            let mut h = Hash::new();
            let r = f(&mut h);
            if !h.is_empty() {
                let now = ctx.now;
                ctx.db().add(key, Value::from(h), now);
            }
            Some(r)
        }
    }
}

/// Replies with one element as a bulk string.
fn bulk_item(out: &mut Reply, it: Item) {
    match it {
        Item::Str(s) => out.bulk(s),
        Item::Int(n) => out.bulk_int(n),
    }
}

// ---------------------------------------------------------------------------
// Writes
// ---------------------------------------------------------------------------

fn hset_generic(ctx: &mut Ctx, args: &[Bytes], is_hset: bool) {
    if args.len() % 2 == 1 {
        let msg = format!("ERR wrong number of arguments for '{}' command", ctx.cmd.name);
        ctx.err(&msg);
        return;
    }
    let lim = limits(ctx);
    let Some(created) = write(ctx, &args[1], |h| {
        let mut created = 0;
        for p in args[2..].chunks_exact(2) {
            created += h.set(&p[0], &p[1], lim) as i64;
        }
        created
    }) else {
        return;
    };
    ctx.dirty(((args.len() - 2) / 2) as u64);
    ctx.notify_flush();
    if is_hset {
        ctx.out.int(created);
    } else {
        ctx.out.ok();
    }
    ctx.notify(notify::HASH, "hset", &args[1]);
}

fn hset(ctx: &mut Ctx, args: &[Bytes]) {
    hset_generic(ctx, args, true);
}

fn hmset(ctx: &mut Ctx, args: &[Bytes]) {
    hset_generic(ctx, args, false);
}

fn hsetnx(ctx: &mut Ctx, args: &[Bytes]) {
    let lim = limits(ctx);
    let Some(added) = write(ctx, &args[1], |h| !h.contains(&args[2]) && h.set(&args[2], &args[3], lim)) else {
        return;
    };
    if added {
        ctx.dirty(1);
    }
    ctx.notify_flush();
    ctx.out.int(added as i64);
    if added {
        ctx.notify(notify::HASH, "hset", &args[1]);
    }
}

fn hdel(ctx: &mut Ctx, args: &[Bytes]) {
    let key = &args[1];
    let v = lookup(ctx, key, false);
    let (deleted, emptied) = match v.got {
        Got::Missing => (0, false),
        Got::Wrong => {
            ctx.wrongtype();
            return;
        }
        Got::Hash(h) => {
            let mut deleted = 0;
            for f in &args[2..] {
                if h.delete(f) {
                    deleted += 1;
                    if h.is_empty() {
                        break;
                    }
                }
            }
            (deleted, h.is_empty())
        }
    };
    if emptied {
        ctx.db().remove(key);
    }
    ctx.dirty(deleted as u64);
    if deleted > 0 {
        ctx.notify(notify::HASH, "hdel", key);
        if emptied {
            ctx.notify(notify::GENERIC, "del", key);
        }
    }
    ctx.out.int(deleted);
}

fn hincrby(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(incr) = ctx.int_arg(&args[3]) else { return };
    let lim = limits(ctx);
    let field = &args[2];
    let res = write(ctx, &args[1], |h| {
        let cur = match h.get(field) {
            None => 0,
            Some(Item::Int(n)) => n,
            Some(Item::Str(s)) => match crate::util::parse_i64(s) {
                Some(n) => n,
                None => return Err("ERR hash value is not an integer"),
            },
        };
        let new = cur.checked_add(incr).ok_or(err::OVERFLOW)?;
        h.set(field, itoa::Buffer::new().format(new).as_bytes(), lim);
        Ok(new)
    });
    match res {
        None => {}
        Some(Err(e)) => ctx.err(e),
        Some(Ok(n)) => {
            ctx.dirty(1);
            ctx.notify_flush();
            ctx.out.int(n);
            ctx.notify(notify::HASH, "hincrby", &args[1]);
        }
    }
}

fn hincrbyfloat(ctx: &mut Ctx, args: &[Bytes]) {
    let incr = &args[3];
    // The increment alone (0 + incr) validates it as Redis does before the lookup,
    // and is the result when the field does not exist.
    let alone = match ld::add(b"0", incr) {
        Ok(s) => s,
        Err(ld::AddError::NotFinite) => {
            ctx.err("ERR value is NaN or Infinity");
            return;
        }
        Err(_) => {
            ctx.err(err::NOT_FLOAT);
            return;
        }
    };
    let lim = limits(ctx);
    let field = &args[2];
    let res = write(ctx, &args[1], |h| {
        let sum = match h.get(field) {
            None => alone,
            Some(cur) => {
                let mut nb = itoa::Buffer::new();
                match ld::add(cur.bytes(&mut nb), incr) {
                    Ok(s) => s,
                    Err(ld::AddError::BadValue) => return Err("ERR hash value is not a float"),
                    Err(ld::AddError::NotFinite) => return Err("ERR increment would produce NaN or Infinity"),
                    Err(ld::AddError::BadIncrement) => return Err(err::NOT_FLOAT),
                }
            }
        };
        h.set(field, &sum, lim);
        Ok(sum)
    });
    match res {
        None => {}
        Some(Err(e)) => ctx.err(e),
        Some(Ok(s)) => {
            ctx.dirty(1);
            ctx.notify_flush();
            ctx.out.bulk(&s);
            ctx.notify(notify::HASH, "hincrbyfloat", &args[1]);
        }
    }
}

// ---------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------

fn hget(ctx: &mut Ctx, args: &[Bytes]) {
    let v = lookup(ctx, &args[1], true);
    match v.got {
        Got::Missing => v.out.null(),
        Got::Wrong => ctx.wrongtype(),
        Got::Hash(h) => match h.get(&args[2]) {
            Some(it) => bulk_item(v.out, it),
            None => v.out.null(),
        },
    }
}

fn hmget(ctx: &mut Ctx, args: &[Bytes]) {
    let v = lookup(ctx, &args[1], true);
    let h = match v.got {
        Got::Missing => None,
        Got::Wrong => {
            ctx.wrongtype();
            return;
        }
        Got::Hash(h) => Some(h),
    };
    v.out.array_len(args.len() - 2);
    for f in &args[2..] {
        match h.as_ref().and_then(|h| h.get(f)) {
            Some(it) => bulk_item(v.out, it),
            None => v.out.null(),
        }
    }
}

/// Commands replying with an integer about a field or the hash (0 when missing).
fn int_reply(ctx: &mut Ctx, key: &[u8], f: impl FnOnce(&Hash) -> i64) {
    let v = lookup(ctx, key, true);
    match v.got {
        Got::Missing => v.out.int(0),
        Got::Wrong => ctx.wrongtype(),
        Got::Hash(h) => v.out.int(f(h)),
    }
}

fn hlen(ctx: &mut Ctx, args: &[Bytes]) {
    int_reply(ctx, &args[1], |h| h.len() as i64);
}

fn hstrlen(ctx: &mut Ctx, args: &[Bytes]) {
    int_reply(ctx, &args[1], |h| h.get(&args[2]).map_or(0, |it| it.len() as i64));
}

fn hexists(ctx: &mut Ctx, args: &[Bytes]) {
    int_reply(ctx, &args[1], |h| h.contains(&args[2]) as i64);
}

/// HKEYS, HVALS and HGETALL.
fn getall_generic(ctx: &mut Ctx, key: &[u8], keys: bool, vals: bool) {
    let v = lookup(ctx, key, true);
    let h = match v.got {
        Got::Missing => {
            if keys && vals {
                v.out.map_len(0);
            } else {
                v.out.array_len(0);
            }
            return;
        }
        Got::Wrong => {
            ctx.wrongtype();
            return;
        }
        Got::Hash(h) => h,
    };
    if keys && vals {
        v.out.map_len(h.len());
    } else {
        v.out.array_len(h.len());
    }
    for (f, val) in h.iter() {
        if keys {
            bulk_item(v.out, f);
        }
        if vals {
            bulk_item(v.out, val);
        }
    }
}

fn hkeys(ctx: &mut Ctx, args: &[Bytes]) {
    getall_generic(ctx, &args[1], true, false);
}

fn hvals(ctx: &mut Ctx, args: &[Bytes]) {
    getall_generic(ctx, &args[1], false, true);
}

fn hgetall(ctx: &mut Ctx, args: &[Bytes]) {
    getall_generic(ctx, &args[1], true, true);
}

// ---------------------------------------------------------------------------
// HRANDFIELD
// ---------------------------------------------------------------------------

fn hrandfield(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() >= 3 {
        let Some(l) = ctx.int_arg(&args[2]) else { return };
        if l < -i64::MAX {
            ctx.err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
            return;
        }
        let withvalues = args.len() == 4;
        if args.len() > 4 || (withvalues && !eq_ic(&args[3], b"withvalues")) {
            ctx.syntax();
            return;
        }
        if withvalues && !(-i64::MAX / 2..=i64::MAX / 2).contains(&l) {
            ctx.err("ERR value is out of range");
            return;
        }
        hrandfield_count(ctx, &args[1], l, withvalues);
        return;
    }
    let v = lookup(ctx, &args[1], true);
    match v.got {
        Got::Missing => v.out.null(),
        Got::Wrong => ctx.wrongtype(),
        Got::Hash(h) => match h.random(v.rng) {
            Some((f, _)) => bulk_item(v.out, f),
            None => v.out.null(),
        },
    }
}

/// HRANDFIELD with a count: distinct fields for a positive count, independent
/// picks for a negative one. With values, RESP2 gets a flat array and RESP3
/// an array of [field, value] pairs.
fn hrandfield_count(ctx: &mut Ctx, key: &[u8], l: i64, withvalues: bool) {
    let v = lookup(ctx, key, true);
    let h = match v.got {
        Got::Missing => {
            v.out.array_len(0);
            return;
        }
        Got::Wrong => {
            ctx.wrongtype();
            return;
        }
        Got::Hash(h) => h,
    };
    let out = v.out;
    let resp3 = out.resp >= 3;
    let count = l.unsigned_abs() as usize;
    if count == 0 {
        out.array_len(0);
        return;
    }
    let header = |n: usize| if withvalues && !resp3 { n.saturating_mul(2) } else { n };
    let size = h.len();
    if l < 0 || count == 1 {
        out.array_len(header(count));
        h.random_many(v.rng, count, |f, val| emit_pair(out, f, val, withvalues, resp3));
    } else if count >= size {
        out.array_len(header(size));
        for (f, val) in h.iter() {
            emit_pair(out, f, val, withvalues, resp3);
        }
    } else {
        out.array_len(header(count));
        h.random_distinct(v.rng, count, |f, val| emit_pair(out, f, val, withvalues, resp3));
    }
}

/// One HRANDFIELD element: the field, or the field and its value (flat in
/// RESP2, a two-element array in RESP3).
fn emit_pair(out: &mut Reply, f: Item, val: Item, withvalues: bool, resp3: bool) {
    if withvalues && resp3 {
        out.array_len(2);
    }
    bulk_item(out, f);
    if withvalues {
        bulk_item(out, val);
    }
}

// ---------------------------------------------------------------------------
// HSCAN
// ---------------------------------------------------------------------------

/// HSCAN's COUNT and MATCH options, or the error they earn.
fn scan_opts(args: &[Bytes]) -> Result<(i64, Option<&[u8]>), &'static str> {
    let mut count: i64 = 10;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 3;
    while i < args.len() {
        let more = args.len() - i >= 2;
        if eq_ic(&args[i], b"count") && more {
            count = crate::util::parse_i64(&args[i + 1]).ok_or(err::NOT_INT)?;
            if count < 1 {
                return Err(err::SYNTAX);
            }
            i += 2;
        } else if eq_ic(&args[i], b"match") && more {
            let p: &[u8] = &args[i + 1];
            pattern = if p == b"*" { None } else { Some(p) };
            i += 2;
        } else {
            return Err(err::SYNTAX);
        }
    }
    Ok((count, pattern))
}

fn hscan(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(mut cursor) = super::keys::parse_cursor(&args[2]) else {
        ctx.err("ERR invalid cursor");
        return;
    };
    // Options are checked after the lookup, as Redis does: a missing key
    // answers an empty scan whatever follows.
    let opts = scan_opts(args);
    let v = lookup(ctx, &args[1], true);
    let h = match v.got {
        Got::Missing => {
            v.out.array_len(2);
            v.out.bulk(b"0");
            v.out.array_len(0);
            return;
        }
        Got::Wrong => {
            ctx.wrongtype();
            return;
        }
        Got::Hash(h) => h,
    };
    let (count, pattern) = match opts {
        Ok(o) => o,
        Err(e) => {
            ctx.err(e);
            return;
        }
    };
    let mut found: Vec<(SBytes, SBytes)> = Vec::new();
    let mut keep = |f: Item, val: Item| {
        let mut nb = itoa::Buffer::new();
        if let Some(p) = pattern {
            if !glob_match(p, f.bytes(&mut nb), false) {
                return;
            }
        }
        found.push((f.to_sbytes(), val.to_sbytes()));
    };
    if h.is_listpack() {
        cursor = h.scan(cursor, &mut keep);
    } else {
        // Redis counts fields and values (count * 2 elements), visits at most
        // count * 20 + 1 buckets, and filters afterwards.
        let want = count.saturating_mul(2);
        let mut iterations = want.saturating_mul(10);
        let mut elems: i64 = 0;
        loop {
            cursor = h.scan(cursor, |f, val| {
                elems += 2;
                keep(f, val);
            });
            if cursor == 0 || iterations == 0 || elems >= want {
                break;
            }
            iterations -= 1;
        }
    }
    let out = v.out;
    out.array_len(2);
    out.bulk(itoa::Buffer::new().format(cursor).as_bytes());
    out.array_len(found.len() * 2);
    for (f, val) in &found {
        out.bulk(f);
        out.bulk(val);
    }
}
