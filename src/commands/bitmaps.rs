//! Bitmap commands on string values: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP,
//! BITFIELD, BITFIELD_RO, following Redis 7.0's bitops.c rules (bit 0 is the
//! most significant bit of the first byte; missing bytes read as zero).

use super::strings::{
    cstr, edit_raw, int_arg, int_arg_or, read, read_len, s2ll, str_view, with_str, zeroed, EditError,
};
use super::{Ctx, Handler};
use crate::server::notify;
use crate::storage::Value;
use crate::util::eq_ic;
use bytes::Bytes;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("setbit", setbit),
    ("getbit", getbit),
    ("bitcount", bitcount),
    ("bitpos", bitpos),
    ("bitop", bitop),
    ("bitfield", bitfield),
    ("bitfield_ro", bitfield_ro),
];

const BAD_OFFSET: &str = "ERR bit offset is not an integer or out of range";
const NO_MEMORY: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";

/// Redis's `getBitOffsetFromArgument`: a bit offset, with the `#N` form
/// (N times the field width) when `bits` is given.
fn bit_offset(ctx: &mut Ctx, a: &[u8], bits: Option<u32>) -> Option<u64> {
    let hash = bits.is_some() && a.first() == Some(&b'#');
    let digits = if hash { &a[1..] } else { a };
    let Some(mut off) = s2ll(digits) else {
        ctx.err(BAD_OFFSET);
        return None;
    };
    if let (true, Some(b)) = (hash, bits) {
        off = off.wrapping_mul(b as i64);
    }
    if off < 0 || (off >> 3) >= ctx.srv.config.proto_max_bulk_len {
        ctx.err(BAD_OFFSET);
        return None;
    }
    Some(off as u64)
}

/// Looks the key up for a bit write (Redis's `lookupStringForBitCommand`):
/// creates it or converts it to a `raw` string of at least `byte + 1` bytes,
/// then runs `f` on the bytes with whether anything was created or grown.
/// Replies the error itself and returns None on failure.
fn with_bits_for_write<R>(ctx: &mut Ctx, key: &[u8], byte: u64, f: impl FnOnce(&mut [u8], bool) -> R) -> Option<R> {
    let now = ctx.now;
    let Ok(need) = usize::try_from(byte.saturating_add(1)) else {
        ctx.err(NO_MEMORY);
        return None;
    };
    match ctx.lookup_write(key) {
        None => {
            let Some(mut v) = zeroed(need) else {
                ctx.err(NO_MEMORY);
                return None;
            };
            let r = f(&mut v, true);
            ctx.db().add(key, Value::raw(v), now);
            Some(r)
        }
        Some(e) => match edit_raw(&mut e.value, need, |b, grew| f(b, grew)) {
            Ok(r) => Some(r),
            Err(EditError::WrongType) => {
                ctx.wrongtype();
                None
            }
            Err(EditError::NoMemory) => {
                ctx.err(NO_MEMORY);
                None
            }
        },
    }
}

fn setbit(ctx: &mut Ctx, args: &[Bytes]) {
    const BAD_BIT: &str = "ERR bit is not an integer or out of range";
    let Some(off) = bit_offset(ctx, &args[2], None) else { return };
    let Some(on) = int_arg_or(ctx, &args[3], BAD_BIT) else { return };
    if on & !1 != 0 {
        ctx.err(BAD_BIT);
        return;
    }
    let byte = off >> 3;
    let shift = 7 - (off & 7) as u32;
    let res = with_bits_for_write(ctx, &args[1], byte, |b, grew| {
        let i = byte as usize;
        let old = (b[i] >> shift) & 1;
        let changed = grew || old as i64 != on;
        if changed {
            b[i] = (b[i] & !(1 << shift)) | ((on as u8) << shift);
        }
        (old, changed)
    });
    let Some((old, changed)) = res else { return };
    if changed {
        ctx.dirty(1);
        ctx.notify(notify::STRING, "setbit", &args[1]);
    }
    ctx.out.int(old as i64);
}

