//! List commands: LPUSH/RPUSH/LPUSHX/RPUSHX, LPOP/RPOP, LLEN, LRANGE, LINDEX,
//! LSET, LINSERT, LREM, LTRIM, LPOS, LMOVE, RPOPLPUSH and LMPOP, with Redis
//! 7.0's replies and errors (including the order in which arguments, key
//! existence and type are checked).
//!
//! The blocking variants (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP) are built on
//! the public helpers here: `pop_reply`, `mpop_reply`, `move_element`,
//! `parse_mpop` and `parse_where`. Each helper either writes a complete reply
//! (success or WRONGTYPE) and returns true, or writes nothing and returns false
//! when there is nothing to pop, so that a blocking caller can block instead.

use super::{err, Ctx, Handler};
use crate::commands::strings::cstr;
use crate::resp::Reply;
use crate::server::notify;
use crate::storage::list::{Item, List, Needle};
use crate::storage::Value;
use crate::util::eq_ic;
use bytes::Bytes;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("lpush", lpush),
    ("rpush", rpush),
    ("lpushx", lpushx),
    ("rpushx", rpushx),
    ("lpop", lpop),
    ("rpop", rpop),
    ("llen", llen),
    ("lrange", lrange),
    ("lindex", lindex),
    ("lset", lset),
    ("linsert", linsert),
    ("lrem", lrem),
    ("ltrim", ltrim),
    ("lpos", lpos),
    ("lmove", lmove),
    ("rpoplpush", rpoplpush),
    ("lmpop", lmpop),
];

const POSITIVE: &str = "ERR value is out of range, must be positive";
const OUT_OF_RANGE: &str = "ERR index out of range";

// ---------------------------------------------------------------------------
// Lookups and replies
// ---------------------------------------------------------------------------

/// What a key holds, seen as a list.
enum Found<'c> {
    Missing,
    WrongType,
    List(&'c mut List),
}

/// Looks `key` up as a list, together with the reply writer (so elements are
/// replied straight from the list). `read` counts a keyspace hit or miss, as
/// Redis's read lookups do; write lookups do not.
fn find<'c>(ctx: &'c mut Ctx, key: &[u8], read: bool) -> (Found<'c>, &'c mut Reply) {
    ctx.notify_lookup(key, read);
    let now = ctx.now;
    let dbi = ctx.client.db;
    let srv = &mut *ctx.srv;
    let e = srv.dbs[dbi].get(key, now);
    if read {
        if e.is_some() {
            srv.stats.keyspace_hits += 1;
        } else {
            srv.stats.keyspace_misses += 1;
        }
    }
    let f = match e {
        None => Found::Missing,
        Some(e) => match &mut e.value {
            Value::List(l) => Found::List(l),
            _ => Found::WrongType,
        },
    };
    (f, &mut *ctx.out)
}

#[inline]
fn reply_item(out: &mut Reply, it: Item) {
    match it {
        Item::Int(n) => out.bulk_int(n),
        Item::Str(s) => out.bulk(s),
    }
}

/// Redis's index normalization: negative counts from the tail. None when out of range.
fn norm_index(i: i64, len: usize) -> Option<usize> {
    let len = len as i64;
    let i = if i < 0 { len + i } else { i };
    (0..len).contains(&i).then_some(i as usize)
}

/// An inclusive range clipped as LRANGE/LTRIM do: (start, count), count 0 when empty.
fn clip_range(start: i64, end: i64, len: usize) -> (usize, usize) {
    let llen = len as i64;
    let mut s = if start < 0 { llen + start } else { start };
    let mut e = if end < 0 { llen + end } else { end };
    if s < 0 {
        s = 0;
    }
    if s > e || s >= llen {
        return (0, 0);
    }
    if e >= llen {
        e = llen - 1;
    }
    (s as usize, (e - s + 1) as usize)
}

/// Deletes `key` (and notifies `del`) when its list has become empty.
fn delete_if_empty(ctx: &mut Ctx, key: &[u8]) {
    let now = ctx.now;
    let db = ctx.db();
    if let Some(e) = db.get(key, now) {
        if matches!(&e.value, Value::List(l) if l.is_empty()) {
            db.remove(key);
            ctx.notify(notify::GENERIC, "del", key);
        }
    }
}

/// The event of a push at the head (`lpush`) or the tail (`rpush`).
pub fn push_event(front: bool) -> &'static str {
    if front {
        "lpush"
    } else {
        "rpush"
    }
}

/// The event of a pop from the head (`lpop`) or the tail (`rpop`).
pub fn pop_event(left: bool) -> &'static str {
    if left {
        "lpop"
    } else {
        "rpop"
    }
}

