//! Placeholder for the foundation workloads (W1, W5, W6, W8, W9).
fn main() {}
