//! Fire and forget: `main` spawns `async_foo` without awaiting it and goes
//! on with its own work; the loop runs both. A forever-running echo task is
//! cancelled cleanly at the end. Virtual clock: instant and reproducible.
//!
//!     cargo run --example fire_and_forget
use std::time::Duration;

async fn async_foo() {
    println!("async_foo started");
    tulipa::sleep(Duration::from_secs(1)).await;
    println!("async_foo done");
}

/// Prints when it is dropped, which is how a cancelled task cleans up.
struct Farewell;

impl Drop for Farewell {
    fn drop(&mut self) {
        println!("echo: cleaned up");
    }
}

/// Echoes a heartbeat every 1.5 s, forever.
async fn echo() {
    let _farewell = Farewell;
    for beat in 1.. {
        tulipa::sleep(Duration::from_millis(1500)).await;
        println!("echo: beat {beat}");
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lp = tulipa::EventLoop::builder().virtual_time().build()?;
    lp.run(async {
        let echo = tulipa::spawn(echo());
        // Fire and forget: dropping the handle detaches the task.
        drop(tulipa::spawn(async_foo()));
        println!("Do some actions 1");
        tulipa::sleep(Duration::from_secs(1)).await;
        println!("Do some actions 2");
        tulipa::sleep(Duration::from_secs(1)).await;
        println!("Do some actions 3");
        echo.cancel();
        match echo.await {
            Err(e) if e.is_cancelled() => println!("echo: cancelled"),
            other => println!("echo: unexpected {other:?}"),
        }
    })?;
    Ok(())
}
