//! Sorted set commands: ZADD and friends, ranges by rank/score/lex, pops, algebra, ZSCAN.
//!
//! Scores are parsed as Redis 7.0 parses them (`strtod` with its range and
//! NaN rules) and replied as doubles (`%.17g`, RESP3 doubles). The pop logic
//! (`pop_reply`) and the ZMPOP argument parser (`parse_mpop`) are public so that
//! the blocking variants (BZPOPMIN, BZPOPMAX, BZMPOP) are built on them.

use super::strings::cstr;
use super::{err, Ctx, Handler};
use crate::resp::Reply;
use crate::server::notify;
use crate::storage::zset::{AddFlags, AddOutcome, Limits, ZSet};
use crate::storage::{Db, SBytes, Value};
use crate::strtod::{is_c_space, strtod};
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;
use std::cmp::Ordering;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("zadd", zadd),
    ("zincrby", zincrby),
    ("zrem", zrem),
    ("zcard", zcard),
    ("zcount", zcount),
    ("zlexcount", zlexcount),
    ("zscore", zscore),
    ("zmscore", zmscore),
    ("zrank", zrank),
    ("zrevrank", zrevrank),
    ("zrange", zrange),
    ("zrangestore", zrangestore),
    ("zrevrange", zrevrange),
    ("zrangebyscore", zrangebyscore),
    ("zrevrangebyscore", zrevrangebyscore),
    ("zrangebylex", zrangebylex),
    ("zrevrangebylex", zrevrangebylex),
    ("zremrangebyrank", zremrangebyrank),
    ("zremrangebyscore", zremrangebyscore),
    ("zremrangebylex", zremrangebylex),
    ("zpopmin", zpopmin),
    ("zpopmax", zpopmax),
    ("zmpop", zmpop),
    ("zunion", zunion),
    ("zinter", zinter),
    ("zdiff", zdiff),
    ("zunionstore", zunionstore),
    ("zinterstore", zinterstore),
    ("zdiffstore", zdiffstore),
    ("zintercard", zintercard),
    ("zrandmember", zrandmember),
    ("zscan", zscan),
];

const NAN_ERR: &str = "ERR resulting score is not a number (NaN)";
const MINMAX_FLOAT: &str = "ERR min or max is not a float";
const MINMAX_LEX: &str = "ERR min or max not valid string range item";
const NOT_POSITIVE: &str = "ERR value is out of range, must be positive";

/// Parses a score or weight as Redis's `getDoubleFromObject`: the whole
/// argument, no leading space, no NaN, no overflow or underflow to zero.
pub fn parse_score(a: &[u8]) -> Option<f64> {
    if a.is_empty() || is_c_space(a[0]) {
        return None;
    }
    // Redis rejects a range error only when it overflowed or underflowed to
    // zero (a subnormal result is accepted).
    let (v, n, erange) = strtod(a);
    if n != a.len() || (erange && (v.is_infinite() || v == 0.0)) || v.is_nan() {
        None
    } else {
        Some(v)
    }
}

// ---------------------------------------------------------------------------
// Ranges
// ---------------------------------------------------------------------------

/// One end of a lex range: `-`, `+`, or an inclusive/exclusive string.
#[derive(Clone, Copy)]
enum LexBound<'a> {
    Min,
    Max,
    Val(&'a [u8], bool),
}

impl<'a> LexBound<'a> {
    fn parse(a: &'a [u8]) -> Option<Self> {
        match a.first() {
            Some(b'+') if a.len() == 1 || a[1] == 0 => Some(LexBound::Max),
            Some(b'-') if a.len() == 1 || a[1] == 0 => Some(LexBound::Min),
            Some(b'(') => Some(LexBound::Val(&a[1..], true)),
            Some(b'[') => Some(LexBound::Val(&a[1..], false)),
            _ => None,
        }
    }

    fn excl(&self) -> bool {
        match self {
            LexBound::Val(_, ex) => *ex,
            _ => true,
        }
    }
}

/// Redis's `sdscmplex` between two bounds.
fn cmp_bounds(a: &LexBound, b: &LexBound) -> Ordering {
    match (a, b) {
        (LexBound::Min, LexBound::Min) | (LexBound::Max, LexBound::Max) => Ordering::Equal,
        (LexBound::Min, _) | (_, LexBound::Max) => Ordering::Less,
        (LexBound::Max, _) | (_, LexBound::Min) => Ordering::Greater,
        (LexBound::Val(x, _), LexBound::Val(y, _)) => x.cmp(y),
    }
}

/// A score or lex interval, as ZRANGEBYSCORE / ZRANGEBYLEX take them.
#[derive(Clone, Copy)]
enum Range<'a> {
    Score { min: f64, minex: bool, max: f64, maxex: bool },
    Lex { min: LexBound<'a>, max: LexBound<'a> },
}

/// One end of a score range: `(` marks it exclusive; parsed with `strtod`
/// up to the first NUL, leading spaces allowed, empty meaning 0, NaN rejected.
fn parse_score_bound(a: &[u8]) -> Option<(f64, bool)> {
    let a = cstr(a);
    let (ex, body) = match a.first() {
        Some(b'(') => (true, &a[1..]),
        _ => (false, a),
    };
    let (v, n, _) = strtod(body);
    if n != body.len() || v.is_nan() {
        None
    } else {
        Some((v, ex))
    }
}

impl<'a> Range<'a> {
    fn score(min: &[u8], max: &[u8]) -> Option<Range<'a>> {
        let (min, minex) = parse_score_bound(min)?;
        let (max, maxex) = parse_score_bound(max)?;
        Some(Range::Score { min, minex, max, maxex })
    }

    fn lex(min: &'a [u8], max: &'a [u8]) -> Option<Range<'a>> {
        Some(Range::Lex { min: LexBound::parse(min)?, max: LexBound::parse(max)? })
    }

    fn gte_min(&self, s: f64, m: &[u8]) -> bool {
        match self {
            Range::Score { min, minex, .. } => {
                if *minex {
                    s > *min
                } else {
                    s >= *min
                }
            }
            Range::Lex { min, .. } => match min {
                LexBound::Min => true,
                LexBound::Max => false,
                LexBound::Val(b, ex) => {
                    if *ex {
                        m > *b
                    } else {
                        m >= *b
                    }
                }
            },
        }
    }

    fn lte_max(&self, s: f64, m: &[u8]) -> bool {
        match self {
            Range::Score { max, maxex, .. } => {
                if *maxex {
                    s < *max
                } else {
                    s <= *max
                }
            }
            Range::Lex { max, .. } => match max {
                LexBound::Max => true,
                LexBound::Min => false,
                LexBound::Val(b, ex) => {
                    if *ex {
                        m < *b
                    } else {
                        m <= *b
                    }
                }
            },
        }
    }

    /// True for intervals that can hold nothing (min above max, or equal ends
    /// with an exclusive one).
    fn is_void(&self) -> bool {
        match self {
            Range::Score { min, minex, max, maxex } => min > max || (min == max && (*minex || *maxex)),
            Range::Lex { min, max } => {
                let c = cmp_bounds(min, max);
                c == Ordering::Greater || (c == Ordering::Equal && (min.excl() || max.excl()))
            }
        }
    }
}

