//! Freed task blocks kept for the next tasks, per thread, while a loop
//! lives on the thread.
//!
//! A loop that spawns bursts of tasks frees each burst's blocks before the
//! next one: through the global allocator, the freed memory often goes back
//! to the kernel (glibc trims the top of its heap once 128 KiB are free) and
//! the next burst faults every page in again, zeroed. In W1 (100 000 tasks
//! spawned, then gathered) those faults and the allocator took about half of
//! the time, for every runtime measured. Here a freed block goes on a free
//! list for its size instead, and the next task of that size takes it: no
//! call into the allocator, no fault.
//!
//! - Blocks are kept by size, in steps of 8 bytes up to 256 bytes (header
//!   and future), and only those of alignment 8 or less; a block is
//!   allocated with its size rounded up to the step, so that every block on
//!   a list can hold any task of that size. Bigger or over-aligned blocks go
//!   straight to the allocator.
//! - The cache is per thread, with no lock: a block freed on a thread
//!   without a live loop (the last waker dropped on a foreign thread, say)
//!   goes back to the allocator.
//! - It keeps at most [`MAX_KEPT`] bytes. When the loop is about to wait
//!   (in the selector, or for the virtual clock's next timer) it gives back
//!   all but [`IDLE_KEPT`]; when the thread's last loop is dropped, and
//!   when the thread exits, it gives back everything. So the gain is for
//!   bursts that follow one another without the loop waiting in between,
//!   and for bursts of up to [`IDLE_KEPT`] bytes of blocks (about 3 000
//!   small tasks) after a wait.
//!
//! Under loom, blocks go straight to the allocator, and so they do with
//! `TULIPA_BLOCK_CACHE=off` in the environment (read once per process):
//! memory checkers such as valgrind see a block's memory as in use while it
//! is cached, so only without the cache can they catch a use of a task
//! block after its last reference is gone.

use std::alloc::Layout;
#[cfg(not(loom))]
use std::cell::Cell;
use std::ptr::NonNull;

/// Blocks up to this many bytes are kept.
const MAX_SIZE: usize = 256;
/// Sizes are rounded up to a multiple of this.
const STEP: usize = 8;
/// The free lists, one per size `STEP, 2 * STEP, ..., MAX_SIZE`.
#[cfg(not(loom))]
const CLASSES: usize = MAX_SIZE / STEP;
/// At most this many bytes of freed blocks are kept per thread (W1's
/// 100 000 blocks are 8 MB).
#[cfg(not(loom))]
const MAX_KEPT: usize = 16 << 20;
/// What is kept once the loop waits idle.
#[cfg(not(loom))]
const IDLE_KEPT: usize = 256 << 10;

/// The layout to allocate and free a block of `layout` with: its size
/// rounded up to the step when the cache keeps blocks of that size.
pub(super) const fn block_layout(layout: Layout) -> Layout {
    if layout.size() > MAX_SIZE || layout.align() > STEP {
        return layout;
    }
    let size = layout.size().div_ceil(STEP) * STEP;
    match Layout::from_size_align(size, STEP) {
        Ok(rounded) => rounded,
        Err(_) => layout,
    }
}

/// A free block, its first word linking to the next one of its size.
#[cfg(not(loom))]
struct Free {
    next: Option<NonNull<Free>>,
}

#[cfg(not(loom))]
struct BlockCache {
    heads: [Cell<Option<NonNull<Free>>>; CLASSES],
    /// Bytes kept.
    kept: Cell<usize>,
    /// Loops alive on this thread.
    loops: Cell<usize>,
}

#[cfg(not(loom))]
thread_local! {
    static CACHE: BlockCache = const {
        BlockCache {
            heads: [const { Cell::new(None) }; CLASSES],
            kept: Cell::new(0),
            loops: Cell::new(0),
        }
    };
}

/// The free list for a block layout, if the cache keeps it.
#[cfg(not(loom))]
fn class(layout: Layout) -> Option<usize> {
    let size = layout.size();
    // Exactly what `block_layout` makes for a kept size: every block of a
    // class then has the same layout, the one `give_back` frees it with.
    (size <= MAX_SIZE && layout.align() == STEP && size % STEP == 0 && size > 0)
        .then(|| size / STEP - 1)
}

