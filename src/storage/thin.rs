//! One-word handles for the values held in keyspace entries.
//!
//! `ThinBuf` is an owned byte buffer behind a single pointer: its length is
//! stored in the allocation, before the bytes, as a varint (one byte below
//! 128, two below 16384), where a `Box<[u8]>` keeps it beside the pointer.
//! `Either` holds one of two owned things in one word, the kind in the low
//! bit of the pointer: a compact encoding (a `ThinBuf` in a transparent
//! wrapper) or a boxed large structure. Together they make a collection's
//! handle 8 bytes instead of 16. Buffers of sizes between the allocator's
//! size classes come from exact-size pools (`pool.rs`).

use std::alloc::Layout;
use std::marker::PhantomData;
use std::ptr::NonNull;

use super::varint;

/// Alignment of every buffer: 2, so that a buffer's address has its low bit
/// free for `Either`'s tag (the allocator gives at least 8 anyway).
const ALIGN: usize = 2;

/// The shared zero-length buffer (its varint, 0), so that an empty buffer
/// allocates nothing.
#[repr(align(8))]
struct Empty([u8; 8]);
static EMPTY: Empty = Empty([0; 8]);

/// An owned, fixed-length byte buffer: one pointer wide.
#[repr(transparent)]
pub struct ThinBuf {
    p: NonNull<u8>,
}

// SAFETY: a ThinBuf owns its bytes as a Box<[u8]> does (or points to the
// immutable shared empty buffer): nothing else reaches them.
unsafe impl Send for ThinBuf {}
// SAFETY: as above; `&ThinBuf` only gives `&[u8]`.
unsafe impl Sync for ThinBuf {}

impl ThinBuf {
    fn layout(len: usize) -> Layout {
        Layout::from_size_align(varint::len(len as u64) + len, ALIGN).expect("buffer lengths are bounded by u32")
    }

    #[inline]
    fn is_shared_empty(&self) -> bool {
        std::ptr::eq(self.p.as_ptr(), EMPTY.0.as_ptr())
    }

    /// A buffer of `len` zero bytes.
    pub fn zeroed(len: usize) -> ThinBuf {
        if len == 0 {
            return ThinBuf::default();
        }
        assert!(len <= u32::MAX as usize, "buffer longer than 4 GiB");
        let p = super::pool::alloc_zeroed(Self::layout(len));
        // SAFETY: the block starts with room for the varint of `len`.
        varint::write(unsafe { std::slice::from_raw_parts_mut(p.as_ptr(), varint::len(len as u64)) }, len as u64);
        ThinBuf { p }
    }

    /// A buffer holding a copy of `b`.
    pub fn new(b: &[u8]) -> ThinBuf {
        ThinBuf::concat(&[b])
    }

    /// A buffer holding `parts` back to back, built in one allocation (how
    /// the compact encodings rebuild themselves around an insertion or a
    /// removal).
    pub fn concat(parts: &[&[u8]]) -> ThinBuf {
        let mut t = ThinBuf::zeroed(parts.iter().map(|p| p.len()).sum());
        let mut at = 0;
        for p in parts {
            t[at..at + p.len()].copy_from_slice(p);
            at += p.len();
        }
        t
    }

    /// The length and where the bytes start.
    #[inline]
    fn header(&self) -> (usize, usize) {
        let mut n = 0usize;
        let mut shift = 0;
        let mut at = 0;
        loop {
            // SAFETY: the block starts with a complete varint (written by
            // `zeroed`, or the shared empty buffer's single 0).
            let b = unsafe { *self.p.as_ptr().add(at) };
            n |= ((b & 0x7F) as usize) << shift;
            at += 1;
            if b & 0x80 == 0 {
                return (n, at);
            }
            shift += 7;
        }
    }

    /// Bytes the buffer takes from the allocator or its pool (its length
    /// prefix included).
    pub fn alloc_size(&self) -> usize {
        if self.is_shared_empty() {
            0
        } else {
            super::pool::block_size(Self::layout(self.len()).size())
        }
    }

    /// Replaces the contents by what `f` leaves in a vector that starts as
    /// a copy of them (for edits that change the length).
    pub fn edit<R>(&mut self, f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        let mut v = self.to_vec();
        let r = f(&mut v);
        *self = ThinBuf::new(&v);
        r
    }

    /// Gives up ownership; `from_raw` takes it back.
    #[inline]
    pub fn into_raw(self) -> NonNull<u8> {
        let p = self.p;
        std::mem::forget(self);
        p
    }

    /// # Safety
    /// `p` must come from `into_raw` and be taken back once.
    #[inline]
    pub unsafe fn from_raw(p: NonNull<u8>) -> ThinBuf {
        ThinBuf { p }
    }
}

impl Default for ThinBuf {
    fn default() -> Self {
        ThinBuf { p: NonNull::from(&EMPTY.0).cast() }
    }
}

