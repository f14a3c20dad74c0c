//! Propagation of the stream commands, as Redis 7.0's t_stream.c does it:
//! XADD's generated ID and XADD/XTRIM's approximate trims (`~`) become the
//! exact ID and threshold they reached; XREADGROUP, XCLAIM and XAUTOCLAIM
//! are never written themselves but as one idempotent `XCLAIM key group
//! consumer 0 id TIME ms RETRYCOUNT n FORCE JUSTID LASTID id` per entry they
//! delivered, claimed or dropped, `XGROUP SETID ... ENTRIESREAD n` when a
//! NOACK read or an XCLAIM LASTID alone moved the group, and `XGROUP
//! CREATECONSUMER` for a consumer a NOACK read created. Everything else of
//! the family goes out as sent. The rewrites read the command's reply and
//! the stream as the command left it; what only the command saw (pending
//! entries it dropped, consumers it created) it notes here while it runs.

use super::{b, num, parse_at, push, wanted, R};
use crate::server::Server;
use crate::storage::stream::{lp, parse_id, Group, Nack, Stream, StreamId};
use crate::storage::Value;
use crate::util::eq_ic;
use bytes::Bytes;

/// What the running stream command noted for its propagation.
#[derive(Default)]
pub struct Notes {
    /// Pending entries dropped because their entry was deleted, in order.
    dropped: Vec<Dropped>,
    /// Keys on which XREADGROUP created its consumer, in order.
    created: Vec<Bytes>,
}

/// A pending entry as it was before XCLAIM/XAUTOCLAIM dropped it.
struct Dropped {
    /// XCLAIM's argument naming it (0 for XAUTOCLAIM).
    arg: usize,
    id: StreamId,
    consumer: Vec<u8>,
    time: i64,
    count: u64,
}

/// XCLAIM/XAUTOCLAIM dropped these pending entries (argument index, ID,
/// the entry as it was) because their stream entries no longer exist.
pub fn dropped_nacks(srv: &mut Server, nacks: Vec<(usize, StreamId, Nack)>) {
    if nacks.is_empty() || !wanted(srv) {
        return;
    }
    for (arg, id, n) in nacks {
        srv.propagation.stream.dropped.push(Dropped {
            arg,
            id,
            consumer: n.consumer.as_slice().to_vec(),
            time: n.delivery_time,
            count: n.delivery_count,
        });
    }
}

/// XREADGROUP created its consumer in the group of `key`.
pub fn consumer_created(srv: &mut Server, key: &[u8]) {
    if wanted(srv) {
        srv.propagation.stream.created.push(Bytes::copy_from_slice(key));
    }
}

/// After a stream command (a name starting with `x`) ran in `db`: records
/// the commands that redo it. XREADGROUP propagates what it delivered even
/// when the dirty counter stayed (a blocked read served).
pub fn after_call(srv: &mut Server, db: usize, name: &str, args: &[Bytes], reply: &[u8], changed: bool) {
    let notes = std::mem::take(&mut srv.propagation.stream);
    if !changed && name != "xreadgroup" {
        return;
    }
    let cmds = match name {
        "xadd" => xadd(srv, db, args, reply),
        "xtrim" => xtrim(srv, db, args),
        "xreadgroup" => xreadgroup(srv, db, args, reply, notes),
        "xclaim" => xclaim(srv, db, args, reply, notes),
        "xautoclaim" => xautoclaim(srv, db, args, reply, notes),
        _ => vec![args.to_vec()],
    };
    for cmd in cmds {
        push(srv, db, cmd);
    }
}

fn stream<'a>(srv: &'a Server, db: usize, key: &[u8]) -> Option<&'a Stream> {
    match &srv.dbs.get(db)?.main().get(key)?.value {
        Value::Stream(s) => {
            let s: &Stream = s;
            Some(s)
        }
        _ => None,
    }
}

fn group<'a>(srv: &'a Server, db: usize, key: &[u8], name: &[u8]) -> Option<&'a Group> {
    stream(srv, db, key)?.group(name)
}

fn id_arg(id: StreamId) -> Bytes {
    Bytes::from(id.to_text())
}

fn strict_id(a: &[u8]) -> Option<StreamId> {
    parse_id(a, 0, true, false).map(|(id, _)| id)
}

/// The reply's first frame that is not a push (keyspace events a RESP3
/// client subscribed to may precede it), and whether it is a map.
fn reply_frame(reply: &[u8]) -> Option<(R, bool)> {
    let mut pos = 0;
    loop {
        let kind = *reply.get(pos)?;
        let r = parse_at(reply, &mut pos)?;
        if kind != b'>' {
            return Some((r, kind == b'%'));
        }
    }
}

