//! Keyspace commands: DEL, UNLINK, EXISTS, TOUCH, TYPE, RENAME(NX), KEYS, SCAN,
//! RANDOMKEY, DBSIZE, FLUSHDB, FLUSHALL, SELECT, SWAPDB, MOVE, COPY, OBJECT, and
//! key expiry (EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT, TTL/PTTL, EXPIRETIME/PEXPIRETIME,
//! PERSIST).

use super::{err, reply_help, Ctx, Handler};
use crate::server::notify;
use crate::storage::db::idle_secs;
use crate::storage::glob::glob_match;
use crate::storage::lazyfree;
use crate::storage::{Db, Entry};
use crate::util::{eq_ic, parse_i64};
use bytes::Bytes;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("del", del),
    ("unlink", unlink),
    ("exists", exists),
    ("touch", touch),
    ("type", type_cmd),
    ("rename", rename),
    ("renamenx", renamenx),
    ("keys", keys),
    ("scan", scan),
    ("randomkey", randomkey),
    ("dbsize", dbsize),
    ("flushdb", flushdb),
    ("flushall", flushall),
    ("select", select),
    ("swapdb", swapdb),
    ("move", move_cmd),
    ("copy", copy),
    ("expire", expire),
    ("pexpire", pexpire),
    ("expireat", expireat),
    ("pexpireat", pexpireat),
    ("ttl", ttl),
    ("pttl", pttl),
    ("expiretime", expiretime),
    ("pexpiretime", pexpiretime),
    ("persist", persist),
    ("object|encoding", object_encoding),
    ("object|refcount", object_refcount),
    ("object|idletime", object_idletime),
    ("object|freq", object_freq),
    ("object|help", object_help),
];

fn remove_keys(ctx: &mut Ctx, keys: &[Bytes], lazy: bool) {
    let now = ctx.now;
    let mut n = 0;
    for k in keys {
        let db = ctx.db();
        db.expire_if_needed(k, now);
        if let Some(e) = db.remove(k) {
            n += 1;
            lazyfree::free_entry(e, lazy);
            ctx.notify(notify::GENERIC, "del", k);
        }
    }
    ctx.notify_flush();
    ctx.dirty(n as u64);
    ctx.out.int(n);
}

fn del(ctx: &mut Ctx, args: &[Bytes]) {
    let lazy = ctx.srv.config.lazyfree_lazy_user_del;
    remove_keys(ctx, &args[1..], lazy);
}

fn unlink(ctx: &mut Ctx, args: &[Bytes]) {
    remove_keys(ctx, &args[1..], true);
}

/// Looks up a key without refreshing its access time, counting a hit or miss.
fn peek<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Option<&'c Entry> {
    ctx.notify_lookup(key, true);
    let now = ctx.now;
    let db = ctx.client.db;
    let found = ctx.srv.dbs[db].contains(key, now);
    if found {
        ctx.srv.stats.keyspace_hits += 1;
    } else {
        ctx.srv.stats.keyspace_misses += 1;
    }
    ctx.srv.dbs[db].peek(key, now)
}

fn exists(ctx: &mut Ctx, args: &[Bytes]) {
    let mut n = 0;
    for k in &args[1..] {
        if peek(ctx, k).is_some() {
            n += 1;
        }
    }
    ctx.out.int(n);
}

fn touch(ctx: &mut Ctx, args: &[Bytes]) {
    let mut n = 0;
    for k in &args[1..] {
        if ctx.lookup_read(k).is_some() {
            n += 1;
        }
    }
    ctx.out.int(n);
}

fn type_cmd(ctx: &mut Ctx, args: &[Bytes]) {
    let t = peek(ctx, &args[1]).map(|e| e.value.type_name()).unwrap_or("none");
    ctx.out.status(t);
}

