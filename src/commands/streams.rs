//! Stream commands: XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM, XSETID,
//! XINFO, XGROUP, XREAD, XREADGROUP, XACK, XPENDING, XCLAIM and XAUTOCLAIM,
//! with Redis 7.0's argument parsing, replies, errors, keyspace events and
//! consumer-group bookkeeping (the storage lives in `storage::stream`).
//! XREAD/XREADGROUP BLOCK use the blocking machinery of `commands::blocking`:
//! a blocked read is stored with its `$` IDs resolved, and re-run when a key
//! it waits on gets data, is deleted or loses its group.

use super::{err, Ctx, Handler};
use crate::resp::Reply;
use crate::server::client::TimeoutReply;
use crate::server::notify;
use crate::server::propagate::stream as propagate_stream;
use crate::storage::db::KeyEvent;
use crate::storage::stream::{
    lp::Ele, parse_id, AppendError, Fields, IdSpec, Nack, NodeLimits, Stream, StreamId, TrimArgs, TrimStrategy,
    INVALID_ENTRIES_READ,
};
use crate::storage::{SBytes, Value};
use crate::util::eq_ic;
use bytes::Bytes;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("xadd", xadd),
    ("xlen", xlen),
    ("xrange", xrange),
    ("xrevrange", xrevrange),
    ("xdel", xdel),
    ("xtrim", xtrim),
    ("xsetid", xsetid),
    ("xinfo|stream", xinfo_stream),
    ("xinfo|groups", xinfo_groups),
    ("xinfo|consumers", xinfo_consumers),
    ("xinfo|help", xinfo_help),
    ("xgroup|create", xgroup),
    ("xgroup|setid", xgroup),
    ("xgroup|destroy", xgroup),
    ("xgroup|createconsumer", xgroup),
    ("xgroup|delconsumer", xgroup),
    ("xgroup|help", xgroup_help),
    ("xread", xread),
    ("xreadgroup", xread),
    ("xack", xack),
    ("xpending", xpending),
    ("xclaim", xclaim),
    ("xautoclaim", xautoclaim),
];

const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";
/// COUNT a blocked read uses when none was given (`XREAD_BLOCKED_DEFAULT_COUNT`).
const BLOCKED_DEFAULT_COUNT: i64 = 1000;

// ---------------------------------------------------------------------------
// Helpers

/// A key as C's `%s` shows it in an error (up to the first NUL).
fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

enum Got<'c> {
    Missing,
    Wrong,
    Stream(&'c mut Stream),
}

/// Looks `key` up; `read` counts a keyspace hit or miss. The lookup is not
/// shown to WATCH: of the stream commands only XADD, XDEL and XTRIM touch
/// watched keys (Redis's `signalModifiedKey`), and they use `lookup_noted`.
fn lookup<'c>(ctx: &'c mut Ctx, key: &[u8], read: bool) -> (Got<'c>, &'c mut Reply) {
    lookup_with(ctx, key, read, false)
}

fn lookup_noted<'c>(ctx: &'c mut Ctx, key: &[u8], read: bool) -> (Got<'c>, &'c mut Reply) {
    lookup_with(ctx, key, read, true)
}

fn lookup_with<'c>(ctx: &'c mut Ctx, key: &[u8], read: bool, noted: bool) -> (Got<'c>, &'c mut Reply) {
    let read = read && !ctx.serving_blocked;
    ctx.notify_lookup(key, read);
    let now = ctx.now;
    let db = ctx.client.db;
    let srv = &mut *ctx.srv;
    let d = &mut srv.dbs[db];
    let before = d.key_events.len();
    let found = d.get(key, now).is_some();
    if !noted && d.key_events.len() > before {
        let mut i = before;
        while i < d.key_events.len() {
            if matches!(d.key_events[i].1, KeyEvent::Looked { .. }) && d.key_events[i].0.as_slice() == key {
                d.key_events.remove(i);
            } else {
                i += 1;
            }
        }
    }
    if read {
        if found {
            srv.stats.keyspace_hits += 1;
        } else {
            srv.stats.keyspace_misses += 1;
        }
    }
    let got = match srv.dbs[db].entry_mut(key) {
        None => Got::Missing,
        Some(e) => match &mut e.value {
            Value::Stream(s) => Got::Stream(s),
            _ => Got::Wrong,
        },
    };
    (got, &mut *ctx.out)
}

fn node_limits(ctx: &Ctx) -> NodeLimits {
    NodeLimits { max_bytes: ctx.srv.config.stream_node_max_bytes, max_entries: ctx.srv.config.stream_node_max_entries }
}

fn strict_id(ctx: &mut Ctx, a: &[u8]) -> Option<StreamId> {
    match parse_id(a, 0, true, false) {
        Some((id, _)) => Some(id),
        None => {
            ctx.err(INVALID_ID);
            None
        }
    }
}

/// Redis's `streamParseIntervalIDOrReply`: `(` makes the bound exclusive.
fn interval_id(ctx: &mut Ctx, a: &[u8], missing_seq: u64) -> Option<(StreamId, bool)> {
    if a.len() > 1 && a[0] == b'(' {
        match parse_id(&a[1..], missing_seq, true, false) {
            Some((id, _)) => Some((id, true)),
            None => {
                ctx.err(INVALID_ID);
                None
            }
        }
    } else {
        match parse_id(a, missing_seq, false, false) {
            Some((id, _)) => Some((id, false)),
            None => {
                ctx.err(INVALID_ID);
                None
            }
        }
    }
}

/// Start of an interval, with `(` applied.
fn interval_start(ctx: &mut Ctx, a: &[u8]) -> Option<StreamId> {
    let (id, ex) = interval_id(ctx, a, 0)?;
    if ex {
        match id.incr() {
            Some(i) => return Some(i),
            None => {
                ctx.err("ERR invalid start ID for the interval");
                return None;
            }
        }
    }
    Some(id)
}

fn interval_end(ctx: &mut Ctx, a: &[u8]) -> Option<StreamId> {
    let (id, ex) = interval_id(ctx, a, u64::MAX)?;
    if ex {
        match id.decr() {
            Some(i) => return Some(i),
            None => {
                ctx.err("ERR invalid end ID for the interval");
                return None;
            }
        }
    }
    Some(id)
}

pub fn reply_id(out: &mut Reply, id: StreamId) {
    let mut b = itoa::Buffer::new();
    let mut s = Vec::with_capacity(44);
    s.extend_from_slice(b.format(id.ms).as_bytes());
    s.push(b'-');
    s.extend_from_slice(b.format(id.seq).as_bytes());
    out.bulk(&s);
}

fn reply_ele(out: &mut Reply, e: &Ele) {
    match *e {
        Ele::Str(s) => out.bulk(s),
        Ele::Int(n) => out.bulk_int(n),
    }
}

/// One entry: `[id, [field, value, ...]]`.
fn reply_entry(out: &mut Reply, id: StreamId, f: &Fields) {
    out.array_len(2);
    reply_id(out, id);
    out.array_len(f.len() * 2);
    for (k, v) in f {
        reply_ele(out, k);
        reply_ele(out, v);
    }
}

fn scratch(resp: u8) -> Reply {
    Reply { buf: bytes::BytesMut::new(), resp }
}

/// Entries from `start` to `end` (at most `count`, 0 = all) as an array.
fn reply_range(out: &mut Reply, s: &Stream, start: StreamId, end: StreamId, count: usize, rev: bool) -> usize {
    let mut tmp = scratch(out.resp);
    let mut n = 0;
    s.range(start, end, rev, |id, f| {
        reply_entry(&mut tmp, id, f);
        n += 1;
        count == 0 || n < count
    });
    out.array_len(n);
    out.raw(&tmp.buf);
    n
}

