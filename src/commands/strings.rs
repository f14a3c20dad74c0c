//! String commands: GET, SET and its variants (SETNX, SETEX, PSETEX, GETEX,
//! GETDEL, GETSET), MGET/MSET/MSETNX, APPEND, STRLEN, the counters (INCR family,
//! INCRBYFLOAT), ranges (SETRANGE, GETRANGE, SUBSTR) and LCS, with Redis 7.0's
//! replies, errors and OBJECT ENCODING results. Also the string helpers shared
//! with the bitmap commands.

use super::{err, Ctx, Handler};
use crate::resp::Reply;
use crate::server::notify;
use crate::storage::sstr::SStr;
use crate::storage::{Entry, Value};
use crate::util::eq_ic;
use bytes::Bytes;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("get", get),
    ("set", set),
    ("setnx", setnx),
    ("setex", setex),
    ("psetex", psetex),
    ("getex", getex),
    ("getdel", getdel),
    ("getset", getset),
    ("mget", mget),
    ("mset", mset),
    ("msetnx", msetnx),
    ("append", append),
    ("strlen", strlen),
    ("incr", incr),
    ("decr", decr),
    ("incrby", incrby),
    ("decrby", decrby),
    ("incrbyfloat", incrbyfloat),
    ("setrange", setrange),
    ("getrange", getrange),
    ("substr", getrange),
    ("lcs", lcs),
];

const STRING_TOO_BIG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";

// ---------------------------------------------------------------------------
// Helpers shared with bitmaps.rs
// ---------------------------------------------------------------------------

/// Redis's `string2ll`: strict decimal (no spaces, `+`, leading zeros or `-0`).
pub fn s2ll(b: &[u8]) -> Option<i64> {
    if b == b"-0" {
        return None;
    }
    crate::util::parse_i64(b)
}

/// Parses an integer argument, replying `msg` when it is not one.
pub fn int_arg_or(ctx: &mut Ctx, a: &[u8], msg: &str) -> Option<i64> {
    let v = s2ll(a);
    if v.is_none() {
        ctx.err(msg);
    }
    v
}

/// Parses an integer argument, replying Redis's generic error when it is not one.
pub fn int_arg(ctx: &mut Ctx, a: &[u8]) -> Option<i64> {
    int_arg_or(ctx, a, err::NOT_INT)
}

/// An argument as C code sees it: up to its first NUL byte.
pub fn cstr(a: &[u8]) -> &[u8] {
    match a.iter().position(|&c| c == 0) {
        Some(p) => &a[..p],
        None => a,
    }
}

/// Builds a string value as Redis's `tryObjectEncoding`: canonical integers of
/// up to 20 characters become `int`, others `embstr`/`raw` by length.
pub fn encoded_value(b: &[u8]) -> Value {
    if b.len() <= 20 {
        if let Some(n) = s2ll(b) {
            return Value::Int(n);
        }
    }
    Value::Str(SStr::new(b))
}

/// The bytes of a string value (an integer in decimal, formatted into `nb`),
/// or None when the value is of another type.
pub fn str_view<'a>(v: &'a Value, nb: &'a mut itoa::Buffer) -> Option<&'a [u8]> {
    #[allow(unreachable_patterns)]
    match v {
        Value::Int(n) => Some(nb.format(*n).as_bytes()),
        other => other.str_bytes(),
    }
}

/// Length of a string value (None for another type).
pub fn str_len(v: &Value) -> Option<usize> {
    let mut nb = itoa::Buffer::new();
    str_view(v, &mut nb).map(|s| s.len())
}

/// Looks `key` up for reading, counting a keyspace hit or miss, and returns the
/// entry together with the reply writer so a value is replied without a copy.
pub fn read<'c>(ctx: &'c mut Ctx, key: &[u8]) -> (Option<&'c mut Entry>, &'c mut Reply) {
    ctx.notify_lookup(key, true);
    let now = ctx.now;
    let db = ctx.client.db;
    let srv = &mut *ctx.srv;
    let e = srv.dbs[db].get(key, now);
    if e.is_some() {
        srv.stats.keyspace_hits += 1;
    } else {
        srv.stats.keyspace_misses += 1;
    }
    (e, &mut *ctx.out)
}

