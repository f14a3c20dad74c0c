//! Exact-size pools for the compact encodings' buffers (`ThinBuf`) whose
//! sizes fall between the allocator's size classes.
//!
//! mimalloc, like jemalloc, has four size classes per doubling: above 128
//! bytes they are 160, 192, 224, 256, 320, ... so a small hash of ten fields
//! (a 144-byte buffer) takes 160 bytes. The pools add the classes in between
//! (144, 176, 208, 240, 288, 352, 416, 480): a buffer whose size needs one of
//! them comes from its pool, any other from the allocator.
//!
//! A pool hands out slots of one size from 64 KiB chunks, carved from 4 MiB
//! regions mapped from the kernel and aligned to the chunk size, so that a
//! slot finds its chunk's header by masking its address. A chunk whose slots
//! are all free is given back to the kernel (`MADV_DONTNEED`) and serves any
//! class afterwards, unless it is its pool's only chunk with room. One lock
//! covers the pools: buffers are freed by the lazy-free and snapshot threads
//! too, and the server's lock does not cover those.
//!
//! Live slots count toward `used_memory` at their size, free slots do not
//! (they show as fragmentation, like memory an allocator keeps).

use parking_lot::Mutex;
use std::alloc::Layout;
use std::ptr::NonNull;
use std::sync::atomic::Ordering;

const CHUNK: usize = 64 << 10;
const REGION: usize = 4 << 20;
/// Bytes of a chunk's header; slots start after it (16-aligned).
const HEAD: usize = 64;
/// The pools' slot sizes, each with the allocator's class just below it:
/// a request above that class and up to the slot size is pooled.
const CLASSES: [(usize, usize); 8] =
    [(128, 144), (160, 176), (192, 208), (224, 240), (256, 288), (320, 352), (384, 416), (448, 480)];
/// `Chunk::at` of a chunk in no pool's list of chunks with room.
const NOT_LISTED: u32 = u32::MAX;

/// The header at the start of every chunk.
#[repr(C)]
struct Chunk {
    /// The first free slot; each free slot starts with the next one's address.
    free: *mut u8,
    /// Offset of the first slot never handed out.
    fresh: u32,
    live: u32,
    /// Index in its pool's `room` list, or `NOT_LISTED`.
    at: u32,
}

const _: () = assert!(std::mem::size_of::<Chunk>() <= HEAD);

struct Pools {
    /// Per class, the chunks with a free slot.
    room: [Vec<NonNull<Chunk>>; CLASSES.len()],
    /// Chunks given back to the kernel, for any class.
    spare: Vec<NonNull<Chunk>>,
    /// The current region's next chunk, and the bytes left after it.
    carve: *mut u8,
    carve_left: usize,
}

// SAFETY: the pointers are to chunks this module owns; they are only used
// under the lock.
unsafe impl Send for Pools {}

static POOLS: Mutex<Pools> = Mutex::new(Pools {
    room: [const { Vec::new() }; CLASSES.len()],
    spare: Vec::new(),
    carve: std::ptr::null_mut(),
    carve_left: 0,
});

/// A zeroed block for `layout` (alignment 16 at most): a pool's slot when
/// one fits its size better than the allocator's classes, else the
/// allocator's.
pub fn alloc_zeroed(layout: Layout) -> NonNull<u8> {
    debug_assert!(layout.align() <= 16 && layout.size() > 0);
    match class_of(layout.size()) {
        Some(class) => {
            let p = alloc(class);
            // SAFETY: the slot holds at least `layout.size()` bytes.
            unsafe { std::ptr::write_bytes(p.as_ptr(), 0, layout.size()) };
            p
        }
        None => {
            // SAFETY: the layout's size is non-zero.
            let raw = unsafe { std::alloc::alloc_zeroed(layout) };
            NonNull::new(raw).unwrap_or_else(|| std::alloc::handle_alloc_error(layout))
        }
    }
}