/// Rank of the first member in the range. (The search itself finds an
/// empty intersection: no `in_range` check, which would read both ends.)
fn first_in(z: &ZSet, r: &Range) -> Option<usize> {
    if r.is_void() || z.is_empty() {
        return None;
    }
    let lo = z.lead(|s, m| !r.gte_min(s, m));
    let (m, s) = z.get(lo)?;
    r.lte_max(s, m).then_some(lo)
}

/// Rank of the last member in the range (see `first_in`).
fn last_in(z: &ZSet, r: &Range) -> Option<usize> {
    if r.is_void() || z.is_empty() {
        return None;
    }
    let hi = z.len() - z.trail(|s, m| !r.lte_max(s, m));
    let (m, s) = z.get(hi.checked_sub(1)?)?;
    r.gte_min(s, m).then_some(hi - 1)
}

/// Members of a range in the given direction after skipping `offset`, at most
/// `limit` of them (negative: no limit), as Redis's ZRANGEBYSCORE/BYLEX.
fn range_items<'z>(z: &'z ZSet, r: &Range, rev: bool, offset: i64, limit: i64) -> Vec<(&'z [u8], f64)> {
    let mut out = Vec::new();
    if offset < 0 || (offset > 0 && offset as u64 >= z.len() as u64) {
        return out;
    }
    let start = if rev { last_in(z, r) } else { first_in(z, r) };
    let Some(start) = start else { return out };
    let offset = offset as usize;
    let pos = if rev {
        match start.checked_sub(offset) {
            Some(p) => p,
            None => return out,
        }
    } else {
        start + offset
    };
    let mut left = limit;
    z.walk(pos, rev, |m, s| {
        if left == 0 {
            return false;
        }
        let ok = if rev { r.gte_min(s, m) } else { r.lte_max(s, m) };
        if !ok {
            return false;
        }
        out.push((m, s));
        if left > 0 {
            left -= 1;
        }
        true
    });
    out
}

/// Normalizes a rank range as Redis does: Some((first rank, count)) or None when empty.
fn rank_span(len: usize, start: i64, end: i64) -> Option<(usize, usize)> {
    let llen = len as i64;
    let (mut s, mut e) = (start, end);
    if s < 0 {
        s += llen;
    }
    if e < 0 {
        e += llen;
    }
    if s < 0 {
        s = 0;
    }
    if s > e || s >= llen {
        return None;
    }
    if e >= llen {
        e = llen - 1;
    }
    Some((s as usize, (e - s + 1) as usize))
}

/// Members of ranks `start..=end` (negative from the end), reversed with `rev`.
fn rank_items(z: &ZSet, start: i64, end: i64, rev: bool) -> Vec<(&[u8], f64)> {
    let mut out = Vec::new();
    let Some((s, n)) = rank_span(z.len(), start, end) else { return out };
    out.reserve(n);
    let pos = if rev { z.len() - 1 - s } else { s };
    z.walk(pos, rev, |m, sc| {
        out.push((m, sc));
        out.len() < n
    });
    out
}

/// Number of members in a range: counted forward in `listpack`, by ranks in `skiplist` (as Redis).
fn count_in(z: &ZSet, r: &Range) -> usize {
    let Some(first) = first_in(z, r) else { return 0 };
    if z.encoding() == "listpack" {
        let mut n = 0;
        z.walk(first, false, |m, s| {
            if r.lte_max(s, m) {
                n += 1;
                true
            } else {
                false
            }
        });
        n
    } else {
        match last_in(z, r) {
            Some(last) => last + 1 - first,
            None => z.len() - first,
        }
    }
}

// ---------------------------------------------------------------------------
// Key access and reply helpers
// ---------------------------------------------------------------------------

/// The conversion thresholds from the configuration.
fn limits(ctx: &Ctx) -> Limits {
    Limits { entries: ctx.srv.config.zset_max_listpack_entries, value: ctx.srv.config.zset_max_listpack_value }
}

/// Option matching as C's `strcasecmp` (the argument up to its first NUL).
#[inline]
fn opt(a: &[u8], name: &[u8]) -> bool {
    eq_ic(cstr(a), name)
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Found {
    Missing,
    ZSet,
    Wrong,
}

/// Looks a key up (for reading: counting a keyspace hit or miss) and says what it holds.
fn probe(ctx: &mut Ctx, key: &[u8], read: bool) -> Found {
    let e = if read { ctx.lookup_read(key) } else { ctx.lookup_write(key) };
    match e {
        None => Found::Missing,
        Some(e) => match e.value {
            Value::ZSet(_) => Found::ZSet,
            _ => Found::Wrong,
        },
    }
}

fn zget<'d>(db: &'d mut Db, key: &[u8]) -> Option<&'d mut ZSet> {
    match db.entry_mut(key) {
        Some(e) => match &mut e.value {
            Value::ZSet(z) => Some(z),
            _ => None,
        },
        None => None,
    }
}

/// Opens a key as a sorted set: Ok((set or None when missing, reply)), or
/// Err after replying WRONGTYPE.
fn open<'c>(ctx: &'c mut Ctx, key: &[u8], read: bool) -> Result<(Option<&'c mut ZSet>, &'c mut Reply), ()> {
    match probe(ctx, key, read) {
        Found::Wrong => {
            ctx.wrongtype();
            Err(())
        }
        Found::Missing => Ok((None, &mut *ctx.out)),
        Found::ZSet => {
            let db = ctx.client.db;
            Ok((zget(&mut ctx.srv.dbs[db], key), &mut *ctx.out))
        }
    }
}

