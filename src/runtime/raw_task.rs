//! The raw task: one heap block per task, and the loop's table of them.
//!
//! A task is a single allocation, a [`Header`] followed by the stage: the
//! future while it runs, then its output until the [`Task`](crate::Task)
//! handle takes it. The ready queue holds [`Scheduled`] pointers to tasks,
//! and a task's [`Waker`] is a pointer to the same block with a hand-written
//! [`RawWakerVTable`]:
//!
//! - woken on the thread of its loop while that loop runs, it sets the
//!   task's `SCHEDULED` bit and appends it to the ready queue: no lookup, no
//!   lock, no atomic;
//! - woken anywhere else, it takes one more reference and posts it through
//!   the loop's inbox ([`Msg::Wake`]); the loop schedules the task when it
//!   drains the inbox.
//!
//! # Ownership
//!
//! The block is freed when its reference count (the only atomic) drops to
//! zero. References are held by the `Task` handle, by each `Waker` and
//! [`WakeRef`], and by the loop itself from spawn until the task is done
//! *and* out of the ready queue. Everything but the count and the `owner`
//! pointer is touched only on the loop's thread: the types that reach those
//! fields ([`TaskRef`], [`Scheduled`], [`LocalTasks`], the typed
//! [`JoinRef`]) are `!Send`, and [`LocalTasks`] only accepts tasks whose
//! `owner` is its own inbox. The future and the output are dropped on the
//! loop's thread before the loop gives up its reference (when the task
//! finishes, when its handle drops, or when the loop closes), so the last
//! reference, wherever it is released, frees plain memory only.
//!
//! With `net::sys` (the socket calls), this is one of the crate's two
//! modules with `unsafe` code.

use std::cell::{Cell, RefCell, UnsafeCell};
use std::future::Future;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::Arc;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

#[cfg(loom)]
use loom::sync::atomic::{fence, AtomicU32};
use std::sync::atomic::Ordering;
#[cfg(not(loom))]
use std::sync::atomic::{fence, AtomicU32};

mod block_cache;

pub(crate) use block_cache::loop_idle;

use super::context;
use super::remote::{Msg, Remote};
use crate::panic::PanicError;
use crate::task::error::TaskError;
use crate::task::id::{TaskId, TaskInfo};

/// In the ready queue: exactly one [`Scheduled`] exists for the task.
const SCHEDULED: u64 = 1 << 0;
/// Finished: the future is gone, the output (if any) is in the stage.
const DONE: u64 = 1 << 1;
/// `cancel()` was called: the future is dropped at its next turn.
const CANCEL_REQUESTED: u64 = 1 << 2;
/// It finished by being cancelled.
const CANCELLED: u64 = 1 << 3;
/// It finished by panicking.
const PANICKED: u64 = 1 << 4;
/// A `Task` handle exists (not yet dropped).
const HANDLE: u64 = 1 << 5;
/// The handle has been polled (awaited) at least once.
const POLLED: u64 = 1 << 6;
/// Being polled right now.
const RUNNING: u64 = 1 << 7;
/// In its loop's table of live tasks (`LiveTable`).
const REGISTERED: u64 = 1 << 8;
/// The stage holds the future.
const FUTURE: u64 = 1 << 9;
/// The stage holds the output.
const OUTPUT: u64 = 1 << 10;
/// The bits above `ID_SHIFT` of the state word hold the task's id.
const ID_SHIFT: u32 = 16;

/// What every task starts with, whatever its future.
///
/// `#[repr(C)]` with the header first, so a pointer to the block is a
/// pointer to its header.
#[repr(C)]
pub(crate) struct Header {
    /// References to the block (see the module docs); the only field
    /// touched off the loop's thread, with `owner`.
    refs: AtomicU32,
    /// The task's slot in its loop's table of live tasks, while
    /// `REGISTERED`; loop thread only.
    live_slot: Cell<u32>,
    /// The bits above, and the id in the bits from `ID_SHIFT` up; loop
    /// thread only.
    state: Cell<u64>,
    vtable: &'static Vtable,
    /// The inbox of the loop the task belongs to: where off-thread wakes go,
    /// and the loop's identity. Never changes.
    owner: Arc<Remote>,
    /// Woken when the task finishes (the awaiter of the handle).
    join_waker: JoinWaker,
    /// The spawn location, and the rarely used parts.
    meta: Meta,
}

// Six words: with a future of up to 40 bytes, a block of at most 88 bytes
// takes one 96-byte chunk of glibc's malloc (BENCHMARKS.md's M1).
#[cfg(not(loom))]
const _: () = assert!(std::mem::size_of::<Header>() == 48);

/// A [`Waker`] in one word, owning what it holds as a `Waker` would: a
/// tulipa task's waker is kept as its task block (holding the waker's one
/// reference, low bit clear), any other waker as a `Box<Waker>` (low bit
/// set). The common case, a tulipa task waiting, costs no allocation and
/// half the space of a `Waker`; `Option<ThinWaker>` is one word too. The
/// waiter line and a task's join waker keep their wakers this way.
pub(crate) struct ThinWaker {
    word: std::num::NonZeroUsize,
}

const BOXED_WAKER: usize = 1;

// SAFETY: a `ThinWaker` is a `Waker` (a task waker's reference, or a boxed
// `Waker`), which is `Send` and `Sync`; it gives out only `Waker`s and
// `will_wake`, as a `Waker` would.
unsafe impl Send for ThinWaker {}
// SAFETY: as above; `&ThinWaker` only compares.
unsafe impl Sync for ThinWaker {}

impl ThinWaker {
    /// Takes `waker` over without touching a reference count when it is a
    /// task waker.
    #[inline]
    pub(crate) fn new(waker: Waker) -> ThinWaker {
        let word = if std::ptr::eq(waker.vtable(), &WAKER_VTABLE) {
            let waker = ManuallyDrop::new(waker);
            debug_assert_eq!(
                waker.data() as usize & BOXED_WAKER,
                0,
                "task blocks are 8-aligned"
            );
            // Its reference is now this word's.
            waker.data() as usize
        } else {
            let boxed = Box::into_raw(Box::new(waker)) as usize;
            debug_assert_eq!(boxed & BOXED_WAKER, 0, "a Box<Waker> is 8-aligned");
            boxed | BOXED_WAKER
        };
        ThinWaker {
            word: std::num::NonZeroUsize::new(word).expect("a waker's data is never null here"),
        }
    }

    /// A clone of `waker`, kept in one word. A task waker's clone is its
    /// reference count's increment, done here with no call through the
    /// vtable (the waiter lines clone one on every wait).
    #[inline(always)]
    pub(crate) fn from_ref(waker: &Waker) -> ThinWaker {
        if !std::ptr::eq(waker.vtable(), &WAKER_VTABLE) {
            return ThinWaker::boxed_clone(waker);
        }
        let ptr = as_header(waker.data());
        // SAFETY: a task waker holds a reference to its live block; the new
        // reference is this word's.
        unsafe { acquire(ptr) };
        ThinWaker {
            word: std::num::NonZeroUsize::new(ptr.as_ptr() as usize)
                .expect("a block pointer is never null"),
        }
    }

    /// [`from_ref`](Self::from_ref) of a waker that is not a task's: out
    /// of line, so that the task waker's path inlines small.
    #[inline(never)]
    fn boxed_clone(waker: &Waker) -> ThinWaker {
        ThinWaker::new(waker.clone())
    }

    /// The boxed waker, if this is not a task waker.
    fn boxed(&self) -> Option<&Waker> {
        let word = self.word.get();
        if word & BOXED_WAKER == 0 {
            return None;
        }
        // SAFETY: a tagged word is a `Box<Waker>` this value owns, freed
        // only when it is consumed or dropped, after this borrow ends.
        Some(unsafe { &*((word & !BOXED_WAKER) as *const Waker) })
    }

    /// Whether waking `self` would wake the same task as `waker` (as
    /// [`Waker::will_wake`]).
    pub(crate) fn will_wake(&self, waker: &Waker) -> bool {
        match self.boxed() {
            Some(held) => held.will_wake(waker),
            None => {
                std::ptr::eq(waker.vtable(), &WAKER_VTABLE)
                    && waker.data() as usize == self.word.get()
            }
        }
    }

    /// Replaces the waker with a clone of `waker` unless it already wakes
    /// the same task.
    pub(crate) fn set(&mut self, waker: &Waker) {
        if !self.will_wake(waker) {
            // The old one drops after the new one is in place.
            drop(std::mem::replace(self, ThinWaker::from_ref(waker)));
        }
    }

    /// The `Waker` again.
    pub(crate) fn into_waker(self) -> Waker {
        let word = ManuallyDrop::new(self).word.get();
        if word & BOXED_WAKER != 0 {
            let boxed = (word & !BOXED_WAKER) as *mut Waker;
            // SAFETY: a tagged word is a `Box<Waker>` made by `new` and owned
            // by the value being consumed (its `Drop` is suppressed).
            return *unsafe { Box::from_raw(boxed) };
        }
        let raw = RawWaker::new(word as *const (), &WAKER_VTABLE);
        // SAFETY: an untagged word is a task block holding one reference,
        // which the `Waker` made from it now holds (the consumed value's
        // `Drop` is suppressed), with the vtable every task waker has.
        unsafe { Waker::from_raw(raw) }
    }
}

impl Drop for ThinWaker {
    fn drop(&mut self) {
        let this = ThinWaker { word: self.word };
        // A waker is `Send`: dropping it is fine on any thread.
        drop(this.into_waker());
    }
}

/// The awaiter of a task's handle, in one word (a [`ThinWaker`]).
#[derive(Default)]
struct JoinWaker {
    waker: Cell<Option<ThinWaker>>,
}

impl JoinWaker {
    /// Registers `waker`, keeping the one there if it wakes the same task.
    fn set(&self, waker: &Waker) {
        let old = self.waker.take();
        let new = match old {
            Some(mut held) => {
                held.set(waker);
                held
            }
            None => ThinWaker::from_ref(waker),
        };
        self.waker.set(Some(new));
    }

