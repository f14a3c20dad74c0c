//! LEB128 varints (7 bits a byte, low group first, high bit = more): the
//! length prefixes of the compact encodings (`ThinBuf` blocks, hash
//! listpack strings, sorted-set pack members and scores).

/// Bytes of the varint for `n`.
#[inline]
pub fn len(n: u64) -> usize {
    // One byte per started group of 7 bits (at least one).
    (64 - (n | 1).leading_zeros() as usize).div_ceil(7)
}

/// Writes `n` at the start of `out` (which must hold `len(n)` bytes) and
/// returns the bytes written.
#[inline]
pub fn write(out: &mut [u8], mut n: u64) -> usize {
    let mut at = 0;
    while n >= 0x80 {
        out[at] = (n as u8) | 0x80;
        n >>= 7;
        at += 1;
    }
    out[at] = n as u8;
    at + 1
}

/// Appends `n` to `out`.
#[inline]
pub fn put(out: &mut Vec<u8>, n: u64) {
    let mut b = [0u8; 10];
    let k = write(&mut b, n);
    out.extend_from_slice(&b[..k]);
}

/// Reads the varint at `*pos`, moving `pos` past it; None when the buffer
/// ends inside it or it does not fit 64 bits.
#[inline]
pub fn read(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v: u64 = 0;
    let mut shift = 0;
    loop {
        let b = *buf.get(*pos)?;
        *pos += 1;
        if shift >= 64 {
            return None;
        }
        v |= ((b & 0x7F) as u64) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
        shift += 7;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn lengths_and_round_trips() {
        for (n, l) in [(0u64, 1), (0x7F, 1), (0x80, 2), (0x3FFF, 2), (0x4000, 3), (u32::MAX as u64, 5), (u64::MAX, 10)]
        {
            assert_eq!(super::len(n), l, "{n}");
            let mut v = Vec::new();
            super::put(&mut v, n);
            assert_eq!(v.len(), l);
            let mut pos = 0;
            assert_eq!(super::read(&v, &mut pos), Some(n));
            assert_eq!(pos, l);
        }
        let mut pos = 0;
        assert_eq!(super::read(&[0x80, 0x80], &mut pos), None);
    }
}