fn rename_generic(ctx: &mut Ctx, args: &[Bytes], nx: bool) {
    let now = ctx.now;
    let (src, dst) = (&args[1], &args[2]);
    ctx.notify_lookup(src, false);
    if !ctx.db().contains(src, now) {
        ctx.err(err::NO_SUCH_KEY);
        return;
    }
    if src == dst {
        if nx {
            ctx.out.int(0);
        } else {
            ctx.out.ok();
        }
        return;
    }
    ctx.notify_lookup(dst, false);
    let lazy_server_del = ctx.srv.config.lazyfree_lazy_server_del;
    let db = ctx.db();
    if nx && db.contains(dst, now) {
        ctx.out.int(0);
        return;
    }
    let expire = db.get_expire(src);
    let Some(entry) = db.remove(src) else { return };
    if let Some(old) = db.remove(dst) {
        lazyfree::free_entry(old, lazy_server_del);
    }
    db.add_entry(dst, Entry::new(entry.value, entry.lru));
    if let Some(when) = expire {
        db.set_expire(dst, when);
    }
    ctx.key_ready(dst);
    ctx.dirty(1);
    ctx.notify(notify::GENERIC, "rename_from", src);
    ctx.notify(notify::GENERIC, "rename_to", dst);
    if nx {
        ctx.out.int(1);
    } else {
        ctx.out.ok();
    }
}

fn rename(ctx: &mut Ctx, args: &[Bytes]) {
    rename_generic(ctx, args, false);
}

fn renamenx(ctx: &mut Ctx, args: &[Bytes]) {
    rename_generic(ctx, args, true);
}

/// True when the key has a TTL that has passed (without deleting it).
fn is_stale(db: &Db, key: &[u8], now: i64) -> bool {
    db.get_expire(key).is_some_and(|w| w <= now)
}

fn keys(ctx: &mut Ctx, args: &[Bytes]) {
    let now = ctx.now;
    let pat = &args[1];
    let all = pat.as_ref() == b"*";
    let db = &ctx.srv.dbs[ctx.client.db];
    let found: Vec<crate::storage::SBytes> = db
        .main()
        .iter()
        .filter(|(k, _)| (all || glob_match(pat, k, false)) && !is_stale(db, k, now))
        .map(|(k, _)| crate::storage::SBytes::new(k))
        .collect();
    ctx.out.bulks(found.iter());
}

/// Parses a SCAN cursor as Redis does (an unsigned 64-bit number; a negative
/// number wraps as C's strtoull would).
pub fn parse_cursor(a: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(a).ok()?;
    if s.is_empty() {
        return Some(0);
    }
    if let Ok(v) = s.parse::<u64>() {
        return Some(v);
    }
    s.strip_prefix('-')?.parse::<u64>().ok().map(|v| v.wrapping_neg())
}

fn scan(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(mut cursor) = parse_cursor(&args[1]) else {
        ctx.err("ERR invalid cursor");
        return;
    };
    let mut count: i64 = 10;
    let mut pattern: Option<&[u8]> = None;
    let mut typ: Option<&[u8]> = None;
    let mut i = 2;
    while i < args.len() {
        let rest = args.len() - i - 1;
        if eq_ic(&args[i], b"count") && rest >= 1 {
            let Some(c) = ctx.int_arg(&args[i + 1]) else { return };
            if c < 1 {
                ctx.syntax();
                return;
            }
            count = c;
            i += 2;
        } else if eq_ic(&args[i], b"match") && rest >= 1 {
            pattern = Some(&args[i + 1]);
            i += 2;
        } else if eq_ic(&args[i], b"type") && rest >= 1 {
            typ = Some(&args[i + 1]);
            i += 2;
        } else {
            ctx.syntax();
            return;
        }
    }
    let now = ctx.now;
    let db = &mut ctx.srv.dbs[ctx.client.db];
    let mut found: Vec<crate::storage::SBytes> = Vec::new();
    let mut iterations = count * 10;
    loop {
        cursor = db.main().scan(cursor, |k, _| found.push(crate::storage::SBytes::new(k)));
        iterations -= 1;
        if cursor == 0 || iterations <= 0 || found.len() as i64 >= count {
            break;
        }
    }
    found.retain(|k| {
        if let Some(p) = pattern {
            if !(p == b"*" || glob_match(p, k, false)) {
                return false;
            }
        }
        if db.expire_if_needed(k, now) {
            return false;
        }
        if let Some(t) = typ {
            match db.main().get(k) {
                Some(e) if eq_ic(e.value.type_name().as_bytes(), t) => {}
                _ => return false,
            }
        }
        true
    });
    // Keys found expired were deleted: their events come before the reply.
    ctx.notify_flush();
    ctx.out.array_len(2);
    ctx.out.bulk(cursor.to_string().as_bytes());
    ctx.out.bulks(found.iter());
}