    /// Takes the waker out, if any.
    fn take(&self) -> Option<Waker> {
        self.waker.take().map(ThinWaker::into_waker)
    }
}

/// The parts of a task most tasks never use.
struct Extras {
    location: &'static Location<'static>,
    name: Option<Box<str>>,
    callbacks: RefCell<Vec<Box<dyn FnOnce()>>>,
}

/// A task's spawn location, or its [`Extras`] (which then hold the
/// location), in one word: a tagged pointer whose low bit says which. Most
/// tasks have no name and no done callback, and pay one word for both.
struct Meta {
    /// A `&'static Location` (low bit clear) or a `Box<Extras>` leaked by
    /// `Meta` itself (low bit set); both are 8-aligned.
    word: Cell<usize>,
}

const EXTRAS_TAG: usize = 1;

impl Meta {
    #[inline]
    fn new(location: &'static Location<'static>, name: Option<String>) -> Meta {
        let word = match name {
            None => std::ptr::from_ref(location) as usize,
            Some(name) => Meta::boxed(location, Some(name.into_boxed_str())),
        };
        Meta {
            word: Cell::new(word),
        }
    }

    /// A tagged word owning new extras.
    fn boxed(location: &'static Location<'static>, name: Option<Box<str>>) -> usize {
        let extras = Box::new(Extras {
            location,
            name,
            callbacks: RefCell::default(),
        });
        let ptr = Box::into_raw(extras) as usize;
        debug_assert_eq!(ptr & EXTRAS_TAG, 0, "a Box<Extras> is 8-aligned");
        ptr | EXTRAS_TAG
    }

    fn extras(&self) -> Option<&Extras> {
        let word = self.word.get();
        if word & EXTRAS_TAG == 0 {
            return None;
        }
        // SAFETY: a tagged word is a `Box<Extras>` this `Meta` owns, freed
        // only by its `Drop`; shared borrows of it end before that.
        Some(unsafe { &*((word & !EXTRAS_TAG) as *const Extras) })
    }

    /// The extras, made on first use.
    fn extras_or_init(&self) -> &Extras {
        if self.word.get() & EXTRAS_TAG == 0 {
            self.word.set(Meta::boxed(self.location(), None));
        }
        self.extras().expect("just made")
    }

    fn location(&self) -> &'static Location<'static> {
        match self.extras() {
            Some(extras) => extras.location,
            // SAFETY: an untagged word is the `&'static Location` itself.
            None => unsafe { &*(self.word.get() as *const Location<'static>) },
        }
    }
}

impl Drop for Meta {
    #[inline]
    fn drop(&mut self) {
        let word = self.word.get();
        if word & EXTRAS_TAG != 0 {
            // SAFETY: made by `Box::into_raw` in `extras_or_init`, freed once.
            // Its done callbacks (`!Send`) were taken by `finish` on the
            // loop's thread; the name is `Send`.
            drop(unsafe { Box::from_raw((word & !EXTRAS_TAG) as *mut Extras) });
        }
    }
}

/// The operations that depend on the future's type.
struct Vtable {
    /// Polls the future once; on `Ready` (or a panic) stores the output and
    /// returns the end state bits.
    poll: unsafe fn(NonNull<Header>, &mut Context<'_>) -> Poll<u64>,
    /// Drops the future unpolled and stores `Cancelled` (or the panic of
    /// its `Drop`); returns the end state bits.
    cancel: unsafe fn(NonNull<Header>) -> u64,
    /// Drops the output if it is still there.
    drop_output: unsafe fn(NonNull<Header>),
    /// The message of a stored panic.
    panic_message: unsafe fn(NonNull<Header>) -> Option<String>,
    /// Moves the output into `*mut Option<Result<F::Output, TaskError>>`.
    take_output: unsafe fn(NonNull<Header>, *mut ()),
    /// Frees the block.
    dealloc: unsafe fn(NonNull<Header>),
}

/// What a task's stage holds: the future while [`FUTURE`] is set in the
/// task's state, then the output while [`OUTPUT`] is, and nothing once
/// both are clear. A union, so that the stage costs no tag of its own; its
/// fields are never dropped implicitly.
union Stage<F: Future> {
    future: ManuallyDrop<F>,
    output: ManuallyDrop<Result<F::Output, TaskError>>,
}

/// The block: header, then stage.
#[repr(C)]
struct TaskCell<F: Future> {
    header: Header,
    stage: UnsafeCell<Stage<F>>,
}

impl<F: Future> TaskCell<F> {
    /// The block's memory: a `TaskCell<F>`'s layout, its size rounded up
    /// for the block cache.
    const LAYOUT: std::alloc::Layout = block_cache::block_layout(std::alloc::Layout::new::<Self>());

    const VTABLE: Vtable = Vtable {
        poll: poll_future::<F>,
        cancel: cancel_future::<F>,
        drop_output: drop_output::<F>,
        panic_message: panic_message::<F>,
        take_output: take_output::<F>,
        dealloc: dealloc::<F>,
    };

    fn allocate(
        future: F,
        owner: Arc<Remote>,
        name: Option<String>,
        location: &'static Location<'static>,
        refs: u32,
        state: u64,
    ) -> NonNull<Header> {
        let cell = TaskCell {
            header: Header {
                refs: AtomicU32::new(refs),
                live_slot: Cell::new(0),
                state: Cell::new(state | FUTURE),
                vtable: &Self::VTABLE,
                owner,
                join_waker: JoinWaker::default(),
                meta: Meta::new(location, name),
            },
            stage: UnsafeCell::new(Stage {
                future: ManuallyDrop::new(future),
            }),
        };
        // Taken once the cell is built: nothing between can panic and
        // leave the block behind.
        let block = block_cache::alloc(Self::LAYOUT).cast::<TaskCell<F>>();
        // SAFETY: `block` is memory of `LAYOUT` owned by nobody else (new,
        // or a freed block handed over by the cache), and `LAYOUT` fits a
        // `TaskCell<F>`: its own layout, or (`block_layout`) its size
        // rounded up with alignment 8, which is the cell's alignment (a
        // cell aligned more strictly keeps its own layout).
        unsafe { block.as_ptr().write(cell) };
        block.cast()
    }

    /// The header and a pointer to the stage.
    ///
    /// # Safety
    ///
    /// `ptr` is a live block made by `allocate::<F>`.
    unsafe fn parts<'a>(ptr: NonNull<Header>) -> (&'a Header, *mut Stage<F>) {
        let cell = ptr.cast::<TaskCell<F>>().as_ptr();
        // SAFETY: the caller guarantees the block is a live `TaskCell<F>`
        // (the header is its first field, `repr(C)`); the header is only
        // ever shared (its fields are cells), the stage is reached through
        // the `UnsafeCell`'s pointer.
        unsafe { (&(*cell).header, (*cell).stage.get()) }
    }
}

/// The end bits of a task that finished with `output`.
fn finished_bits<T>(output: &Result<T, TaskError>) -> u64 {
    match output {
        Ok(_) => 0,
        Err(TaskError::Cancelled) => CANCELLED,
        Err(TaskError::Panicked(_)) => PANICKED,
    }
}

/// Drops the future where it lies, turning a panic in its `Drop` into a
/// [`PanicError`]; `FUTURE` is cleared first, so that even a panicking
/// `Drop` runs once.
///
/// The future is pinned: it must be dropped in place, never moved out first
/// (moving it to the stack would leave an async block holding a reference
/// to one of its own locals to drop through a dangling pointer).
///
/// # Safety
///
/// `stage` is the stage of `header`'s block, `FUTURE` is set, no reference
/// to the future is alive, and the caller is on the loop's thread (or owns
/// the block alone, see [`cancel_future`]).
unsafe fn drop_future<F: Future>(header: &Header, stage: *mut Stage<F>) -> Option<PanicError> {
    header.state.set(header.state.get() & !FUTURE);
    catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `FUTURE` was set, so the future is initialized; its bit is
        // clear now, so nothing drops it again.
        unsafe { ManuallyDrop::drop(&mut (*stage).future) }
    }))
    .err()
    .map(PanicError::new)
}

/// Stores the output and returns the end bits.
///
/// # Safety
///
/// As [`drop_future`], except that the stage holds nothing (`FUTURE` and
/// `OUTPUT` clear): nothing live is overwritten.
unsafe fn store_output<F: Future>(
    header: &Header,
    stage: *mut Stage<F>,
    output: Result<F::Output, TaskError>,
) -> u64 {
    let bits = finished_bits(&output);
    // SAFETY: the stage holds nothing (see above) and is valid for writes.
    unsafe { std::ptr::addr_of_mut!((*stage).output).write(ManuallyDrop::new(output)) };
    header.state.set(header.state.get() | OUTPUT);
    bits
}

/// Moves the output out of the stage, clearing `OUTPUT`; `None` if there
/// is none.
///
/// # Safety
///
/// As [`drop_future`], without the condition on `FUTURE`.
unsafe fn read_output<F: Future>(
    header: &Header,
    stage: *mut Stage<F>,
) -> Option<Result<F::Output, TaskError>> {
    let state = header.state.get();
    if state & OUTPUT == 0 {
        return None;
    }
    header.state.set(state & !OUTPUT);
    // SAFETY: `OUTPUT` was set, so the output is initialized; it is read
    // once, its bit cleared above.
    Some(ManuallyDrop::into_inner(unsafe {
        std::ptr::addr_of!((*stage).output).read()
    }))
}

/// Drops `value`, turning a panic in its `Drop` into a [`PanicError`].
fn drop_quietly<V>(value: V) -> Option<PanicError> {
    catch_unwind(AssertUnwindSafe(move || drop(value)))
        .err()
        .map(PanicError::new)
}

