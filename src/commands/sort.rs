//! SORT and SORT_RO: sorting the elements of a list, set or sorted set
//! numerically or lexicographically (ALPHA), optionally by external weights
//! (BY pattern, `->field` for hash fields), with LIMIT, GET patterns and (SORT
//! only) STORE into a list, reproducing Redis 7.0's results exactly: its
//! `strtod` score rules, its tie-breaking, the element order of its stable
//! `qsort` and of its partial quicksort (`pqsort`, used for BY with a LIMIT),
//! and its side effects (keyspace hits/misses per pattern lookup, a small
//! sorted set left in the `skiplist` encoding).

use super::strings::{cstr, str_view};
use super::{Ctx, Handler};
use crate::storage::list::List;
use crate::storage::zset::{Limits, ZSet};
use crate::storage::{SBytes, Value};
use crate::strtod::strtod;
use bytes::Bytes;
use std::cmp::Ordering;

pub const COMMANDS: &[(&str, Handler)] = &[("sort", sort), ("sort_ro", sort_ro)];

const SCORE_ERR: &str = "ERR One or more scores can't be converted into double";

fn sort(ctx: &mut Ctx, args: &[Bytes]) {
    sort_generic(ctx, args, false);
}

fn sort_ro(ctx: &mut Ctx, args: &[Bytes]) {
    sort_generic(ctx, args, true);
}

/// The parsed options of one SORT call.
struct Opts<'a> {
    desc: bool,
    alpha: bool,
    limit_start: i64,
    limit_count: i64,
    /// The last BY pattern.
    by: Option<&'a [u8]>,
    /// Some BY pattern had no `*` (BY nosort): no sorting at all.
    dontsort: bool,
    gets: Vec<&'a [u8]>,
    store: Option<&'a [u8]>,
}

/// Case-insensitive option match on the argument as C sees it (up to a NUL).
fn is_opt(a: &[u8], name: &str) -> bool {
    cstr(a).eq_ignore_ascii_case(name.as_bytes())
}

/// Parses the options as Redis does (left to right, errors replied here).
fn parse<'a>(ctx: &mut Ctx, args: &'a [Bytes], readonly: bool) -> Option<Opts<'a>> {
    let mut o = Opts {
        desc: false,
        alpha: false,
        limit_start: 0,
        limit_count: -1,
        by: None,
        dontsort: false,
        gets: Vec::new(),
        store: None,
    };
    let mut j = 2;
    while j < args.len() {
        let a = &args[j][..];
        let left = args.len() - j - 1;
        if is_opt(a, "asc") {
            o.desc = false;
        } else if is_opt(a, "desc") {
            o.desc = true;
        } else if is_opt(a, "alpha") {
            o.alpha = true;
        } else if is_opt(a, "limit") && left >= 2 {
            o.limit_start = ctx.int_arg(&args[j + 1])?;
            o.limit_count = ctx.int_arg(&args[j + 2])?;
            j += 2;
        } else if !readonly && is_opt(a, "store") && left >= 1 {
            o.store = Some(&args[j + 1][..]);
            j += 1;
        } else if is_opt(a, "by") && left >= 1 {
            let p = &args[j + 1][..];
            o.by = Some(p);
            if !cstr(p).contains(&b'*') {
                o.dontsort = true;
            }
            j += 1;
        } else if is_opt(a, "get") && left >= 1 {
            o.gets.push(&args[j + 1][..]);
            j += 1;
        } else {
            ctx.syntax();
            return None;
        }
        j += 1;
    }
    Some(o)
}

/// One element being sorted: the element, its numeric score and, for ALPHA
/// with BY, the weight it is compared by (None when the weight is missing).
struct SortObj {
    obj: Vec<u8>,
    score: f64,
    cmpobj: Option<Vec<u8>>,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    List,
    Set,
    ZSet,
}