fn getbit(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(off) = bit_offset(ctx, &args[2], None) else { return };
    let (e, out) = read(ctx, &args[1]);
    let Some(e) = e else {
        out.int(0);
        return;
    };
    let mut nb = itoa::Buffer::new();
    let Some(s) = str_view(&e.value, &mut nb) else {
        ctx.wrongtype();
        return;
    };
    let byte = (off >> 3) as usize;
    let bit = s.get(byte).map_or(0, |&v| (v >> (7 - (off & 7))) & 1);
    out.int(bit as i64);
}

fn popcount(b: &[u8]) -> i64 {
    let mut chunks = b.chunks_exact(8);
    let mut n: u64 = 0;
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        n += u64::from_ne_bytes(w).count_ones() as u64;
    }
    n += chunks.remainder().iter().map(|x| x.count_ones() as u64).sum::<u64>();
    n as i64
}

/// The normalised range of BITCOUNT/BITPOS, in bytes, with the masks of the bits
/// outside a BIT range in its first and last byte.
struct BitRange {
    start: i64,
    end: i64,
    first_neg: u8,
    last_neg: u8,
}

/// Redis's index conversion shared by BITCOUNT and BITPOS (`start`/`end` in
/// bytes or bits over a string of `len` bytes).
fn normalise(mut start: i64, mut end: i64, len: usize, isbit: bool) -> BitRange {
    let mut total = len as i64;
    if isbit {
        total <<= 3;
    }
    if start < 0 {
        start += total;
    }
    if end < 0 {
        end += total;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= total {
        end = total - 1;
    }
    let (mut first_neg, mut last_neg) = (0u8, 0u8);
    if isbit && start <= end {
        first_neg = !((1u32 << (8 - (start & 7))) - 1) as u8;
        last_neg = ((1u32 << (7 - (end & 7))) - 1) as u8;
        start >>= 3;
        end >>= 3;
    }
    BitRange { start, end, first_neg, last_neg }
}

/// BIT or BYTE (syntax error otherwise).
fn unit_arg(a: &[u8]) -> Option<bool> {
    let a = cstr(a);
    if eq_ic(a, b"bit") {
        Some(true)
    } else if eq_ic(a, b"byte") {
        Some(false)
    } else {
        None
    }
}

fn bitcount(ctx: &mut Ctx, args: &[Bytes]) {
    let key = &args[1];
    let len = match read_len(ctx, key) {
        Ok(Some(n)) => n,
        Ok(None) => {
            ctx.out.int(0);
            return;
        }
        Err(()) => {
            ctx.wrongtype();
            return;
        }
    };
    let r = match args.len() {
        4 | 5 => {
            let Some(start) = int_arg(ctx, &args[2]) else { return };
            let Some(end) = int_arg(ctx, &args[3]) else { return };
            if start < 0 && end < 0 && start > end {
                ctx.out.int(0);
                return;
            }
            let mut isbit = false;
            if args.len() == 5 {
                match unit_arg(&args[4]) {
                    Some(b) => isbit = b,
                    None => {
                        ctx.syntax();
                        return;
                    }
                }
            }
            normalise(start, end, len, isbit)
        }
        2 => BitRange { start: 0, end: len as i64 - 1, first_neg: 0, last_neg: 0 },
        _ => {
            ctx.syntax();
            return;
        }
    };
    if r.start > r.end {
        ctx.out.int(0);
        return;
    }
    let (a, b) = (r.start as usize, r.end as usize);
    let count = with_str(ctx, key, |s| {
        popcount(&s[a..=b]) - (s[a] & r.first_neg).count_ones() as i64 - (s[b] & r.last_neg).count_ones() as i64
    });
    ctx.out.int(count.unwrap_or(0));
}

/// Redis's `redisBitpos`: the first bit equal to `bit`, treating the bytes
/// after `s` as zeros (so a clear bit is found at `len * 8` at the latest);
/// -1 when looking for a set bit that is not there.
fn first_bit(s: &[u8], bit: bool) -> i64 {
    for (i, &c) in s.iter().enumerate() {
        let x = if bit { c } else { !c };
        if x != 0 {
            return i as i64 * 8 + x.leading_zeros() as i64;
        }
    }
    if bit {
        -1
    } else {
        s.len() as i64 * 8
    }
}

fn bitpos(ctx: &mut Ctx, args: &[Bytes]) {
    let key = &args[1];
    let Some(bit) = int_arg(ctx, &args[2]) else { return };
    if bit != 0 && bit != 1 {
        ctx.err("ERR The bit argument must be 1 or 0.");
        return;
    }
    let bit = bit == 1;
    let len = match read_len(ctx, key) {
        Ok(Some(n)) => n,
        Ok(None) => {
            ctx.out.int(if bit { -1 } else { 0 });
            return;
        }
        Err(()) => {
            ctx.wrongtype();
            return;
        }
    };
    let mut end_given = false;
    let r = match args.len() {
        4..=6 => {
            let Some(start) = int_arg(ctx, &args[3]) else { return };
            let mut isbit = false;
            if args.len() == 6 {
                match unit_arg(&args[5]) {
                    Some(b) => isbit = b,
                    None => {
                        ctx.syntax();
                        return;
                    }
                }
            }
            let end = if args.len() >= 5 {
                let Some(end) = int_arg(ctx, &args[4]) else { return };
                end_given = true;
                end
            } else if isbit {
                ((len as i64) << 3) + 7
            } else {
                len as i64 - 1
            };
            normalise(start, end, len, isbit)
        }
        3 => BitRange { start: 0, end: len as i64 - 1, first_neg: 0, last_neg: 0 },
        _ => {
            ctx.syntax();
            return;
        }
    };
    if r.start > r.end {
        ctx.out.int(-1);
        return;
    }
    let pos = with_str(ctx, key, |p| search_bit(p, &r, bit, end_given)).unwrap_or(-1);
    ctx.out.int(pos);
}

/// The search of BITPOS over the normalised, non-empty range `r` of `p`.
fn search_bit(p: &[u8], r: &BitRange, bit: bool, end_given: bool) -> i64 {
    let (mut start, end) = (r.start as usize, r.end as usize);
    let mut bytes = end - start + 1;
    let one_byte = |c: u8, neg: u8| if bit { c & !neg } else { c | neg };
    let pos = 'search: {
        if r.first_neg != 0 {
            let mut tmp = one_byte(p[start], r.first_neg);
            if r.last_neg != 0 && bytes == 1 {
                tmp = one_byte(tmp, r.last_neg);
            }
            let pos = first_bit(&[tmp], bit);
            if bytes == 1 || (pos != -1 && pos != 8) {
                break 'search pos;
            }
            start += 1;
            bytes -= 1;
        }
        let cur = bytes - usize::from(r.last_neg != 0);
        if cur > 0 {
            let pos = first_bit(&p[start..start + cur], bit);
            if bytes == cur || (pos != -1 && pos != (cur as i64) << 3) {
                break 'search pos;
            }
            start += cur;
            bytes -= cur;
        }
        first_bit(&[one_byte(p[end], r.last_neg)], bit)
    };
    if end_given && !bit && pos == (bytes as i64) << 3 {
        return -1;
    }
    if pos != -1 {
        pos + ((start as i64) << 3)
    } else {
        pos
    }
}

