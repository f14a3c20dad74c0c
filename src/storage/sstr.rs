//! `SStr`: the bytes of a string value, in 15 bytes with alignment 1, so
//! that a `Value` holding it (tag byte first) is 16 bytes. Up to 14 bytes
//! are kept inline; a longer string is one exact-size heap block whose
//! address and length sit in the 15 bytes (a length prefix in the block
//! would push common sizes, such as 64 bytes, into the next size class).

use std::fmt;

/// The longest string kept inline.
const INLINE: usize = 14;
/// The first byte of a string held on the heap (inline lengths are 0..=14).
const HEAP: u8 = 0xFF;

/// A string held on the heap: `HEAP`, the length (48 bits, little endian),
/// the block's address. Packed to alignment 1; the address is a pointer
/// field, so that moving an `SStr` keeps its provenance.
#[repr(C, packed)]
#[derive(Clone, Copy)]
struct Heap {
    tag: u8,
    len: [u8; 6],
    ptr: *mut u8,
}

/// Inline: the length (0..=14), then the bytes. Heap: a `Heap`. The first
/// byte tells which; a union, as its copies keep every byte as it is.
#[repr(C)]
#[derive(Clone, Copy)]
union Repr {
    inline: [u8; 1 + INLINE],
    heap: Heap,
}

pub struct SStr {
    r: Repr,
}

// SAFETY: an SStr owns its heap block as a Box<[u8]> does; nothing else
// reaches it.
unsafe impl Send for SStr {}
// SAFETY: as above; `&SStr` only gives `&[u8]`.
unsafe impl Sync for SStr {}

impl SStr {
    pub fn new(b: &[u8]) -> SStr {
        if b.len() <= INLINE {
            let mut inline = [0u8; 1 + INLINE];
            inline[0] = b.len() as u8;
            inline[1..1 + b.len()].copy_from_slice(b);
            return SStr { r: Repr { inline } };
        }
        assert!(b.len() < 1 << 48, "string longer than 2^48 bytes");
        let block: Box<[u8]> = b.into();
        let ptr: *mut u8 = Box::into_raw(block).cast();
        let mut len = [0u8; 6];
        len.copy_from_slice(&(b.len() as u64).to_le_bytes()[..6]);
        SStr { r: Repr { heap: Heap { tag: HEAP, len, ptr } } }
    }

    /// The heap block and its length, for a string held there.
    #[inline]
    fn heap(&self) -> Option<(*mut u8, usize)> {
        // SAFETY: every byte of the union is initialized by either variant,
        // and the first byte says which one was written.
        unsafe {
            if self.r.inline[0] != HEAP {
                return None;
            }
            let h = self.r.heap;
            let mut len = [0u8; 8];
            len[..6].copy_from_slice(&h.len);
            Some((h.ptr, u64::from_le_bytes(len) as usize))
        }
    }

    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match self.heap() {
            // SAFETY: the block holds `len` initialized bytes and is owned
            // by this string for as long as it lives.
            Some((p, len)) => unsafe { std::slice::from_raw_parts(p, len) },
            // SAFETY: an inline string: the whole array is initialized.
            None => unsafe { &self.r.inline[1..1 + self.r.inline[0] as usize] },
        }
    }

    /// Bytes allocated on the heap for this string (0 when inline).
    pub fn heap_size(&self) -> usize {
        self.heap().map_or(0, |(_, len)| len)
    }
}

impl Drop for SStr {
    fn drop(&mut self) {
        if let Some((p, len)) = self.heap() {
            // SAFETY: the block came from a Box<[u8]> of `len` bytes in
            // `new`, and is given back once, here.
            drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(p, len)) });
        }
    }
}

impl Clone for SStr {
    fn clone(&self) -> Self {
        SStr::new(self.as_slice())
    }
}

impl std::ops::Deref for SStr {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl fmt::Debug for SStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_and_heap_strings() {
        assert_eq!(std::mem::size_of::<SStr>(), 15);
        assert_eq!(std::mem::align_of::<SStr>(), 1);
        for len in [0usize, 1, 13, 14, 15, 16, 22, 64, 1000, 70000] {
            let b: Vec<u8> = (0..len).map(|i| (i * 31 + len) as u8).collect();
            let s = SStr::new(&b);
            assert_eq!(&*s, &b[..]);
            assert_eq!(s.heap_size(), if len <= INLINE { 0 } else { len });
            let c = s.clone();
            drop(s);
            assert_eq!(&*c, &b[..]);
        }
    }
}
