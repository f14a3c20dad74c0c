//! GEO commands: GEOADD, GEODIST, GEOHASH, GEOPOS, GEOSEARCH, GEOSEARCHSTORE,
//! GEORADIUS, GEORADIUSBYMEMBER and their read-only variants.
//!
//! A geo set is a sorted set whose scores are 52-bit geohashes (the math is in
//! `geohash`). GEOADD is ZADD with computed scores. Searches follow Redis's
//! `georadiusGeneric`: the same option grammar and error order, the same 9
//! cells scanned in the same order (so COUNT ANY stops at the same member),
//! and sorts that order ties as Redis's do: a stable sort for a full sort (as
//! glibc's `qsort`), and the Bentley-McIlroy quicksort restricted to the
//! wanted ranks when COUNT keeps fewer than were found (as Redis's `pqsort`),
//! so members at equal distances come out in Redis's order. Distances are replied
//! with `%.4f`, coordinates in Redis's "human" long double form (`%.17Lf`
//! without trailing zeros), a RESP3 double in RESP3.

use super::geohash::{self, Shape, ShapeKind};
use super::strings::cstr;
use super::zsets::parse_score;
use super::{err, Ctx, Handler};
use crate::resp::Reply;
use crate::server::notify;
use crate::storage::zset::{Limits, ZSet};
use crate::storage::{SBytes, Value};
use crate::util::eq_ic;
use bytes::Bytes;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("geoadd", geoadd),
    ("geodist", geodist),
    ("geohash", geohash_cmd),
    ("geopos", geopos),
    ("geosearch", geosearch),
    ("geosearchstore", geosearchstore),
    ("georadius", georadius),
    ("georadius_ro", georadius_ro),
    ("georadiusbymember", georadiusbymember),
    ("georadiusbymember_ro", georadiusbymember_ro),
];

const UNIT_ERR: &str = "ERR unsupported unit provided. please use M, KM, FT, MI";
const MEMBER_ERR: &str = "ERR could not decode requested zset member";

/// Option matching as C's `strcasecmp` (the argument up to its first NUL).
#[inline]
fn opt(a: &[u8], name: &[u8]) -> bool {
    eq_ic(cstr(a), name)
}

// ---------------------------------------------------------------------------
// Argument parsing
// ---------------------------------------------------------------------------

/// A double argument as Redis's `getDoubleFromObjectOrReply` (`msg` replaces
/// the default error).
fn double_arg(ctx: &mut Ctx, a: &[u8], msg: Option<&str>) -> Option<f64> {
    let v = parse_score(a);
    if v.is_none() {
        ctx.err(msg.unwrap_or(err::NOT_FLOAT));
    }
    v
}

/// A longitude and a latitude, checked against the supported ranges.
fn lonlat_args(ctx: &mut Ctx, lon: &[u8], lat: &[u8]) -> Option<(f64, f64)> {
    let lon = double_arg(ctx, lon, None)?;
    let lat = double_arg(ctx, lat, None)?;
    if !(geohash::LON_MIN..=geohash::LON_MAX).contains(&lon) || !(geohash::LAT_MIN..=geohash::LAT_MAX).contains(&lat) {
        ctx.err(&format!("ERR invalid longitude,latitude pair {lon:.6},{lat:.6}"));
        return None;
    }
    Some((lon, lat))
}

/// Metres per unit.
fn unit_arg(ctx: &mut Ctx, a: &[u8]) -> Option<f64> {
    let u = cstr(a);
    let v = if eq_ic(u, b"m") {
        1.0
    } else if eq_ic(u, b"km") {
        1000.0
    } else if eq_ic(u, b"ft") {
        0.3048
    } else if eq_ic(u, b"mi") {
        1609.34
    } else {
        ctx.err(UNIT_ERR);
        return None;
    };
    Some(v)
}

/// `<radius> <unit>`: (radius, metres per unit).
fn radius_args(ctx: &mut Ctx, r: &[u8], unit: &[u8]) -> Option<(f64, f64)> {
    let r = double_arg(ctx, r, Some("ERR need numeric radius"))?;
    if r < 0.0 {
        ctx.err("ERR radius cannot be negative");
        return None;
    }
    Some((r, unit_arg(ctx, unit)?))
}

