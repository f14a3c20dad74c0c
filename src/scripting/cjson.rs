//! The `cjson` library Redis 7.0 gives scripts (lua-cjson 2.1.0 as Redis
//! ships it): `encode`, `decode`, the configuration functions, `new` and
//! `null`, with the same outputs (numbers with `%.14g`, `/` escaped as `\/`,
//! array/object detection and the sparse array rules) and the same error
//! texts, stack limits included.
//!
//! Also the helpers the three data libraries (`cjson`, `cmsgpack`, `struct`)
//! share to behave like C functions of the Lua API: errors raised as plain
//! Lua strings with the caller's position (`luaL_error`), "bad argument"
//! errors (`luaL_argerror`), argument checks with Lua's conversions, and C's
//! number casts as x86-64 does them.

use mlua::{LightUserData, Lua, LuaString, MultiValue, Table, Value};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

// ---------------------------------------------------------------------------
// Shared helpers: C functions of the Lua API, as seen by scripts.
// ---------------------------------------------------------------------------

/// Lua 5.1's limit on the stack slots of one C function (`LUAI_MAXCSTACK`):
/// `lua_checkstack` fails past it, which bounds nesting and result counts.
pub(super) const MAX_CSTACK: usize = 8000;

/// A Lua error whose value is the string `msg` (not a Redis error table).
/// bootstrap.lua's `from_rust` turns the hex between \3 and \4 back into it.
pub(super) fn error_string(msg: &[u8]) -> mlua::Error {
    let mut s = String::with_capacity(2 + msg.len() * 2);
    s.push('\u{3}');
    for b in msg {
        let _ = write!(s, "{b:02x}");
    }
    s.push('\u{4}');
    mlua::Error::external(s)
}

/// `luaL_error`: `msg` prefixed with the position of the calling Lua code
/// (`user_script:1: `), or nothing when a C function (pcall) called us.
pub(super) fn error_at(lua: &Lua, msg: impl AsRef<[u8]>) -> mlua::Error {
    let mut m = lua
        .inspect_stack(1, |d| match d.current_line() {
            Some(line) if line > 0 => {
                let src = d.source().short_src.map(|s| s.into_owned()).unwrap_or_default();
                format!("{src}:{line}: ").into_bytes()
            }
            _ => Vec::new(),
        })
        .unwrap_or_default();
    m.extend_from_slice(msg.as_ref());
    error_string(&m)
}

/// `luaL_argerror`: "bad argument #n to 'name' (extra)", the name being the
/// one the caller used for the function.
pub(super) fn arg_error(lua: &Lua, narg: i64, extra: impl AsRef<[u8]>) -> mlua::Error {
    let (name, what) = lua
        .inspect_stack(0, |d| {
            let n = d.names();
            (n.name.map(|s| s.into_owned()), n.name_what)
        })
        .unwrap_or((None, None));
    let mut narg = narg;
    let mut msg = Vec::new();
    if what == Some("method") {
        narg -= 1;
        if narg == 0 {
            msg.extend_from_slice(format!("calling '{}' on bad self (", name.unwrap_or_default()).as_bytes());
            msg.extend_from_slice(extra.as_ref());
            msg.push(b')');
            return error_at(lua, msg);
        }
    }
    msg.extend_from_slice(format!("bad argument #{narg} to '{}' (", name.as_deref().unwrap_or("?")).as_bytes());
    msg.extend_from_slice(extra.as_ref());
    msg.push(b')');
    error_at(lua, msg)
}

/// Lua's name for a value's type (`luaL_typename`); `None` is an absent argument.
pub(super) fn type_name(v: Option<&Value>) -> &'static str {
    match v {
        None => "no value",
        Some(Value::Nil) => "nil",
        Some(Value::Boolean(_)) => "boolean",
        Some(Value::Integer(_) | Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Table(_)) => "table",
        Some(Value::Function(_)) => "function",
        Some(Value::Thread(_)) => "thread",
        Some(_) => "userdata",
    }
}

/// `lua_tonumber`: numbers, and strings Lua converts to numbers.
pub(super) fn to_number(lua: &Lua, v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Number(n) => Some(*n),
        Value::String(_) => lua.coerce_number(v.clone()).ok().flatten(),
        _ => None,
    }
}

/// 2^63.
const TWO_63: f64 = 9_223_372_036_854_775_808.0;

/// C's `(int64_t)` cast of a double on x86-64: out of range and NaN give i64::MIN.
pub(super) fn c_i64(d: f64) -> i64 {
    if (-TWO_63..TWO_63).contains(&d) {
        d as i64
    } else {
        i64::MIN
    }
}

/// C's `(int)` cast of a double on x86-64: out of range and NaN give i32::MIN.
pub(super) fn c_i32(d: f64) -> i32 {
    if d > -2147483649.0 && d < 2147483648.0 {
        d as i32
    } else {
        i32::MIN
    }
}

/// C's `(uint64_t)` cast of a double as gcc compiles it on x86-64.
pub(super) fn c_u64(d: f64) -> u64 {
    if d >= TWO_63 {
        (c_i64(d - TWO_63) as u64) ^ (1 << 63)
    } else {
        c_i64(d) as u64
    }
}

