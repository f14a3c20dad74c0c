//! `redis.call` and `redis.pcall` over Lua's C API: the command's arguments
//! are read straight from the Lua stack and its reply is pushed straight onto
//! it, as Redis's own `luaRedisGenericCommand` does. mlua's value handles
//! (a registry slot per argument and per reply value) cost more than a small
//! command itself, so this one hot path does without them.
//!
//! The same C function serves both, as two closures: `redis.call` raises
//! the `{err=...}` table when the command failed, `redis.pcall` returns it.
//! (A Lua wrapper would not do: `return redis.call(...)` is a tail call,
//! which would drop the script's frame that error positions come from.)
//!
//! Lua reports errors by `longjmp`, which must not cross Rust frames that
//! have something to drop. The function works in two phases: the first
//! (reading the arguments, running the command) calls no Lua function that
//! can raise, owns its values, and catches panics; the second pushes the
//! reply and raises the error, both of which may `longjmp`, from frames that
//! own nothing.

use super::convert::Runner;
use super::ActiveRunner;
use bytes::Bytes;
use mlua::{ffi, Function, Lua, Table};
use std::ffi::{c_int, c_void};
use std::sync::Arc;

/// Deepest reply nesting converted (deeper values become nil), as Lua's
/// stack has to hold one table per level.
const MAX_DEPTH: usize = 1000;

/// Installs `redis.call` and `redis.pcall`, bound to `active`.
pub fn install(lua: &Lua, redis: &Table, active: &Arc<ActiveRunner>) -> mlua::Result<()> {
    // The state keeps a reference, so the slot outlives every call of the
    // function below (which can only run while the state exists).
    lua.set_app_data(active.clone());
    let slot = Arc::as_ptr(active) as *mut c_void;
    for (name, raise) in [("call", true), ("pcall", false)] {
        // SAFETY: `exec_raw` runs the closure in protected mode on a stack
        // with room for 3 more values; it pushes a light userdata and a
        // boolean and turns them into the upvalues of a C closure, leaving
        // exactly the one function it returns.
        let f: Function = unsafe {
            lua.exec_raw((), |l| {
                ffi::lua_pushlightuserdata(l, slot);
                ffi::lua_pushboolean(l, raise as c_int);
                ffi::lua_pushcclosure(l, raw_call, 2);
            })
        }?;
        redis.raw_set(name, f)?;
    }
    Ok(())
}

/// What the first phase leaves for the second: plain data only.
#[derive(Clone, Copy)]
enum Outcome {
    /// The command ran; its reply (RESP `resp`) is `len` bytes at `ptr`, in
    /// the runner's scratch buffer, untouched until the next command.
    Reply { ptr: *const u8, len: usize, resp: u8 },
    /// Refused before running, with this error text.
    Refused(&'static str),
}

/// The C function behind `redis.call`/`redis.pcall`: returns the reply, or
/// raises it when the command failed and upvalue 2 is true.
///
/// # Safety
/// Called by Lua only, as a closure made in `install`, whose upvalue 1 is a
/// pointer to the `ActiveRunner` that the state keeps alive.
unsafe extern "C-unwind" fn raw_call(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: upvalue 1 is the light userdata set in `install`, pointing to
    // an `ActiveRunner` kept alive by the state's app data.
    let slot = unsafe { &*(ffi::lua_touserdata(l, ffi::lua_upvalueindex(1)) as *const ActiveRunner) };
    let outcome = {
        // SAFETY: `l` is the running state (see `read_args`).
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe { run(l, slot) }));
        match run {
            Ok(o) => o,
            Err(_) => Outcome::Refused("ERR internal error while running the command from script"),
        }
    };
    // Phase two: nothing owned from here on.
    // SAFETY: `l` is the running state; each push below is preceded by a
    // stack check, and the reply bytes are live (see `Outcome::Reply`).
    unsafe {
        if ffi::lua_checkstack(l, 4) == 0 {
            return 0;
        }
        let failed = match outcome {
            Outcome::Refused(msg) => {
                push_field_table(l, c"err", msg.as_bytes());
                true
            }
            Outcome::Reply { ptr, len, resp } => {
                let buf = std::slice::from_raw_parts(ptr, len);
                let mut pos = 0;
                push_reply(l, buf, &mut pos, resp, 0);
                matches!(buf.first(), Some(b'-' | b'!'))
            }
        };
        if failed && ffi::lua_toboolean(l, ffi::lua_upvalueindex(2)) != 0 {
            // Raises the {err=...} table on top; nothing here needs dropping.
            ffi::lua_error(l);
        }
    }
    1
}

