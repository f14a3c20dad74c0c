//! C's `strtod` on byte strings, as glibc gives it: leading space, sign,
//! `inf`/`infinity`/`nan(...)`, decimal and hexadecimal (`0x1.8p3`) forms,
//! correctly rounded, and glibc's `ERANGE` (overflow, or an inexact result
//! that is tiny after rounding). Redis parses scores and weights with it, then
//! decides per command what a range error means: ZADD & co. reject only
//! overflow and underflow to zero, SORT rejects any `ERANGE`.

use std::cmp::Ordering;

pub fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn starts_with_ic(s: &[u8], p: &[u8]) -> bool {
    s.len() >= p.len() && s[..p.len()].eq_ignore_ascii_case(p)
}

pub const DBL_MIN: f64 = f64::MIN_POSITIVE;

/// C's `strtod`: (value, bytes consumed (0 when nothing converts), ERANGE).
pub fn strtod(s: &[u8]) -> (f64, usize, bool) {
    let mut i = 0;
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    let mut neg = false;
    if let Some(&c) = s.get(i) {
        if c == b'+' || c == b'-' {
            neg = c == b'-';
            i += 1;
        }
    }
    let sign = |v: f64| if neg { -v } else { v };
    let rest = &s[i..];
    if starts_with_ic(rest, b"inf") {
        let n = if starts_with_ic(rest, b"infinity") { 8 } else { 3 };
        return (sign(f64::INFINITY), i + n, false);
    }
    if starts_with_ic(rest, b"nan") {
        let mut n = 3;
        if rest.get(3) == Some(&b'(') {
            let mut j = 4;
            while j < rest.len() && (rest[j].is_ascii_alphanumeric() || rest[j] == b'_') {
                j += 1;
            }
            if rest.get(j) == Some(&b')') {
                n = j + 1;
            }
        }
        return (f64::NAN, i + n, false);
    }
    if rest.len() >= 2 && rest[0] == b'0' && (rest[1] | 0x20) == b'x' {
        return match hex_float(&rest[2..]) {
            Some((v, n, erange)) => (sign(v), i + 2 + n, erange),
            // Only the `0` converts.
            None => (sign(0.0), i + 1, false),
        };
    }
    match dec_float(rest) {
        Some((v, n, erange)) => (sign(v), i + n, erange),
        None => (0.0, 0, false),
    }
}

/// A hexadecimal float after `0x`: (value, bytes used, ERANGE), correctly
/// rounded; None without a hex digit.
fn hex_float(s: &[u8]) -> Option<(f64, usize, bool)> {
    let mut i = 0;
    let mut mant: u64 = 0;
    let mut exp: i64 = 0;
    let mut any = false;
    let mut sticky = false;
    let mut frac = false;
    while let Some(&c) = s.get(i) {
        if c == b'.' && !frac {
            frac = true;
            i += 1;
            continue;
        }
        let Some(d) = (c as char).to_digit(16) else { break };
        any = true;
        if mant >> 60 == 0 {
            mant = mant * 16 + d as u64;
            if frac {
                exp -= 4;
            }
        } else {
            if !frac {
                exp += 4;
            }
            sticky |= d != 0;
        }
        i += 1;
    }
    if !any {
        return None;
    }
    if matches!(s.get(i), Some(b'p') | Some(b'P')) {
        let mut j = i + 1;
        let eneg = match s.get(j) {
            Some(b'-') => {
                j += 1;
                true
            }
            Some(b'+') => {
                j += 1;
                false
            }
            _ => false,
        };
        let ds = j;
        let mut e: i64 = 0;
        while let Some(&c) = s.get(j) {
            if !c.is_ascii_digit() {
                break;
            }
            e = e.saturating_mul(10).saturating_add((c - b'0') as i64);
            j += 1;
        }
        if j > ds {
            exp = exp.saturating_add(if eneg { -e } else { e });
            i = j;
        }
    }
    let (v, erange) = round_binary(mant, sticky, exp);
    Some((v, i, erange))
}

/// `2^k` for -1074 <= k <= 1023.
pub fn pow2(k: i64) -> f64 {
    if k >= -1022 {
        f64::from_bits(((k + 1023) as u64) << 52)
    } else {
        f64::from_bits(1u64 << (k + 1074))
    }
}

/// `x * 2^k`, exact when the result is representable.
fn scale(x: f64, k: i64) -> f64 {
    if k > 1023 {
        x * pow2(1023) * pow2(k - 1023)
    } else if k < -1022 {
        x * pow2(k + 600) * pow2(-600)
    } else {
        x * pow2(k)
    }
}