/// Frees a block of `alloc_zeroed`.
///
/// # Safety
/// `p` must come from `alloc_zeroed(layout)` with this layout, and not be
/// used afterwards.
pub unsafe fn dealloc(p: NonNull<u8>, layout: Layout) {
    // SAFETY: by the contract; the size selects the same pool as it did.
    unsafe {
        match class_of(layout.size()) {
            Some(class) => free(p, class),
            None => std::alloc::dealloc(p.as_ptr(), layout),
        }
    }
}

/// Bytes the block for a request of `size` takes from its pool (else the
/// request's own size).
pub fn block_size(size: usize) -> usize {
    class_of(size).map_or(size, slot_size)
}

/// The pool for blocks of `size` bytes, if one fits them better than the
/// allocator does.
#[inline]
fn class_of(size: usize) -> Option<usize> {
    if size <= CLASSES[0].0 || size > CLASSES[CLASSES.len() - 1].1 {
        return None;
    }
    CLASSES.iter().position(|&(lo, hi)| size > lo && size <= hi)
}

/// Bytes a block of pool `class` takes.
#[inline]
fn slot_size(class: usize) -> usize {
    CLASSES[class].1
}

/// A slot of pool `class` (its contents unspecified).
fn alloc(class: usize) -> NonNull<u8> {
    let size = slot_size(class);
    let mut pools = POOLS.lock();
    let chunk = match pools.room[class].last() {
        Some(&c) => c,
        None => {
            let c = pools.new_chunk();
            pools.list(class, c);
            c
        }
    };
    // SAFETY: the chunk is live and ours, under the lock; it is in the room
    // list, so it has a free slot or room for a fresh one within the chunk.
    let slot = unsafe {
        let h = &mut *chunk.as_ptr();
        let base = chunk.as_ptr().cast::<u8>();
        let slot = if !h.free.is_null() {
            let s = h.free;
            h.free = s.cast::<*mut u8>().read();
            s
        } else {
            let s = base.add(h.fresh as usize);
            h.fresh += size as u32;
            s
        };
        h.live += 1;
        if h.free.is_null() && h.fresh as usize + size > CHUNK {
            pools.unlist(class, chunk);
        }
        slot
    };
    drop(pools);
    crate::alloc::ALLOCATED.fetch_add(size, Ordering::Relaxed);
    // SAFETY: a slot address within a mapped chunk is not null.
    unsafe { NonNull::new_unchecked(slot) }
}

/// Gives back a slot of pool `class`.
///
/// # Safety
/// `p` must come from `alloc(class)` and not be used afterwards.
unsafe fn free(p: NonNull<u8>, class: usize) {
    let chunk = p.as_ptr().map_addr(|a| a & !(CHUNK - 1)).cast::<Chunk>();
    let mut pools = POOLS.lock();
    // SAFETY: by the contract the slot belongs to the chunk whose header
    // starts at the slot's address rounded down to the chunk size; the
    // header is only touched under the lock.
    unsafe {
        let h = &mut *chunk;
        p.as_ptr().cast::<*mut u8>().write(h.free);
        h.free = p.as_ptr();
        h.live -= 1;
        let c = NonNull::new_unchecked(chunk);
        if h.at == NOT_LISTED {
            pools.list(class, c);
        }
        if h.live == 0 && pools.room[class].len() > 1 {
            pools.unlist(class, c);
            // The chunk's pages go back to the kernel (they read as zeros
            // afterwards); the header is rewritten when the chunk is reused.
            libc::madvise(chunk.cast(), CHUNK, libc::MADV_DONTNEED);
            pools.spare.push(c);
        }
    }
    drop(pools);
    crate::alloc::ALLOCATED.fetch_sub(slot_size(class), Ordering::Relaxed);
}