/// The ID a reply element names: an ID, or an entry `[id, fields]`.
fn reply_id(r: &R) -> Option<StreamId> {
    match r {
        R::Bulk(b) => strict_id(b),
        R::Arr(v) => match v.first() {
            Some(R::Bulk(b)) => strict_id(b),
            _ => None,
        },
        R::Other => None,
    }
}

fn reply_ids(r: &R) -> Vec<StreamId> {
    match r {
        R::Arr(v) => v.iter().filter_map(reply_id).collect(),
        _ => Vec::new(),
    }
}

/// Redis's `streamPropagateXCLAIM`: the idempotent form of one pending entry.
fn xclaim_form(
    key: &Bytes,
    grp: &Bytes,
    consumer: &[u8],
    id: Bytes,
    time: i64,
    count: u64,
    last: StreamId,
) -> Vec<Bytes> {
    vec![
        b("XCLAIM"),
        key.clone(),
        grp.clone(),
        Bytes::copy_from_slice(consumer),
        b("0"),
        id,
        b("TIME"),
        num(time),
        b("RETRYCOUNT"),
        Bytes::from(count.to_string()),
        b("FORCE"),
        b("JUSTID"),
        b("LASTID"),
        id_arg(last),
    ]
}

/// Redis's `streamPropagateGroupID`.
fn setid_form(key: &Bytes, grp: &Bytes, last: StreamId, entries_read: i64) -> Vec<Bytes> {
    vec![b("XGROUP"), b("SETID"), key.clone(), grp.clone(), id_arg(last), b("ENTRIESREAD"), num(entries_read)]
}

// ---------------------------------------------------------------------------
// XADD / XTRIM

/// Where XADD/XTRIM's arguments are, as `streamParseAddOrTrimArgsOrReply`
/// reads them.
#[derive(Default)]
struct TrimArgs {
    /// The `~` of an approximate trim.
    approx: Option<usize>,
    /// The threshold, and whether it is a MAXLEN (else a MINID).
    threshold: Option<(usize, bool)>,
    /// XADD's ID.
    id: Option<usize>,
}

fn trim_args(args: &[Bytes], xadd: bool) -> TrimArgs {
    let mut t = TrimArgs::default();
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let opt = &args[i][..];
        if xadd && opt == b"*" {
            t.id = Some(i);
            break;
        } else if (eq_ic(opt, b"maxlen") || eq_ic(opt, b"minid")) && more > 0 {
            t.approx = None;
            if more >= 2 && &args[i + 1][..] == b"~" {
                t.approx = Some(i + 1);
                i += 1;
            } else if more >= 2 && &args[i + 1][..] == b"=" {
                i += 1;
            }
            t.threshold = Some((i + 1, eq_ic(opt, b"maxlen")));
            i += 1;
        } else if eq_ic(opt, b"limit") && more > 0 {
            i += 1;
        } else if xadd && eq_ic(opt, b"nomkstream") {
        } else {
            if xadd {
                t.id = Some(i);
            }
            break;
        }
        i += 1;
    }
    t
}

/// The first entry of the stream, deleted ones included (Redis's
/// `streamGetEdgeID` without skipping tombstones); the largest ID when the
/// stream has no entries.
fn first_entry_id(s: &Stream) -> StreamId {
    let first = |master: StreamId, node: &[u8]| -> Option<StreamId> {
        let (_count, p) = lp::get_int(node, lp::HEADER)?;
        let (_deleted, p) = lp::get_int(node, p)?;
        let (fields, mut p) = lp::get_int(node, p)?;
        for _ in 0..fields {
            p = lp::get(node, p)?.1;
        }
        // The master entry's terminator, then the entry's flags and deltas.
        let (_, p) = lp::get(node, p)?;
        let (_flags, p) = lp::get_int(node, p)?;
        let (ms, p) = lp::get_int(node, p)?;
        let (seq, _) = lp::get_int(node, p)?;
        Some(StreamId::new(master.ms.wrapping_add(ms as u64), master.seq.wrapping_add(seq as u64)))
    };
    s.node_iter().next().and_then(|(&master, node)| first(master, node)).unwrap_or(StreamId::MAX)
}

/// An approximate trim becomes the exact one it did (`~` → `=`, the
/// threshold → the length or first ID reached): Redis's
/// `streamRewriteApproxSpecifier` and `streamRewriteTrimArgument`.
fn exact_trim(srv: &Server, db: usize, t: &TrimArgs, v: &mut [Bytes]) {
    let (Some(approx), Some((at, maxlen))) = (t.approx, t.threshold) else { return };
    let Some(s) = stream(srv, db, &v[1]) else { return };
    if at >= v.len() {
        return;
    }
    v[approx] = b("=");
    v[at] = if maxlen { Bytes::from(s.len().to_string()) } else { id_arg(first_entry_id(s)) };
}