/// # Safety
///
/// `ptr` is a live block made for `F`, this is its loop's thread, and no
/// reference to its stage is alive.
unsafe fn poll_future<F: Future>(ptr: NonNull<Header>, cx: &mut Context<'_>) -> Poll<u64> {
    // SAFETY: forwarded from the caller.
    let (header, stage) = unsafe { TaskCell::<F>::parts(ptr) };
    if header.state.get() & FUTURE == 0 {
        return Poll::Ready(0);
    }
    // SAFETY: `FUTURE` is set; the future lives in the heap block, which
    // never moves, and it is only ever dropped in place (`drop_future`).
    let future = unsafe { Pin::new_unchecked(&mut *(*stage).future) };
    let output = match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
        Ok(Poll::Pending) => return Poll::Pending,
        Ok(Poll::Ready(value)) => Ok(value),
        Err(payload) => Err(TaskError::Panicked(PanicError::new(payload))),
    };
    // SAFETY: the borrow of the future above has ended; `FUTURE` is set.
    let future_panic = unsafe { drop_future::<F>(header, stage) };
    let output = match (future_panic, output) {
        (Some(panic), Ok(_)) => Err(TaskError::Panicked(panic)),
        (_, output) => output,
    };
    let cancel_requested = header.state.get() & CANCEL_REQUESTED != 0;
    let output = match output {
        // asyncio: a task that cancelled itself and then returned ends
        // cancelled, its value discarded (`test_cancel_at_end`).
        Ok(value) if cancel_requested => match drop_quietly(value) {
            Some(panic) => Err(TaskError::Panicked(panic)),
            None => Err(TaskError::Cancelled),
        },
        output => output,
    };
    // SAFETY: the future is gone and a running task has no output yet.
    Poll::Ready(unsafe { store_output::<F>(header, stage, output) })
}

/// # Safety
///
/// As [`poll_future`]; off the loop's thread only for a block no other
/// thread can reach whose future and output are `Send` ([`RemoteSpawn`]).
unsafe fn cancel_future<F: Future>(ptr: NonNull<Header>) -> u64 {
    // SAFETY: forwarded from the caller.
    let (header, stage) = unsafe { TaskCell::<F>::parts(ptr) };
    let mut output = Err(TaskError::Cancelled);
    if header.state.get() & FUTURE != 0 {
        // SAFETY: `FUTURE` is set and the future is not borrowed.
        if let Some(panic) = unsafe { drop_future::<F>(header, stage) } {
            output = Err(TaskError::Panicked(panic));
        }
    }
    // SAFETY: as above. An unfinished task has no output; should one be
    // there, it is dropped rather than overwritten.
    if let Some(old) = unsafe { read_output::<F>(header, stage) } {
        let _ = drop_quietly(old);
    }
    // SAFETY: the stage holds nothing now.
    unsafe { store_output::<F>(header, stage, output) }
}

/// # Safety
///
/// As [`poll_future`].
unsafe fn drop_output<F: Future>(ptr: NonNull<Header>) {
    // SAFETY: forwarded from the caller.
    let (header, stage) = unsafe { TaskCell::<F>::parts(ptr) };
    // SAFETY: as above.
    if let Some(old) = unsafe { read_output::<F>(header, stage) } {
        // A panicking `Drop` of an output nobody wants is swallowed.
        let _ = drop_quietly(old);
    }
}

/// # Safety
///
/// As [`poll_future`].
unsafe fn panic_message<F: Future>(ptr: NonNull<Header>) -> Option<String> {
    // SAFETY: forwarded from the caller.
    let (header, stage) = unsafe { TaskCell::<F>::parts(ptr) };
    if header.state.get() & OUTPUT == 0 {
        return None;
    }
    // SAFETY: `OUTPUT` is set, so the output is initialized; it is only
    // read here.
    match unsafe { &*(*stage).output } {
        Err(TaskError::Panicked(panic)) => Some(panic.message().to_owned()),
        _ => None,
    }
}

/// # Safety
///
/// As [`poll_future`]; `out` points to an `Option<Result<F::Output, TaskError>>`.
unsafe fn take_output<F: Future>(ptr: NonNull<Header>, out: *mut ()) {
    // SAFETY: forwarded from the caller.
    let (header, stage) = unsafe { TaskCell::<F>::parts(ptr) };
    // SAFETY: as above.
    if let Some(output) = unsafe { read_output::<F>(header, stage) } {
        // SAFETY: the caller guarantees `out`'s type and that it is valid for writes.
        unsafe { *out.cast::<Option<Result<F::Output, TaskError>>>() = Some(output) };
    }
}

/// # Safety
///
/// The reference count has reached zero: `ptr` is a block made by
/// `allocate::<F>` that nothing else can reach any more.
unsafe fn dealloc<F: Future>(ptr: NonNull<Header>) {
    let cell = ptr.cast::<TaskCell<F>>().as_ptr();
    debug_assert_eq!(
        // SAFETY: the last reference is gone, so nothing else touches the
        // block; it is still a whole `TaskCell<F>`.
        unsafe { &(*cell).header }.state.get() & (FUTURE | OUTPUT),
        0,
        "a task block freed with its future or output still in it"
    );
    // The memory goes back even if a drop below unwinds (a foreign join
    // waker's `Drop` may panic), as a `Box` would give it back.
    let _memory = GiveBack {
        block: ptr.cast(),
        layout: TaskCell::<F>::LAYOUT,
    };
    // SAFETY: the block was written as a `TaskCell<F>` by `allocate::<F>`
    // and the last reference is gone. Its stage holds nothing (and, a
    // union, is not dropped anyway): the loop drops the future before
    // giving up its reference, and the output is dropped on the loop thread
    // by `finish` (no handle) or by the `JoinRef`'s `detach` (run by its
    // `Drop` too, so no path skips it). The header's `!Send` parts (done
    // callbacks) were taken by `finish`. So this drops only `Send` parts,
    // whichever thread this is.
    unsafe { std::ptr::drop_in_place(cell) };
}

/// Gives a block's memory back when dropped: after its contents, however
/// their drop ends.
struct GiveBack {
    block: NonNull<u8>,
    layout: std::alloc::Layout,
}

impl Drop for GiveBack {
    fn drop(&mut self) {
        // SAFETY: only made by `dealloc`, for a block that `allocate` took
        // from `block_cache::alloc` with this layout, whose last reference
        // is gone; it drops after the block's contents were dropped (or
        // their drop unwound), and nothing touches the block after.
        unsafe { block_cache::free(self.block, self.layout) };
    }
}

// ---------------------------------------------------------------------------
// Reference counting.

/// Adds a reference.
///
/// # Safety
///
/// `ptr` is a live block and the caller holds a reference to it.
unsafe fn acquire(ptr: NonNull<Header>) {
    // SAFETY: the caller holds a reference, so the block is alive; `refs`
    // is an atomic, safe to touch from any thread.
    let refs = unsafe { &(*ptr.as_ptr()).refs };
    // ORDERING: a new reference is made from an existing one, which keeps
    // the block alive meanwhile; nothing is published (as `Arc::clone`).
    let before = refs.fetch_add(1, Ordering::Relaxed);
    // Far below wrapping (as `Arc` checks against `isize::MAX`): every
    // reference is a value someone holds, so this is a leak of two
    // billion wakers, which must not turn into a use after free.
    if before > u32::MAX / 2 {
        std::process::abort();
    }
}

/// Gives up a reference, freeing the block if it was the last.
///
/// # Safety
///
/// `ptr` is a live block and the caller gives up a reference it holds.
unsafe fn release(ptr: NonNull<Header>) {
    // SAFETY: the caller's reference keeps the block alive until the
    // decrement below.
    let header = unsafe { &*ptr.as_ptr() };
    // ORDERING: Release publishes this holder's writes to whoever frees the
    // block; the Acquire fence before freeing sees all of them (as `Arc`).
    if header.refs.fetch_sub(1, Ordering::Release) != 1 {
        return;
    }
    fence(Ordering::Acquire);
    let dealloc = header.vtable.dealloc;
    // SAFETY: that was the last reference.
    unsafe { dealloc(ptr) };
}

// ---------------------------------------------------------------------------
// Wakers.

static WAKER_VTABLE: RawWakerVTable =
    RawWakerVTable::new(waker_clone, waker_wake, waker_wake_by_ref, waker_drop);

/// # Safety
///
/// `data` is a task block the waker holds a reference to (or borrows one).
unsafe fn waker_clone(data: *const ()) -> RawWaker {
    let ptr = as_header(data);
    // SAFETY: the waker being cloned keeps the block alive.
    unsafe { acquire(ptr) };
    RawWaker::new(data, &WAKER_VTABLE)
}

/// # Safety
///
/// As [`waker_clone`]; the waker's reference is consumed.
unsafe fn waker_wake(data: *const ()) {
    let ptr = as_header(data);
    if !wake_on_loop_thread(ptr) {
        // The waker's own reference travels with the post.
        post_wake(WakeRef { ptr });
        return;
    }
    // SAFETY: the waker's reference is given up.
    unsafe { release(ptr) };
}

/// # Safety
///
/// As [`waker_clone`].
unsafe fn waker_wake_by_ref(data: *const ()) {
    let ptr = as_header(data);
    if !wake_on_loop_thread(ptr) {
        // SAFETY: the waker keeps the block alive; the new reference is the post's.
        unsafe { acquire(ptr) };
        post_wake(WakeRef { ptr });
    }
}

/// # Safety
///
/// As [`waker_clone`]; the waker's reference is given up.
unsafe fn waker_drop(data: *const ()) {
    // SAFETY: forwarded from the caller.
    unsafe { release(as_header(data)) };
}

fn as_header(data: *const ()) -> NonNull<Header> {
    // A waker is only ever made from a block pointer, never null.
    NonNull::new(data.cast_mut().cast::<Header>()).expect("task waker with a null pointer")
}