/// The single entry `id`, if it exists; returns whether it was emitted.
fn reply_one(out: &mut Reply, s: &Stream, id: StreamId) -> bool {
    let mut done = false;
    s.range(id, id, false, |id, f| {
        reply_entry(out, id, f);
        done = true;
        false
    });
    done
}

/// The consumer `name` of group `g`, created when missing (Redis's
/// `streamLookupConsumer` + `streamCreateConsumer`); refreshes its seen time.
/// Returns true when it was created.
fn touch_consumer(g: &mut crate::storage::stream::Group, name: &[u8], now: i64) -> bool {
    match g.consumers.get_mut(name) {
        Some(c) => {
            c.seen_time = now;
            false
        }
        None => {
            g.consumers
                .insert(name.to_vec(), crate::storage::stream::Consumer { seen_time: now, ..Default::default() });
            true
        }
    }
}

// ---------------------------------------------------------------------------
// XADD / XTRIM argument parsing

struct AddTrim {
    trim: TrimArgs,
    /// Position of the ID (XADD) or where parsing stopped.
    idpos: usize,
    id: Option<(StreamId, bool)>,
    nomkstream: bool,
    /// Position of the MAXLEN/MINID argument (for the `~` report).
    _strategy_arg: usize,
}

/// Redis's `streamParseAddOrTrimArgsOrReply`.
fn parse_add_trim(ctx: &mut Ctx, args: &[Bytes], xadd: bool) -> Option<AddTrim> {
    let mut a = AddTrim {
        trim: TrimArgs { strategy: TrimStrategy::None, approx: false, limit: 0 },
        idpos: 2,
        id: None,
        nomkstream: false,
        _strategy_arg: 0,
    };
    let argc = args.len();
    let mut limit_given = false;
    let mut i = 2;
    while i < argc {
        let moreargs = argc - 1 - i;
        let opt = &args[i][..];
        if xadd && opt == b"*" {
            break;
        } else if (eq_ic(opt, b"maxlen") || eq_ic(opt, b"minid")) && moreargs > 0 {
            if !matches!(a.trim.strategy, TrimStrategy::None) {
                ctx.err("ERR syntax error, MAXLEN and MINID options at the same time are not compatible");
                return None;
            }
            // An optional `~` (approximate) or `=` before the threshold.
            let next = &args[i + 1][..];
            a.trim.approx = moreargs >= 2 && next == b"~";
            if moreargs >= 2 && (next == b"~" || next == b"=") {
                i += 1;
            }
            a.trim.strategy = if eq_ic(opt, b"maxlen") {
                let v = ctx.int_arg(&args[i + 1])?;
                if v < 0 {
                    ctx.err("ERR The MAXLEN argument must be >= 0.");
                    return None;
                }
                TrimStrategy::MaxLen(v as u64)
            } else {
                TrimStrategy::MinId(strict_id(ctx, &args[i + 1])?)
            };
            i += 1;
            a._strategy_arg = i;
        } else if eq_ic(opt, b"limit") && moreargs > 0 {
            let v = ctx.int_arg(&args[i + 1])?;
            if v < 0 {
                ctx.err("ERR The LIMIT argument must be >= 0.");
                return None;
            }
            a.trim.limit = v;
            limit_given = true;
            i += 1;
        } else if xadd && eq_ic(opt, b"nomkstream") {
            a.nomkstream = true;
        } else if xadd {
            match parse_id(opt, 0, true, true) {
                Some(v) => a.id = Some(v),
                None => {
                    ctx.err(INVALID_ID);
                    return None;
                }
            }
            break;
        } else {
            ctx.syntax();
            return None;
        }
        i += 1;
    }
    a.idpos = i;
    if a.trim.limit != 0 && matches!(a.trim.strategy, TrimStrategy::None) {
        ctx.err("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy");
        return None;
    }
    if !xadd && matches!(a.trim.strategy, TrimStrategy::None) {
        ctx.err("ERR syntax error, XTRIM must be called with a trimming strategy");
        return None;
    }
    if ctx.client.must_obey() {
        // From the AOF or a master: the threshold was rewritten to what the
        // trim reached, so no LIMIT applies (Redis's `mustObeyClient`).
        a.trim.limit = 0;
    } else if limit_given {
        if !a.trim.approx {
            ctx.err("ERR syntax error, LIMIT cannot be used without the special ~ option");
            return None;
        }
    } else if a.trim.approx {
        let l = 100i64.saturating_mul(ctx.srv.config.stream_node_max_entries);
        a.trim.limit = if l <= 0 || l > 10000 { 10000 } else { l };
    } else {
        a.trim.limit = 0;
    }
    Some(a)
}

// ---------------------------------------------------------------------------
// Basic commands

/// XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value [field value ...]
fn xadd(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(a) = parse_add_trim(ctx, args, true) else { return };
    let field_pos = a.idpos + 1;
    let nf = args.len() as i64 - field_pos as i64;
    if nf < 2 || nf % 2 == 1 {
        ctx.err("ERR wrong number of arguments for 'xadd' command");
        return;
    }
    if let Some((id, true)) = a.id {
        if id.is_zero() {
            ctx.err("ERR The ID specified in XADD must be greater than 0-0");
            return;
        }
    }
    let spec = match a.id {
        None => IdSpec::Auto,
        Some((id, true)) => IdSpec::Exact(id),
        Some((id, false)) => IdSpec::Ms(id.ms),
    };
    let lim = node_limits(ctx);
    let fv: Vec<&[u8]> = args[field_pos..].iter().map(|b| &b[..]).collect();
    let now_ms = crate::util::now_ms().max(0) as u64;
    let key = &args[1];
    let (got, _) = lookup_noted(ctx, key, false);
    let res = match got {
        Got::Wrong => {
            ctx.wrongtype();
            return;
        }
        Got::Missing => {
            if a.nomkstream {
                ctx.out.null();
                return;
            }
            let mut s = Stream::new();
            let r = s.append(&fv, spec, lim, now_ms);
            let now = ctx.now;
            ctx.db().add(key, Value::from(s), now);
            r
        }
        Got::Stream(s) => {
            if s.last_id == StreamId::MAX {
                ctx.err("ERR The stream has exhausted the last possible ID, unable to add more items");
                return;
            }
            s.append(&fv, spec, lim, now_ms)
        }
    };
    let id = match res {
        Ok(id) => id,
        Err(AppendError::IdTooSmall) => {
            ctx.err("ERR The ID specified in XADD is equal or smaller than the target stream top item");
            return;
        }
        Err(AppendError::TooLarge) => {
            ctx.err("ERR Elements are too large to be stored");
            return;
        }
    };
    ctx.notify_flush();
    reply_id(ctx.out, id);
    ctx.notify(notify::STREAM, "xadd", key);
    ctx.dirty(1);
    if !matches!(a.trim.strategy, TrimStrategy::None) {
        let trimmed = match lookup_noted(ctx, key, false).0 {
            Got::Stream(s) => s.trim(&a.trim),
            _ => 0,
        };
        if trimmed > 0 {
            ctx.notify(notify::STREAM, "xtrim", key);
        }
    }
    ctx.key_ready(key);
}

/// XLEN key
fn xlen(ctx: &mut Ctx, args: &[Bytes]) {
    match lookup(ctx, &args[1], true) {
        (Got::Missing, out) => out.int(0),
        (Got::Wrong, _) => ctx.wrongtype(),
        (Got::Stream(s), out) => out.int(s.len() as i64),
    }
}