/// Deletes `key` when its set became empty; returns whether it did.
fn drop_if_empty(ctx: &mut Ctx, key: &[u8]) -> bool {
    let db = ctx.client.db;
    if zget(&mut ctx.srv.dbs[db], key).is_some_and(|z| z.is_empty()) {
        ctx.srv.dbs[db].remove(key);
        return true;
    }
    false
}

/// Calls `f` with a score as `%.17g` prints it; integral scores (below 2^52,
/// where that is their plain decimal form) skip the general formatter.
#[inline]
fn score_text<R>(s: f64, f: impl FnOnce(&[u8]) -> R) -> R {
    if s > -4503599627370495.0 && s < 4503599627370496.0 && s == (s as i64) as f64 && (s != 0.0 || s.is_sign_positive())
    {
        f(itoa::Buffer::new().format(s as i64).as_bytes())
    } else {
        f(crate::util::fmt_double_17g(s).as_bytes())
    }
}

/// Writes a score as a double reply (a bulk string in RESP2).
#[inline]
fn score_reply(out: &mut Reply, s: f64) {
    score_text(s, |t| {
        if out.resp >= 3 {
            out.raw(b",");
            out.raw(t);
            out.raw(b"\r\n");
        } else {
            out.bulk(t);
        }
    });
}

/// Writes members (with scores: flat pairs in RESP2, [member, score] arrays in RESP3).
fn reply_items(out: &mut Reply, items: &[(&[u8], f64)], withscores: bool) {
    let resp3 = out.resp >= 3;
    out.array_len(if withscores && !resp3 { items.len() * 2 } else { items.len() });
    for (m, s) in items {
        if withscores && resp3 {
            out.array_len(2);
        }
        out.bulk(m);
        if withscores {
            score_reply(out, *s);
        }
    }
}

/// Stores a computed result at `dst` (replacing any value and TTL) and replies
/// its size; an empty result deletes `dst` instead, as Redis's STORE forms.
/// `event` is the command's notification.
fn store_result(ctx: &mut Ctx, dst: &[u8], items: Vec<(SBytes, f64)>, event: &str) {
    let z = ZSet::from_sorted(items, limits(ctx));
    store_set(ctx, dst, z, event);
}

/// Stores `z` at `dst` (an empty set deletes `dst`: `del`), replies its size,
/// then notifies `event`.
fn store_set(ctx: &mut Ctx, dst: &[u8], z: ZSet, event: &str) {
    let now = ctx.now;
    if z.is_empty() {
        // Deleted without an expiry check, as Redis's dbDelete (a destination
        // whose time passed gets `del`).
        ctx.out.int(0);
        if ctx.db().remove(dst).is_some() {
            ctx.dirty(1);
            ctx.notify(notify::GENERIC, "del", dst);
        }
        return;
    }
    let n = z.len();
    ctx.db().set(dst, Value::from(z), now);
    ctx.dirty(1);
    ctx.key_ready(dst);
    ctx.notify_flush();
    ctx.out.int(n as i64);
    ctx.notify(notify::ZSET, event, dst);
}

// ---------------------------------------------------------------------------
// ZADD, ZINCRBY, ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK, ZCOUNT, ZLEXCOUNT
// ---------------------------------------------------------------------------

fn zadd_generic(ctx: &mut Ctx, args: &[Bytes], incr_cmd: bool) {
    let key = &args[1];
    let mut f = AddFlags { incr: incr_cmd, ..Default::default() };
    let mut ch = false;
    let mut idx = 2;
    if !incr_cmd {
        while idx < args.len() {
            let a = &args[idx];
            if opt(a, b"nx") {
                f.nx = true;
            } else if opt(a, b"xx") {
                f.xx = true;
            } else if opt(a, b"ch") {
                ch = true;
            } else if opt(a, b"incr") {
                f.incr = true;
            } else if opt(a, b"gt") {
                f.gt = true;
            } else if opt(a, b"lt") {
                f.lt = true;
            } else {
                break;
            }
            idx += 1;
        }
    }
    let rest = &args[idx..];
    if rest.is_empty() || !rest.len().is_multiple_of(2) {
        return ctx.syntax();
    }
    if f.nx && f.xx {
        return ctx.err("ERR XX and NX options at the same time are not compatible");
    }
    if (f.nx && (f.gt || f.lt)) || (f.gt && f.lt) {
        return ctx.err("ERR GT, LT, and/or NX options at the same time are not compatible");
    }
    if f.incr && rest.len() > 2 {
        return ctx.err("ERR INCR option supports a single increment-element pair");
    }
    let mut scores = Vec::with_capacity(rest.len() / 2);
    for pair in rest.chunks(2) {
        match parse_score(&pair[0]) {
            Some(s) => scores.push(s),
            None => return ctx.err(err::NOT_FLOAT),
        }
    }
    let lim = limits(ctx);
    match probe(ctx, key, false) {
        Found::Wrong => return ctx.wrongtype(),
        Found::Missing => {
            if f.xx {
                if f.incr {
                    ctx.out.null();
                } else {
                    ctx.out.int(0);
                }
                return;
            }
            let now = ctx.now;
            let z = ZSet::new_for(rest[1].len(), lim);
            ctx.db().add(key, Value::from(z), now);
        }
        Found::ZSet => {}
    }
    let db = ctx.client.db;
    let Some(z) = zget(&mut ctx.srv.dbs[db], key) else { return };
    let (mut added, mut updated, mut processed) = (0i64, 0i64, 0i64);
    let mut score = 0.0;
    let mut nan = false;
    for (pair, &s) in rest.chunks(2).zip(scores.iter()) {
        match z.add(&pair[1], s, f, lim) {
            AddOutcome::NaN => {
                nan = true;
                break;
            }
            AddOutcome::Added(v) => {
                added += 1;
                processed += 1;
                score = v;
            }
            AddOutcome::Updated(v) => {
                updated += 1;
                processed += 1;
                score = v;
            }
            AddOutcome::Unchanged(v) => {
                processed += 1;
                score = v;
            }
            AddOutcome::Nop => {}
        }
    }
    if added > 0 {
        ctx.key_ready(key);
    }
    let event = if f.incr { "zincr" } else { "zadd" };
    if nan {
        ctx.err(NAN_ERR);
    } else {
        ctx.dirty((added + updated) as u64);
        ctx.notify_flush();
        if f.incr {
            if processed > 0 {
                score_reply(ctx.out, score);
            } else {
                ctx.out.null();
            }
        } else {
            ctx.out.int(if ch { added + updated } else { added });
        }
    }
    // After the reply (or the NaN error), as Redis.
    if added + updated > 0 {
        ctx.notify(notify::ZSET, event, key);
    }
}