/// Schedules the task directly if this thread runs its loop; `false` if
/// the wake must go through the inbox. Inlined into both waking entries of
/// the vtable: it is the hot half of every same-thread wake.
#[inline(always)]
fn wake_on_loop_thread(ptr: NonNull<Header>) -> bool {
    // SAFETY: `owner` never changes after allocation and is an `Arc`, safe
    // to read from any thread; the caller's reference keeps the block alive.
    let owner = unsafe { &(*ptr.as_ptr()).owner };
    let running = context::running_ptr();
    if running.is_null() {
        return false;
    }
    // SAFETY: `context::running_ptr` is not null only while an `Enter`
    // guard lives on this thread, and that guard keeps an `Rc` of this
    // very `Core` in the running-loop slot (context.rs states the three
    // invariants that make it so). So the `Core` is alive until this
    // borrow ends: nothing below runs user code that could end the guard.
    // A `Core` is only ever used through shared references.
    let core = unsafe { &*running };
    if !core.tasks().owns(owner) {
        return false;
    }
    // The running loop is on this thread and owns the task: its loop-thread
    // fields may be touched here.
    if let Some(scheduled) = core.tasks().schedule_ptr(ptr) {
        core.push_task(scheduled);
    }
    true
}

fn post_wake(wake: WakeRef) {
    let owner = wake.owner().clone();
    // A closed loop refuses the post; its tasks are finished, so nothing is
    // lost, and the message (with its reference) is dropped here.
    let _ = owner.post(Msg::Wake(wake));
}

// ---------------------------------------------------------------------------
// References.

/// A counted reference to a task, on its loop's thread.
pub(crate) struct TaskRef {
    ptr: NonNull<Header>,
    /// Loop-thread fields are reached through it.
    _not_send: PhantomData<*const ()>,
}

impl Clone for TaskRef {
    fn clone(&self) -> TaskRef {
        // SAFETY: `self` holds a reference.
        unsafe { acquire(self.ptr) };
        TaskRef {
            ptr: self.ptr,
            _not_send: PhantomData,
        }
    }
}

impl Drop for TaskRef {
    fn drop(&mut self) {
        // SAFETY: `self` holds a reference and gives it up.
        unsafe { release(self.ptr) };
    }
}

impl TaskRef {
    fn header(&self) -> &Header {
        // SAFETY: the reference keeps the block alive, and a `TaskRef` only
        // exists on the loop's thread (it is `!Send`, made by `LocalTasks`
        // or from a `Task` handle), where the header's cells may be read.
        unsafe { self.ptr.as_ref() }
    }

    fn state(&self) -> u64 {
        self.header().state.get()
    }

    fn set(&self, bits: u64) {
        let header = self.header();
        header.state.set(header.state.get() | bits);
    }

    fn clear(&self, bits: u64) {
        let header = self.header();
        header.state.set(header.state.get() & !bits);
    }

    /// The task's id, unique within its loop.
    pub(crate) fn id(&self) -> TaskId {
        TaskId::new(self.state() >> ID_SHIFT)
    }

    /// The name given at spawn time.
    pub(crate) fn name(&self) -> Option<&str> {
        self.header().meta.extras()?.name.as_deref()
    }

    /// Id, name and spawn location.
    pub(crate) fn info(&self) -> TaskInfo {
        TaskInfo {
            id: self.id(),
            name: self.name().map(str::to_owned),
            location: self.header().meta.location(),
        }
    }

    /// The name, or `task #id`: what a trace calls the task.
    pub(crate) fn label(&self) -> String {
        match self.name() {
            Some(name) => name.to_owned(),
            None => format!("task {}", self.id()),
        }
    }

    pub(crate) fn is_done(&self) -> bool {
        self.state() & DONE != 0
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.state() & CANCELLED != 0
    }

    pub(crate) fn is_panicked(&self) -> bool {
        self.state() & PANICKED != 0
    }

    /// Whether `cancel()` was called and the task has not finished yet
    /// (asyncio's `cancelling() > 0`).
    pub(crate) fn is_cancelling(&self) -> bool {
        self.state() & (CANCEL_REQUESTED | DONE) == CANCEL_REQUESTED
    }

    /// Asks for cancellation (asyncio's `Task.cancel`); `false` if done.
    pub(crate) fn request_cancel(&self) -> bool {
        let state = self.state();
        if state & DONE != 0 {
            return false;
        }
        if state & CANCEL_REQUESTED == 0 {
            self.set(CANCEL_REQUESTED);
            self.wake();
        }
        true
    }

    /// Schedules the task, as its waker would.
    pub(crate) fn wake(&self) {
        if !wake_on_loop_thread(self.ptr) {
            // SAFETY: `self` holds a reference; the new one is the post's.
            unsafe { acquire(self.ptr) };
            post_wake(WakeRef { ptr: self.ptr });
        }
    }

    /// Registers `waker` to be woken when the task finishes.
    #[inline]
    pub(crate) fn set_join_waker(&self, waker: &Waker) {
        self.header().join_waker.set(waker);
    }

    /// Drops the waker registered by [`set_join_waker`](Self::set_join_waker),
    /// if any.
    pub(crate) fn clear_join_waker(&self) {
        // Taken first and dropped after: dropping a waker may run foreign code.
        drop(self.header().join_waker.take());
    }

    /// Schedules `callback` for when the task finishes; `Err` gives it back
    /// if the task is done already.
    pub(crate) fn add_done_callback(
        &self,
        callback: Box<dyn FnOnce()>,
    ) -> Result<(), Box<dyn FnOnce()>> {
        if self.is_done() {
            return Err(callback);
        }
        let extras = self.header().meta.extras_or_init();
        extras.callbacks.borrow_mut().push(callback);
        Ok(())
    }

    /// The message of the panic the task ended with, if it is still stored.
    pub(crate) fn panic_message(&self) -> Option<String> {
        let f = self.header().vtable.panic_message;
        // SAFETY: loop thread (see `header`); no reference to the stage is held.
        unsafe { f(self.ptr) }
    }

    fn drop_output(&self) {
        let f = self.header().vtable.drop_output;
        // SAFETY: loop thread (see `header`); no reference to the stage is held.
        unsafe { f(self.ptr) }
    }
}

/// A counted reference that may cross threads: an off-thread wake in the
/// loop's inbox. It only gives up its reference, or is turned back into a
/// scheduling request by the loop that owns the task.
pub(crate) struct WakeRef {
    ptr: NonNull<Header>,
}

// SAFETY: a `WakeRef` touches only `refs` (atomic) and `owner` (an `Arc`
// that never changes) until `LocalTasks::accept` checks that it is on the
// thread of the owning loop.
unsafe impl Send for WakeRef {}

impl WakeRef {
    fn owner(&self) -> &Arc<Remote> {
        // SAFETY: the reference keeps the block alive; `owner` is immutable
        // and `Sync`.
        unsafe { &(*self.ptr.as_ptr()).owner }
    }
}

impl Drop for WakeRef {
    fn drop(&mut self) {
        // SAFETY: `self` holds a reference and gives it up. Off the loop
        // thread this may free the block, which then holds only `Send` parts.
        unsafe { release(self.ptr) };
    }
}

/// A task in the ready queue: the loop's reference, lent to the queue.
///
/// Exactly one exists per task whose `SCHEDULED` bit is set; the loop keeps
/// its reference while the bit is set, so the pointer stays valid.
pub(crate) struct Scheduled {
    ptr: NonNull<Header>,
    _not_send: PhantomData<*const ()>,
}

impl Scheduled {
    /// A counted reference to the scheduled task.
    pub(crate) fn task(&self) -> TaskRef {
        // SAFETY: the loop's reference keeps the block alive while it is scheduled.
        unsafe { acquire(self.ptr) };
        TaskRef {
            ptr: self.ptr,
            _not_send: PhantomData,
        }
    }

    /// Clears `SCHEDULED`; returns whether the task is done (the caller
    /// must then release the loop's reference).
    fn unschedule(self) -> (NonNull<Header>, bool) {
        let this = ManuallyDrop::new(self);
        // SAFETY: see `Scheduled`; loop thread (`!Send`).
        let header = unsafe { this.ptr.as_ref() };
        let state = header.state.get();
        header.state.set(state & !SCHEDULED);
        (this.ptr, state & DONE != 0)
    }
}

impl Drop for Scheduled {
    /// A scheduled task dropped unrun (loop close): the loop's reference is
    /// given up if the task is done.
    fn drop(&mut self) {
        let (ptr, done) = Scheduled {
            ptr: self.ptr,
            _not_send: PhantomData,
        }
        .unschedule();
        if done {
            // SAFETY: a done task keeps the loop's reference only while scheduled.
            unsafe { release(ptr) };
        }
    }
}

/// A typed reference to a task whose output is `T`, for its [`Task`] handle.
///
/// [`Task`]: crate::Task
pub(crate) struct JoinRef<T> {
    task: TaskRef,
    _output: PhantomData<T>,
}

impl<T> JoinRef<T> {
    pub(crate) fn task(&self) -> &TaskRef {
        &self.task
    }

    /// Marks the handle as awaited.
    pub(crate) fn mark_polled(&self) {
        self.task.set(POLLED);
    }

    /// Whether the handle was ever awaited.
    pub(crate) fn was_polled(&self) -> bool {
        self.task.state() & POLLED != 0
    }

    /// Forgets that the handle was awaited (`shield`).
    pub(crate) fn unmark_polled(&self) {
        self.task.clear(POLLED);
    }

    /// The message of a panic the task ended with, if nobody took it.
    pub(crate) fn untaken_panic(&self) -> Option<String> {
        if self.task.is_panicked() {
            self.task.panic_message()
        } else {
            None
        }
    }

    /// Takes the output if the task is done and it is still there.
    #[inline]
    pub(crate) fn take_output(&self) -> Option<Result<T, TaskError>> {
        if !self.task.is_done() {
            return None;
        }
        let mut out = None;
        let f = self.task.header().vtable.take_output;
        // SAFETY: a `JoinRef<T>` is only made by `LocalTasks::spawn::<F>`
        // and `LocalTasks::spawn_cancelled::<F>` with `T = F::Output`, so `f` reads the stage as the right type;
        // loop thread (`!Send`).
        unsafe {
            f(
                self.task.ptr,
                (&mut out as *mut Option<Result<T, TaskError>>).cast(),
            )
        };
        out
    }