/// Looks `key` up for reading (counting a hit or miss): Ok(None) when missing,
/// Ok(Some(length)) for a string, Err(()) for another type (nothing replied).
#[allow(clippy::result_unit_err)]
pub fn read_len(ctx: &mut Ctx, key: &[u8]) -> Result<Option<usize>, ()> {
    match read(ctx, key).0 {
        None => Ok(None),
        Some(e) => str_len(&e.value).map(Some).ok_or(()),
    }
}

/// Runs `f` on the bytes of the string at `key`, looked up without statistics
/// (for a second look after `read_len`). None when missing or not a string.
pub fn with_str<R>(ctx: &mut Ctx, key: &[u8], f: impl FnOnce(&[u8]) -> R) -> Option<R> {
    let now = ctx.now;
    let db = ctx.client.db;
    let e = ctx.srv.dbs[db].get(key, now)?;
    let mut nb = itoa::Buffer::new();
    str_view(&e.value, &mut nb).map(f)
}

/// Outcome of reading a key as a string.
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum Found {
    Missing,
    Str,
    WrongType,
}

/// Replies with the string at `key` (null when missing); WRONGTYPE is left to
/// the caller (returned as `Found::WrongType`, nothing written).
fn reply_value(ctx: &mut Ctx, key: &[u8]) -> Found {
    let (e, out) = read(ctx, key);
    match e {
        None => {
            out.null();
            Found::Missing
        }
        Some(e) => {
            let mut nb = itoa::Buffer::new();
            match str_view(&e.value, &mut nb) {
                Some(s) => {
                    out.bulk(s);
                    Found::Str
                }
                None => Found::WrongType,
            }
        }
    }
}

/// Redis's `checkStringLength`: may a string of `size` bytes grow by `append`?
pub fn check_string_length(ctx: &mut Ctx, size: u64, append: u64) -> bool {
    let total = size as u128 + append as u128;
    let max = ctx.srv.config.proto_max_bulk_len.max(0) as u128;
    if total > max {
        ctx.err(STRING_TOO_BIG);
        return false;
    }
    true
}

/// The mutable bytes of a stored string.
/// A zero-filled byte vector, or None if the memory cannot be had.
pub fn zeroed(n: usize) -> Option<Vec<u8>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).ok()?;
    v.resize(n, 0);
    Some(v)
}

/// Why a string could not be modified in place.
pub enum EditError {
    WrongType,
    NoMemory,
}

/// Redis's `dbUnshareStringValue` plus growth: turns a string value into the
/// `raw` encoding, zero-pads it to at least `min_len` bytes, and applies `f` to
/// the bytes (and whether the value grew). Other types give `WrongType`.
pub fn edit_raw<R>(v: &mut Value, min_len: usize, f: impl FnOnce(&mut Vec<u8>, bool) -> R) -> Result<R, EditError> {
    #[allow(unreachable_patterns)]
    if raw_bytes_mut(v).is_none() {
        return Err(EditError::WrongType);
    }
    let Value::RawStr(bytes) = v else { return Err(EditError::WrongType) };
    let grew = bytes.len() < min_len;
    if grew {
        // `try_reserve` grows geometrically (amortized O(1) APPEND, as sds);
        // near the memory limit fall back to the exact size.
        let extra = min_len - bytes.len();
        if bytes.try_reserve(extra).is_err() && bytes.try_reserve_exact(extra).is_err() {
            return Err(EditError::NoMemory);
        }
        bytes.resize(min_len, 0);
    }
    Ok(f(bytes, grew))
}

/// As `edit_raw` when no growth is needed: edits the raw bytes in place
/// (converting an `int`/`embstr` value to `raw` first). Returns None for other types.
pub fn raw_bytes_mut(v: &mut Value) -> Option<&mut [u8]> {
    #[allow(unreachable_patterns)]
    match v {
        Value::RawStr(_) => {}
        Value::Int(n) => *v = Value::raw(itoa::Buffer::new().format(*n).as_bytes().to_vec()),
        Value::Str(s) => *v = Value::raw(s.as_slice().to_vec()),
        _ => return None,
    }
    match v {
        Value::RawStr(b) => Some(&mut b[..]),
        _ => None,
    }
}

fn expire_error(ctx: &mut Ctx) {
    let msg = format!("ERR invalid expire time in '{}' command", ctx.cmd.name);
    ctx.err(&msg);
}

