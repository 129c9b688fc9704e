//! Runs the producer/consumer and countdown scenarios together with the
//! timeline trace on, and writes `timeline.json` (open it in Perfetto or
//! chrome://tracing). With `--svg` it also draws `timeline.svg`.
//!
//!     cargo run --example timeline -- --svg [DIR]
use std::path::PathBuf;
use std::time::Duration;

use tulipa::Queue;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let svg = args.iter().any(|a| a == "--svg");
    let dir = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let json = dir.join("timeline.json");
    let mut builder = tulipa::EventLoop::builder().virtual_time().trace(&json);
    if svg {
        builder = builder.trace_svg(dir.join("timeline.svg"));
    }
    builder.build()?.run(async {
        let queue = Queue::unbounded();
        let q = queue.clone();
        let producer = tulipa::spawn_named("producer", async move {
            for i in 0..=9 {
                q.put(i).await.unwrap();
                tulipa::sleep(Duration::from_secs(1)).await;
            }
            q.shutdown(false);
        });
        let consumer = tulipa::spawn_named("consumer", async move {
            let mut n = 0;
            while queue.get().await.is_ok() {
                n += 1;
            }
            n
        });
        let down = tulipa::spawn_named("countdown", async {
            for _ in 0..5 {
                tulipa::sleep(Duration::from_secs(4)).await;
            }
        });
        let up = tulipa::spawn_named("countup", async {
            for _ in 0..20 {
                tulipa::sleep(Duration::from_secs(1)).await;
            }
        });
        let job = tulipa::spawn_named("offload", async {
            tulipa::run_in_executor(|| std::thread::sleep(Duration::from_millis(30))).await
        });
        producer.await.unwrap();
        assert_eq!(consumer.await.unwrap(), 10);
        down.await.unwrap();
        up.await.unwrap();
        job.await.unwrap().unwrap();
    })?;
    println!("wrote {}", json.display());
    if svg {
        println!("wrote {}", dir.join("timeline.svg").display());
    }
    Ok(())
}
