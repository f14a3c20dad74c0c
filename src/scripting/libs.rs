//! The libraries Redis adds to Lua, written in Rust: `bit` (LuaBitOp's
//! semantics: 32-bit operations on numbers) and the Rust-backed parts of the
//! `redis` table (`sha1hex`, `log`); `cjson`, `struct` and `cmsgpack` live in
//! their own files and are installed from here.

use mlua::{Lua, Value, Variadic};

/// A number as LuaBitOp reads it: wrapped to a signed 32-bit integer.
fn tobit(v: f64) -> i32 {
    if !v.is_finite() {
        return 0;
    }
    // LuaBitOp adds 2^52+2^51 and takes the low 32 bits: round to nearest, wrap.
    let r = v.round_ties_even();
    (r.rem_euclid(4294967296.0) as u64 as u32) as i32
}

fn arg(args: &Variadic<f64>, i: usize) -> mlua::Result<i32> {
    args.get(i)
        .map(|v| tobit(*v))
        .ok_or_else(|| mlua::Error::RuntimeError(format!("bad argument #{} (number expected, got no value)", i + 1)))
}

/// Installs `bit`, `cjson`, `struct` and `cmsgpack` as globals (before the
/// globals are locked).
pub fn install(lua: &Lua) -> mlua::Result<()> {
    let bit = lua.create_table()?;
    bit.set("tobit", lua.create_function(|_, v: f64| Ok(tobit(v)))?)?;
    bit.set("bnot", lua.create_function(|_, v: f64| Ok(!tobit(v)))?)?;
    let fold = |op: fn(i32, i32) -> i32| {
        move |_: &Lua, args: Variadic<f64>| -> mlua::Result<i32> {
            let mut acc = arg(&args, 0)?;
            for v in args.iter().skip(1) {
                acc = op(acc, tobit(*v));
            }
            Ok(acc)
        }
    };
    bit.set("band", lua.create_function(fold(|a, b| a & b))?)?;
    bit.set("bor", lua.create_function(fold(|a, b| a | b))?)?;
    bit.set("bxor", lua.create_function(fold(|a, b| a ^ b))?)?;
    let shift = |op: fn(i32, u32) -> i32| {
        move |_: &Lua, args: Variadic<f64>| -> mlua::Result<i32> {
            let a = arg(&args, 0)?;
            let n = (arg(&args, 1)? & 31) as u32;
            Ok(op(a, n))
        }
    };
    bit.set("lshift", lua.create_function(shift(|a, n| ((a as u32) << n) as i32))?)?;
    bit.set("rshift", lua.create_function(shift(|a, n| ((a as u32) >> n) as i32))?)?;
    bit.set("arshift", lua.create_function(shift(|a, n| a >> n))?)?;
    bit.set("rol", lua.create_function(shift(|a, n| (a as u32).rotate_left(n) as i32))?)?;
    bit.set("ror", lua.create_function(shift(|a, n| (a as u32).rotate_right(n) as i32))?)?;
    bit.set("bswap", lua.create_function(|_, v: f64| Ok((tobit(v) as u32).swap_bytes() as i32))?)?;
    bit.set(
        "tohex",
        lua.create_function(|_, (v, n): (f64, Option<f64>)| {
            let mut n = n.map(tobit).unwrap_or(8);
            let upper = n < 0;
            if upper {
                n = n.wrapping_neg();
            }
            let n = n.clamp(1, 8) as usize;
            let x = tobit(v) as u32;
            let s = if upper { format!("{x:08X}") } else { format!("{x:08x}") };
            Ok(s[8 - n..].to_string())
        })?,
    )?;
    lua.globals().raw_set("bit", bit)?;
    super::cjson::install(lua)?;
    super::structlib::install(lua)?;
    super::cmsgpack::install(lua)?;
    Ok(())
}

/// `redis.sha1hex` and `redis.log`, installed as globals `__sha1hex` and
/// `__log` that bootstrap.lua moves into the `redis` table.
pub fn install_redis_functions(lua: &Lua) -> mlua::Result<()> {
    let redis = lua.globals();
    redis.raw_set(
        "__sha1hex",
        lua.create_function(|_, args: Variadic<Value>| {
            if args.len() != 1 {
                return Err(super::raise("ERR wrong number of arguments"));
            }
            let bytes: Vec<u8> = match &args[0] {
                Value::String(s) => s.as_bytes().to_vec(),
                Value::Integer(n) => n.to_string().into_bytes(),
                Value::Number(n) => crate::util::fmt_g(*n, 14).into_bytes(),
                _ => Vec::new(),
            };
            Ok(super::sha1_hex(&bytes))
        })?,
    )?;
    redis.raw_set(
        "__log",
        lua.create_function(|_, args: Variadic<Value>| {
            if args.len() < 2 {
                return Err(super::raise("ERR redis.log() requires two arguments or more."));
            }
            let level = match &args[0] {
                Value::Integer(n) => *n,
                Value::Number(n) => *n as i64,
                _ => return Err(super::raise("ERR First argument must be a number (log level).")),
            };
            if !(0..=3).contains(&level) {
                return Err(super::raise("ERR Invalid debug level."));
            }
            let mut line = String::new();
            for (i, v) in args.iter().skip(1).enumerate() {
                if i > 0 {
                    line.push(' ');
                }
                match v {
                    Value::String(s) => line.push_str(&String::from_utf8_lossy(&s.as_bytes())),
                    Value::Integer(n) => line.push_str(&n.to_string()),
                    Value::Number(n) => line.push_str(&crate::util::fmt_g(*n, 14)),
                    _ => {}
                }
            }
            match level {
                0 | 1 => crate::log::verbose(&line),
                2 => crate::log::notice(&line),
                _ => crate::log::warning(&line),
            }
            Ok(())
        })?,
    )?;
    Ok(())
}
