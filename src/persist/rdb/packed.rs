//! The packed blobs an RDB file carries inside strings: Redis's `listpack`
//! (read and written), and the older `ziplist`, `intset` and `zipmap` (read
//! only: Redis 7.0 no longer writes them, but files of Redis 2.x–6.x hold
//! them). Every reader validates as it goes and reports a malformed blob as an
//! error, never by panicking: the bytes come from files and from RESTORE.

/// One decoded element (the engine's listpack element type).
pub use crate::storage::listpack::Ele;

/// A malformed blob (the caller names which kind in its error).
#[derive(Debug, PartialEq, Eq)]
pub struct Malformed;

type Res<T> = Result<T, Malformed>;

fn le(b: &[u8]) -> u64 {
    b.iter().rev().fold(0u64, |acc, &x| (acc << 8) | x as u64)
}

/// Sign-extends the low `bits` bits of `v`.
fn sext(v: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((v << shift) as i64) >> shift
}

fn slice(b: &[u8], at: usize, n: usize) -> Res<&[u8]> {
    let end = at.checked_add(n).ok_or(Malformed)?;
    b.get(at..end).ok_or(Malformed)
}

// ---------------------------------------------------------------------------
// listpack

const LP_HEADER: usize = crate::storage::listpack::HEADER;
const LP_EOF: u8 = crate::storage::listpack::EOF;

use crate::storage::listpack::{self as lp, encode_int, encode_raw};

/// Decodes every element of a listpack, once the engine's check of its
/// header, each entry and its back-length, and the terminator passes.
pub fn listpack(b: &[u8]) -> Res<Vec<Ele<'_>>> {
    let n = lp::validate(b).ok_or(Malformed)?;
    let mut out = Vec::with_capacity(n);
    let mut p = LP_HEADER;
    while let Some((ele, next)) = lp::get(b, p) {
        out.push(ele);
        p = next;
    }
    Ok(out)
}

/// Builds a listpack the way Redis's `lpAppend` does: strings that are
/// canonical integers are stored as integers in the smallest form.
pub struct LpWriter {
    buf: Vec<u8>,
    count: usize,
}

impl Default for LpWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl LpWriter {
    pub fn new() -> LpWriter {
        LpWriter { buf: vec![0; LP_HEADER], count: 0 }
    }

    /// Bytes so far (header included, terminator not).
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn count(&self) -> usize {
        self.count
    }

    pub fn push(&mut self, s: &[u8]) {
        match as_int(s) {
            Some(v) => self.push_int(v),
            None => {
                encode_raw(&mut self.buf, s);
                self.count += 1;
            }
        }
    }

    pub fn push_int(&mut self, v: i64) {
        encode_int(&mut self.buf, v);
        self.count += 1;
    }

    /// The finished listpack (header filled in, terminator added).
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(LP_EOF);
        let total = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        let n = if self.count < 0xFFFF { self.count as u16 } else { 0xFFFF };
        self.buf[4..6].copy_from_slice(&n.to_le_bytes());
        self.buf
    }
}

/// The integer a listpack stores a string as (canonical decimal only).
fn as_int(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    crate::util::parse_i64(s)
}

// ---------------------------------------------------------------------------
// ziplist (Redis 2.6 – 6.2)

const ZL_HEADER: usize = 10;
const ZL_END: u8 = 0xFF;
const ZL_BIGLEN: u8 = 0xFE;

