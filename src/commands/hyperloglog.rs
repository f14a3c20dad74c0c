//! HyperLogLog commands (PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST) over
//! Redis 7.0's `HYLL` string format, byte for byte: the 16-byte header (magic,
//! encoding, cached cardinality whose top bit marks it stale), the dense layout
//! (16384 registers of 6 bits, least significant bits first), the sparse
//! opcodes (ZERO, XZERO, VAL) with their in-place split and merge rules and the
//! promotion to dense past `hll-sparse-max-bytes`, MurmurHash64A with Redis's
//! seed, and the 7.0 cardinality estimator (Ertl's tau/sigma). The values are
//! plain strings, so GET/SET/DUMP/RESTORE move them between ferrokv and Redis.
//! Corrupted values give Redis's errors and never a panic: every access to the
//! buffer is bounds-checked, and the byte past the end (which Redis reads for
//! an XZERO opcode cut by the end of the string) is modelled explicitly.

use super::strings::{cstr, raw_bytes_mut};
use super::{err, Ctx, Handler};
use crate::server::notify;
use crate::storage::db::KeyEvent;
use crate::storage::{SBytes, Value};
use crate::util::eq_ic;
use bytes::Bytes;

pub const COMMANDS: &[(&str, Handler)] =
    &[("pfadd", pfadd), ("pfcount", pfcount), ("pfmerge", pfmerge), ("pfdebug", pfdebug), ("pfselftest", pfselftest)];

const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
const INVALID_HLL: &str = "INVALIDOBJ Corrupted HLL object detected";

/// Register index bits (precision).
const P: u32 = 14;
/// Hash bits left for the run of zeroes.
const Q: usize = 64 - P as usize;
const REGISTERS: usize = 1 << P;
const P_MASK: u64 = REGISTERS as u64 - 1;
const REGISTER_MAX: u8 = 63;
const HDR_SIZE: usize = 16;
const DENSE_SIZE: usize = HDR_SIZE + (REGISTERS * 6).div_ceil(8);
const DENSE: u8 = 0;
const SPARSE: u8 = 1;
/// Header byte holding the "cached cardinality is stale" bit (card[7], bit 7).
const CARD_HI: usize = 15;

const VAL_MAX_VALUE: u8 = 32;
const VAL_MAX_LEN: i64 = 4;
const ZERO_MAX_LEN: i64 = 64;
const XZERO_MAX_LEN: i64 = 16384;
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;
const HASH_SEED: u32 = 0xadc8_3b19;

// ---------------------------------------------------------------------------
// Hashing
// ---------------------------------------------------------------------------

