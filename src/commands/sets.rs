//! Set commands: SADD, SREM, SCARD, membership (SISMEMBER, SMISMEMBER, SMEMBERS),
//! random members (SRANDMEMBER, SPOP), SMOVE, the algebra (SINTER, SINTERCARD,
//! SUNION, SDIFF and their STORE forms) and SSCAN, with Redis 7.0's replies,
//! errors and the encodings its algorithms leave behind.

use super::strings::cstr;
use super::{err, Ctx, Handler};
use crate::server::notify;
use crate::storage::glob::glob_match;
use crate::storage::set::{Member, Set};
use crate::storage::{Db, Entry, Value};
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;
use std::collections::HashSet;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("sadd", sadd),
    ("srem", srem),
    ("scard", scard),
    ("sismember", sismember),
    ("smismember", smismember),
    ("smembers", smembers),
    ("srandmember", srandmember),
    ("spop", spop),
    ("smove", smove),
    ("sinter", sinter),
    ("sintercard", sintercard),
    ("sinterstore", sinterstore),
    ("sunion", sunion),
    ("sunionstore", sunionstore),
    ("sdiff", sdiff),
    ("sdiffstore", sdiffstore),
    ("sscan", sscan),
];

/// SPOP with a count rebuilds the set from the survivors when it keeps fewer
/// than count/5 of them (Redis's SPOP_MOVE_STRATEGY_MUL).
const SPOP_MOVE_STRATEGY_MUL: usize = 5;
/// SRANDMEMBER copies the set and removes from the copy when count*3 > size.
const SRANDMEMBER_SUB_STRATEGY_MUL: usize = 3;

/// What a key holds.
#[derive(PartialEq, Eq, Clone, Copy)]
enum Found {
    Missing,
    Set,
    Other,
}

fn kind(e: Option<&mut Entry>) -> Found {
    match e {
        None => Found::Missing,
        Some(e) if matches!(e.value, Value::Set(_)) => Found::Set,
        Some(_) => Found::Other,
    }
}

/// Looks a key up for reading (hit/miss counted, lazy expiry).
fn probe_read(ctx: &mut Ctx, key: &[u8]) -> Found {
    kind(ctx.lookup_read(key))
}

/// Looks a key up for writing (lazy expiry, no statistics).
fn probe_write(ctx: &mut Ctx, key: &[u8]) -> Found {
    kind(ctx.lookup_write(key))
}

fn set_mut<'a>(db: &'a mut Db, key: &[u8]) -> Option<&'a mut Set> {
    match db.entry_mut(key) {
        Some(Entry { value: Value::Set(s), .. }) => Some(s),
        _ => None,
    }
}

fn set_ref<'a>(db: &'a Db, key: &[u8]) -> Option<&'a Set> {
    match db.main().get(key) {
        Some(Entry { value: Value::Set(s), .. }) => Some(s),
        _ => None,
    }
}

fn max_intset(ctx: &Ctx) -> usize {
    ctx.srv.config.set_max_intset_entries
}

fn write_member(out: &mut crate::resp::Reply, m: Member) {
    match m {
        Member::Int(n) => out.bulk_int(n),
        Member::Str(s) => out.bulk(s),
    }
}

/// Parses an integer in `min..=max`, replying `msg` for anything else (as
/// Redis's getRangeLongFromObjectOrReply with a message).
fn range_arg(ctx: &mut Ctx, a: &[u8], min: i64, max: i64, msg: &str) -> Option<i64> {
    match parse_i64(a) {
        Some(v) if v >= min && v <= max => Some(v),
        _ => {
            ctx.err(msg);
            None
        }
    }
}

fn sadd(ctx: &mut Ctx, args: &[Bytes]) {
    let key = &args[1];
    let now = ctx.now;
    match probe_write(ctx, key) {
        Found::Other => return ctx.wrongtype(),
        Found::Missing => ctx.db().add(key, Value::from(Set::for_first(&args[2])), now),
        Found::Set => {}
    }
    let max = max_intset(ctx);
    let mut added = 0;
    if let Some(s) = set_mut(ctx.db(), key) {
        for m in &args[2..] {
            if s.add(m, max) {
                added += 1;
            }
        }
    }
    ctx.dirty(added);
    if added > 0 {
        ctx.notify(notify::SET, "sadd", key);
    }
    ctx.out.int(added as i64);
}