fn xrange_generic(ctx: &mut Ctx, args: &[Bytes], rev: bool) {
    let (sa, ea) = if rev { (&args[3], &args[2]) } else { (&args[2], &args[3]) };
    let Some(start) = interval_start(ctx, sa) else { return };
    let Some(end) = interval_end(ctx, ea) else { return };
    let mut count: i64 = -1;
    let mut j = 4;
    while j < args.len() {
        if eq_ic(&args[j], b"count") && j + 1 < args.len() {
            let Some(c) = ctx.int_arg(&args[j + 1]) else { return };
            count = c.max(0);
            j += 2;
        } else {
            ctx.syntax();
            return;
        }
    }
    match lookup(ctx, &args[1], true) {
        (Got::Missing, out) => out.array_len(0),
        (Got::Wrong, _) => ctx.wrongtype(),
        (Got::Stream(s), out) => {
            if count == 0 {
                out.null_array();
            } else {
                let c = if count < 0 { 0 } else { count as usize };
                reply_range(out, s, start, end, c, rev);
            }
        }
    }
}

/// XRANGE key start end [COUNT count]
fn xrange(ctx: &mut Ctx, args: &[Bytes]) {
    xrange_generic(ctx, args, false);
}

/// XREVRANGE key end start [COUNT count]
fn xrevrange(ctx: &mut Ctx, args: &[Bytes]) {
    xrange_generic(ctx, args, true);
}

/// XDEL key id [id ...]
fn xdel(ctx: &mut Ctx, args: &[Bytes]) {
    match lookup_noted(ctx, &args[1], false).0 {
        Got::Missing => {
            ctx.out.int(0);
            return;
        }
        Got::Wrong => {
            ctx.wrongtype();
            return;
        }
        Got::Stream(_) => {}
    }
    let mut ids = Vec::with_capacity(args.len() - 2);
    for a in &args[2..] {
        let Some(id) = strict_id(ctx, a) else { return };
        ids.push(id);
    }
    let deleted = match lookup_noted(ctx, &args[1], false).0 {
        Got::Stream(s) => {
            let mut deleted = 0;
            let mut first_entry = false;
            for id in ids {
                if s.delete(id) {
                    if id == s.first_id {
                        first_entry = true;
                    }
                    if id > s.max_deleted_entry_id {
                        s.max_deleted_entry_id = id;
                    }
                    deleted += 1;
                }
            }
            if deleted > 0 {
                if s.length == 0 {
                    s.first_id = StreamId::ZERO;
                } else if first_entry {
                    s.first_id = s.edge_id(true).unwrap_or(StreamId::ZERO);
                }
            }
            deleted
        }
        _ => 0,
    };
    if deleted > 0 {
        ctx.notify(notify::STREAM, "xdel", &args[1]);
        ctx.dirty(deleted);
    }
    ctx.out.int(deleted as i64);
}

/// XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]
fn xtrim(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(a) = parse_add_trim(ctx, args, false) else { return };
    let deleted = match lookup_noted(ctx, &args[1], false).0 {
        Got::Missing => {
            ctx.out.int(0);
            return;
        }
        Got::Wrong => {
            ctx.wrongtype();
            return;
        }
        Got::Stream(s) => s.trim(&a.trim),
    };
    if deleted > 0 {
        ctx.notify(notify::STREAM, "xtrim", &args[1]);
        ctx.dirty(deleted as u64);
    }
    ctx.out.int(deleted);
}

/// XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]
fn xsetid(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(id) = strict_id(ctx, &args[2]) else { return };
    let mut entries_added: i64 = -1;
    let mut max_xdel = StreamId::ZERO;
    let mut i = 3;
    while i < args.len() {
        let more = args.len() - 1 - i;
        if eq_ic(&args[i], b"entriesadded") && more > 0 {
            let Some(v) = ctx.int_arg(&args[i + 1]) else { return };
            if v < 0 {
                ctx.err("ERR entries_added must be positive");
                return;
            }
            entries_added = v;
            i += 2;
        } else if eq_ic(&args[i], b"maxdeletedid") && more > 0 {
            let Some(v) = strict_id(ctx, &args[i + 1]) else { return };
            if id < v {
                ctx.err("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id");
                return;
            }
            max_xdel = v;
            i += 2;
        } else {
            ctx.syntax();
            return;
        }
    }
    let s = match lookup(ctx, &args[1], false).0 {
        Got::Missing => {
            ctx.err(err::NO_SUCH_KEY);
            return;
        }
        Got::Wrong => {
            ctx.wrongtype();
            return;
        }
        Got::Stream(s) => s,
    };
    if s.length > 0 {
        let maxid = s.last_valid_id();
        if id < maxid {
            ctx.err("ERR The ID specified in XSETID is smaller than the target stream top item");
            return;
        }
        if entries_added != -1 && s.length > entries_added as u64 {
            ctx.err("ERR The entries_added specified in XSETID is smaller than the target stream length");
            return;
        }
    }
    s.last_id = id;
    if entries_added != -1 {
        s.entries_added = entries_added as u64;
    }
    if !max_xdel.is_zero() {
        s.max_deleted_entry_id = max_xdel;
    }
    ctx.out.ok();
    ctx.dirty(1);
    ctx.notify(notify::STREAM, "xsetid", &args[1]);
}

// ---------------------------------------------------------------------------
// XINFO

fn subcommand_syntax_error(ctx: &mut Ctx, args: &[Bytes]) {
    let sub: String = String::from_utf8_lossy(&args[1]).chars().take(128).collect();
    let msg = format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        sub,
        String::from_utf8_lossy(&args[0]).to_ascii_uppercase()
    );
    ctx.err(&msg);
}

fn xinfo_help(ctx: &mut Ctx, _args: &[Bytes]) {
    super::reply_help(
        ctx,
        "XINFO",
        &[
            "CONSUMERS <key> <groupname>",
            "    Show consumers of <groupname>.",
            "GROUPS <key>",
            "    Show the stream consumer groups.",
            "STREAM <key> [FULL [COUNT <count>]",
            "    Show information about the stream.",
        ],
    );
}

/// Looks the XINFO key up: `ERR no such key` when missing.
fn xinfo_lookup<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Option<(&'c mut Stream, &'c mut Reply)> {
    match lookup(ctx, key, true) {
        (Got::Stream(_), _) => {}
        (Got::Missing, _) => {
            ctx.err(err::NO_SUCH_KEY);
            return None;
        }
        (Got::Wrong, _) => {
            ctx.wrongtype();
            return None;
        }
    }
    // Second lookup without statistics (the first counted).
    stream_again(ctx, key)
}

fn reply_lag(out: &mut Reply, s: &Stream, g: &crate::storage::stream::Group) {
    match s.group_lag(g) {
        Some(l) => out.int(l),
        None => out.null(),
    }
}

fn reply_entries_read(out: &mut Reply, v: i64) {
    if v != INVALID_ENTRIES_READ {
        out.int(v);
    } else {
        out.null();
    }
}

/// XINFO CONSUMERS key group
fn xinfo_consumers(ctx: &mut Ctx, args: &[Bytes]) {
    let now = crate::util::now_ms();
    let Some((s, out)) = xinfo_lookup(ctx, &args[2]) else { return };
    let Some(g) = s.group(&args[3]) else {
        let msg = format!("NOGROUP No such consumer group '{}' for key name '{}'", cstr(&args[3]), cstr(&args[2]));
        ctx.err(&msg);
        return;
    };
    out.array_len(g.consumers.len());
    for (name, c) in &g.consumers {
        out.map_len(3);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"pending");
        out.int(c.pel.len() as i64);
        out.bulk(b"idle");
        out.int(now.wrapping_sub(c.seen_time).max(0));
    }
}