/// Rounds `(mant + sticky) * 2^exp` (sticky: a nonzero tail below the last
/// bit of `mant`) to the nearest double, ties to even, with glibc's ERANGE:
/// overflow, or an inexact result that is tiny after rounding (to 53 bits
/// with an unbounded exponent, it would still be below the normal range).
fn round_binary(mant: u64, sticky: bool, exp: i64) -> (f64, bool) {
    if mant == 0 {
        return (0.0, false);
    }
    let bits = 64 - mant.leading_zeros() as i64;
    let top = exp.saturating_add(bits - 1);
    if top > 1023 {
        return (f64::INFINITY, true);
    }
    if top < -1200 {
        return (0.0, true);
    }
    // Rounds to the grid 2^lsb; returns (multiple of 2^lsb, inexact).
    let round_at = |lsb: i64| -> (u64, bool) {
        let shift = lsb - exp;
        if shift <= 0 {
            return (mant << (-shift), sticky);
        }
        if shift >= 64 {
            // Below half of the grid step: rounds to 0.
            let half = shift == 64 && mant >> 63 == 1 && (mant << 1 != 0 || sticky);
            return (half as u64, true);
        }
        let q = mant >> shift;
        let rem = mant & ((1u64 << shift) - 1);
        let half = 1u64 << (shift - 1);
        let up = rem > half || (rem == half && (sticky || q & 1 == 1));
        (q + up as u64, rem != 0 || sticky)
    };
    let lsb = (top - 52).max(-1074);
    let (q, inexact) = round_at(lsb);
    let v = scale(q as f64, lsb);
    if v.is_infinite() {
        return (v, true);
    }
    let tiny = if top < -1022 {
        // Rounded to 53 bits, is it still below 2^-1022?
        let (q53, _) = round_at(top - 52);
        let bits53 = 64 - q53.leading_zeros() as i64;
        top - 52 + bits53 - 1 < -1022
    } else {
        false
    };
    (v, inexact && tiny)
}

/// A decimal float: (value, bytes used, ERANGE); None without a digit.
fn dec_float(s: &[u8]) -> Option<(f64, usize, bool)> {
    let mut j = 0;
    let int_start = j;
    while j < s.len() && s[j].is_ascii_digit() {
        j += 1;
    }
    let int_digits = &s[int_start..j];
    let mut frac_digits: &[u8] = &[];
    if j < s.len() && s[j] == b'.' {
        let fs = j + 1;
        let mut k = fs;
        while k < s.len() && s[k].is_ascii_digit() {
            k += 1;
        }
        frac_digits = &s[fs..k];
        j = k;
    }
    if int_digits.is_empty() && frac_digits.is_empty() {
        return None;
    }
    let mut exp: i64 = 0;
    if j < s.len() && (s[j] | 0x20) == b'e' {
        let mut k = j + 1;
        let eneg = match s.get(k) {
            Some(b'-') => {
                k += 1;
                true
            }
            Some(b'+') => {
                k += 1;
                false
            }
            _ => false,
        };
        let ds = k;
        let mut e: i64 = 0;
        while k < s.len() && s[k].is_ascii_digit() {
            e = e.saturating_mul(10).saturating_add((s[k] - b'0') as i64);
            k += 1;
        }
        if k > ds {
            exp = if eneg { -e } else { e };
            j = k;
        }
    }
    let text = std::str::from_utf8(&s[..j]).ok()?;
    let v: f64 = text.parse().ok()?;
    let nonzero = int_digits.iter().chain(frac_digits).any(|&c| c != b'0');
    if v.is_infinite() {
        return Some((v, j, true));
    }
    if !nonzero || v > DBL_MIN {
        return Some((v, j, false));
    }
    if v == 0.0 {
        return Some((v, j, true));
    }
    // Near or below the normal range: decide exactly.
    let d = Decimal::new(int_digits, frac_digits, exp);
    let erange = if v == DBL_MIN {
        // Tiny (and then inexact) when below the midpoint of DBL_MIN and
        // its 53-bit predecessor.
        d.cmp_binary((1u64 << 54) - 1, -1076) == Ordering::Less
    } else {
        // Subnormal: an error unless exact.
        let m = v.to_bits() & ((1u64 << 52) - 1);
        d.cmp_binary(m, -1074) != Ordering::Equal
    };
    Some((v, j, erange))
}

/// A decimal number `digits * 10^exp` (plus a nonzero tail when `sticky`),
/// for exact comparisons with binary values.
struct Decimal {
    digits: Vec<u8>,
    exp: i64,
    sticky: bool,
}

/// Significant digits kept; any double is exact within fewer than this.
const MAX_DIGITS: usize = 800;