/// MurmurHash2, 64-bit version (MurmurHash64A), reading blocks little-endian
/// as Redis does on every architecture.
fn murmur64a(data: &[u8], seed: u32) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    // Redis takes the length as a C int.
    let len = data.len() as i32 as i64 as u64;
    let mut h = (seed as u64) ^ len.wrapping_mul(M);
    let mut blocks = data.chunks_exact(8);
    for b in &mut blocks {
        let mut w = [0u8; 8];
        w.copy_from_slice(b);
        let mut k = u64::from_le_bytes(w);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= (b as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// Redis's `hllPatLen`: the register an element maps to and the length of the
/// `000..1` pattern of the rest of its hash (1..=Q+1).
fn pat_len(ele: &[u8]) -> (usize, u8) {
    let hash = murmur64a(ele, HASH_SEED);
    let index = (hash & P_MASK) as usize;
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

// ---------------------------------------------------------------------------
// Dense representation
// ---------------------------------------------------------------------------

/// A register of a dense array (bytes past the end read as zero).
#[inline]
fn dense_get(regs: &[u8], i: usize) -> u8 {
    let bit = i * 6;
    let (byte, fb) = (bit / 8, (bit & 7) as u32);
    let b0 = regs.get(byte).copied().unwrap_or(0) as u32;
    let b1 = regs.get(byte + 1).copied().unwrap_or(0) as u32;
    (((b0 >> fb) | (b1 << (8 - fb))) & REGISTER_MAX as u32) as u8
}

#[inline]
fn dense_put(regs: &mut [u8], i: usize, val: u8) {
    let bit = i * 6;
    let (byte, fb) = (bit / 8, (bit & 7) as u32);
    let v = val as u32;
    if let Some(b) = regs.get_mut(byte) {
        *b &= !((REGISTER_MAX as u32) << fb) as u8;
        *b |= (v << fb) as u8;
    }
    if let Some(b) = regs.get_mut(byte + 1) {
        *b &= !((REGISTER_MAX as u32) >> (8 - fb)) as u8;
        *b |= (v >> (8 - fb)) as u8;
    }
}

/// The registers of a value (empty if the string is shorter than the header).
fn regs_mut(s: &mut [u8]) -> &mut [u8] {
    s.get_mut(HDR_SIZE..).unwrap_or_default()
}

/// Redis's `hllDenseSet`: raises the register; 1 when it changed.
fn dense_set(regs: &mut [u8], i: usize, count: u8) -> i32 {
    if count > dense_get(regs, i) {
        dense_put(regs, i, count);
        1
    } else {
        0
    }
}

fn dense_histo(regs: &[u8], histo: &mut [i32; 64]) {
    if regs.len() >= REGISTERS * 6 / 8 {
        for g in regs[..REGISTERS * 6 / 8].chunks_exact(3) {
            let (b0, b1, b2) = (g[0], g[1], g[2]);
            histo[(b0 & 63) as usize] += 1;
            histo[((b0 >> 6 | b1 << 2) & 63) as usize] += 1;
            histo[((b1 >> 4 | b2 << 4) & 63) as usize] += 1;
            histo[(b2 >> 2) as usize] += 1;
        }
    } else {
        for i in 0..REGISTERS {
            histo[dense_get(regs, i) as usize] += 1;
        }
    }
}

// ---------------------------------------------------------------------------
// Sparse representation
// ---------------------------------------------------------------------------

#[inline]
fn is_zero(b: u8) -> bool {
    b & 0xc0 == 0
}

#[inline]
fn is_xzero(b: u8) -> bool {
    b & 0xc0 == 0x40
}

#[inline]
fn is_val(b: u8) -> bool {
    b & 0x80 != 0
}

#[inline]
fn zero_len(b: u8) -> i64 {
    (b & 0x3f) as i64 + 1
}

#[inline]
fn xzero_len(b: u8, b1: u8) -> i64 {
    (((b & 0x3f) as i64) << 8 | b1 as i64) + 1
}

#[inline]
fn val_value(b: u8) -> u8 {
    ((b >> 2) & 0x1f) + 1
}

#[inline]
fn val_len(b: u8) -> i64 {
    (b & 3) as i64 + 1
}

#[inline]
fn val_op(val: u8, len: i64) -> u8 {
    ((val.wrapping_sub(1) << 2) | ((len - 1) as u8 & 3)) | 0x80
}

fn push_zero_run(seq: &mut Vec<u8>, len: i64) {
    if len > ZERO_MAX_LEN {
        let l = len - 1;
        seq.push(((l >> 8) as u8 & 0x3f) | 0x40);
        seq.push(l as u8);
    } else {
        seq.push((len - 1) as u8);
    }
}

/// The byte at `i`, zero past the end (the sds terminator).
#[inline]
fn at(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

/// One sparse opcode decoded: (registers covered, value, bytes used). An
/// XZERO cut by the end of the string takes its second byte from `past_end`,
/// the byte Redis's buffer holds just past the string: the NUL terminator,
/// except after `sparse_set` split such an XZERO (see there).
#[inline]
fn opcode(s: &[u8], p: usize, past_end: u8) -> (i64, u8, usize) {
    let b = s[p];
    if is_zero(b) {
        (zero_len(b), 0, 1)
    } else if is_xzero(b) {
        (xzero_len(b, s.get(p + 1).copied().unwrap_or(past_end)), 0, 2)
    } else {
        (val_len(b), val_value(b), 1)
    }
}

/// Walks the sparse opcodes of `s`, calling `f(first register, run length,
/// value)` for each run. The opcodes are valid when they cover exactly the
/// 16384 registers; a run that would go past them stops the walk before `f`
/// sees it (as Redis's bounds checks do since the CVE-2025-32023 fix that the
/// reference 7.0.15 build carries), so `f` only ever sees in-range registers.
fn walk_sparse(s: &[u8], past_end: u8, mut f: impl FnMut(usize, usize, u8)) -> Result<(), ()> {
    let mut idx: i64 = 0;
    let mut p = HDR_SIZE;
    while p < s.len() {
        let (runlen, val, oplen) = opcode(s, p, past_end);
        if idx + runlen > REGISTERS as i64 {
            return Err(());
        }
        f(idx as usize, runlen as usize, val);
        idx += runlen;
        p += oplen;
    }
    if idx != REGISTERS as i64 {
        return Err(());
    }
    Ok(())
}

/// Redis's `hllSparseToDense` (the whole string, header included; the header
/// is kept, unused bytes and cached cardinality too). Err leaves `s` unchanged.
fn sparse_to_dense(s: &mut Vec<u8>, past_end: u8) -> Result<(), ()> {
    if s.get(4) == Some(&DENSE) {
        return Ok(());
    }
    let mut dense = Vec::new();
    dense.try_reserve_exact(DENSE_SIZE).map_err(|_| ())?;
    dense.resize(DENSE_SIZE, 0);
    let hdr = s.len().min(HDR_SIZE);
    dense[..hdr].copy_from_slice(&s[..hdr]);
    dense[4] = DENSE;
    walk_sparse(s, past_end, |first, len, val| {
        if val != 0 {
            for i in first..first + len {
                dense_put(&mut dense[HDR_SIZE..], i, val);
            }
        }
    })?;
    *s = dense;
    Ok(())
}

/// Redis's `hllSparseRegHisto`; returns whether the opcodes are invalid.
fn sparse_histo(s: &[u8], histo: &mut [i32; 64]) -> bool {
    walk_sparse(s, 0, |_, len, val| histo[val as usize] += len as i32).is_err()
}

/// Redis's `hllSparseSet`: raises register `index` to `count` in the sparse
/// string `s`, splitting the opcode that covers it and merging equal
/// neighbours, or promotes the value to dense when the count does not fit a
/// VAL opcode or the string would grow past `max_bytes`. Returns 1 when a
/// register changed, 0 when not, -1 for a corrupted value.
///
/// `past_end` is the byte just past the string in Redis's buffer, which a
/// corrupted value whose last XZERO lacks its second byte reads: Redis grows
/// the length before copying the new opcodes in, so the last byte of the
/// sequence replacing such an XZERO lands past the new end and is read by
/// later operations of the same command.
fn sparse_set(s: &mut Vec<u8>, past_end: &mut u8, index: usize, count: u8, max_bytes: u64) -> i32 {
    if count > VAL_MAX_VALUE {
        return promote(s, past_end, index, count);
    }
    let index = index as i64;
    let end = s.len();
    // Step 1: find the opcode covering the register.
    let mut p = HDR_SIZE;
    let mut first: i64 = 0;
    let mut prev: Option<usize> = None;
    let mut span: i64 = 0;
    while p < end {
        let (sp, _, oplen) = opcode(s, p, *past_end);
        span = sp;
        if index < first + span {
            break;
        }
        prev = Some(p);
        p += oplen;
        first += span;
    }
    if span == 0 || p >= end {
        return -1;
    }
    let b = s[p];
    let (zero, xzero) = (is_zero(b), is_xzero(b));
    let runlen = span;

    // Step 2: the trivial in-place updates.
    let mut done = false;
    if is_val(b) {
        if val_value(b) >= count {
            return 0;
        }
        if runlen == 1 {
            s[p] = val_op(count, 1);
            done = true;
        }
    }
    if !done && zero && runlen == 1 {
        s[p] = val_op(count, 1);
        done = true;
    }

    // Step 3: split the opcode into up to three.
    if !done {
        let last = first + span - 1;
        let mut seq: Vec<u8> = Vec::with_capacity(5);
        if zero || xzero {
            if index != first {
                push_zero_run(&mut seq, index - first);
            }
            seq.push(val_op(count, 1));
            if index != last {
                push_zero_run(&mut seq, last - index);
            }
        } else {
            let cur = val_value(b);
            if index != first {
                seq.push(val_op(cur, index - first));
            }
            seq.push(val_op(count, 1));
            if index != last {
                seq.push(val_op(cur, last - index));
            }
        }
        let oldlen = if xzero { 2 } else { 1 };
        let delta = seq.len() as i64 - oldlen as i64;
        if delta > 0 && (s.len() as u64).saturating_add(delta as u64) > max_bytes {
            return promote(s, past_end, index as usize, count);
        }
        let new_len = (end as i64 + delta) as usize;
        // An XZERO cut by the end of the string spans the terminator: the
        // last byte of the new sequence goes past the new length.
        *past_end = if p + oldlen > end { seq.last().copied().unwrap_or(0) } else { 0 };
        s.splice(p..(p + oldlen).min(end), seq);
        s.truncate(new_len);
    }

    // Step 4: merge adjacent VAL opcodes of equal value, scanning up to five
    // opcodes from the one before the change.
    let mut p = prev.unwrap_or(HDR_SIZE);
    let mut scan = 5;
    while p < s.len() && scan > 0 {
        scan -= 1;
        let b = s[p];
        if is_xzero(b) {
            p += 2;
            continue;
        }
        if is_zero(b) {
            p += 1;
            continue;
        }
        if p + 1 < s.len() && is_val(s[p + 1]) {
            let (v1, v2) = (val_value(b), val_value(s[p + 1]));
            if v1 == v2 {
                let len = val_len(b) + val_len(s[p + 1]);
                if len <= VAL_MAX_LEN {
                    s[p + 1] = val_op(v1, len);
                    s.remove(p);
                    *past_end = 0;
                    continue;
                }
            }
        }
        p += 1;
    }
    if let Some(c) = s.get_mut(CARD_HI) {
        *c |= 0x80;
    }
    1
}

/// Converts to dense and sets the register there (the sparse form cannot hold it).
fn promote(s: &mut Vec<u8>, past_end: &mut u8, index: usize, count: u8) -> i32 {
    if sparse_to_dense(s, *past_end).is_err() {
        return -1;
    }
    *past_end = 0;
    dense_set(regs_mut(s), index, count)
}

/// Redis's `hllAdd`: 1 when a register changed, 0 when not, -1 when corrupted.
fn hll_add(s: &mut Vec<u8>, past_end: &mut u8, ele: &[u8], max_bytes: u64) -> i32 {
    let (index, count) = pat_len(ele);
    match s.get(4) {
        Some(&DENSE) => dense_set(regs_mut(s), index, count),
        Some(&SPARSE) => sparse_set(s, past_end, index, count, max_bytes),
        _ => -1,
    }
}

/// Redis's `hllMerge`: raises `max` to the registers of the value `s`.
fn hll_merge(max: &mut [u8; REGISTERS], s: &[u8]) -> Result<(), ()> {
    if s.get(4) == Some(&DENSE) {
        let regs = &s[HDR_SIZE.min(s.len())..];
        for (i, m) in max.iter_mut().enumerate() {
            let v = dense_get(regs, i);
            if v > *m {
                *m = v;
            }
        }
        return Ok(());
    }
    walk_sparse(s, 0, |first, len, val| {
        for m in &mut max[first..first + len] {
            if val > *m {
                *m = val;
            }
        }
    })
}

// ---------------------------------------------------------------------------
// Cardinality estimation
// ---------------------------------------------------------------------------

/// Ertl's sigma function ("New cardinality estimation algorithms for
/// HyperLogLog sketches", arXiv:1702.01284), iterated as Redis does.
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let zp = z;
        z += x * y;
        y += y;
        if zp == z {
            return z;
        }
    }
}

/// Ertl's tau function.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let zp = z;
        y *= 0.5;
        let d = 1.0 - x;
        z -= d * d * y;
        if zp == z {
            return z / 3.0;
        }
    }
}