fn srem(ctx: &mut Ctx, args: &[Bytes]) {
    let key = &args[1];
    match probe_write(ctx, key) {
        Found::Missing => return ctx.out.int(0),
        Found::Other => return ctx.wrongtype(),
        Found::Set => {}
    }
    let db = ctx.db();
    let mut deleted = 0;
    let mut emptied = false;
    if let Some(s) = set_mut(db, key) {
        for m in &args[2..] {
            if s.remove(m) {
                deleted += 1;
                if s.is_empty() {
                    emptied = true;
                    break;
                }
            }
        }
    }
    if emptied {
        db.remove(key);
    }
    ctx.dirty(deleted);
    if deleted > 0 {
        ctx.notify(notify::SET, "srem", key);
        if emptied {
            ctx.notify(notify::GENERIC, "del", key);
        }
    }
    ctx.out.int(deleted as i64);
}

fn scard(ctx: &mut Ctx, args: &[Bytes]) {
    match probe_read(ctx, &args[1]) {
        Found::Missing => ctx.out.int(0),
        Found::Other => ctx.wrongtype(),
        Found::Set => {
            let n = set_mut(ctx.db(), &args[1]).map_or(0, |s| s.len());
            ctx.out.int(n as i64);
        }
    }
}

fn sismember(ctx: &mut Ctx, args: &[Bytes]) {
    match probe_read(ctx, &args[1]) {
        Found::Missing => ctx.out.int(0),
        Found::Other => ctx.wrongtype(),
        Found::Set => {
            let yes = set_mut(ctx.db(), &args[1]).is_some_and(|s| s.contains(&args[2]));
            ctx.out.int(yes as i64);
        }
    }
}

fn smismember(ctx: &mut Ctx, args: &[Bytes]) {
    if probe_read(ctx, &args[1]) == Found::Other {
        return ctx.wrongtype();
    }
    let dbi = ctx.client.db;
    let set = set_ref(&ctx.srv.dbs[dbi], &args[1]);
    ctx.out.array_len(args.len() - 2);
    for m in &args[2..] {
        ctx.out.int(set.is_some_and(|s| s.contains(m)) as i64);
    }
}

fn smembers(ctx: &mut Ctx, args: &[Bytes]) {
    inter_generic(ctx, &args[1..2], None, false, 0);
}

fn srandmember(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() > 3 {
        return ctx.syntax();
    }
    if args.len() == 3 {
        return srandmember_count(ctx, args);
    }
    match probe_read(ctx, &args[1]) {
        Found::Missing => return ctx.out.null(),
        Found::Other => return ctx.wrongtype(),
        Found::Set => {}
    }
    let dbi = ctx.client.db;
    let srv = &mut *ctx.srv;
    let Some(s) = set_ref(&srv.dbs[dbi], &args[1]) else { return ctx.out.null() };
    match s.random(&mut srv.rng) {
        Some(m) => write_member(ctx.out, m),
        None => ctx.out.null(),
    }
}

