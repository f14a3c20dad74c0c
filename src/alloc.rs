//! The process's allocator: mimalloc, called the way its size classes pay
//! off, and counted for INFO's `used_memory`.
//!
//! mimalloc's aligned entry point over-allocates whenever its fast path
//! misses, so a 48-byte request with 8-byte alignment often lands in the
//! 64-byte class (a third more for every keyspace entry of that size). Every
//! block of 16 bytes or more from plain `mi_malloc` is 16-aligned (its
//! `MI_MAX_ALIGN_SIZE`), so requests needing no more alignment than that,
//! and no more than their size, go there; only larger alignments take the
//! aligned path, as the C library's allocator does for Rust's `System`.
//!
//! The counter holds the size class of every live block (`mi_good_size` of
//! the request), which is what the allocator really hands out, as Redis
//! counts `malloc_usable_size`.

use libmimalloc_sys as mi;
use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes currently allocated through [`Counting`] (0 when it is not the
/// global allocator).
pub static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

/// The alignment every plain `mi_malloc` block of at least this size has.
const MIN_ALIGN: usize = 16;

/// mimalloc as the global allocator, keeping [`ALLOCATED`] current. Install in
/// the binary with `#[global_allocator] static A: Counting = Counting;`.
pub struct Counting;

/// The bytes mimalloc hands out for a request of `size`.
#[inline]
fn class(size: usize) -> usize {
    // SAFETY: mi_good_size is a pure computation on its argument.
    unsafe { mi::mi_good_size(size) }
}

/// Counts a new block of `size` bytes (none when the allocation failed).
#[inline]
fn counted(p: *mut c_void, size: usize) -> *mut u8 {
    if !p.is_null() {
        ALLOCATED.fetch_add(class(size), Ordering::Relaxed);
    }
    p.cast()
}

/// True when plain `mi_malloc` gives the alignment `layout` needs.
#[inline]
fn plain(layout: &Layout) -> bool {
    layout.align() <= MIN_ALIGN && layout.align() <= layout.size()
}

// SAFETY: blocks come from mimalloc with at least the layout's size and
// alignment: from `mi_malloc`/`mi_zalloc`/`mi_realloc` only when `plain` says
// their guaranteed 16-byte alignment (for blocks of 16 bytes or more; a
// smaller block is only asked for with an alignment up to its size, which
// its size class gives) suffices, else from the aligned functions with the
// layout's alignment. Every block is freed by `mi_free`, which takes both
// kinds. The counter is bookkeeping on an atomic and affects no block.
unsafe impl GlobalAlloc for Counting {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: see the impl's comment.
        let p = unsafe {
            if plain(&layout) {
                mi::mi_malloc(layout.size())
            } else {
                mi::mi_malloc_aligned(layout.size(), layout.align())
            }
        };
        counted(p, layout.size())
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: see the impl's comment.
        let p = unsafe {
            if plain(&layout) {
                mi::mi_zalloc(layout.size())
            } else {
                mi::mi_zalloc_aligned(layout.size(), layout.align())
            }
        };
        counted(p, layout.size())
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from one of the functions above (the caller's
        // contract), all of whose blocks mi_free takes.
        unsafe { mi::mi_free(ptr.cast::<c_void>()) };
        ALLOCATED.fetch_sub(class(layout.size()), Ordering::Relaxed);
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = Layout::from_size_align(new_size, layout.align());
        // SAFETY: `ptr` is a live block of `layout` (the caller's contract);
        // the new block gets the layout's alignment as in `alloc`.
        let p = unsafe {
            match new {
                Ok(n) if plain(&n) => mi::mi_realloc(ptr.cast(), new_size),
                _ => mi::mi_realloc_aligned(ptr.cast(), new_size, layout.align()),
            }
        };
        if !p.is_null() {
            let (new, old) = (class(new_size), class(layout.size()));
            if new >= old {
                ALLOCATED.fetch_add(new - old, Ordering::Relaxed);
            } else {
                ALLOCATED.fetch_sub(old - new, Ordering::Relaxed);
            }
        }
        p.cast()
    }
}