fn sort_generic(ctx: &mut Ctx, args: &[Bytes], readonly: bool) {
    let Some(mut o) = parse(ctx, args, readonly) else { return };
    let key = &args[1][..];

    // The source's kind and length (a missing key sorts as an empty list).
    let (kind, len) = match ctx.lookup_read(key) {
        None => (Kind::List, 0usize),
        Some(e) => match &e.value {
            Value::List(l) => (Kind::List, l.len()),
            Value::Set(s) => (Kind::Set, s.len()),
            Value::ZSet(z) => (Kind::ZSet, z.len()),
            _ => {
                ctx.wrongtype();
                return;
            }
        },
    };

    // An unsorted set is emitted in hash order; when the result is stored
    // Redis sorts it lexicographically so that replicas agree (Redis does the
    // same for a SORT called from a script: that belongs here once scripts
    // can be told apart in `Ctx`).
    if o.dontsort && kind == Kind::Set && o.store.is_some() {
        o.dontsort = false;
        o.alpha = true;
        o.by = None;
    }

    // Redis converts a small sorted set to its skiplist encoding here.
    if kind == Kind::ZSet {
        to_skiplist(ctx, key);
    }

    // LIMIT, clamped as Redis does.
    let vlen = len as i64;
    let mut start = o.limit_start.clamp(0, vlen);
    let count = o.limit_count.clamp(-1, vlen);
    let mut end = if count < 0 { vlen - 1 } else { start + count - 1 };
    if start >= vlen {
        start = vlen - 1;
        end = vlen - 2;
    }
    if end >= vlen {
        end = vlen - 1;
    }
    // Lists and sorted sets not sorted load only the requested range.
    let ranged = matches!(kind, Kind::List | Kind::ZSet) && o.dontsort;
    let vectorlen = if ranged && (start != 0 || end != vlen - 1) { (end - start + 1).max(0) } else { vlen };

    let mut vector: Vec<SortObj> = Vec::with_capacity(vectorlen as usize);
    let desc = o.desc;
    {
        let now = ctx.now;
        let entry = ctx.db().get(key, now);
        let mk = |obj: Vec<u8>| SortObj { obj, score: 0.0, cmpobj: None };
        if let Some(e) = entry {
            match &e.value {
                Value::List(l) if o.dontsort => {
                    // An existing key has 0 <= start < vlen (vectorlen is 0
                    // for an empty range).
                    let (from, forward) =
                        if desc { ((vlen - start - 1) as usize, false) } else { (start as usize, true) };
                    l.iter_from(from, forward).limit(vectorlen as usize).for_each(|x| vector.push(mk(x.to_vec())));
                }
                Value::List(l) => l.iter().for_each(|x| vector.push(mk(x.to_vec()))),
                Value::Set(s) => vector.extend(s.iter().map(|m| mk(m.to_vec()))),
                Value::ZSet(z) if o.dontsort => {
                    let n = vectorlen as usize;
                    if n > 0 {
                        let from = if desc { (vlen - start - 1) as usize } else { start as usize };
                        z.walk(from, desc, |m, _| {
                            vector.push(mk(m.to_vec()));
                            vector.len() < n
                        });
                    }
                }
                Value::ZSet(z) => z.walk(0, false, |m, _| {
                    vector.push(mk(m.to_vec()));
                    true
                }),
                _ => {}
            }
        }
    }
    if ranged {
        // The vector holds exactly the range: output all of it.
        end -= start;
        start = 0;
    }
    let vectorlen = vector.len() as i64;

    // Scores (or comparison weights) and the sort itself.
    let mut conversion_error = false;
    if !o.dontsort {
        for so in vector.iter_mut() {
            let byval = match o.by {
                Some(p) => match lookup_pattern(ctx, p, &so.obj) {
                    Some(v) => v,
                    None => continue,
                },
                None => {
                    if !o.alpha {
                        match score_of(&so.obj) {
                            Some(s) => so.score = s,
                            None => conversion_error = true,
                        }
                    }
                    continue;
                }
            };
            if o.alpha {
                so.cmpobj = Some(byval);
            } else {
                match score_of(&byval) {
                    Some(s) => so.score = s,
                    None => conversion_error = true,
                }
            }
        }
        if !conversion_error {
            let alpha = o.alpha;
            let bypattern = o.by.is_some();
            let store = o.store.is_some();
            let mut cmp = |a: &SortObj, b: &SortObj| -> Ordering {
                let c = if !alpha {
                    if a.score > b.score {
                        Ordering::Greater
                    } else if a.score < b.score {
                        Ordering::Less
                    } else {
                        a.obj.as_slice().cmp(b.obj.as_slice())
                    }
                } else if bypattern {
                    match (&a.cmpobj, &b.cmpobj) {
                        (None, None) => Ordering::Equal,
                        (None, Some(_)) => Ordering::Less,
                        (Some(_), None) => Ordering::Greater,
                        (Some(x), Some(y)) => text_cmp(x, y, store),
                    }
                } else {
                    text_cmp(&a.obj, &b.obj, store)
                };
                if desc {
                    c.reverse()
                } else {
                    c
                }
            };
            if bypattern && (start != 0 || end != vectorlen - 1) {
                pqsort(&mut vector, start as isize, end as isize, &mut cmp);
            } else {
                // glibc's qsort is a stable merge sort.
                vector.sort_by(|a, b| cmp(a, b));
            }
        }
    }

    if conversion_error {
        ctx.err(SCORE_ERR);
        return;
    }
    let range = (end - start + 1).max(0) as usize;
    let outputlen = if o.gets.is_empty() { range } else { o.gets.len() * range };
    let first = start.max(0) as usize;
    let picked = vector.get(first..first + range).unwrap_or(&[]);
    match o.store {
        None => {
            ctx.out.array_len(outputlen);
            for so in picked {
                if o.gets.is_empty() {
                    ctx.out.bulk(&so.obj);
                }
                for p in &o.gets {
                    match lookup_pattern(ctx, p, &so.obj) {
                        Some(v) => ctx.out.bulk(&v),
                        None => ctx.out.null(),
                    }
                }
            }
        }
        Some(dst) => {
            let mut list = List::new(ctx.srv.config.list_max_listpack_size, ctx.srv.config.list_compress_depth);
            for so in picked {
                if o.gets.is_empty() {
                    list.push(&so.obj, false);
                }
                for p in &o.gets {
                    let v = lookup_pattern(ctx, p, &so.obj).unwrap_or_default();
                    list.push(&v, false);
                }
            }
            let now = ctx.now;
            let db = ctx.db();
            if outputlen > 0 {
                let existed = db.contains(dst, now);
                db.set(dst, Value::from(list), now);
                ctx.dirty(outputlen as u64);
                // Only a new key signals blocked clients (Redis's dbAdd).
                if !existed {
                    ctx.key_ready(dst);
                }
                ctx.notify(crate::server::notify::LIST, "sortstore", dst);
            } else {
                // Redis deletes without an expiry check (dbDelete).
                if db.remove(dst).is_some() {
                    ctx.dirty(1);
                    ctx.notify(crate::server::notify::GENERIC, "del", dst);
                }
            }
            ctx.out.int(outputlen as i64);
        }
    }
}