/// Phase one: reads the arguments and runs the command.
///
/// # Safety
/// `l` must be the state running the script, inside a call of `raw_call`.
unsafe fn run(l: *mut ffi::lua_State, slot: &ActiveRunner) -> Outcome {
    // SAFETY: by the contract.
    let argv = match unsafe { read_args(l) } {
        Ok(a) => a,
        Err(msg) => return Outcome::Refused(msg),
    };
    if argv.is_empty() {
        return Outcome::Refused(super::NO_ARGS);
    }
    let done = slot.with_runner(|r: &mut Runner<'_, '_>| match r.dispatch(&argv) {
        Ok(()) => {
            let reply = r.reply();
            Outcome::Reply { ptr: reply.as_ptr(), len: reply.len(), resp: r.resp }
        }
        Err(msg) => Outcome::Refused(msg),
    });
    done.unwrap_or(Outcome::Refused(super::NO_ARGS))
}

/// The call's arguments: strings as they are, numbers formatted with 17
/// significant digits as Redis does (not Lua's lossy `%.14g`), anything
/// else refused.
///
/// # Safety
/// `l` must be a live state whose current function's arguments are on the
/// stack. Only functions that cannot raise are used.
unsafe fn read_args(l: *mut ffi::lua_State) -> Result<Vec<Bytes>, &'static str> {
    // SAFETY: reading types, strings and numbers of stack slots 1..=top
    // neither allocates nor raises; a string's bytes stay valid while it is
    // on the stack, and are copied at once.
    unsafe {
        let n = ffi::lua_gettop(l);
        let mut argv = Vec::with_capacity(n.max(0) as usize);
        for i in 1..=n {
            match ffi::lua_type(l, i) {
                ffi::LUA_TSTRING => {
                    let mut len = 0usize;
                    let p = ffi::lua_tolstring(l, i, &mut len);
                    argv.push(Bytes::copy_from_slice(std::slice::from_raw_parts(p as *const u8, len)));
                }
                ffi::LUA_TNUMBER => argv.push(Bytes::from(number_text(ffi::lua_tonumber(l, i)))),
                _ => return Err("ERR Lua redis lib command arguments must be strings or integers"),
            }
        }
        Ok(argv)
    }
}

/// A number argument as Redis turns it into a string ("%.17g").
fn number_text(n: f64) -> Vec<u8> {
    let mut buf = [0u8; 64];
    // SAFETY: the format takes one double; snprintf writes at most
    // `buf.len()` bytes including the terminating NUL.
    let len = unsafe { libc::snprintf(buf.as_mut_ptr().cast(), buf.len(), c"%.17g".as_ptr(), n) };
    buf[..(len.max(0) as usize).min(buf.len() - 1)].to_vec()
}

/// Pushes a table with one string field: `{[name] = value}`.
///
/// # Safety
/// `l` must be a live state with room for 2 more values; may raise (memory).
unsafe fn push_field_table(l: *mut ffi::lua_State, name: &std::ffi::CStr, value: &[u8]) {
    // SAFETY: by the contract; the table is at -2 when the field is set.
    unsafe {
        ffi::lua_createtable(l, 0, 1);
        ffi::lua_pushlstring(l, value.as_ptr().cast(), value.len());
        ffi::lua_setfield(l, -2, name.as_ptr());
    }
}

/// The line at `pos` (without its CRLF), moving past it.
fn line<'b>(buf: &'b [u8], pos: &mut usize) -> &'b [u8] {
    let rest = buf.get(*pos..).unwrap_or(&[]);
    let end = rest.windows(2).position(|w| w == b"\r\n").unwrap_or(rest.len());
    *pos += (end + 2).min(rest.len());
    &rest[..end]
}

fn num(l: &[u8]) -> i64 {
    crate::util::parse_i64(l).unwrap_or(0)
}

