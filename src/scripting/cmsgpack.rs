//! The `cmsgpack` library Redis 7.0 gives scripts (lua-cmsgpack 0.4.0 as
//! Redis ships it): `pack`, `unpack`, `unpack_one`, `unpack_limit`, with the
//! same encodings (smallest integer form, float32 when exact, str8/16/32,
//! arrays for tables keyed 1..n, maps otherwise, nil past 16 nested tables)
//! and the same errors and stack limits.

use super::cjson::{arg_error, c_i32, c_i64, error_at, error_string, see_through, Args, MAX_CSTACK};
use mlua::{Lua, MultiValue, Table, Value};

/// Deeper tables are packed as nil (lua-cmsgpack's guard against cycles).
const MAX_NESTING: u32 = 16;

/// Installs `cmsgpack` as a global (before the globals are locked).
pub fn install(lua: &Lua) -> mlua::Result<()> {
    let t = lua.create_table()?;
    t.raw_set("pack", lua.create_function(|lua, args: MultiValue| pack(&Args::new(lua, args)))?)?;
    t.raw_set(
        "unpack",
        lua.create_function(|lua, args: MultiValue| {
            let a = Args::new(lua, args);
            unpack_full(&a, 0, 0)
        })?,
    )?;
    t.raw_set(
        "unpack_one",
        lua.create_function(|lua, args: MultiValue| {
            let a = Args::new(lua, args);
            let offset = a.opt_integer(2, 0)?;
            unpack_full(&a, 1, offset)
        })?,
    )?;
    t.raw_set(
        "unpack_limit",
        lua.create_function(|lua, args: MultiValue| {
            let a = Args::new(lua, args);
            let limit = a.check_integer(2)?;
            let offset = a.opt_integer(3, 0)?;
            unpack_full(&a, limit, offset)
        })?,
    )?;
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    t.raw_set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    t.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    lua.globals().raw_set("cmsgpack", t)
}

// --- packing ---------------------------------------------------------------

/// Packs every argument, one after the other.
fn pack(a: &Args) -> mlua::Result<Value> {
    let n = a.len();
    if n == 0 {
        return Err(arg_error(a.lua, 0, "MessagePack pack needs input."));
    }
    if n > MAX_CSTACK || n + n > MAX_CSTACK {
        return Err(arg_error(a.lua, 0, "Too many arguments for MessagePack pack."));
    }
    let mut out = Vec::new();
    for (i, v) in a.v.iter().enumerate() {
        // The arguments, the strings packed so far, then this value.
        encode(a.lua, &mut out, v, 0, n + i + 1)?;
    }
    Ok(Value::String(a.lua.create_string(&out)?))
}

fn stack_check(lua: &Lua, top: usize, need: usize, what: &str) -> mlua::Result<()> {
    if top + need > MAX_CSTACK {
        return Err(error_at(lua, format!("stack overflow ({what})")));
    }
    Ok(())
}

/// Packs `v`; `top` counts the Lua stack slots lua-cmsgpack would use with
/// `v` on top.
fn encode(lua: &Lua, out: &mut Vec<u8>, v: &Value, level: u32, top: usize) -> mlua::Result<()> {
    match v {
        Value::Table(_) if level == MAX_NESTING => out.push(0xc0),
        Value::String(s) => encode_bytes(out, &s.as_bytes()),
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(i) => encode_int(out, *i),
        Value::Number(n) => {
            let i = c_i64(*n);
            if !n.is_infinite() && i as f64 == *n {
                encode_int(out, i);
            } else {
                encode_double(out, *n);
            }
        }
        Value::Table(t) => {
            let t = &see_through(t.clone());
            stack_check(lua, top, 2, "in function table_is_an_array")?;
            let (array, count) = shape(t)?;
            if array {
                let len = t.raw_len();
                encode_len(out, len as u64, 0x90, 0xdc, 0xdd);
                stack_check(lua, top, 1, "in function mp_encode_lua_table_as_array")?;
                // Elements are read with lua_gettable: through __index when
                // the table has a metatable.
                let meta = t.metatable().is_some();
                for j in 1..=len {
                    let item: Value = if meta { t.get(j)? } else { t.raw_get(j)? };
                    encode(lua, out, &item, level + 1, top + 1)?;
                }
            } else {
                stack_check(lua, top, 3, "in function mp_encode_lua_table_as_map")?;
                encode_len(out, count, 0x80, 0xde, 0xdf);
                t.for_each(|k: Value, v: Value| {
                    // lua_next's key and value, and a copy of the key on top.
                    encode(lua, out, &k, level + 1, top + 3)?;
                    encode(lua, out, &v, level + 1, top + 2)
                })?;
            }
        }
        _ => out.push(0xc0),
    }
    Ok(())
}