impl Drop for ThinBuf {
    fn drop(&mut self) {
        if !self.is_shared_empty() {
            let layout = Self::layout(self.len());
            // SAFETY: a non-shared buffer was allocated by `zeroed` with
            // this layout (the length it stores has not changed since).
            unsafe { super::pool::dealloc(self.p, layout) };
        }
    }
}

impl Clone for ThinBuf {
    fn clone(&self) -> Self {
        ThinBuf::new(self)
    }
}

impl std::ops::Deref for ThinBuf {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        let (len, at) = self.header();
        // SAFETY: `len` initialized bytes follow the varint in the block,
        // owned by (or shared read-only with) this buffer for `&self`.
        unsafe { std::slice::from_raw_parts(self.p.as_ptr().add(at), len) }
    }
}

impl std::ops::DerefMut for ThinBuf {
    #[inline]
    fn deref_mut(&mut self) -> &mut [u8] {
        if self.is_shared_empty() {
            return &mut [];
        }
        let (len, at) = self.header();
        // SAFETY: as in `deref`; the block is this buffer's own (not the
        // shared empty one), borrowed mutably for `&mut self`.
        unsafe { std::slice::from_raw_parts_mut(self.p.as_ptr().add(at), len) }
    }
}

impl From<Vec<u8>> for ThinBuf {
    fn from(v: Vec<u8>) -> Self {
        ThinBuf::new(&v)
    }
}

/// A type that is one owned pointer with its low bit clear, convertible to
/// and from that pointer: what `Either` holds on its compact side.
///
/// # Safety
/// The type must be `#[repr(transparent)]` over a `NonNull<u8>` (directly or
/// through other such types) holding the value `into_raw` returns, which
/// must be even; `from_raw` must accept exactly those values.
pub unsafe trait Word: Sized {
    fn into_raw(self) -> NonNull<u8>;
    /// # Safety
    /// `p` must come from `into_raw` and be taken back once.
    unsafe fn from_raw(p: NonNull<u8>) -> Self;
}

// SAFETY: ThinBuf is transparent over its pointer, which is 2-aligned (the
// shared empty buffer is 8-aligned, allocations ALIGN-aligned).
unsafe impl Word for ThinBuf {
    fn into_raw(self) -> NonNull<u8> {
        ThinBuf::into_raw(self)
    }
    unsafe fn from_raw(p: NonNull<u8>) -> Self {
        // SAFETY: by the caller's contract.
        unsafe { ThinBuf::from_raw(p) }
    }
}

/// Implements `Word` for a `#[repr(transparent)]` wrapper whose one field,
/// `buf`, is a `ThinBuf` (the compact encodings).
macro_rules! thin_word {
    ($t:ty) => {
        const _: () = assert!(std::mem::size_of::<$t>() == std::mem::size_of::<$crate::storage::thin::ThinBuf>());
        // SAFETY: the type is transparent over its `ThinBuf` (the macro's
        // contract; the size check above catches a second field), itself a
        // `Word`.
        unsafe impl $crate::storage::thin::Word for $t {
            fn into_raw(self) -> std::ptr::NonNull<u8> {
                self.buf.into_raw()
            }
            unsafe fn from_raw(p: std::ptr::NonNull<u8>) -> Self {
                // SAFETY: by the caller's contract, `p` is a ThinBuf's.
                Self { buf: unsafe { $crate::storage::thin::ThinBuf::from_raw(p) } }
            }
        }
    };
}
pub(crate) use thin_word;

/// A compact encoding `A` or a boxed large structure `B`, in one word: the
/// pointer's low bit is 0 for `A`, 1 for `B`.
#[repr(transparent)]
pub struct Either<A: Word, B> {
    raw: NonNull<u8>,
    _own: PhantomData<(A, Box<B>)>,
}

// SAFETY: an Either owns its A or its Box<B> and nothing else.
unsafe impl<A: Word + Send, B: Send> Send for Either<A, B> {}
// SAFETY: as above; `&Either` only gives `&A` or `&B`.
unsafe impl<A: Word + Sync, B: Sync> Sync for Either<A, B> {}

