//! LZF, the compression Redis uses for RDB strings and for compressed
//! quicklist nodes (`list-compress-depth`): a compressor giving exactly
//! liblzf's output and a decompressor written for speed. Shared by the RDB
//! code (`persist::rdb`) and the list type (`storage::list`).
//!
//! The format: a control byte below 32 is a literal run of `ctrl + 1`
//! bytes; otherwise its top 3 bits are a length (7: plus the next byte) and
//! the rest with the next byte a distance back into the output.
//!
//! Decompression is on the hot path of loading a dump (dominated by
//! decompressing its values): references are copied in blocks (a run of one
//! byte as a fill, a reference that does not overlap its output as one
//! copy), and only a reference overlapping its own output byte by byte.

/// Longest literal run of LZF.
const MAX_LIT: usize = 1 << 5;

/// liblzf's literal path: copies one byte into the current literal run,
/// closing the run (its length byte written) once it holds MAX_LIT bytes.
#[inline]
fn literal(out: &mut [u8], op: &mut usize, lit: &mut usize, b: u8) {
    *lit += 1;
    out[*op] = b;
    *op += 1;
    if *lit == MAX_LIT {
        out[*op - *lit - 1] = (*lit - 1) as u8;
        *lit = 0;
        *op += 1;
    }
}

const HSIZE: usize = 1 << 16;

thread_local! {
    /// The compressor's hash table: positions of the last occurrence of each
    /// 3-byte hash, 0 meaning none (a match at position 0 is never used, as
    /// in liblzf). All zero between calls: each call clears the slots it set,
    /// which costs far less than clearing 256 KB per string.
    static LZF_TABLE: std::cell::RefCell<(Vec<u32>, Vec<u16>)> =
        std::cell::RefCell::new((vec![0u32; HSIZE], Vec::new()));
}

/// LZF compression producing exactly the bytes Redis's bundled liblzf does
/// (HLOG 16, the "very fast" variant that rehashes two positions after each
/// back-reference), so that DUMP payloads and files match Redis's byte for
/// byte. (The `lzf` crate's compressor stops matching near the end of the
/// input, which gives different, equally valid, output.) None when the output
/// would exceed `max_out` bytes (liblzf's `out_len`).
pub fn compress(s: &[u8], max_out: usize) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    compress_append(s, max_out, &mut out).then_some(out)
}

/// `compress`, appending the output to `out` (left as it was, and false
/// returned, when the output would exceed `max_out` bytes): lets a caller put
/// its own header before the compressed bytes in one allocation.
pub fn compress_append(s: &[u8], max_out: usize, out: &mut Vec<u8>) -> bool {
    let base = out.len();
    // The compressor may write a few bytes past `max_out` before it gives up.
    out.resize(base + max_out + 8, 0);
    let n = LZF_TABLE.with(|t| {
        let (htab, touched) = &mut *t.borrow_mut();
        let n = compress_with(s, max_out, &mut out[base..], htab, touched);
        for &slot in touched.iter() {
            htab[slot as usize] = 0;
        }
        touched.clear();
        n
    });
    out.truncate(base + n.unwrap_or(0));
    n.is_some()
}

/// The compressor proper: writes into `out` (at least `cap + 8` bytes) and
/// returns the output length, or None when it would exceed `cap`.
fn compress_with(s: &[u8], cap: usize, out: &mut [u8], htab: &mut [u32], touched: &mut Vec<u16>) -> Option<usize> {
    const MAX_OFF: usize = 1 << 13;
    const MAX_REF: usize = (1 << 8) + (1 << 3);
    let n = s.len();
    if n < 4 {
        return None;
    }
    let idx = |h: u32| ((h >> 8).wrapping_sub(h.wrapping_mul(5)) as usize) & (HSIZE - 1);
    let next = |h: u32, p: usize| (h << 8) | s[p + 2] as u32;
    let mut op = 1usize; // out[0] holds the first literal run's length
    let mut lit = 0usize;
    let mut ip = 0usize;
    let mut hval: u32 = ((s[0] as u32) << 8) | s[1] as u32;
    while ip < n - 2 {
        hval = next(hval, ip);
        let slot = idx(hval);
        let r = htab[slot] as usize;
        htab[slot] = ip as u32;
        touched.push(slot as u16);
        let off = ip.wrapping_sub(r).wrapping_sub(1);
        if r > 0 && off < MAX_OFF && s[r + 2] == s[ip + 2] && s[r] == s[ip] && s[r + 1] == s[ip + 1] {
            let mut len = 2usize;
            let maxlen = (n - ip - len).min(MAX_REF);
            if op + 4 >= cap && op - (lit == 0) as usize + 4 >= cap {
                return None;
            }
            out[op - lit - 1] = (lit as u8).wrapping_sub(1);
            op -= (lit == 0) as usize;
            let mut matched_unrolled = true;
            if maxlen > 16 {
                for _ in 0..16 {
                    len += 1;
                    if s[r + len] != s[ip + len] {
                        matched_unrolled = false;
                        break;
                    }
                }
            }
            if matched_unrolled {
                loop {
                    len += 1;
                    if !(len < maxlen && s[r + len] == s[ip + len]) {
                        break;
                    }
                }
            }
            len -= 2;
            ip += 1;
            if len < 7 {
                out[op] = ((off >> 8) + (len << 5)) as u8;
                op += 1;
            } else {
                out[op] = ((off >> 8) + (7 << 5)) as u8;
                out[op + 1] = (len - 7) as u8;
                op += 2;
            }
            out[op] = off as u8;
            op += 1;
            lit = 0;
            op += 1;
            ip += len + 1;
            if ip >= n - 2 {
                break;
            }
            ip -= 2;
            hval = ((s[ip] as u32) << 8) | s[ip + 1] as u32;
            for _ in 0..2 {
                hval = next(hval, ip);
                let slot = idx(hval);
                htab[slot] = ip as u32;
                touched.push(slot as u16);
                ip += 1;
            }
        } else {
            if op >= cap {
                return None;
            }
            literal(out, &mut op, &mut lit, s[ip]);
            ip += 1;
        }
    }
    if op + 3 > cap {
        return None;
    }
    while ip < n {
        literal(out, &mut op, &mut lit, s[ip]);
        ip += 1;
    }
    out[op - lit - 1] = (lit as u8).wrapping_sub(1);
    op -= (lit == 0) as usize;
    Some(op)
}