// ---------------------------------------------------------------------------
// SET and friends
// ---------------------------------------------------------------------------

const F_NX: u32 = 1 << 0;
const F_XX: u32 = 1 << 1;
const F_EX: u32 = 1 << 2;
const F_PX: u32 = 1 << 3;
const F_KEEPTTL: u32 = 1 << 4;
const F_GET: u32 = 1 << 5;
const F_EXAT: u32 = 1 << 6;
const F_PXAT: u32 = 1 << 7;
const F_PERSIST: u32 = 1 << 8;
const F_ANY_EXPIRE: u32 = F_EX | F_PX | F_EXAT | F_PXAT;

/// EX / PX / EXAT / PXAT: the option's flag and whether its argument is in ms.
fn expire_option(opt: &[u8]) -> Option<&'static (u32, bool)> {
    const FORMS: [(&[u8], (u32, bool)); 4] =
        [(b"ex", (F_EX, false)), (b"px", (F_PX, true)), (b"exat", (F_EXAT, false)), (b"pxat", (F_PXAT, true))];
    FORMS.iter().find(|(name, _)| eq_ic(opt, name)).map(|(_, f)| f)
}

/// Options of SET / GETEX.
struct ExtOpts<'a> {
    flags: u32,
    expire: Option<&'a [u8]>,
    /// The expire argument is in milliseconds (PX, PXAT).
    ms: bool,
}

/// Redis's `parseExtendedStringArgumentsOrReply` (without the reply): the same
/// acceptance rules, so conflicting options are syntax errors while repeating
/// an option is allowed.
fn parse_ext(args: &[Bytes], start: usize, is_set: bool) -> Option<ExtOpts<'_>> {
    let mut o = ExtOpts { flags: 0, expire: None, ms: false };
    let mut j = start;
    while j < args.len() {
        let opt = cstr(&args[j]);
        let next = args.get(j + 1).map(|b| &b[..]);
        let f = o.flags;
        if is_set && eq_ic(opt, b"nx") && f & F_XX == 0 {
            o.flags |= F_NX;
        } else if is_set && eq_ic(opt, b"xx") && f & F_NX == 0 {
            o.flags |= F_XX;
        } else if is_set && eq_ic(opt, b"get") {
            o.flags |= F_GET;
        } else if is_set && eq_ic(opt, b"keepttl") && f & (F_PERSIST | F_ANY_EXPIRE) == 0 {
            o.flags |= F_KEEPTTL;
        } else if !is_set && eq_ic(opt, b"persist") && f & (F_ANY_EXPIRE | F_KEEPTTL) == 0 {
            o.flags |= F_PERSIST;
        } else if let (Some(&(flag, ms)), Some(n)) = (expire_option(opt), next) {
            // One expiry form only (repeating the same one is allowed), never with KEEPTTL/PERSIST.
            if f & (F_KEEPTTL | F_PERSIST | (F_ANY_EXPIRE & !flag)) != 0 {
                return None;
            }
            o.flags |= flag;
            o.ms = ms;
            o.expire = Some(n);
            j += 1;
        } else {
            return None;
        }
        j += 1;
    }
    Some(o)
}

/// Redis's `getExpireMillisecondsOrReply`: the absolute expiry in ms, or the
/// reply of the error.
fn expire_ms(ctx: &mut Ctx, arg: &[u8], flags: u32, ms_unit: bool) -> Option<i64> {
    let mut ms = int_arg(ctx, arg)?;
    if ms <= 0 || (!ms_unit && ms > i64::MAX / 1000) {
        expire_error(ctx);
        return None;
    }
    if !ms_unit {
        ms *= 1000;
    }
    if flags & (F_EX | F_PX) != 0 {
        ms = ms.wrapping_add(ctx.now);
    }
    if ms <= 0 {
        expire_error(ctx);
        return None;
    }
    Some(ms)
}

/// How SET-like commands answer: SET replies OK / null, SETNX 1 / 0.
#[derive(Clone, Copy)]
enum SetReplies {
    OkNull,
    OneZero,
}

