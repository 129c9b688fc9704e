//! The thread-local "running loop" slot (asyncio's `_running_loop`).

use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::rc::Rc;

use super::core::Core;
use super::RunError;

thread_local! {
    static CURRENT: RefCell<Option<Rc<Core>>> = const { RefCell::new(None) };

    /// The `Core` in `CURRENT`, as a plain pointer, for the wakers' fast
    /// path (`raw_task::wake_on_loop_thread`). A `Cell` of a pointer has no
    /// destructor, so reading it is one thread-local load, with no check of
    /// the slot's state and no `RefCell` borrow. Three invariants, all
    /// kept in this file, make it safe to dereference while it is not null:
    /// 1. Only [`Enter`] writes it: set right after `CURRENT` takes its
    ///    `Rc`, cleared right before `CURRENT` gives it up, with no other
    ///    code in between. So it is not null only while `CURRENT` holds an
    ///    `Rc` of the very `Core` it points at.
    /// 2. No two `Enter`s overlap on a thread: both constructors refuse
    ///    when `CURRENT` is taken.
    /// 3. An `Enter` is a private guard that is never leaked and is
    ///    `!Send`, so it is dropped on its own thread before the thread's
    ///    storage is torn down: `CURRENT`'s destructor never drops an `Rc`
    ///    while this points at it.
    static RUNNING: Cell<*const Core> = const { Cell::new(std::ptr::null()) };
}

/// The loop running on this thread as a pointer, null if none (or if this
/// thread's storage is gone). See `RUNNING` for when it may be dereferenced.
#[inline(always)]
pub(crate) fn running_ptr() -> *const Core {
    RUNNING.try_with(Cell::get).unwrap_or(std::ptr::null())
}

fn set_running(core: Option<&Rc<Core>>) {
    let ptr = core.map_or(std::ptr::null(), Rc::as_ptr);
    let _ = RUNNING.try_with(|running| running.set(ptr));
}

/// Calls `f` with the loop running on this thread, if any.
///
/// Returns `None` without calling `f` when the thread-local is being torn down.
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Rc<Core>>) -> R) -> R {
    let mut f = Some(f);
    let out = CURRENT.try_with(|slot| match slot.try_borrow() {
        Ok(current) => (f.take().unwrap())(current.as_ref()),
        Err(_) => (f.take().unwrap())(None),
    });
    match out {
        Ok(r) => r,
        Err(_) => (f.take().unwrap())(None),
    }
}

/// The running loop of this thread, cloned out of the slot.
pub(crate) fn current() -> Option<Rc<Core>> {
    with_current(|c| c.cloned())
}

/// The running loop, or a panic that names the function that needed it.
#[track_caller]
pub(crate) fn expect_current(what: &str) -> Rc<Core> {
    match current() {
        Some(core) => core,
        None => panic!("{what} must be called from inside a running tulipa event loop"),
    }
}

/// Marks `core` as this thread's running loop until the guard drops.
pub(crate) struct Enter {
    /// `!Send`: the guard ends on the thread whose slot it filled.
    _not_send: PhantomData<*const ()>,
}

impl Enter {
    /// Fails with [`RunError::AlreadyRunning`] if any loop already runs on this thread.
    pub(crate) fn new(core: &Rc<Core>) -> Result<Enter, RunError> {
        CURRENT.with(|slot| {
            let mut slot = slot.borrow_mut();
            if slot.is_some() {
                return Err(RunError::AlreadyRunning);
            }
            *slot = Some(core.clone());
            set_running(Some(core));
            Ok(Enter {
                _not_send: PhantomData,
            })
        })
    }

    /// As [`new`](Enter::new) for closing a loop: `None` if another loop
    /// runs on this thread, or if the thread's storage is being torn down
    /// (a loop kept in a `thread_local!` closes as its thread exits, maybe
    /// after this slot is gone); the loop then closes without being the
    /// running one. A `Drop` that then calls `spawn` panics as it would
    /// outside any loop (inside a thread-local's destructor, that aborts).
    pub(crate) fn for_close(core: &Rc<Core>) -> Option<Enter> {
        CURRENT
            .try_with(|slot| {
                let mut slot = slot.try_borrow_mut().ok()?;
                if slot.is_some() {
                    return None;
                }
                *slot = Some(core.clone());
                set_running(Some(core));
                Some(Enter {
                    _not_send: PhantomData,
                })
            })
            .ok()
            .flatten()
    }
}

impl Drop for Enter {
    fn drop(&mut self) {
        // The wakers' pointer goes first, while the slot still keeps the
        // loop alive (invariant 1 of `RUNNING`).
        set_running(None);
        let _ = CURRENT.try_with(|slot| slot.borrow_mut().take());
    }
}

/// Sends a report to the running loop's exception handler, or to the
/// default one when no loop runs here.
pub(crate) fn report(context: &super::ExceptionContext) {
    match current() {
        Some(core) => core.report(context),
        None => super::core::default_report(context),
    }
}

/// Tells the running loop that dropping an awaited handle cancelled `task`
/// (see `Core::collect_cancelled`).
pub(crate) fn note_cancelled(task: &super::raw_task::TaskRef) {
    with_current(|core| {
        if let Some(core) = core {
            core.note_cancelled(task);
        }
    });
}

/// Whether dropped awaited handles detach right now (see `Core::detaching`).
pub(crate) fn is_detaching() -> bool {
    with_current(|core| core.is_some_and(|core| core.is_detaching()))
}

/// Runs `drop_futures` so that the `Task` handles it drops detach their
/// tasks; outside a running loop it just runs it.
pub(crate) fn detaching(drop_futures: impl FnOnce()) {
    match current() {
        Some(core) => core.detaching(drop_futures),
        None => drop_futures(),
    }
}

/// Runs `drop_future` and returns the tasks it cancelled by dropping their
/// awaited handles (see `Core::collect_cancelled`).
pub(crate) fn collect_cancelled(drop_future: impl FnOnce()) -> Vec<super::raw_task::TaskRef> {
    match current() {
        Some(core) => core.collect_cancelled(drop_future),
        None => {
            drop_future();
            Vec::new()
        }
    }
}