fn bitop(ctx: &mut Ctx, args: &[Bytes]) {
    #[derive(PartialEq, Clone, Copy)]
    enum Op {
        And,
        Or,
        Xor,
        Not,
    }
    let name = cstr(&args[1]);
    let op = if eq_ic(name, b"and") {
        Op::And
    } else if eq_ic(name, b"or") {
        Op::Or
    } else if eq_ic(name, b"xor") {
        Op::Xor
    } else if eq_ic(name, b"not") {
        Op::Not
    } else {
        ctx.syntax();
        return;
    };
    if op == Op::Not && args.len() != 4 {
        ctx.err("ERR BITOP NOT must be called with a single source key.");
        return;
    }
    let mut maxlen = 0;
    for k in &args[3..] {
        match read_len(ctx, k) {
            Ok(n) => maxlen = maxlen.max(n.unwrap_or(0)),
            Err(()) => {
                ctx.wrongtype();
                return;
            }
        }
    }
    let dest = &args[2];
    if maxlen == 0 {
        if ctx.db().remove(dest).is_some() {
            ctx.dirty(1);
            ctx.notify(notify::GENERIC, "del", dest);
        }
        ctx.out.int(0);
        return;
    }
    let Some(mut res) = zeroed(maxlen) else {
        ctx.err(NO_MEMORY);
        return;
    };
    // Integers are formatted into their own buffers so every source can be
    // borrowed at once.
    let db = &ctx.srv.dbs[ctx.client.db];
    let mut bufs: Vec<itoa::Buffer> = (3..args.len()).map(|_| itoa::Buffer::new()).collect();
    let mut srcs: Vec<&[u8]> = Vec::with_capacity(args.len() - 3);
    for (k, nb) in args[3..].iter().zip(bufs.iter_mut()) {
        let s = db.main().get(k).and_then(|e| str_view(&e.value, nb));
        srcs.push(s.unwrap_or(b""));
    }
    match op {
        Op::Not => {
            for (d, s) in res.iter_mut().zip(srcs[0]) {
                *d = !s;
            }
        }
        _ => {
            res[..srcs[0].len()].copy_from_slice(srcs[0]);
            for s in &srcs[1..] {
                match op {
                    Op::And => {
                        res.iter_mut().zip(s.iter()).for_each(|(d, x)| *d &= x);
                        res[s.len()..].fill(0);
                    }
                    Op::Or => res.iter_mut().zip(s.iter()).for_each(|(d, x)| *d |= x),
                    _ => res.iter_mut().zip(s.iter()).for_each(|(d, x)| *d ^= x),
                }
            }
        }
    }
    let now = ctx.now;
    ctx.db().set(dest, Value::raw(res), now);
    ctx.dirty(1);
    ctx.notify(notify::STRING, "set", dest);
    ctx.out.int(maxlen as i64);
}