/// Redis's `setGenericCommand`.
fn set_generic(ctx: &mut Ctx, flags: u32, key: &[u8], val: &[u8], expire: Option<&[u8]>, ms_unit: bool, r: SetReplies) {
    let when = match expire {
        Some(a) => match expire_ms(ctx, a, flags, ms_unit) {
            Some(w) => Some(w),
            None => return,
        },
        None => None,
    };
    if flags & F_GET != 0 && reply_value(ctx, key) == Found::WrongType {
        ctx.wrongtype();
        return;
    }
    let found = ctx.lookup_write(key).is_some();
    if (flags & F_NX != 0 && found) || (flags & F_XX != 0 && !found) {
        if flags & F_GET == 0 {
            match r {
                SetReplies::OkNull => ctx.out.null(),
                SetReplies::OneZero => ctx.out.int(0),
            }
        }
        return;
    }
    let now = ctx.now;
    let v = encoded_value(val);
    let db = ctx.db();
    if flags & F_KEEPTTL != 0 {
        db.set_keep_ttl(key, v, now);
    } else {
        db.set(key, v, now);
    }
    if let Some(w) = when {
        db.set_expire(key, w);
    }
    ctx.dirty(1);
    ctx.notify(notify::STRING, "set", key);
    if when.is_some() {
        ctx.notify(notify::GENERIC, "expire", key);
    }
    if flags & F_GET == 0 {
        match r {
            SetReplies::OkNull => ctx.out.ok(),
            SetReplies::OneZero => ctx.out.int(1),
        }
    }
}

fn get(ctx: &mut Ctx, args: &[Bytes]) {
    if reply_value(ctx, &args[1]) == Found::WrongType {
        ctx.wrongtype();
    }
}

fn set(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(o) = parse_ext(args, 3, true) else {
        ctx.syntax();
        return;
    };
    set_generic(ctx, o.flags, &args[1], &args[2], o.expire, o.ms, SetReplies::OkNull);
}

fn setnx(ctx: &mut Ctx, args: &[Bytes]) {
    set_generic(ctx, F_NX, &args[1], &args[2], None, false, SetReplies::OneZero);
}

fn setex(ctx: &mut Ctx, args: &[Bytes]) {
    set_generic(ctx, F_EX, &args[1], &args[3], Some(&args[2]), false, SetReplies::OkNull);
}

fn psetex(ctx: &mut Ctx, args: &[Bytes]) {
    set_generic(ctx, F_PX, &args[1], &args[3], Some(&args[2]), true, SetReplies::OkNull);
}

fn getex(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(o) = parse_ext(args, 2, false) else {
        ctx.syntax();
        return;
    };
    let key = &args[1];
    // The reply is written after the expiry argument is validated, so look first.
    let (e, out) = read(ctx, key);
    match e {
        None => {
            out.null();
            return;
        }
        Some(e) if !e.value.is_string() => {
            ctx.wrongtype();
            return;
        }
        Some(_) => {}
    }
    let when = match o.expire {
        Some(a) => match expire_ms(ctx, a, o.flags, o.ms) {
            Some(w) => Some(w),
            None => return,
        },
        None => None,
    };
    reply_value_nostats(ctx, key);
    let now = ctx.now;
    if let (Some(w), true) = (when, o.flags & (F_EXAT | F_PXAT) != 0) {
        if w <= now {
            ctx.db().remove(key);
            ctx.dirty(1);
            ctx.notify(notify::GENERIC, "del", key);
            return;
        }
    }
    if let Some(w) = when {
        ctx.db().set_expire(key, w);
        ctx.dirty(1);
        ctx.notify(notify::GENERIC, "expire", key);
    } else if o.flags & F_PERSIST != 0 && ctx.db().persist(key) {
        ctx.dirty(1);
        ctx.notify(notify::GENERIC, "persist", key);
    }
}

/// Replies with the string value of a key known to exist (no statistics).
fn reply_value_nostats(ctx: &mut Ctx, key: &[u8]) {
    let now = ctx.now;
    let db = ctx.client.db;
    let out = &mut *ctx.out;
    match ctx.srv.dbs[db].get(key, now) {
        Some(e) => {
            let mut nb = itoa::Buffer::new();
            match str_view(&e.value, &mut nb) {
                Some(s) => out.bulk(s),
                None => out.null(),
            }
        }
        None => out.null(),
    }
}