    /// The handle is going away: marks the task detached and drops its
    /// output if nobody took it. Returns the task for the caller's last word.
    pub(crate) fn into_detached(self) -> TaskRef {
        self.detach();
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so its `TaskRef`
        // (and the reference it counts) is moved out exactly once.
        unsafe { std::ptr::read(&this.task) }
    }

    /// Clears `HANDLE` and drops what only the handle wanted, on this (the
    /// loop's) thread; does nothing the second time.
    #[inline]
    pub(crate) fn detach(&self) {
        let state = self.task.state();
        if state & HANDLE == 0 {
            return;
        }
        self.task.clear(HANDLE);
        if state & DONE != 0 {
            // Most often taken already: no call through the vtable then.
            if state & OUTPUT != 0 {
                self.task.drop_output();
            }
        } else {
            self.task.clear_join_waker();
        }
    }
}

impl<T> Drop for JoinRef<T> {
    /// However the handle goes (also unwinding before it became a `Task`),
    /// the output never stays in the block for whoever releases the last
    /// reference: that may be a waker on another thread, and the output
    /// may be `!Send` (`dealloc` relies on this).
    fn drop(&mut self) {
        self.detach();
    }
}

// ---------------------------------------------------------------------------
// The loop's table.

/// What the loop must do once a task finishes.
pub(crate) struct Finished {
    /// The handle's awaiter, to wake.
    pub(crate) join_waker: Option<Waker>,
    /// Done callbacks, to schedule with `call_soon` in order.
    pub(crate) callbacks: Vec<Box<dyn FnOnce()>>,
    /// A panic nobody will retrieve (the handle is gone), to report.
    pub(crate) unretrieved_panic: Option<Box<(TaskInfo, String)>>,
}

/// The tasks of one loop: it spawns them, runs them and keeps the table of
/// the live ones (asyncio's `all_tasks`).
///
/// Lives inside the loop's `Core`, on the loop's thread (`!Send`). Every
/// registered task holds the loop's reference; the table's pointers are
/// valid while their task is registered.
pub(crate) struct LocalTasks {
    /// This loop's inbox: the `owner` of its tasks.
    remote: Arc<Remote>,
    live: RefCell<LiveTable>,
    /// While closing: the live tasks left to close, last spawned first.
    closing: RefCell<Vec<TaskRef>>,
    next_id: Cell<u64>,
    /// The task being polled, for `current_task()`.
    current: Cell<Option<NonNull<Header>>>,
    _not_send: PhantomData<*const ()>,
}

impl LocalTasks {
    pub(crate) fn new(remote: Arc<Remote>) -> LocalTasks {
        block_cache::loop_opened();
        LocalTasks {
            remote,
            live: RefCell::new(LiveTable::default()),
            closing: RefCell::new(Vec::new()),
            next_id: Cell::new(1),
            current: Cell::new(None),
            _not_send: PhantomData,
        }
    }

    /// Whether tasks whose owner is `owner` are this loop's.
    pub(crate) fn owns(&self, owner: &Arc<Remote>) -> bool {
        Arc::ptr_eq(&self.remote, owner)
    }

    /// Allocates and registers a task with its handle. The caller then
    /// either [`schedule`](LocalTasks::schedule)s it or runs its first
    /// step at once with [`run_now`](LocalTasks::run_now) (an eager task).
    pub(crate) fn spawn<F>(
        &self,
        future: F,
        name: Option<String>,
        location: &'static Location<'static>,
    ) -> JoinRef<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        // Two references: the loop's and the handle's.
        let ptr = TaskCell::allocate(future, self.remote.clone(), name, location, 2, HANDLE);
        self.register(ptr);
        JoinRef {
            task: TaskRef {
                ptr,
                _not_send: PhantomData,
            },
            _output: PhantomData,
        }
    }

    /// Runs `future`, which may borrow (it need not be `'static`), as the
    /// main task of `run_until_complete`: a task like any other, named
    /// "main", except that it is not in the list of live tasks and has no
    /// `Task` handle. `drive` gets the task's first scheduling and a probe
    /// that tells whether it is done, and runs the loop; when it returns,
    /// the output is taken (`None` if the task has not finished).
    ///
    /// Before this returns, normally or by unwinding, the future has been
    /// dropped and the output taken or dropped: what outlives the call (the
    /// block, kept by wakers or a `CurrentTask`) holds neither, so the
    /// borrows inside `F` never outlive their lifetimes. The guard that
    /// does this lives in this frame, out of the caller's reach: it cannot
    /// be leaked.
    pub(crate) fn run_main<F: Future>(
        &self,
        future: F,
        location: &'static Location<'static>,
        drive: impl FnOnce(Scheduled, &dyn Fn() -> bool),
    ) -> Option<Result<F::Output, TaskError>> {
        // Two references: the loop's and the guard's. Named, so that
        // traces and reports call it "main".
        let name = Some("main".to_owned());
        let ptr = TaskCell::allocate(future, self.remote.clone(), name, location, 2, HANDLE);
        self.assign_id(ptr);
        let guard = MainGuard {
            tasks: self,
            join: JoinRef {
                task: TaskRef {
                    ptr,
                    _not_send: PhantomData,
                },
                _output: PhantomData,
            },
        };
        let scheduled = self.schedule_ptr(ptr).expect("a new task is not scheduled");
        drive(scheduled, &|| guard.join.task.is_done());
        let output = guard.join.take_output();
        drop(guard);
        output
    }

    /// Marks one of this loop's tasks scheduled, for the ready queue;
    /// `None` if it is scheduled already, done, or not this loop's.
    pub(crate) fn schedule(&self, task: &TaskRef) -> Option<Scheduled> {
        if !self.owns(&task.header().owner) {
            return None;
        }
        self.schedule_ptr(task.ptr)
    }

    /// A task for a loop that will never run again: its future is dropped
    /// at once and it ends cancelled.
    pub(crate) fn spawn_cancelled<F>(
        &self,
        future: F,
        name: Option<String>,
        location: &'static Location<'static>,
    ) -> JoinRef<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        // One reference, the handle's: the task is never registered.
        let ptr = TaskCell::allocate(future, self.remote.clone(), name, location, 1, HANDLE);
        self.assign_id(ptr);
        // SAFETY: the block was just made for `F`, nothing else refers to it.
        let bits = unsafe { (ptr.as_ref().vtable.cancel)(ptr) };
        // SAFETY: as above, loop thread.
        let header = unsafe { ptr.as_ref() };
        header.state.set(header.state.get() | DONE | bits);
        JoinRef {
            task: TaskRef {
                ptr,
                _not_send: PhantomData,
            },
            _output: PhantomData,
        }
    }

    fn assign_id(&self, ptr: NonNull<Header>) {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        // SAFETY: a live block of this loop, loop thread.
        let state = &unsafe { ptr.as_ref() }.state;
        state.set((state.get() & ((1 << ID_SHIFT) - 1)) | (id << ID_SHIFT));
    }

    /// Gives the task its id and a slot in the table of live tasks.
    fn register(&self, ptr: NonNull<Header>) {
        self.assign_id(ptr);
        // SAFETY: a live block of this loop, loop thread.
        let header = unsafe { ptr.as_ref() };
        header.state.set(header.state.get() | REGISTERED);
        header.live_slot.set(self.live.borrow_mut().insert(ptr));
    }

    fn unregister(&self, ptr: NonNull<Header>) {
        // SAFETY: a registered block of this loop, loop thread.
        let header = unsafe { ptr.as_ref() };
        self.live.borrow_mut().remove(header.live_slot.get(), ptr);
        header.state.set(header.state.get() & !REGISTERED);
    }

    /// Marks the task scheduled; `None` if it is already, or done.
    fn schedule_ptr(&self, ptr: NonNull<Header>) -> Option<Scheduled> {
        // SAFETY: the caller holds a reference to a block owned by this
        // loop (checked by `owns`), and this is the loop's thread.
        let header = unsafe { ptr.as_ref() };
        debug_assert!(self.owns(&header.owner));
        let state = header.state.get();
        if state & (SCHEDULED | DONE) != 0 {
            return None;
        }
        header.state.set(state | SCHEDULED);
        Some(Scheduled {
            ptr,
            _not_send: PhantomData,
        })
    }

    /// Wakes `waker` on the loop's thread: a waker of one of this loop's
    /// tasks is turned straight into its scheduling, with no look-up of the
    /// running loop; any other waker is woken as usual.
    pub(crate) fn wake_local(&self, waker: Waker) -> Option<Scheduled> {
        if !std::ptr::eq(waker.vtable(), &WAKER_VTABLE) {
            waker.wake();
            return None;
        }
        let ptr = as_header(waker.data());
        // SAFETY: the waker holds a reference, so the block is alive;
        // `owner` never changes.
        if !self.owns(unsafe { &(*ptr.as_ptr()).owner }) {
            waker.wake();
            return None;
        }
        let waker = ManuallyDrop::new(waker);
        // One of ours, and this is the loop's thread (`LocalTasks` is
        // `!Send`): schedule it as its waker would.
        let scheduled = self.schedule_ptr(ptr);
        // SAFETY: the waker's reference is given up here instead of by its
        // (suppressed) drop; a scheduled task keeps the loop's reference.
        unsafe { release(as_header(waker.data())) };
        scheduled
    }

    /// Turns an off-thread wake drained from the inbox into a scheduling.
    pub(crate) fn accept(&self, wake: WakeRef) -> Option<Scheduled> {
        if !self.owns(wake.owner()) {
            // Not ours (cannot happen: a wake is posted to its owner's
            // inbox); do not touch it beyond dropping the reference.
            return None;
        }
        self.schedule_ptr(wake.ptr)
    }

    /// Registers a task made on another thread and schedules it.
    pub(crate) fn adopt(&self, spawn: RemoteSpawn) -> Option<Scheduled> {
        let spawn = ManuallyDrop::new(spawn);
        // SAFETY: the block is alive (its one reference is `spawn`'s) and
        // only `refs` and `owner` were ever touched off this thread; the
        // inbox's lock ordered those writes before this read.
        let header = unsafe { spawn.ptr.as_ref() };
        if !self.owns(&header.owner) {
            drop(ManuallyDrop::into_inner(spawn));
            return None;
        }
        // Its one reference becomes the loop's.
        self.register(spawn.ptr);
        self.schedule_ptr(spawn.ptr)
    }

    /// Runs a task taken from the ready queue: polls it once, or drops its
    /// future if a cancel was requested. `Some` if it finished.
    #[inline]
    pub(crate) fn run(&self, scheduled: Scheduled) -> Option<Finished> {
        let (ptr, done) = scheduled.unschedule();
        if done {
            // SAFETY: a done task kept the loop's reference only while scheduled.
            unsafe { release(ptr) };
            return None;
        }
        self.step(ptr)
    }

    /// Runs a new eager task's first step inside the spawn call.
    pub(crate) fn run_now<T>(&self, join: &JoinRef<T>) -> Option<Finished> {
        let state = join.task.state();
        if state & (SCHEDULED | DONE | RUNNING) != 0 {
            return None;
        }
        self.step(join.task.ptr)
    }

    #[inline]
    fn step(&self, ptr: NonNull<Header>) -> Option<Finished> {
        // SAFETY: registered (the loop's reference keeps it alive), loop thread.
        let header = unsafe { ptr.as_ref() };
        let vtable = header.vtable;
        if header.state.get() & CANCEL_REQUESTED != 0 {
            // SAFETY: as above; the stage is not borrowed.
            let bits = unsafe { (vtable.cancel)(ptr) };
            return Some(self.finish(ptr, bits));
        }
        let previous = self.current.replace(Some(ptr));
        header.state.set(header.state.get() | RUNNING);
        // A waker that borrows the loop's reference: never dropped, so it
        // does not give one up. Clones made from it take their own.
        let waker = ManuallyDrop::new(
            // SAFETY: `WAKER_VTABLE`'s functions accept a block pointer
            // whose reference is held, here by the loop for the whole poll.
            unsafe { Waker::from_raw(RawWaker::new(ptr.as_ptr().cast(), &WAKER_VTABLE)) },
        );
        let mut cx = Context::from_waker(&waker);
        // SAFETY: as above; the future is polled in place.
        let polled = unsafe { (vtable.poll)(ptr, &mut cx) };
        header.state.set(header.state.get() & !RUNNING);
        self.current.set(previous);
        match polled {
            Poll::Pending => None,
            Poll::Ready(bits) => Some(self.finish(ptr, bits)),
        }
    }

    /// The task's future is gone: marks it done, unlinks it and collects
    /// what the loop must do next.
    fn finish(&self, ptr: NonNull<Header>, bits: u64) -> Finished {
        // SAFETY: registered until `unregister` below, and the loop's
        // reference is released last; loop thread.
        let header = unsafe { ptr.as_ref() };
        header.state.set(header.state.get() | DONE | bits);
        if header.state.get() & REGISTERED != 0 {
            self.unregister(ptr);
        }
        let callbacks = match header.meta.extras() {
            Some(extras) => extras.callbacks.take(),
            None => Vec::new(),
        };
        let task = TaskRef {
            ptr,
            _not_send: PhantomData,
        };
        let mut unretrieved_panic = None;
        if task.state() & HANDLE == 0 {
            // Nobody will read the output: report a panic, drop the rest.
            if task.is_panicked() {
                unretrieved_panic = task.panic_message().map(|m| Box::new((task.info(), m)));
            }
            task.drop_output();
        }
        let finished = Finished {
            join_waker: header.join_waker.take(),
            callbacks,
            unretrieved_panic,
        };
        let scheduled = task.state() & SCHEDULED != 0;
        if scheduled {
            // The ready queue still has it: its `Scheduled` gives up the
            // loop's reference when popped or dropped.
            std::mem::forget(task);
        }
        // Otherwise dropping `task` gives up the loop's reference.
        finished
    }

    /// The task being polled right now.
    pub(crate) fn current(&self) -> Option<TaskRef> {
        let ptr = self.current.get()?;
        // SAFETY: the running task is registered, hence alive.
        unsafe { acquire(ptr) };
        Some(TaskRef {
            ptr,
            _not_send: PhantomData,
        })
    }

    /// References to every live task, in spawn order.
    pub(crate) fn live(&self) -> Vec<TaskRef> {
        let mut out: Vec<TaskRef> = self
            .live
            .borrow()
            .tasks()
            .map(|ptr| {
                // SAFETY: registered, hence alive (the loop's reference).
                unsafe { acquire(ptr) };
                TaskRef {
                    ptr,
                    _not_send: PhantomData,
                }
            })
            .collect();
        // Ids are given in spawn order; slots are reused in any order.
        out.sort_unstable_by_key(|task| task.state() >> ID_SHIFT);
        out
    }

    /// Drops the future of the first live task (loop close), in spawn
    /// order; `None` when none is left. The caller reports and drops what
    /// it returns one at a time, so a `Drop` that spawns cannot recurse.
    pub(crate) fn close_next(&self) -> Option<(TaskInfo, Finished)> {
        let task = loop {
            let next = self.closing.borrow_mut().pop();
            match next {
                Some(task) if task.state() & REGISTERED != 0 => break task,
                // It ended meanwhile (a `Drop` closed over its handle).
                Some(ended) => drop(ended),
                None => {
                    if self.live.borrow().len == 0 {
                        return None;
                    }
                    let mut left = self.live();
                    left.reverse();
                    *self.closing.borrow_mut() = left;
                }
            }
        };
        let ptr = task.ptr;
        let info = task.info();
        // Unregistered before its future runs user code in `Drop`.
        self.unregister(ptr);
        // SAFETY: registered until just now, so the loop's reference keeps
        // it alive (and `task` holds one more); loop thread; not being
        // polled (the loop is not running while it closes), so the stage
        // is not borrowed.
        let bits = unsafe { (ptr.as_ref().vtable.cancel)(ptr) };
        let finished = self.finish(ptr, bits);
        drop(task);
        Some((info, finished))
    }
}

