//! Incremental request parser: turns bytes read from a socket into commands.
//!
//! Accepts both forms Redis accepts: RESP multibulk (`*2\r\n$3\r\nGET\r\n$1\r\na\r\n`)
//! and inline commands typed by a person (`GET a\r\n`). The parser keeps its
//! position inside a partially received multibulk, so a 512 MB value that arrives
//! in thousands of reads is scanned once; for a large bulk it reserves the whole
//! payload up front so the buffer never grows by repeated copying.

use bytes::{Buf, Bytes, BytesMut};

/// Longest inline request or multibulk header line accepted without a newline.
pub const PROTO_INLINE_MAX_SIZE: usize = 64 * 1024;
/// Bulks at least this big are reserved in one go and split off without copying.
const BIG_ARG: usize = 32 * 1024;

/// A protocol violation: the text goes after `-ERR Protocol error: ` and the
/// connection is closed, as Redis does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtoError(pub &'static str);

/// Limits that the parser enforces (from `proto-max-bulk-len` and authentication).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_bulk_len: i64,
    /// Unauthenticated clients may not announce more than 10 args / 16 KB bulks.
    pub authenticated: bool,
}

#[derive(Default)]
pub struct Parser {
    /// Arguments of the multibulk being received.
    args: Vec<Bytes>,
    /// Arguments still to come for the current multibulk (0 = between commands).
    remaining: usize,
    /// Length of the bulk whose `$len` line was read but whose payload was not.
    bulk_len: Option<usize>,
}

impl Parser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes of the arguments of a partly received command already taken out
    /// of the read buffer (they count toward `client-query-buffer-limit`).
    pub fn pending_bytes(&self) -> usize {
        self.args.iter().map(|a| a.len()).sum()
    }

    /// True when a command has been partly received.
    pub fn in_progress(&self) -> bool {
        self.remaining > 0 || self.bulk_len.is_some()
    }

    /// Parses the next complete command from `buf`, consuming its bytes.
    /// `Ok(None)` means more bytes are needed. An empty inline line yields an
    /// empty argument vector, which callers skip.
    pub fn next(&mut self, buf: &mut BytesMut, lim: Limits) -> Result<Option<Vec<Bytes>>, ProtoError> {
        if self.remaining == 0 {
            if buf.is_empty() {
                return Ok(None);
            }
            if buf[0] != b'*' {
                return parse_inline(buf);
            }
            let Some(line_end) = find_crlf(buf) else {
                if buf.len() > PROTO_INLINE_MAX_SIZE {
                    return Err(ProtoError("too big mbulk count string"));
                }
                return Ok(None);
            };
            let n = parse_int(&buf[1..line_end]);
            let n = match n {
                Some(n) if n <= i32::MAX as i64 => n,
                _ => return Err(ProtoError("invalid multibulk length")),
            };
            if !lim.authenticated && n > 10 {
                return Err(ProtoError("unauthenticated multibulk length"));
            }
            buf.advance(line_end + 2);
            if n <= 0 {
                return Ok(Some(Vec::new()));
            }
            self.remaining = n as usize;
            self.args = Vec::with_capacity((n as usize).min(1024));
        }
        while self.remaining > 0 {
            let len = match self.bulk_len {
                Some(l) => l,
                None => {
                    if buf.is_empty() {
                        return Ok(None);
                    }
                    let Some(line_end) = find_crlf(buf) else {
                        if buf.len() > PROTO_INLINE_MAX_SIZE {
                            return Err(ProtoError("too big bulk count string"));
                        }
                        return Ok(None);
                    };
                    if buf[0] != b'$' {
                        return Err(ProtoError(expected_dollar(buf[0])));
                    }
                    let l = match parse_int(&buf[1..line_end]) {
                        Some(l) if l >= 0 && l <= lim.max_bulk_len => l,
                        _ => return Err(ProtoError("invalid bulk length")),
                    };
                    if !lim.authenticated && l > 16384 {
                        return Err(ProtoError("unauthenticated bulk length"));
                    }
                    buf.advance(line_end + 2);
                    let l = l as usize;
                    if l >= BIG_ARG && buf.capacity() - buf.len() < l + 2 {
                        buf.reserve(l + 2 - buf.len().min(l + 2));
                    }
                    self.bulk_len = Some(l);
                    l
                }
            };
            if buf.len() < len + 2 {
                return Ok(None);
            }
            let arg = buf.split_to(len).freeze();
            buf.advance(2);
            self.bulk_len = None;
            self.args.push(arg);
            self.remaining -= 1;
        }
        Ok(Some(std::mem::take(&mut self.args)))
    }
}