/// Decompresses `data` into exactly `len` bytes; None when the data is
/// corrupt or does not give `len` bytes.
pub fn decompress(data: &[u8], len: usize) -> Option<Vec<u8>> {
    let mut out = vec![0u8; len];
    decompress_into(data, &mut out)?;
    Some(out)
}

/// Decompresses `data` into exactly `out.len()` bytes; None when the data is
/// corrupt or does not give that many bytes (`out` then holds garbage).
pub fn decompress_into(data: &[u8], out: &mut [u8]) -> Option<()> {
    let len = out.len();
    let (mut i, mut o) = (0, 0);
    while i < data.len() {
        let ctrl = data[i] as usize;
        i += 1;
        if ctrl < 32 {
            let n = ctrl + 1;
            out.get_mut(o..o + n)?.copy_from_slice(data.get(i..i + n)?);
            i += n;
            o += n;
            continue;
        }
        let mut n = (ctrl >> 5) + 2;
        if n == 9 {
            n += *data.get(i)? as usize;
            i += 1;
        }
        let dist = ((ctrl & 0x1f) << 8) + *data.get(i)? as usize + 1;
        i += 1;
        if dist > o || o + n > len {
            return None;
        }
        let from = o - dist;
        if dist == 1 {
            // A run of one byte.
            let b = out[from];
            out[o..o + n].fill(b);
        } else if dist >= n {
            out.copy_within(from..from + n, o);
        } else {
            // The copy overlaps what it writes: the pattern repeats.
            for k in 0..n {
                out[o + k] = out[from + k];
            }
        }
        o += n;
    }
    (o == len).then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Our compressor's output decompresses to the input, within the bound.
    #[test]
    fn compress_round_trips() {
        let mut x: u32 = 12345;
        for n in [21usize, 50, 64, 100, 300, 1000, 5000, 70000] {
            for kind in 0..3 {
                let s: Vec<u8> = (0..n)
                    .map(|i| {
                        x = x.wrapping_mul(1103515245).wrapping_add(12345);
                        match kind {
                            0 => b'a' + (i % 7) as u8,
                            1 => (x >> 16) as u8 % 4,
                            _ => (x >> 16) as u8,
                        }
                    })
                    .collect();
                if let Some(c) = compress(&s, n - 4) {
                    assert!(c.len() <= n - 4);
                    assert_eq!(::lzf::decompress(&c, n).expect("valid lzf"), s, "n={n} kind={kind}");
                    assert_eq!(decompress(&c, n).as_deref(), Some(&s[..]), "n={n} kind={kind}");
                    // Appending after a header leaves the header alone.
                    let mut out = b"head".to_vec();
                    assert!(compress_append(&s, n - 4, &mut out));
                    assert_eq!((&out[..4], &out[4..]), (&b"head"[..], &c[..]));
                }
            }
        }
        // Incompressible input within a tight bound: refused, the buffer untouched.
        let noise: Vec<u8> = (0..200u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        let mut out = b"head".to_vec();
        assert!(!compress_append(&noise, 100, &mut out));
        assert_eq!(out, b"head");
    }

    /// Agrees with the `lzf` crate on what it compresses: random bytes, runs,
    /// repeated words and mixtures, of lengths 1 to 5000.
    #[test]
    fn matches_the_crate_on_compressed_data() {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        for round in 0..3000 {
            let n = rng.gen_range(1..5000);
            let alphabet = [1u8, 2, 4, 16, 255][round % 5];
            let mut s: Vec<u8> = (0..n).map(|_| rng.gen_range(0..alphabet as u32 + 1) as u8).collect();
            if round % 7 == 0 {
                s = b"value:".iter().chain(b"abcabcabc").copied().cycle().take(n).collect();
            }
            let Ok(c) = ::lzf::compress(&s) else { continue };
            assert_eq!(decompress(&c, s.len()).as_deref(), Some(&s[..]), "round {round}");
            assert_eq!(::lzf::decompress(&c, s.len()).ok().as_deref(), Some(&s[..]));
            // A wrong length or a cut is refused, never a panic.
            assert_eq!(decompress(&c, s.len() + 1), None);
            if s.len() > 1 {
                assert_eq!(decompress(&c, s.len() - 1), None);
            }
            let _ = decompress(&c[..c.len() / 2], s.len());
        }
    }

    /// Corrupt input (random bytes) gives None or some output, never a panic.
    #[test]
    fn random_input_never_panics() {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(11);
        for _ in 0..20000 {
            let n = rng.gen_range(1..64);
            let data: Vec<u8> = (0..n).map(|_| rng.gen()).collect();
            let _ = decompress(&data, rng.gen_range(0..300));
        }
    }
}
