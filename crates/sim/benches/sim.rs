//! Simulator benchmarks (filled in below).
fn main() {}