// ---------------------------------------------------------------------------
// BITFIELD
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy, PartialEq)]
enum OpCode {
    Get,
    Set,
    Incrby,
}

struct FieldOp {
    code: OpCode,
    offset: u64,
    value: i64,
    signed: bool,
    bits: u32,
    ow: Overflow,
}

/// Reads `bits` bits at bit `offset` (big-endian), zero beyond the end of `p`.
fn get_unsigned(p: &[u8], offset: u64, bits: u32) -> u64 {
    let mut v: u64 = 0;
    for j in 0..bits as u64 {
        let o = offset + j;
        let byte = p.get((o >> 3) as usize).copied().unwrap_or(0);
        v = (v << 1) | ((byte >> (7 - (o & 7))) & 1) as u64;
    }
    v
}

fn get_signed(p: &[u8], offset: u64, bits: u32) -> i64 {
    let mut v = get_unsigned(p, offset, bits) as i64;
    if bits < 64 && v & (1i64 << (bits - 1)) != 0 {
        v |= (u64::MAX << bits) as i64;
    }
    v
}

/// Writes the low `bits` bits of `v` at bit `offset`; `p` must be long enough.
fn set_bits(p: &mut [u8], offset: u64, bits: u32, v: u64) {
    for j in 0..bits as u64 {
        let bit = ((v >> (bits as u64 - 1 - j)) & 1) as u8;
        let o = offset + j;
        if let Some(b) = p.get_mut((o >> 3) as usize) {
            let shift = 7 - (o & 7);
            *b = (*b & !(1 << shift)) | (bit << shift);
        }
    }
}