/// The library tables and `_G` reach scripts through read-only proxies (an
/// empty table whose metatable has the table as `__index`, a `__newindex`
/// function and `__metatable = false`, see bootstrap.lua), where Redis hands
/// out the tables themselves: the encoders look through such a proxy.
pub(super) fn see_through(t: Table) -> Table {
    let Some(mt) = t.metatable() else { return t };
    let shaped = matches!(mt.raw_get::<Value>("__metatable"), Ok(Value::Boolean(false)))
        && matches!(mt.raw_get::<Value>("__newindex"), Ok(Value::Function(_)))
        && t.is_empty();
    match mt.raw_get::<Value>("__index") {
        Ok(Value::Table(real)) if shaped => real,
        _ => t,
    }
}

/// A C function's arguments (1-based, as the Lua API numbers them).
pub(super) struct Args<'a> {
    pub lua: &'a Lua,
    pub v: Vec<Value>,
}

impl<'a> Args<'a> {
    pub fn new(lua: &'a Lua, args: MultiValue) -> Self {
        Args { lua, v: args.into_iter().collect() }
    }

    pub fn len(&self) -> usize {
        self.v.len()
    }

    pub fn get(&self, i: usize) -> Option<&Value> {
        i.checked_sub(1).and_then(|i| self.v.get(i))
    }

    /// True for an absent or nil argument (`lua_isnoneornil`).
    pub fn none_or_nil(&self, i: usize) -> bool {
        matches!(self.get(i), None | Some(Value::Nil))
    }

    fn type_error(&self, i: usize, expected: &str) -> mlua::Error {
        arg_error(self.lua, i as i64, format!("{expected} expected, got {}", type_name(self.get(i))))
    }

    /// `luaL_checknumber`.
    pub fn check_number(&self, i: usize) -> mlua::Result<f64> {
        self.get(i).and_then(|v| to_number(self.lua, v)).ok_or_else(|| self.type_error(i, "number"))
    }

    /// `luaL_checkinteger` (truncating, as C casts).
    pub fn check_integer(&self, i: usize) -> mlua::Result<i64> {
        match self.get(i) {
            Some(Value::Integer(n)) => Ok(*n),
            _ => self.check_number(i).map(c_i64),
        }
    }

    /// `luaL_optinteger`.
    pub fn opt_integer(&self, i: usize, def: i64) -> mlua::Result<i64> {
        if self.none_or_nil(i) {
            Ok(def)
        } else {
            self.check_integer(i)
        }
    }

    /// `luaL_checklstring`: strings, and numbers as Lua formats them.
    pub fn check_string(&self, i: usize) -> mlua::Result<LuaString> {
        match self.get(i) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(v @ (Value::Integer(_) | Value::Number(_))) => {
                self.lua.coerce_string(v.clone())?.ok_or_else(|| self.type_error(i, "string"))
            }
            _ => Err(self.type_error(i, "string")),
        }
    }
}

// ---------------------------------------------------------------------------
// cjson
// ---------------------------------------------------------------------------

/// One `cjson` instance's settings (`cjson.new()` gets fresh ones).
#[derive(Clone, Copy)]
struct Config {
    sparse_convert: i32,
    sparse_ratio: i32,
    sparse_safe: i32,
    encode_max_depth: i32,
    decode_max_depth: i32,
    encode_invalid_numbers: i32,
    decode_invalid_numbers: i32,
    keep_buffer: i32,
    precision: i32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sparse_convert: 0,
            sparse_ratio: 2,
            sparse_safe: 10,
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            encode_invalid_numbers: 0,
            decode_invalid_numbers: 1,
            keep_buffer: 1,
            precision: 14,
        }
    }
}

type Shared = Arc<Mutex<Config>>;

fn settings(cfg: &Shared) -> Config {
    *cfg.lock().unwrap_or_else(|e| e.into_inner())
}

/// Installs `cjson` as a global (before the globals are locked).
pub fn install(lua: &Lua) -> mlua::Result<()> {
    let t = module(lua)?;
    lua.globals().raw_set("cjson", t)
}

/// A cjson module table with its own settings, filled in lua-cjson's order
/// (so that `pairs` walks it the same way).
fn module(lua: &Lua) -> mlua::Result<Table> {
    let cfg: Shared = Arc::new(Mutex::new(Config::default()));
    let t = lua.create_table()?;
    type Handler = fn(&Lua, &Shared, Args) -> mlua::Result<MultiValue>;
    let funcs: [(&str, Handler); 9] = [
        ("encode", encode_fn),
        ("decode", decode_fn),
        ("encode_sparse_array", cfg_sparse_array),
        ("encode_max_depth", cfg_encode_max_depth),
        ("decode_max_depth", cfg_decode_max_depth),
        ("encode_number_precision", cfg_precision),
        ("encode_keep_buffer", cfg_keep_buffer),
        ("encode_invalid_numbers", cfg_encode_invalid),
        ("decode_invalid_numbers", cfg_decode_invalid),
    ];
    for (name, f) in funcs {
        let c = cfg.clone();
        t.raw_set(name, lua.create_function(move |lua, args: MultiValue| f(lua, &c, Args::new(lua, args)))?)?;
    }
    t.raw_set("new", lua.create_function(|lua, _: MultiValue| module(lua))?)?;
    t.raw_set("null", Value::LightUserData(LightUserData(std::ptr::null_mut())))?;
    t.raw_set("_NAME", "cjson")?;
    t.raw_set("_VERSION", "2.1.0")?;
    Ok(t)
}

fn one(v: Value) -> mlua::Result<MultiValue> {
    Ok(MultiValue::from_iter([v]))
}

// --- configuration ---------------------------------------------------------

fn arg_init(a: &Args, n: usize) -> mlua::Result<()> {
    if a.len() > n {
        return Err(arg_error(a.lua, n as i64 + 1, "found too many arguments"));
    }
    Ok(())
}