fn getdel(ctx: &mut Ctx, args: &[Bytes]) {
    match reply_value(ctx, &args[1]) {
        Found::Missing => {}
        Found::WrongType => ctx.wrongtype(),
        Found::Str => {
            ctx.db().remove(&args[1]);
            ctx.dirty(1);
            ctx.notify(notify::GENERIC, "del", &args[1]);
        }
    }
}

fn getset(ctx: &mut Ctx, args: &[Bytes]) {
    if reply_value(ctx, &args[1]) == Found::WrongType {
        ctx.wrongtype();
        return;
    }
    let now = ctx.now;
    ctx.db().set(&args[1], encoded_value(&args[2]), now);
    ctx.dirty(1);
    ctx.notify(notify::STRING, "set", &args[1]);
}

fn mget(ctx: &mut Ctx, args: &[Bytes]) {
    ctx.out.array_len(args.len() - 1);
    for k in &args[1..] {
        let (e, out) = read(ctx, k);
        let mut nb = itoa::Buffer::new();
        match e.and_then(|e| str_view(&e.value, &mut nb)) {
            Some(s) => out.bulk(s),
            None => out.null(),
        }
    }
}

fn mset_generic(ctx: &mut Ctx, args: &[Bytes], nx: bool) {
    if args.len().is_multiple_of(2) {
        let msg = format!("ERR wrong number of arguments for '{}' command", ctx.cmd.name);
        ctx.err(&msg);
        return;
    }
    if nx {
        for k in args[1..].iter().step_by(2) {
            if ctx.lookup_write(k).is_some() {
                ctx.out.int(0);
                return;
            }
        }
    }
    let now = ctx.now;
    for kv in args[1..].chunks_exact(2) {
        ctx.db().set(&kv[0], encoded_value(&kv[1]), now);
        ctx.notify(notify::STRING, "set", &kv[0]);
    }
    ctx.dirty((args.len() as u64 - 1) / 2);
    if nx {
        ctx.out.int(1);
    } else {
        ctx.out.ok();
    }
}

fn mset(ctx: &mut Ctx, args: &[Bytes]) {
    mset_generic(ctx, args, false);
}

fn msetnx(ctx: &mut Ctx, args: &[Bytes]) {
    mset_generic(ctx, args, true);
}

fn append(ctx: &mut Ctx, args: &[Bytes]) {
    let (key, add) = (&args[1], &args[2]);
    let cur = match ctx.lookup_write(key) {
        None => None,
        Some(e) => match str_len(&e.value) {
            Some(n) => Some(n),
            None => {
                ctx.wrongtype();
                return;
            }
        },
    };
    let total = match cur {
        None => {
            let now = ctx.now;
            ctx.db().add(key, encoded_value(add), now);
            add.len()
        }
        Some(n) => {
            if !check_string_length(ctx, n as u64, add.len() as u64) {
                return;
            }
            let Some(e) = ctx.lookup_write(key) else { return };
            let res = edit_raw(&mut e.value, 0, |b, _| {
                if b.try_reserve_exact(add.len()).is_err() {
                    return None;
                }
                b.extend_from_slice(add);
                Some(b.len())
            });
            match res {
                Ok(Some(n)) => n,
                Ok(None) | Err(EditError::NoMemory) => {
                    ctx.err(STRING_TOO_BIG);
                    return;
                }
                Err(EditError::WrongType) => {
                    ctx.wrongtype();
                    return;
                }
            }
        }
    };
    ctx.dirty(1);
    ctx.notify(notify::STRING, "append", key);
    ctx.out.int(total as i64);
}

fn strlen(ctx: &mut Ctx, args: &[Bytes]) {
    let (e, out) = read(ctx, &args[1]);
    match e {
        None => out.int(0),
        Some(e) => match str_len(&e.value) {
            Some(n) => out.int(n as i64),
            None => ctx.wrongtype(),
        },
    }
}

// ---------------------------------------------------------------------------
// Counters
// ---------------------------------------------------------------------------