fn srandmember_count(ctx: &mut Ctx, args: &[Bytes]) {
    let msg = format!("ERR value is out of range, value must between {} and {}", -i64::MAX, i64::MAX);
    let Some(l) = parse_i64(&args[2]) else { return ctx.err(err::NOT_INT) };
    if l == i64::MIN {
        return ctx.err(&msg);
    }
    let (count, uniq) = (l.unsigned_abs(), l >= 0);
    match probe_read(ctx, &args[1]) {
        Found::Missing => return ctx.out.array_len(0),
        Found::Other => return ctx.wrongtype(),
        Found::Set => {}
    }
    if count == 0 {
        return ctx.out.array_len(0);
    }
    let dbi = ctx.client.db;
    let srv = &mut *ctx.srv;
    let out = &mut *ctx.out;
    let Some(s) = set_ref(&srv.dbs[dbi], &args[1]) else { return out.array_len(0) };
    let rng = &mut srv.rng;
    let size = s.len();

    // Repetitions allowed (or a single pick): independent draws.
    if !uniq || count == 1 {
        out.array_len(count as usize);
        for _ in 0..count {
            match s.random(rng) {
                Some(m) => write_member(out, m),
                None => out.null(),
            }
        }
        return;
    }
    // The whole set.
    if count >= size as u64 {
        out.array_len(size);
        for m in s.iter() {
            write_member(out, m);
        }
        return;
    }
    let count = count as usize;
    let picked: Vec<Member> = if count * SRANDMEMBER_SUB_STRATEGY_MUL > size {
        // Close to the size: copy everything, then drop random members.
        let mut all: Vec<Member> = s.iter().collect();
        while all.len() > count {
            let i = rand::Rng::gen_range(rng, 0..all.len());
            all.swap_remove(i);
        }
        all
    } else {
        // Small compared to the size: draw until enough distinct members.
        let mut seen: HashSet<Member> = HashSet::with_capacity(count);
        let mut order = Vec::with_capacity(count);
        while seen.len() < count {
            let Some(m) = s.random(rng) else { break };
            if seen.insert(m) {
                order.push(m);
            }
        }
        order
    };
    out.array_len(picked.len());
    for m in picked {
        write_member(out, m);
    }
}

fn spop(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() > 3 {
        return ctx.syntax();
    }
    if args.len() == 3 {
        return spop_count(ctx, args);
    }
    let key = &args[1];
    match probe_write(ctx, key) {
        Found::Missing => return ctx.out.null(),
        Found::Other => return ctx.wrongtype(),
        Found::Set => {}
    }
    let dbi = ctx.client.db;
    let srv = &mut *ctx.srv;
    let Some(s) = set_mut(&mut srv.dbs[dbi], key) else { return ctx.out.null() };
    let Some(m) = s.random(&mut srv.rng).map(|m| m.to_vec()) else { return ctx.out.null() };
    s.remove(&m);
    let emptied = s.is_empty();
    ctx.notify(notify::SET, "spop", key);
    ctx.out.bulk(&m);
    if emptied {
        ctx.db().remove(key);
        ctx.notify(notify::GENERIC, "del", key);
    }
    ctx.dirty(1);
}

fn spop_count(ctx: &mut Ctx, args: &[Bytes]) {
    let key = &args[1];
    let Some(count) = range_arg(ctx, &args[2], 0, i64::MAX, "ERR value is out of range, must be positive") else {
        return;
    };
    let count = count as u64;
    match probe_write(ctx, key) {
        Found::Missing => return ctx.out.set_len(0),
        Found::Other => return ctx.wrongtype(),
        Found::Set => {}
    }
    if count == 0 {
        return ctx.out.set_len(0);
    }
    ctx.notify(notify::SET, "spop", key);
    let max = max_intset(ctx);
    let dbi = ctx.client.db;
    let size = set_mut(&mut ctx.srv.dbs[dbi], key).map_or(0, |s| s.len()) as u64;
    // Everything: reply as SUNION of the key would (Redis runs it, which
    // counts a keyspace hit), then delete the key: one change per member.
    if count >= size {
        ctx.srv.stats.keyspace_hits += 1;
        ctx.dirty(size);
        let all = match set_ref(&ctx.srv.dbs[dbi], key) {
            Some(s) => union_of(&[Some(s)], max),
            None => Set::new_intset(),
        };
        ctx.out.set_len(all.len());
        for m in all.iter() {
            write_member(ctx.out, m);
        }
        ctx.db().remove(key);
        ctx.notify(notify::GENERIC, "del", key);
        return;
    }

    ctx.dirty(count);
    let count = count as usize;
    let remaining = size as usize - count;
    let srv = &mut *ctx.srv;
    let out = &mut *ctx.out;
    let rng = &mut srv.rng;
    let Some(s) = set_mut(&mut srv.dbs[dbi], key) else { return out.set_len(0) };
    out.set_len(count);
    if remaining * SPOP_MOVE_STRATEGY_MUL > count {
        // Few members to return: draw and remove them one by one.
        for _ in 0..count {
            let Some(m) = s.random(rng).map(|m| m.to_vec()) else { break };
            out.bulk(&m);
            s.remove(&m);
        }
    } else {
        // Most of the set goes: move the survivors into a new set (created
        // for the first survivor, as Redis does), return what is left.
        let mut newset: Option<Set> = None;
        for _ in 0..remaining {
            let Some(m) = s.random(rng).map(|m| m.to_vec()) else { break };
            let ns = newset.get_or_insert_with(|| Set::for_first(&m));
            ns.add(&m, max);
            s.remove(&m);
        }
        for m in s.iter() {
            write_member(out, m);
        }
        if let Some(ns) = newset {
            *s = ns;
        }
    }
}

