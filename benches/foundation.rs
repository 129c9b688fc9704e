//! Foundation benchmarks (placeholder on main).
fn main() {}