/// XINFO GROUPS key
fn xinfo_groups(ctx: &mut Ctx, args: &[Bytes]) {
    let Some((s, out)) = xinfo_lookup(ctx, &args[2]) else { return };
    out.array_len(s.group_count());
    for (name, g) in s.groups() {
        out.map_len(6);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"consumers");
        out.int(g.consumers.len() as i64);
        out.bulk(b"pending");
        out.int(g.pel.len() as i64);
        out.bulk(b"last-delivered-id");
        reply_id(out, g.last_id);
        out.bulk(b"entries-read");
        reply_entries_read(out, g.entries_read);
        out.bulk(b"lag");
        reply_lag(out, s, g);
    }
}

/// XINFO STREAM key [FULL [COUNT count]]
fn xinfo_stream(ctx: &mut Ctx, args: &[Bytes]) {
    let mut full = false;
    let mut count: i64 = 10;
    if args.len() > 3 {
        if !eq_ic(&args[3], b"full") || !(args.len() == 4 || (args.len() == 6 && eq_ic(&args[4], b"count"))) {
            // The key is looked up first, as in Redis.
            if xinfo_lookup(ctx, &args[2]).is_some() {
                subcommand_syntax_error(ctx, args);
            }
            return;
        }
        full = true;
        if args.len() == 6 {
            let Some((_, _)) = xinfo_lookup(ctx, &args[2]) else { return };
            let Some(c) = ctx.int_arg(&args[5]) else { return };
            count = if c < 0 { 10 } else { c };
            let Some((s, out)) = stream_again(ctx, &args[2]) else { return };
            return info_full(out, s, count as usize);
        }
    }
    let Some((s, out)) = xinfo_lookup(ctx, &args[2]) else { return };
    if full {
        return info_full(out, s, count as usize);
    }
    out.map_len(10);
    info_head(out, s);
    out.bulk(b"groups");
    out.int(s.group_count() as i64);
    out.bulk(b"first-entry");
    if !reply_first(out, s, false) {
        out.null();
    }
    out.bulk(b"last-entry");
    if !reply_first(out, s, true) {
        out.null();
    }
}

/// The stream at `key` again (already checked to exist), without statistics.
fn stream_again<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Option<(&'c mut Stream, &'c mut Reply)> {
    let db = ctx.client.db;
    let now = ctx.now;
    if ctx.srv.dbs[db].key_is_expired(key, now) {
        return None;
    }
    let e = ctx.srv.dbs[db].entry_mut(key)?;
    match &mut e.value {
        Value::Stream(s) => Some((s, &mut *ctx.out)),
        _ => None,
    }
}

fn reply_first(out: &mut Reply, s: &Stream, last: bool) -> bool {
    let mut done = false;
    s.range(StreamId::ZERO, StreamId::MAX, last, |id, f| {
        reply_entry(out, id, f);
        done = true;
        false
    });
    done
}

fn info_head(out: &mut Reply, s: &Stream) {
    out.bulk(b"length");
    out.int(s.length as i64);
    out.bulk(b"radix-tree-keys");
    out.int(s.nodes.len() as i64);
    out.bulk(b"radix-tree-nodes");
    out.int(s.rax_nodes() as i64);
    out.bulk(b"last-generated-id");
    reply_id(out, s.last_id);
    out.bulk(b"max-deleted-entry-id");
    reply_id(out, s.max_deleted_entry_id);
    out.bulk(b"entries-added");
    out.int(s.entries_added as i64);
    out.bulk(b"recorded-first-entry-id");
    reply_id(out, s.first_id);
}