/// Pushes the reply at `pos` as a Lua value, with Redis's conversions
/// (see `convert.rs`); skips it and pushes nil past `MAX_DEPTH` levels or
/// when Lua's stack cannot grow.
///
/// # Safety
/// `l` must be a live state with room for 1 more value; may raise (memory).
/// The frames of this recursion own nothing.
unsafe fn push_reply(l: *mut ffi::lua_State, buf: &[u8], pos: &mut usize, resp: u8, depth: usize) {
    // SAFETY: by the contract; every push is within the room checked here
    // (3 values: a table, a key and a value), and tables are at the index
    // the comments give when they are filled.
    unsafe {
        if depth > MAX_DEPTH || ffi::lua_checkstack(l, 3) == 0 {
            skip_reply(buf, pos);
            ffi::lua_pushnil(l);
            return;
        }
        let Some(&kind) = buf.get(*pos) else {
            ffi::lua_pushnil(l);
            return;
        };
        *pos += 1;
        let head = line(buf, pos);
        let absent = |l| {
            if resp >= 3 {
                ffi::lua_pushnil(l)
            } else {
                ffi::lua_pushboolean(l, 0)
            }
        };
        match kind {
            b':' => ffi::lua_pushinteger(l, num(head) as ffi::lua_Integer),
            b'+' => push_field_table(l, c"ok", head),
            b'-' => push_field_table(l, c"err", head),
            b'(' => push_field_table(l, c"big_number", head),
            b'$' | b'=' | b'!' => {
                let n = num(head);
                if n < 0 {
                    absent(l);
                    return;
                }
                let data = buf.get(*pos..*pos + n as usize).unwrap_or(&[]);
                *pos += n as usize + 2;
                match kind {
                    b'!' => push_field_table(l, c"err", data),
                    b'=' => {
                        let (fmt, text) = if data.len() >= 4 { (&data[..3], &data[4..]) } else { (&b"txt"[..], data) };
                        ffi::lua_createtable(l, 0, 1);
                        ffi::lua_createtable(l, 0, 2);
                        ffi::lua_pushlstring(l, fmt.as_ptr().cast(), fmt.len());
                        ffi::lua_setfield(l, -2, c"format".as_ptr());
                        ffi::lua_pushlstring(l, text.as_ptr().cast(), text.len());
                        ffi::lua_setfield(l, -2, c"string".as_ptr());
                        ffi::lua_setfield(l, -2, c"verbatim_string".as_ptr());
                    }
                    _ => {
                        ffi::lua_pushlstring(l, data.as_ptr().cast(), data.len());
                    }
                }
            }
            b'*' | b'>' => {
                let n = num(head);
                if n < 0 {
                    absent(l);
                    return;
                }
                ffi::lua_createtable(l, n.min(1 << 20) as c_int, 0);
                for i in 0..n {
                    push_reply(l, buf, pos, resp, depth + 1);
                    // The array is at -2, the element on top.
                    ffi::lua_rawseti(l, -2, i + 1);
                }
            }
            b'~' | b'%' => {
                let n = num(head);
                if n < 0 {
                    absent(l);
                    return;
                }
                ffi::lua_createtable(l, 0, 1);
                ffi::lua_createtable(l, 0, n.min(1 << 20) as c_int);
                for _ in 0..n {
                    push_reply(l, buf, pos, resp, depth + 1);
                    if kind == b'~' {
                        ffi::lua_pushboolean(l, 1);
                    } else {
                        push_reply(l, buf, pos, resp, depth + 1);
                    }
                    // The inner table is at -3, key and value above it. A
                    // nil key (a reply too deep) cannot be a table key.
                    if ffi::lua_type(l, -2) == ffi::LUA_TNIL {
                        ffi::lua_settop(l, -3);
                    } else {
                        ffi::lua_rawset(l, -3);
                    }
                }
                let field = if kind == b'~' { c"set" } else { c"map" };
                ffi::lua_setfield(l, -2, field.as_ptr());
            }
            b'_' => ffi::lua_pushnil(l),
            b'#' => ffi::lua_pushboolean(l, (head.first() == Some(&b't')) as c_int),
            b',' => {
                let d = match head {
                    b"inf" => f64::INFINITY,
                    b"-inf" => f64::NEG_INFINITY,
                    other => std::str::from_utf8(other).ok().and_then(|s| s.parse().ok()).unwrap_or(f64::NAN),
                };
                ffi::lua_createtable(l, 0, 1);
                ffi::lua_pushnumber(l, d);
                ffi::lua_setfield(l, -2, c"double".as_ptr());
            }
            _ => ffi::lua_pushnil(l),
        }
    }
}

/// Moves `pos` past the reply there.
fn skip_reply(buf: &[u8], pos: &mut usize) {
    let Some(&kind) = buf.get(*pos) else { return };
    *pos += 1;
    let n = num(line(buf, pos));
    match kind {
        b'$' | b'=' | b'!' if n >= 0 => *pos += n as usize + 2,
        b'*' | b'>' | b'~' => (0..n).for_each(|_| skip_reply(buf, pos)),
        b'%' => (0..2 * n).for_each(|_| skip_reply(buf, pos)),
        _ => {}
    }
}
