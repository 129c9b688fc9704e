//! The executor: blocking work off the loop, a panicking job as a typed
//! error, a queued job cancelled before it runs, and the virtual clock
//! waiting for a job instead of jumping past it.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use tulipa::{run_in_executor, ThreadPoolExecutor};

pub fn step() -> Result<(), Box<dyn std::error::Error>> {
    println!("== the executor ==");
    let lp = tulipa::EventLoop::builder().virtual_time().build()?;
    let start = lp.time();
    lp.run(async move {
        let late = tulipa::spawn(async { tulipa::sleep(Duration::from_secs(3600)).await });
        let name = run_in_executor(|| {
            std::thread::sleep(Duration::from_millis(20)); // real blocking work
            std::thread::current().name().unwrap_or("?").to_owned()
        });
        println!(
            "run_in_executor: a 20 ms blocking job ran on thread {:?}",
            name.await?
        );
        println!(
            "  virtual time waited for it: +{} ms, not the 1 h timer first",
            (tulipa::now() - start).as_millis() / 10 * 10
        );
        let err = run_in_executor(|| -> u32 { panic!("bad input") })
            .await
            .unwrap_err();
        println!("a job that panics -> {err}; the loop and the worker go on");
        late.await?;
        println!(
            "then the 1 h timer fired at +{} s",
            (tulipa::now() - start).as_secs()
        );
        Ok::<_, Box<dyn std::error::Error>>(())
    })??;

    let pool = ThreadPoolExecutor::builder()
        .max_workers(1)
        .thread_name_prefix("demo")
        .build();
    let (release, gate) = mpsc::channel::<()>();
    let (started_tx, started) = mpsc::channel::<()>();
    let busy = pool.submit(move || {
        started_tx.send(()).unwrap();
        gate.recv().unwrap()
    })?;
    started.recv()?;
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let queued = pool.submit(move || r.store(true, Ordering::SeqCst))?;
    println!(
        "pool of 1 worker, busy; one job queued: queued() = {}",
        pool.queued()
    );
    drop(queued); // not started yet: cancelled, it never runs
    release.send(())?;
    busy.wait()?;
    pool.shutdown(true, false);
    println!(
        "dropped its future -> cancelled; after shutdown it ran: {}",
        ran.load(Ordering::SeqCst)
    );
    Ok(())
}