/// Redis's string comparison for ALPHA: `strcoll` (the C/C.UTF-8 locale:
/// bytes up to the first NUL) when replying, binary when storing.
fn text_cmp(a: &[u8], b: &[u8], binary: bool) -> Ordering {
    if binary {
        a.cmp(b)
    } else {
        cstr(a).cmp(cstr(b))
    }
}

/// Leaves a sorted set in the `skiplist` encoding, as Redis's SORT does.
fn to_skiplist(ctx: &mut Ctx, key: &[u8]) {
    let now = ctx.now;
    let Some(e) = ctx.db().get(key, now) else { return };
    let Value::ZSet(z) = &e.value else { return };
    if z.encoding() == "skiplist" {
        return;
    }
    let mut items: Vec<(SBytes, f64)> = Vec::with_capacity(z.len());
    z.walk(0, false, |m, s| {
        items.push((SBytes::new(m), s));
        true
    });
    e.value = Value::from(ZSet::from_sorted(items, Limits { entries: 0, value: 0 }));
}

/// Resolves a BY/GET pattern for one element, as Redis's `lookupKeyByPattern`:
/// `#` is the element itself; otherwise the first `*` is replaced by the
/// element and the key read (a string, or with `->field` a hash field).
/// Every key lookup counts a keyspace hit or miss.
fn lookup_pattern(ctx: &mut Ctx, pat: &[u8], elem: &[u8]) -> Option<Vec<u8>> {
    if pat.first() == Some(&b'#') && pat.get(1).is_none_or(|&c| c == 0) {
        return Some(elem.to_vec());
    }
    let c = cstr(pat);
    let star = c.iter().position(|&b| b == b'*')?;
    let arrow = c[star + 1..].windows(2).position(|w| w == b"->").map(|f| star + 1 + f);
    let field = match arrow {
        Some(f) if f + 2 < c.len() => Some(&pat[f + 2..]),
        _ => None,
    };
    let post_end = field.map_or(pat.len(), |f| pat.len() - f.len() - 2);
    let mut k = Vec::with_capacity(pat.len() + elem.len());
    k.extend_from_slice(&pat[..star]);
    k.extend_from_slice(elem);
    k.extend_from_slice(&pat[star + 1..post_end]);
    let e = ctx.lookup_read(&k)?;
    let mut nb = itoa::Buffer::new();
    match field {
        None => str_view(&e.value, &mut nb).map(|s| s.to_vec()),
        Some(f) => match &e.value {
            Value::Hash(h) => h.get(f).map(|it| it.bytes(&mut nb).to_vec()),
            _ => None,
        },
    }
}

