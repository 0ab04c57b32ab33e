//! Any bytes as a trace in every format (Gavel 7- and 10-field, Philly, Alibaba pods and nodes,
//! Tiresias, xpufleet jobs) and as Gavel throughput JSON: each line becomes a job or a counted
//! skip (node lists: a node or a counted skip), or the file is an error, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use xpufleet_io::trace::{parse_throughputs, parse_trace_bytes, ReadOptions, TraceFormat};

const FORMATS: [TraceFormat; 6] = [
    TraceFormat::Gavel,
    TraceFormat::Gavel10,
    TraceFormat::Philly,
    TraceFormat::Alibaba,
    TraceFormat::Jobs,
    TraceFormat::Tiresias,
];

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.trace");
    for f in FORMATS {
        for remap in [false, true] {
            let opts = ReadOptions {
                remap,
                ref_type: Some("h100-sxm"),
                ..ReadOptions::default()
            };
            // A node list (Alibaba `sn,...`) describes a cluster: its lines are nodes, not jobs.
            if let Ok(r) = parse_trace_bytes(f, data, path, &opts) {
                if r.cluster.is_some() {
                    continue;
                }
                assert_eq!(r.jobs.len() as u64 + r.skipped_total(), r.lines, "{f}");
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_throughputs(text, path);
    }
});