fn expected_dollar(got: u8) -> &'static str {
    // Redis prints the offending byte; the common cases are named exactly.
    match got {
        b'*' => "expected '$', got '*'",
        b':' => "expected '$', got ':'",
        b'+' => "expected '$', got '+'",
        b'-' => "expected '$', got '-'",
        b'\r' => "expected '$', got '\r'",
        b'\n' => "expected '$', got '\n'",
        b' ' => "expected '$', got ' '",
        _ => {
            // Build a leaked static string per distinct byte once; bounded to 256.
            static TABLE: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
            TABLE.get_or_init(|| {
                (0u8..=255)
                    .map(|b| &*Box::leak(format!("expected '$', got '{}'", b as char).into_boxed_str()))
                    .collect()
            })[got as usize]
        }
    }
}

fn find_crlf(buf: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(p) = memchr(b'\r', &buf[from..]) {
        let i = from + p;
        if i + 1 >= buf.len() {
            return None;
        }
        if buf[i + 1] == b'\n' {
            return Some(i);
        }
        from = i + 1;
    }
    None
}

#[inline]
fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

/// Parses a signed decimal as Redis's `string2ll` does (no spaces, no `+`).
pub fn parse_int(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let (neg, digits) = if s[0] == b'-' { (true, &s[1..]) } else { (false, s) };
    // Only "0" itself may start with 0 ("-0" and "01" are rejected, as string2ll does).
    if digits.is_empty() || (digits[0] == b'0' && (digits.len() > 1 || neg)) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else if v > i64::MAX as u64 {
        None
    } else {
        Some(v as i64)
    }
}

fn parse_inline(buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtoError> {
    let Some(nl) = memchr(b'\n', buf) else {
        if buf.len() > PROTO_INLINE_MAX_SIZE {
            return Err(ProtoError("too big inline request"));
        }
        return Ok(None);
    };
    let line_end = if nl > 0 && buf[nl - 1] == b'\r' { nl - 1 } else { nl };
    let args = split_args(&buf[..line_end]).ok_or(ProtoError("unbalanced quotes in request"))?;
    buf.advance(nl + 1);
    Ok(Some(args.into_iter().map(Bytes::from).collect()))
}

/// Splits a line into arguments with redis-cli / redis.conf quoting rules:
/// `"..."` with backslash escapes (`\n \r \t \b \a \\ \" \xHH`) and `'...'` with
/// only `\'`. A closing quote must be followed by a space or the end of line.
/// Returns `None` on unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && is_space(line[i]) {
            i += 1;
        }
        if i >= n {
            return Some(out);
        }
        let mut cur = Vec::new();
        let mut inq = false;
        let mut insq = false;
        loop {
            if inq {
                if i >= n {
                    return None;
                }
                if line[i] == b'\\' && i + 3 < n && line[i + 1] == b'x' && is_hex(line[i + 2]) && is_hex(line[i + 3]) {
                    cur.push(hex(line[i + 2]) * 16 + hex(line[i + 3]));
                    i += 3;
                } else if line[i] == b'\\' && i + 1 < n {
                    i += 1;
                    cur.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        c => c,
                    });
                } else if line[i] == b'"' {
                    if i + 1 < n && !is_space(line[i + 1]) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(line[i]);
                }
            } else if insq {
                if i >= n {
                    return None;
                }
                if line[i] == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    i += 1;
                    cur.push(b'\'');
                } else if line[i] == b'\'' {
                    if i + 1 < n && !is_space(line[i + 1]) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(line[i]);
                }
            } else {
                if i >= n {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        i += 1;
                        break;
                    }
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    c => cur.push(c),
                }
            }
            i += 1;
        }
        out.push(cur);
    }
}

/// C's `isspace`: also vertical tab and form feed.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn is_hex(c: u8) -> bool {
    c.is_ascii_hexdigit()
}

fn hex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c - b'A' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIM: Limits = Limits { max_bulk_len: 512 * 1024 * 1024, authenticated: true };

    #[test]
    fn multibulk_in_pieces() {
        let mut p = Parser::new();
        let mut b = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$1"[..]);
        assert_eq!(p.next(&mut b, LIM).unwrap(), None);
        b.extend_from_slice(b"\r\na\r\n");
        let args = p.next(&mut b, LIM).unwrap().unwrap();
        assert_eq!(args, vec![Bytes::from("GET"), Bytes::from("a")]);
    }

    #[test]
    fn inline_quotes() {
        assert_eq!(split_args(b"set a \"b c\\x41\"").unwrap(), vec![b"set".to_vec(), b"a".to_vec(), b"b cA".to_vec()]);
        assert!(split_args(b"set \"a").is_none());
        assert!(split_args(b"set \"a\"b").is_none());
    }

    #[test]
    fn errors() {
        let mut p = Parser::new();
        let mut b = BytesMut::from(&b"*1\r\n:3\r\n"[..]);
        assert_eq!(p.next(&mut b, LIM), Err(ProtoError("expected '$', got ':'")));
        let mut p = Parser::new();
        let mut b = BytesMut::from(&b"*x\r\n"[..]);
        assert_eq!(p.next(&mut b, LIM), Err(ProtoError("invalid multibulk length")));
    }
}