/// Redis's `checkUnsignedBitfieldOverflow`: Some(wrapped or saturated value)
/// when `value + incr` does not fit (for FAIL the value is meaningless).
fn unsigned_overflow(value: u64, incr: i64, bits: u32, ow: Overflow) -> Option<u64> {
    let max: u64 = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = 0u64.wrapping_sub(value) as i64;
    let wrap = || {
        let mask = if bits >= 64 { 0 } else { u64::MAX << bits };
        value.wrapping_add(incr as u64) & !mask
    };
    if value > max || (incr > 0 && incr > maxincr) {
        Some(match ow {
            Overflow::Wrap => wrap(),
            _ => max,
        })
    } else if incr < 0 && incr < minincr {
        Some(match ow {
            Overflow::Wrap => wrap(),
            _ => 0,
        })
    } else {
        None
    }
}

/// Redis's `checkSignedBitfieldOverflow` (same contract as the unsigned one).
fn signed_overflow(value: i64, incr: i64, bits: u32, ow: Overflow) -> Option<i64> {
    let max: i64 = if bits == 64 { i64::MAX } else { (1i64 << (bits - 1)) - 1 };
    let min = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrap = || {
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let msb = 1u64 << (bits - 1);
            let mask = u64::MAX << bits;
            if c & msb != 0 {
                c |= mask;
            } else {
                c &= !mask;
            }
        }
        c as i64
    };
    if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        Some(match ow {
            Overflow::Wrap => wrap(),
            _ => max,
        })
    } else if value < min || (bits != 64 && incr < minincr) || (value < 0 && incr < 0 && incr < minincr) {
        Some(match ow {
            Overflow::Wrap => wrap(),
            _ => min,
        })
    } else {
        None
    }
}

/// `i8`, `u16`... (signed, bits), or None.
fn field_type(a: &[u8]) -> Option<(bool, u32)> {
    let signed = match a.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return None,
    };
    let n = s2ll(cstr(&a[1..]))?;
    if n < 1 || (signed && n > 64) || (!signed && n > 63) {
        return None;
    }
    Some((signed, n as u32))
}

fn bitfield(ctx: &mut Ctx, args: &[Bytes]) {
    bitfield_generic(ctx, args, false);
}

fn bitfield_ro(ctx: &mut Ctx, args: &[Bytes]) {
    bitfield_generic(ctx, args, true);
}

/// One result of a BITFIELD operation (None: FAIL overflow, a null reply).
type FieldResult = Option<i64>;

fn bitfield_generic(ctx: &mut Ctx, args: &[Bytes], ro: bool) {
    let mut ops: Vec<FieldOp> = Vec::new();
    let mut ow = Overflow::Wrap;
    let mut readonly = true;
    let mut highest: u64 = 0;
    let mut j = 2;
    while j < args.len() {
        let rem = args.len() - j - 1;
        let sub = cstr(&args[j]);
        let code = if eq_ic(sub, b"get") && rem >= 2 {
            OpCode::Get
        } else if eq_ic(sub, b"set") && rem >= 3 {
            OpCode::Set
        } else if eq_ic(sub, b"incrby") && rem >= 3 {
            OpCode::Incrby
        } else if eq_ic(sub, b"overflow") && rem >= 1 {
            let t = cstr(&args[j + 1]);
            ow = if eq_ic(t, b"wrap") {
                Overflow::Wrap
            } else if eq_ic(t, b"sat") {
                Overflow::Sat
            } else if eq_ic(t, b"fail") {
                Overflow::Fail
            } else {
                ctx.err("ERR Invalid OVERFLOW type specified");
                return;
            };
            j += 2;
            continue;
        } else {
            ctx.syntax();
            return;
        };
        let Some((signed, bits)) = field_type(&args[j + 1]) else {
            ctx.err("ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.");
            return;
        };
        let Some(offset) = bit_offset(ctx, &args[j + 2], Some(bits)) else { return };
        let mut value = 0;
        if code != OpCode::Get {
            readonly = false;
            highest = highest.max(offset + bits as u64 - 1);
            let Some(v) = int_arg(ctx, &args[j + 3]) else { return };
            value = v;
        }
        ops.push(FieldOp { code, offset, value, signed, bits, ow });
        j += if code == OpCode::Get { 3 } else { 4 };
    }

    if readonly {
        let (e, _) = read(ctx, &args[1]);
        let mut nb = itoa::Buffer::new();
        let src: Vec<u8> = match e {
            None => Vec::new(),
            Some(e) => match str_view(&e.value, &mut nb) {
                Some(s) => {
                    // Only the bytes the GETs can reach are needed.
                    let reach = ops.iter().map(|o| ((o.offset + o.bits as u64) >> 3) as usize + 1).max().unwrap_or(0);
                    s[..s.len().min(reach)].to_vec()
                }
                None => {
                    ctx.wrongtype();
                    return;
                }
            },
        };
        let out = &mut *ctx.out;
        out.array_len(ops.len());
        for op in &ops {
            if op.signed {
                out.int(get_signed(&src, op.offset, op.bits));
            } else {
                out.int(get_unsigned(&src, op.offset, op.bits) as i64);
            }
        }
        return;
    }
    if ro {
        ctx.err("ERR BITFIELD_RO only supports the GET subcommand");
        return;
    }
    let res = with_bits_for_write(ctx, &args[1], highest >> 3, |p, grew| {
        let mut changes = 0u64;
        let results: Vec<FieldResult> = ops.iter().map(|op| run_op(p, op, grew, &mut changes)).collect();
        (results, changes)
    });
    let Some((results, changes)) = res else { return };
    ctx.notify_flush();
    let out = &mut *ctx.out;
    out.array_len(results.len());
    for r in results {
        match r {
            Some(n) => out.int(n),
            None => out.null(),
        }
    }
    ctx.dirty(changes);
    if changes > 0 {
        ctx.notify(notify::STRING, "setbit", &args[1]);
    }
}