/// Decodes every element of a ziplist, checking the header, each entry's
/// previous-length field against the actual previous entry, and the end.
pub fn ziplist(b: &[u8]) -> Res<Vec<Ele<'_>>> {
    if b.len() < ZL_HEADER + 1 || le(&b[0..4]) as usize != b.len() || b[b.len() - 1] != ZL_END {
        return Err(Malformed);
    }
    let tail = le(&b[4..8]) as usize;
    let declared = le(&b[8..10]) as usize;
    let mut out = Vec::with_capacity(declared.min(b.len()));
    let mut p = ZL_HEADER;
    let mut prev_len = 0usize;
    let mut last_start = ZL_HEADER;
    loop {
        let Some(&first) = b.get(p) else { return Err(Malformed) };
        if first == ZL_END {
            if p != b.len() - 1 {
                return Err(Malformed);
            }
            break;
        }
        let start = p;
        // Previous entry length.
        let (pl, plsize) = if first < ZL_BIGLEN {
            (first as usize, 1)
        } else if first == ZL_BIGLEN {
            (le(slice(b, p + 1, 4)?) as usize, 5)
        } else {
            return Err(Malformed);
        };
        if pl != prev_len {
            return Err(Malformed);
        }
        p += plsize;
        let enc = *b.get(p).ok_or(Malformed)?;
        let (ele, hsize, dsize) = match enc >> 6 {
            0 => {
                let n = (enc & 0x3F) as usize;
                (Ele::Str(slice(b, p + 1, n)?), 1, n)
            }
            1 => {
                let lo = *slice(b, p + 1, 1)?.first().ok_or(Malformed)?;
                let n = (((enc & 0x3F) as usize) << 8) | lo as usize;
                (Ele::Str(slice(b, p + 2, n)?), 2, n)
            }
            2 => {
                if enc != 0x80 {
                    return Err(Malformed);
                }
                let l = slice(b, p + 1, 4)?;
                let n = u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize;
                (Ele::Str(slice(b, p + 5, n)?), 5, n)
            }
            _ => match enc {
                0xC0 => (Ele::Int(sext(le(slice(b, p + 1, 2)?), 16)), 1, 2),
                0xD0 => (Ele::Int(sext(le(slice(b, p + 1, 4)?), 32)), 1, 4),
                0xE0 => (Ele::Int(le(slice(b, p + 1, 8)?) as i64), 1, 8),
                0xF0 => (Ele::Int(sext(le(slice(b, p + 1, 3)?), 24)), 1, 3),
                0xFE => (Ele::Int(sext(le(slice(b, p + 1, 1)?), 8)), 1, 1),
                0xF1..=0xFD => (Ele::Int((enc & 0x0F) as i64 - 1), 1, 0),
                _ => return Err(Malformed),
            },
        };
        p = p.checked_add(hsize + dsize).ok_or(Malformed)?;
        if p > b.len() - 1 {
            return Err(Malformed);
        }
        prev_len = p - start;
        last_start = start;
        out.push(ele);
    }
    if (!out.is_empty() && tail != last_start) || (out.is_empty() && tail != ZL_HEADER) {
        return Err(Malformed);
    }
    if declared != 0xFFFF && declared != out.len() {
        return Err(Malformed);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// intset

/// Decodes an intset: its width (2, 4 or 8), length, and strictly ascending
/// members.
pub fn intset(b: &[u8]) -> Res<Vec<i64>> {
    if b.len() < 8 {
        return Err(Malformed);
    }
    let width = le(&b[0..4]) as usize;
    let n = le(&b[4..8]) as usize;
    if !matches!(width, 2 | 4 | 8) || n.checked_mul(width).and_then(|x| x.checked_add(8)) != Some(b.len()) {
        return Err(Malformed);
    }
    let mut out = Vec::with_capacity(n);
    for c in b[8..].chunks_exact(width) {
        let v = sext(le(c), (width * 8) as u32);
        if out.last().is_some_and(|&last| last >= v) {
            return Err(Malformed);
        }
        out.push(v);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// zipmap (Redis 2.0 – 2.4 hashes)

const ZM_BIGLEN: u8 = 254;
const ZM_END: u8 = 255;

fn zm_len(b: &[u8], p: usize) -> Res<(usize, usize)> {
    let first = *b.get(p).ok_or(Malformed)?;
    if first < ZM_BIGLEN {
        Ok((first as usize, 1))
    } else if first == ZM_BIGLEN {
        Ok((le(slice(b, p + 1, 4)?) as usize, 5))
    } else {
        Err(Malformed)
    }
}

/// Decodes a zipmap into field/value pairs.
pub fn zipmap(b: &[u8]) -> Res<Vec<(&[u8], &[u8])>> {
    if b.len() < 2 || b[b.len() - 1] != ZM_END {
        return Err(Malformed);
    }
    let mut out = Vec::new();
    let mut p = 1;
    loop {
        if *b.get(p).ok_or(Malformed)? == ZM_END {
            if p != b.len() - 1 {
                return Err(Malformed);
            }
            break;
        }
        let (klen, ks) = zm_len(b, p)?;
        p += ks;
        let key = slice(b, p, klen)?;
        p += klen;
        let (vlen, vs) = zm_len(b, p)?;
        p += vs;
        let free = *b.get(p).ok_or(Malformed)? as usize;
        p += 1;
        let val = slice(b, p, vlen)?;
        p = p.checked_add(vlen + free).ok_or(Malformed)?;
        if p > b.len() - 1 {
            return Err(Malformed);
        }
        out.push((key, val));
    }
    if b[0] < ZM_BIGLEN && b[0] as usize != out.len() {
        return Err(Malformed);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listpack_round_trip() {
        let mut w = LpWriter::new();
        let long = vec![b'x'; 5000];
        let mid = vec![b'y'; 100];
        let items: Vec<&[u8]> = vec![
            b"a",
            b"0",
            b"127",
            b"128",
            b"-1",
            b"-4096",
            b"4095",
            b"4096",
            b"-32768",
            b"32767",
            b"40000",
            b"-8388608",
            b"8388607",
            b"8388608",
            b"2147483647",
            b"-2147483649",
            b"9223372036854775807",
            b"-9223372036854775808",
            b"01",
            b"-0",
            b"",
            &mid,
            &long,
        ];
        for i in &items {
            w.push(i);
        }
        let lp = w.finish();
        let back = listpack(&lp).expect("valid");
        let texts: Vec<Vec<u8>> = back.iter().map(|e| e.to_vec()).collect();
        let want: Vec<Vec<u8>> = items.iter().map(|i| i.to_vec()).collect();
        assert_eq!(texts, want);
    }

    #[test]
    fn listpack_matches_redis_bytes() {
        // RPUSH l a b 1 2 in Redis 7.0: one node holding this listpack.
        let mut w = LpWriter::new();
        for i in [&b"a"[..], b"b", b"1", b"2"] {
            w.push(i);
        }
        assert_eq!(w.finish(), vec![0x11, 0, 0, 0, 4, 0, 0x81, b'a', 2, 0x81, b'b', 2, 1, 1, 2, 1, 0xFF]);
    }

    #[test]
    fn malformed_blobs_are_errors() {
        let mut w = LpWriter::new();
        w.push(b"hello");
        w.push(b"12345");
        let lp = w.finish();
        for cut in 0..lp.len() {
            assert!(listpack(&lp[..cut]).is_err());
        }
        for i in 0..lp.len() {
            for x in [0u8, 0x7F, 0x80, 0xF0, 0xFF] {
                let mut c = lp.clone();
                c[i] = x;
                let _ = listpack(&c);
            }
        }
        assert!(intset(&[2, 0, 0, 0, 2, 0, 0, 0, 5, 0, 3, 0]).is_err());
        assert_eq!(intset(&[2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 5, 0]), Ok(vec![3, 5]));
        assert!(zipmap(&[1, 1, b'a', 1, 0, b'b']).is_err());
        assert_eq!(zipmap(&[1, 1, b'a', 1, 2, b'b', 0, 0, 0xFF]), Ok(vec![(&b"a"[..], &b"b"[..])]));
    }

    #[test]
    fn ziplist_decodes() {
        // A ziplist holding "ab", 7 (immediate), 300 (int16), -70000 (int24).
        let mut z = vec![0u8; 10];
        let mut starts = Vec::new();
        let mut prev = 0usize;
        let entries: Vec<Vec<u8>> = vec![vec![0x02, b'a', b'b'], vec![0xF8], vec![0xC0, 0x2C, 0x01], {
            let v = (-70000i32).to_le_bytes();
            vec![0xF0, v[0], v[1], v[2]]
        }];
        for e in &entries {
            starts.push(z.len());
            let start = z.len();
            z.push(prev as u8);
            z.extend_from_slice(e);
            prev = z.len() - start;
        }
        z.push(0xFF);
        let total = z.len() as u32;
        z[0..4].copy_from_slice(&total.to_le_bytes());
        z[4..8].copy_from_slice(&(starts[3] as u32).to_le_bytes());
        z[8..10].copy_from_slice(&4u16.to_le_bytes());
        let got = ziplist(&z).expect("valid");
        assert_eq!(got, vec![Ele::Str(b"ab"), Ele::Int(7), Ele::Int(300), Ele::Int(-70000)]);
        for cut in 0..z.len() {
            assert!(ziplist(&z[..cut]).is_err());
        }
    }
}