/// Redis's `incrDecrCommand`.
fn incr_decr(ctx: &mut Ctx, key: &[u8], incr: i64) {
    let old = match ctx.lookup_write(key) {
        None => None,
        #[allow(unreachable_patterns)]
        Some(e) => match &e.value {
            Value::Int(n) => Some(Some(*n)),
            Value::Str(_) | Value::RawStr(_) => Some(e.value.str_bytes().and_then(s2ll)),
            _ => {
                ctx.wrongtype();
                return;
            }
        },
    };
    let exists = old.is_some();
    let Some(old) = old.unwrap_or(Some(0)) else {
        ctx.err(err::NOT_INT);
        return;
    };
    let Some(new) = old.checked_add(incr) else {
        ctx.err(err::OVERFLOW);
        return;
    };
    let now = ctx.now;
    if exists {
        // Found above (that lookup was the access).
        if let Some(e) = ctx.db().entry_mut(key) {
            e.value = Value::Int(new);
        }
    } else {
        ctx.db().add(key, Value::Int(new), now);
    }
    ctx.dirty(1);
    ctx.notify(notify::STRING, "incrby", key);
    ctx.out.int(new);
}

fn incr(ctx: &mut Ctx, args: &[Bytes]) {
    incr_decr(ctx, &args[1], 1);
}

fn decr(ctx: &mut Ctx, args: &[Bytes]) {
    incr_decr(ctx, &args[1], -1);
}

fn incrby(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(n) = int_arg(ctx, &args[2]) else { return };
    incr_decr(ctx, &args[1], n);
}

fn decrby(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(n) = int_arg(ctx, &args[2]) else { return };
    if n == i64::MIN {
        ctx.err("ERR decrement would overflow");
        return;
    }
    incr_decr(ctx, &args[1], -n);
}

pub(crate) mod ld {
    //! FFI to csrc/longdouble.c.
    use std::ffi::c_char;

    /// Largest output of the C helper (Redis's MAX_LONG_DOUBLE_CHARS).
    pub const MAX_CHARS: usize = 5 * 1024;

    extern "C" {
        fn ferrokv_ld_add(
            a: *const c_char,
            alen: usize,
            b: *const c_char,
            blen: usize,
            out: *mut c_char,
            outlen: usize,
        ) -> i32;
    }

    /// Why an addition failed.
    pub enum AddError {
        BadValue,
        BadIncrement,
        NotFinite,
    }

    /// `a + b` computed in C `long double`, formatted as Redis's INCRBYFLOAT.
    pub fn add(a: &[u8], b: &[u8]) -> Result<Vec<u8>, AddError> {
        let mut out = vec![0u8; MAX_CHARS];
        // SAFETY: `a` and `b` are valid for reads of `a.len()` and `b.len()` bytes
        // for the whole call (borrowed slices), and the C function reads no more
        // than that (it copies exactly `alen`/`blen` bytes into its own buffer,
        // and only after checking they fit). `out` is a live, exclusively
        // borrowed buffer of `out.len()` bytes, and the function writes at most
        // `outlen` bytes into it (it checks before its single memcpy). It keeps
        // no pointer after returning, touches no Rust-owned state, and is
        // reentrant (only locals and errno, which is per-thread).
        let n = unsafe {
            ferrokv_ld_add(a.as_ptr().cast(), a.len(), b.as_ptr().cast(), b.len(), out.as_mut_ptr().cast(), out.len())
        };
        match n {
            -1 => Err(AddError::BadValue),
            -2 => Err(AddError::BadIncrement),
            n if n < 0 => Err(AddError::NotFinite),
            n => {
                out.truncate((n as usize).min(MAX_CHARS));
                Ok(out)
            }
        }
    }
}

fn incrbyfloat(ctx: &mut Ctx, args: &[Bytes]) {
    let key = &args[1];
    let mut nb = itoa::Buffer::new();
    let (exists, res) = match ctx.lookup_write(key) {
        None => (false, ld::add(b"0", &args[2])),
        Some(e) => match str_view(&e.value, &mut nb) {
            Some(cur) => (true, ld::add(cur, &args[2])),
            None => {
                ctx.wrongtype();
                return;
            }
        },
    };
    let s = match res {
        Ok(s) => s,
        Err(ld::AddError::BadValue) | Err(ld::AddError::BadIncrement) => {
            ctx.err(err::NOT_FLOAT);
            return;
        }
        Err(ld::AddError::NotFinite) => {
            ctx.err("ERR increment would produce NaN or Infinity");
            return;
        }
    };
    let now = ctx.now;
    let v = Value::Str(SStr::new(&s));
    if exists {
        if let Some(e) = ctx.lookup_write(key) {
            e.value = v;
        }
    } else {
        ctx.db().add(key, v, now);
    }
    ctx.dirty(1);
    ctx.notify(notify::STRING, "incrbyfloat", key);
    ctx.out.bulk(&s);
}