// ---------------------------------------------------------------------------
// Partial quicksort
// ---------------------------------------------------------------------------

/// Sorts `v` enough that positions `lrange..=rrange` hold what a full sort
/// would put there: Bentley and McIlroy's quicksort (median of three, ninther
/// above 40 elements, three-way partition with the equal keys swapped to the
/// ends, insertion sort below 7) skipping partitions outside the range. Redis
/// uses this for SORT ... BY ... LIMIT, so equal elements end up in exactly
/// the order it leaves them.
pub(crate) fn pqsort<T>(v: &mut [T], lrange: isize, rrange: isize, cmp: &mut impl FnMut(&T, &T) -> Ordering) {
    let n = v.len();
    pq(v, 0, n, lrange, rrange, cmp);
}

fn med3<T>(v: &[T], a: usize, b: usize, c: usize, cmp: &mut impl FnMut(&T, &T) -> Ordering) -> usize {
    if cmp(&v[a], &v[b]) == Ordering::Less {
        if cmp(&v[b], &v[c]) == Ordering::Less {
            b
        } else if cmp(&v[a], &v[c]) == Ordering::Less {
            c
        } else {
            a
        }
    } else if cmp(&v[b], &v[c]) == Ordering::Greater {
        b
    } else if cmp(&v[a], &v[c]) == Ordering::Less {
        a
    } else {
        c
    }
}

fn vecswap<T>(v: &mut [T], a: usize, b: usize, n: usize) {
    for i in 0..n {
        v.swap(a + i, b + i);
    }
}

/// True when the range `lrange..=rrange` overlaps `lo..=hi`.
fn overlaps(lo: usize, hi: usize, lrange: isize, rrange: isize) -> bool {
    let (lo, hi) = (lo as isize, hi as isize);
    !((lrange < lo && rrange < lo) || (lrange > hi && rrange > hi))
}

