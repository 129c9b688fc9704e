//! The loop itself: interleaved coroutines on the virtual clock, a post from
//! another thread, and a task that panics without taking the loop down.
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

pub fn step() -> Result<(), Box<dyn std::error::Error>> {
    println!("== the event loop ==");
    let lines = Rc::new(RefCell::new(Vec::new()));
    let lp = tulipa::EventLoop::builder().virtual_time().build()?;
    let start = lp.time();
    let l = lines.clone();
    let took = lp.run(async move {
        let down = tulipa::spawn(ticker("Down", 4, 5, l.clone()));
        let up = tulipa::spawn(ticker("Up", 1, 20, l));
        down.await.unwrap();
        up.await.unwrap();
        tulipa::now() - start
    })?;
    println!(
        "countdown(5) every 4 s and countup(20) every 1 s, {} lines in {} s of virtual time:",
        lines.borrow().len(),
        took.as_secs()
    );
    println!("  {}", lines.borrow().join(", "));

    let lp = tulipa::EventLoop::new()?;
    let handle = lp.handle();
    let worker = std::thread::spawn(move || {
        let name = format!("{:?}", std::thread::current().id());
        handle
            .call_soon_threadsafe(move || {
                println!("call_soon_threadsafe: posted by thread {name}, run on the loop thread");
            })
            .unwrap();
        handle.stop().unwrap();
    });
    lp.run_forever()?;
    worker.join().unwrap();

    lp.set_exception_handler(Some(|_: &tulipa::ExceptionContext| {}));
    let (err, after) = lp.run_until_complete(async {
        let bad = tulipa::spawn(async { panic!("a bug in one task") });
        let err = bad.await.unwrap_err();
        (
            err,
            tulipa::spawn(async { "the loop is still running" })
                .await
                .unwrap(),
        )
    })?;
    println!("a task panicked -> {err}; then: {after}");
    Ok(())
}

async fn ticker(label: &'static str, secs: u64, count: u32, out: Rc<RefCell<Vec<String>>>) {
    let steps: Vec<u32> = if label == "Down" {
        (1..=count).rev().collect()
    } else {
        (0..count).collect()
    };
    for i in steps {
        out.borrow_mut().push(format!("{label} {i}"));
        tulipa::sleep(Duration::from_secs(secs)).await;
    }
}