fn smove(ctx: &mut Ctx, args: &[Bytes]) {
    let (src, dst, ele) = (&args[1], &args[2], &args[3]);
    let fs = probe_write(ctx, src);
    let fd = probe_write(ctx, dst);
    if fs == Found::Missing {
        return ctx.out.int(0);
    }
    if fs == Found::Other || fd == Found::Other {
        return ctx.wrongtype();
    }
    let max = max_intset(ctx);
    let now = ctx.now;
    let db = ctx.db();
    if src == dst {
        let yes = set_mut(db, src).is_some_and(|s| s.contains(ele));
        return ctx.out.int(yes as i64);
    }
    let Some(s) = set_mut(db, src) else { return ctx.out.int(0) };
    if !s.remove(ele) {
        return ctx.out.int(0);
    }
    let emptied = s.is_empty();
    if emptied {
        db.remove(src);
    }
    ctx.notify(notify::SET, "srem", src);
    if emptied {
        ctx.notify(notify::GENERIC, "del", src);
    }
    let db = ctx.db();
    if fd == Found::Missing {
        db.add(dst, Value::from(Set::for_first(ele)), now);
    }
    let added = set_mut(db, dst).is_some_and(|d| d.add(ele, max));
    ctx.dirty(1 + added as u64);
    if added {
        ctx.notify(notify::SET, "sadd", dst);
    }
    ctx.out.int(1);
}

/// Looks every key up for reading; replies WRONGTYPE (and returns false) at
/// the first key holding another type.
fn check_sources(ctx: &mut Ctx, keys: &[Bytes]) -> bool {
    for k in keys {
        if probe_read(ctx, k) == Found::Other {
            ctx.wrongtype();
            return false;
        }
    }
    true
}

/// Stores a computed set at `dst` (replacing any value and TTL) and notifies
/// `event`, or deletes `dst` (`del`) when the result is empty; replies with
/// the cardinality.
fn store(ctx: &mut Ctx, dst: &[u8], result: Set, event: &str) {
    let n = result.len();
    let now = ctx.now;
    let db = ctx.db();
    if n > 0 {
        db.expire_if_needed(dst, now);
        db.set(dst, Value::from(result), now);
        ctx.dirty(1);
        ctx.notify_flush();
        ctx.out.int(n as i64);
        ctx.notify(notify::SET, event, dst);
    } else {
        ctx.out.int(0);
        if ctx.db().remove(dst).is_some() {
            ctx.dirty(1);
            ctx.notify(notify::GENERIC, "del", dst);
        }
    }
}