/// Parses LEFT/RIGHT (true for LEFT), replying a syntax error otherwise.
pub fn parse_where(ctx: &mut Ctx, a: &[u8]) -> Option<bool> {
    let a = cstr(a);
    if eq_ic(a, b"left") {
        Some(true)
    } else if eq_ic(a, b"right") {
        Some(false)
    } else {
        ctx.syntax();
        None
    }
}

// ---------------------------------------------------------------------------
// Pushes
// ---------------------------------------------------------------------------

/// Pushes `vals` (in order) onto the list at `key`, at the head when `front`,
/// creating the list when the key is missing (unless `only_existing`).
/// Returns the new length (0 when missing and `only_existing`), or None when
/// the key holds another type (nothing replied). Counts one change per element
/// and signals blocked clients; the caller notifies the push (`push_event`).
pub fn push_values<'v>(
    ctx: &mut Ctx,
    key: &[u8],
    vals: impl ExactSizeIterator<Item = &'v [u8]>,
    front: bool,
    only_existing: bool,
) -> Option<usize> {
    let n = vals.len();
    let (fill, depth) = (ctx.srv.config.list_max_listpack_size, ctx.srv.config.list_compress_depth);
    let now = ctx.now;
    let db = ctx.db();
    let len = match db.get(key, now) {
        Some(e) => match &mut e.value {
            Value::List(l) => {
                for v in vals {
                    l.push(v, front);
                }
                l.len()
            }
            _ => return None,
        },
        None => {
            if only_existing {
                return Some(0);
            }
            let mut l = List::new(fill, depth);
            for v in vals {
                l.push(v, front);
            }
            let len = l.len();
            db.add(key, Value::from(l), now);
            len
        }
    };
    ctx.dirty(n as u64);
    ctx.key_ready(key);
    Some(len)
}

fn push_generic(ctx: &mut Ctx, args: &[Bytes], front: bool, xx: bool) {
    match push_values(ctx, &args[1], args[2..].iter().map(|a| &a[..]), front, xx) {
        Some(len) => {
            ctx.notify_flush();
            ctx.out.int(len as i64);
            if len > 0 {
                ctx.notify(notify::LIST, push_event(front), &args[1]);
            }
        }
        None => ctx.wrongtype(),
    }
}

fn lpush(ctx: &mut Ctx, args: &[Bytes]) {
    push_generic(ctx, args, true, false);
}

fn rpush(ctx: &mut Ctx, args: &[Bytes]) {
    push_generic(ctx, args, false, false);
}

fn lpushx(ctx: &mut Ctx, args: &[Bytes]) {
    push_generic(ctx, args, true, true);
}

fn rpushx(ctx: &mut Ctx, args: &[Bytes]) {
    push_generic(ctx, args, false, true);
}

// ---------------------------------------------------------------------------
// Pops and moves (shared with the blocking commands)
// ---------------------------------------------------------------------------

/// Pops from the list at `key`, at the head when `left`, and replies.
///
/// * `count` None: one element, replied as a bulk string (LPOP, RPOP);
///   `Some(n)`, n >= 1: up to n elements as an array (LPOP with count, LMPOP).
/// * `with_key`: the reply is `[key, <what above>]` (BLPOP, LMPOP, BLMPOP).
///
/// Returns false, replying nothing, when the key is missing (or an empty list),
/// so a blocking caller can block. A key of another type gets WRONGTYPE
/// (and true). Deletes the key once emptied and counts the changes.
pub fn pop_reply(ctx: &mut Ctx, key: &[u8], left: bool, count: Option<usize>, with_key: bool) -> bool {
    let (found, out) = find(ctx, key, false);
    let l = match found {
        Found::Missing => return false,
        Found::List(l) if l.is_empty() => return false,
        Found::List(l) => l,
        Found::WrongType => {
            ctx.wrongtype();
            return true;
        }
    };
    if with_key {
        out.array_len(2);
        out.bulk(key);
    }
    let removed = match count {
        None => {
            if let Some(it) = l.end(left) {
                reply_item(out, it);
            }
            l.pop(left);
            1
        }
        Some(n) => {
            let n = n.min(l.len());
            out.array_len(n);
            let from = if left { 0 } else { l.len() - 1 };
            l.iter_from(from, left).limit(n).for_each(|x| reply_item(out, x));
            let start = if left { 0 } else { l.len() - n };
            l.remove_range(start, n);
            n
        }
    };
    let emptied = l.is_empty();
    if emptied {
        ctx.db().remove(key);
    }
    ctx.dirty(removed as u64);
    ctx.notify(notify::LIST, pop_event(left), key);
    if emptied {
        ctx.notify(notify::GENERIC, "del", key);
    }
    true
}

