//! The `struct` library Redis 7.0 gives scripts (Roberto Ierusalimschy's
//! struct 0.2 with Redis's fixes): `pack`, `unpack` and `size` over format
//! strings of `b B h H i[n] I[n] l L T f d s c[n] x`, endianness `< > !`,
//! with the same byte layouts, alignment rules, limits and error texts.

use super::cjson::{arg_error, c_i64, c_u64, error_at, to_number, Args, MAX_CSTACK};
use mlua::{Lua, MultiValue, Value};

/// Largest size of an `i`/`I` integer.
const MAX_INT_SIZE: i64 = 32;
/// Default alignment for `!` (that of a double on x86-64).
const MAX_ALIGN: i64 = 8;

/// Installs `struct` as a global (before the globals are locked).
pub fn install(lua: &Lua) -> mlua::Result<()> {
    // luaL_register sizes the table for its three functions.
    let t = lua.create_table_with_capacity(0, 3)?;
    t.raw_set("pack", lua.create_function(|lua, args: MultiValue| pack(Args::new(lua, args)))?)?;
    t.raw_set("unpack", lua.create_function(|lua, args: MultiValue| unpack(Args::new(lua, args)))?)?;
    t.raw_set("size", lua.create_function(|lua, args: MultiValue| size(Args::new(lua, args)))?)?;
    lua.globals().raw_set("struct", t)
}

/// Byte order and maximum alignment in effect.
struct Header {
    little: bool,
    align: u64,
}

impl Header {
    fn new() -> Self {
        Header { little: true, align: 1 }
    }
}

/// The format string as C reads it (up to its first NUL), with a cursor.
struct Format {
    f: Vec<u8>,
    i: usize,
}

impl Format {
    fn new(a: &Args) -> mlua::Result<Format> {
        let s = a.check_string(1)?;
        let b = s.as_bytes();
        let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
        Ok(Format { f: b[..end].to_vec(), i: 0 })
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.f.get(self.i).copied()?;
        self.i += 1;
        Some(c)
    }

    /// A decimal count after an option, or `df` when none follows.
    fn num(&mut self, lua: &Lua, df: i64) -> mlua::Result<i64> {
        if !self.f.get(self.i).is_some_and(u8::is_ascii_digit) {
            return Ok(df);
        }
        let mut a: i64 = 0;
        while let Some(d) = self.f.get(self.i).filter(|c| c.is_ascii_digit()) {
            let d = (d - b'0') as i64;
            if a > i32::MAX as i64 / 10 || a * 10 > i32::MAX as i64 - d {
                return Err(error_at(lua, "integral size overflow"));
            }
            a = a * 10 + d;
            self.i += 1;
        }
        Ok(a)
    }

    /// The size of option `opt` (0 for options without data or alignment).
    fn size(&mut self, lua: &Lua, opt: u8) -> mlua::Result<u64> {
        Ok(match opt {
            b'B' | b'b' | b'x' => 1,
            b'H' | b'h' => 2,
            b'L' | b'l' | b'T' | b'd' => 8,
            b'f' => 4,
            b'c' => self.num(lua, 1)? as u64,
            b'i' | b'I' => {
                let sz = self.num(lua, 4)?;
                if sz > MAX_INT_SIZE {
                    return Err(error_at(lua, format!("integral size {sz} is larger than limit of {MAX_INT_SIZE}")));
                }
                sz as u64
            }
            _ => 0,
        })
    }

    /// Endianness, alignment and spaces; anything else is an invalid option.
    fn control(&mut self, lua: &Lua, opt: u8, h: &mut Header) -> mlua::Result<()> {
        match opt {
            b' ' => {}
            b'>' => h.little = false,
            b'<' => h.little = true,
            b'!' => {
                let a = self.num(lua, MAX_ALIGN)?;
                if a <= 0 || a & (a - 1) != 0 {
                    return Err(error_at(lua, format!("alignment {a} is not a power of 2")));
                }
                h.align = a as u64;
            }
            _ => {
                let mut msg = b"invalid format option '".to_vec();
                msg.push(opt);
                msg.push(b'\'');
                return Err(arg_error(lua, 1, msg));
            }
        }
        Ok(())
    }
}

/// Padding before an item of `size` bytes at offset `len`.
fn to_align(len: u64, h: &Header, opt: u8, size: u64) -> u64 {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    size.wrapping_sub(len & (size - 1)) & (size - 1)
}