/// `<width> <height> <unit>`: (width, height, metres per unit).
fn box_args(ctx: &mut Ctx, w: &[u8], h: &[u8], unit: &[u8]) -> Option<(f64, f64, f64)> {
    let w = double_arg(ctx, w, Some("ERR need numeric width"))?;
    let h = double_arg(ctx, h, Some("ERR need numeric height"))?;
    if h < 0.0 || w < 0.0 {
        ctx.err("ERR height or width cannot be negative");
        return None;
    }
    Some((w, h, unit_arg(ctx, unit)?))
}

// ---------------------------------------------------------------------------
// Key access and number formatting
// ---------------------------------------------------------------------------

enum Found {
    Missing,
    ZSet,
    Wrong,
}

/// Looks a key up for reading (keyspace hit/miss) and says what it holds.
fn probe(ctx: &mut Ctx, key: &[u8]) -> Found {
    match ctx.lookup_read(key) {
        None => Found::Missing,
        Some(e) => match e.value {
            Value::ZSet(_) => Found::ZSet,
            _ => Found::Wrong,
        },
    }
}

/// The sorted set at `key` of the selected database (after `probe`).
fn zset<'a>(ctx: &'a Ctx, key: &[u8]) -> Option<&'a ZSet> {
    match ctx.srv.dbs[ctx.client.db].main().get(key).map(|e| &e.value) {
        Some(Value::ZSet(z)) => {
            let z: &ZSet = z;
            Some(z)
        }
        _ => None,
    }
}