/// An on/off (or named) setting: booleans, or one of `options` by name.
fn enum_option(a: &Args, i: usize, setting: &mut i32, options: &[&str]) -> mlua::Result<Value> {
    match a.get(i) {
        None | Some(Value::Nil) => {}
        Some(Value::Boolean(b)) => *setting = *b as i32,
        Some(_) => {
            let s = a.check_string(i)?;
            let bytes = s.as_bytes();
            // C compares the string up to its first NUL.
            let name = &bytes[..bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len())];
            match options.iter().position(|o| o.as_bytes() == name) {
                Some(k) => *setting = k as i32,
                None => {
                    let mut msg = b"invalid option '".to_vec();
                    msg.extend_from_slice(name);
                    msg.push(b'\'');
                    return Err(arg_error(a.lua, i as i64, msg));
                }
            }
        }
    }
    Ok(match *setting {
        0 | 1 => Value::Boolean(*setting == 1),
        k => Value::String(a.lua.create_string(options.get(k as usize).copied().unwrap_or(""))?),
    })
}

/// An integer setting within `min..=max` (the range error names argument #1,
/// as lua-cjson does).
fn integer_option(a: &Args, i: usize, setting: &mut i32, min: i32, max: i32) -> mlua::Result<Value> {
    if !a.none_or_nil(i) {
        let v = a.check_integer(i)? as i32;
        if v < min || v > max {
            return Err(arg_error(a.lua, 1, format!("expected integer between {min} and {max}")));
        }
        *setting = v;
    }
    Ok(Value::Integer(*setting as i64))
}

const BOOL_OPTIONS: &[&str] = &["off", "on"];

/// Runs `f` on the settings, keeping what it changed even when it fails
/// (lua-cjson applies each argument as it goes).
fn with_cfg<R>(cfg: &Shared, f: impl FnOnce(&mut Config) -> mlua::Result<R>) -> mlua::Result<R> {
    let mut c = settings(cfg);
    let r = f(&mut c);
    *cfg.lock().unwrap_or_else(|e| e.into_inner()) = c;
    r
}

fn cfg_sparse_array(_: &Lua, cfg: &Shared, a: Args) -> mlua::Result<MultiValue> {
    arg_init(&a, 3)?;
    with_cfg(cfg, |c| {
        let convert = enum_option(&a, 1, &mut c.sparse_convert, BOOL_OPTIONS)?;
        let ratio = integer_option(&a, 2, &mut c.sparse_ratio, 0, i32::MAX)?;
        let safe = integer_option(&a, 3, &mut c.sparse_safe, 0, i32::MAX)?;
        Ok(MultiValue::from_iter([convert, ratio, safe]))
    })
}

fn cfg_encode_max_depth(_: &Lua, cfg: &Shared, a: Args) -> mlua::Result<MultiValue> {
    arg_init(&a, 1)?;
    with_cfg(cfg, |c| one(integer_option(&a, 1, &mut c.encode_max_depth, 1, i32::MAX)?))
}

fn cfg_decode_max_depth(_: &Lua, cfg: &Shared, a: Args) -> mlua::Result<MultiValue> {
    arg_init(&a, 1)?;
    with_cfg(cfg, |c| one(integer_option(&a, 1, &mut c.decode_max_depth, 1, i32::MAX)?))
}

fn cfg_precision(_: &Lua, cfg: &Shared, a: Args) -> mlua::Result<MultiValue> {
    arg_init(&a, 1)?;
    with_cfg(cfg, |c| one(integer_option(&a, 1, &mut c.precision, 1, 14)?))
}

fn cfg_keep_buffer(_: &Lua, cfg: &Shared, a: Args) -> mlua::Result<MultiValue> {
    arg_init(&a, 1)?;
    with_cfg(cfg, |c| one(enum_option(&a, 1, &mut c.keep_buffer, BOOL_OPTIONS)?))
}

fn cfg_encode_invalid(_: &Lua, cfg: &Shared, a: Args) -> mlua::Result<MultiValue> {
    arg_init(&a, 1)?;
    with_cfg(cfg, |c| one(enum_option(&a, 1, &mut c.encode_invalid_numbers, &["off", "on", "null"])?))
}

fn cfg_decode_invalid(_: &Lua, cfg: &Shared, a: Args) -> mlua::Result<MultiValue> {
    arg_init(&a, 1)?;
    with_cfg(cfg, |c| one(enum_option(&a, 1, &mut c.decode_invalid_numbers, BOOL_OPTIONS)?))
}

// --- encoding --------------------------------------------------------------

fn encode_fn(lua: &Lua, cfg: &Shared, a: Args) -> mlua::Result<MultiValue> {
    if a.len() != 1 {
        return Err(arg_error(lua, 1, "expected 1 argument"));
    }
    let cfg = settings(cfg);
    let mut e = Encoder { lua, cfg, out: Vec::new(), slots: lua.create_table()?, next_slot: 0 };
    e.run(&a.v[0])?;
    one(Value::String(lua.create_string(&e.out)?))
}