/// C's `llroundl` on x86-64: half away from zero; out of range (or NaN) gives
/// the "integer indefinite" LLONG_MIN.
fn llround(x: f64) -> i64 {
    const LIM: f64 = 9_223_372_036_854_775_808.0;
    if x.is_nan() || !(-LIM..LIM).contains(&x) {
        i64::MIN
    } else {
        x.round() as i64
    }
}

/// The estimate from a register histogram (Redis's `hllCount` after the
/// histogram), including its conversions: long long to double to uint64_t.
fn estimate(histo: &[i32; 64]) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - histo[Q + 1] as f64) / m);
    for j in (1..=Q).rev() {
        z += histo[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(histo[0] as f64 / m);
    let e = llround(ALPHA_INF * m * m / z) as f64;
    if e >= 9_223_372_036_854_775_808.0 {
        1u64 << 63
    } else {
        e as i64 as u64
    }
}

/// Redis's `hllCount` of a stored value: the estimate and whether the sparse
/// opcodes were invalid.
fn count_value(s: &[u8]) -> (u64, bool) {
    let mut histo = [0i32; 64];
    let regs = &s[HDR_SIZE.min(s.len())..];
    let invalid = if s.get(4) == Some(&DENSE) {
        dense_histo(regs, &mut histo);
        false
    } else {
        sparse_histo(s, &mut histo)
    };
    (estimate(&histo), invalid)
}

/// The estimate of registers held one per byte (PFCOUNT of several keys).
fn count_raw(max: &[u8; REGISTERS]) -> u64 {
    let mut histo = [0i32; 64];
    for &r in max.iter() {
        histo[(r & 63) as usize] += 1;
    }
    estimate(&histo)
}

// ---------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------

/// A fresh HLL as Redis's `createHLLObject`: sparse, all registers zero (one
/// XZERO of 16384), cached cardinality 0 and valid.
fn new_hll() -> Vec<u8> {
    let mut v = Vec::with_capacity(HDR_SIZE + 2);
    v.extend_from_slice(b"HYLL");
    v.push(SPARSE);
    v.resize(HDR_SIZE, 0);
    push_zero_run(&mut v, XZERO_MAX_LEN);
    v
}

/// Redis's `isHLLObjectOrReply` check: the error to reply, if any.
fn check(v: &Value) -> Result<(), &'static str> {
    if !v.is_string() {
        return Err(err::WRONGTYPE);
    }
    // `int`-encoded strings are not sds strings: never an HLL.
    let Some(s) = v.str_bytes() else { return Err(NOT_HLL) };
    if s.len() < HDR_SIZE || &s[..4] != b"HYLL" || s[4] > SPARSE || (s[4] == DENSE && s.len() != DENSE_SIZE) {
        return Err(NOT_HLL);
    }
    Ok(())
}

