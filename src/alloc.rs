//! The allocator of the `simrq` binary and of the benchmarks: mimalloc, asked for plain
//! `mi_malloc` wherever the layout allows.
//!
//! `mimalloc::MiMalloc` passes every allocation to `mi_malloc_aligned`, even the ordinary ones
//! whose alignment `mi_malloc` already gives. In mimalloc 3 that path falls back to a slow
//! over-allocating search each time a page's free list runs dry for a size that is not a
//! power of two, which the simulation's many small strings hit about 40 times a job (about
//! 2 % of a run's instructions). The rule for "ordinary" is the one Rust's `System`
//! allocator uses for `malloc`: an alignment of at most 16 (`MI_MAX_ALIGN_SIZE`) and no larger
//! than the size (a size is a multiple of its alignment, so mimalloc's size class keeps it).

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// The largest alignment `mi_malloc` guarantees (`MI_MAX_ALIGN_SIZE`).
const MIN_ALIGN: usize = 16;

/// mimalloc through its plain entry points where the layout allows.
pub struct Allocator;

fn plain(align: usize, size: usize) -> bool {
    align <= MIN_ALIGN && align <= size
}

// SAFETY: every block comes from mimalloc and goes back to it: `mi_free` and `mi_realloc*`
// take blocks from any of its allocation functions, and a plain block is asked for only
// where `mi_malloc`'s guaranteed alignment covers the layout's.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if plain(layout.align(), layout.size()) {
            mi::mi_malloc(layout.size()) as *mut u8
        } else {
            mi::mi_malloc_aligned(layout.size(), layout.align()) as *mut u8
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if plain(layout.align(), layout.size()) {
            mi::mi_zalloc(layout.size()) as *mut u8
        } else {
            mi::mi_zalloc_aligned(layout.size(), layout.align()) as *mut u8
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        mi::mi_free(ptr as *mut c_void)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if plain(layout.align(), new_size) {
            mi::mi_realloc(ptr as *mut c_void, new_size) as *mut u8
        } else {
            mi::mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) as *mut u8
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every layout, plain or not, gets a block of its alignment that holds its bytes
    /// through a realloc to a bigger and a smaller size.
    #[test]
    fn blocks_are_aligned_and_keep_their_bytes() {
        let allocator = Allocator;
        for align in [1usize, 2, 4, 8, 16, 32, 64, 4096] {
            for size in [align, 3 * align, 24, 40, 100, 1000, 70_000] {
                let size = size.div_ceil(align) * align;
                let layout = Layout::from_size_align(size, align).unwrap();
                unsafe {
                    let block = allocator.alloc(layout);
                    assert_eq!(block as usize % align, 0, "{size} / {align}");
                    block.write_bytes(0xa5, size);
                    let grown = allocator.realloc(block, layout, 2 * size);
                    assert_eq!(grown as usize % align, 0);
                    assert!((0..size).all(|at| *grown.add(at) == 0xa5));
                    let grown_layout = Layout::from_size_align(2 * size, align).unwrap();
                    let shrunk = allocator.realloc(grown, grown_layout, align);
                    assert_eq!(shrunk as usize % align, 0);
                    assert_eq!(*shrunk, 0xa5);
                    allocator.dealloc(shrunk, Layout::from_size_align(align, align).unwrap());
                    let zeroed = allocator.alloc_zeroed(layout);
                    assert_eq!(zeroed as usize % align, 0);
                    assert!((0..size).all(|at| *zeroed.add(at) == 0));
                    allocator.dealloc(zeroed, layout);
                }
            }
        }
    }
}