fn pq<T>(
    v: &mut [T],
    mut a: usize,
    mut n: usize,
    lrange: isize,
    rrange: isize,
    cmp: &mut impl FnMut(&T, &T) -> Ordering,
) {
    loop {
        if n < 7 {
            for pm in a + 1..a + n {
                let mut pl = pm;
                while pl > a && cmp(&v[pl - 1], &v[pl]) == Ordering::Greater {
                    v.swap(pl, pl - 1);
                    pl -= 1;
                }
            }
            return;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let mut pl = a;
            let mut pn = a + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
                pm = med3(v, pm - d, pm, pm + d, cmp);
                pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
            }
            pm = med3(v, pl, pm, pn, cmp);
        }
        v.swap(a, pm);
        let (mut pa, mut pb) = (a + 1, a + 1);
        let (mut pc, mut pd) = (a + n - 1, a + n - 1);
        loop {
            while pb <= pc {
                let r = cmp(&v[pb], &v[a]);
                if r == Ordering::Greater {
                    break;
                }
                if r == Ordering::Equal {
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let r = cmp(&v[pc], &v[a]);
                if r == Ordering::Less {
                    break;
                }
                if r == Ordering::Equal {
                    v.swap(pc, pd);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb, pc);
            pb += 1;
            pc -= 1;
        }
        let pn = a + n;
        let r = (pa - a).min(pb - pa);
        vecswap(v, a, pb - r, r);
        let r = (pd - pc).min(pn - pd - 1);
        vecswap(v, pb, pn - r, r);
        let r = pb - pa;
        if r > 1 && overlaps(a, a + r - 1, lrange, rrange) {
            pq(v, a, r, lrange, rrange, cmp);
        }
        let r = pd - pc;
        if r > 1 {
            a = pn - r;
            n = r;
            if overlaps(a, a + r - 1, lrange, rrange) {
                continue;
            }
        }
        return;
    }
}

// ---------------------------------------------------------------------------
// Scores: C's strtod with glibc's range errors
// ---------------------------------------------------------------------------

/// The numeric score of an element or weight as Redis computes it: `strtod`
/// over the string up to its first NUL, which must be consumed entirely, with
/// no range error (overflow, or an inexact result below the normal range)
/// and not NaN. An empty string scores 0.
fn score_of(b: &[u8]) -> Option<f64> {
    let s = cstr(b);
    let (v, used, erange) = strtod(s);
    if used == 0 {
        return if s.is_empty() { Some(0.0) } else { None };
    }
    if used != s.len() || erange || v.is_nan() {
        None
    } else {
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strtod::{pow2, DBL_MIN};

    #[test]
    fn scores_follow_strtod() {
        let ok = |s: &str, v: f64| assert_eq!(score_of(s.as_bytes()), Some(v), "{s}");
        let bad = |s: &str| assert_eq!(score_of(s.as_bytes()), None, "{s}");
        ok("", 0.0);
        ok(" 1", 1.0);
        ok("0x10", 16.0);
        ok("-0x1", -1.0);
        ok("0x1.8p1", 3.0);
        ok("0x.8", 0.5);
        ok("0x1.", 1.0);
        ok("iNf", f64::INFINITY);
        ok("3\0x", 3.0);
        ok("\0", 0.0);
        ok("0x1p-1074", pow2(-1074));
        ok("0x0.0000000000001p-1022", pow2(-1074));
        ok("0x1.fffffffffffff8p-1023", DBL_MIN);
        ok("2.2250738585072013e-308", DBL_MIN);
        ok("0e-400", 0.0);
        ok("1.7976931348623158e308", f64::MAX);
        ok("0x1.fffffffffffff7ffp1023", f64::MAX);
        for s in [
            "1 ",
            "nan",
            "1e400",
            "1e-400",
            "2.5e-310",
            "1e",
            "0x",
            "-",
            ".",
            " ",
            "infinit",
            "0x1.fffffffffffffp-1023",
            "0x1.fffffffffffff7p-1023",
            "0x0.00000000000008p-1022",
            "0x1.fffffffffffff8p1023",
            "0x1p-1075",
            "2.2250738585072012e-308",
            "2.2250738585072011e-308",
            "1.797693134862315808e308",
            "nan(123)",
        ] {
            bad(s);
        }
    }

    #[test]
    fn pqsort_matches_a_full_sort_in_range() {
        let mut seed = 7u64;
        for _ in 0..500 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let n = (seed >> 33) as usize % 100;
            let mut v: Vec<u32> = (0..n)
                .map(|i| {
                    let x = seed.wrapping_mul(i as u64 + 1).rotate_left(17);
                    (x % 10) as u32
                })
                .collect();
            let mut full = v.clone();
            full.sort();
            let l = if n > 0 { (seed % n as u64) as isize } else { 0 };
            let r = (l + (seed >> 7) as isize % 10).min(n as isize - 1);
            pqsort(&mut v, l, r, &mut |a, b| a.cmp(b));
            for i in l.max(0)..=r {
                assert_eq!(v[i as usize], full[i as usize]);
            }
        }
    }
}