fn zadd(ctx: &mut Ctx, args: &[Bytes]) {
    zadd_generic(ctx, args, false);
}

fn zincrby(ctx: &mut Ctx, args: &[Bytes]) {
    zadd_generic(ctx, args, true);
}

fn zrem(ctx: &mut Ctx, args: &[Bytes]) {
    let key = &args[1];
    let Ok((z, out)) = open(ctx, key, false) else { return };
    let Some(z) = z else { return out.int(0) };
    let mut deleted = 0;
    for m in &args[2..] {
        if z.remove(m) {
            deleted += 1;
        }
        if z.is_empty() {
            break;
        }
    }
    let removed = drop_if_empty(ctx, key);
    ctx.dirty(deleted as u64);
    if deleted > 0 {
        ctx.notify(notify::ZSET, "zrem", key);
        if removed {
            ctx.notify(notify::GENERIC, "del", key);
        }
    }
    ctx.out.int(deleted);
}

fn zcard(ctx: &mut Ctx, args: &[Bytes]) {
    let Ok((z, out)) = open(ctx, &args[1], true) else { return };
    out.int(z.map_or(0, |z| z.len() as i64));
}

fn zscore(ctx: &mut Ctx, args: &[Bytes]) {
    let Ok((z, out)) = open(ctx, &args[1], true) else { return };
    match z.and_then(|z| z.score(&args[2])) {
        Some(s) => score_reply(out, s),
        None => out.null(),
    }
}

fn zmscore(ctx: &mut Ctx, args: &[Bytes]) {
    let Ok((z, out)) = open(ctx, &args[1], true) else { return };
    out.array_len(args.len() - 2);
    for m in &args[2..] {
        match z.as_ref().and_then(|z| z.score(m)) {
            Some(s) => score_reply(out, s),
            None => out.null(),
        }
    }
}

fn zrank_generic(ctx: &mut Ctx, args: &[Bytes], rev: bool) {
    let Ok((z, out)) = open(ctx, &args[1], true) else { return };
    let Some(z) = z else { return out.null() };
    match z.rank(&args[2]) {
        Some(r) => out.int(if rev { (z.len() - 1 - r) as i64 } else { r as i64 }),
        None => out.null(),
    }
}

fn zrank(ctx: &mut Ctx, args: &[Bytes]) {
    zrank_generic(ctx, args, false);
}

fn zrevrank(ctx: &mut Ctx, args: &[Bytes]) {
    zrank_generic(ctx, args, true);
}

fn zcount(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(r) = Range::score(&args[2], &args[3]) else { return ctx.err(MINMAX_FLOAT) };
    let Ok((z, out)) = open(ctx, &args[1], true) else { return };
    out.int(z.map_or(0, |z| count_in(z, &r) as i64));
}

fn zlexcount(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(r) = Range::lex(&args[2], &args[3]) else { return ctx.err(MINMAX_LEX) };
    let Ok((z, out)) = open(ctx, &args[1], true) else { return };
    out.int(z.map_or(0, |z| count_in(z, &r) as i64));
}

// ---------------------------------------------------------------------------
// ZRANGE and the older range commands, ZRANGESTORE
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum RangeType {
    Auto,
    Rank,
    Score,
    Lex,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Auto,
    Forward,
    Reverse,
}

