//! The process's allocator: mimalloc, called the way its size classes pay
//! off, and counted for INFO's `used_memory`.
//!
//! mimalloc's aligned entry point over-allocates whenever its fast path
//! misses, so a 48-byte request with 8-byte alignment often lands in the
//! 64-byte class (a third more for every keyspace entry of that size). Every
//! block of 8 bytes or more from plain `mi_malloc` is aligned to at least 8
//! (its `MI_MAX_ALIGN_SIZE`, which `.cargo/config.toml` sets to 8 so that
//! the size classes up to 64 bytes go in steps of 8, as Redis's jemalloc
//! does; with the C default of 16 the blocks are 16-aligned, which is more
//! than needed), so requests needing no more alignment than 8, and no more
//! than their size, go there. Larger alignments (Lua's allocations ask for
//! 16) take the aligned path.
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

/// The alignment every plain `mi_malloc` block of at least this size has,
/// whichever `MI_MAX_ALIGN_SIZE` (8 or more) mimalloc was built with.
const MIN_ALIGN: usize = 8;

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
// their guaranteed 8-byte alignment suffices (every size class from 8 bytes
// up is a multiple of 8 and its pages start 8-aligned; a smaller request is
// only sent there with an alignment up to its size, and lands in the 8-byte
// class), else from the aligned functions with the
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every block has the layout's alignment, for sizes around each small
    /// class and alignments from 1 to 64, through alloc, zeroed alloc and
    /// realloc. (The classes themselves: `commands::memory`'s tests.)
    #[test]
    fn blocks_are_aligned() {
        let a = Counting;
        for align in [1usize, 2, 4, 8, 16, 32, 64] {
            for size in (align.max(1)..=200).step_by(align.max(1)).chain([1, 3, 7, 9, 4095, 70_000]) {
                let Ok(l) = Layout::from_size_align(size, align) else { continue };
                // SAFETY: a non-zero-size layout; each block is freed once,
                // with the layout it was allocated (or reallocated) with.
                unsafe {
                    let p = a.alloc(l);
                    assert_eq!(p as usize % align, 0, "alloc size {size} align {align}");
                    let z = a.alloc_zeroed(l);
                    assert_eq!(z as usize % align, 0, "zalloc size {size} align {align}");
                    assert!(std::slice::from_raw_parts(z, size).iter().all(|b| *b == 0));
                    let r = a.realloc(p, l, size * 3);
                    assert_eq!(r as usize % align, 0, "realloc size {size} align {align}");
                    a.dealloc(r, Layout::from_size_align(size * 3, align).unwrap());
                    a.dealloc(z, l);
                }
            }
        }
    }
}