/// A table key, taken out of Lua.
enum Key {
    Num(f64),
    Str(Vec<u8>),
    /// Any other type: an error when its turn comes.
    Bad(&'static str),
}

/// A value, taken out of Lua; tables wait in the encoder's slot table.
enum Val {
    Str(Vec<u8>),
    Num(f64),
    Bool(bool),
    Null,
    Table(i64),
    Bad(&'static str),
}

/// A table being written: an array by index, or an object by its pairs.
enum Frame {
    Array { items: std::iter::Peekable<std::vec::IntoIter<(i64, Val)>>, next: i64, len: i64, depth: i32, top: usize },
    Object { pairs: std::vec::IntoIter<(Key, Val)>, first: bool, depth: i32, top: usize },
}

/// Writes JSON without recursion (tables may nest thousands deep when
/// `encode_max_depth` allows it) and without holding Lua handles: each
/// table is copied out of Lua when its turn comes, nested tables waiting in
/// `slots`.
struct Encoder<'a> {
    lua: &'a Lua,
    cfg: Config,
    out: Vec<u8>,
    slots: Table,
    next_slot: i64,
}

impl Encoder<'_> {
    fn fail(&self, what: &str, reason: &str) -> mlua::Error {
        error_at(self.lua, format!("Cannot serialise {what}: {reason}"))
    }

    fn take(&mut self, v: Value) -> mlua::Result<Val> {
        Ok(match v {
            Value::String(s) => Val::Str(s.as_bytes().to_vec()),
            Value::Integer(n) => Val::Num(n as f64),
            Value::Number(n) => Val::Num(n),
            Value::Boolean(b) => Val::Bool(b),
            Value::Nil => Val::Null,
            Value::LightUserData(p) if p.0.is_null() => Val::Null,
            Value::Table(t) => {
                self.next_slot += 1;
                self.slots.raw_set(self.next_slot, t)?;
                Val::Table(self.next_slot)
            }
            other => Val::Bad(type_name(Some(&other))),
        })
    }

    fn run(&mut self, v: &Value) -> mlua::Result<()> {
        let mut stack: Vec<Frame> = Vec::new();
        let first = self.take(v.clone())?;
        // The value sits in the C function's first stack slot.
        self.value(first, 0, 1, &mut stack)?;
        loop {
            let (child, depth, top) = match stack.last_mut() {
                None => return Ok(()),
                Some(Frame::Array { items, next, len, depth, top }) => {
                    if *next > *len {
                        self.out.push(b']');
                        stack.pop();
                        continue;
                    }
                    if *next > 1 {
                        self.out.push(b',');
                    }
                    let v = match items.next_if(|(k, _)| k == next) {
                        Some((_, v)) => v,
                        None => Val::Null,
                    };
                    *next += 1;
                    // The element is pushed above the table.
                    (v, *depth, *top + 1)
                }
                Some(Frame::Object { pairs, first, depth, top }) => {
                    let Some((k, v)) = pairs.next() else {
                        self.out.push(b'}');
                        stack.pop();
                        continue;
                    };
                    if !*first {
                        self.out.push(b',');
                    }
                    *first = false;
                    let (depth, top) = (*depth, *top);
                    match k {
                        Key::Num(n) => {
                            self.out.push(b'"');
                            self.number(n)?;
                            self.out.extend_from_slice(b"\":");
                        }
                        Key::Str(s) => {
                            self.string(&s);
                            self.out.push(b':');
                        }
                        Key::Bad(t) => return Err(self.fail(t, "table key must be a number or string")),
                    }
                    // lua_next leaves the key and the value above the table.
                    (v, depth, top + 2)
                }
            };
            self.value(child, depth, top, &mut stack)?;
        }
    }

    /// Writes a scalar, or opens a table (pushing its frame). `top` counts
    /// the stack slots lua-cjson would use with this value on top.
    fn value(&mut self, v: Val, depth: i32, top: usize, stack: &mut Vec<Frame>) -> mlua::Result<()> {
        match v {
            Val::Str(s) => self.string(&s),
            Val::Num(n) => self.number(n)?,
            Val::Bool(true) => self.out.extend_from_slice(b"true"),
            Val::Bool(false) => self.out.extend_from_slice(b"false"),
            Val::Null => self.out.extend_from_slice(b"null"),
            Val::Bad(t) => return Err(self.fail(t, "type not supported")),
            Val::Table(slot) => {
                let t = see_through(self.slots.raw_get(slot)?);
                self.slots.raw_set(slot, Value::Nil)?;
                let depth = depth + 1;
                if depth > self.cfg.encode_max_depth || top + 3 > MAX_CSTACK {
                    return Err(error_at(self.lua, format!("Cannot serialise, excessive nesting ({depth})")));
                }
                let mut pairs = Vec::new();
                t.for_each(|k: Value, v: Value| {
                    let key = match k {
                        Value::Integer(n) => Key::Num(n as f64),
                        Value::Number(n) => Key::Num(n),
                        Value::String(s) => Key::Str(s.as_bytes().to_vec()),
                        other => Key::Bad(type_name(Some(&other))),
                    };
                    pairs.push((key, self.take(v)?));
                    Ok(())
                })?;
                let len = self.array_length(&pairs)?;
                if len > 0 {
                    self.out.push(b'[');
                    // All keys are integers in 1..=len, usually already in order.
                    let mut items: Vec<(i64, Val)> = pairs
                        .into_iter()
                        .filter_map(|(k, v)| match k {
                            Key::Num(n) => Some((n as i64, v)),
                            _ => None,
                        })
                        .collect();
                    items.sort_by_key(|(k, _)| *k);
                    let items = items.into_iter().peekable();
                    stack.push(Frame::Array { items, next: 1, len: len as i64, depth, top });
                } else {
                    self.out.push(b'{');
                    stack.push(Frame::Object { pairs: pairs.into_iter(), first: true, depth, top });
                }
            }
        }
        Ok(())
    }