/// Redis's `zrangeGenericCommand`: `args[first]` is the source key, followed
/// by min, max and the options; `dst` set for ZRANGESTORE.
fn zrange_generic(ctx: &mut Ctx, args: &[Bytes], first: usize, dst: Option<&[u8]>, rtype: RangeType, dir: Direction) {
    let (mut rtype, mut dir) = (rtype, dir);
    let key = &args[first];
    let (mut minidx, mut maxidx) = (first + 1, first + 2);
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut j = first + 3;
    while j < args.len() {
        let left = args.len() - j - 1;
        let a = &args[j];
        if dst.is_none() && opt(a, b"withscores") {
            withscores = true;
        } else if opt(a, b"limit") && left >= 2 {
            let Some(o) = ctx.int_arg(&args[j + 1]) else { return };
            let Some(l) = ctx.int_arg(&args[j + 2]) else { return };
            offset = o;
            limit = l;
            j += 2;
        } else if dir == Direction::Auto && opt(a, b"rev") {
            dir = Direction::Reverse;
        } else if rtype == RangeType::Auto && opt(a, b"bylex") {
            rtype = RangeType::Lex;
        } else if rtype == RangeType::Auto && opt(a, b"byscore") {
            rtype = RangeType::Score;
        } else {
            return ctx.syntax();
        }
        j += 1;
    }
    let rev = dir == Direction::Reverse;
    if rtype == RangeType::Auto {
        rtype = RangeType::Rank;
    }
    if limit != -1 && rtype == RangeType::Rank {
        return ctx.err("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
    }
    if withscores && rtype == RangeType::Lex {
        return ctx.err("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
    }
    if rev && rtype != RangeType::Rank {
        std::mem::swap(&mut minidx, &mut maxidx);
    }
    let mut ranks = (0i64, 0i64);
    let mut range = None;
    match rtype {
        RangeType::Score => match Range::score(&args[minidx], &args[maxidx]) {
            Some(r) => range = Some(r),
            None => return ctx.err(MINMAX_FLOAT),
        },
        RangeType::Lex => match Range::lex(&args[minidx], &args[maxidx]) {
            Some(r) => range = Some(r),
            None => return ctx.err(MINMAX_LEX),
        },
        _ => {
            let Some(s) = ctx.int_arg(&args[minidx]) else { return };
            let Some(e) = ctx.int_arg(&args[maxidx]) else { return };
            ranks = (s, e);
        }
    }
    let lim = limits(ctx);
    let Ok((z, out)) = open(ctx, key, true) else { return };
    let items = match (z.as_deref(), &range) {
        (None, _) => Vec::new(),
        (Some(z), Some(r)) => range_items(z, r, rev, offset, limit),
        (Some(z), None) => rank_items(z, ranks.0, ranks.1, rev),
    };
    match dst {
        None => reply_items(out, &items, withscores),
        Some(dst) => {
            // Built the way Redis builds it: added one by one in range order to a
            // set created for the size of a rank range (unknown for score and
            // lex ranges): a -0 added to a listpack before any conversion reads back as 0.
            let hint = if range.is_none() { items.len() } else { 0 };
            let mut z = ZSet::with_size_hint(hint, lim);
            for (m, s) in &items {
                z.add(m, *s, AddFlags::default(), lim);
            }
            store_set(ctx, dst, z, "zrangestore");
        }
    }
}

fn zrange(ctx: &mut Ctx, args: &[Bytes]) {
    zrange_generic(ctx, args, 1, None, RangeType::Auto, Direction::Auto);
}

fn zrangestore(ctx: &mut Ctx, args: &[Bytes]) {
    zrange_generic(ctx, args, 2, Some(&args[1]), RangeType::Auto, Direction::Auto);
}

fn zrevrange(ctx: &mut Ctx, args: &[Bytes]) {
    zrange_generic(ctx, args, 1, None, RangeType::Rank, Direction::Reverse);
}

fn zrangebyscore(ctx: &mut Ctx, args: &[Bytes]) {
    zrange_generic(ctx, args, 1, None, RangeType::Score, Direction::Forward);
}

fn zrevrangebyscore(ctx: &mut Ctx, args: &[Bytes]) {
    zrange_generic(ctx, args, 1, None, RangeType::Score, Direction::Reverse);
}

fn zrangebylex(ctx: &mut Ctx, args: &[Bytes]) {
    zrange_generic(ctx, args, 1, None, RangeType::Lex, Direction::Forward);
}

fn zrevrangebylex(ctx: &mut Ctx, args: &[Bytes]) {
    zrange_generic(ctx, args, 1, None, RangeType::Lex, Direction::Reverse);
}

// ---------------------------------------------------------------------------
// ZREMRANGEBYRANK / BYSCORE / BYLEX
// ---------------------------------------------------------------------------

fn zremrange_generic(ctx: &mut Ctx, args: &[Bytes], rtype: RangeType) {
    let key = &args[1];
    let mut ranks = (0, 0);
    let mut range = None;
    match rtype {
        RangeType::Score => match Range::score(&args[2], &args[3]) {
            Some(r) => range = Some(r),
            None => return ctx.err(MINMAX_FLOAT),
        },
        RangeType::Lex => match Range::lex(&args[2], &args[3]) {
            Some(r) => range = Some(r),
            None => return ctx.err(MINMAX_LEX),
        },
        _ => {
            let Some(s) = ctx.int_arg(&args[2]) else { return };
            let Some(e) = ctx.int_arg(&args[3]) else { return };
            ranks = (s, e);
        }
    }
    let Ok((z, out)) = open(ctx, key, false) else { return };
    let Some(z) = z else { return out.int(0) };
    let span = match &range {
        None => rank_span(z.len(), ranks.0, ranks.1),
        Some(r) => {
            // Redis deletes from the first member >= min while members are <= max.
            let lo = if z.encoding() == "listpack" { first_in(z, r) } else { Some(z.lead(|s, m| !r.gte_min(s, m))) };
            lo.map(|lo| {
                let mut n = 0;
                z.walk(lo, false, |m, s| {
                    if r.lte_max(s, m) {
                        n += 1;
                        true
                    } else {
                        false
                    }
                });
                (lo, n)
            })
        }
    };
    let deleted = span.map_or(0, |(s, n)| z.remove_ranks(s, n));
    let removed = drop_if_empty(ctx, key);
    ctx.dirty(deleted as u64);
    if deleted > 0 {
        let event = match rtype {
            RangeType::Score => "zremrangebyscore",
            RangeType::Lex => "zremrangebylex",
            _ => "zremrangebyrank",
        };
        ctx.notify(notify::ZSET, event, key);
        if removed {
            ctx.notify(notify::GENERIC, "del", key);
        }
    }
    ctx.out.int(deleted as i64);
}

fn zremrangebyrank(ctx: &mut Ctx, args: &[Bytes]) {
    zremrange_generic(ctx, args, RangeType::Rank);
}

fn zremrangebyscore(ctx: &mut Ctx, args: &[Bytes]) {
    zremrange_generic(ctx, args, RangeType::Score);
}

fn zremrangebylex(ctx: &mut Ctx, args: &[Bytes]) {
    zremrange_generic(ctx, args, RangeType::Lex);
}

// ---------------------------------------------------------------------------
// Pops (shared with the blocking variants)
// ---------------------------------------------------------------------------

/// The reply shapes of the pop commands (Redis's `genericZpopCommand`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PopShape {
    /// `[member, score, ...]`: ZPOPMIN/ZPOPMAX in RESP2, or without COUNT in RESP3.
    Flat,
    /// `[[member, score], ...]`: ZPOPMIN/ZPOPMAX with COUNT in RESP3.
    Nested,
    /// `[key, member, score, ...]`: BZPOPMIN/BZPOPMAX.
    KeyFlat,
    /// `[key, [[member, score], ...]]`: ZMPOP/BZMPOP.
    KeyNested,
}

/// Pops from the sorted set at `key` (in the selected db) and writes the reply.
///
/// - `max`: pop the highest scores (ZPOPMAX) instead of the lowest.
/// - `count`: None pops one member (ZPOPMIN without COUNT); `Some(0)` replies
///   an empty array (after the type check), as Redis does; `Some(n)` pops up to n.
/// - `shape`: how the reply is laid out (see `PopShape`).
///
/// Returns false, having written nothing, when the key does not exist, so a
/// caller over several keys moves on to the next one (and finally replies
/// with its own empty/null reply, or blocks). Returns true when it wrote a
/// reply: the popped members, or a WRONGTYPE error. The key is looked up for
/// writing (no keyspace hit/miss), popped members count in `dirty`, and the
/// key is deleted when emptied.
pub fn pop_reply(ctx: &mut Ctx, key: &[u8], max: bool, count: Option<usize>, shape: PopShape) -> bool {
    let Ok((z, out)) = open(ctx, key, false) else { return true };
    let Some(z) = z else { return false };
    if count == Some(0) {
        out.array_len(0);
        return true;
    }
    let n = count.unwrap_or(1).min(z.len());
    match shape {
        PopShape::Flat => out.array_len(n * 2),
        PopShape::Nested => out.array_len(n),
        PopShape::KeyFlat => {
            out.array_len(n * 2 + 1);
            out.bulk(key);
        }
        PopShape::KeyNested => {
            out.array_len(2);
            out.bulk(key);
            out.array_len(n);
        }
    }
    let nested = matches!(shape, PopShape::Nested | PopShape::KeyNested);
    // Redis notifies while popping the first member, before replying it.
    ctx.notify(notify::ZSET, if max { "zpopmax" } else { "zpopmin" }, key);
    let dbi = ctx.client.db;
    let Some(z) = zget(&mut ctx.srv.dbs[dbi], key) else { return true };
    let out = &mut *ctx.out;
    let start = if max { z.len() - 1 } else { 0 };
    let mut left = n;
    z.walk(start, max, |m, s| {
        if left == 0 {
            return false;
        }
        left -= 1;
        if nested {
            out.array_len(2);
        }
        out.bulk(m);
        score_reply(out, s);
        true
    });
    z.remove_ranks(if max { z.len() - n } else { 0 }, n);
    let removed = drop_if_empty(ctx, key);
    ctx.dirty(n as u64);
    if removed {
        ctx.notify(notify::GENERIC, "del", key);
    }
    true
}

fn zpop_generic(ctx: &mut Ctx, args: &[Bytes], max: bool) {
    if args.len() > 3 {
        return ctx.syntax();
    }
    let mut count = None;
    if args.len() == 3 {
        match parse_i64(&args[2]) {
            Some(n) if n >= 0 => count = Some(n as usize),
            _ => return ctx.err(NOT_POSITIVE),
        }
    }
    let shape = if ctx.out.resp > 2 && count.is_some() { PopShape::Nested } else { PopShape::Flat };
    if !pop_reply(ctx, &args[1], max, count, shape) {
        ctx.out.array_len(0);
    }
}

fn zpopmin(ctx: &mut Ctx, args: &[Bytes]) {
    zpop_generic(ctx, args, false);
}

fn zpopmax(ctx: &mut Ctx, args: &[Bytes]) {
    zpop_generic(ctx, args, true);
}

/// The parsed arguments of ZMPOP/BZMPOP: `numkeys key... MIN|MAX [COUNT n]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MpopArgs {
    /// Indexes of the keys in `args`.
    pub keys: std::ops::Range<usize>,
    /// MAX (true) or MIN.
    pub max: bool,
    /// COUNT (1 when not given).
    pub count: usize,
}