fn randomkey(ctx: &mut Ctx, _args: &[Bytes]) {
    let now = ctx.now;
    let dbi = ctx.client.db;
    let srv = &mut *ctx.srv;
    let k = srv.dbs[dbi].random_key(&mut srv.rng, now);
    ctx.notify_flush();
    match k {
        Some(k) => ctx.out.bulk(&k),
        None => ctx.out.null(),
    }
}

fn dbsize(ctx: &mut Ctx, _args: &[Bytes]) {
    let n = ctx.db().len();
    ctx.out.int(n as i64);
}

/// Parses the optional ASYNC|SYNC of FLUSHDB/FLUSHALL; None after a syntax error.
fn flush_mode(ctx: &mut Ctx, args: &[Bytes]) -> Option<bool> {
    match args.len() {
        1 => Some(ctx.srv.config.lazyfree_lazy_user_flush),
        2 if eq_ic(&args[1], b"async") => Some(true),
        2 if eq_ic(&args[1], b"sync") => Some(false),
        _ => {
            ctx.syntax();
            None
        }
    }
}

fn flush_db(db: &mut Db, lazy: bool) -> u64 {
    let n = db.len() as u64;
    let old = db.take_all();
    if lazy {
        lazyfree::free_objects(old, n as usize);
    }
    n
}

fn flushdb(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(lazy) = flush_mode(ctx, args) else { return };
    ctx.touch_flushed_db(ctx.client.db);
    crate::server::tracking::flushed(ctx.srv);
    let n = flush_db(ctx.db(), lazy);
    ctx.dirty(n);
    ctx.out.ok();
}

fn flushall(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(lazy) = flush_mode(ctx, args) else { return };
    let mut n = 0;
    for i in 0..ctx.srv.dbs.len() {
        ctx.touch_flushed_db(i);
        n += flush_db(&mut ctx.srv.dbs[i], lazy);
    }
    crate::server::tracking::flushed(ctx.srv);
    ctx.dirty(n + 1);
    crate::persist::after_flushall(ctx.srv);
    // Its save may have reset the dirty counter: propagated all the same.
    ctx.srv.propagation.force = true;
    ctx.out.ok();
}

