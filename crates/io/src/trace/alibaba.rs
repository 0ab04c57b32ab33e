//! Alibaba GPU cluster trace 2023 (`openb`): the node list gives a cluster, the pod list gives
//! jobs. Times are seconds from the trace start.

use std::path::Path;

use xpufleet_model::ClusterSpec;

use super::{csv_records, job, read_text, ReadOptions, Tally, TraceError, TraceFormat, TraceRead};

const NODE_HEADER: [&str; 5] = ["sn", "cpu_milli", "memory_mib", "gpu", "model"];
const POD_HEADER: [&str; 11] = [
    "name",
    "cpu_milli",
    "memory_mib",
    "num_gpu",
    "gpu_milli",
    "gpu_spec",
    "qos",
    "pod_phase",
    "creation_time",
    "deletion_time",
    "scheduled_time",
];

/// The site every openb node is put in: the trace is one cluster.
pub const ALIBABA_SITE: &str = "site-0";

/// A pod list gives jobs; a node list (recognised by its header) gives only a cluster.
pub(crate) fn parse(text: &str, path: &Path, opts: &ReadOptions) -> Result<TraceRead, TraceError> {
    let first = text
        .lines()
        .map(|l| l.trim_start_matches('\u{feff}'))
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    if first.starts_with("sn,") {
        let (cluster, mut read) = parse_nodes(text, path)?;
        read.cluster = Some(cluster);
        return Ok(read);
    }
    parse_pods(text, path, opts)
}

/// Reads an openb node list into a cluster: one group per (GPU model, GPUs per node), all at
/// site [`ALIBABA_SITE`]. Nodes without GPUs are counted as skipped (`no_gpu`).
pub fn read_alibaba_nodes(path: &Path) -> Result<(ClusterSpec, TraceRead), TraceError> {
    parse_nodes(&read_text(path)?, path)
}

fn parse_nodes(text: &str, path: &Path) -> Result<(ClusterSpec, TraceRead), TraceError> {
    let mut tally = Tally::new(path);
    let mut cluster = ClusterSpec::default();
    let mut nodes_read = 0u64;
    for (line_no, f) in csv_records(text, path, &NODE_HEADER, &mut tally)? {
        let Ok(gpus) = f[3].parse::<u32>() else {
            tally.malformed(line_no, "gpu", "an integer", f[3]);
            continue;
        };
        if gpus == 0 {
            tally.skip("no_gpu", line_no);
            continue;
        }
        if f[4].is_empty() {
            tally.malformed(line_no, "model", "a GPU model name", "");
            continue;
        }
        cluster.add(ALIBABA_SITE, f[4], 1, gpus, gpus);
        nodes_read += 1;
    }
    let malformed: u64 = tally
        .read
        .skipped
        .iter()
        .filter(|(r, _)| r.starts_with("malformed:"))
        .map(|(_, n)| n)
        .sum();
    if nodes_read == 0 && tally.read.lines > 0 && malformed == tally.read.lines {
        return Err(TraceError::Unparseable {
            path: path.to_path_buf(),
            format: TraceFormat::Alibaba,
            lines: tally.read.lines,
            first: tally.read.first_malformed.unwrap_or_default(),
        });
    }
    let read = tally.finish(TraceFormat::Alibaba, false)?;
    Ok((cluster, read))
}

fn parse_pods(text: &str, path: &Path, opts: &ReadOptions) -> Result<TraceRead, TraceError> {
    let mut tally = Tally::new(path);
    for (line_no, f) in csv_records(text, path, &POD_HEADER, &mut tally)? {
        let Ok(num_gpu) = f[3].parse::<u32>() else {
            tally.malformed(line_no, "num_gpu", "an integer", f[3]);
            continue;
        };
        let Some(gpu_milli) = f[4].parse::<u32>().ok().filter(|&m| m <= 1000) else {
            tally.malformed(line_no, "gpu_milli", "an integer 0..=1000", f[4]);
            continue;
        };
        let priority = match f[6] {
            "BE" => 0,
            "Burstable" => 1,
            "LS" | "Guaranteed" => 2,
            other => {
                tally.malformed(line_no, "qos", "LS, BE, Burstable or Guaranteed", other);
                continue;
            }
        };
        let Ok(created_s) = f[8].parse::<u64>() else {
            tally.malformed(line_no, "creation_time", "seconds >= 0", f[8]);
            continue;
        };
        let Ok(deleted_s) = f[9].parse::<u64>() else {
            tally.malformed(line_no, "deletion_time", "seconds >= 0", f[9]);
            continue;
        };
        if num_gpu == 0 || gpu_milli == 0 {
            tally.skip("no_gpu", line_no);
            continue;
        }
        if f[10].is_empty() {
            tally.skip("never_scheduled", line_no);
            continue;
        }
        let Ok(scheduled_s) = f[10].parse::<u64>() else {
            tally.malformed(line_no, "scheduled_time", "seconds >= 0, or empty", f[10]);
            continue;
        };
        let from_s = scheduled_s.max(created_s);
        if deleted_s < from_s {
            // Deleted before it was created or scheduled: a negative duration is an error in
            // the line, not a pod that ran for no time.
            tally.malformed(
                line_no,
                "deletion_time",
                "a time at or after creation_time and scheduled_time",
                f[9],
            );
            continue;
        }
        let duration_s = deleted_s - from_s;
        if duration_s == 0 {
            tally.skip("zero_duration", line_no);
            continue;
        }
        if gpu_milli < 1000 {
            // A share of one GPU: xpufleet allocates whole accelerators, so the pod runs only
            // if the user accepts rounding the share up to a whole GPU.
            if !opts.remap {
                tally.skip("gpu_share", line_no);
                continue;
            }
            tally.remap("gpu_share_rounded_up", line_no);
        }
        let mut j = job(f[0].to_string(), created_s, num_gpu, duration_s as f64);
        j.ref_type = opts.ref_type.map(str::to_string);
        j.priority = priority;
        j.allowed = f[5]
            .split('|')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        tally.push(j);
    }
    tally.finish(TraceFormat::Alibaba, false)
}