/// Parses ZMPOP/BZMPOP arguments from `args[numkeys_idx]` on (1 for ZMPOP,
/// 2 for BZMPOP, after the timeout), replying with Redis's error and
/// returning None when they are invalid.
pub fn parse_mpop(ctx: &mut Ctx, args: &[Bytes], numkeys_idx: usize) -> Option<MpopArgs> {
    let numkeys = match parse_i64(&args[numkeys_idx]) {
        Some(n) if n >= 1 => n as u64,
        _ => {
            ctx.err("ERR numkeys should be greater than 0");
            return None;
        }
    };
    let where_idx = (numkeys_idx as u64 + 1).checked_add(numkeys).filter(|&w| w < args.len() as u64);
    let Some(where_idx) = where_idx.map(|w| w as usize) else {
        ctx.syntax();
        return None;
    };
    let max = if opt(&args[where_idx], b"max") {
        true
    } else if opt(&args[where_idx], b"min") {
        false
    } else {
        ctx.syntax();
        return None;
    };
    let mut count = None;
    let mut j = where_idx + 1;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if count.is_none() && opt(&args[j], b"count") && more > 0 {
            j += 1;
            match parse_i64(&args[j]) {
                Some(n) if n >= 1 => count = Some(n as usize),
                _ => {
                    ctx.err("ERR count should be greater than 0");
                    return None;
                }
            }
        } else {
            ctx.syntax();
            return None;
        }
        j += 1;
    }
    Some(MpopArgs { keys: numkeys_idx + 1..where_idx, max, count: count.unwrap_or(1) })
}

fn zmpop(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(p) = parse_mpop(ctx, args, 1) else { return };
    for i in p.keys.clone() {
        if pop_reply(ctx, &args[i], p.max, Some(p.count), PopShape::KeyNested) {
            return;
        }
    }
    ctx.out.null_array();
}

// ---------------------------------------------------------------------------
// ZUNION, ZINTER, ZDIFF, their STORE forms, ZINTERCARD
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// Redis's `zunionInterAggregate`.
#[inline]
fn aggregate(target: &mut f64, val: f64, agg: Aggregate) {
    match agg {
        Aggregate::Sum => {
            *target += val;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if val < *target {
                *target = val;
            }
        }
        Aggregate::Max => {
            if val > *target {
                *target = val;
            }
        }
    }
}

/// One input of the set algebra: a sorted set, a set (scores 1), or nothing.
enum Input<'a> {
    Missing,
    Z(&'a ZSet),
    S(&'a crate::storage::set::Set),
}

impl Input<'_> {
    fn len(&self) -> usize {
        match self {
            Input::Missing => 0,
            Input::Z(z) => z.len(),
            Input::S(s) => s.len(),
        }
    }

    fn score(&self, m: &[u8]) -> Option<f64> {
        match self {
            Input::Missing => None,
            Input::Z(z) => z.score(m),
            Input::S(s) => s.contains(m).then_some(1.0),
        }
    }

    /// Visits every member with its score.
    fn each(&self, mut f: impl FnMut(&[u8], f64) -> bool) {
        match self {
            Input::Missing => {}
            Input::Z(z) => z.walk(0, false, f),
            Input::S(s) => {
                for m in s.iter() {
                    if !m.with_bytes(|b| f(b, 1.0)) {
                        return;
                    }
                }
            }
        }
    }
}

fn sort_result(v: &mut [(SBytes, f64)]) {
    v.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(Ordering::Equal).then_with(|| a.0.as_slice().cmp(b.0.as_slice())));
}