/// Moves one element from `src` (its head when `from_left`) to `dst` (its head
/// when `to_left`), creating `dst` when missing, and replies with the element
/// (LMOVE, RPOPLPUSH, and BLMOVE/BRPOPLPUSH once served).
///
/// Returns false, replying nothing, when `src` is missing, so a blocking caller
/// can block. WRONGTYPE (and true) when `src`, or then `dst`, holds another
/// type; nothing is moved then. Signals clients blocked on `dst`.
pub fn move_element(ctx: &mut Ctx, src: &[u8], dst: &[u8], from_left: bool, to_left: bool) -> bool {
    match find(ctx, src, false).0 {
        Found::Missing => return false,
        Found::List(l) if l.is_empty() => return false,
        Found::List(_) => {}
        Found::WrongType => {
            ctx.wrongtype();
            return true;
        }
    }
    if let Found::WrongType = find(ctx, dst, false).0 {
        ctx.wrongtype();
        return true;
    }
    let Found::List(l) = find(ctx, src, false).0 else { return false };
    let Some(v) = l.pop(from_left) else { return false };
    let emptied = l.is_empty();
    // With src == dst the element goes back into the same list, which then
    // is not empty: only a different source may be deleted.
    if emptied && src != dst {
        ctx.db().remove(src);
    }
    let _ = push_values(ctx, dst, std::iter::once(&v[..]), to_left, false);
    // As Redis: the push, the reply, then the pop (and the deletion).
    ctx.notify(notify::LIST, push_event(to_left), dst);
    ctx.out.bulk(&v);
    ctx.notify(notify::LIST, pop_event(from_left), src);
    if emptied && src != dst {
        ctx.notify(notify::GENERIC, "del", src);
    }
    true
}

/// The parsed arguments of LMPOP / BLMPOP.
#[derive(Clone, Debug)]
pub struct MPop {
    /// Positions of the keys in the arguments.
    pub keys: std::ops::Range<usize>,
    /// Pop from the head (LEFT) or the tail (RIGHT).
    pub left: bool,
    /// Elements to pop at most (1 when COUNT is absent).
    pub count: usize,
}

/// Parses `numkeys key [key ...] LEFT|RIGHT [COUNT count]` starting at
/// `args[numkeys_idx]` (1 for LMPOP, 2 for BLMPOP), replying Redis's error when
/// the arguments are invalid.
pub fn parse_mpop(ctx: &mut Ctx, args: &[Bytes], numkeys_idx: usize) -> Option<MPop> {
    const NUMKEYS: &str = "ERR numkeys should be greater than 0";
    const COUNT: &str = "ERR count should be greater than 0";
    let numkeys = match crate::util::parse_i64(&args[numkeys_idx]) {
        Some(n) if n >= 1 => n as u64,
        _ => {
            ctx.err(NUMKEYS);
            return None;
        }
    };
    let where_idx = numkeys_idx as u64 + numkeys + 1;
    if where_idx >= args.len() as u64 {
        ctx.syntax();
        return None;
    }
    let where_idx = where_idx as usize;
    let left = parse_where(ctx, &args[where_idx])?;
    let mut count: Option<usize> = None;
    let mut j = where_idx + 1;
    while j < args.len() {
        let more = j + 1 < args.len();
        if count.is_none() && more && eq_ic(cstr(&args[j]), b"count") {
            j += 1;
            match crate::util::parse_i64(&args[j]) {
                Some(n) if n >= 1 => count = Some(n as usize),
                _ => {
                    ctx.err(COUNT);
                    return None;
                }
            }
        } else {
            ctx.syntax();
            return None;
        }
        j += 1;
    }
    Some(MPop { keys: numkeys_idx + 1..where_idx, left, count: count.unwrap_or(1) })
}

/// Pops from the first non-empty list among the keys of `m`, replying
/// `[key, [elements]]`. Returns false, replying nothing, when every key is
/// missing; WRONGTYPE (and true) on the first key of another type met before
/// a non-empty list.
pub fn mpop_reply(ctx: &mut Ctx, args: &[Bytes], m: &MPop) -> bool {
    for k in m.keys.clone() {
        if pop_reply(ctx, &args[k], m.left, Some(m.count), true) {
            return true;
        }
    }
    false
}