// ---------------------------------------------------------------------------
// Ranges
// ---------------------------------------------------------------------------

fn setrange(ctx: &mut Ctx, args: &[Bytes]) {
    let (key, val) = (&args[1], &args[3]);
    let Some(offset) = int_arg(ctx, &args[2]) else { return };
    if offset < 0 {
        ctx.err("ERR offset is out of range");
        return;
    }
    let offset = offset as u64;
    let cur = match ctx.lookup_write(key) {
        None => None,
        Some(e) => match str_len(&e.value) {
            Some(n) => Some(n),
            None => {
                ctx.wrongtype();
                return;
            }
        },
    };
    match cur {
        None => {
            if val.is_empty() {
                ctx.out.int(0);
                return;
            }
            if !check_string_length(ctx, offset, val.len() as u64) {
                return;
            }
            let total = offset as usize + val.len();
            let Some(mut bytes) = zeroed(total) else {
                ctx.err(STRING_TOO_BIG);
                return;
            };
            bytes[offset as usize..].copy_from_slice(val);
            let now = ctx.now;
            ctx.db().add(key, Value::raw(bytes), now);
            ctx.dirty(1);
            ctx.notify(notify::STRING, "setrange", key);
            ctx.out.int(total as i64);
        }
        Some(olen) => {
            if val.is_empty() {
                ctx.out.int(olen as i64);
                return;
            }
            if !check_string_length(ctx, offset, val.len() as u64) {
                return;
            }
            let off = offset as usize;
            let end = off + val.len();
            let Some(e) = ctx.lookup_write(key) else { return };
            let res = if end <= olen {
                raw_bytes_mut(&mut e.value).map(|b| {
                    b[off..end].copy_from_slice(val);
                    b.len()
                })
            } else {
                edit_raw(&mut e.value, end, |b, _| {
                    b[off..end].copy_from_slice(val);
                    b.len()
                })
                .ok()
            };
            match res {
                Some(n) => {
                    ctx.dirty(1);
                    ctx.notify(notify::STRING, "setrange", key);
                    ctx.out.int(n as i64);
                }
                None => ctx.err(STRING_TOO_BIG),
            }
        }
    }
}

/// Redis's range normalisation for GETRANGE: the inclusive byte range of a
/// string of `len` bytes, or None when empty.
fn byte_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let len = len as i64;
    let mut s = if start < 0 { len.saturating_add(start) } else { start };
    let mut e = if end < 0 { len.saturating_add(end) } else { end };
    s = s.max(0);
    e = e.max(0);
    if e >= len {
        e = len - 1;
    }
    if s > e || len == 0 {
        return None;
    }
    Some((s as usize, e as usize))
}

fn getrange(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(start) = int_arg(ctx, &args[2]) else { return };
    let Some(end) = int_arg(ctx, &args[3]) else { return };
    let (e, out) = read(ctx, &args[1]);
    let Some(e) = e else {
        out.bulk(b"");
        return;
    };
    let mut nb = itoa::Buffer::new();
    let Some(s) = str_view(&e.value, &mut nb) else {
        ctx.wrongtype();
        return;
    };
    match byte_range(start, end, s.len()) {
        Some((a, b)) => out.bulk(&s[a..=b]),
        None => out.bulk(b""),
    }
}

// ---------------------------------------------------------------------------
// LCS
// ---------------------------------------------------------------------------

/// One matching range of LCS IDX: (a_start, a_end, b_start, b_end, len).
type Match = (u32, u32, u32, u32, u32);

