//! The foundation's examples print exactly what the issue specifies.
mod support;

#[test]
fn countdown_prints_the_25_lines_in_asyncio_order() {
    let expected = "Down 5\nUp 0\nUp 1\nUp 2\nUp 3\nDown 4\nUp 4\nUp 5\nUp 6\nUp 7\nDown 3\n\
                    Up 8\nUp 9\nUp 10\nUp 11\nDown 2\nUp 12\nUp 13\nUp 14\nUp 15\nDown 1\n\
                    Up 16\nUp 17\nUp 18\nUp 19\n";
    assert_eq!(support::run_example("countdown", &[]), expected);
}

#[test]
fn tour_runs_to_the_end() {
    let out = support::run_example("tour", &[]);
    assert!(out.contains("== the event loop =="));
    assert!(out.contains("run on the loop thread"));
    assert!(out.contains("the loop is still running"));
}
