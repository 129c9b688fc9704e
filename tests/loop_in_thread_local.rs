//! A loop kept in a `thread_local!` closes when its thread exits, after the
//! thread's "running loop" slot may already be gone: it must close (drop
//! its tasks' futures) without panicking, which would abort the process.
//! Run under valgrind by `.ci/run` too: the task blocks freed after the
//! thread's block cache is gone go straight back to the allocator, and none
//! is lost.
#![cfg(not(loom))]

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

thread_local! {
    static LOOP: tulipa::EventLoop = tulipa::EventLoop::new().unwrap();
    static LATE: RefCell<Option<(tulipa::EventLoop, LateCheck)>> = const { RefCell::new(None) };
    static MARK: Mark = const { Mark };
}

/// A thread-local touched right after the loop is made (and with it the
/// thread's block cache): torn down before `LATE` if destructors run in
/// reverse order of first use, as the late-drop test needs.
struct Mark;

// A destructor, so that the slot is torn down at thread exit (and
// `try_with` fails from then on).
impl Drop for Mark {
    fn drop(&mut self) {}
}

/// Set when `LATE` is torn down after `MARK`.
static MARK_GONE_FIRST: AtomicBool = AtomicBool::new(false);

/// Dropped with `LATE`'s loop: records whether `MARK` was gone by then.
struct LateCheck;

impl Drop for LateCheck {
    fn drop(&mut self) {
        MARK_GONE_FIRST.store(MARK.try_with(|_| ()).is_err(), Ordering::SeqCst);
    }
}

/// Counts its drops.
struct Guard(Arc<AtomicUsize>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_loop_in_a_thread_local_closes_its_pending_tasks_at_thread_exit() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let seen = dropped.clone();
    let ran = std::thread::spawn(move || {
        // The loop's slot is made first, so the running-loop slot (made by
        // the first run) is torn down before it.
        LOOP.with(|lp| {
            lp.run_until_complete(async move {
                let guard = Guard(seen);
                // Still sleeping when the thread exits.
                // Never awaited: dropping the handle detaches the task.
                drop(tulipa::spawn(async move {
                    let _guard = guard;
                    tulipa::sleep(Duration::from_secs(3600)).await;
                }));
                tulipa::yield_now().await;
                7
            })
            .unwrap()
        })
    })
    .join()
    .expect("the thread exits without panicking");
    assert_eq!(ran, 7);
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "the pending task's future was dropped"
    );
}

#[test]
fn a_loop_dropped_after_the_threads_block_cache_frees_its_tasks_blocks() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let seen = dropped.clone();
    std::thread::spawn(move || {
        // This slot is touched first, so it is torn down after everything
        // the loop touches later (the block cache among them).
        LATE.with(|slot| assert!(slot.borrow().is_none()));
        let lp = tulipa::EventLoop::new().unwrap();
        MARK.with(|_| ());
        let finished = lp
            .run_until_complete(async move {
                // Blocks freed while the loop lives: kept in the cache.
                let done: Vec<_> = (0..100u64)
                    .map(|i| tulipa::spawn(async move { i }))
                    .collect();
                let sum: u64 = tulipa::gather(done)
                    .await
                    .into_iter()
                    .map(Result::unwrap)
                    .sum();
                // One left pending, freed when the loop closes at exit.
                let guard = Guard(seen);
                drop(tulipa::spawn(async move {
                    let _guard = guard;
                    tulipa::sleep(Duration::from_secs(3600)).await;
                }));
                tulipa::yield_now().await;
                sum
            })
            .unwrap();
        assert_eq!(finished, 4950);
        LATE.with(|slot| *slot.borrow_mut() = Some((lp, LateCheck)));
    })
    .join()
    .expect("the thread exits without panicking");
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "the pending task's future was dropped"
    );
    assert!(
        MARK_GONE_FIRST.load(Ordering::SeqCst),
        "the loop was torn down after what it touched (else this checks nothing)"
    );
}
