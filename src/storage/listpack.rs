//! Listpacks in Redis's exact encoding, built, read and patched in place:
//! the packed nodes of streams, and the listpack blobs RDB files carry.

pub const HEADER: usize = 6;
pub const EOF: u8 = 0xFF;

/// One listpack element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ele<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Ele<'_> {
    /// The element as an integer (strings that hold one parse too).
    pub fn int(&self) -> Option<i64> {
        match *self {
            Ele::Int(v) => Some(v),
            Ele::Str(s) => crate::util::parse_i64(s),
        }
    }

    pub fn with_bytes<T>(&self, f: impl FnOnce(&[u8]) -> T) -> T {
        match *self {
            Ele::Str(s) => f(s),
            Ele::Int(n) => f(itoa::Buffer::new().format(n).as_bytes()),
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.with_bytes(|b| b.to_vec())
    }

    pub fn eq_bytes(&self, b: &[u8]) -> bool {
        match *self {
            Ele::Str(s) => s == b,
            Ele::Int(n) => itoa::Buffer::new().format(n).as_bytes() == b,
        }
    }
}

/// An empty listpack.
pub fn new() -> Vec<u8> {
    with_capacity(HEADER + 1)
}

/// An empty listpack in a buffer of `cap` bytes (at least its own 7).
pub fn with_capacity(cap: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(cap.max(HEADER + 1));
    v.resize(HEADER, 0);
    v.push(EOF);
    fix_total(&mut v);
    v
}

fn fix_total(v: &mut [u8]) {
    let n = v.len() as u32;
    v[0..4].copy_from_slice(&n.to_le_bytes());
}

fn num_elements(v: &[u8]) -> u16 {
    u16::from_le_bytes([v[4], v[5]])
}

fn set_num_elements(v: &mut [u8], n: u16) {
    v[4..6].copy_from_slice(&n.to_le_bytes());
}

