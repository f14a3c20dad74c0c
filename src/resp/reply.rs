//! Reply writer: encodes RESP2 or RESP3 replies straight into a connection's
//! output buffer. Command code calls typed methods (`bulk`, `int`, `map_len`...)
//! and never formats protocol bytes itself, so the same code serves both protocols.

use bytes::BytesMut;

/// A connection's pending output and the protocol version it speaks.
pub struct Reply {
    pub buf: BytesMut,
    /// 2 or 3, set by HELLO.
    pub resp: u8,
}

impl Reply {
    pub fn new() -> Self {
        Reply { buf: BytesMut::with_capacity(16 * 1024), resp: 2 }
    }

    #[inline]
    fn line(&mut self, prefix: u8, n: i64) {
        let mut b = itoa::Buffer::new();
        self.buf.extend_from_slice(&[prefix]);
        self.buf.extend_from_slice(b.format(n).as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    #[inline]
    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// A status (simple string) reply; `s` must not contain CR or LF.
    pub fn status(&mut self, s: &str) {
        self.buf.extend_from_slice(b"+");
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An error reply. `msg` is the full text including its code (`ERR ...`,
    /// `WRONGTYPE ...`); newlines are replaced by spaces as Redis does.
    pub fn error(&mut self, msg: &str) {
        self.buf.extend_from_slice(b"-");
        if msg.contains(['\r', '\n']) {
            self.buf.extend_from_slice(msg.replace(['\r', '\n'], " ").as_bytes());
        } else {
            self.buf.extend_from_slice(msg.as_bytes());
        }
        self.buf.extend_from_slice(b"\r\n");
    }

    #[inline]
    pub fn int(&mut self, n: i64) {
        self.line(b':', n);
    }

    #[inline]
    pub fn bulk(&mut self, data: &[u8]) {
        self.line(b'$', data.len() as i64);
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A bulk holding the decimal form of `n` (as Redis replies for GET of an int).
    pub fn bulk_int(&mut self, n: i64) {
        let mut b = itoa::Buffer::new();
        self.bulk(b.format(n).as_bytes());
    }

    /// The null bulk (`$-1` in RESP2, `_` in RESP3).
    #[inline]
    pub fn null(&mut self) {
        if self.resp >= 3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"$-1\r\n");
        }
    }

    /// The null array (`*-1` in RESP2, `_` in RESP3).
    pub fn null_array(&mut self) {
        if self.resp >= 3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"*-1\r\n");
        }
    }

    #[inline]
    pub fn array_len(&mut self, n: usize) {
        self.line(b'*', n as i64);
    }

    /// A map header: `%n` in RESP3, an array of 2n in RESP2.
    pub fn map_len(&mut self, n: usize) {
        if self.resp >= 3 {
            self.line(b'%', n as i64);
        } else {
            self.line(b'*', 2 * n as i64);
        }
    }

    /// A set header: `~n` in RESP3, an array in RESP2.
    pub fn set_len(&mut self, n: usize) {
        if self.resp >= 3 {
            self.line(b'~', n as i64);
        } else {
            self.line(b'*', n as i64);
        }
    }

    /// A push header (RESP3 out-of-band data); an array in RESP2.
    pub fn push_len(&mut self, n: usize) {
        if self.resp >= 3 {
            self.line(b'>', n as i64);
        } else {
            self.line(b'*', n as i64);
        }
    }

    /// A double: `,` in RESP3, a bulk string in RESP2 (Redis's `%.17g` form).
    pub fn double(&mut self, d: f64) {
        let s = crate::util::fmt_double_17g(d);
        if self.resp >= 3 {
            self.buf.extend_from_slice(b",");
            self.buf.extend_from_slice(s.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(s.as_bytes());
        }
    }

    /// A boolean: `#t`/`#f` in RESP3, integer 1/0 in RESP2.
    pub fn boolean(&mut self, b: bool) {
        if self.resp >= 3 {
            self.buf.extend_from_slice(if b { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(b as i64);
        }
    }

    /// Verbatim text (`=len\r\ntxt:...` in RESP3, a bulk in RESP2), used by INFO and friends.
    pub fn verbatim(&mut self, text: &[u8]) {
        if self.resp >= 3 {
            self.line(b'=', text.len() as i64 + 4);
            self.buf.extend_from_slice(b"txt:");
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// An array of bulk strings.
    pub fn bulks<I, T>(&mut self, items: I)
    where
        I: ExactSizeIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        self.array_len(items.len());
        for it in items {
            self.bulk(it.as_ref());
        }
    }

    /// Raw protocol bytes (for replies cached as encoded text).
    pub fn raw(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }
}

impl Default for Reply {
    fn default() -> Self {
        Self::new()
    }
}