fn lcs(ctx: &mut Ctx, args: &[Bytes]) {
    let mut a: Vec<u8> = Vec::new();
    let mut b: Vec<u8> = Vec::new();
    let mut wrong = false;
    for (i, dst) in [(1usize, &mut a), (2usize, &mut b)] {
        let (e, _) = read(ctx, &args[i]);
        if let Some(e) = e {
            let mut nb = itoa::Buffer::new();
            match str_view(&e.value, &mut nb) {
                Some(s) => dst.extend_from_slice(s),
                None => wrong = true,
            }
        }
    }
    if wrong {
        ctx.err("ERR The specified keys must contain string values");
        return;
    }
    let (mut getidx, mut getlen, mut withmatchlen) = (false, false, false);
    let mut minmatchlen: i64 = 0;
    let mut j = 3;
    while j < args.len() {
        let opt = cstr(&args[j]);
        let more = j + 1 < args.len();
        if eq_ic(opt, b"idx") {
            getidx = true;
        } else if eq_ic(opt, b"len") {
            getlen = true;
        } else if eq_ic(opt, b"withmatchlen") {
            withmatchlen = true;
        } else if eq_ic(opt, b"minmatchlen") && more {
            let Some(n) = int_arg(ctx, &args[j + 1]) else { return };
            minmatchlen = n.max(0);
            j += 1;
        } else {
            ctx.syntax();
            return;
        }
        j += 1;
    }
    if getidx && getlen {
        ctx.err("ERR If you want both the length and indexes, please just use IDX.");
        return;
    }
    if a.len() >= u32::MAX as usize - 1 || b.len() >= u32::MAX as usize - 1 {
        ctx.err("ERR String too long for LCS");
        return;
    }
    let (alen, blen) = (a.len(), b.len());
    let cells = (alen as u128 + 1) * (blen as u128 + 1);
    let bytes = cells * 4;
    if bytes > ctx.srv.config.proto_max_bulk_len.max(0) as u128 {
        ctx.err("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
        return;
    }
    let Some(mut t) = zeroed_u32(cells as usize) else {
        ctx.err("ERR Insufficient memory, failed allocating transient memory for LCS");
        return;
    };
    let w = blen + 1;
    for i in 1..=alen {
        for jj in 1..=blen {
            t[i * w + jj] = if a[i - 1] == b[jj - 1] {
                t[(i - 1) * w + jj - 1] + 1
            } else {
                t[(i - 1) * w + jj].max(t[i * w + jj - 1])
            };
        }
    }
    let total = t[alen * w + blen];
    if getlen {
        ctx.out.int(total as i64);
        return;
    }
    // Walk back from the end, collecting the LCS and its matching ranges
    // exactly as Redis does (so ranges come out last to first).
    let mut idx = total as usize;
    let mut result = vec![0u8; idx];
    let mut matches: Vec<Match> = Vec::new();
    let unset = alen as u32;
    let (mut ra_start, mut ra_end, mut rb_start, mut rb_end) = (unset, 0u32, 0u32, 0u32);
    let (mut i, mut jj) = (alen, blen);
    while i > 0 && jj > 0 {
        let mut emit = false;
        if a[i - 1] == b[jj - 1] {
            result[idx - 1] = a[i - 1];
            if ra_start == unset {
                ra_start = (i - 1) as u32;
                ra_end = (i - 1) as u32;
                rb_start = (jj - 1) as u32;
                rb_end = (jj - 1) as u32;
            } else if ra_start == i as u32 && rb_start == jj as u32 {
                ra_start -= 1;
                rb_start -= 1;
            } else {
                emit = true;
            }
            if ra_start == 0 || rb_start == 0 {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            jj -= 1;
        } else {
            if t[(i - 1) * w + jj] > t[i * w + jj - 1] {
                i -= 1;
            } else {
                jj -= 1;
            }
            if ra_start != unset {
                emit = true;
            }
        }
        let mlen = ra_end.wrapping_sub(ra_start).wrapping_add(1);
        if emit {
            if minmatchlen == 0 || mlen as i64 >= minmatchlen {
                matches.push((ra_start, ra_end, rb_start, rb_end, mlen));
            }
            ra_start = unset;
        }
    }
    let out = &mut *ctx.out;
    if getidx {
        out.map_len(2);
        out.bulk(b"matches");
        out.array_len(matches.len());
        for (as_, ae, bs, be, ml) in matches {
            out.array_len(if withmatchlen { 3 } else { 2 });
            out.array_len(2);
            out.int(as_ as i64);
            out.int(ae as i64);
            out.array_len(2);
            out.int(bs as i64);
            out.int(be as i64);
            if withmatchlen {
                out.int(ml as i64);
            }
        }
        out.bulk(b"len");
        out.int(total as i64);
    } else {
        out.bulk(&result);
    }
}

fn zeroed_u32(n: usize) -> Option<Vec<u32>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).ok()?;
    v.resize(n, 0);
    Some(v)
}