    /// The array length of a table whose keys are all positive integers, or
    /// -1 (an object); excessively sparse arrays are an error or an object.
    fn array_length(&self, pairs: &[(Key, Val)]) -> mlua::Result<i32> {
        let mut max: i32 = 0;
        let mut items: i32 = 0;
        for (k, _) in pairs {
            let Key::Num(k) = *k else { return Ok(-1) };
            if k == 0.0 || k.floor() != k || k < 1.0 {
                return Ok(-1);
            }
            if k > max as f64 {
                max = c_i32(k);
            }
            items = items.wrapping_add(1);
        }
        let c = &self.cfg;
        if c.sparse_ratio > 0 && max > items.wrapping_mul(c.sparse_ratio) && max > c.sparse_safe {
            if c.sparse_convert == 0 {
                return Err(self.fail("table", "excessively sparse array"));
            }
            return Ok(-1);
        }
        Ok(max)
    }

    fn number(&mut self, n: f64) -> mlua::Result<()> {
        if !n.is_finite() {
            match self.cfg.encode_invalid_numbers {
                0 => return Err(self.fail("number", "must not be NaN or Inf")),
                1 => {}
                _ => {
                    self.out.extend_from_slice(b"null");
                    return Ok(());
                }
            }
        }
        format_g(&mut self.out, n, self.cfg.precision as usize);
        Ok(())
    }

    fn string(&mut self, s: &[u8]) {
        self.out.push(b'"');
        for &b in s {
            match b {
                b'"' => self.out.extend_from_slice(b"\\\""),
                b'\\' => self.out.extend_from_slice(b"\\\\"),
                b'/' => self.out.extend_from_slice(b"\\/"),
                8 => self.out.extend_from_slice(b"\\b"),
                9 => self.out.extend_from_slice(b"\\t"),
                10 => self.out.extend_from_slice(b"\\n"),
                12 => self.out.extend_from_slice(b"\\f"),
                13 => self.out.extend_from_slice(b"\\r"),
                0..=31 | 127 => self.out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
                _ => self.out.push(b),
            }
        }
        self.out.push(b'"');
    }
}

/// `printf("%.*g", prec, n)`, quickly for the common cases: integers, and
/// normal numbers whose shortest round-trip form has at most `prec` digits
/// (that form is then also the correctly rounded one); others take the exact
/// path.
fn format_g(out: &mut Vec<u8>, n: f64, prec: usize) {
    if n.is_finite() && n == n.trunc() && n.abs() < 1e15 && (n.abs() as u64) < 10u64.pow(prec as u32) {
        if n == 0.0 && n.is_sign_negative() {
            out.extend_from_slice(b"-0");
        } else {
            out.extend_from_slice((n as i64).to_string().as_bytes());
        }
        return;
    }
    // Subnormals have too few bits for the shortest form to be the rounded one.
    if n.is_normal() {
        let s = format!("{n:e}");
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let (neg, mant) = match mant.strip_prefix('-') {
            Some(m) => (true, m),
            None => (false, mant),
        };
        let digits: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
        if let (true, Ok(x)) = (digits.len() <= prec, exp.parse::<i32>()) {
            if neg {
                out.push(b'-');
            }
            if x < -4 || x >= prec as i32 {
                out.push(digits[0]);
                if digits.len() > 1 {
                    out.push(b'.');
                    out.extend_from_slice(&digits[1..]);
                }
                out.extend_from_slice(format!("e{}{:02}", if x < 0 { '-' } else { '+' }, x.abs()).as_bytes());
            } else if x < 0 {
                out.extend_from_slice(b"0.");
                out.extend(std::iter::repeat_n(b'0', (-x - 1) as usize));
                out.extend_from_slice(&digits);
            } else {
                let int_len = x as usize + 1;
                if digits.len() <= int_len {
                    out.extend_from_slice(&digits);
                    out.extend(std::iter::repeat_n(b'0', int_len - digits.len()));
                } else {
                    out.extend_from_slice(&digits[..int_len]);
                    out.push(b'.');
                    out.extend_from_slice(&digits[int_len..]);
                }
            }
            return;
        }
    }
    out.extend_from_slice(crate::util::fmt_g(n, prec).as_bytes());
}

// --- decoding --------------------------------------------------------------

fn decode_fn(lua: &Lua, cfg: &Shared, a: Args) -> mlua::Result<MultiValue> {
    if a.len() != 1 {
        return Err(arg_error(lua, 1, "expected 1 argument"));
    }
    let cfg = settings(cfg);
    let s = a.check_string(1)?;
    let data = s.as_bytes();
    if data.len() >= 2 && (data[0] == 0 || data[1] == 0) {
        return Err(error_at(lua, "JSON parser does not support UTF-16 or UTF-32"));
    }
    // The parser reads a C string: the first NUL ends the input.
    let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let mut p = Parser { lua, d: &data[..end], pos: 0, strict: cfg.decode_invalid_numbers == 0 };
    one(p.document(cfg.decode_max_depth)?)
}

enum Tok {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str(Vec<u8>),
    Num(f64),
    Bool(bool),
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

impl Tok {
    /// What an error message calls the token.
    fn name(&self) -> &'static str {
        match self {
            Tok::ObjBegin => "T_OBJ_BEGIN",
            Tok::ObjEnd => "T_OBJ_END",
            Tok::ArrBegin => "T_ARR_BEGIN",
            Tok::ArrEnd => "T_ARR_END",
            Tok::Str(_) => "T_STRING",
            Tok::Num(_) => "T_NUMBER",
            Tok::Bool(_) => "T_BOOLEAN",
            Tok::Null => "T_NULL",
            Tok::Colon => "T_COLON",
            Tok::Comma => "T_COMMA",
            Tok::End => "T_END",
            Tok::Error(e) => e,
        }
    }
}