/// C's `%.4f` (distances).
fn fmt_distance(d: f64) -> String {
    if d.is_nan() {
        return if d.is_sign_negative() { "-nan" } else { "nan" }.to_string();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    format!("{d:.4}")
}

/// Redis's "human" long double text (`ld2string` with `LD_STR_HUMAN`):
/// `%.17Lf` without trailing zeros (and without a trailing dot), `-0` as `0`.
fn fmt_human(d: f64) -> String {
    if d.is_infinite() {
        return if d > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    if d.is_nan() {
        return if d.is_sign_negative() { "-nan" } else { "nan" }.to_string();
    }
    let mut s = format!("{d:.17}");
    if s.contains('.') {
        let t = s.trim_end_matches('0').len();
        s.truncate(t);
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" {
        s = "0".to_string();
    }
    s
}

/// A coordinate as Redis's `addReplyHumanLongDouble` (a bulk in RESP2, a
/// double in RESP3).
fn reply_coord(out: &mut Reply, d: f64) {
    let s = fmt_human(d);
    if out.resp >= 3 {
        out.raw(b",");
        out.raw(s.as_bytes());
        out.raw(b"\r\n");
    } else {
        out.bulk(s.as_bytes());
    }
}

// ---------------------------------------------------------------------------
// GEOADD, GEODIST, GEOHASH, GEOPOS
// ---------------------------------------------------------------------------

/// GEOADD key [NX|XX] [CH] lon lat member ...: checks the options and the
/// coordinates, then runs ZADD with the encoded scores (as Redis does).
fn geoadd(ctx: &mut Ctx, args: &[Bytes]) {
    let (mut nx, mut xx) = (false, false);
    let mut longidx = 2;
    while longidx < args.len() {
        let a = &args[longidx];
        if opt(a, b"nx") {
            nx = true;
        } else if opt(a, b"xx") {
            xx = true;
        } else if !opt(a, b"ch") {
            break;
        }
        longidx += 1;
    }
    if !(args.len() - longidx).is_multiple_of(3) || (xx && nx) {
        return ctx.syntax();
    }
    let mut zargs: Vec<Bytes> = Vec::with_capacity(longidx + (args.len() - longidx) / 3 * 2);
    zargs.push(Bytes::from_static(b"zadd"));
    zargs.extend(args[1..longidx].iter().cloned());
    for t in args[longidx..].chunks(3) {
        let Some((lon, lat)) = lonlat_args(ctx, &t[0], &t[1]) else { return };
        let score = geohash::encode_score(lon, lat).unwrap_or(0);
        zargs.push(Bytes::from(score.to_string()));
        zargs.push(t[2].clone());
    }
    match super::zsets::COMMANDS.iter().find(|(name, _)| *name == "zadd") {
        Some((_, zadd)) => zadd(ctx, &zargs),
        None => ctx.err("ERR ZADD is not available"),
    }
}

/// GEODIST key member1 member2 [unit]
fn geodist(ctx: &mut Ctx, args: &[Bytes]) {
    let mut to_meter = 1.0;
    if args.len() == 5 {
        let Some(u) = unit_arg(ctx, &args[4]) else { return };
        to_meter = u;
    } else if args.len() > 5 {
        return ctx.syntax();
    }
    match probe(ctx, &args[1]) {
        Found::Missing => return ctx.out.null(),
        Found::Wrong => return ctx.wrongtype(),
        Found::ZSet => {}
    }
    let scores = zset(ctx, &args[1]).map(|z| (z.score(&args[2]), z.score(&args[3])));
    match scores {
        Some((Some(s1), Some(s2))) => {
            let (lon1, lat1) = geohash::score_to_lonlat(s1);
            let (lon2, lat2) = geohash::score_to_lonlat(s2);
            let d = geohash::distance(lon1, lat1, lon2, lat2) / to_meter;
            ctx.out.bulk(fmt_distance(d).as_bytes());
        }
        _ => ctx.out.null(),
    }
}

/// The scores of GEOHASH's and GEOPOS's members (None after WRONGTYPE).
fn member_scores(ctx: &mut Ctx, args: &[Bytes]) -> Option<Vec<Option<f64>>> {
    if let Found::Wrong = probe(ctx, &args[1]) {
        ctx.wrongtype();
        return None;
    }
    let z = zset(ctx, &args[1]);
    Some(args[2..].iter().map(|m| z.and_then(|z| z.score(m))).collect())
}

/// GEOHASH key [member ...]
fn geohash_cmd(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(scores) = member_scores(ctx, args) else { return };
    let out = &mut *ctx.out;
    out.array_len(scores.len());
    for s in scores {
        match s {
            Some(s) => out.bulk(&geohash::score_to_string(s)),
            None => out.null(),
        }
    }
}

/// GEOPOS key [member ...]
fn geopos(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(scores) = member_scores(ctx, args) else { return };
    let out = &mut *ctx.out;
    out.array_len(scores.len());
    for s in scores {
        match s {
            Some(s) => {
                let (lon, lat) = geohash::score_to_lonlat(s);
                out.array_len(2);
                reply_coord(out, lon);
                reply_coord(out, lat);
            }
            None => out.null_array(),
        }
    }
}

// ---------------------------------------------------------------------------
// Searches
// ---------------------------------------------------------------------------

/// Search around given coordinates (GEORADIUS).
const RADIUS_COORDS: u8 = 1;
/// Search around a member (GEORADIUSBYMEMBER).
const RADIUS_MEMBER: u8 = 2;
/// No STORE/STOREDIST (the _RO variants).
const RADIUS_NOSTORE: u8 = 4;
/// GEOSEARCH's grammar.
const GEOSEARCH: u8 = 8;
/// GEOSEARCHSTORE (destination first, STOREDIST as a flag).
const GEOSEARCHSTORE: u8 = 16;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// A member found inside the search shape.
struct Point {
    member: SBytes,
    lon: f64,
    lat: f64,
    dist: f64,
    score: f64,
}

/// Redis's `membersOfAllNeighbors`: the members of the 9 cells (skipping
/// zeroed cells and a cell equal to the last one scanned) that lie inside the
/// shape, in scan order; with `limit`, stops once that many were found.
fn collect(z: &ZSet, shape: &Shape, limit: usize) -> Vec<Point> {
    let cells = geohash::search_cells(shape).in_scan_order();
    let mut found: Vec<Point> = Vec::new();
    let full = |found: &Vec<Point>| !found.is_empty() && limit > 0 && found.len() >= limit;
    let mut last = 0usize;
    for (i, cell) in cells.iter().enumerate() {
        if cell.is_zero() {
            continue;
        }
        if last != 0 && *cell == cells[last] {
            continue;
        }
        if full(&found) {
            break;
        }
        let (min, max) = geohash::score_range(*cell);
        let start = z.lead(|s, _| s < min);
        z.walk(start, false, |m, s| {
            if s >= max {
                return false;
            }
            let (lon, lat) = geohash::score_to_lonlat(s);
            if let Some(dist) = geohash::distance_if_inside(shape, lon, lat) {
                found.push(Point { member: SBytes::new(m), lon, lat, dist, score: s });
            }
            !full(&found)
        });
        last = i;
    }
    found
}

/// The comparison Redis sorts with (`sort_gp_asc`; DESC negates it).
fn cmp_points(a: &Point, b: &Point, desc: bool) -> i32 {
    let c = if a.dist > b.dist {
        1
    } else if a.dist == b.dist {
        0
    } else {
        -1
    };
    if desc {
        -c
    } else {
        c
    }
}

/// A full sort as Redis's `qsort` gives it: glibc sorts stably, and a stable
/// sort's order (ties in input order) is the same whatever the algorithm.
fn stable_sort<T>(v: &mut [T], cmp: &impl Fn(&T, &T) -> i32) {
    v.sort_by(|a, b| cmp(a, b).cmp(&0));
}

/// Orders ranks `lrange..=rrange` of `v` as Redis's `pqsort` does (shared
/// with SORT ... LIMIT).
fn partial_sort<T>(v: &mut [T], cmp: &impl Fn(&T, &T) -> i32, lrange: usize, rrange: usize) {
    super::sort::pqsort(v, lrange as isize, rrange as isize, &mut |a, b| cmp(a, b).cmp(&0));
}

/// Redis's `georadiusGeneric`: GEORADIUS[BYMEMBER][_RO], GEOSEARCH[STORE].
fn search_generic(ctx: &mut Ctx, args: &[Bytes], src_idx: usize, flags: u8) {
    let src = &args[src_idx];
    let exists = match probe(ctx, src) {
        Found::Wrong => return ctx.wrongtype(),
        Found::Missing => false,
        Found::ZSet => true,
    };
    let mut storekey: Option<&[u8]> = None;
    let mut storedist = false;
    // The shape: centre, unit conversion and kind.
    let mut center = (0.0f64, 0.0f64);
    let mut conversion = 0.0f64;
    let mut kind: Option<ShapeKind> = None;
    let base: usize;
    if flags & RADIUS_COORDS != 0 {
        base = 6;
        let Some(xy) = lonlat_args(ctx, &args[2], &args[3]) else { return };
        center = xy;
        let Some((r, conv)) = radius_args(ctx, &args[4], &args[5]) else { return };
        kind = Some(ShapeKind::Radius(r));
        conversion = conv;
    } else if flags & RADIUS_MEMBER != 0 && !exists {
        // Nothing to search, but the options still decide the reply.
        base = 5;
    } else if flags & RADIUS_MEMBER != 0 {
        base = 5;
        let Some(score) = zset(ctx, src).and_then(|z| z.score(&args[2])) else { return ctx.err(MEMBER_ERR) };
        center = geohash::score_to_lonlat(score);
        let Some((r, conv)) = radius_args(ctx, &args[3], &args[4]) else { return };
        kind = Some(ShapeKind::Radius(r));
        conversion = conv;
    } else {
        base = if flags & GEOSEARCHSTORE != 0 { 3 } else { 2 };
        if flags & GEOSEARCHSTORE != 0 {
            storekey = Some(&args[1]);
        }
    }

    let (mut withdist, mut withhash, mut withcoords) = (false, false, false);
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let mut sort = Sort::None;
    let mut any = false;
    let mut count: usize = 0;
    let search = flags & GEOSEARCH != 0;
    let remaining = args.len().saturating_sub(base);
    let mut i = 0;
    while i < remaining {
        let a = &args[base + i];
        if opt(a, b"withdist") {
            withdist = true;
        } else if opt(a, b"withhash") {
            withhash = true;
        } else if opt(a, b"withcoord") {
            withcoords = true;
        } else if opt(a, b"any") {
            any = true;
        } else if opt(a, b"asc") {
            sort = Sort::Asc;
        } else if opt(a, b"desc") {
            sort = Sort::Desc;
        } else if opt(a, b"count") && i + 1 < remaining {
            let Some(c) = ctx.int_arg(&args[base + i + 1]) else { return };
            if c <= 0 {
                return ctx.err("ERR COUNT must be > 0");
            }
            count = usize::try_from(c).unwrap_or(usize::MAX);
            i += 1;
        } else if opt(a, b"store") && i + 1 < remaining && flags & RADIUS_NOSTORE == 0 && !search {
            storekey = Some(&args[base + i + 1]);
            storedist = false;
            i += 1;
        } else if opt(a, b"storedist") && i + 1 < remaining && flags & RADIUS_NOSTORE == 0 && !search {
            storekey = Some(&args[base + i + 1]);
            storedist = true;
            i += 1;
        } else if opt(a, b"storedist") && search && flags & GEOSEARCHSTORE != 0 {
            storedist = true;
        } else if opt(a, b"frommember") && i + 1 < remaining && search && !fromloc {
            if exists {
                let Some(score) = zset(ctx, src).and_then(|z| z.score(&args[base + i + 1])) else {
                    return ctx.err(MEMBER_ERR);
                };
                center = geohash::score_to_lonlat(score);
            }
            frommember = true;
            i += 1;
        } else if opt(a, b"fromlonlat") && i + 2 < remaining && search && !frommember {
            let Some(xy) = lonlat_args(ctx, &args[base + i + 1], &args[base + i + 2]) else { return };
            center = xy;
            fromloc = true;
            i += 2;
        } else if opt(a, b"byradius") && i + 2 < remaining && search && !bybox {
            let Some((r, conv)) = radius_args(ctx, &args[base + i + 1], &args[base + i + 2]) else { return };
            kind = Some(ShapeKind::Radius(r));
            conversion = conv;
            byradius = true;
            i += 2;
        } else if opt(a, b"bybox") && i + 3 < remaining && search && !byradius {
            let Some((w, h, conv)) = box_args(ctx, &args[base + i + 1], &args[base + i + 2], &args[base + i + 3])
            else {
                return;
            };
            kind = Some(ShapeKind::Box { width: w, height: h });
            conversion = conv;
            bybox = true;
            i += 3;
        } else {
            return ctx.syntax();
        }
        i += 1;
    }

    if storekey.is_some() && (withdist || withhash || withcoords) {
        let what = if flags & GEOSEARCHSTORE != 0 { "GEOSEARCHSTORE" } else { "STORE option in GEORADIUS" };
        return ctx.err(&format!("ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"));
    }
    let name = String::from_utf8_lossy(cstr(&args[0])).into_owned();
    if search && !(frommember || fromloc) {
        return ctx.err(&format!("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"));
    }
    if search && !(byradius || bybox) {
        return ctx.err(&format!("ERR exactly one of BYRADIUS and BYBOX can be specified for {name}"));
    }
    if any && count == 0 {
        return ctx.err("ERR the ANY argument requires COUNT argument");
    }

    let Some(kind) = kind.filter(|_| exists) else {
        // No source set: an empty result.
        match storekey {
            Some(dst) => {
                if ctx.db().remove(dst).is_some() {
                    ctx.dirty(1);
                    ctx.notify(notify::GENERIC, "del", dst);
                }
                ctx.out.int(0);
            }
            None => ctx.out.array_len(0),
        }
        return;
    };
    // COUNT without ANY means "the closest N": sort ascending unless told.
    if count != 0 && sort == Sort::None && !any {
        sort = Sort::Asc;
    }
    let shape = Shape { lon: center.0, lat: center.1, conversion, kind };
    let mut found = match zset(ctx, src) {
        Some(z) => collect(z, &shape, if any { count } else { 0 }),
        None => Vec::new(),
    };
    if found.is_empty() && storekey.is_none() {
        return ctx.out.array_len(0);
    }
    let total = found.len();
    let returned = if count == 0 || total < count { total } else { count };
    if sort != Sort::None {
        let desc = sort == Sort::Desc;
        let cmp = |a: &Point, b: &Point| cmp_points(a, b, desc);
        if returned == total {
            stable_sort(&mut found, &cmp);
        } else {
            partial_sort(&mut found, &cmp, 0, returned - 1);
        }
    }
    found.truncate(returned);
    for p in found.iter_mut() {
        p.dist /= shape.conversion;
    }
    match storekey {
        None => reply_points(ctx.out, &found, withdist, withhash, withcoords),
        Some(dst) => {
            let event = if search { "geosearchstore" } else { "georadiusstore" };
            store_points(ctx, dst, found, storedist, event);
        }
    }
}

/// The search reply: members, or [member, dist?, hash?, [lon, lat]?] arrays.
fn reply_points(out: &mut Reply, found: &[Point], withdist: bool, withhash: bool, withcoords: bool) {
    let extra = withdist as usize + withhash as usize + withcoords as usize;
    out.array_len(found.len());
    for p in found {
        if extra > 0 {
            out.array_len(extra + 1);
        }
        out.bulk(&p.member);
        if withdist {
            out.bulk(fmt_distance(p.dist).as_bytes());
        }
        if withhash {
            out.int(geohash::c_double_to_i64(p.score));
        }
        if withcoords {
            out.array_len(2);
            reply_coord(out, p.lon);
            reply_coord(out, p.lat);
        }
    }
}

/// STORE / STOREDIST / GEOSEARCHSTORE: the result as a sorted set at `dst`
/// (scores: geohashes, or distances in the unit), replacing what was there;
/// an empty result deletes `dst`. Replies the number of members.
fn store_points(ctx: &mut Ctx, dst: &[u8], found: Vec<Point>, storedist: bool, event: &str) {
    let n = found.len();
    if n == 0 {
        if ctx.db().remove(dst).is_some() {
            ctx.dirty(1);
            ctx.notify(notify::GENERIC, "del", dst);
        }
        return ctx.out.int(0);
    }
    let mut items: Vec<(SBytes, f64)> =
        found.into_iter().map(|p| (p.member, if storedist { p.dist } else { p.score })).collect();
    items.sort_by(|a, b| {
        a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal).then_with(|| a.0.as_slice().cmp(b.0.as_slice()))
    });
    items.dedup_by(|a, b| a.0.as_slice() == b.0.as_slice());
    let lim =
        Limits { entries: ctx.srv.config.zset_max_listpack_entries, value: ctx.srv.config.zset_max_listpack_value };
    let z = ZSet::from_sorted(items, lim);
    let now = ctx.now;
    ctx.db().set(dst, Value::from(z), now);
    ctx.key_ready(dst);
    ctx.notify(notify::ZSET, event, dst);
    ctx.dirty(n as u64);
    ctx.out.int(n as i64);
}

fn georadius(ctx: &mut Ctx, args: &[Bytes]) {
    search_generic(ctx, args, 1, RADIUS_COORDS);
}

fn georadiusbymember(ctx: &mut Ctx, args: &[Bytes]) {
    search_generic(ctx, args, 1, RADIUS_MEMBER);
}

fn georadius_ro(ctx: &mut Ctx, args: &[Bytes]) {
    search_generic(ctx, args, 1, RADIUS_COORDS | RADIUS_NOSTORE);
}

fn georadiusbymember_ro(ctx: &mut Ctx, args: &[Bytes]) {
    search_generic(ctx, args, 1, RADIUS_MEMBER | RADIUS_NOSTORE);
}

fn geosearch(ctx: &mut Ctx, args: &[Bytes]) {
    search_generic(ctx, args, 1, GEOSEARCH);
}

fn geosearchstore(ctx: &mut Ctx, args: &[Bytes]) {
    search_generic(ctx, args, 2, GEOSEARCH | GEOSEARCHSTORE);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(fmt_human(13.361389338970184), "13.36138933897018433");
        assert_eq!(fmt_human(180.0), "180");
        assert_eq!(fmt_human(-0.0), "0");
        assert_eq!(fmt_distance(166274.1516), "166274.1516");
        assert_eq!(fmt_distance(0.03125), "0.0312");
    }

    #[test]
    fn sorts_match_a_plain_sort_on_distinct_keys() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        for n in [0usize, 1, 5, 7, 8, 40, 41, 100, 300] {
            let v: Vec<i64> = (0..n).map(|_| rng.gen_range(0..1_000_000)).collect();
            let cmp = |a: &i64, b: &i64| (*a > *b) as i32 - (*a < *b) as i32;
            let mut want = v.clone();
            want.sort();
            let mut m = v.clone();
            stable_sort(&mut m, &cmp);
            assert_eq!(m, want);
            for k in [1usize, 3, 10] {
                if k <= n {
                    let mut p = v.clone();
                    partial_sort(&mut p, &cmp, 0, k - 1);
                    assert_eq!(&p[..k], &want[..k], "n={n} k={k}");
                }
            }
        }
    }
}