/// Redis's `dbUnshareStringValue`: the value as a `raw` string to edit in place.
fn unshare(v: &mut Value) -> Option<&mut Vec<u8>> {
    raw_bytes_mut(v)?;
    #[allow(unreachable_patterns)]
    match v {
        Value::RawStr(b) => {
            let r: &mut Vec<u8> = b;
            Some(r)
        }
        _ => None,
    }
}

fn cache_valid(s: &[u8]) -> bool {
    at(s, CARD_HI) & 0x80 == 0
}

fn invalidate(s: &mut [u8]) {
    if let Some(c) = s.get_mut(CARD_HI) {
        *c |= 0x80;
    }
}

/// Redis's `signalModifiedKey` for WATCH and tracking, where the dispatcher cannot infer
/// it from the key positions: `PFMERGE dest` alone has no key by its key
/// specs (Redis's COMMAND GETKEYS finds none either) yet touches `dest`.
fn signal_modified(ctx: &mut Ctx, key: &[u8]) {
    let db = &mut ctx.srv.dbs[ctx.client.db];
    if db.observed(key) {
        db.key_events.push((SBytes::new(key), KeyEvent::Written));
    }
}

fn sparse_max_bytes(ctx: &Ctx) -> u64 {
    ctx.srv.config.hll_sparse_max_bytes
}