/// Parses a database index: `Err` carries the error reply.
fn db_index(ctx: &Ctx, a: &[u8], not_int: &'static str) -> Result<usize, &'static str> {
    let Some(i) = parse_i64(a).filter(|&i| i >= i32::MIN as i64 && i <= i32::MAX as i64) else {
        return Err(not_int);
    };
    if i < 0 || i as usize >= ctx.srv.dbs.len() {
        return Err(err::DB_INDEX);
    }
    Ok(i as usize)
}

fn select(ctx: &mut Ctx, args: &[Bytes]) {
    match db_index(ctx, &args[1], err::NOT_INT) {
        Ok(i) => {
            ctx.client.db = i;
            ctx.out.ok();
        }
        Err(e) => ctx.err(e),
    }
}

fn swapdb(ctx: &mut Ctx, args: &[Bytes]) {
    let a = match db_index(ctx, &args[1], "ERR invalid first DB index") {
        Ok(i) => i,
        Err(e) => return ctx.err(e),
    };
    let b = match db_index(ctx, &args[2], "ERR invalid second DB index") {
        Ok(i) => i,
        Err(e) => return ctx.err(e),
    };
    if a != b {
        ctx.touch_swapped_dbs(a, b);
        let (lo, hi) = (a.min(b), a.max(b));
        let (x, y) = ctx.srv.dbs.split_at_mut(hi);
        let (da, db) = (&mut x[lo], &mut y[0]);
        da.swap_data(db);
        // Clients blocked on keys that now exist in a swapped database are served.
        let waiting: Vec<(usize, crate::storage::SBytes)> =
            ctx.srv.blocked_on.keys().filter(|(d, _)| *d == a || *d == b).cloned().collect();
        for (d, k) in waiting {
            if ctx.srv.dbs[d].main().contains_key(&k) {
                ctx.key_ready_in(d, &k);
            }
        }
        ctx.dirty(1);
    }
    ctx.out.ok();
}

fn move_cmd(ctx: &mut Ctx, args: &[Bytes]) {
    let dst = match db_index(ctx, &args[2], err::NOT_INT) {
        Ok(i) => i,
        Err(e) => return ctx.err(e),
    };
    let src = ctx.client.db;
    if src == dst {
        ctx.err("ERR source and destination objects are the same");
        return;
    }
    let now = ctx.now;
    let key = &args[1];
    if !ctx.srv.dbs[src].contains(key, now) || ctx.srv.dbs[dst].contains(key, now) {
        ctx.notify_flush();
        ctx.out.int(0);
        return;
    }
    let expire = ctx.srv.dbs[src].get_expire(key);
    let Some(e) = ctx.srv.dbs[src].remove(key) else { return };
    let d = &mut ctx.srv.dbs[dst];
    d.add_entry(key, Entry::new(e.value, e.lru));
    if let Some(w) = expire {
        d.set_expire(key, w);
    }
    ctx.key_ready_in(dst, key);
    ctx.dirty(1);
    ctx.notify_in(src, notify::GENERIC, "move_from", key);
    ctx.notify_in(dst, notify::GENERIC, "move_to", key);
    ctx.out.int(1);
}

fn copy(ctx: &mut Ctx, args: &[Bytes]) {
    let mut dst_db = ctx.client.db;
    let mut replace = false;
    let mut i = 3;
    while i < args.len() {
        if eq_ic(&args[i], b"replace") {
            replace = true;
            i += 1;
        } else if eq_ic(&args[i], b"db") && i + 1 < args.len() {
            dst_db = match db_index(ctx, &args[i + 1], err::NOT_INT) {
                Ok(d) => d,
                Err(e) => return ctx.err(e),
            };
            i += 2;
        } else {
            ctx.syntax();
            return;
        }
    }
    let (src, dst) = (&args[1], &args[2]);
    let src_db = ctx.client.db;
    if src_db == dst_db && src == dst {
        ctx.err("ERR source and destination objects are the same");
        return;
    }
    ctx.notify_lookup(src, true);
    let now = ctx.now;
    let Some(e) = ctx.srv.dbs[src_db].get(src, now) else {
        ctx.out.int(0);
        return;
    };
    let value = e.value.clone();
    let expire = ctx.srv.dbs[src_db].get_expire(src);
    let d = &mut ctx.srv.dbs[dst_db];
    if d.contains(dst, now) {
        if !replace {
            ctx.notify_flush();
            ctx.out.int(0);
            return;
        }
        d.remove(dst);
    }
    d.add(dst, value, now);
    if let Some(w) = expire {
        d.set_expire(dst, w);
    }
    ctx.key_ready_in(dst_db, dst);
    ctx.dirty(1);
    ctx.notify_in(dst_db, notify::GENERIC, "copy_to", dst);
    ctx.out.int(1);
}

/// Expiry conditions of EXPIRE and friends (XX may combine with GT or LT).
#[derive(Clone, Copy, Default)]
struct Cond {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

impl Cond {
    /// Whether a new expiry `when` may replace `current` (None = no TTL, which
    /// counts as an infinite TTL for GT and LT).
    fn allows(&self, current: Option<i64>, when: i64) -> bool {
        !(self.nx && current.is_some()
            || self.xx && current.is_none()
            || self.gt && current.is_none_or(|c| when <= c)
            || self.lt && current.is_some_and(|c| when >= c))
    }
}

fn parse_cond(ctx: &mut Ctx, args: &[Bytes]) -> Option<Cond> {
    let mut c = Cond::default();
    for a in args {
        if eq_ic(a, b"nx") {
            c.nx = true;
        } else if eq_ic(a, b"xx") {
            c.xx = true;
        } else if eq_ic(a, b"gt") {
            c.gt = true;
        } else if eq_ic(a, b"lt") {
            c.lt = true;
        } else {
            ctx.err(&format!("ERR Unsupported option {}", String::from_utf8_lossy(a)));
            return None;
        }
    }
    if c.nx && (c.xx || c.gt || c.lt) {
        ctx.err("ERR NX and XX, GT or LT options at the same time are not compatible");
        return None;
    }
    if c.gt && c.lt {
        ctx.err("ERR GT and LT options at the same time are not compatible");
        return None;
    }
    Some(c)
}

/// The EXPIRE family: `seconds` selects the unit, `absolute` the base time.
fn expire_generic(ctx: &mut Ctx, args: &[Bytes], seconds: bool, absolute: bool) {
    let Some(cond) = parse_cond(ctx, &args[3..]) else { return };
    let Some(mut when) = ctx.int_arg(&args[2]) else { return };
    let name = ctx.cmd.name.clone();
    let bad_time = format!("ERR invalid expire time in '{name}' command");
    if seconds {
        match when.checked_mul(1000) {
            Some(w) => when = w,
            None => return ctx.err(&bad_time),
        }
    }
    if !absolute {
        match when.checked_add(ctx.now) {
            Some(w) => when = w,
            None => return ctx.err(&bad_time),
        }
    }
    let now = ctx.now;
    let key = &args[1];
    ctx.notify_lookup(key, false);
    let db = ctx.db();
    if !db.contains(key, now) {
        ctx.out.int(0);
        return;
    }
    if !cond.allows(db.get_expire(key), when) {
        ctx.out.int(0);
        return;
    }
    if when <= now {
        db.remove(key);
        ctx.dirty(1);
        ctx.notify(notify::GENERIC, "del", key);
        ctx.out.int(1);
    } else {
        db.set_expire(key, when);
        ctx.dirty(1);
        ctx.out.int(1);
        ctx.notify(notify::GENERIC, "expire", key);
    }
}

fn expire(ctx: &mut Ctx, args: &[Bytes]) {
    expire_generic(ctx, args, true, false);
}
fn pexpire(ctx: &mut Ctx, args: &[Bytes]) {
    expire_generic(ctx, args, false, false);
}
fn expireat(ctx: &mut Ctx, args: &[Bytes]) {
    expire_generic(ctx, args, true, true);
}
fn pexpireat(ctx: &mut Ctx, args: &[Bytes]) {
    expire_generic(ctx, args, false, true);
}

/// TTL family: `ms` selects the unit, `absolute` whether to report the
/// expiry instant instead of the time left.
fn ttl_generic(ctx: &mut Ctx, args: &[Bytes], ms: bool, absolute: bool) {
    let now = ctx.now;
    if peek(ctx, &args[1]).is_none() {
        ctx.out.int(-2);
        return;
    }
    let Some(when) = ctx.db().get_expire(&args[1]) else {
        ctx.out.int(-1);
        return;
    };
    let t = if absolute { when } else { (when - now).max(0) };
    ctx.out.int(if ms { t } else { (t + 500) / 1000 });
}

fn ttl(ctx: &mut Ctx, args: &[Bytes]) {
    ttl_generic(ctx, args, false, false);
}
fn pttl(ctx: &mut Ctx, args: &[Bytes]) {
    ttl_generic(ctx, args, true, false);
}
fn expiretime(ctx: &mut Ctx, args: &[Bytes]) {
    ttl_generic(ctx, args, false, true);
}
fn pexpiretime(ctx: &mut Ctx, args: &[Bytes]) {
    ttl_generic(ctx, args, true, true);
}

fn persist(ctx: &mut Ctx, args: &[Bytes]) {
    ctx.notify_lookup(&args[1], false);
    let now = ctx.now;
    let db = ctx.db();
    if !db.contains(&args[1], now) {
        ctx.out.int(0);
        return;
    }
    let n = db.persist(&args[1]);
    if n {
        ctx.dirty(1);
        ctx.notify(notify::GENERIC, "persist", &args[1]);
    }
    ctx.out.int(n as i64);
}

/// OBJECT's key lookup: no LRU refresh, no hit/miss counting.
/// The entry OBJECT reports on: looked up without touching its LRU clock, but
/// counted as a keyspace hit or miss, as Redis does.
fn object_entry<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Option<&'c Entry> {
    ctx.notify_lookup(key, false);
    let now = ctx.now;
    let dbi = ctx.client.db;
    if ctx.srv.dbs[dbi].peek(key, now).is_some() {
        ctx.srv.stats.keyspace_hits += 1;
    } else {
        ctx.srv.stats.keyspace_misses += 1;
    }
    ctx.srv.dbs[dbi].main().get(key)
}

fn object_encoding(ctx: &mut Ctx, args: &[Bytes]) {
    match object_entry(ctx, &args[2]).map(|e| e.value.encoding()) {
        Some(enc) => ctx.out.bulk(enc.as_bytes()),
        None => ctx.out.null(),
    }
}

fn object_refcount(ctx: &mut Ctx, args: &[Bytes]) {
    let shared = ctx.srv.config.get("maxmemory") == Some("0") || !lru_or_lfu_policy(ctx);
    match object_entry(ctx, &args[2]) {
        // Redis shares the objects of small integers (0..9999) between keys.
        Some(e) if shared && matches!(e.value, crate::storage::Value::Int(n) if (0..10000).contains(&n)) => {
            ctx.out.int(i32::MAX as i64)
        }
        Some(_) => ctx.out.int(1),
        None => ctx.out.null(),
    }
}

fn lru_or_lfu_policy(ctx: &Ctx) -> bool {
    ctx.srv.config.get("maxmemory-policy").is_some_and(|p| p.contains("lru") || p.contains("lfu"))
}

fn lfu_policy(ctx: &Ctx) -> bool {
    ctx.srv.config.maxmemory_policy.is_lfu()
}

fn object_idletime(ctx: &mut Ctx, args: &[Bytes]) {
    let lfu = lfu_policy(ctx);
    let now = ctx.now;
    let Some(lru) = object_entry(ctx, &args[2]).map(|e| e.lru) else {
        ctx.out.null();
        return;
    };
    if lfu {
        ctx.err("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.");
        return;
    }
    ctx.out.int(idle_secs(lru, now) as i64);
}

fn object_freq(ctx: &mut Ctx, args: &[Bytes]) {
    let lfu = lfu_policy(ctx);
    let (now, decay) = (ctx.now, ctx.srv.config.lfu_decay_time);
    let Some(field) = object_entry(ctx, &args[2]).map(|e| e.lru) else {
        ctx.out.null();
        return;
    };
    if !lfu {
        ctx.err("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.");
        return;
    }
    ctx.out.int(crate::storage::lru::lfu_counter(field, decay, now) as i64);
}

fn object_help(ctx: &mut Ctx, _args: &[Bytes]) {
    reply_help(
        ctx,
        "OBJECT",
        &[
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
        ],
    );
}