/// The loop's live tasks (asyncio's `all_tasks`): one slot per registered
/// task, holding its block, and the task holds its slot's index (one word
/// per task here, where a list through the headers would take two in every
/// block). Freed slots are chained into a free list and reused, so the
/// table is as long as the peak number of live tasks. It is not the
/// crate's `Slab` (`src/slab.rs`): a task's slot is never looked up
/// by a stale key (the task itself holds it), so no generation is needed,
/// and a generation plus an entry tag would double the word per task.
struct LiveTable {
    /// A registered block (low bit clear; blocks are 8-aligned), or a free
    /// slot: `next_free << 1 | 1`.
    slots: Vec<usize>,
    /// The first free slot, or `NO_SLOT`.
    free: u32,
    /// Registered tasks.
    len: usize,
}

/// The end of [`LiveTable`]'s free list.
const NO_SLOT: u32 = u32::MAX;

impl Default for LiveTable {
    fn default() -> LiveTable {
        LiveTable {
            slots: Vec::new(),
            free: NO_SLOT,
            len: 0,
        }
    }
}

impl LiveTable {
    #[inline]
    fn insert(&mut self, ptr: NonNull<Header>) -> u32 {
        let word = ptr.as_ptr() as usize;
        debug_assert_eq!(word & 1, 0, "task blocks are 8-aligned");
        self.len += 1;
        let slot = self.free;
        if slot != NO_SLOT {
            let entry = &mut self.slots[slot as usize];
            debug_assert_eq!(*entry & 1, 1, "the free list held a task");
            // A free slot's word holds a `u32` (shifted), so this is exact.
            self.free = (*entry >> 1) as u32;
            *entry = word;
            return slot;
        }
        let len = self.slots.len();
        assert!(
            len < NO_SLOT as usize,
            "more than 2^32 - 1 live tasks on one loop"
        );
        self.slots.push(word);
        len as u32
    }

    #[inline]
    fn remove(&mut self, slot: u32, ptr: NonNull<Header>) {
        let entry = &mut self.slots[slot as usize];
        // Checked, not assumed: a wrong slot would leave a freed block in
        // the table.
        assert_eq!(
            *entry,
            ptr.as_ptr() as usize,
            "a task left a slot not its own"
        );
        *entry = ((self.free as usize) << 1) | 1;
        self.free = slot;
        self.len -= 1;
    }

    /// The registered blocks, in slot order.
    fn tasks(&self) -> impl Iterator<Item = NonNull<Header>> + '_ {
        self.slots
            .iter()
            .filter(|&&word| word & 1 == 0)
            .map(|&word| NonNull::new(word as *mut Header).expect("a task slot is never null"))
    }
}

impl Drop for LocalTasks {
    fn drop(&mut self) {
        // A loop dropped without `close` (it cannot happen through the
        // public API): drop the rest the same way.
        while let Some((_, finished)) = self.close_next() {
            drop(finished);
        }
        block_cache::loop_dropped();
    }
}

/// Ends the main task of [`LocalTasks::run_main`] when its frame ends,
/// also by unwinding: a future still there is dropped in place, the output
/// is dropped if nobody took it.
struct MainGuard<'t, T> {
    tasks: &'t LocalTasks,
    join: JoinRef<T>,
}

impl<T> Drop for MainGuard<'_, T> {
    fn drop(&mut self) {
        let ptr = self.join.task.ptr;
        if self.tasks.current.get() == Some(ptr) {
            // Only if a poll of it unwound past its `catch_unwind`, which
            // nothing does; never leave `current` naming a task that may go.
            self.tasks.current.set(None);
        }
        if !self.join.task.is_done() {
            // The loop gave up on it (`stop()`, or an unwind out of the
            // loop). No poll of it is on the stack: this frame is below
            // every `run_once`, and those have returned or unwound.
            let cancel = self.join.task.header().vtable.cancel;
            // SAFETY: a live block made for `F` by `run_main` (the guard's
            // reference keeps it), loop thread (`LocalTasks` is `!Send`),
            // its stage not borrowed (see above) and still `Running` (not
            // done). It is dropped in place, never moved.
            let bits = unsafe { cancel(ptr) };
            // Marks it done and gives up the loop's reference (or leaves it
            // to its `Scheduled`); a main task has no callbacks or awaiter.
            drop(self.tasks.finish(ptr, bits));
        }
        // Dropping `join` next drops an output nobody took (its `detach`)
        // and gives up the guard's reference.
    }
}