// ---------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------

fn pfadd(ctx: &mut Ctx, args: &[Bytes]) {
    let key = &args[1];
    let max_bytes = sparse_max_bytes(ctx);
    let now = ctx.now;
    let mut updated: u64 = 0;
    if ctx.lookup_write(key).is_none() {
        ctx.db().add(key, Value::raw(new_hll()), now);
        updated += 1;
    }
    let outcome = {
        let Some(e) = ctx.lookup_write(key) else { return };
        if let Err(m) = check(&e.value) {
            Err(m)
        } else if let Some(s) = unshare(&mut e.value) {
            let mut res = Ok(());
            let mut past_end = 0;
            for ele in &args[2..] {
                match hll_add(s, &mut past_end, ele, max_bytes) {
                    1 => updated += 1,
                    -1 => {
                        res = Err(INVALID_HLL);
                        break;
                    }
                    _ => {}
                }
            }
            if res.is_ok() && updated > 0 {
                invalidate(s);
            }
            res
        } else {
            Err(NOT_HLL)
        }
    };
    if let Err(m) = outcome {
        ctx.err(m);
        return;
    }
    if updated > 0 {
        ctx.dirty(updated);
        ctx.notify(notify::STRING, "pfadd", key);
    }
    ctx.out.int((updated > 0) as i64);
}