fn is_int_option(opt: u8) -> bool {
    matches!(opt, b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I')
}

fn pack(mut a: Args) -> mlua::Result<Value> {
    let lua = a.lua;
    let mut fmt = Format::new(&a)?;
    // struct.pack pushes a nil to mark the end of its arguments: reading one
    // past them finds that nil.
    a.v.push(Value::Nil);
    let mut h = Header::new();
    let mut arg = 2;
    let mut out: Vec<u8> = Vec::new();
    let mut total: u64 = 0;
    while let Some(opt) = fmt.next() {
        let mut size = fmt.size(lua, opt)?;
        let pad = to_align(total, &h, opt, size);
        total += pad;
        out.resize(out.len() + pad as usize, 0);
        match opt {
            _ if is_int_option(opt) => {
                let n = a.check_number(arg)?;
                arg += 1;
                let mut value = if n < 0.0 { c_i64(n) as u64 } else { c_u64(n) };
                let mut bytes = vec![0u8; size as usize];
                for k in 0..size as usize {
                    let slot = if h.little { k } else { size as usize - 1 - k };
                    bytes[slot] = value as u8;
                    value >>= 8;
                }
                out.extend_from_slice(&bytes);
            }
            b'x' => out.push(0),
            b'f' => {
                let f = a.check_number(arg)? as f32;
                arg += 1;
                out.extend_from_slice(&if h.little { f.to_le_bytes() } else { f.to_be_bytes() });
            }
            b'd' => {
                let d = a.check_number(arg)?;
                arg += 1;
                out.extend_from_slice(&if h.little { d.to_le_bytes() } else { d.to_be_bytes() });
            }
            b'c' | b's' => {
                let s = a.check_string(arg)?;
                arg += 1;
                let s = s.as_bytes();
                let l = s.len() as u64;
                if size == 0 {
                    size = l;
                }
                if l < size {
                    // The argument number has already moved on, as in C.
                    return Err(arg_error(lua, arg as i64, "string too short"));
                }
                out.extend_from_slice(&s[..size as usize]);
                if opt == b's' {
                    out.push(0);
                    size += 1;
                }
            }
            _ => fmt.control(lua, opt, &mut h)?,
        }
        total += size;
    }
    Ok(Value::String(lua.create_string(&out)?))
}

/// An integer of `bytes.len()` bytes; sizes past 8 keep the low 8 bytes and
/// extend the sign from bit `size*8-1` taken modulo 64, as the C code does on
/// x86-64.
fn get_integer(bytes: &[u8], little: bool, signed: bool) -> f64 {
    let mut l: u64 = 0;
    if little {
        for &b in bytes.iter().rev() {
            l = (l << 8) | b as u64;
        }
    } else {
        for &b in bytes {
            l = (l << 8) | b as u64;
        }
    }
    if !signed {
        return l as f64;
    }
    let shift = ((bytes.len() as i64 * 8 - 1) & 63) as u32;
    let mask = u64::MAX << shift;
    if l & mask != 0 {
        l |= mask;
    }
    l as i64 as f64
}

fn unpack(a: Args) -> mlua::Result<MultiValue> {
    let lua = a.lua;
    let mut fmt = Format::new(&a)?;
    let data = a.check_string(2)?;
    let data = data.as_bytes();
    let ld = data.len() as u64;
    let mut pos = a.opt_integer(3, 1)? as u64;
    if pos == 0 {
        return Err(arg_error(lua, 3, "offset must be 1 or greater"));
    }
    pos -= 1;
    let fits = |pos: u64, size: u64| size <= ld && pos <= ld - size;
    let mut h = Header::new();
    let mut out: Vec<Value> = Vec::new();
    while let Some(opt) = fmt.next() {
        let mut size = fmt.size(lua, opt)?;
        pos = pos.wrapping_add(to_align(pos, &h, opt, size));
        if !fits(pos, size) {
            return Err(arg_error(lua, 2, "data string too short"));
        }
        // The format and data arguments, then the results so far.
        if 2 + out.len() + 2 > MAX_CSTACK {
            return Err(error_at(lua, "stack overflow (too many results)"));
        }
        let at = pos as usize;
        match opt {
            _ if is_int_option(opt) => {
                let v = get_integer(&data[at..at + size as usize], h.little, opt.is_ascii_lowercase());
                out.push(Value::Number(v));
            }
            b'x' => {}
            b'f' => {
                let mut b = [0u8; 4];
                b.copy_from_slice(&data[at..at + 4]);
                let f = if h.little { f32::from_le_bytes(b) } else { f32::from_be_bytes(b) };
                out.push(Value::Number(f as f64));
            }
            b'd' => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&data[at..at + 8]);
                out.push(Value::Number(if h.little { f64::from_le_bytes(b) } else { f64::from_be_bytes(b) }));
            }
            b'c' => {
                if size == 0 {
                    // c0: the length is the previous result.
                    let prev = out.last().and_then(|v| to_number(lua, v));
                    let Some(n) = prev else {
                        return Err(error_at(lua, "format 'c0' needs a previous size"));
                    };
                    size = c_u64(n);
                    out.pop();
                    if !fits(pos, size) {
                        return Err(arg_error(lua, 2, "data string too short"));
                    }
                }
                out.push(Value::String(lua.create_string(&data[at..at + size as usize])?));
            }
            b's' => {
                let Some(len) = data[at..].iter().position(|&b| b == 0) else {
                    return Err(error_at(lua, "unfinished string in data"));
                };
                size = len as u64 + 1;
                out.push(Value::String(lua.create_string(&data[at..at + len])?));
            }
            _ => fmt.control(lua, opt, &mut h)?,
        }
        pos = pos.wrapping_add(size);
    }
    out.push(Value::Integer(pos.wrapping_add(1) as i64));
    Ok(MultiValue::from_iter(out))
}

fn size(a: Args) -> mlua::Result<Value> {
    let lua = a.lua;
    let mut fmt = Format::new(&a)?;
    let mut h = Header::new();
    let mut pos: u64 = 0;
    while let Some(opt) = fmt.next() {
        let size = fmt.size(lua, opt)?;
        pos = pos.wrapping_add(to_align(pos, &h, opt, size));
        if opt == b's' {
            return Err(arg_error(lua, 1, "option 's' has no fixed size"));
        } else if opt == b'c' && size == 0 {
            return Err(arg_error(lua, 1, "option 'c0' has no fixed size"));
        }
        if !opt.is_ascii_alphanumeric() {
            fmt.control(lua, opt, &mut h)?;
        }
        pos = pos.wrapping_add(size);
    }
    Ok(Value::Integer(pos as i64))
}