/// A container being filled: an array with its next index, or an object.
enum Open {
    Array(i64),
    Object,
}

struct Parser<'a> {
    lua: &'a Lua,
    d: &'a [u8],
    pos: usize,
    strict: bool,
}

impl Parser<'_> {
    fn at(&self, i: usize) -> u8 {
        self.d.get(i).copied().unwrap_or(0)
    }

    fn throw(&self, expected: &str, tok: &Tok, index: usize) -> mlua::Error {
        error_at(self.lua, format!("Expected {expected} but found {} at character {}", tok.name(), index + 1))
    }

    /// The next token and where it starts (where it failed, for errors).
    fn next(&mut self) -> (Tok, usize) {
        while matches!(self.at(self.pos), b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
        let start = self.pos;
        let c = self.at(start);
        let single = match c {
            0 => return (Tok::End, start),
            b'{' => Some(Tok::ObjBegin),
            b'}' => Some(Tok::ObjEnd),
            b'[' => Some(Tok::ArrBegin),
            b']' => Some(Tok::ArrEnd),
            b',' => Some(Tok::Comma),
            b':' => Some(Tok::Colon),
            _ => None,
        };
        if let Some(t) = single {
            self.pos += 1;
            return (t, start);
        }
        match c {
            b'"' => return self.string(),
            b'-' | b'0'..=b'9' => {
                if self.strict && self.invalid_number() {
                    return (Tok::Error("invalid number"), start);
                }
                return self.number();
            }
            b't' | b'f' | b'n' | b'i' | b'I' | b'N' | b'+' => {}
            _ => return (Tok::Error("invalid token"), start),
        }
        let rest = &self.d[start..];
        if rest.starts_with(b"true") {
            self.pos += 4;
            (Tok::Bool(true), start)
        } else if rest.starts_with(b"false") {
            self.pos += 5;
            (Tok::Bool(false), start)
        } else if rest.starts_with(b"null") {
            self.pos += 4;
            (Tok::Null, start)
        } else if !self.strict && self.invalid_number() {
            self.number()
        } else {
            (Tok::Error("invalid token"), start)
        }
    }

    /// Numbers strict JSON refuses but strtod takes: a leading '+', hex,
    /// leading zeros, inf and nan.
    fn invalid_number(&self) -> bool {
        let mut p = self.pos;
        if self.at(p) == b'+' {
            return true;
        }
        if self.at(p) == b'-' {
            p += 1;
        }
        let c = self.at(p);
        if c == b'0' {
            let c2 = self.at(p + 1);
            return (c2 | 0x20) == b'x' || c2.is_ascii_digit();
        }
        // C compares a (signed) char: bytes from 0x80 count as "ordinary".
        if (c as i8) <= b'9' as i8 {
            return false;
        }
        let word = [self.at(p), self.at(p + 1), self.at(p + 2)].map(|b| b.to_ascii_lowercase());
        &word == b"inf" || &word == b"nan"
    }

    fn number(&mut self) -> (Tok, usize) {
        let start = self.pos;
        match strtod(&self.d[start..]) {
            Some((v, len)) => {
                self.pos += len;
                (Tok::Num(v), start)
            }
            None => (Tok::Error("invalid number"), start),
        }
    }

    fn string(&mut self) -> (Tok, usize) {
        let start = self.pos;
        self.pos += 1;
        let mut buf = Vec::new();
        loop {
            let mut c = self.at(self.pos);
            if c == b'"' {
                break;
            }
            if c == 0 {
                return (Tok::Error("unexpected end of string"), self.pos);
            }
            if c == b'\\' {
                c = match self.at(self.pos + 1) {
                    b'"' => b'"',
                    b'\\' => b'\\',
                    b'/' => b'/',
                    b'b' => 8,
                    b't' => 9,
                    b'n' => 10,
                    b'f' => 12,
                    b'r' => 13,
                    b'u' => {
                        if self.unicode_escape(&mut buf) {
                            continue;
                        }
                        return (Tok::Error("invalid unicode escape code"), self.pos);
                    }
                    _ => return (Tok::Error("invalid escape code"), self.pos),
                };
                self.pos += 1;
            }
            buf.push(c);
            self.pos += 1;
        }
        self.pos += 1;
        (Tok::Str(buf), start)
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let mut v = 0u32;
        for i in 0..4 {
            v = (v << 4) | (self.at(at + i) as char).to_digit(16)?;
        }
        Some(v)
    }

    /// `\uXXXX` (or a surrogate pair of them) at `pos`, appended as UTF-8.
    fn unicode_escape(&mut self, buf: &mut Vec<u8>) -> bool {
        let Some(mut cp) = self.hex4(self.pos + 2) else { return false };
        let mut len = 6;
        if cp & 0xF800 == 0xD800 {
            if cp & 0x400 != 0 {
                return false;
            }
            if self.at(self.pos + 6) != b'\\' || self.at(self.pos + 7) != b'u' {
                return false;
            }
            let Some(low) = self.hex4(self.pos + 8) else { return false };
            if low & 0xFC00 != 0xDC00 {
                return false;
            }
            cp = (((cp & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000;
            len = 12;
        }
        match char::from_u32(cp) {
            Some(ch) => {
                let mut b = [0u8; 4];
                buf.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
            }
            None => return false,
        }
        self.pos += len;
        true
    }

    /// The whole input: one value, then the end. The innermost open
    /// container (and an object's pending key) is held here; the ones around
    /// it wait in Lua tables (`tables[d]`, `keys[d]`) rather than in Lua
    /// handles, so that thousands of levels fit.
    fn document(&mut self, max_depth: i32) -> mlua::Result<Value> {
        let lua = self.lua;
        let mut work: Option<(Table, Table)> = None;
        let mut cur: Option<(Table, Option<LuaString>)> = None;
        let mut open: Vec<Open> = Vec::new();
        // The Lua stack slots lua-cjson would hold: the input string, one per
        // open array, two (table, key) per open object.
        let mut top: usize = 1;
        let (mut tok, mut idx) = self.next();
        'value: loop {
            let mut v = match tok {
                Tok::Str(s) => Value::String(lua.create_string(&s)?),
                Tok::Num(n) => Value::Number(n),
                Tok::Bool(b) => Value::Boolean(b),
                Tok::Null => Value::LightUserData(LightUserData(std::ptr::null_mut())),
                Tok::ObjBegin | Tok::ArrBegin => {
                    let is_obj = matches!(tok, Tok::ObjBegin);
                    let depth = open.len() + 1;
                    let slots = if is_obj { 3 } else { 2 };
                    if depth as i64 > max_depth as i64 || top + slots > MAX_CSTACK {
                        return Err(error_at(
                            lua,
                            format!("Found too many nested data structures ({depth}) at character {}", self.pos),
                        ));
                    }
                    let t = lua.create_table()?;
                    (tok, idx) = self.next();
                    let empty = if is_obj { matches!(tok, Tok::ObjEnd) } else { matches!(tok, Tok::ArrEnd) };
                    if empty {
                        Value::Table(t)
                    } else {
                        let key = if is_obj {
                            let k = self.key(tok, idx)?;
                            (tok, idx) = self.next();
                            Some(k)
                        } else {
                            None
                        };
                        // The container around this one moves to the work tables.
                        if let Some((pt, pk)) = cur.take() {
                            if work.is_none() {
                                work = Some((lua.create_table()?, lua.create_table()?));
                            }
                            if let Some((tables, keys)) = &work {
                                tables.raw_set(depth - 1, pt)?;
                                keys.raw_set(depth - 1, pk)?;
                            }
                        }
                        cur = Some((t, key));
                        if is_obj {
                            open.push(Open::Object);
                            top += 2;
                        } else {
                            open.push(Open::Array(1));
                            top += 1;
                        }
                        continue 'value;
                    }
                }
                other => return Err(self.throw("value", &other, idx)),
            };
            // Store the finished value in its container; close the
            // containers it completes.
            loop {
                let (Some(o), Some((t, key))) = (open.last_mut(), cur.as_mut()) else {
                    let (tok, idx) = self.next();
                    if !matches!(tok, Tok::End) {
                        return Err(self.throw("the end", &tok, idx));
                    }
                    return Ok(v);
                };
                let is_obj = matches!(o, Open::Object);
                match o {
                    Open::Array(next) => {
                        t.raw_set(*next, v)?;
                        *next += 1;
                    }
                    Open::Object => {
                        if let Some(k) = key.take() {
                            t.raw_set(k, v)?;
                        }
                    }
                }
                (tok, idx) = self.next();
                match (&tok, is_obj) {
                    (Tok::Comma, false) => {
                        (tok, idx) = self.next();
                        continue 'value;
                    }
                    (Tok::Comma, true) => {
                        let (t2, i2) = self.next();
                        *key = Some(self.key(t2, i2)?);
                        (tok, idx) = self.next();
                        continue 'value;
                    }
                    (Tok::ArrEnd, false) | (Tok::ObjEnd, true) => {
                        let Some((t, _)) = cur.take() else { return Ok(Value::Nil) };
                        open.pop();
                        top -= if is_obj { 2 } else { 1 };
                        v = Value::Table(t);
                        // Bring the enclosing container back.
                        let depth = open.len();
                        if let (true, Some((tables, keys))) = (depth > 0, &work) {
                            let pt: Table = tables.raw_get(depth)?;
                            let pk: Option<LuaString> = keys.raw_get(depth)?;
                            tables.raw_set(depth, Value::Nil)?;
                            keys.raw_set(depth, Value::Nil)?;
                            cur = Some((pt, pk));
                        }
                    }
                    _ => {
                        let exp = if is_obj { "comma or object end" } else { "comma or array end" };
                        return Err(self.throw(exp, &tok, idx));
                    }
                }
            }
        }
    }

    /// An object key and its colon.
    fn key(&mut self, tok: Tok, idx: usize) -> mlua::Result<LuaString> {
        let Tok::Str(s) = tok else { return Err(self.throw("object key string", &tok, idx)) };
        let key = self.lua.create_string(&s)?;
        let (colon, cidx) = self.next();
        if !matches!(colon, Tok::Colon) {
            return Err(self.throw("colon", &colon, cidx));
        }
        Ok(key)
    }
}

/// glibc's `strtod` on the front of `s`: the value and the bytes it used, or
/// None when no number starts there. Takes a sign, decimal and hexadecimal
/// forms, `inf`/`infinity` and `nan`/`nan(chars)` in any case.
fn strtod(s: &[u8]) -> Option<(f64, usize)> {
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let mut i = 0;
    let neg = match at(0) {
        b'-' => {
            i = 1;
            true
        }
        b'+' => {
            i = 1;
            false
        }
        _ => false,
    };
    let sign = |v: f64| if neg { -v } else { v };
    let lower = |k: usize, n: usize| -> Vec<u8> { (k..k + n).map(|j| at(j).to_ascii_lowercase()).collect() };
    if lower(i, 3) == b"inf" {
        let used = if lower(i, 8) == b"infinity" { i + 8 } else { i + 3 };
        return Some((sign(f64::INFINITY), used));
    }
    if lower(i, 3) == b"nan" {
        let mut used = i + 3;
        let mut payload = None;
        if at(used) == b'(' {
            let mut j = used + 1;
            while at(j).is_ascii_alphanumeric() || at(j) == b'_' {
                j += 1;
            }
            if at(j) == b')' {
                payload = nan_payload(&s[used + 1..j]);
                used = j + 1;
            }
        }
        let bits = 0x7ff8_0000_0000_0000u64 | payload.unwrap_or(0) | if neg { 1 << 63 } else { 0 };
        return Some((f64::from_bits(bits), used));
    }
    if at(i) == b'0' && at(i + 1) | 0x20 == b'x' {
        if let Some((v, used)) = hex_float(s, i + 2) {
            return Some((sign(v), used));
        }
        // "0x" without hex digits: just the zero.
        return Some((sign(0.0), i + 1));
    }
    let int_start = i;
    while at(i).is_ascii_digit() {
        i += 1;
    }
    let int_digits = &s[int_start..i];
    let mut frac_digits: &[u8] = &[];
    if at(i) == b'.' {
        let f = i + 1;
        let mut j = f;
        while at(j).is_ascii_digit() {
            j += 1;
        }
        if int_digits.is_empty() && j == f {
            return None;
        }
        frac_digits = &s[f..j];
        i = j;
    } else if int_digits.is_empty() {
        return None;
    }
    let mut exp: &[u8] = b"0";
    let mut exp_neg = false;
    if at(i) | 0x20 == b'e' {
        let mut j = i + 1;
        let en = at(j) == b'-';
        if matches!(at(j), b'+' | b'-') {
            j += 1;
        }
        let d = j;
        while at(j).is_ascii_digit() {
            j += 1;
        }
        if j > d {
            exp = &s[d..j];
            exp_neg = en;
            i = j;
        }
    }
    // A canonical text Rust's (correctly rounded) parser takes.
    let mut text = String::with_capacity(int_digits.len() + frac_digits.len() + exp.len() + 4);
    text.push_str(if int_digits.is_empty() { "0" } else { std::str::from_utf8(int_digits).unwrap_or("0") });
    text.push('.');
    text.push_str(if frac_digits.is_empty() { "0" } else { std::str::from_utf8(frac_digits).unwrap_or("0") });
    text.push('e');
    if exp_neg {
        text.push('-');
    }
    // Huge exponents: keep them parseable (the result saturates anyway).
    let exp = std::str::from_utf8(exp).unwrap_or("0").trim_start_matches('0');
    text.push_str(if exp.is_empty() {
        "0"
    } else if exp.len() > 9 {
        "999999999"
    } else {
        exp
    });
    let v: f64 = text.parse().unwrap_or(0.0);
    Some((sign(v), i))
}

/// The payload glibc stores for `nan(chars)`: the chars as an integer
/// (base prefix allowed), in the mantissa below the quiet bit.
fn nan_payload(chars: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(chars).ok()?;
    let v = if let Some(h) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()?
    } else if text.len() > 1 && text.starts_with('0') {
        u64::from_str_radix(&text[1..], 8).ok()?
    } else {
        text.parse::<u64>().ok()?
    };
    Some(v & ((1 << 51) - 1))
}

/// A hexadecimal float after "0x" at `start`: hex digits, an optional
/// fraction and an optional binary exponent. None without any hex digit.
fn hex_float(s: &[u8], start: usize) -> Option<(f64, usize)> {
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let mut i = start;
    let mut mant: u64 = 0;
    let mut exp: i64 = 0;
    let mut sticky = false;
    let mut digits = 0;
    let mut seen_dot = false;
    loop {
        let c = at(i);
        if c == b'.' && !seen_dot {
            seen_dot = true;
            i += 1;
            continue;
        }
        let Some(d) = (c as char).to_digit(16) else { break };
        digits += 1;
        if mant >> 60 == 0 {
            mant = (mant << 4) | d as u64;
            if seen_dot {
                exp -= 4;
            }
        } else {
            // Past 60 bits: only whether anything is left matters.
            sticky |= d != 0;
            if !seen_dot {
                exp += 4;
            }
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    if at(i) | 0x20 == b'p' {
        let mut j = i + 1;
        let en = at(j) == b'-';
        if matches!(at(j), b'+' | b'-') {
            j += 1;
        }
        let d = j;
        let mut e: i64 = 0;
        while at(j).is_ascii_digit() {
            e = (e * 10 + (at(j) - b'0') as i64).min(1 << 40);
            j += 1;
        }
        if j > d {
            exp += if en { -e } else { e };
            i = j;
        }
    }
    if sticky {
        mant |= 1;
    }
    // Scale in steps so that intermediate powers of two stay finite.
    let mut v = mant as f64;
    let mut e = exp.clamp(-3000, 3000) as i32;
    while e > 1000 {
        v *= 2f64.powi(1000);
        e -= 1000;
    }
    while e < -1000 {
        v *= 2f64.powi(-1000);
        e += 1000;
    }
    Some((v * 2f64.powi(e), i))
}