/// What an `Either` holds, borrowed.
pub enum Ref<'a, A, B> {
    A(&'a A),
    B(&'a B),
}

/// What an `Either` holds, borrowed mutably.
pub enum Mut<'a, A, B> {
    A(&'a mut A),
    B(&'a mut B),
}

impl<A: Word, B> Either<A, B> {
    #[inline]
    pub fn a(a: A) -> Self {
        let raw = a.into_raw();
        debug_assert!(raw.as_ptr().addr() & 1 == 0);
        Either { raw, _own: PhantomData }
    }

    #[inline]
    pub fn b(b: Box<B>) -> Self {
        let p = NonNull::from(Box::leak(b)).cast::<u8>();
        assert!(std::mem::align_of::<B>() >= 2);
        Either { raw: p.map_addr(|a| a | 1), _own: PhantomData }
    }

    #[inline]
    fn is_a(&self) -> bool {
        self.raw.as_ptr().addr() & 1 == 0
    }

    #[inline]
    fn b_ptr(&self) -> *mut B {
        self.raw.as_ptr().map_addr(|a| a & !1).cast()
    }

    #[inline]
    pub fn get(&self) -> Ref<'_, A, B> {
        if self.is_a() {
            // SAFETY: with the bit clear, `raw` is an A's whole
            // representation (A is transparent over it, by `Word`), so this
            // word may be read as an A for the borrow of `self`.
            Ref::A(unsafe { &*(self as *const Self).cast::<A>() })
        } else {
            // SAFETY: with the bit set, the rest is a live Box<B> we own.
            Ref::B(unsafe { &*self.b_ptr() })
        }
    }

    #[inline]
    pub fn get_mut(&mut self) -> Mut<'_, A, B> {
        if self.is_a() {
            // SAFETY: as in `get`; an A written through this borrow is
            // still an A (its `into_raw` is even), so the tag stays right.
            Mut::A(unsafe { &mut *(self as *mut Self).cast::<A>() })
        } else {
            // SAFETY: as in `get`, borrowed mutably with `self`.
            Mut::B(unsafe { &mut *self.b_ptr() })
        }
    }

    /// Takes what is held out of the handle.
    pub fn into_inner(self) -> Result<A, Box<B>> {
        let this = std::mem::ManuallyDrop::new(self);
        if this.is_a() {
            // SAFETY: an A's pointer, taken back once (self is not dropped).
            Ok(unsafe { A::from_raw(this.raw) })
        } else {
            // SAFETY: the Box leaked by `b`, taken back once.
            Err(unsafe { Box::from_raw(this.b_ptr()) })
        }
    }
}

impl<A: Word, B> Drop for Either<A, B> {
    fn drop(&mut self) {
        if self.is_a() {
            // SAFETY: an A's pointer, taken back once, here.
            drop(unsafe { A::from_raw(self.raw) });
        } else {
            // SAFETY: the Box leaked by `b`, taken back once, here.
            drop(unsafe { Box::from_raw(self.b_ptr()) });
        }
    }
}

impl<A: Word + Clone, B: Clone> Clone for Either<A, B> {
    fn clone(&self) -> Self {
        match self.get() {
            Ref::A(a) => Either::a(a.clone()),
            Ref::B(b) => Either::b(Box::new(b.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thin_buf_lengths_and_contents() {
        for len in [0usize, 1, 5, 127, 128, 129, 16383, 16384, 70000, 2_097_152] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
            let mut t = ThinBuf::new(&data);
            assert_eq!(&t[..], &data[..]);
            assert_eq!(t.len(), len);
            // Sizes between the allocator's classes take a pool's slot (129
            // and 130 bytes: the 144-byte one).
            let size = varint::len(len as u64) + len;
            let pooled = if (129..=144).contains(&size) { 144 } else { size };
            assert_eq!(t.alloc_size(), if len == 0 { 0 } else { pooled });
            assert_eq!(t.p.as_ptr().addr() % 2, 0);
            if len > 0 {
                t[len - 1] ^= 0xFF;
                assert_ne!(t[len - 1], data[len - 1]);
            }
            let c = t.clone();
            assert_eq!(&c[..], &t[..]);
            t.edit(|v| v.push(9));
            assert_eq!(t.len(), len + 1);
            assert_eq!(t[len], 9);
        }
        let mut e = ThinBuf::default();
        assert!(e.is_empty());
        assert_eq!(&mut e[..], &mut [] as &mut [u8]);
        assert_eq!(std::mem::size_of::<ThinBuf>(), 8);
        assert_eq!(std::mem::size_of::<Option<ThinBuf>>(), 8);
    }

    #[test]
    fn either_holds_both_kinds() {
        let mut x: Either<ThinBuf, Vec<u32>> = Either::a(ThinBuf::new(b"abc"));
        assert_eq!(std::mem::size_of_val(&x), 8);
        match x.get_mut() {
            Mut::A(a) => a.edit(|v| v.extend_from_slice(b"def")),
            Mut::B(_) => panic!("wrong kind"),
        }
        assert!(matches!(x.get(), Ref::A(a) if &a[..] == b"abcdef"));
        let y = x.clone();
        x = Either::b(Box::new(vec![1, 2, 3]));
        if let Mut::B(b) = x.get_mut() {
            b.push(4);
        }
        assert!(matches!(x.get(), Ref::B(b) if b == &[1, 2, 3, 4]));
        assert!(matches!(x.clone().into_inner(), Err(b) if *b == vec![1, 2, 3, 4]));
        assert!(matches!(y.into_inner(), Ok(a) if &a[..] == b"abcdef"));
        let empty: Either<ThinBuf, u64> = Either::a(ThinBuf::default());
        assert!(matches!(empty.get(), Ref::A(a) if a.is_empty()));
    }
}
