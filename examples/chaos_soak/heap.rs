//! The soak's allocator: the system allocator, with the live heap counted by owner, so that the
//! process's growth can be attributed between the library, the in-process simulator and the
//! allocator's own retention (resident memory the heap no longer uses). Each block carries a
//! one-word header naming the owner of the thread that allocated it, so a block freed on
//! another thread (an event made on the engine, freed by a host) is taken off its owner's count.
//!
//! Owners by thread name: `ucwa-sim*` is the simulator; `ucwa-engine` and `ucwa-foreground` the
//! library's own threads; everything else the harness's threads (the host threads, which also
//! run the library's blocking calls on their own thread: their count is library and harness).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};

/// The owners counted, in the order [`live`] returns them.
pub(crate) const OWNERS: [&str; 3] = ["library threads", "simulator", "host threads"];

static LIVE: [AtomicIsize; 3] = [
    AtomicIsize::new(0),
    AtomicIsize::new(0),
    AtomicIsize::new(0),
];

/// The header before each block: big enough for the owner and for any alignment up to 16.
const HEADER: usize = 16;

thread_local! {
    /// This thread's owner plus one; 0 while not known yet.
    static OWNER: Cell<u8> = const { Cell::new(0) };
}

fn owner() -> u8 {
    OWNER
        .try_with(|o| {
            if o.get() == 0 {
                // Naming the thread may allocate: counted as the harness's while it does.
                o.set(3);
                let name = std::thread::current().name().map(str::to_string);
                let owner = match name.as_deref() {
                    Some(n) if n.starts_with("ucwa-sim") => 1,
                    Some(n) if n.starts_with("ucwa-") => 0,
                    _ => 2,
                };
                o.set(owner + 1);
            }
            o.get() - 1
        })
        .unwrap_or(2)
}

/// The live heap in bytes by owner, in the order of [`OWNERS`].
pub(crate) fn live() -> [isize; 3] {
    [0, 1, 2].map(|i| LIVE[i].load(Ordering::Relaxed))
}

/// The block with room for the header in front, or `None` for alignments the header cannot
/// keep (none the soak uses); those go to the system allocator uncounted.
fn with_header(layout: Layout) -> Option<Layout> {
    if layout.align() > HEADER {
        return None;
    }
    Layout::from_size_align(layout.size().checked_add(HEADER)?, HEADER).ok()
}

pub(crate) struct ByOwner;

// SAFETY: every block comes from the system allocator with a header of HEADER bytes in front
// (alignment HEADER, at least the caller's); the pointer handed out is HEADER past its start,
// so it keeps the caller's alignment, and `dealloc` rebuilds the same layout to free it.
unsafe impl GlobalAlloc for ByOwner {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(full) = with_header(layout) else {
            // SAFETY: the caller's contract for `alloc` is the system allocator's.
            return unsafe { System.alloc(layout) };
        };
        // SAFETY: `full` has a non-zero size (HEADER at least).
        let p = unsafe { System.alloc(full) };
        if p.is_null() {
            return p;
        }
        let who = owner();
        // SAFETY: `p` points to at least HEADER writable bytes, aligned for a u8.
        unsafe { p.write(who) };
        LIVE[who as usize].fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: HEADER is within the block.
        unsafe { p.add(HEADER) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some(full) = with_header(layout) else {
            // SAFETY: such a block came from the system allocator as it is.
            return unsafe { System.dealloc(ptr, layout) };
        };
        // SAFETY: `ptr` was handed out HEADER past the start of a block of layout `full`.
        let start = unsafe { ptr.sub(HEADER) };
        // SAFETY: the header's first byte was written by `alloc`.
        let who = unsafe { start.read() }.min(2);
        LIVE[who as usize].fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `start` and `full` are what the system allocator gave and was asked for.
        unsafe { System.dealloc(start, full) };
    }
}