/// Memory for a block of `layout` (made by [`block_layout`]).
pub(super) fn alloc(layout: Layout) -> NonNull<u8> {
    #[cfg(not(loom))]
    if let Some(class) = class(layout) {
        let reused = CACHE
            .try_with(|cache| {
                let head = &cache.heads[class];
                let free = head.get()?;
                // SAFETY: every block on the list is a free block of this
                // class's layout, owned by the list, its first word written
                // by `free` below.
                head.set(unsafe { free.as_ref() }.next);
                cache.kept.set(cache.kept.get() - layout.size());
                Some(free.cast::<u8>())
            })
            .ok()
            .flatten();
        if let Some(block) = reused {
            return block;
        }
    }
    assert!(layout.size() > 0, "a task block is never empty");
    // SAFETY: `layout` has a non-zero size (checked just above).
    let raw = unsafe { std::alloc::alloc(layout) };
    match NonNull::new(raw) {
        Some(block) => block,
        None => std::alloc::handle_alloc_error(layout),
    }
}

/// Gives back the memory of a block.
///
/// # Safety
///
/// `block` was returned by [`alloc`] with this `layout`, whatever it held
/// has been dropped, and nothing refers to it any more.
pub(super) unsafe fn free(block: NonNull<u8>, layout: Layout) {
    #[cfg(not(loom))]
    if let Some(class) = class(layout) {
        let kept = CACHE
            .try_with(|cache| {
                let kept = cache.kept.get() + layout.size();
                if cache.loops.get() == 0 || kept > MAX_KEPT {
                    return false;
                }
                let free = block.cast::<Free>();
                // SAFETY: the caller gives the block up; it is at least one
                // word long and 8-aligned (a class's layout), so it can hold
                // the link.
                unsafe {
                    free.as_ptr().write(Free {
                        next: cache.heads[class].get(),
                    })
                };
                cache.heads[class].set(Some(free));
                cache.kept.set(kept);
                true
            })
            .unwrap_or(false);
        if kept {
            return;
        }
    }
    // SAFETY: the caller's guarantee: `alloc` made it with this layout.
    unsafe { std::alloc::dealloc(block.as_ptr(), layout) };
}

/// Whether `TULIPA_BLOCK_CACHE=off` turned the cache off.
#[cfg(not(loom))]
fn switched_off() -> bool {
    static OFF: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *OFF.get_or_init(|| std::env::var_os("TULIPA_BLOCK_CACHE").is_some_and(|v| v == "off"))
}

/// A loop was made on this thread: freed blocks are kept from now on
/// (unless the cache is switched off: then no loop is counted, and no
/// block kept).
pub(crate) fn loop_opened() {
    #[cfg(not(loom))]
    if !switched_off() {
        let _ = CACHE.try_with(|cache| cache.loops.set(cache.loops.get() + 1));
    }
}

/// A loop of this thread was dropped; the last one takes the cache with it.
pub(crate) fn loop_dropped() {
    #[cfg(not(loom))]
    if !switched_off() {
        let _ = CACHE.try_with(|cache| {
            debug_assert!(
                cache.loops.get() > 0,
                "a loop dropped that was never counted"
            );
            let loops = cache.loops.get().saturating_sub(1);
            cache.loops.set(loops);
            if loops == 0 {
                cache.give_back(0);
            }
        });
    }
}

/// The loop is about to wait: keep only a little.
pub(crate) fn loop_idle() {
    #[cfg(not(loom))]
    let _ = CACHE.try_with(|cache| {
        if cache.kept.get() > IDLE_KEPT {
            cache.give_back(IDLE_KEPT);
        }
    });
}

#[cfg(not(loom))]
impl BlockCache {
    /// Frees kept blocks, biggest first, until at most `keep` bytes are kept.
    fn give_back(&self, keep: usize) {
        for class in (0..CLASSES).rev() {
            let size = (class + 1) * STEP;
            let layout = match Layout::from_size_align(size, STEP) {
                Ok(layout) => layout,
                Err(_) => continue,
            };
            let head = &self.heads[class];
            while self.kept.get() > keep {
                let Some(free) = head.get() else { break };
                // SAFETY: as in `alloc`: a free block of this class, owned
                // by the list.
                head.set(unsafe { free.as_ref() }.next);
                self.kept.set(self.kept.get() - size);
                // SAFETY: `alloc` made it with this class's layout (it only
                // ever allocates a class's blocks with that layout), and
                // the list owned it.
                unsafe { std::alloc::dealloc(free.as_ptr().cast(), layout) };
            }
        }
    }
}