impl Decimal {
    fn new(int_digits: &[u8], frac_digits: &[u8], exp: i64) -> Decimal {
        let all: Vec<u8> = int_digits.iter().chain(frac_digits).map(|c| c - b'0').collect();
        let lead = all.iter().position(|&d| d != 0).unwrap_or(all.len());
        let sig = &all[lead..];
        let mut e = exp.saturating_sub(frac_digits.len() as i64);
        let (kept, sticky) = if sig.len() > MAX_DIGITS {
            e = e.saturating_add((sig.len() - MAX_DIGITS) as i64);
            (&sig[..MAX_DIGITS], sig[MAX_DIGITS..].iter().any(|&d| d != 0))
        } else {
            (sig, false)
        };
        Decimal { digits: kept.to_vec(), exp: e, sticky }
    }

    /// Compares with `m * 2^k`.
    fn cmp_binary(&self, m: u64, k: i64) -> Ordering {
        if self.exp.abs() > 5000 {
            // Cannot be near a double's subnormal range with these digits.
            return if self.exp < 0 { Ordering::Less } else { Ordering::Greater };
        }
        let mut lhs = Big::from_u64(0);
        for &d in &self.digits {
            lhs.mul_small(10);
            lhs.add_small(d as u32);
        }
        let mut rhs = Big::from_u64(m);
        // lhs * 10^exp vs m * 2^k as integers: the powers of five go to the
        // side with the positive decimal exponent, then both sides are
        // shifted to a common power of two.
        let (e2l, e2r) = if self.exp >= 0 {
            lhs.mul_pow5(self.exp as u32);
            (self.exp, k)
        } else {
            rhs.mul_pow5((-self.exp) as u32);
            (0, k - self.exp)
        };
        let base = e2l.min(e2r);
        lhs.shl((e2l - base) as u32);
        rhs.shl((e2r - base) as u32);
        let c = lhs.cmp(&rhs);
        if c == Ordering::Equal && self.sticky {
            Ordering::Greater
        } else {
            c
        }
    }
}

/// A small unsigned big integer (little-endian 32-bit limbs).
struct Big(Vec<u32>);

impl Big {
    fn from_u64(v: u64) -> Big {
        let mut b = Big(vec![v as u32, (v >> 32) as u32]);
        b.trim();
        b
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn mul_small(&mut self, m: u32) {
        let mut carry = 0u64;
        for l in self.0.iter_mut() {
            let p = *l as u64 * m as u64 + carry;
            *l = p as u32;
            carry = p >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
    }

    fn add_small(&mut self, a: u32) {
        let mut carry = a as u64;
        for l in self.0.iter_mut() {
            if carry == 0 {
                return;
            }
            let s = *l as u64 + carry;
            *l = s as u32;
            carry = s >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
    }

    fn mul_pow5(&mut self, mut e: u32) {
        const P13: u32 = 1_220_703_125; // 5^13
        while e >= 13 {
            self.mul_small(P13);
            e -= 13;
        }
        self.mul_small(5u32.pow(e));
    }

    fn shl(&mut self, bits: u32) {
        if self.0.is_empty() {
            return;
        }
        let (limbs, rem) = ((bits / 32) as usize, bits % 32);
        if rem != 0 {
            let mut carry = 0u32;
            for l in self.0.iter_mut() {
                let nl = (*l << rem) | carry;
                carry = *l >> (32 - rem);
                *l = nl;
            }
            if carry != 0 {
                self.0.push(carry);
            }
        }
        if limbs > 0 {
            let mut v = vec![0u32; limbs];
            v.extend_from_slice(&self.0);
            self.0 = v;
        }
    }

    fn cmp(&self, o: &Big) -> Ordering {
        let (a, b) = (&self.0, &o.0);
        a.len().cmp(&b.len()).then_with(|| a.iter().rev().cmp(b.iter().rev()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_decimal_subnormal_is_not_a_range_error() {
        // 2^-1074 written out exactly.
        let mut x = Big::from_u64(1);
        x.mul_pow5(1074);
        let digits: String = {
            let mut d = Vec::new();
            let mut limbs = x.0.clone();
            while !limbs.is_empty() {
                let mut rem = 0u64;
                for l in limbs.iter_mut().rev() {
                    let cur = (rem << 32) | *l as u64;
                    *l = (cur / 10) as u32;
                    rem = cur % 10;
                }
                d.push(b'0' + rem as u8);
                while limbs.last() == Some(&0) {
                    limbs.pop();
                }
            }
            d.reverse();
            String::from_utf8(d).unwrap_or_default()
        };
        let s = format!("{digits}e-1074");
        assert_eq!(strtod(s.as_bytes()), (pow2(-1074), s.len(), false));
        // One more digit: inexact and tiny, a range error.
        let s2 = format!("{digits}1e-1075");
        assert_eq!(strtod(s2.as_bytes()), (pow2(-1074), s2.len(), true));
    }
}
