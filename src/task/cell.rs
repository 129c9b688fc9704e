//! The task itself: its future, its output and the bookkeeping the loop needs.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::{PanicError, TaskError, TaskId, TaskInfo, TaskKey};
use crate::runtime::core::{Core, Ready};
use crate::runtime::handle::CallCell;
use crate::runtime::ExceptionContext;

/// What every task shares, whatever its future.
pub(crate) struct Header {
    pub(crate) id: TaskId,
    pub(crate) key: TaskKey,
    pub(crate) name: Option<Box<str>>,
    pub(crate) location: &'static Location<'static>,
    pub(crate) waker: Waker,
    /// In the ready queue already: a second wake-up adds nothing.
    pub(crate) scheduled: Cell<bool>,
    pub(crate) cancel_requested: Cell<bool>,
}

impl Header {
    /// The name, or `task #id`: what a trace calls the task.
    pub(crate) fn label(&self) -> String {
        match &self.name {
            Some(name) => name.to_string(),
            None => format!("task {}", self.id),
        }
    }

    pub(crate) fn info(&self) -> TaskInfo {
        TaskInfo {
            id: self.id,
            name: self.name.as_deref().map(str::to_owned),
            location: self.location,
        }
    }
}

/// The loop's view of a task.
pub(crate) trait RawTask {
    fn header(&self) -> &Header;
    /// Polls the task once (or drops its future if a cancel was requested).
    fn run(self: Rc<Self>, core: &Core);
    /// Asks for cancellation; returns false if the task is already done.
    fn request_cancel(&self) -> bool;
    /// Drops the future without polling it (loop close).
    fn drop_future(&self, core: &Core);
}

/// The handle's view of a task, typed by its output only.
pub(crate) trait Joinable<T> {
    fn header(&self) -> &Header;
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<T, TaskError>>;
    fn is_done(&self) -> bool;
    fn is_cancelled(&self) -> bool;
    fn request_cancel(&self) -> bool;
    fn add_done_callback(&self, callback: Box<dyn FnOnce()>);
    fn detach(&self);
    /// Like `poll_join` without taking the output (for `wait`).
    fn poll_done(&self, cx: &mut Context<'_>) -> Poll<()>;
    /// Whether the task finished by panicking.
    fn is_panicked(&self) -> bool;
}

pub(crate) struct TaskCell<F: Future> {
    header: Header,
    future: RefCell<Option<Pin<Box<F>>>>,
    output: RefCell<Option<Result<F::Output, TaskError>>>,
    done: Cell<bool>,
    cancelled: Cell<bool>,
    /// The `Task` handle was dropped: nobody will read the output.
    detached: Cell<bool>,
    join_waker: RefCell<Option<Waker>>,
    callbacks: RefCell<Vec<Box<dyn FnOnce()>>>,
}

impl<F: Future> TaskCell<F> {
    pub(crate) fn new(header: Header, future: F) -> TaskCell<F> {
        TaskCell {
            header,
            future: RefCell::new(Some(Box::pin(future))),
            output: RefCell::new(None),
            done: Cell::new(false),
            cancelled: Cell::new(false),
            detached: Cell::new(false),
            join_waker: RefCell::new(None),
            callbacks: RefCell::new(Vec::new()),
        }
    }

    /// Records the output, leaves the slab and tells whoever waits.
    fn finish(&self, core: &Core, output: Result<F::Output, TaskError>) {
        self.done.set(true);
        self.cancelled
            .set(matches!(output, Err(TaskError::Cancelled)));
        core.tasks.borrow_mut().remove(self.header.key);
        if self.detached.get() {
            if let Err(TaskError::Panicked(panic)) = &output {
                core.report(&unretrieved_panic(&self.header, panic));
            }
        }
        *self.output.borrow_mut() = Some(output);
        let join_waker = self.join_waker.borrow_mut().take();
        if let Some(waker) = join_waker {
            waker.wake();
        }
        // asyncio schedules done callbacks with call_soon, in order.
        for callback in self.callbacks.take() {
            core.push_ready(Ready::Call(Rc::new(CallCell::new(callback))));
        }
    }

    fn register_join_waker(&self, cx: &Context<'_>) {
        let mut slot = self.join_waker.borrow_mut();
        match slot.as_ref() {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => *slot = Some(cx.waker().clone()),
        }
    }