/// Whether the keys are exactly 1..n (an empty table counts as an array),
/// and how many pairs the table has.
fn shape(t: &Table) -> mlua::Result<(bool, u64)> {
    let mut count: i32 = 0;
    let mut max: i32 = 0;
    let mut array = true;
    let mut pairs: u64 = 0;
    t.for_each(|k: Value, _: Value| {
        pairs += 1;
        if !array {
            return Ok(());
        }
        let n = match k {
            Value::Integer(i) => i as f64,
            Value::Number(n) => n,
            _ => {
                array = false;
                return Ok(());
            }
        };
        if n <= 0.0 || n.is_infinite() || c_i32(n) as f64 != n {
            array = false;
            return Ok(());
        }
        if n > max as f64 {
            max = c_i32(n);
        }
        count = count.wrapping_add(1);
        Ok(())
    })?;
    Ok((array && max == count, pairs))
}

fn encode_bytes(out: &mut Vec<u8>, s: &[u8]) {
    let len = s.len();
    if len < 32 {
        out.push(0xa0 | len as u8);
    } else if len <= 0xff {
        out.extend_from_slice(&[0xd9, len as u8]);
    } else if len <= 0xffff {
        out.push(0xda);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
    out.extend_from_slice(s);
}

fn encode_int(out: &mut Vec<u8>, n: i64) {
    if n >= 0 {
        if n <= 127 {
            out.push(n as u8);
        } else if n <= 0xff {
            out.extend_from_slice(&[0xcc, n as u8]);
        } else if n <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2147483648 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// A float32 when the value survives the round trip, else a float64.
fn encode_double(out: &mut Vec<u8>, d: f64) {
    let f = d as f32;
    if f as f64 == d {
        out.push(0xca);
        out.extend_from_slice(&f.to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&d.to_be_bytes());
    }
}

/// An array or map header: the fix form, 16-bit or 32-bit length.
fn encode_len(out: &mut Vec<u8>, n: u64, fix: u8, b16: u8, b32: u8) {
    if n <= 15 {
        out.push(fix | n as u8);
    } else if n <= 0xffff {
        out.push(b16);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(b32);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

// --- unpacking -------------------------------------------------------------

/// Unpacks up to `limit` values from `offset` (all of them when both are 0,
/// else with the next offset, or -1 at the end, first).
fn unpack_full(a: &Args, limit: i64, offset: i64) -> mlua::Result<MultiValue> {
    let lua = a.lua;
    let s = a.check_string(1)?;
    let data = s.as_bytes();
    let len = data.len();
    let decode_all = limit == 0 && offset == 0;
    if offset < 0 || limit < 0 {
        return Err(error_at(
            lua,
            format!("Invalid request to unpack with offset of {} and limit of {}.", offset as i32, len as i32),
        ));
    }
    if offset as u64 > len as u64 {
        return Err(error_at(lua, format!("Start offset {} greater than input length {}.", offset as i32, len as i32)));
    }
    let limit = if decode_all { i32::MAX as i64 } else { limit };
    let mut cur = Cursor { d: &data[offset as usize..], pos: 0 };
    let mut out: Vec<Value> = Vec::new();
    while cur.left() > 0 && (out.len() as i64) < limit {
        // The input string, then the values unpacked so far.
        match decode(lua, &mut cur, 1 + out.len()) {
            Ok(v) => out.push(v),
            Err(Fail::Eof) => return Err(error_at(lua, "Missing bytes in input.")),
            Err(Fail::BadFormat) => return Err(error_at(lua, "Bad data format in input.")),
            Err(Fail::Lua(e)) => return Err(e),
        }
    }
    if !decode_all {
        stack_check(lua, 1 + out.len(), 1, "in function mp_unpack_full")?;
        let next = if cur.left() == 0 { -1 } else { (len - cur.left()) as i64 };
        out.insert(0, Value::Integer(next));
    }
    Ok(MultiValue::from_iter(out))
}

enum Fail {
    Eof,
    BadFormat,
    Lua(mlua::Error),
}

impl From<mlua::Error> for Fail {
    fn from(e: mlua::Error) -> Self {
        Fail::Lua(e)
    }
}

struct Cursor<'a> {
    d: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn left(&self) -> usize {
        self.d.len() - self.pos
    }

    fn need(&self, n: usize) -> Result<(), Fail> {
        if self.left() < n {
            Err(Fail::Eof)
        } else {
            Ok(())
        }
    }

    /// `n` bytes after the type byte, as a big-endian number; consumes both.
    fn uint(&mut self, n: usize) -> Result<u64, Fail> {
        self.need(1 + n)?;
        let v = self.d[self.pos + 1..self.pos + 1 + n].iter().fold(0u64, |acc, &b| (acc << 8) | b as u64);
        self.pos += 1 + n;
        Ok(v)
    }

    /// A string of `len` bytes after `hdr` header bytes.
    fn bytes(&mut self, hdr: usize, len: u64) -> Result<&[u8], Fail> {
        self.pos += hdr;
        if (self.left() as u64) < len {
            return Err(Fail::Eof);
        }
        let s = &self.d[self.pos..self.pos + len as usize];
        self.pos += len as usize;
        Ok(s)
    }
}

/// A table being filled: elements left, the next index (arrays) or
/// whether its key is waiting (maps), and the stack slots in use below it.
struct Open {
    map: bool,
    left: u64,
    next: i64,
    has_key: bool,
    top: usize,
}

/// One value. The innermost open table (and a map's pending key) is held
/// here; the ones around it wait in Lua tables (`tables[d]`, `keys[d]`)
/// rather than in Lua handles, so that thousands of levels fit. `top`
/// counts the Lua stack slots in use before the value is pushed.
fn decode(lua: &Lua, c: &mut Cursor, mut top: usize) -> Result<Value, Fail> {
    let mut open: Vec<Open> = Vec::new();
    let mut work: Option<(Table, Table)> = None;
    let mut cur: Option<(Table, Value)> = None;
    loop {
        c.need(1)?;
        if top + 1 > MAX_CSTACK {
            return Err(Fail::Lua(error_at(
                lua,
                "stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)",
            )));
        }
        let b = c.d[c.pos];
        let num = |x: f64| Value::Number(x);
        let container = match b {
            0xdc => Some((false, c.uint(2)?)),
            0xdd => Some((false, c.uint(4)?)),
            0xde => Some((true, c.uint(2)?)),
            0xdf => Some((true, c.uint(4)?)),
            0x80..=0x9f => {
                c.pos += 1;
                Some((b < 0x90, (b & 0xf) as u64))
            }
            _ => None,
        };
        let mut v = if let Some((map, len)) = container {
            let t = lua.create_table()?;
            let ttop = top + 1;
            if !map && ttop + 1 > MAX_CSTACK {
                return Err(Fail::Lua(error_at(lua, "stack overflow (in function mp_decode_to_lua_array)")));
            }
            if len > 0 {
                // The table around this one moves to the work tables.
                if let Some((pt, pk)) = cur.take() {
                    if work.is_none() {
                        work = Some((lua.create_table()?, lua.create_table()?));
                    }
                    if let Some((tables, keys)) = &work {
                        tables.raw_set(open.len(), pt)?;
                        keys.raw_set(open.len(), pk)?;
                    }
                }
                cur = Some((t, Value::Nil));
                open.push(Open { map, left: len, next: 1, has_key: false, top: ttop });
                // Arrays push the index before each element.
                top = if map { ttop } else { ttop + 1 };
                continue;
            }
            Value::Table(t)
        } else {
            match b {
                0xcc => num(c.uint(1)? as f64),
                0xcd => num(c.uint(2)? as f64),
                0xce => num(c.uint(4)? as f64),
                // lua-cmsgpack pushes uint64 through a signed integer.
                0xcf => num(c.uint(8)? as i64 as f64),
                0xd0 => num(c.uint(1)? as u8 as i8 as f64),
                0xd1 => num(c.uint(2)? as u16 as i16 as f64),
                0xd2 => num(c.uint(4)? as u32 as i32 as f64),
                0xd3 => num(c.uint(8)? as i64 as f64),
                0xc0 => {
                    c.pos += 1;
                    Value::Nil
                }
                0xc2 | 0xc3 => {
                    c.pos += 1;
                    Value::Boolean(b == 0xc3)
                }
                0xca => num(f32::from_bits(c.uint(4)? as u32) as f64),
                0xcb => num(f64::from_bits(c.uint(8)?)),
                0xd9..=0xdb => {
                    let n = match b {
                        0xd9 => 1,
                        0xda => 2,
                        _ => 4,
                    };
                    c.need(1 + n)?;
                    let len = c.d[c.pos + 1..c.pos + 1 + n].iter().fold(0u64, |acc, &x| (acc << 8) | x as u64);
                    Value::String(lua.create_string(c.bytes(1 + n, len)?)?)
                }
                0x00..=0x7f => {
                    c.pos += 1;
                    num(b as f64)
                }
                0xe0..=0xff => {
                    c.pos += 1;
                    num(b as i8 as f64)
                }
                0xa0..=0xbf => Value::String(lua.create_string(c.bytes(1, (b & 0x1f) as u64)?)?),
                _ => return Err(Fail::BadFormat),
            }
        };
        // Store the finished value; close the tables it completes.
        loop {
            let (Some(o), Some((t, key))) = (open.last_mut(), cur.as_mut()) else { return Ok(v) };
            if o.map && !o.has_key {
                // That was the key: the value comes next, above it.
                *key = v;
                o.has_key = true;
                top = o.top + 1;
                break;
            }
            if o.map {
                let k = std::mem::replace(key, Value::Nil);
                match &k {
                    Value::Nil => return Err(Fail::Lua(error_string(b"table index is nil"))),
                    Value::Number(n) if n.is_nan() => return Err(Fail::Lua(error_string(b"table index is NaN"))),
                    _ => {}
                }
                t.raw_set(k, v)?;
                o.has_key = false;
            } else {
                t.raw_set(o.next, v)?;
                o.next += 1;
            }
            o.left -= 1;
            if o.left > 0 {
                top = if o.map { o.top } else { o.top + 1 };
                break;
            }
            let Some((t, _)) = cur.take() else { return Ok(Value::Nil) };
            open.pop();
            v = Value::Table(t);
            // Bring the enclosing table back.
            let depth = open.len();
            if let (true, Some((tables, keys))) = (depth > 0, &work) {
                let pt: Table = tables.raw_get(depth)?;
                let pk: Value = keys.raw_get(depth)?;
                tables.raw_set(depth, Value::Nil)?;
                keys.raw_set(depth, Value::Nil)?;
                cur = Some((pt, pk));
            }
        }
    }
}