/// SINTER, SMEMBERS, SINTERCARD (`card_only`, stopping at `limit` when not 0)
/// and SINTERSTORE (`dst`).
fn inter_generic(ctx: &mut Ctx, keys: &[Bytes], dst: Option<&[u8]>, card_only: bool, limit: u64) {
    if !check_sources(ctx, keys) {
        return;
    }
    let max = max_intset(ctx);
    let dbi = ctx.client.db;
    let db = &ctx.srv.dbs[dbi];
    let found: Vec<Option<&Set>> = keys.iter().map(|k| set_ref(db, k)).collect();
    let sets: Vec<&Set> = found.iter().flatten().copied().collect();
    if sets.len() < found.len() {
        // A missing key is an empty set: so is the intersection.
        match dst {
            Some(d) => {
                // Redis deletes the destination before replying here.
                if ctx.db().remove(d).is_some() {
                    ctx.dirty(1);
                    ctx.notify(notify::GENERIC, "del", d);
                }
                ctx.out.int(0);
            }
            None if card_only => ctx.out.int(0),
            None => ctx.out.set_len(0),
        }
        return;
    }
    let mut sets = sets;
    sets.sort_by_key(|s| s.len());
    let first = sets[0];
    let others: Vec<&Set> = sets[1..].iter().copied().filter(|s| !std::ptr::eq(*s, first)).collect();
    if others.is_empty() && !card_only && dst.is_none() {
        // SMEMBERS (or one set intersected with itself): stream it.
        ctx.out.set_len(first.len());
        for m in first.iter() {
            write_member(ctx.out, m);
        }
        return;
    }
    let mut common = first.iter().filter(|m| others.iter().all(|s| s.contains_member(*m)));
    if card_only {
        let mut n: u64 = 0;
        for _ in common.by_ref() {
            n += 1;
            if limit != 0 && n >= limit {
                break;
            }
        }
        ctx.out.int(n as i64);
        return;
    }
    match dst {
        None => {
            let res: Vec<Member> = common.collect();
            ctx.out.set_len(res.len());
            for m in res {
                write_member(ctx.out, m);
            }
        }
        Some(d) => {
            let mut result = Set::new_intset();
            for m in common {
                result.add_member(m, max);
            }
            store(ctx, d, result, "sinterstore");
        }
    }
}

/// The union of `sets` (None = missing key), built as Redis does: into an
/// intset that converts when needed.
fn union_of(sets: &[Option<&Set>], max: usize) -> Set {
    let mut out = Set::new_intset();
    for s in sets.iter().flatten() {
        for m in s.iter() {
            out.add_member(m, max);
        }
    }
    out
}

/// The difference of the first set and the others, with Redis's choice
/// between its two algorithms (which decides the resulting encoding: the
/// second adds every member of the first set before removing the others).
fn diff_of(sets: &[Option<&Set>], max: usize) -> Set {
    let mut out = Set::new_intset();
    let Some(Some(first)) = sets.first() else { return out };
    let same = sets[1..].iter().flatten().any(|s| std::ptr::eq(*s, *first));
    if same {
        return out;
    }
    let present = sets.iter().flatten().count() as u64;
    let algo_one = present * first.len() as u64 / 2;
    let algo_two: u64 = sets.iter().flatten().map(|s| s.len() as u64).sum();
    if algo_one <= algo_two {
        for m in first.iter() {
            if !sets[1..].iter().flatten().any(|s| s.contains_member(m)) {
                out.add_member(m, max);
            }
        }
    } else {
        for m in first.iter() {
            out.add_member(m, max);
        }
        for s in sets[1..].iter().flatten() {
            if out.is_empty() {
                break;
            }
            for m in s.iter() {
                out.remove_member(m);
            }
        }
    }
    out
}

/// SUNION/SDIFF (`diff`) and their STORE forms (`dst`).
fn union_diff_generic(ctx: &mut Ctx, keys: &[Bytes], dst: Option<&[u8]>, diff: bool) {
    if !check_sources(ctx, keys) {
        return;
    }
    let max = max_intset(ctx);
    let dbi = ctx.client.db;
    let db = &ctx.srv.dbs[dbi];
    let sets: Vec<Option<&Set>> = keys.iter().map(|k| set_ref(db, k)).collect();
    let result = if diff { diff_of(&sets, max) } else { union_of(&sets, max) };
    drop(sets);
    match dst {
        Some(d) => store(ctx, d, result, if diff { "sdiffstore" } else { "sunionstore" }),
        None => {
            ctx.out.set_len(result.len());
            for m in result.iter() {
                write_member(ctx.out, m);
            }
        }
    }
}

