//! The queue examples print exactly what the issue asks: each example's
//! scenario is included here and its lines collected.
#![cfg(not(loom))]

use std::cell::RefCell;
use std::rc::Rc;

#[path = "../examples/potatoes.rs"]
mod potatoes;
#[path = "../examples/producer_consumer.rs"]
mod producer_consumer;
#[allow(unreachable_pub)]
#[path = "../examples/tour/queue.rs"]
mod tour_queue;

#[test]
fn tour_step_runs() {
    tour_queue::step().unwrap();
}

/// Runs a scenario on a virtual-clock loop and returns its lines.
fn lines<F: std::future::Future>(scenario: impl FnOnce(Rc<dyn Fn(String)>) -> F) -> Vec<String> {
    let out = Rc::new(RefCell::new(Vec::new()));
    let sink = out.clone();
    let say: Rc<dyn Fn(String)> = Rc::new(move |line| sink.borrow_mut().push(line));
    let lp = tulipa::EventLoop::builder().virtual_time().build().unwrap();
    lp.run(scenario(say)).unwrap();
    let lines = out.borrow().clone();
    lines
}

#[test]
fn producer_consumer_prints_exactly_the_seed_output() {
    let got = lines(|say| producer_consumer::scenario(move |l| say(l)));
    let mut want = Vec::new();
    for i in 0..=9 {
        want.push(format!("Producing {i}"));
        want.push(format!("Consuming {i}"));
    }
    want.push("Producer done".to_owned());
    want.push("Consumer done".to_owned());
    assert_eq!(got, want);
}

#[test]
fn potatoes_buys_12_potatoes_and_15_tomatoes_with_virtual_times() {
    let got = lines(|say| potatoes::scenario(move |l| say(l)));
    let count = |prefix: &str| got.iter().filter(|l| l.starts_with(prefix)).count();
    assert_eq!(count("add potato"), 12);
    assert_eq!(count("add tomato"), 15);
    assert_eq!(got.len(), 27);
    // Restocks overlap: while one buyer waits for the supplier, the other
    // goes on, and the whole shop takes a few virtual seconds.
    let times: Vec<u64> = got
        .iter()
        .map(|l| {
            l.rsplit("t=")
                .next()
                .unwrap()
                .trim_end_matches(" s")
                .parse()
                .unwrap()
        })
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    // Seeded RNG + virtual clock: the same output on every run.
    let want = [
        "add potato  1/12 (serial 843) at t=0 s",
        "add tomato  1/15 (serial 915) at t=0 s",
        "add potato  2/12 (serial 354) at t=0 s",
        "add tomato  2/15 (serial 986) at t=0 s",
        "add potato  3/12 (serial 762) at t=2 s",
        "add tomato  3/15 (serial 728) at t=2 s",
        "add tomato  4/15 (serial 473) at t=2 s",
        "add tomato  5/15 (serial 239) at t=2 s",
        "add tomato  6/15 (serial 857) at t=2 s",
        "add tomato  7/15 (serial 738) at t=2 s",
        "add tomato  8/15 (serial 590) at t=2 s",
        "add potato  4/12 (serial 114) at t=4 s",
        "add tomato  9/15 (serial 407) at t=4 s",
        "add potato  5/12 (serial 493) at t=4 s",
        "add tomato 10/15 (serial 271) at t=4 s",
        "add tomato 11/15 (serial 424) at t=4 s",
        "add tomato 12/15 (serial 594) at t=4 s",
        "add potato  6/12 (serial 801) at t=6 s",
        "add tomato 13/15 (serial 787) at t=6 s",
        "add potato  7/12 (serial 270) at t=6 s",
        "add tomato 14/15 (serial 458) at t=6 s",
        "add potato  8/12 (serial 244) at t=6 s",
        "add potato  9/12 (serial 937) at t=6 s",
        "add potato 10/12 (serial 913) at t=6 s",
        "add potato 11/12 (serial 727) at t=6 s",
        "add potato 12/12 (serial 983) at t=6 s",
        "add tomato 15/15 (serial 373) at t=8 s",
    ];
    assert_eq!(got, want);
}