/// Executes one BITFIELD operation on a string long enough for its writes.
fn run_op(p: &mut [u8], op: &FieldOp, grew: bool, changes: &mut u64) -> FieldResult {
    match op.code {
        OpCode::Get => {
            Some(if op.signed { get_signed(p, op.offset, op.bits) } else { get_unsigned(p, op.offset, op.bits) as i64 })
        }
        code => {
            let (old, new, ret, overflow) = if op.signed {
                let old = get_signed(p, op.offset, op.bits);
                if code == OpCode::Incrby {
                    let of = signed_overflow(old, op.value, op.bits, op.ow);
                    let new = of.unwrap_or_else(|| old.wrapping_add(op.value));
                    (old as u64, new as u64, new, of.is_some())
                } else {
                    let of = signed_overflow(op.value, 0, op.bits, op.ow);
                    let new = of.unwrap_or(op.value);
                    (old as u64, new as u64, old, of.is_some())
                }
            } else {
                let old = get_unsigned(p, op.offset, op.bits);
                if code == OpCode::Incrby {
                    let of = unsigned_overflow(old, op.value, op.bits, op.ow);
                    let new = of.unwrap_or_else(|| old.wrapping_add(op.value as u64));
                    (old, new, new as i64, of.is_some())
                } else {
                    let v = op.value as u64;
                    let of = unsigned_overflow(v, 0, op.bits, op.ow);
                    let new = of.unwrap_or(v);
                    (old, new, old as i64, of.is_some())
                }
            };
            if overflow && op.ow == Overflow::Fail {
                return None;
            }
            set_bits(p, op.offset, op.bits, new);
            if grew || old != new {
                *changes += 1;
            }
            Some(ret)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_helpers() {
        assert_eq!(first_bit(&[0, 0x10], true), 11);
        assert_eq!(first_bit(&[0xff], false), 8);
        assert_eq!(first_bit(&[0], true), -1);
        let mut p = [0u8; 2];
        set_bits(&mut p, 4, 8, 0xab);
        assert_eq!(p, [0x0a, 0xb0]);
        assert_eq!(get_unsigned(&p, 4, 8), 0xab);
        assert_eq!(get_signed(&p, 4, 8), 0xab_u8 as i8 as i64);
        assert_eq!(signed_overflow(127, 1, 8, Overflow::Wrap), Some(-128));
        assert_eq!(unsigned_overflow(255, 1, 8, Overflow::Sat), Some(255));
    }
}