#[cfg(not(loom))]
impl Drop for BlockCache {
    fn drop(&mut self) {
        self.give_back(0);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// Bytes of freed blocks this thread keeps.
    fn kept() -> usize {
        CACHE.with(|cache| cache.kept.get())
    }

    fn layout(size: usize) -> Layout {
        block_layout(Layout::from_size_align(size, 8).unwrap())
    }

    /// Frees a block made by `alloc(layout)`, after writing all of it.
    fn give(block: NonNull<u8>, layout: Layout) {
        // SAFETY: the test made it with `alloc(layout)` and holds no other
        // pointer to it.
        unsafe {
            block.as_ptr().write_bytes(0xa5, layout.size());
            free(block, layout);
        }
    }

    /// The tests below need the cache on; with `TULIPA_BLOCK_CACHE=off`
    /// they have nothing to check.
    fn cache_is_on() -> bool {
        !switched_off()
    }

    #[test]
    fn layouts_round_up_to_eight_bytes_up_to_256() {
        assert_eq!(layout(72).size(), 72);
        assert_eq!(layout(73).size(), 80);
        assert_eq!(layout(256).size(), 256);
        assert_eq!(layout(73).align(), 8);
        // Too big or too strictly aligned: left as they are, never kept.
        assert_eq!(layout(257).size(), 257);
        let aligned = Layout::from_size_align(100, 16).unwrap();
        assert_eq!(block_layout(aligned), aligned);
        assert_eq!(class(aligned), None);
        assert_eq!(class(layout(257)), None);
        // A smaller alignment than the step is never a class either: a
        // class's blocks are all freed with alignment 8.
        assert_eq!(class(Layout::from_size_align(16, 4).unwrap()), None);
    }

    #[test]
    fn a_freed_block_is_the_next_one_of_its_size_while_a_loop_lives() {
        if !cache_is_on() {
            return;
        }
        loop_opened();
        let small = layout(72);
        let a = alloc(small);
        give(a, small);
        assert_eq!(kept(), 72);
        // Another size does not take it.
        let other = alloc(layout(80));
        assert_ne!(other, a);
        assert_eq!(alloc(small), a, "the kept block is reused");
        assert_eq!(kept(), 0);
        // Two blocks of one size come back last in, first out.
        let b = alloc(small);
        assert_ne!(b, a);
        give(a, small);
        give(b, small);
        give(other, layout(80));
        assert_eq!(kept(), 72 + 72 + 80);
        assert_eq!(alloc(small), b);
        assert_eq!(alloc(small), a);
        give(a, small);
        give(b, small);
        loop_dropped();
        assert_eq!(kept(), 0, "the last loop's drop gives everything back");
    }

    #[test]
    fn without_a_loop_blocks_go_back_to_the_allocator() {
        let small = layout(64);
        give(alloc(small), small);
        assert_eq!(kept(), 0);
        // Nor are big blocks kept with a loop.
        loop_opened();
        let big = layout(1024);
        give(alloc(big), big);
        assert_eq!(kept(), 0);
        loop_dropped();
    }

    #[test]
    fn two_loops_keep_the_cache_until_the_second_is_dropped() {
        if !cache_is_on() {
            return;
        }
        loop_opened();
        loop_opened();
        let small = layout(96);
        give(alloc(small), small);
        loop_dropped();
        assert_eq!(kept(), 96, "one loop is still alive");
        loop_dropped();
        assert_eq!(kept(), 0);
        // No loop left: nothing is kept.
        give(alloc(small), small);
        assert_eq!(kept(), 0);
    }

    #[test]
    fn a_block_made_on_one_thread_is_kept_and_reused_by_another() {
        if !cache_is_on() {
            return;
        }
        let small = layout(112);
        // Made on a thread without a loop (as `spawn_threadsafe` does),
        // freed here, where a loop lives.
        let made = std::thread::spawn(move || alloc(small).as_ptr() as usize)
            .join()
            .unwrap();
        let block = NonNull::new(made as *mut u8).unwrap();
        loop_opened();
        give(block, small);
        assert_eq!(kept(), 112);
        assert_eq!(alloc(small), block);
        give(block, small);
        loop_dropped();
        assert_eq!(kept(), 0);
    }

    #[test]
    fn idle_keeps_a_little_and_the_cap_holds() {
        if !cache_is_on() {
            return;
        }
        loop_opened();
        let size = 256;
        let block = layout(size);
        let n = MAX_KEPT / size + 10;
        let blocks: Vec<_> = (0..n).map(|_| alloc(block)).collect();
        for b in blocks {
            give(b, block);
        }
        assert_eq!(kept(), MAX_KEPT, "no more than the cap is kept");
        loop_idle();
        assert_eq!(kept(), IDLE_KEPT);
        // Idle again with little kept: nothing changes.
        loop_idle();
        assert_eq!(kept(), IDLE_KEPT);
        loop_dropped();
        assert_eq!(kept(), 0);
    }
}