/// Redis's `zunionInterDiffGenericCommand`.
fn zsetop_generic(ctx: &mut Ctx, args: &[Bytes], numkeys_idx: usize, dst: Option<&[u8]>, op: SetOp, card_only: bool) {
    let Some(setnum) = ctx.int_arg(&args[numkeys_idx]) else { return };
    if setnum < 1 {
        let msg = format!("ERR at least 1 input key is needed for '{}' command", ctx.cmd.name);
        return ctx.err(&msg);
    }
    if setnum > (args.len() - numkeys_idx - 1) as i64 {
        return ctx.syntax();
    }
    let setnum = setnum as usize;
    let keys = &args[numkeys_idx + 1..numkeys_idx + 1 + setnum];
    for k in keys {
        if let Some(e) = ctx.lookup_read(k) {
            if !matches!(e.value, Value::ZSet(_) | Value::Set(_)) {
                return ctx.wrongtype();
            }
        }
    }
    let mut weights = vec![1.0f64; setnum];
    let mut agg = Aggregate::Sum;
    let mut withscores = false;
    let mut limit: u64 = 0;
    let mut j = numkeys_idx + 1 + setnum;
    while j < args.len() {
        let remaining = args.len() - j;
        let a = &args[j];
        if op != SetOp::Diff && !card_only && remaining > setnum && opt(a, b"weights") {
            j += 1;
            for w in weights.iter_mut() {
                match parse_score(&args[j]) {
                    Some(v) => *w = v,
                    None => return ctx.err("ERR weight value is not a float"),
                }
                j += 1;
            }
        } else if op != SetOp::Diff && !card_only && remaining >= 2 && opt(a, b"aggregate") {
            let b = &args[j + 1];
            agg = if opt(b, b"sum") {
                Aggregate::Sum
            } else if opt(b, b"min") {
                Aggregate::Min
            } else if opt(b, b"max") {
                Aggregate::Max
            } else {
                return ctx.syntax();
            };
            j += 2;
        } else if dst.is_none() && !card_only && opt(a, b"withscores") {
            withscores = true;
            j += 1;
        } else if card_only && remaining >= 2 && opt(a, b"limit") {
            match parse_i64(&args[j + 1]) {
                Some(n) if n >= 0 => limit = n as u64,
                _ => return ctx.err("ERR LIMIT can't be negative"),
            }
            j += 2;
        } else {
            return ctx.syntax();
        }
    }

    let dbi = ctx.client.db;
    let db = &ctx.srv.dbs[dbi];
    // Inputs with their weights and key names (the same key twice is the same object).
    let mut srcs: Vec<(Input, f64, &[u8])> = keys
        .iter()
        .zip(weights.iter())
        .map(|(k, &w)| {
            let input = match db.main().get(k).map(|e| &e.value) {
                Some(Value::ZSet(z)) => Input::Z(z),
                Some(Value::Set(s)) => Input::S(s),
                _ => Input::Missing,
            };
            (input, w, &k[..])
        })
        .collect();
    if op != SetOp::Diff {
        srcs.sort_by_key(|(i, ..)| i.len());
    }
    let mut result: Vec<(SBytes, f64)> = Vec::new();
    let mut cardinality: u64 = 0;
    match op {
        SetOp::Inter => {
            if srcs[0].0.len() > 0 {
                let (first, w0, k0) = (&srcs[0].0, srcs[0].1, srcs[0].2);
                first.each(|m, s| {
                    let mut score = w0 * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    let mut all = true;
                    for (input, w, k) in &srcs[1..] {
                        if *k == k0 {
                            aggregate(&mut score, s * w, agg);
                        } else if let Some(v) = input.score(m) {
                            aggregate(&mut score, v * w, agg);
                        } else {
                            all = false;
                            break;
                        }
                    }
                    if all {
                        if card_only {
                            cardinality += 1;
                            if limit > 0 && cardinality >= limit {
                                return false;
                            }
                        } else {
                            result.push((SBytes::new(m), score));
                        }
                    }
                    true
                });
            }
        }
        SetOp::Union => {
            let mut acc: std::collections::HashMap<SBytes, f64, ahash::RandomState> =
                std::collections::HashMap::with_capacity_and_hasher(
                    srcs.last().map_or(0, |s| s.0.len()),
                    ahash::RandomState::new(),
                );
            for (input, w, _) in &srcs {
                input.each(|m, s| {
                    let mut score = w * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    match acc.get_mut(m) {
                        Some(t) => aggregate(t, score, agg),
                        None => {
                            acc.insert(SBytes::new(m), score);
                        }
                    }
                    true
                });
            }
            result = acc.into_iter().collect();
        }
        SetOp::Diff => {
            if srcs[0].0.len() > 0 {
                let (first, k0) = (&srcs[0].0, srcs[0].2);
                first.each(|m, s| {
                    let exists = srcs[1..].iter().any(|(input, _, k)| *k == k0 || input.score(m).is_some());
                    if !exists {
                        result.push((SBytes::new(m), s));
                    }
                    true
                });
            }
        }
    }
    if card_only {
        ctx.out.int(cardinality as i64);
        return;
    }
    sort_result(&mut result);
    match dst {
        Some(dst) => {
            let event = match op {
                SetOp::Union => "zunionstore",
                SetOp::Inter => "zinterstore",
                SetOp::Diff => "zdiffstore",
            };
            store_result(ctx, dst, result, event)
        }
        None => {
            let items: Vec<(&[u8], f64)> = result.iter().map(|(m, s)| (m.as_slice(), *s)).collect();
            reply_items(&mut *ctx.out, &items, withscores);
        }
    }
}

fn zunion(ctx: &mut Ctx, args: &[Bytes]) {
    zsetop_generic(ctx, args, 1, None, SetOp::Union, false);
}

fn zinter(ctx: &mut Ctx, args: &[Bytes]) {
    zsetop_generic(ctx, args, 1, None, SetOp::Inter, false);
}

fn zdiff(ctx: &mut Ctx, args: &[Bytes]) {
    zsetop_generic(ctx, args, 1, None, SetOp::Diff, false);
}

fn zunionstore(ctx: &mut Ctx, args: &[Bytes]) {
    zsetop_generic(ctx, args, 2, Some(&args[1]), SetOp::Union, false);
}

fn zinterstore(ctx: &mut Ctx, args: &[Bytes]) {
    zsetop_generic(ctx, args, 2, Some(&args[1]), SetOp::Inter, false);
}

fn zdiffstore(ctx: &mut Ctx, args: &[Bytes]) {
    zsetop_generic(ctx, args, 2, Some(&args[1]), SetOp::Diff, false);
}

fn zintercard(ctx: &mut Ctx, args: &[Bytes]) {
    zsetop_generic(ctx, args, 1, None, SetOp::Inter, true);
}

// ---------------------------------------------------------------------------
// ZRANDMEMBER, ZSCAN
// ---------------------------------------------------------------------------