    /// Drops the future; a panic in its `Drop` is contained like one in `poll`.
    fn drop_future_quietly(&self) -> Option<PanicError> {
        let future = self.future.borrow_mut().take();
        catch_unwind(AssertUnwindSafe(move || drop(future)))
            .err()
            .map(PanicError::new)
    }
}

fn unretrieved_panic(header: &Header, panic: &PanicError) -> ExceptionContext {
    ExceptionContext {
        message: "task panicked and its handle was dropped".to_owned(),
        panic: Some(panic.message().to_owned()),
        task: Some(header.info()),
    }
}

impl<F: Future> RawTask for TaskCell<F> {
    fn header(&self) -> &Header {
        &self.header
    }

    fn run(self: Rc<Self>, core: &Core) {
        self.header.scheduled.set(false);
        if self.done.get() {
            return;
        }
        if self.header.cancel_requested.get() {
            let output = match self.drop_future_quietly() {
                Some(panic) => Err(TaskError::Panicked(panic)),
                None => Err(TaskError::Cancelled),
            };
            self.finish(core, output);
            return;
        }
        let previous = core.current_task.replace(Some(self.header.key));
        let polled = {
            let mut slot = self.future.borrow_mut();
            let Some(future) = slot.as_mut() else {
                core.current_task.set(previous);
                return;
            };
            let mut cx = Context::from_waker(&self.header.waker);
            catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx)))
        };
        core.current_task.set(previous);
        let output = match polled {
            Ok(Poll::Pending) => return,
            Ok(Poll::Ready(value)) => Ok(value),
            Err(payload) => Err(TaskError::Panicked(PanicError::new(payload))),
        };
        let output = match (self.drop_future_quietly(), output) {
            (Some(panic), Ok(_)) => Err(TaskError::Panicked(panic)),
            (_, output) => output,
        };
        self.finish(core, output);
    }

    fn request_cancel(&self) -> bool {
        if self.done.get() {
            return false;
        }
        if !self.header.cancel_requested.replace(true) {
            self.header.waker.wake_by_ref();
        }
        true
    }

    fn drop_future(&self, core: &Core) {
        if self.done.get() {
            return;
        }
        let _ = self.drop_future_quietly();
        self.done.set(true);
        self.cancelled.set(true);
        *self.output.borrow_mut() = Some(Err(TaskError::Cancelled));
        drop(self.join_waker.borrow_mut().take());
        drop(self.callbacks.take());
        let _ = core;
    }
}

impl<F: Future> Joinable<F::Output> for TaskCell<F> {
    fn header(&self) -> &Header {
        &self.header
    }

    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<F::Output, TaskError>> {
        if self.done.get() {
            return match self.output.borrow_mut().take() {
                Some(output) => Poll::Ready(output),
                None => panic!("a tulipa Task was polled after it returned its output"),
            };
        }
        self.register_join_waker(cx);
        Poll::Pending
    }

    fn poll_done(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.done.get() {
            return Poll::Ready(());
        }
        self.register_join_waker(cx);
        Poll::Pending
    }

    fn is_panicked(&self) -> bool {
        matches!(&*self.output.borrow(), Some(Err(TaskError::Panicked(_))))
    }

    fn is_done(&self) -> bool {
        self.done.get()
    }

    fn is_cancelled(&self) -> bool {
        self.cancelled.get()
    }

    fn request_cancel(&self) -> bool {
        RawTask::request_cancel(self)
    }

    fn add_done_callback(&self, callback: Box<dyn FnOnce()>) {
        if self.done.get() {
            // asyncio: a callback added to a done future is scheduled at once.
            match crate::runtime::context::current() {
                Some(core) => core.push_ready(Ready::Call(Rc::new(CallCell::new(callback)))),
                None => callback(),
            }
        } else {
            self.callbacks.borrow_mut().push(callback);
        }
    }

    fn detach(&self) {
        self.detached.set(true);
        drop(self.join_waker.borrow_mut().take());
        if let Some(Err(TaskError::Panicked(panic))) = &*self.output.borrow() {
            let context = unretrieved_panic(&self.header, panic);
            match crate::runtime::context::current() {
                Some(core) => core.report(&context),
                None => crate::runtime::core::default_report(&context),
            }
        }
    }
}

/// The text of a panic payload (`&str` or `String`), or a placeholder.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_owned()
    }
}
