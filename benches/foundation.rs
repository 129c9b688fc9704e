//! Foundation benchmarks (placeholder).

fn main() {}
