//! LZF decompression for loading RDB strings (the `lzf` crate compresses).
//!
//! Loading a dump is dominated by decompressing its values, and the crate's
//! decoder copies back-references one byte at a time. This one copies them
//! in blocks (a run of one byte as a fill, a reference that does not
//! overlap its output as one copy), and only a reference overlapping its
//! own output byte by byte.
//!
//! The format: a control byte below 32 is a literal run of `ctrl + 1`
//! bytes; otherwise its top 3 bits are a length (7: plus the next byte) and
//! the rest with the next byte a distance back into the output.

/// Decompresses `data` into exactly `len` bytes; None when the data is
/// corrupt or does not give `len` bytes.
pub fn decompress(data: &[u8], len: usize) -> Option<Vec<u8>> {
    let mut out = vec![0u8; len];
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
    (o == len).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

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
            let Ok(c) = lzf::compress(&s) else { continue };
            assert_eq!(decompress(&c, s.len()).as_deref(), Some(&s[..]), "round {round}");
            assert_eq!(lzf::decompress(&c, s.len()).ok().as_deref(), Some(&s[..]));
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