fn sinter(ctx: &mut Ctx, args: &[Bytes]) {
    inter_generic(ctx, &args[1..], None, false, 0);
}

fn sinterstore(ctx: &mut Ctx, args: &[Bytes]) {
    inter_generic(ctx, &args[2..], Some(&args[1]), false, 0);
}

fn sintercard(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(numkeys) = range_arg(ctx, &args[1], 1, i64::MAX, "ERR numkeys should be greater than 0") else {
        return;
    };
    if numkeys > (args.len() - 2) as i64 {
        return ctx.err("ERR Number of keys can't be greater than number of args");
    }
    let numkeys = numkeys as usize;
    let mut limit = 0;
    let mut j = 2 + numkeys;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if eq_ic(cstr(&args[j]), b"limit") && more > 0 {
            j += 1;
            let Some(l) = range_arg(ctx, &args[j], 0, i64::MAX, "ERR LIMIT can't be negative") else { return };
            limit = l as u64;
        } else {
            return ctx.syntax();
        }
        j += 1;
    }
    inter_generic(ctx, &args[2..2 + numkeys], None, true, limit);
}

fn sunion(ctx: &mut Ctx, args: &[Bytes]) {
    union_diff_generic(ctx, &args[1..], None, false);
}

fn sunionstore(ctx: &mut Ctx, args: &[Bytes]) {
    union_diff_generic(ctx, &args[2..], Some(&args[1]), false);
}

fn sdiff(ctx: &mut Ctx, args: &[Bytes]) {
    union_diff_generic(ctx, &args[1..], None, true);
}

fn sdiffstore(ctx: &mut Ctx, args: &[Bytes]) {
    union_diff_generic(ctx, &args[2..], Some(&args[1]), true);
}

fn sscan(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(mut cursor) = super::keys::parse_cursor(&args[2]) else {
        return ctx.err("ERR invalid cursor");
    };
    match probe_read(ctx, &args[1]) {
        Found::Missing => {
            ctx.out.array_len(2);
            ctx.out.bulk(b"0");
            ctx.out.array_len(0);
            return;
        }
        Found::Other => return ctx.wrongtype(),
        Found::Set => {}
    }
    let mut count: i64 = 10;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 3;
    while i < args.len() {
        let more = args.len() - i;
        let opt = cstr(&args[i]);
        if eq_ic(opt, b"count") && more >= 2 {
            let Some(c) = ctx.int_arg(&args[i + 1]) else { return };
            if c < 1 {
                return ctx.syntax();
            }
            count = c;
        } else if eq_ic(opt, b"match") && more >= 2 {
            let p: &[u8] = &args[i + 1];
            pattern = if p == b"*" { None } else { Some(p) };
        } else {
            return ctx.syntax();
        }
        i += 2;
    }
    let dbi = ctx.client.db;
    let Some(s) = set_ref(&ctx.srv.dbs[dbi], &args[1]) else { return };
    // Dict's scan callback lends members only for the call: hashtable members are copied.
    let mut owned: Vec<crate::storage::SBytes> = Vec::new();
    let mut found: Vec<Member> = Vec::new();
    match s.table() {
        None => {
            found.extend(s.iter());
            cursor = 0;
        }
        Some(d) => {
            let mut budget = count.saturating_mul(10);
            loop {
                cursor = d.scan(cursor, |k, _| owned.push(crate::storage::SBytes::new(k)));
                if cursor == 0 || budget == 0 || owned.len() as i64 >= count {
                    break;
                }
                budget -= 1;
            }
            found.extend(owned.iter().map(|k| Member::Str(k.as_slice())));
        }
    }
    if let Some(p) = pattern {
        found.retain(|m| m.with_bytes(|b| glob_match(p, b, false)));
    }
    ctx.out.array_len(2);
    ctx.out.bulk(cursor.to_string().as_bytes());
    ctx.out.array_len(found.len());
    for m in found {
        write_member(ctx.out, m);
    }
}
