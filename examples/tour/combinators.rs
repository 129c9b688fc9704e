//! Tour step: running many things at once (gather, wait, wait_for, timeout,
//! TaskGroup, fire and forget), on the virtual clock.
use std::time::Duration;

use tulipa::{ReturnWhen, TaskGroup};

async fn job(name: &'static str, secs: u64) -> &'static str {
    tulipa::sleep(Duration::from_secs(secs)).await;
    name
}

/// Prints a few lines showing each combinator; finishes at once.
pub fn step() -> Result<(), Box<dyn std::error::Error>> {
    let lp = tulipa::EventLoop::builder().virtual_time().build()?;
    let start = lp.time();
    lp.run(async move {
        let at = || tulipa::now() - start;
        let all = tulipa::gather([job("a", 3), job("b", 1), job("c", 2)]).await;
        println!("gather (input order) {all:?} after {:?}", at());

        let tasks = [("x", 5), ("y", 1), ("z", 2)].map(|(n, s)| tulipa::spawn(job(n, s)));
        let (done, pending) = tulipa::wait(tasks, ReturnWhen::FirstCompleted, None).await?;
        println!(
            "wait FIRST_COMPLETED: {} done, {} pending",
            done.len(),
            pending.len()
        );

        let late = tulipa::wait_for(job("slow", 60), Duration::from_secs(2)).await;
        let late = late.map_err(|e| e.to_string());
        println!("wait_for 2 s on a 60 s job: {late:?} at {:?}", at());

        let cm = tulipa::timeout(Duration::from_secs(1));
        cm.reschedule(cm.when().map(|w| w + Duration::from_secs(10)));
        println!("rescheduled timeout: {:?}", cm.run(job("fits", 5)).await);

        let group = TaskGroup::scope(|g| async move {
            drop(g.spawn(async {
                job("ok", 1).await;
                Ok(())
            }));
            drop(g.spawn(async {
                job("bad", 2).await;
                Err::<(), _>("bad failed")
            }));
            drop(g.spawn(async {
                job("cancelled", 60).await;
                Ok(())
            }));
            Ok(())
        });
        println!(
            "TaskGroup: {:?} at {:?}",
            group.await.map_err(|e| e.to_string()),
            at()
        );

        drop(tulipa::spawn(async {
            println!("fire-and-forget task ran without being awaited")
        }));
        tulipa::yield_now().await;
        Ok::<_, tulipa::WaitError>(())
    })??;
    Ok(())
}