fn pop_generic(ctx: &mut Ctx, args: &[Bytes], left: bool) {
    if args.len() > 3 {
        let msg = format!("ERR wrong number of arguments for '{}' command", ctx.cmd.name);
        ctx.err(&msg);
        return;
    }
    let count = match args.get(2) {
        None => None,
        Some(a) => match crate::util::parse_i64(a) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => {
                ctx.err(POSITIVE);
                return;
            }
        },
    };
    let key = &args[1];
    if count == Some(0) {
        match find(ctx, key, false) {
            (Found::Missing, out) => out.null_array(),
            (Found::WrongType, _) => ctx.wrongtype(),
            (Found::List(_), out) => out.array_len(0),
        }
        return;
    }
    if !pop_reply(ctx, key, left, count, false) {
        if count.is_some() {
            ctx.out.null_array();
        } else {
            ctx.out.null();
        }
    }
}

fn lpop(ctx: &mut Ctx, args: &[Bytes]) {
    pop_generic(ctx, args, true);
}

fn rpop(ctx: &mut Ctx, args: &[Bytes]) {
    pop_generic(ctx, args, false);
}

fn lmove(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(from_left) = parse_where(ctx, &args[3]) else { return };
    let Some(to_left) = parse_where(ctx, &args[4]) else { return };
    if !move_element(ctx, &args[1], &args[2], from_left, to_left) {
        ctx.out.null();
    }
}

fn rpoplpush(ctx: &mut Ctx, args: &[Bytes]) {
    if !move_element(ctx, &args[1], &args[2], false, true) {
        ctx.out.null();
    }
}

fn lmpop(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(m) = parse_mpop(ctx, args, 1) else { return };
    if !mpop_reply(ctx, args, &m) {
        ctx.out.null_array();
    }
}

// ---------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------

fn llen(ctx: &mut Ctx, args: &[Bytes]) {
    match find(ctx, &args[1], true) {
        (Found::Missing, out) => out.int(0),
        (Found::WrongType, _) => ctx.wrongtype(),
        (Found::List(l), out) => out.int(l.len() as i64),
    }
}

fn lrange(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(start) = ctx.int_arg(&args[2]) else { return };
    let Some(end) = ctx.int_arg(&args[3]) else { return };
    match find(ctx, &args[1], true) {
        (Found::Missing, out) => out.array_len(0),
        (Found::WrongType, _) => ctx.wrongtype(),
        (Found::List(l), out) => {
            let (s, n) = clip_range(start, end, l.len());
            out.array_len(n);
            l.iter_from(s, true).limit(n).for_each(|x| reply_item(out, x));
        }
    }
}

fn lindex(ctx: &mut Ctx, args: &[Bytes]) {
    // The key is looked up before the index is parsed (a missing key gives nil).
    let index = crate::util::parse_i64(&args[2]);
    match find(ctx, &args[1], true) {
        (Found::Missing, out) => out.null(),
        (Found::WrongType, _) => ctx.wrongtype(),
        (Found::List(l), out) => match index {
            None => ctx.err(err::NOT_INT),
            Some(i) => {
                // An index out of range gives an empty cursor.
                let mut it = l.iter_from(norm_index(i, l.len()).unwrap_or(usize::MAX), true);
                match it.next_item() {
                    Some(x) => reply_item(out, x),
                    None => out.null(),
                }
            }
        },
    }
}

fn lpos(ctx: &mut Ctx, args: &[Bytes]) {
    let mut rank: i64 = 1;
    let mut count: i64 = -1; // -1: COUNT not given
    let mut maxlen: i64 = 0;
    let mut j = 3;
    while j < args.len() {
        let opt = cstr(&args[j]);
        let more = j + 1 < args.len();
        if eq_ic(opt, b"rank") && more {
            j += 1;
            let Some(r) = ctx.int_arg(&args[j]) else { return };
            if r == 0 {
                ctx.err("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list");
                return;
            }
            rank = r;
        } else if eq_ic(opt, b"count") && more {
            j += 1;
            match crate::util::parse_i64(&args[j]) {
                Some(c) if c >= 0 => count = c,
                _ => {
                    ctx.err("ERR COUNT can't be negative");
                    return;
                }
            }
        } else if eq_ic(opt, b"maxlen") && more {
            j += 1;
            match crate::util::parse_i64(&args[j]) {
                Some(m) if m >= 0 => maxlen = m,
                _ => {
                    ctx.err("ERR MAXLEN can't be negative");
                    return;
                }
            }
        } else {
            ctx.syntax();
            return;
        }
        j += 1;
    }
    // A negative rank searches from the tail. As in Redis, the negation of
    // i64::MIN wraps (it stays negative, so every match qualifies).
    let from_tail = rank < 0;
    if from_tail {
        rank = rank.wrapping_neg();
    }
    let (found, out) = find(ctx, &args[1], true);
    let l = match found {
        Found::Missing => {
            if count != -1 {
                out.array_len(0);
            } else {
                out.null();
            }
            return;
        }
        Found::WrongType => {
            ctx.wrongtype();
            return;
        }
        Found::List(l) => l,
    };
    let needle = Needle::new(&args[2]);
    let llen = l.len() as i64;
    let mut iter = if from_tail { l.iter_from(l.len().saturating_sub(1), false) } else { l.iter() };
    let mut hits: Vec<i64> = Vec::new();
    let mut single: Option<i64> = None;
    let mut matches: i64 = 0;
    let mut index: i64 = -1;
    while let Some(it) = iter.next_item() {
        index += 1;
        if maxlen != 0 && index >= maxlen {
            break;
        }
        if !it.matches(&needle) {
            continue;
        }
        matches += 1;
        if matches < rank {
            continue;
        }
        let at = if from_tail { llen - index - 1 } else { index };
        if count == -1 {
            single = Some(at);
            break;
        }
        hits.push(at);
        if count != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= count {
            break;
        }
    }
    if count != -1 {
        out.array_len(hits.len());
        for h in hits {
            out.int(h);
        }
    } else {
        match single {
            Some(i) => out.int(i),
            None => out.null(),
        }
    }
}