impl Pools {
    /// A fresh chunk: a spare one, or the next of the current
    /// region (mapping a new region when it is used up).
    fn new_chunk(&mut self) -> NonNull<Chunk> {
        let c = match self.spare.pop() {
            Some(c) => c,
            None => {
                if self.carve_left == 0 {
                    self.carve = map_region();
                    self.carve_left = REGION;
                }
                let at = self.carve;
                // SAFETY: `carve_left` bytes from `carve` are the region's
                // uncarved part, a multiple of the chunk size (the pointer
                // may end one past the region).
                self.carve = unsafe { at.add(CHUNK) };
                self.carve_left -= CHUNK;
                // SAFETY: a mapped address, not null.
                unsafe { NonNull::new_unchecked(at.cast::<Chunk>()) }
            }
        };
        // SAFETY: `c` is the start of a mapped, writable, unused chunk.
        unsafe { c.as_ptr().write(Chunk { free: std::ptr::null_mut(), fresh: HEAD as u32, live: 0, at: NOT_LISTED }) };
        c
    }

    fn list(&mut self, class: usize, c: NonNull<Chunk>) {
        // SAFETY: a live chunk of ours, under the lock.
        unsafe { (*c.as_ptr()).at = self.room[class].len() as u32 };
        self.room[class].push(c);
    }

    fn unlist(&mut self, class: usize, c: NonNull<Chunk>) {
        // SAFETY: live chunks of ours, under the lock; `at` is the chunk's
        // index in the list (kept by `list` and here).
        unsafe {
            let i = (*c.as_ptr()).at as usize;
            self.room[class].swap_remove(i);
            if let Some(moved) = self.room[class].get(i) {
                (*moved.as_ptr()).at = i as u32;
            }
            (*c.as_ptr()).at = NOT_LISTED;
        }
    }
}

/// Maps a new region aligned to the chunk size.
fn map_region() -> *mut u8 {
    let len = REGION + CHUNK;
    // SAFETY: an anonymous private mapping of `len` bytes, no address hint;
    // the parts outside the aligned region are unmapped right away.
    unsafe {
        let raw = libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if raw == libc::MAP_FAILED {
            std::alloc::handle_alloc_error(std::alloc::Layout::from_size_align_unchecked(REGION, CHUNK));
        }
        let raw = raw.cast::<u8>();
        let head = raw.addr().next_multiple_of(CHUNK) - raw.addr();
        if head > 0 {
            libc::munmap(raw.cast(), head);
        }
        let base = raw.add(head);
        let tail = CHUNK - head;
        if tail > 0 {
            libc::munmap(base.add(REGION).cast(), tail);
        }
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn classes_fill_the_allocators_gaps() {
        assert_eq!(class_of(128), None);
        assert_eq!(class_of(129).map(slot_size), Some(144));
        assert_eq!(class_of(144).map(slot_size), Some(144));
        assert_eq!(class_of(145), None);
        assert_eq!(class_of(161).map(slot_size), Some(176));
        assert_eq!(class_of(480).map(slot_size), Some(480));
        assert_eq!(class_of(481), None);
    }

    #[test]
    fn slots_are_distinct_and_keep_their_bytes() {
        // Random allocations and frees across every class, each slot filled
        // with a byte of its own and checked before it is freed.
        let mut rng = rand::thread_rng();
        let mut live: Vec<(NonNull<u8>, usize, u8)> = Vec::new();
        for round in 0..60_000u32 {
            if live.is_empty() || rng.gen_range(0..3) > 0 && round < 40_000 {
                let class = rng.gen_range(0..CLASSES.len());
                let p = alloc(class);
                assert_eq!(p.as_ptr().addr() % 16, 0);
                let mark = rng.gen::<u8>();
                // SAFETY: a fresh slot of `slot_size(class)` bytes.
                unsafe { std::ptr::write_bytes(p.as_ptr(), mark, slot_size(class)) };
                live.push((p, class, mark));
            } else {
                let (p, class, mark) = live.swap_remove(rng.gen_range(0..live.len()));
                // SAFETY: a live slot of this class, freed once.
                unsafe {
                    let bytes = std::slice::from_raw_parts(p.as_ptr(), slot_size(class));
                    assert!(bytes.iter().all(|&b| b == mark), "a slot was overwritten");
                    free(p, class);
                }
            }
        }
        for (p, class, _) in live {
            // SAFETY: live slots, freed once.
            unsafe { free(p, class) };
        }
    }
}