/// What PFCOUNT of one key found.
enum Counted {
    Card(u64),
    Computed(u64),
    Error(&'static str),
}

fn pfcount(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() > 2 {
        return pfcount_union(ctx, &args[1..]);
    }
    let outcome = {
        let Some(e) = ctx.lookup_read(&args[1]) else {
            ctx.out.int(0);
            return;
        };
        if let Err(m) = check(&e.value) {
            Counted::Error(m)
        } else if let Some(s) = unshare(&mut e.value) {
            if cache_valid(s) {
                let mut c = [0u8; 8];
                c.copy_from_slice(&s[8..16]);
                Counted::Card(u64::from_le_bytes(c))
            } else {
                let (card, invalid) = count_value(s);
                if invalid {
                    Counted::Error(INVALID_HLL)
                } else {
                    // The cache is part of the value: PFCOUNT writes it (and
                    // counts as a change, as Redis propagates it).
                    s[8..16].copy_from_slice(&card.to_le_bytes());
                    Counted::Computed(card)
                }
            }
        } else {
            Counted::Error(NOT_HLL)
        }
    };
    match outcome {
        Counted::Card(c) => ctx.out.int(c as i64),
        Counted::Computed(c) => {
            ctx.dirty(1);
            ctx.out.int(c as i64);
        }
        Counted::Error(m) => ctx.err(m),
    }
}

/// Merges the registers of `keys` (missing keys are empty HLLs) into `max`;
/// replies the error and returns None on failure, else whether any was dense.
fn merge_keys(ctx: &mut Ctx, keys: &[Bytes], max: &mut [u8; REGISTERS]) -> Option<bool> {
    let mut any_dense = false;
    for key in keys {
        let res = match ctx.lookup_read(key) {
            None => continue,
            Some(e) => match check(&e.value) {
                Err(m) => Err(m),
                Ok(()) => {
                    let s = e.value.str_bytes().unwrap_or_default();
                    any_dense |= s.get(4) == Some(&DENSE);
                    hll_merge(max, s).map_err(|_| INVALID_HLL)
                }
            },
        };
        if let Err(m) = res {
            ctx.err(m);
            return None;
        }
    }
    Some(any_dense)
}

fn pfcount_union(ctx: &mut Ctx, keys: &[Bytes]) {
    let mut max = [0u8; REGISTERS];
    if merge_keys(ctx, keys, &mut max).is_none() {
        return;
    }
    ctx.out.int(count_raw(&max) as i64);
}

fn pfmerge(ctx: &mut Ctx, args: &[Bytes]) {
    let mut max = [0u8; REGISTERS];
    // The destination takes part in the union.
    let Some(use_dense) = merge_keys(ctx, &args[1..], &mut max) else { return };
    let key = &args[1];
    let max_bytes = sparse_max_bytes(ctx);
    let now = ctx.now;
    if ctx.lookup_write(key).is_none() {
        ctx.db().add(key, Value::raw(new_hll()), now);
    }
    let ok = {
        let Some(e) = ctx.lookup_write(key) else { return };
        match unshare(&mut e.value) {
            None => false,
            Some(s) => {
                let mut past_end = 0;
                if use_dense && sparse_to_dense(s, 0).is_err() {
                    false
                } else {
                    for (j, &m) in max.iter().enumerate() {
                        if m == 0 {
                            continue;
                        }
                        match s.get(4) {
                            Some(&DENSE) => {
                                dense_set(regs_mut(s), j, m);
                            }
                            Some(&SPARSE) => {
                                sparse_set(s, &mut past_end, j, m, max_bytes);
                            }
                            _ => {}
                        }
                    }
                    invalidate(s);
                    true
                }
            }
        }
    };
    if !ok {
        ctx.err(INVALID_HLL);
        return;
    }
    ctx.dirty(1);
    signal_modified(ctx, key);
    // A merge is announced as the mass-add it is.
    ctx.notify(notify::STRING, "pfadd", key);
    ctx.out.ok();
}

/// What a PFDEBUG subcommand produced.
enum DebugReply {
    Registers(Vec<u8>, bool),
    Decoded(Vec<u8>),
    Status(&'static str),
    Converted(bool),
    Error(&'static str),
    Unknown,
}

fn pfdebug(ctx: &mut Ctx, args: &[Bytes]) {
    let sub = cstr(&args[1]);
    let key = &args[2];
    let outcome = {
        let Some(e) = ctx.lookup_write(key) else {
            ctx.err("ERR The specified key does not exist");
            return;
        };
        if let Err(m) = check(&e.value) {
            DebugReply::Error(m)
        } else if let Some(s) = unshare(&mut e.value) {
            let sparse = s.get(4) == Some(&SPARSE);
            if eq_ic(sub, b"getreg") {
                if sparse && sparse_to_dense(s, 0).is_err() {
                    DebugReply::Error(INVALID_HLL)
                } else {
                    let regs = &s[HDR_SIZE..];
                    DebugReply::Registers((0..REGISTERS).map(|i| dense_get(regs, i)).collect(), sparse)
                }
            } else if eq_ic(sub, b"decode") {
                if sparse {
                    DebugReply::Decoded(decode(s))
                } else {
                    DebugReply::Error("ERR HLL encoding is not sparse")
                }
            } else if eq_ic(sub, b"encoding") {
                DebugReply::Status(if sparse { "sparse" } else { "dense" })
            } else if eq_ic(sub, b"todense") {
                if sparse && sparse_to_dense(s, 0).is_err() {
                    DebugReply::Error(INVALID_HLL)
                } else {
                    DebugReply::Converted(sparse)
                }
            } else {
                DebugReply::Unknown
            }
        } else {
            DebugReply::Error(NOT_HLL)
        }
    };
    let converted = matches!(outcome, DebugReply::Registers(_, true) | DebugReply::Converted(true));
    if converted {
        // Redis counts the conversion as a change (for propagation) without
        // signalling the key: WATCHers of it are not touched.
        ctx.dirty(1);
        let db = ctx.client.db;
        ctx.srv.dbs[db]
            .key_events
            .retain(|(k, ev)| k.as_slice() != key.as_ref() || !matches!(ev, KeyEvent::Looked { .. }));
    }
    match outcome {
        DebugReply::Registers(regs, _) => {
            ctx.out.array_len(regs.len());
            for r in regs {
                ctx.out.int(r as i64);
            }
        }
        DebugReply::Decoded(text) => ctx.out.bulk(&text),
        DebugReply::Status(s) => ctx.out.status(s),
        DebugReply::Converted(c) => ctx.out.int(c as i64),
        DebugReply::Error(m) => ctx.err(m),
        DebugReply::Unknown => {
            // The name is echoed byte for byte (up to a NUL, as C sees it).
            ctx.failed = true;
            ctx.srv.stats.count_error("ERR");
            let mut line = b"-ERR Unknown PFDEBUG subcommand '".to_vec();
            line.extend(sub.iter().map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }));
            line.extend_from_slice(b"'\r\n");
            ctx.out.raw(&line);
        }
    }
}

/// PFDEBUG DECODE's text: `z:<len>`, `Z:<len>`, `v:<value>,<len>` per opcode.
fn decode(s: &[u8]) -> Vec<u8> {
    let mut out = String::new();
    let mut p = HDR_SIZE;
    while p < s.len() {
        let b = s[p];
        let (runlen, val, oplen) = opcode(s, p, 0);
        if is_zero(b) {
            out.push_str(&format!("z:{runlen} "));
        } else if is_xzero(b) {
            out.push_str(&format!("Z:{runlen} "));
        } else {
            out.push_str(&format!("v:{val},{runlen} "));
        }
        p += oplen;
    }
    out.trim_matches(' ').as_bytes().to_vec()
}

fn pfselftest(ctx: &mut Ctx, _args: &[Bytes]) {
    let max_bytes = sparse_max_bytes(ctx);
    match selftest(max_bytes) {
        Ok(()) => ctx.out.ok(),
        Err(m) => ctx.err(&m),
    }
}

/// Redis's PFSELFTEST: register access on random values, then dense and
/// sparse HLLs fed the same ten million elements, agreeing with each other
/// and within six standard errors at every power of ten.
fn selftest(max_bytes: u64) -> Result<(), String> {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    let mut regs = vec![0u8; DENSE_SIZE - HDR_SIZE];
    let mut bytes = [0u8; REGISTERS];
    for _ in 0..1000 {
        for (i, b) in bytes.iter_mut().enumerate() {
            let r = rng.gen::<u8>() & REGISTER_MAX;
            *b = r;
            dense_put(&mut regs, i, r);
        }
        for (i, &b) in bytes.iter().enumerate() {
            let v = dense_get(&regs, i);
            if v != b {
                return Err(format!("TESTFAILED Register error, count should be {b} but is {v}"));
            }
        }
    }

    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..4].copy_from_slice(b"HYLL");
    dense[4] = DENSE;
    let mut sparse = new_hll();
    let relerr = 1.04 / (REGISTERS as f64).sqrt();
    let mut checkpoint: i64 = 1;
    let seed: u64 = rng.gen();
    for j in 1..=10_000_000u64 {
        let ele = (j ^ seed).to_le_bytes();
        let (index, count) = pat_len(&ele);
        dense_set(&mut dense[HDR_SIZE..], index, count);
        hll_add(&mut sparse, &mut 0, &ele, max_bytes);
        if j as i64 != checkpoint {
            continue;
        }
        if j < max_bytes / 2 && sparse.get(4) != Some(&SPARSE) {
            return Err("TESTFAILED sparse encoding not used".into());
        }
        let card = count_value(&dense).0;
        if card != count_value(&sparse).0 {
            return Err("TESTFAILED dense/sparse disagree".into());
        }
        let abserr = (checkpoint - card as i64).unsigned_abs();
        let maxerr = if j == 10 { 1 } else { (relerr * 6.0 * checkpoint as f64).ceil() as u64 };
        if abserr > maxerr {
            return Err(format!("TESTFAILED Too big error. card:{checkpoint} abserr:{abserr}"));
        }
        checkpoint *= 10;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dense_of(s: &[u8]) -> Vec<u8> {
        let mut d = s.to_vec();
        sparse_to_dense(&mut d, 0).expect("valid sparse");
        d
    }

    #[test]
    fn registers_and_counts_match_redis() {
        // (register, count) Redis 7.0 gives these elements (from PFDEBUG
        // DECODE after one PFADD): every tail length and a multi-block input.
        let x100 = [b'x'; 100];
        let cases: [(&[u8], usize, u8); 8] = [
            (b"", 5938, 2),
            (b"a", 12711, 2),
            (b"hello", 9216, 1),
            (b"1234567", 10327, 3),
            (b"12345678", 10579, 3),
            (b"123456789abcdef", 1977, 3),
            (&x100, 15288, 1),
            (b"\xff\x00\x80", 913, 1),
        ];
        for (e, index, count) in cases {
            assert_eq!(pat_len(e), (index, count), "{e:?}");
        }
    }

    #[test]
    fn dense_registers_do_not_disturb_neighbours() {
        let mut regs = vec![0u8; DENSE_SIZE - HDR_SIZE];
        for i in 0..REGISTERS {
            dense_put(&mut regs, i, (i % 64) as u8);
        }
        for i in 0..REGISTERS {
            assert_eq!(dense_get(&regs, i), (i % 64) as u8);
        }
        let mut h = [0i32; 64];
        dense_histo(&regs, &mut h);
        assert!(h.iter().all(|&c| c == (REGISTERS / 64) as i32));
    }

    #[test]
    fn sparse_and_dense_agree() {
        let mut s = new_hll();
        let mut d = dense_of(&s);
        for i in 0..5000u32 {
            let e = i.to_string();
            let a = hll_add(&mut s, &mut 0, e.as_bytes(), 3000);
            let b = hll_add(&mut d, &mut 0, e.as_bytes(), 3000);
            assert_eq!(a, b, "element {i}");
            assert_eq!(count_value(&s).0, count_value(&d).0);
        }
        assert_eq!(s.get(4), Some(&DENSE));
        assert_eq!(s[HDR_SIZE..], d[HDR_SIZE..]);
    }

    #[test]
    fn corrupted_values_never_panic() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        for _ in 0..20000 {
            let n = rng.gen_range(0..40);
            let mut s = b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80".to_vec();
            for _ in 0..n {
                s.push(rng.gen());
            }
            let mut t = s.clone();
            let mut past_end = 0;
            for k in 0..8u32 {
                let _ = hll_add(&mut t, &mut past_end, &k.to_le_bytes(), rng.gen_range(0..64));
            }
            let mut max = [0u8; REGISTERS];
            let _ = hll_merge(&mut max, &s);
            let _ = count_value(&s);
            let _ = decode(&s);
            let mut u = s.clone();
            let _ = sparse_to_dense(&mut u, rng.gen());
            let mut past_end = rng.gen();
            for _ in 0..16 {
                let (j, m) = (rng.gen_range(0..REGISTERS), rng.gen_range(1..64));
                let _ = sparse_set(&mut s, &mut past_end, j, m, rng.gen_range(0..200));
                let _ = count_value(&s);
            }
        }
    }
}