/// A task made on another thread for [`LoopHandle::spawn_threadsafe`],
/// on its way to the loop through the inbox.
///
/// [`LoopHandle::spawn_threadsafe`]: crate::LoopHandle::spawn_threadsafe
pub(crate) struct RemoteSpawn {
    ptr: NonNull<Header>,
}

// SAFETY: made only from a `Send` future with a `Send` output; until the
// loop adopts it, nothing else refers to the block.
unsafe impl Send for RemoteSpawn {}

impl RemoteSpawn {
    pub(crate) fn new<F>(
        future: F,
        owner: Arc<Remote>,
        location: &'static Location<'static>,
    ) -> Self
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // One reference, which becomes the loop's; no handle.
        let ptr = TaskCell::allocate(future, owner, None, location, 1, 0);
        RemoteSpawn { ptr }
    }
}

impl Drop for RemoteSpawn {
    /// Refused by a closed loop: the (`Send`) future is dropped here.
    fn drop(&mut self) {
        // SAFETY: the only reference to the block; the future and output
        // are `Send`, so dropping them on this thread is fine.
        unsafe {
            let vtable = self.ptr.as_ref().vtable;
            (vtable.cancel)(self.ptr);
            (vtable.drop_output)(self.ptr);
            release(self.ptr);
        }
    }
}