fn zrandmember(ctx: &mut Ctx, args: &[Bytes]) {
    let key = &args[1];
    if args.len() >= 3 {
        let l = match parse_i64(&args[2]) {
            None => return ctx.err(err::NOT_INT),
            Some(i64::MIN) => {
                return ctx
                    .err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
            }
            Some(l) => l,
        };
        if args.len() > 4 || (args.len() == 4 && !opt(&args[3], b"withscores")) {
            return ctx.syntax();
        }
        let withscores = args.len() == 4;
        if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
            return ctx.err("ERR value is out of range");
        }
        return zrandmember_count(ctx, key, l, withscores);
    }
    match probe(ctx, key, true) {
        Found::Wrong => return ctx.wrongtype(),
        Found::Missing => return ctx.out.null(),
        Found::ZSet => {}
    }
    let dbi = ctx.client.db;
    let srv = &mut *ctx.srv;
    let Some(z) = zget(&mut srv.dbs[dbi], key) else { return };
    use rand::Rng;
    let r = srv.rng.gen_range(0..z.len().max(1));
    match z.get(r) {
        Some((m, _)) => ctx.out.bulk(m),
        None => ctx.out.null(),
    }
}

fn zrandmember_count(ctx: &mut Ctx, key: &[u8], l: i64, withscores: bool) {
    if probe(ctx, key, true) == Found::Wrong {
        return ctx.wrongtype();
    }
    let dbi = ctx.client.db;
    let srv = &mut *ctx.srv;
    let out = &mut *ctx.out;
    let Some(z) = srv.dbs[dbi].main().get(key).and_then(|e| match &e.value {
        Value::ZSet(z) => Some(z),
        _ => None,
    }) else {
        return out.array_len(0);
    };
    let rng = &mut srv.rng;
    let count = l.unsigned_abs();
    let uniq = l >= 0;
    let size = z.len() as u64;
    if count == 0 {
        return out.array_len(0);
    }
    let resp3 = out.resp >= 3;
    let emit = |out: &mut Reply, m: &[u8], s: f64| {
        if withscores && resp3 {
            out.array_len(2);
        }
        out.bulk(m);
        if withscores {
            score_reply(out, s);
        }
    };
    let header = |out: &mut Reply, n: u64| {
        out.array_len(if withscores && !resp3 { (n * 2) as usize } else { n as usize });
    };
    // Repeats allowed (negative count), or a single member.
    if !uniq || count == 1 {
        header(out, count);
        for _ in 0..count {
            use rand::Rng;
            let r = rng.gen_range(0..z.len());
            if let Some((m, s)) = z.get(r) {
                emit(out, m, s);
            }
        }
        return;
    }
    // The whole set, in Redis's iteration order (highest score first).
    if count >= size {
        header(out, size);
        z.walk(z.len() - 1, true, |m, s| {
            emit(out, m, s);
            true
        });
        return;
    }
    // Distinct random members.
    let mut picks = rand::seq::index::sample(rng, z.len(), count as usize).into_vec();
    picks.sort_unstable();
    header(out, count);
    if z.encoding() == "listpack" {
        let mut next = 0;
        let mut rank = 0;
        z.walk(0, false, |m, s| {
            if picks.get(next) == Some(&rank) {
                emit(out, m, s);
                next += 1;
            }
            rank += 1;
            next < picks.len()
        });
    } else {
        for r in picks {
            if let Some((m, s)) = z.get(r) {
                emit(out, m, s);
            }
        }
    }
}

fn zscan(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(cursor) = super::keys::parse_cursor(&args[2]) else { return ctx.err("ERR invalid cursor") };
    match probe(ctx, &args[1], true) {
        Found::Wrong => return ctx.wrongtype(),
        Found::Missing => {
            ctx.out.array_len(2);
            ctx.out.bulk(b"0");
            ctx.out.array_len(0);
            return;
        }
        Found::ZSet => {}
    }
    let mut count: i64 = 10;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 3;
    while i < args.len() {
        let left = args.len() - i;
        if opt(&args[i], b"count") && left >= 2 {
            let Some(c) = ctx.int_arg(&args[i + 1]) else { return };
            if c < 1 {
                return ctx.syntax();
            }
            count = c;
            i += 2;
        } else if opt(&args[i], b"match") && left >= 2 {
            let p: &[u8] = &args[i + 1];
            pattern = if p == b"*" { None } else { Some(p) };
            i += 2;
        } else {
            return ctx.syntax();
        }
    }
    let dbi = ctx.client.db;
    let Some(z) = zget(&mut ctx.srv.dbs[dbi], &args[1]) else { return };
    let mut found: Vec<(Vec<u8>, f64)> = Vec::new();
    let next = z.scan(cursor, count.min(usize::MAX as i64) as usize, |m, s| {
        if pattern.is_none_or(|p| crate::storage::glob::glob_match(p, m, false)) {
            found.push((m.to_vec(), s));
        }
    });
    let out = &mut *ctx.out;
    out.array_len(2);
    out.bulk(next.to_string().as_bytes());
    out.array_len(found.len() * 2);
    for (m, s) in found {
        out.bulk(&m);
        score_text(s, |t| out.bulk(t));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_parse_like_redis() {
        assert_eq!(parse_score(b"1.5"), Some(1.5));
        assert_eq!(parse_score(b"0x10"), Some(16.0));
        assert_eq!(parse_score(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"+Infinity"), Some(f64::INFINITY));
        assert_eq!(parse_score(b"1e400"), None);
        assert_eq!(parse_score(b"1e-400"), None);
        assert!(parse_score(b"4e-320").is_some());
        assert_eq!(parse_score(b" 1"), None);
        assert_eq!(parse_score(b"1 "), None);
        assert_eq!(parse_score(b"nan"), None);
        assert_eq!(parse_score(b""), None);
        assert_eq!(parse_score(b"1e"), None);
        assert_eq!(parse_score(b".5"), Some(0.5));
        assert_eq!(parse_score(b"5."), Some(5.0));
        assert_eq!(parse_score(b"0x1p4"), Some(16.0));
        assert_eq!(parse_score(b"0x"), None);
        assert_eq!(parse_score(b"0.0"), Some(0.0));
        assert_eq!(parse_score_bound(b""), Some((0.0, false)));
        assert_eq!(parse_score_bound(b"("), Some((0.0, true)));
        assert_eq!(parse_score_bound(b" 1"), Some((1.0, false)));
        assert_eq!(parse_score_bound(b" "), None);
        assert_eq!(parse_score_bound(b"1e400"), Some((f64::INFINITY, false)));
        assert_eq!(parse_score_bound(b"(nan"), None);
    }
}