// ---------------------------------------------------------------------------
// Edits
// ---------------------------------------------------------------------------

fn lset(ctx: &mut Ctx, args: &[Bytes]) {
    let (found, _) = find(ctx, &args[1], false);
    match found {
        Found::Missing => return ctx.err(err::NO_SUCH_KEY),
        Found::WrongType => return ctx.wrongtype(),
        Found::List(_) => {}
    }
    let Some(index) = ctx.int_arg(&args[2]) else { return };
    let Found::List(l) = find(ctx, &args[1], false).0 else { return };
    let done = norm_index(index, l.len()).is_some_and(|i| l.set(i, &args[3]));
    if !done {
        return ctx.err(OUT_OF_RANGE);
    }
    ctx.dirty(1);
    ctx.out.ok();
    ctx.notify(notify::LIST, "lset", &args[1]);
}

fn linsert(ctx: &mut Ctx, args: &[Bytes]) {
    let w = cstr(&args[2]);
    let after = if eq_ic(w, b"after") {
        true
    } else if eq_ic(w, b"before") {
        false
    } else {
        return ctx.syntax();
    };
    let (found, out) = find(ctx, &args[1], false);
    let l = match found {
        Found::Missing => return out.int(0),
        Found::WrongType => return ctx.wrongtype(),
        Found::List(l) => l,
    };
    let Some(pos) = l.position(&args[3]) else { return out.int(-1) };
    l.insert(if after { pos + 1 } else { pos }, &args[4]);
    let len = l.len();
    ctx.dirty(1);
    ctx.key_ready(&args[1]);
    ctx.notify(notify::LIST, "linsert", &args[1]);
    ctx.out.int(len as i64);
}

fn lrem(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(count) = ctx.int_arg(&args[2]) else { return };
    let (found, out) = find(ctx, &args[1], false);
    let l = match found {
        Found::Missing => return out.int(0),
        Found::WrongType => return ctx.wrongtype(),
        Found::List(l) => l,
    };
    // As in Redis, a count of i64::MIN negates to itself and never limits.
    let limit = if count == i64::MIN { 0 } else { count.unsigned_abs() as usize };
    let removed = l.remove_matching(&args[3], limit, count < 0);
    if removed > 0 {
        ctx.notify(notify::LIST, "lrem", &args[1]);
    }
    delete_if_empty(ctx, &args[1]);
    ctx.dirty(removed as u64);
    ctx.out.int(removed as i64);
}

fn ltrim(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(start) = ctx.int_arg(&args[2]) else { return };
    let Some(end) = ctx.int_arg(&args[3]) else { return };
    let (found, out) = find(ctx, &args[1], false);
    let l = match found {
        Found::Missing => return out.ok(),
        Found::WrongType => return ctx.wrongtype(),
        Found::List(l) => l,
    };
    let len = l.len();
    let (s, n) = clip_range(start, end, len);
    let (ltrim, rtrim) = if n == 0 { (len, 0) } else { (s, len - s - n) };
    l.remove_range(0, ltrim);
    let left = l.len();
    l.remove_range(left - rtrim, rtrim);
    ctx.notify(notify::LIST, "ltrim", &args[1]);
    delete_if_empty(ctx, &args[1]);
    ctx.dirty((ltrim + rtrim) as u64);
    ctx.out.ok();
}