pub fn backlen_size(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

pub fn put_backlen(out: &mut Vec<u8>, l: usize) {
    let n = backlen_size(l);
    for i in (0..n).rev() {
        let b = ((l >> (7 * i)) & 127) as u8;
        out.push(if i == n - 1 { b } else { b | 128 });
    }
}

pub fn encode_int(out: &mut Vec<u8>, v: i64) {
    let start = out.len();
    if (0..=127).contains(&v) {
        out.push(v as u8);
    } else if (-4096..=4095).contains(&v) {
        let u = (v as u64) & 0x1FFF;
        out.push(0xC0 | (u >> 8) as u8);
        out.push((u & 0xFF) as u8);
    } else if (-32768..=32767).contains(&v) {
        out.push(0xF1);
        out.extend_from_slice(&(v as i16).to_le_bytes());
    } else if (-8388608..=8388607).contains(&v) {
        out.push(0xF2);
        out.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
    } else if (i32::MIN as i64..=i32::MAX as i64).contains(&v) {
        out.push(0xF3);
        out.extend_from_slice(&(v as i32).to_le_bytes());
    } else {
        out.push(0xF4);
        out.extend_from_slice(&v.to_le_bytes());
    }
    let l = out.len() - start;
    put_backlen(out, l);
}

/// A string element, stored as an integer when it is a canonical one (as
/// Redis's `lpAppend`).
fn encode_str(out: &mut Vec<u8>, s: &[u8]) {
    if !s.is_empty() && s.len() <= 20 {
        if let Some(v) = crate::util::parse_i64(s) {
            encode_int(out, v);
            return;
        }
    }
    encode_raw(out, s);
}

/// A string element stored as a string.
pub fn encode_raw(out: &mut Vec<u8>, s: &[u8]) {
    let start = out.len();
    let n = s.len();
    if n < 64 {
        out.push(0x80 | n as u8);
    } else if n < 4096 {
        out.push(0xE0 | (n >> 8) as u8);
        out.push((n & 0xFF) as u8);
    } else {
        out.push(0xF0);
        out.extend_from_slice(&(n as u32).to_le_bytes());
    }
    out.extend_from_slice(s);
    let l = out.len() - start;
    put_backlen(out, l);
}

fn append_with(v: &mut Vec<u8>, f: impl FnOnce(&mut Vec<u8>)) {
    v.pop();
    f(v);
    v.push(EOF);
    fix_total(v);
    let n = num_elements(v);
    if n != u16::MAX {
        set_num_elements(v, n + 1);
    }
}

pub fn append_int(v: &mut Vec<u8>, x: i64) {
    append_with(v, |o| encode_int(o, x));
}

/// Appends a string as Redis's `lpAppend` (canonical integers become integers).
pub fn append_str(v: &mut Vec<u8>, s: &[u8]) {
    append_with(v, |o| encode_str(o, s));
}

/// Size of the element at `p` (encoding and data, without the back-length).
fn entry_len(v: &[u8], p: usize) -> Option<usize> {
    let h = *v.get(p)?;
    let rd = |at: usize, n: usize| -> Option<u64> {
        let s = v.get(at..at.checked_add(n)?)?;
        Some(s.iter().rev().fold(0u64, |a, &x| (a << 8) | x as u64))
    };
    Some(if h & 0x80 == 0 {
        1
    } else if h & 0xC0 == 0x80 {
        1 + (h & 0x3F) as usize
    } else if h & 0xE0 == 0xC0 {
        2
    } else if h & 0xF0 == 0xE0 {
        2 + ((((h & 0x0F) as usize) << 8) | *v.get(p + 1)? as usize)
    } else {
        match h {
            0xF0 => 5 + rd(p + 1, 4)? as usize,
            0xF1 => 3,
            0xF2 => 4,
            0xF3 => 5,
            0xF4 => 9,
            _ => return None,
        }
    })
}

/// The element at `p` and the position of the next one; None at the end
/// or on malformed data.
pub fn get(v: &[u8], p: usize) -> Option<(Ele<'_>, usize)> {
    let h = *v.get(p)?;
    if h == EOF {
        return None;
    }
    let rd = |at: usize, n: usize| -> Option<u64> {
        let s = v.get(at..at.checked_add(n)?)?;
        Some(s.iter().rev().fold(0u64, |a, &x| (a << 8) | x as u64))
    };
    let sext = |x: u64, bits: u32| -> i64 { ((x << (64 - bits)) as i64) >> (64 - bits) };
    let len = entry_len(v, p)?;
    let ele = if h & 0x80 == 0 {
        Ele::Int(h as i64)
    } else if h & 0xC0 == 0x80 {
        Ele::Str(v.get(p + 1..p + len)?)
    } else if h & 0xE0 == 0xC0 {
        Ele::Int(sext((((h & 0x1F) as u64) << 8) | rd(p + 1, 1)?, 13))
    } else if h & 0xF0 == 0xE0 {
        Ele::Str(v.get(p + 2..p + len)?)
    } else {
        match h {
            0xF0 => Ele::Str(v.get(p + 5..p + len)?),
            0xF1 => Ele::Int(sext(rd(p + 1, 2)?, 16)),
            0xF2 => Ele::Int(sext(rd(p + 1, 3)?, 24)),
            0xF3 => Ele::Int(sext(rd(p + 1, 4)?, 32)),
            _ => Ele::Int(rd(p + 1, 8)? as i64),
        }
    };
    let next = p.checked_add(len)?.checked_add(backlen_size(len))?;
    if next >= v.len() {
        return None;
    }
    Some((ele, next))
}

/// The start of the element before the one at `p` (`p` may be the
/// terminator's position), read from its back-length; None at the first.
pub fn prev(v: &[u8], p: usize) -> Option<usize> {
    let (len, q) = read_backlen(v, p, HEADER)?;
    let start = q.checked_sub(len)?;
    (start >= HEADER).then_some(start)
}

/// The back-length that ends at `end` (read backwards, never below
/// `floor`): the length it encodes and where it starts.
fn read_backlen(v: &[u8], end: usize, floor: usize) -> Option<(usize, usize)> {
    let mut len = 0usize;
    let mut shift = 0;
    let mut q = end;
    loop {
        if q <= floor || shift > 28 {
            return None;
        }
        q -= 1;
        let x = *v.get(q)?;
        len |= ((x & 127) as usize) << shift;
        shift += 7;
        if x & 128 == 0 {
            return Some((len, q));
        }
    }
}

/// The integer at `p` (0 when it is not one) and the next position.
pub fn get_int(v: &[u8], p: usize) -> Option<(i64, usize)> {
    let (e, n) = get(v, p)?;
    Some((e.int().unwrap_or(0), n))
}

/// Replaces the element at `p` by the integer `x` (Redis's `lpReplaceInteger`).
pub fn replace_int(v: &mut Vec<u8>, p: usize, x: i64) {
    let Some(len) = entry_len(v, p) else { return };
    let old = len + backlen_size(len);
    if p + old >= v.len() {
        return;
    }
    let mut enc = Vec::with_capacity(11);
    encode_int(&mut enc, x);
    v.splice(p..p + old, enc);
    fix_total(v);
}

/// Checks a whole listpack's framing (header, every element, terminator);
/// returns the element count.
pub fn validate(v: &[u8]) -> Option<usize> {
    if v.len() < HEADER + 1 || u32::from_le_bytes([v[0], v[1], v[2], v[3]]) as usize != v.len() {
        return None;
    }
    if v[v.len() - 1] != EOF {
        return None;
    }
    let mut p = HEADER;
    let mut n = 0usize;
    loop {
        if v[p] == EOF {
            if p != v.len() - 1 {
                return None;
            }
            break;
        }
        let len = entry_len(v, p)?;
        let bl = backlen_size(len);
        let end = p.checked_add(len)?.checked_add(bl)?;
        if end > v.len() - 1 {
            return None;
        }
        // The back-length must encode `len`.
        if read_backlen(v, end, p + len)?.0 != len {
            return None;
        }
        get(v, p)?;
        n += 1;
        p = end;
    }
    let declared = num_elements(v) as usize;
    if declared != u16::MAX as usize && declared != n {
        return None;
    }
    Some(n)
}