fn info_full(out: &mut Reply, s: &Stream, count: usize) {
    out.map_len(9);
    info_head(out, s);
    out.bulk(b"entries");
    reply_range(out, s, StreamId::ZERO, StreamId::MAX, count, false);
    out.bulk(b"groups");
    out.array_len(s.group_count());
    for (name, g) in s.groups() {
        out.map_len(7);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"last-delivered-id");
        reply_id(out, g.last_id);
        out.bulk(b"entries-read");
        reply_entries_read(out, g.entries_read);
        out.bulk(b"lag");
        reply_lag(out, s, g);
        out.bulk(b"pel-count");
        out.int(g.pel.len() as i64);
        out.bulk(b"pending");
        let n = if count == 0 { g.pel.len() } else { g.pel.len().min(count) };
        out.array_len(n);
        for (id, nack) in g.pel.iter().take(n) {
            out.array_len(4);
            reply_id(out, *id);
            out.bulk(nack.consumer.as_slice());
            out.int(nack.delivery_time);
            out.int(nack.delivery_count as i64);
        }
        out.bulk(b"consumers");
        out.array_len(g.consumers.len());
        for (cname, c) in &g.consumers {
            out.map_len(4);
            out.bulk(b"name");
            out.bulk(cname);
            out.bulk(b"seen-time");
            out.int(c.seen_time);
            out.bulk(b"pel-count");
            out.int(c.pel.len() as i64);
            out.bulk(b"pending");
            let n = if count == 0 { c.pel.len() } else { c.pel.len().min(count) };
            out.array_len(n);
            for id in c.pel.iter().take(n) {
                out.array_len(3);
                reply_id(out, *id);
                let (t, dc) = g.pel.get(id).map_or((0, 0), |x| (x.delivery_time, x.delivery_count));
                out.int(t);
                out.int(dc as i64);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// XGROUP

fn xgroup_help(ctx: &mut Ctx, _args: &[Bytes]) {
    super::reply_help(
        ctx,
        "XGROUP",
        &[
            "CREATE <key> <groupname> <id|$> [option]",
            "    Create a new consumer group. Options are:",
            "    * MKSTREAM",
            "      Create the empty stream if it does not exist.",
            "    * ENTRIESREAD entries_read",
            "      Set the group's entries_read counter (internal use).",
            "CREATECONSUMER <key> <groupname> <consumer>",
            "    Create a new consumer in the specified group.",
            "DELCONSUMER <key> <groupname> <consumer>",
            "    Remove the specified consumer.",
            "DESTROY <key> <groupname>",
            "    Remove the specified group.",
            "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
            "    Set the current group ID and entries_read counter.",
        ],
    );
}

/// XGROUP CREATE|SETID|DESTROY|CREATECONSUMER|DELCONSUMER ...
fn xgroup(ctx: &mut Ctx, args: &[Bytes]) {
    let opt = &args[1][..];
    let argc = args.len();
    let create = eq_ic(opt, b"create");
    let setid = eq_ic(opt, b"setid");
    let mut mkstream = false;
    let mut entries_read = INVALID_ENTRIES_READ;
    let mut i = 5;
    while i < argc {
        if create && eq_ic(&args[i], b"mkstream") {
            mkstream = true;
            i += 1;
        } else if (create || setid) && eq_ic(&args[i], b"entriesread") && i + 1 < argc {
            let Some(v) = ctx.int_arg(&args[i + 1]) else { return };
            if v < 0 && v != INVALID_ENTRIES_READ {
                ctx.err("ERR value for ENTRIESREAD must be positive or -1");
                return;
            }
            entries_read = v;
            i += 2;
        } else {
            subcommand_syntax_error(ctx, args);
            return;
        }
    }
    let key = &args[2];
    let grp = &args[3];
    let exists = match lookup(ctx, key, false).0 {
        Got::Wrong => {
            ctx.wrongtype();
            return;
        }
        Got::Missing => false,
        Got::Stream(_) => true,
    };
    if !mkstream {
        if !exists {
            ctx.err(
                "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use \
                 the MKSTREAM option to create an empty stream automatically.",
            );
            return;
        }
        let has_group = match lookup(ctx, key, false).0 {
            Got::Stream(s) => s.group(grp).is_some(),
            _ => false,
        };
        if !has_group && (setid || eq_ic(opt, b"createconsumer") || eq_ic(opt, b"delconsumer")) {
            let msg = format!("NOGROUP No such consumer group '{}' for key name '{}'", cstr(grp), cstr(key));
            ctx.err(&msg);
            return;
        }
    }
    if create && (5..=8).contains(&argc) {
        let id = if &args[4][..] == b"$" {
            match lookup(ctx, key, false).0 {
                Got::Stream(s) => s.last_id,
                _ => StreamId::ZERO,
            }
        } else {
            let Some(id) = strict_id(ctx, &args[4]) else { return };
            id
        };
        if !exists {
            let now = ctx.now;
            ctx.db().add(key, Value::from(Stream::new()), now);
        }
        let created = match lookup(ctx, key, false).0 {
            Got::Stream(s) => s.create_group(grp, id, entries_read),
            _ => false,
        };
        if created {
            ctx.notify_flush();
            ctx.out.ok();
            ctx.dirty(1);
            ctx.notify(notify::STREAM, "xgroup-create", key);
        } else {
            ctx.notify_flush();
            ctx.err("BUSYGROUP Consumer Group name already exists");
        }
    } else if setid && (argc == 5 || argc == 7) {
        let id = if &args[4][..] == b"$" {
            match lookup(ctx, key, false).0 {
                Got::Stream(s) => s.last_id,
                _ => StreamId::ZERO,
            }
        } else {
            match parse_id(&args[4], 0, false, false) {
                Some((id, _)) => id,
                None => {
                    ctx.err(INVALID_ID);
                    return;
                }
            }
        };
        if let Got::Stream(s) = lookup(ctx, key, false).0 {
            if let Some(g) = s.group_mut(grp) {
                g.last_id = id;
                g.entries_read = entries_read;
            }
        }
        ctx.out.ok();
        ctx.dirty(1);
        ctx.notify(notify::STREAM, "xgroup-setid", key);
    } else if eq_ic(opt, b"destroy") && argc == 4 {
        let destroyed = match lookup(ctx, key, false).0 {
            Got::Stream(s) => s.destroy_group(grp),
            _ => false,
        };
        if destroyed {
            ctx.out.int(1);
            ctx.dirty(1);
            ctx.notify(notify::STREAM, "xgroup-destroy", key);
            ctx.key_ready(key);
        } else {
            ctx.out.int(0);
        }
    } else if eq_ic(opt, b"createconsumer") && argc == 5 {
        let now = crate::util::now_ms();
        let created = match lookup(ctx, key, false).0 {
            Got::Stream(s) => s.group_mut(grp).is_some_and(|g| {
                if g.consumers.contains_key(&args[4][..]) {
                    false
                } else {
                    touch_consumer(g, &args[4], now)
                }
            }),
            _ => false,
        };
        if created {
            ctx.dirty(1);
            ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
        }
        ctx.out.int(created as i64);
    } else if eq_ic(opt, b"delconsumer") && argc == 5 {
        let pending = match lookup(ctx, key, false).0 {
            Got::Stream(s) => s.group_mut(grp).and_then(|g| g.del_consumer(&args[4])),
            _ => None,
        };
        if pending.is_some() {
            ctx.dirty(1);
            ctx.notify(notify::STREAM, "xgroup-delconsumer", key);
        }
        ctx.out.int(pending.unwrap_or(0) as i64);
    } else {
        subcommand_syntax_error(ctx, args);
    }
}

// ---------------------------------------------------------------------------
// XREAD / XREADGROUP

/// What a stream argument of XREAD asks for.
#[derive(Clone, Copy)]
enum ReadId {
    /// Entries after this ID.
    After(StreamId),
    /// `>`: entries never delivered to the group.
    New,
}

/// XREAD [COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...]
/// XREADGROUP GROUP group consumer [COUNT count] [BLOCK milliseconds] [NOACK] STREAMS key [key ...] id [id ...]
fn xread(ctx: &mut Ctx, args: &[Bytes]) {
    let xreadgroup = args[0].len() == 10;
    let mut timeout: Option<Option<i64>> = None; // None: no BLOCK; Some(None): forever
    let mut count: i64 = 0;
    let mut count_given = false;
    let mut streams_arg = 0;
    let mut noack = false;
    let mut group: Option<(&Bytes, &Bytes)> = None;
    let argc = args.len();
    let mut i = 1;
    while i < argc {
        let more = argc - i - 1;
        let o = &args[i][..];
        if eq_ic(o, b"block") && more > 0 {
            if ctx.no_block && ctx.client.multi < 0 {
                let msg = format!(
                    "ERR {} command is not allowed with BLOCK option from scripts",
                    String::from_utf8_lossy(&args[0])
                );
                ctx.err(&msg);
                return;
            }
            i += 1;
            let Some(ms) = crate::util::parse_i64(&args[i]) else {
                ctx.err("ERR timeout is not an integer or out of range");
                return;
            };
            if ms < 0 {
                ctx.err("ERR timeout is negative");
                return;
            }
            // Redis 7.0 adds the time without an overflow check.
            timeout = Some(if ms == 0 { None } else { Some(ms.wrapping_add(ctx.now)) });
        } else if eq_ic(o, b"count") && more > 0 {
            i += 1;
            let Some(c) = ctx.int_arg(&args[i]) else { return };
            count = c.max(0);
            count_given = true;
        } else if eq_ic(o, b"streams") && more > 0 {
            streams_arg = i + 1;
            if !(argc - streams_arg).is_multiple_of(2) {
                ctx.err("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.");
                return;
            }
            break;
        } else if eq_ic(o, b"group") && more >= 2 {
            if !xreadgroup {
                ctx.err("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.");
                return;
            }
            group = Some((&args[i + 1], &args[i + 2]));
            i += 2;
        } else if eq_ic(o, b"noack") {
            if !xreadgroup {
                ctx.err("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.");
                return;
            }
            noack = true;
        } else {
            ctx.syntax();
            return;
        }
        i += 1;
    }
    if streams_arg == 0 {
        ctx.syntax();
        return;
    }
    if xreadgroup && group.is_none() {
        ctx.err("ERR Missing GROUP option for XREADGROUP");
        return;
    }
    let n = (argc - streams_arg) / 2;
    let keys = &args[streams_arg..streams_arg + n];
    let id_args = &args[streams_arg + n..];
    if ctx.serving_blocked {
        return serve_blocked(ctx, args, keys, id_args, group, count, noack);
    }
    let mut ids: Vec<ReadId> = Vec::with_capacity(n);
    for (k, a) in keys.iter().zip(id_args) {
        let (got, _) = lookup(ctx, k, true);
        let s = match got {
            Got::Wrong => {
                ctx.wrongtype();
                return;
            }
            Got::Missing => None,
            Got::Stream(s) => Some(s),
        };
        if let Some((g, _)) = group {
            if s.as_ref().and_then(|s| s.group(g)).is_none() {
                let msg = format!(
                    "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
                    cstr(k),
                    cstr(g)
                );
                ctx.err(&msg);
                return;
            }
        }
        if &a[..] == b"$" {
            if xreadgroup {
                ctx.err(
                    "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of \
                     this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would \
                     just return an empty result set.",
                );
                return;
            }
            ids.push(ReadId::After(s.map_or(StreamId::ZERO, |s| s.last_id)));
            continue;
        }
        if &a[..] == b">" {
            if !xreadgroup {
                ctx.err(
                    "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> \
                     <consumer> option.",
                );
                return;
            }
            ids.push(ReadId::New);
            continue;
        }
        let Some(id) = strict_id(ctx, a) else { return };
        // The largest ID stands for `>` (Redis encodes `>` that way).
        ids.push(if xreadgroup && id == StreamId::MAX { ReadId::New } else { ReadId::After(id) });
    }
    // Serve what can be served now.
    let mut tmp = scratch(ctx.out.resp);
    let mut served = 0usize;
    let now = crate::util::now_ms();
    for (k, rid) in keys.iter().zip(ids.iter()) {
        let (got, _) = lookup(ctx, k, true);
        let Got::Stream(s) = got else { continue };
        let n = read_one(&mut tmp, s, k, *rid, group, count as usize, noack, now, false);
        if let Some(created) = n {
            served += 1;
            if group.is_some() {
                ctx.dirty(1 + created as u64);
                if created {
                    ctx.notify(notify::STREAM, "xgroup-createconsumer", k);
                    propagate_stream::consumer_created(ctx.srv, k);
                }
            }
        }
    }
    if served > 0 {
        if ctx.out.resp == 2 {
            ctx.out.array_len(served);
        } else {
            ctx.out.map_len(served);
        }
        ctx.out.raw(&tmp.buf);
        return;
    }
    let Some(deadline) = timeout else {
        ctx.out.null_array();
        return;
    };
    // Block: `$` resolved to the IDs it stood for, and a default COUNT.
    let mut stored: Vec<Bytes> = Vec::with_capacity(argc + 2);
    // The options as given, the default COUNT after them (so it wins over
    // an explicit COUNT 0), then STREAMS and the keys.
    stored.extend(args[..streams_arg - 1].iter().cloned());
    if !count_given || count == 0 {
        stored.push(Bytes::from_static(b"COUNT"));
        stored.push(Bytes::from(BLOCKED_DEFAULT_COUNT.to_string()));
    }
    stored.extend(args[streams_arg - 1..streams_arg + n].iter().cloned());
    for rid in &ids {
        match rid {
            ReadId::New => stored.push(Bytes::from_static(b">")),
            ReadId::After(id) => stored.push(Bytes::from(id.to_text())),
        }
    }
    ctx.block(&stored, keys, deadline, TimeoutReply::NullArray);
}

/// Serves one stream of an XREAD/XREADGROUP into `out` as `key, entries`
/// (an array of two in RESP2). None when there is nothing to serve;
/// Some(consumer created) otherwise. `blocked`: the serving rules of a woken
/// client (the stream's last ID decides).
#[allow(clippy::too_many_arguments)]
fn read_one(
    out: &mut Reply,
    s: &mut Stream,
    key: &[u8],
    rid: ReadId,
    group: Option<(&Bytes, &Bytes)>,
    count: usize,
    noack: bool,
    now: i64,
    blocked: bool,
) -> Option<bool> {
    let (start, history) = match (group, rid) {
        (None, ReadId::After(gt)) => {
            let top = if blocked { s.last_id } else { s.last_valid_id() };
            if s.length == 0 && !blocked || top <= gt {
                return None;
            }
            (gt.incr()?, false)
        }
        (Some((g, _)), ReadId::New) => {
            let last = s.group(g)?.last_id;
            let top = if blocked { s.last_id } else { s.last_valid_id() };
            if s.length == 0 && !blocked || top <= last {
                return None;
            }
            (last.incr()?, false)
        }
        (Some(_), ReadId::After(gt)) => (gt.incr().unwrap_or(StreamId::MAX), true),
        (None, ReadId::New) => return None,
    };
    if out.resp == 2 {
        out.array_len(2);
    }
    out.bulk(key);
    let Some((gname, cname)) = group else {
        reply_range(out, s, start, StreamId::MAX, count, false);
        return Some(false);
    };
    let created = match s.group_mut(gname) {
        Some(g) => touch_consumer(g, cname, now),
        None => false,
    };
    if history {
        history_reply(out, s, gname, cname, start, count, now);
        return Some(created);
    }
    // New entries: deliver, advance the group, record them as pending.
    let mut tmp = scratch(out.resp);
    let mut delivered: Vec<(StreamId, bool, i64)> = Vec::new();
    s.range(start, StreamId::MAX, false, |id, f| {
        reply_entry(&mut tmp, id, f);
        delivered.push((id, false, 0));
        count == 0 || delivered.len() < count
    });
    for d in delivered.iter_mut() {
        d.1 = s.range_has_tombstones(Some(d.0), None);
        d.2 = s.estimate_distance(d.0);
    }
    let entries_added = s.entries_added;
    if let Some(g) = s.group_mut(gname) {
        for &(id, tomb, est) in &delivered {
            if id > g.last_id {
                if g.entries_read != INVALID_ENTRIES_READ && !tomb {
                    g.entries_read = g.entries_read.wrapping_add(1);
                } else if entries_added != 0 {
                    g.entries_read = est;
                }
                g.last_id = id;
            }
            if !noack {
                match g.pel.get_mut(&id) {
                    Some(n) => {
                        n.delivery_time = now;
                        n.delivery_count = 1;
                    }
                    None => {
                        g.pel.insert(id, Nack { delivery_time: now, delivery_count: 1, consumer: SBytes::new(cname) });
                    }
                }
                g.assign(id, cname);
            }
        }
    }
    out.array_len(delivered.len());
    out.raw(&tmp.buf);
    Some(created)
}

/// A consumer's pending entries from `start` (Redis's
/// `streamReplyWithRangeFromConsumerPEL`): deleted entries show a null body.
fn history_reply(out: &mut Reply, s: &mut Stream, gname: &[u8], cname: &[u8], start: StreamId, count: usize, now: i64) {
    let ids: Vec<StreamId> = match s.group(gname).and_then(|g| g.consumers.get(cname)) {
        Some(c) => c.pel.range(start..).take(if count == 0 { usize::MAX } else { count }).copied().collect(),
        None => Vec::new(),
    };
    out.array_len(ids.len());
    let mut found = Vec::with_capacity(ids.len());
    for &id in &ids {
        if reply_one(out, s, id) {
            found.push(id);
        } else {
            out.array_len(2);
            reply_id(out, id);
            out.null_array();
        }
    }
    if let Some(g) = s.group_mut(gname) {
        for id in found {
            if let Some(n) = g.pel.get_mut(&id) {
                n.delivery_time = now;
                n.delivery_count = n.delivery_count.wrapping_add(1);
            }
        }
    }
}

/// Re-runs a blocked XREAD/XREADGROUP: serves the first key that has data;
/// a deleted key or group ends an XREADGROUP with an error; else it blocks on.
fn serve_blocked(
    ctx: &mut Ctx,
    args: &[Bytes],
    keys: &[Bytes],
    id_args: &[Bytes],
    group: Option<(&Bytes, &Bytes)>,
    count: i64,
    noack: bool,
) {
    let now = crate::util::now_ms();
    let mut error: Option<&str> = None;
    for (k, a) in keys.iter().zip(id_args) {
        let rid = if &a[..] == b">" {
            ReadId::New
        } else {
            match parse_id(a, 0, true, false) {
                Some((id, _)) => ReadId::After(id),
                None => continue,
            }
        };
        let mut tmp = scratch(ctx.out.resp);
        let (got, _) = lookup(ctx, k, false);
        let s = match got {
            Got::Stream(s) => s,
            _ => {
                if group.is_some() && error.is_none() {
                    error = Some("UNBLOCKED the stream key no longer exists");
                }
                continue;
            }
        };
        if let Some((g, _)) = group {
            if s.group(g).is_none() {
                if error.is_none() {
                    error = Some("NOGROUP the consumer group this client was blocked on no longer exists");
                }
                continue;
            }
        }
        if let Some(created) = read_one(&mut tmp, s, k, rid, group, count as usize, noack, now, true) {
            if created {
                ctx.dirty(1);
                ctx.notify(notify::STREAM, "xgroup-createconsumer", k);
                propagate_stream::consumer_created(ctx.srv, k);
            }
            if ctx.out.resp == 2 {
                ctx.out.array_len(1);
            } else {
                ctx.out.map_len(1);
            }
            ctx.out.raw(&tmp.buf);
            return;
        }
    }
    if let Some(e) = error {
        ctx.err(e);
        return;
    }
    ctx.block(args, keys, None, TimeoutReply::NullArray);
}

// ---------------------------------------------------------------------------
// XACK / XPENDING / XCLAIM / XAUTOCLAIM

/// XACK key group id [id ...]
fn xack(ctx: &mut Ctx, args: &[Bytes]) {
    let has_group = match lookup(ctx, &args[1], true).0 {
        Got::Wrong => {
            ctx.wrongtype();
            return;
        }
        Got::Missing => false,
        Got::Stream(s) => s.group(&args[2]).is_some(),
    };
    if !has_group {
        ctx.out.int(0);
        return;
    }
    let mut ids = Vec::with_capacity(args.len() - 3);
    for a in &args[3..] {
        let Some(id) = strict_id(ctx, a) else { return };
        ids.push(id);
    }
    let acked = match lookup(ctx, &args[1], false).0 {
        Got::Stream(s) => match s.group_mut(&args[2]) {
            Some(g) => ids.iter().filter(|&&id| g.remove_nack(id).is_some()).count(),
            None => 0,
        },
        _ => 0,
    };
    ctx.dirty(acked as u64);
    ctx.out.int(acked as i64);
}

fn nogroup(ctx: &mut Ctx, key: &[u8], group: &[u8]) {
    let msg = format!("NOGROUP No such key '{}' or consumer group '{}'", cstr(key), cstr(group));
    ctx.err(&msg);
}

/// XPENDING key group [[IDLE min-idle-time] start end count [consumer]]
fn xpending(ctx: &mut Ctx, args: &[Bytes]) {
    let argc = args.len();
    let justinfo = argc == 3;
    if argc != 3 && !(6..=9).contains(&argc) {
        ctx.syntax();
        return;
    }
    let mut start = StreamId::ZERO;
    let mut end = StreamId::MAX;
    let mut count: i64 = 0;
    let mut minidle: i64 = 0;
    let mut consumer: Option<&Bytes> = None;
    if argc >= 6 {
        let mut idx = 3;
        if eq_ic(&args[3], b"idle") {
            let Some(v) = ctx.int_arg(&args[4]) else { return };
            minidle = v;
            if argc < 8 {
                ctx.syntax();
                return;
            }
            idx += 2;
        }
        let Some(c) = ctx.int_arg(&args[idx + 2]) else { return };
        count = c.max(0);
        let Some(s) = interval_start(ctx, &args[idx]) else { return };
        let Some(e) = interval_end(ctx, &args[idx + 1]) else { return };
        start = s;
        end = e;
        if idx + 3 < argc {
            consumer = Some(&args[idx + 3]);
        }
    }
    let now = ctx.now;
    let (got, out) = lookup(ctx, &args[1], true);
    let s = match got {
        Got::Wrong => return ctx.wrongtype(),
        Got::Missing => return nogroup(ctx, &args[1], &args[2]),
        Got::Stream(s) => s,
    };
    let Some(g) = s.group(&args[2]) else { return nogroup(ctx, &args[1], &args[2]) };
    if justinfo {
        out.array_len(4);
        out.int(g.pel.len() as i64);
        let (Some(first), Some(last)) = (g.pel.keys().next(), g.pel.keys().next_back()) else {
            out.null();
            out.null();
            out.null_array();
            return;
        };
        reply_id(out, *first);
        reply_id(out, *last);
        let with: Vec<_> = g.consumers.iter().filter(|(_, c)| !c.pel.is_empty()).collect();
        out.array_len(with.len());
        for (name, c) in with {
            out.array_len(2);
            out.bulk(name);
            out.bulk_int(c.pel.len() as i64);
        }
        return;
    }
    let ids: Vec<StreamId> = match consumer {
        Some(cn) => match g.consumers.get(&cn[..]) {
            Some(c) => c.pel.range(start..).take_while(|&&id| id <= end).copied().collect(),
            None => {
                out.array_len(0);
                return;
            }
        },
        None => g.pel.range(start..).take_while(|(&id, _)| id <= end).map(|(id, _)| *id).collect(),
    };
    if start > end {
        out.array_len(0);
        return;
    }
    let mut tmp = scratch(out.resp);
    let mut n = 0;
    for id in ids {
        if count == 0 {
            break;
        }
        let Some(nack) = g.pel.get(&id) else { continue };
        if minidle != 0 && now.wrapping_sub(nack.delivery_time) < minidle {
            continue;
        }
        n += 1;
        count -= 1;
        tmp.array_len(4);
        reply_id(&mut tmp, id);
        tmp.bulk(nack.consumer.as_slice());
        tmp.int((now.wrapping_sub(nack.delivery_time)).max(0));
        tmp.int(nack.delivery_count as i64);
    }
    out.array_len(n);
    out.raw(&tmp.buf);
}

/// XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME ms]
/// [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID lastid]
fn xclaim(ctx: &mut Ctx, args: &[Bytes]) {
    let has_group = match lookup(ctx, &args[1], true).0 {
        Got::Wrong => return ctx.wrongtype(),
        Got::Missing => false,
        Got::Stream(s) => s.group(&args[2]).is_some(),
    };
    if !has_group {
        return nogroup(ctx, &args[1], &args[2]);
    }
    let Some(minidle) = crate::util::parse_i64(&args[4]) else {
        ctx.err("ERR Invalid min-idle-time argument for XCLAIM");
        return;
    };
    let minidle = minidle.max(0);
    let mut j = 5;
    let mut ids = Vec::new();
    while j < args.len() {
        match parse_id(&args[j], 0, true, false) {
            Some((id, _)) => ids.push(id),
            None => break,
        }
        j += 1;
    }
    let now = ctx.now;
    let mut force = false;
    let mut justid = false;
    let mut deliverytime: i64 = -1;
    let mut retrycount: i64 = -1;
    let mut last_id = StreamId::ZERO;
    while j < args.len() {
        let more = args.len() - 1 - j;
        let opt = &args[j][..];
        if eq_ic(opt, b"force") {
            force = true;
        } else if eq_ic(opt, b"justid") {
            justid = true;
        } else if (eq_ic(opt, b"idle") || eq_ic(opt, b"time") || eq_ic(opt, b"retrycount")) && more > 0 {
            j += 1;
            let name = String::from_utf8_lossy(opt).to_ascii_uppercase();
            let Some(v) = crate::util::parse_i64(&args[j]) else {
                ctx.err(&format!("ERR Invalid {name} option argument for XCLAIM"));
                return;
            };
            match name.as_str() {
                "IDLE" => deliverytime = now.wrapping_sub(v),
                "TIME" => deliverytime = v,
                _ => retrycount = v,
            }
        } else if eq_ic(opt, b"lastid") && more > 0 {
            j += 1;
            let Some(v) = strict_id(ctx, &args[j]) else { return };
            last_id = v;
        } else {
            let msg = format!("ERR Unrecognized XCLAIM option '{}'", cstr(opt));
            ctx.err(&msg);
            return;
        }
        j += 1;
    }
    let deliverytime = if deliverytime != -1 {
        if deliverytime < 0 || deliverytime > now {
            now
        } else {
            deliverytime
        }
    } else {
        now
    };
    let cname = &args[3][..];
    let (got, out) = lookup(ctx, &args[1], false);
    let Got::Stream(s) = got else { return };
    let mut dirty = 0u64;
    let mut created = false;
    let mut tmp = scratch(out.resp);
    let mut n = 0usize;
    // Redis counts the group's new last ID as a change only when nothing
    // else was (it is then propagated on its own).
    let mut propagate_last_id = false;
    {
        let Some(g) = s.group_mut(&args[2]) else { return };
        if last_id > g.last_id {
            g.last_id = last_id;
            propagate_last_id = true;
        }
    }
    let mut consumer_ready = false;
    // Pending entries of deleted entries, dropped: propagation needs them.
    let mut dropped = Vec::new();
    for (k, id) in ids.into_iter().enumerate() {
        let exists = s.entry_exists(id);
        let Some(g) = s.group_mut(&args[2]) else { break };
        if !exists {
            if let Some(nack) = g.remove_nack(id) {
                dropped.push((5 + k, id, nack));
                dirty += 1;
                propagate_last_id = false;
            }
            continue;
        }
        let mut fresh = false;
        if force && !g.pel.contains_key(&id) {
            g.pel.insert(id, Nack { delivery_time: now, delivery_count: 1, consumer: SBytes::new(b"") });
            fresh = true;
        }
        let Some(nack) = g.pel.get(&id) else { continue };
        if !fresh && minidle != 0 && now.wrapping_sub(nack.delivery_time) < minidle {
            continue;
        }
        if !consumer_ready {
            created = touch_consumer(g, cname, now);
            consumer_ready = true;
        }
        if fresh {
            // No previous owner.
            if let Some(c) = g.consumers.get_mut(cname) {
                c.pel.insert(id);
            }
            if let Some(nk) = g.pel.get_mut(&id) {
                nk.consumer = SBytes::new(cname);
            }
        } else {
            g.assign(id, cname);
        }
        if let Some(nk) = g.pel.get_mut(&id) {
            nk.delivery_time = deliverytime;
            if retrycount >= 0 {
                nk.delivery_count = retrycount as u64;
            } else if !justid {
                nk.delivery_count = nk.delivery_count.wrapping_add(1);
            }
        }
        if justid {
            reply_id(&mut tmp, id);
        } else if !reply_one(&mut tmp, s, id) {
            tmp.null();
        }
        n += 1;
        dirty += 1;
        propagate_last_id = false;
    }
    if propagate_last_id {
        dirty += 1;
    }
    out.array_len(n);
    out.raw(&tmp.buf);
    if created {
        dirty += 1;
        ctx.notify(notify::STREAM, "xgroup-createconsumer", &args[1]);
    }
    propagate_stream::dropped_nacks(ctx.srv, dropped);
    ctx.dirty(dirty);
}

/// XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]
fn xautoclaim(ctx: &mut Ctx, args: &[Bytes]) {
    let exists = match lookup(ctx, &args[1], true).0 {
        Got::Wrong => None,
        Got::Missing => Some(false),
        Got::Stream(s) => Some(s.group(&args[2]).is_some()),
    };
    let Some(minidle) = crate::util::parse_i64(&args[4]) else {
        ctx.err("ERR Invalid min-idle-time argument for XAUTOCLAIM");
        return;
    };
    let minidle = minidle.max(0);
    let Some(start) = interval_start(ctx, &args[5]) else { return };
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if eq_ic(&args[j], b"count") && more > 0 {
            let max_count = i64::MAX / 16;
            match crate::util::parse_i64(&args[j + 1]) {
                Some(v) if (1..=max_count).contains(&v) => count = v,
                _ => {
                    ctx.err("ERR COUNT must be > 0");
                    return;
                }
            }
            j += 1;
        } else if eq_ic(&args[j], b"justid") {
            justid = true;
        } else {
            ctx.syntax();
            return;
        }
        j += 1;
    }
    match exists {
        None => return ctx.wrongtype(),
        Some(false) => return nogroup(ctx, &args[1], &args[2]),
        Some(true) => {}
    }
    // Redis allocates `count` IDs up front; beyond the address space that fails.
    if count > (1i64 << 47) / 16 {
        ctx.err("ERR Insufficient memory, failed allocating transient memory, COUNT too high.");
        return;
    }
    let now = ctx.now;
    let cname = &args[3][..];
    let (got, out) = lookup(ctx, &args[1], false);
    let Got::Stream(s) = got else { return };
    let mut attempts = count.saturating_mul(10);
    let mut tmp = scratch(out.resp);
    let mut n = 0usize;
    let mut deleted: Vec<StreamId> = Vec::new();
    let mut dropped = Vec::new();
    let mut dirty = 0u64;
    let mut created = false;
    let mut consumer_ready = false;
    let mut cursor = start;
    let mut next: Option<StreamId> = None;
    while let Some(g) = s.group(&args[2]) {
        let candidate = g.pel.range(cursor..).next().map(|(id, _)| *id);
        if attempts == 0 || count == 0 {
            next = candidate;
            break;
        }
        attempts -= 1;
        let Some(id) = candidate else {
            next = None;
            break;
        };
        cursor = match id.incr() {
            Some(c) => c,
            None => StreamId::MAX,
        };
        let exists = s.entry_exists(id);
        let Some(g) = s.group_mut(&args[2]) else { break };
        if !exists {
            if let Some(nack) = g.remove_nack(id) {
                dropped.push((0, id, nack));
            }
            deleted.push(id);
            dirty += 1;
            count -= 1;
            if id == StreamId::MAX {
                break;
            }
            continue;
        }
        let idle_ok = g.pel.get(&id).is_some_and(|nk| minidle == 0 || now.wrapping_sub(nk.delivery_time) >= minidle);
        if idle_ok {
            if !consumer_ready {
                created = touch_consumer(g, cname, now);
                consumer_ready = true;
            }
            g.assign(id, cname);
            if let Some(nk) = g.pel.get_mut(&id) {
                nk.delivery_time = now;
                if !justid {
                    nk.delivery_count = nk.delivery_count.wrapping_add(1);
                }
            }
            if justid {
                reply_id(&mut tmp, id);
            } else {
                reply_one(&mut tmp, s, id);
            }
            n += 1;
            count -= 1;
            dirty += 1;
        }
        if id == StreamId::MAX {
            break;
        }
    }
    out.array_len(3);
    reply_id(out, next.unwrap_or(StreamId::ZERO));
    out.array_len(n);
    out.raw(&tmp.buf);
    out.array_len(deleted.len());
    for id in deleted {
        reply_id(out, id);
    }
    if created {
        dirty += 1;
        ctx.notify(notify::STREAM, "xgroup-createconsumer", &args[1]);
    }
    propagate_stream::dropped_nacks(ctx.srv, dropped);
    ctx.dirty(dirty);
}