fn xadd(srv: &Server, db: usize, args: &[Bytes], reply: &[u8]) -> Vec<Vec<Bytes>> {
    let t = trim_args(args, true);
    let mut v = args.to_vec();
    if let Some(i) = t.id {
        let generated = &args[i][..] == b"*" || matches!(parse_id(&args[i], 0, true, true), Some((_, false)));
        if generated {
            if let Some((R::Bulk(id), _)) = reply_frame(reply) {
                v[i] = Bytes::from(id);
            }
        }
    }
    exact_trim(srv, db, &t, &mut v);
    vec![v]
}

fn xtrim(srv: &Server, db: usize, args: &[Bytes]) -> Vec<Vec<Bytes>> {
    let t = trim_args(args, false);
    let mut v = args.to_vec();
    exact_trim(srv, db, &t, &mut v);
    vec![v]
}

// ---------------------------------------------------------------------------
// XREADGROUP

/// Each stream served: an XCLAIM per entry delivered from `>` (the entry is
/// now pending for the consumer, delivered once, and the group's last ID),
/// or with NOACK the consumer's creation and the group's new last ID. Reads
/// of a consumer's history propagate nothing.
fn xreadgroup(srv: &Server, db: usize, args: &[Bytes], reply: &[u8], mut notes: Notes) -> Vec<Vec<Bytes>> {
    let argc = args.len();
    let mut names: Option<(&Bytes, &Bytes)> = None;
    let mut noack = false;
    let mut streams_arg = 0;
    let mut i = 1;
    while i < argc {
        let more = argc - i - 1;
        let o = &args[i][..];
        if (eq_ic(o, b"block") || eq_ic(o, b"count")) && more > 0 {
            i += 1;
        } else if eq_ic(o, b"streams") && more > 0 {
            streams_arg = i + 1;
            break;
        } else if eq_ic(o, b"group") && more >= 2 {
            names = Some((&args[i + 1], &args[i + 2]));
            i += 2;
        } else if eq_ic(o, b"noack") {
            noack = true;
        } else {
            return Vec::new();
        }
        i += 1;
    }
    let Some((grp, consumer)) = names else { return Vec::new() };
    if streams_arg == 0 {
        return Vec::new();
    }
    let n = (argc - streams_arg) / 2;
    let keys = &args[streams_arg..streams_arg + n];
    let ids = &args[streams_arg + n..];
    // The streams served, as (key, entries), in argument order.
    let served: Vec<(Vec<u8>, R)> = match reply_frame(reply) {
        Some((R::Arr(v), true)) => {
            let mut out = Vec::with_capacity(v.len() / 2);
            let mut it = v.into_iter();
            while let (Some(R::Bulk(k)), Some(e)) = (it.next(), it.next()) {
                out.push((k, e));
            }
            out
        }
        Some((R::Arr(v), false)) => v
            .into_iter()
            .filter_map(|pair| match pair {
                R::Arr(p) => {
                    let mut it = p.into_iter();
                    match (it.next(), it.next()) {
                        (Some(R::Bulk(k)), Some(e)) => Some((k, e)),
                        _ => None,
                    }
                }
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    // How many entries each later stream served delivers from `>`, to give
    // an earlier read of the same key the group state it left.
    let mut segments = Vec::with_capacity(served.len());
    let mut next_arg = 0;
    for (key, entries) in &served {
        let Some(j) = (next_arg..n).find(|&j| keys[j][..] == key[..]) else { break };
        next_arg = j + 1;
        let fresh = &ids[j][..] == b">" || strict_id(&ids[j]) == Some(StreamId::MAX);
        segments.push((&keys[j], fresh, reply_ids(entries)));
    }
    let mut out = Vec::new();
    for (at, (key, fresh, delivered)) in segments.iter().enumerate() {
        if let Some(p) = notes.created.iter().position(|k| k[..] == key[..]) {
            notes.created.remove(p);
            if noack {
                out.push(vec![b("XGROUP"), b("CREATECONSUMER"), (*key).clone(), grp.clone(), consumer.clone()]);
            }
        }
        let (true, Some(&last)) = (*fresh, delivered.last()) else { continue };
        let Some(g) = group(srv, db, key, grp) else { continue };
        if !noack {
            for &id in delivered {
                let time = g.pel.get(&id).map_or(0, |n| n.delivery_time);
                out.push(xclaim_form(key, grp, consumer, id_arg(id), time, 1, id));
            }
            continue;
        }
        let later: usize =
            segments[at + 1..].iter().filter(|(k, f, _)| *f && k[..] == key[..]).map(|(_, _, d)| d.len()).sum();
        let entries_read = match stream(srv, db, key) {
            Some(s) if later > 0 => {
                if g.entries_read != crate::storage::stream::INVALID_ENTRIES_READ
                    && !s.range_has_tombstones(Some(last), None)
                {
                    g.entries_read.wrapping_sub(later as i64)
                } else {
                    s.estimate_distance(last)
                }
            }
            _ => g.entries_read,
        };
        out.push(setid_form(key, grp, last, entries_read));
    }
    out
}

// ---------------------------------------------------------------------------
// XCLAIM / XAUTOCLAIM

/// An XCLAIM per ID argument claimed or dropped, in argument order (the ID
/// as written); with none, a LASTID that moved the group as XGROUP SETID.
fn xclaim(srv: &Server, db: usize, args: &[Bytes], reply: &[u8], notes: Notes) -> Vec<Vec<Bytes>> {
    if args.len() < 6 {
        return Vec::new();
    }
    let (key, grp) = (&args[1], &args[2]);
    let Some(g) = group(srv, db, key, grp) else { return Vec::new() };
    let mut id_end = 5;
    while id_end < args.len() && strict_id(&args[id_end]).is_some() {
        id_end += 1;
    }
    let mut justid = false;
    let mut retrycount: i64 = -1;
    let mut j = id_end;
    while j < args.len() {
        let more = args.len() - 1 - j;
        let o = &args[j][..];
        if eq_ic(o, b"justid") {
            justid = true;
        } else if eq_ic(o, b"retrycount") && more > 0 {
            j += 1;
            retrycount = crate::util::parse_i64(&args[j]).unwrap_or(-1);
        } else if (eq_ic(o, b"idle") || eq_ic(o, b"time") || eq_ic(o, b"lastid")) && more > 0 {
            j += 1;
        }
        j += 1;
    }
    // Claiming an entry twice counts two deliveries (unless the count is set).
    let counts = retrycount < 0 && !justid;
    let claimed = reply_frame(reply).map(|(r, _)| reply_ids(&r)).unwrap_or_default();
    let mut dropped = notes.dropped.iter().peekable();
    let mut out = Vec::new();
    let mut c = 0;
    for (j, arg) in args.iter().enumerate().take(id_end).skip(5) {
        if let Some(d) = dropped.next_if(|d| d.arg == j) {
            out.push(xclaim_form(key, grp, &d.consumer, arg.clone(), d.time, d.count, g.last_id));
            continue;
        }
        if c < claimed.len() && strict_id(arg) == Some(claimed[c]) {
            let id = claimed[c];
            c += 1;
            let Some(n) = g.pel.get(&id) else { continue };
            let again = if counts { claimed[c..].iter().filter(|&&x| x == id).count() as u64 } else { 0 };
            let count = n.delivery_count.wrapping_sub(again);
            out.push(xclaim_form(key, grp, n.consumer.as_slice(), arg.clone(), n.delivery_time, count, g.last_id));
        }
    }
    if out.is_empty() {
        out.push(setid_form(key, grp, g.last_id, g.entries_read));
    }
    out
}

/// An XCLAIM per pending entry claimed or dropped, in ID order.
fn xautoclaim(srv: &Server, db: usize, args: &[Bytes], reply: &[u8], notes: Notes) -> Vec<Vec<Bytes>> {
    let (key, grp) = (&args[1], &args[2]);
    let Some(g) = group(srv, db, key, grp) else { return Vec::new() };
    let claimed = match reply_frame(reply) {
        Some((R::Arr(v), _)) => v.get(1).map(reply_ids).unwrap_or_default(),
        _ => Vec::new(),
    };
    let mut claimed = claimed.into_iter().peekable();
    let mut dropped = notes.dropped.iter().peekable();
    let mut out = Vec::new();
    loop {
        let take_dropped = match (claimed.peek(), dropped.peek()) {
            (Some(c), Some(d)) => d.id < *c,
            (None, Some(_)) => true,
            (Some(_), None) => false,
            (None, None) => break,
        };
        if take_dropped {
            if let Some(d) = dropped.next() {
                out.push(xclaim_form(key, grp, &d.consumer, id_arg(d.id), d.time, d.count, g.last_id));
            }
        } else if let Some(id) = claimed.next() {
            if let Some(n) = g.pel.get(&id) {
                out.push(xclaim_form(
                    key,
                    grp,
                    n.consumer.as_slice(),
                    id_arg(id),
                    n.delivery_time,
                    n.delivery_count,
                    g.last_id,
                ));
            }
        }
    }
    out
}