/// Element `index` of a pinned slice, pinned: how `gather` and
/// `as_completed` poll their children in place, in one allocation for all
/// of them instead of one box each.
///
/// # Panics
///
/// If `index` is out of bounds.
pub(crate) fn pin_index<T>(slice: Pin<&mut [T]>, index: usize) -> Pin<&mut T> {
    // SAFETY: structural pinning of slice elements: a pinned slice's
    // elements are never moved out of it (this gives no `&mut` to the
    // slice, only a pinned reference to one element), so pinning the
    // slice pins each element.
    unsafe { slice.map_unchecked_mut(|s| &mut s[index]) }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;
    use std::thread::{self, ThreadId};

    use super::*;
    use crate::runtime::reactor::Reactor;

    /// `!Send`: records the thread it is dropped on.
    struct DroppedOn(Rc<Cell<Option<ThreadId>>>);

    impl Drop for DroppedOn {
        fn drop(&mut self) {
            self.0.set(Some(thread::current().id()));
        }
    }

    /// A `JoinRef` dropped as a value (an unwinding spawn path, before it
    /// becomes a `Task`) rather than through `into_detached`: the output
    /// must still be dropped on the loop's thread, not by whichever thread
    /// releases the last reference (here a waker on another thread).
    #[test]
    fn join_ref_dropped_without_detaching_drops_output_on_loop_thread() {
        let (_reactor, wakeup) = Reactor::new().unwrap();
        let remote = Arc::new(Remote::new(wakeup));
        let tasks = LocalTasks::new(remote.clone());
        let dropped_on = Rc::new(Cell::new(None));
        let mut output = Some(DroppedOn(dropped_on.clone()));
        let (tx, rx) = std::sync::mpsc::channel();
        let future = std::future::poll_fn(move |cx| {
            tx.send(cx.waker().clone()).unwrap();
            Poll::Ready(output.take().unwrap())
        });
        let join = tasks.spawn(future, None, Location::caller());
        let scheduled = tasks.schedule(join.task()).unwrap();
        drop(join);
        drop(tasks.run(scheduled).expect("finished at its first poll"));
        let waker = rx.recv().unwrap();
        thread::spawn(move || drop(waker)).join().unwrap();
        assert_eq!(dropped_on.get(), Some(thread::current().id()));
        drop(tasks);
        assert_eq!(Arc::strong_count(&remote), 1, "the block was freed");
    }

    /// A task's waker kept as a `ThinWaker` costs no allocation and no
    /// reference of its own: the waker's reference moves into the word and
    /// back out, and dropping it gives that reference up.
    #[test]
    fn thin_waker_keeps_a_task_waker_as_its_block() {
        let (_reactor, wakeup) = Reactor::new().unwrap();
        let remote = Arc::new(Remote::new(wakeup));
        let tasks = LocalTasks::new(remote.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        let future = std::future::poll_fn(move |cx| {
            tx.send(cx.waker().clone()).unwrap();
            Poll::<()>::Pending
        });
        let join = tasks.spawn(future, None, Location::caller());
        let scheduled = tasks.schedule(join.task()).unwrap();
        assert!(tasks.run(scheduled).is_none());
        let waker = rx.recv().unwrap();
        let refs = || {
            // SAFETY: the handle keeps the block alive; `refs` is atomic.
            let header = unsafe { join.task().ptr.as_ref() };
            header.refs.load(Ordering::Relaxed)
        };
        let before = refs();
        let mut thin = ThinWaker::new(waker.clone());
        assert_eq!(thin.word.get(), waker.data() as usize, "the block itself");
        assert_eq!(refs(), before + 1, "the clone's reference, not another");
        assert!(thin.will_wake(&waker));
        assert!(!thin.will_wake(Waker::noop()));
        thin.set(&waker);
        assert_eq!(refs(), before + 1, "set keeps a waker of the same task");
        let back = thin.into_waker();
        assert!(back.will_wake(&waker));
        assert_eq!(refs(), before + 1);
        drop(ThinWaker::new(back));
        assert_eq!(refs(), before, "dropping it gave the reference up");
        drop(waker);
        drop(join);
        drop(tasks);
        assert_eq!(Arc::strong_count(&remote), 1, "the block was freed");
    }

    /// Any other waker is boxed, compared with `will_wake`, replaced by
    /// `set`, and handed back as itself.
    #[test]
    fn thin_waker_boxes_a_foreign_waker() {
        struct Count(std::sync::atomic::AtomicUsize);
        impl std::task::Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let first = Arc::new(Count(Default::default()));
        let second = Arc::new(Count(Default::default()));
        let w1 = Waker::from(first.clone());
        let w2 = Waker::from(second.clone());
        let mut thin = ThinWaker::from_ref(&w1);
        assert_eq!(thin.word.get() & BOXED_WAKER, BOXED_WAKER);
        assert_eq!(Arc::strong_count(&first), 3);
        assert!(thin.will_wake(&w1) && !thin.will_wake(&w2));
        thin.set(&w2);
        assert_eq!(Arc::strong_count(&first), 2, "the old waker was dropped");
        assert!(thin.will_wake(&w2));
        thin.into_waker().wake();
        assert_eq!(second.0.load(Ordering::SeqCst), 1);
        assert_eq!(first.0.load(Ordering::SeqCst), 0);
        assert_eq!(Arc::strong_count(&second), 2, "woken and gone");
        assert_eq!(std::mem::size_of::<Option<ThinWaker>>(), 8);
    }

    /// Sets its flag when dropped; borrows it (a non-`'static` future).
    struct Flag<'a>(&'a Cell<bool>);

    impl Drop for Flag<'_> {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }

    /// A main task whose loop unwinds out of `drive` before it finished:
    /// the guard drops its borrowing future in place before `run_main`'s
    /// frame is gone, and a waker kept past that frees only plain memory
    /// on another thread.
    #[test]
    fn main_task_future_dropped_when_drive_unwinds() {
        let (_reactor, wakeup) = Reactor::new().unwrap();
        let remote = Arc::new(Remote::new(wakeup));
        let tasks = LocalTasks::new(remote.clone());
        let dropped = Cell::new(false);
        let kept = RefCell::new(None);
        let unwound = catch_unwind(AssertUnwindSafe(|| {
            let flag = Flag(&dropped);
            let kept = &kept;
            let future = std::future::poll_fn(move |cx| {
                let _hold = &flag;
                *kept.borrow_mut() = Some(cx.waker().clone());
                Poll::<u32>::Pending
            });
            tasks.run_main(future, Location::caller(), |scheduled, is_done| {
                assert!(tasks.run(scheduled).is_none());
                assert!(!is_done());
                panic!("the loop unwinds");
            })
        }));
        assert!(unwound.is_err());
        assert!(dropped.get(), "the guard dropped the future");
        let waker: Waker = kept.borrow_mut().take().unwrap();
        // The task is done: a wake on this thread (no loop running) posts,
        // and the loop, draining it, schedules nothing.
        waker.wake_by_ref();
        let mut msgs = Vec::new();
        remote.inbox.drain(&mut msgs);
        for msg in msgs {
            let Msg::Wake(wake) = msg else { panic!() };
            assert!(tasks.accept(wake).is_none());
        }
        thread::spawn(move || drop(waker)).join().unwrap();
        drop(tasks);
        assert_eq!(Arc::strong_count(&remote), 1, "the block was freed");
    }

    /// A main task that finishes: its output (which borrows) is handed
    /// back and the block is freed with the last reference.
    #[test]
    fn main_task_output_may_borrow() {
        let (_reactor, wakeup) = Reactor::new().unwrap();
        let remote = Arc::new(Remote::new(wakeup));
        let tasks = LocalTasks::new(remote.clone());
        let text = String::from("borrowed");
        let out = tasks.run_main(
            async { text.as_str() },
            Location::caller(),
            |scheduled, is_done| {
                let finished = tasks.run(scheduled).expect("done at its first poll");
                assert!(finished.join_waker.is_none() && finished.callbacks.is_empty());
                assert!(is_done());
            },
        );
        assert_eq!(out.unwrap().unwrap(), "borrowed");
        drop(tasks);
        assert_eq!(Arc::strong_count(&remote), 1, "the block was freed");
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! The cross-thread handoffs of a task, modelled with loom: a wake from
    //! another thread (a post through the inbox holding one reference)
    //! racing the task's completion, its cancellation, and the drop of its
    //! last handle. Every block must be freed exactly once: each holds one
    //! `Arc` of the loop's `Remote`, so at the end only the test's is left.
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    use super::*;
    use crate::runtime::reactor::Reactor;

    /// Pending at its first poll (keeping the waker), ready with 7 after.
    struct PendingOnce {
        waker: Rc<RefCell<Option<Waker>>>,
        dropped: Rc<Cell<u32>>,
    }

    impl Future for PendingOnce {
        type Output = u32;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
            let mut slot = self.waker.borrow_mut();
            if slot.is_some() {
                return Poll::Ready(7);
            }
            *slot = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    impl Drop for PendingOnce {
        fn drop(&mut self) {
            self.dropped.set(self.dropped.get() + 1);
        }
    }

    struct Fixture {
        remote: Arc<Remote>,
        tasks: LocalTasks,
        join: JoinRef<u32>,
        dropped: Rc<Cell<u32>>,
        _reactor: Reactor,
    }

    /// A loop-less table with one task polled once (now waiting), and the
    /// waker it left.
    fn waiting_task() -> (Fixture, Waker) {
        let (reactor, wakeup) = Reactor::new().unwrap();
        let remote = Arc::new(Remote::new(wakeup));
        let tasks = LocalTasks::new(remote.clone());
        let slot = Rc::new(RefCell::new(None));
        let dropped = Rc::new(Cell::new(0));
        let future = PendingOnce {
            waker: slot.clone(),
            dropped: dropped.clone(),
        };
        let join = tasks.spawn(future, None, Location::caller());
        let scheduled = tasks.schedule(join.task()).unwrap();
        assert!(tasks.run(scheduled).is_none());
        let waker = slot.borrow().clone().unwrap();
        let fixture = Fixture {
            remote,
            tasks,
            join,
            dropped,
            _reactor: reactor,
        };
        (fixture, waker)
    }

    /// Takes the posted wakes and schedules them; how many were scheduled.
    /// Takes the wakes posted from other threads: each must schedule
    /// nothing, because the task they name has already ended.
    fn accept_schedules_nothing(remote: &Remote, tasks: &LocalTasks) {
        let mut msgs = Vec::new();
        remote.inbox.drain(&mut msgs);
        for msg in msgs {
            let Msg::Wake(wake) = msg else {
                panic!("only wakes are posted here");
            };
            assert!(tasks.accept(wake).is_none());
        }
    }

    fn drain(f: &Fixture, run: bool) -> usize {
        let mut msgs = Vec::new();
        f.remote.inbox.drain(&mut msgs);
        let mut scheduled = 0;
        for msg in msgs {
            let Msg::Wake(wake) = msg else {
                panic!("only wakes are posted here");
            };
            if let Some(s) = f.tasks.accept(wake) {
                scheduled += 1;
                if run {
                    drop(f.tasks.run(s));
                }
            }
        }
        scheduled
    }

    fn all_freed(f: Fixture) {
        let Fixture {
            remote,
            tasks,
            join,
            dropped,
            _reactor,
        } = f;
        drop(join);
        drop(tasks);
        assert_eq!(dropped.get(), 1, "the future is dropped exactly once");
        assert_eq!(Arc::strong_count(&remote), 1, "every block was freed");
    }

    #[test]
    fn wake_from_another_thread_races_completion() {
        loom::model(|| {
            let (f, waker) = waiting_task();
            let waking = loom::thread::spawn(move || waker.wake());
            // The loop completes the task meanwhile.
            let scheduled = f.tasks.schedule(f.join.task()).unwrap();
            assert!(f.tasks.run(scheduled).is_some());
            waking.join().unwrap();
            // The late wake finds the task done: nothing is scheduled.
            assert_eq!(drain(&f, false), 0);
            assert_eq!(f.join.take_output().unwrap().unwrap(), 7);
            all_freed(f);
        });
    }

    #[test]
    fn wake_from_another_thread_races_cancellation() {
        loom::model(|| {
            let (f, waker) = waiting_task();
            let waking = loom::thread::spawn(move || waker.wake());
            // Off the running loop, the cancel's own wake goes through the inbox.
            assert!(f.join.task().request_cancel());
            while !f.join.task().is_done() {
                drain(&f, true);
                loom::thread::yield_now();
            }
            waking.join().unwrap();
            drain(&f, true);
            assert!(f.join.take_output().unwrap().unwrap_err().is_cancelled());
            all_freed(f);
        });
    }

    /// `!Send` output: records the (loom) thread it is dropped on.
    struct DroppedOn(Rc<Cell<Option<loom::thread::ThreadId>>>);

    impl Drop for DroppedOn {
        fn drop(&mut self) {
            self.0.set(Some(loom::thread::current().id()));
        }
    }

    #[test]
    fn handle_dropped_racing_last_waker_drop_keeps_output_on_loop_thread() {
        loom::model(|| {
            let (reactor, wakeup) = Reactor::new().unwrap();
            let remote = Arc::new(Remote::new(wakeup));
            let tasks = LocalTasks::new(remote.clone());
            let dropped_on = Rc::new(Cell::new(None));
            let mut output = Some(DroppedOn(dropped_on.clone()));
            let slot = Rc::new(RefCell::new(None));
            let kept = slot.clone();
            let future = std::future::poll_fn(move |cx| {
                *kept.borrow_mut() = Some(cx.waker().clone());
                Poll::Ready(output.take().unwrap())
            });
            let join = tasks.spawn(future, None, Location::caller());
            let scheduled = tasks.schedule(join.task()).unwrap();
            assert!(tasks.run(scheduled).is_some());
            let waker: Waker = slot.borrow_mut().take().unwrap();
            let waking = loom::thread::spawn(move || {
                waker.wake_by_ref();
                drop(waker);
            });
            // The handle goes as a value, racing the waker's last drop.
            drop(join);
            waking.join().unwrap();
            assert_eq!(dropped_on.get(), Some(loom::thread::current().id()));
            accept_schedules_nothing(&remote, &tasks);
            drop(tasks);
            drop(reactor);
            assert_eq!(Arc::strong_count(&remote), 1, "the block was freed");
        });
    }

    /// The main task of `run_main`, waiting, woken from another thread
    /// while the loop gives up on it (`stop()`): the guard drops the
    /// future before `run_main` returns, whichever comes first, and the
    /// wake schedules nothing afterwards.
    #[test]
    fn wake_from_another_thread_races_main_task_end() {
        loom::model(|| {
            let (reactor, wakeup) = Reactor::new().unwrap();
            let remote = Arc::new(Remote::new(wakeup));
            let tasks = LocalTasks::new(remote.clone());
            let dropped = Rc::new(Cell::new(0));
            let slot = Rc::new(RefCell::new(None));
            let future = PendingOnce {
                waker: slot.clone(),
                dropped: dropped.clone(),
            };
            let mut waking = None;
            let out = tasks.run_main(future, Location::caller(), |scheduled, is_done| {
                assert!(tasks.run(scheduled).is_none());
                let waker: Waker = slot.borrow_mut().take().unwrap();
                waking = Some(loom::thread::spawn(move || waker.wake()));
                assert!(!is_done());
                // The loop stops here, the task unfinished.
            });
            assert!(out.is_none());
            assert_eq!(dropped.get(), 1, "dropped before run_main returned");
            waking.unwrap().join().unwrap();
            accept_schedules_nothing(&remote, &tasks);
            drop(tasks);
            drop(reactor);
            assert_eq!(Arc::strong_count(&remote), 1, "the block was freed");
        });
    }

    /// A task waiting on an `Event`: its waker sits in the waiter line as
    /// a `ThinWaker` (the block itself, holding the waker's reference).
    /// Another thread sets the event, turning it back into a `Waker` and
    /// waking it, which posts; the loop runs the task to its end and every
    /// reference is given back exactly once.
    #[test]
    fn task_waiting_on_an_event_set_from_another_thread() {
        loom::model(|| {
            let (reactor, wakeup) = Reactor::new().unwrap();
            let remote = Arc::new(Remote::new(wakeup));
            let tasks = LocalTasks::new(remote.clone());
            let event = Arc::new(crate::sync::Event::new());
            let waited = event.clone();
            let future = async move {
                waited.wait().await;
                7u32
            };
            let join = tasks.spawn(future, None, Location::caller());
            let scheduled = tasks.schedule(join.task()).unwrap();
            assert!(tasks.run(scheduled).is_none(), "it waits");
            let setter = loom::thread::spawn(move || event.set());
            while !join.task().is_done() {
                let mut msgs = Vec::new();
                remote.inbox.drain(&mut msgs);
                for msg in msgs {
                    let Msg::Wake(wake) = msg else {
                        panic!("only wakes are posted here");
                    };
                    if let Some(scheduled) = tasks.accept(wake) {
                        drop(tasks.run(scheduled));
                    }
                }
                loom::thread::yield_now();
            }
            setter.join().unwrap();
            assert_eq!(join.take_output().unwrap().unwrap(), 7);
            accept_schedules_nothing(&remote, &tasks);
            drop(join);
            drop(tasks);
            drop(reactor);
            assert_eq!(Arc::strong_count(&remote), 1, "the block was freed");
        });
    }

    #[test]
    fn last_handle_and_waker_dropped_on_two_threads() {
        loom::model(|| {
            let (f, waker) = waiting_task();
            let waking = loom::thread::spawn(move || {
                waker.wake_by_ref();
                drop(waker);
            });
            // The handle goes (never awaited: the task is detached), then
            // the loop closes, dropping the future.
            let Fixture {
                remote,
                tasks,
                join,
                dropped,
                _reactor,
            } = f;
            drop(join.into_detached());
            while let Some((_, finished)) = tasks.close_next() {
                drop(finished);
            }
            waking.join().unwrap();
            accept_schedules_nothing(&remote, &tasks);
            drop(tasks);
            assert_eq!(dropped.get(), 1);
            assert_eq!(Arc::strong_count(&remote), 1);
        });
    }
}
